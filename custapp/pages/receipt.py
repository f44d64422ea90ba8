"""小票: the printable receipt of an order (purchase, refund, void) or a top-up, at
/receipt/order/<order number> and /receipt/topup/<top-up number>. No app shell: a narrow 80 mm
column as a receipt printer prints it, with a 打印 button that the print itself leaves out.

The services check customer.read and audit the view; the customer's name and the card number
arrive masked, and nothing else of the customer's data is on the page."""

from __future__ import annotations

import dataclasses

import reflex as rx

from custapp import clock
from custapp.components.shell import T
from custapp.money import format_fen
from custapp.services import membership, orders
from custapp.states.session import SessionState

FETCH = {"order": orders.order_receipt, "topup": membership.topup_receipt}
REF_LENGTH = 40

# the button bar stays on screen only; the paper is 80 mm wide with no browser margins
PRINT_CSS = """
@media print {
  .receipt-screen-only { display: none !important; }
  body { background: white !important; }
}
@page { size: 80mm auto; margin: 3mm; }
"""


@dataclasses.dataclass(frozen=True)
class ReceiptView:
    """The receipt's head and totals as printed ("" leaves a line out)."""

    kind: str = ""  # purchase | refund | void | topup
    title: str = ""
    store: str = ""
    number: str = ""
    original: str = ""  # the order a refund or void reverses
    time: str = ""
    customer: str = ""  # masked
    card: str = ""  # masked
    total: str = ""
    discount: str = ""
    paid: str = ""
    paid_label: str = ""
    points: str = ""
    balance: str = ""
    operator: str = ""


@dataclasses.dataclass(frozen=True)
class ReceiptLine:
    item: str = ""
    detail: str = ""  # quantity × price
    amount: str = ""


@dataclasses.dataclass(frozen=True)
class PaymentLine:
    method: str = ""
    amount: str = ""


class ReceiptState(SessionState):
    loaded: bool = False
    error: str = ""
    receipt: ReceiptView = ReceiptView()
    lines: list[ReceiptLine] = []
    payments: list[PaymentLine] = []

    @rx.event
    def load(self):
        self.loaded, self.error, self.receipt = False, "", ReceiptView()
        self.lines, self.payments = [], []
        _, redirect = self._enter("customer.read")
        if redirect:
            return redirect
        params = self.router.page.params
        fetch = FETCH.get(str(params.get("kind", "")))
        ref = str(params.get("ref", ""))[:REF_LENGTH]
        found, error = (
            self._call(fetch, number=ref) if fetch else (None, self._t("receipt.unavailable"))
        )
        self.loaded = True
        if error:
            self.error = error
            return None
        self._show(found)
        return None

    def _show(self, r: membership.Receipt) -> None:
        reversal = r.kind in ("refund", "void")
        self.receipt = ReceiptView(
            kind=r.kind,
            title=self._t(f"receipt.title.{r.kind}"),
            store=r.store_name,
            number=r.number,
            original=r.original_number,
            time=clock.format_local(r.created_at, "%Y-%m-%d %H:%M:%S"),
            customer=r.customer_name,
            card=r.card_number,
            total=format_fen(r.total_fen),
            discount=format_fen(-r.discount_fen) if r.discount_fen else "",
            paid=format_fen(-r.paid_fen if reversal else r.paid_fen),
            paid_label=self._t("receipt.refunded" if reversal else "receipt.paid"),
            points=f"{r.points:+,}" if r.points else "",
            balance=format_fen(r.balance_fen) if r.balance_fen is not None else "",
            operator=r.operator,
        )
        self.lines = [
            ReceiptLine(item, f"{quantity} × {format_fen(price)}", format_fen(amount))
            for item, quantity, price, amount in r.lines
        ]
        self.payments = [
            PaymentLine(self._t(f"orders.method.{method}") if method else "—", format_fen(amount))
            for method, amount in r.payments
        ]


def _pair(label: rx.Var | str, value: rx.Var, testid: str, **props) -> rx.Component:  # noqa: ANN003
    return rx.hstack(
        rx.text(label, size="2", color_scheme="gray"),
        rx.spacer(),
        rx.text(value, size="2", text_align="right", data_testid=testid, **props),
        width="100%",
        align="start",
        spacing="2",
    )


