"""The rows the 消费记录 tab shows and edits: the orders of one page, and the item and payment
lines of the purchase being entered (with the error each input shows underneath)."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

from custapp import clock
from custapp.components.receipt_link import receipt_href
from custapp.money import format_fen
from custapp.services import orders
from custapp.services.customer_input import parse_fen
from custapp.vocab import OrderKind

LINE_FIELDS = ("item", "quantity", "price")
PAY_FIELDS = ("method", "amount")
# (row field of the error, service field name) for the item lines
LINE_KEYS = (("item", "item"), ("quantity", "quantity"), ("price", "unit_price"))


@dataclasses.dataclass(frozen=True)
class OrderRow:
    id: int = 0
    number: str = ""
    kind: str = ""  # purchase | refund | void
    voided: bool = False  # a purchase a void reversed
    description: str = ""  # the items bought, or the purchase a refund or void reverses
    total: str = ""
    discount: str = ""
    paid: str = ""
    methods: str = ""
    store: str = ""
    time: str = ""
    refundable: bool = False
    voidable: bool = False
    void_waiting: bool = False  # a 申请作废 waits in 审批
    refund_waiting: bool = False  # a 申请退款 waits in 审批
    left: str = ""  # what may still be refunded
    first_method: str = ""
    receipt: str = ""  # the 小票's address


@dataclasses.dataclass(frozen=True)
class LineDraft:
    """An item line of the purchase being entered, as typed."""

    item: str = ""
    quantity: str = "1"
    price: str = ""
    item_error: str = ""
    quantity_error: str = ""
    price_error: str = ""


@dataclasses.dataclass(frozen=True)
class PayDraft:
    """A payment line of the purchase being entered, as typed."""

    method: str = ""
    amount: str = ""
    method_error: str = ""
    amount_error: str = ""


def quantity(text: str) -> int | None:
    text = text.strip()
    return int(text) if text.isdecimal() and len(text) <= 9 else None


def fen(text: str) -> int | None:
    return parse_fen(text)[0] if text.strip() else None


def draft_total_fen(lines: list[LineDraft]) -> int:
    """The total of the item lines typed so far (lines not yet readable count nothing)."""
    total = 0
    for row in lines:
        count, price = quantity(row.quantity), fen(row.price)
        if count and price is not None:
            total += count * price
    return total


def with_errors(
    lines: list[LineDraft], pays: list[PayDraft], errors: dict[str, str]
) -> tuple[list[LineDraft], list[PayDraft]]:
    """The lines with the service's field errors (`lines.0.unit_price`) each under its input."""
    return (
        [
            dataclasses.replace(
                row, **{f"{f}_error": errors.get(f"lines.{i}.{k}", "") for f, k in LINE_KEYS}
            )
            for i, row in enumerate(lines)
        ],
        [
            dataclasses.replace(
                row, **{f"{f}_error": errors.get(f"payments.{i}.{f}", "") for f in PAY_FIELDS}
            )
            for i, row in enumerate(pays)
        ],
    )


def order_row(
    r: orders.OrderRow,
    *,
    voided: bool,
    void_waiting: bool,
    refund_waiting: bool,
    t: Callable[..., str],
) -> OrderRow:
    """One order as the table shows it; what may be refunded or voided is the service's to
    decide in the end, the row only offers the buttons."""
    reversal = r.kind in (OrderKind.REFUND, OrderKind.VOID)

    def method(name: str) -> str:
        return t(f"orders.method.{name}")

    if len(r.payments) == 1:
        methods = method(r.payments[0][0])
    else:
        methods = " + ".join(f"{method(m)} {format_fen(a)}" for m, a in r.payments)
    if reversal:
        items = t(f"orders.{r.kind}_of", number=r.original_number)
    else:
        items = "、".join(f"{item} ×{count}" for item, count in r.lines)
    # a purchase of today that nothing has reversed yet
    voidable = (
        r.kind == OrderKind.PURCHASE
        and r.refundable_fen == r.paid_fen
        and clock.to_local(r.created_at).date() == clock.local_today()
    )
    waiting = void_waiting or refund_waiting
    return OrderRow(
        id=r.id,
        number=r.number,
        kind=r.kind,
        voided=voided,
        description=items,
        total="—" if reversal else format_fen(r.total_fen),
        discount="—" if reversal else format_fen(r.discount_fen),
        paid=format_fen(-r.paid_fen if reversal else r.paid_fen),
        methods=methods,
        store=r.store_name or "—",
        time=clock.format_local(r.created_at),
        refundable=r.refundable_fen > 0 and not waiting,
        voidable=voidable and not waiting,
        void_waiting=void_waiting,
        refund_waiting=refund_waiting,
        left=format_fen(r.refundable_fen),
        first_method=r.payments[0][0] if r.payments else "",
        receipt=receipt_href("order", r.number),
    )