def _when(value: rx.Var, label: str, testid: str, **props) -> rx.Component:  # noqa: ANN003
    return rx.cond(value != "", _pair(T(label), value, testid, **props))


def _rule() -> rx.Component:
    return rx.box(border_top="1px dashed #888", width="100%", margin_y="4px")


def _line(row: rx.Var) -> rx.Component:
    return rx.vstack(
        rx.text(row.item, size="2"),
        rx.hstack(
            rx.text(row.detail, size="1", color_scheme="gray"),
            rx.spacer(),
            rx.text(row.amount, size="2"),
            width="100%",
        ),
        spacing="0",
        width="100%",
        data_testid="receipt-line",
    )


def _paper() -> rx.Component:
    S = ReceiptState
    r = S.receipt
    topup = r.kind == "topup"
    return rx.vstack(
        rx.heading(
            rx.cond(r.store != "", r.store, T("app.name")),
            size="4",
            text_align="center",
            width="100%",
            data_testid="receipt-store",
        ),
        rx.text(r.title, size="2", weight="bold", text_align="center", width="100%"),
        _rule(),
        _pair(T("receipt.number"), r.number, "receipt-number"),
        _when(r.original, "receipt.original", "receipt-original"),
        _pair(T("receipt.time"), r.time, "receipt-time"),
        _when(r.customer, "receipt.customer", "receipt-customer"),
        _when(r.card, "receipt.card", "receipt-card"),
        _rule(),
        rx.cond(
            topup,
            rx.vstack(
                _pair(T("receipt.topup_amount"), r.total, "receipt-paid", weight="bold"),
                rx.foreach(
                    S.payments,
                    lambda p: _pair(T("receipt.topup_method"), p.method, "receipt-method"),
                ),
                spacing="1",
                width="100%",
            ),
            rx.vstack(
                rx.foreach(S.lines, _line),
                rx.cond(S.lines.length() > 0, _rule()),
                rx.cond(
                    r.kind == "purchase",
                    _pair(T("receipt.total"), r.total, "receipt-total"),
                ),
                _when(r.discount, "receipt.discount", "receipt-discount"),
                _pair(r.paid_label, r.paid, "receipt-paid", weight="bold"),
                rx.text(T("receipt.payments"), size="2", color_scheme="gray"),
                rx.foreach(
                    S.payments,
                    lambda p: _pair(p.method, p.amount, "receipt-pay"),
                ),
                spacing="1",
                width="100%",
            ),
        ),
        _rule(),
        _when(r.points, "receipt.points", "receipt-points"),
        _when(r.balance, "receipt.balance", "receipt-balance"),
        _when(r.operator, "receipt.operator", "receipt-operator"),
        _rule(),
        rx.text(T("receipt.thanks"), size="1", text_align="center", width="100%"),
        spacing="1",
        width="100%",
        data_testid="receipt",
    )


def receipt_page() -> rx.Component:
    S = ReceiptState
    return rx.box(
        rx.el.style(PRINT_CSS),
        rx.hstack(
            rx.button(
                rx.icon("printer", size=14),
                T("receipt.print"),
                on_click=rx.call_script("window.print()"),
                disabled=~S.loaded | (S.error != ""),
                data_testid="receipt-print",
            ),
            justify="center",
            width="100%",
            padding_bottom="12px",
            class_name="receipt-screen-only",
        ),
        rx.box(
            rx.cond(
                S.loaded,
                rx.cond(
                    S.error != "",
                    rx.callout(
                        S.error,
                        icon="triangle-alert",
                        color_scheme="red",
                        data_testid="receipt-error",
                    ),
                    _paper(),
                ),
                rx.center(rx.spinner(size="3"), padding="40px"),
            ),
            width="80mm",
            max_width="100%",
            margin_x="auto",
            padding="4mm",
            background="white",
            color="black",
            font_variant_numeric="tabular-nums",
            border="1px solid #ddd",
            style={"@media print": {"border": "none", "padding": "0"}},
        ),
        padding_y="24px",
        padding_x="8px",
        min_height="100vh",
        background=rx.color("gray", 3),
        style={"@media print": {"background": "white", "padding": "0"}},
    )
