"""The 消费记录 tab's state: the customer's orders one page at a time, 登记消费 (items, split
payment), 退款 and 作废 with their confirmations, and the 小票 of the order just posted.

A refund and a void are confirmed before they are committed (issue 14): the service's preview
gives the amount and the stored value after it, the request waits in a backend var, and 确认
commits it (the service checks it again). A cash refund beyond the threshold becomes a
申请退款 for cs_manager's 审批."""

from __future__ import annotations

import dataclasses

import reflex as rx

from custapp.components.membership import discount_label
from custapp.components.receipt_link import receipt_href
from custapp.models.orders import PAYMENT_METHODS
from custapp.money import format_fen
from custapp.pages.customer_profile.base import address_cid, refresh_profile
from custapp.pages.customer_profile.orders.rows import (
    LINE_FIELDS,
    PAY_FIELDS,
    LineDraft,
    OrderRow,
    PayDraft,
    draft_total_fen,
    fen,
    order_row,
    quantity,
    with_errors,
)
from custapp.services import approvals, membership, orders
from custapp.settings import get_settings
from custapp.states.off_loop import run_off_loop
from custapp.states.paging import PagedMixin
from custapp.states.session import SessionState
from custapp.vocab import ApprovalKind, MemberClass, OrderKind

PAGE_SIZE = 20


class OrdersState(PagedMixin, SessionState):
    rows: list[OrderRow] = []
    can_post: bool = False
    # 登记消费
    purchase_open: bool = False
    lines: list[LineDraft] = []
    pays: list[PayDraft] = []
    lines_error: str = ""
    pays_error: str = ""
    purchase_error: str = ""
    discount_pct: int = 100  # the tier discount of the customer's active card
    member_note: str = ""  # the card the purchase goes on, its tier and discount
    unit_member: bool = False  # a unit member's purchase needs the work-order reference
    work_order_error: str = ""
    # 退款
    refund_open: bool = False
    refund_number: str = ""
    refund_left: str = ""
    refund_method: str = ""
    refund_amount_error: str = ""
    refund_method_error: str = ""
    refund_reason_error: str = ""
    refund_error: str = ""
    refund_confirm: str = ""  # the refund as it will be committed (or asked for), before 确认
    refund_asks: bool = False  # 确认 files a 申请退款 for 审批
    _refund_id: int = 0
    _refund_pending: dict = {}  # {"ask": bool, "kwargs": {...}} while the confirmation shows
    _refund_waiting: set[int] = set()
    # 作废
    can_void: bool = False
    void_open: bool = False
    void_asks: bool = False  # the user may not void: 申请作废 goes to cs_manager's 审批
    void_number: str = ""
    void_reason_error: str = ""
    void_error: str = ""
    void_confirm: str = ""
    _void_id: int = 0
    _void_pending: dict = {}
    _void_waiting: set[int] = set()
    # the order just posted, with its 小票
    posted_note: str = ""
    posted_href: str = ""

    def _page_size(self) -> int:
        return PAGE_SIZE

    def _cid(self) -> int:
        return address_cid(self)

    @rx.var
    def draft_total(self) -> str:
        """The purchase being entered: its total, as the counter reads it back."""
        return format_fen(draft_total_fen(self.lines))

    @rx.var
    def draft_paid(self) -> str:
        """What the customer pays after the tier discount (one rounding per order)."""
        return format_fen(orders.paid_for(draft_total_fen(self.lines), self.discount_pct))

    @rx.var
    def draft_allocated(self) -> str:
        return format_fen(sum(fen(row.amount) or 0 for row in self.pays))

    @rx.event
    def load(self):
        actor = self._actor()
        if actor is None:
            return None  # the profile page's own load sends the browser to the login
        self.can_post, self.can_void = actor.can("purchase.post"), actor.can("purchase.void")
        self.void_asks = self.can_post and not self.can_void
        self.page, self.purchase_open, self.refund_open, self.void_open = 1, False, False, False
        self.posted_note = self.posted_href = ""
        return self._fetch()

    def _fetch(self):
        result, error = self._call(
            orders.list_orders, customer_id=self._cid(), page=self.page, page_size=PAGE_SIZE
        )
        if error:
            self.rows, self.total = [], 0
            return rx.toast.error(error)
        rows, self.total = result
        voided = {r.original_number for r in rows if r.kind == OrderKind.VOID}
        waiting, _ = self._call(approvals.customer_pending, customer_id=self._cid())
        asked = [(a.kind, a.order_id) for a in waiting or ()]
        self._void_waiting = {i for kind, i in asked if kind == ApprovalKind.ORDER_VOID}
        self._refund_waiting = {i for kind, i in asked if kind == ApprovalKind.ORDER_REFUND}
        self.rows = [
            order_row(
                r,
                voided=r.number in voided,
                void_waiting=r.id in self._void_waiting,
                refund_waiting=r.id in self._refund_waiting,
                t=self._t,
            )
            for r in rows
        ]
        return None

    def _method(self, method: str) -> str:
        return self._t(f"orders.method.{method}")

    async def _after_posting(self, message: str):
        """Reload the list from its first page, and the overview's classification facts."""
        self.page = 1
        events = [await run_off_loop(self._fetch), rx.toast.success(message)]
        events.extend(await refresh_profile(self))
        return [e for e in events if e is not None]

    # --- 登记消费 ------------------------------------------------------------------------

    @rx.event
    def open_purchase(self):
        summary, error = self._call(membership.customer_membership, customer_id=self._cid())
        if error:
            return rx.toast.error(error)
        card = summary.card
        self.discount_pct = card.tier.discount_pct if card else 100
        self.unit_member = summary.member_class == MemberClass.UNIT
        self.member_note = (
            self._t(
                "orders.member_note",
                number=card.number,
                tier=card.tier.name_en if self.locale == "en" else card.tier.name_zh,
                discount=discount_label(card.tier.discount_pct, self._t, self.locale),
                balance=format_fen(summary.balance_fen),
            )
            if card
            else ""
        )
        self.lines, self.pays = [LineDraft()], [PayDraft()]
        self.lines_error = self.pays_error = self.purchase_error = self.work_order_error = ""
        self.purchase_open = True
        return None

    @rx.event
    def close_dialogs(self):
        self.purchase_open = self.refund_open = self.void_open = False
        self.back_to_form()

    @rx.event
    def back_to_form(self):
        """From a confirmation back to its form, as it was typed."""
        self._refund_pending, self._void_pending = {}, {}
        self.refund_confirm = self.void_confirm = ""

    @rx.event
    def add_line(self):
        if len(self.lines) < orders.MAX_LINES:
            self.lines = [*self.lines, LineDraft()]

    @rx.event
    def remove_line(self, index: int):
        if len(self.lines) > 1 and 0 <= index < len(self.lines):
            self.lines = [row for i, row in enumerate(self.lines) if i != index]

    @rx.event
    def set_line(self, index: int, field: str, value: str):
        if field in LINE_FIELDS and 0 <= index < len(self.lines):
            rows = list(self.lines)
            rows[index] = dataclasses.replace(rows[index], **{field: str(value)[:120]})
            self.lines = rows

    @rx.event
    def add_payment(self):
        if len(self.pays) < orders.MAX_PAYMENTS:
            self.pays = [*self.pays, PayDraft()]

    @rx.event
    def remove_payment(self, index: int):
        if len(self.pays) > 1 and 0 <= index < len(self.pays):
            self.pays = [row for i, row in enumerate(self.pays) if i != index]

    @rx.event
    def set_payment(self, index: int, field: str, value: str):
        if field in PAY_FIELDS and 0 <= index < len(self.pays):
            rows = list(self.pays)
            rows[index] = dataclasses.replace(rows[index], **{field: str(value)[:40]})
            self.pays = rows

    def _take_form(self, form: dict) -> None:
        """What the browser submitted wins over the last value an input reported."""
        self.lines = [
            dataclasses.replace(
                row, **{f: str(form.get(f"{f}_{i}", getattr(row, f))) for f in LINE_FIELDS}
            )
            for i, row in enumerate(self.lines)
        ]
        self.pays = [
            dataclasses.replace(row, amount=str(form.get(f"amount_{i}", row.amount)))
            for i, row in enumerate(self.pays)
        ]

    @rx.event
    async def submit_purchase(self, form: dict):
        self._take_form(form)
        lines = [(row.item, quantity(row.quantity), fen(row.price)) for row in self.lines]
        amounts = [fen(row.amount) for row in self.pays]
        if len(self.pays) == 1 and not self.pays[0].amount.strip():
            # one method pays everything: the counter need not type the amount due again
            total = sum(q * p for _, q, p in lines if q and p is not None)
            amounts = [orders.paid_for(total, self.discount_pct) or None]
        payments = [(row.method, amounts[i]) for i, row in enumerate(self.pays)]
        posted, error = await run_off_loop(
            self._call,
            orders.post_purchase,
            customer_id=self._cid(),
            lines=lines,
            payments=payments,
            work_order_ref=str(form.get("work_order_ref", "")).strip() or None,
        )
        self._show_purchase_errors()
        if error:
            self.purchase_error = error
            return None
        self.purchase_open, self.purchase_error = False, ""
        self.posted_note = self._t("receipt.posted_note", number=posted.number)
        self.posted_href = receipt_href("order", posted.number)
        message = self._t("orders.posted", number=posted.number)
        if posted.points:
            message += self._t("orders.points_earned", points=posted.points)
        return await self._after_posting(message)

    def _show_purchase_errors(self) -> None:
        """The service names the fields (`lines.0.unit_price`); each input shows its own."""
        errors = self._field_errors
        self.work_order_error = errors.get("work_order_ref", "")
        self.lines, self.pays = with_errors(self.lines, self.pays, errors)
        self.lines_error, self.pays_error = errors.get("lines", ""), errors.get("payments", "")

    # --- 退款 ----------------------------------------------------------------------------

    @rx.event
    def open_refund(self, order_id: str):
        row = next((r for r in self.rows if str(r.id) == str(order_id) and r.refundable), None)
        if row is None:
            return None
        self._refund_id = row.id
        self.refund_number, self.refund_left = row.number, row.left
        self.refund_method = row.first_method if row.first_method in PAYMENT_METHODS else ""
        self._set_refund_errors({}, "")
        self.back_to_form()
        self.refund_open = True
        return None

    @rx.event
    def set_refund_method(self, method: str):
        self.refund_method = method if method in PAYMENT_METHODS else ""

    def _set_refund_errors(self, errors: dict[str, str], error: str) -> None:
        self.refund_amount_error = errors.get("amount", errors.get("payments.0.amount", ""))
        self.refund_method_error = errors.get("payments.0.method", errors.get("payments", ""))
        self.refund_reason_error = errors.get("reason", "")
        self.refund_error = error

    def _confirm_text(self, key: str, preview: membership.Preview, **params) -> str:  # noqa: ANN003
        text = self._t(key, amount=format_fen(preview.amount_fen), **params)
        if preview.balance_fen is not None:
            text += self._t("orders.confirm_balance", balance=format_fen(preview.balance_fen))
        return text

    @rx.event
    def submit_refund(self, form: dict):
        """The refund checked and shown for 确认; nothing is posted yet."""
        amount = fen(str(form.get("amount", "")))
        kwargs = {
            "order_id": self._refund_id,
            "amount_fen": amount,
            "payments": [(self.refund_method, amount)],
            "reason": str(form.get("reason", "")),
        }
        preview, error = self._call(orders.post_refund, **kwargs, preview=True)
        self._set_refund_errors(self._field_errors, error or "")
        if error:
            return None
        self._refund_pending = {"ask": preview.needs_approval, "kwargs": kwargs}
        self.refund_asks = preview.needs_approval
        self.refund_confirm = self._confirm_text(
            "orders.confirm_refund", preview, method=self._method(self.refund_method)
        )
        if preview.needs_approval:
            limit = format_fen(get_settings().refund_approval_fen)
            self.refund_confirm += self._t("orders.confirm_ask", limit=limit)
        return None

    @rx.event
    async def confirm_refund(self):
        """确认: post the refund held on the server, or file it for 审批 (申请退款)."""
        pending = self._refund_pending
        self.back_to_form()
        if not pending or not self.refund_open:
            return None
        ask = pending["ask"]
        fn = approvals.request_refund if ask else orders.post_refund
        done, error = await run_off_loop(self._call, fn, **pending["kwargs"])
        self._set_refund_errors(self._field_errors, error or "")
        if error:
            return None
        self.refund_open = False
        if ask:
            await run_off_loop(self._fetch)
            return rx.toast.success(self._t("approval.refund_filed", number=done.number))
        return await self._after_posting(self._t("orders.refunded", number=done.number))

    # --- 作废 ----------------------------------------------------------------------------

    @rx.event
    def open_void(self, order_id: str):
        row = next((r for r in self.rows if str(r.id) == str(order_id) and r.voidable), None)
        if row is None or not (self.can_void or self.void_asks):
            return None
        self._void_id, self.void_number = row.id, row.number
        self.void_reason_error = self.void_error = ""
        self.back_to_form()
        self.void_open = True
        return None

    def _void_errors(self, error: str | None) -> bool:
        self.void_reason_error = self._field_errors.get("reason", "")
        self.void_error = "" if self.void_reason_error else (error or "")
        return error is not None

    @rx.event
    def submit_void(self, form: dict):
        """For the front desk a 申请作废 that cs_manager decides in 审批 (no money moves yet);
        for cs_manager the void checked and shown for 确认."""
        kwargs = {"order_id": self._void_id, "reason": str(form.get("reason", ""))}
        if self.void_asks:
            done, error = self._call(approvals.request_void, **kwargs)
            if self._void_errors(error):
                return None
            self.void_open = False
            self._fetch()
            return rx.toast.success(self._t("approval.void_filed", number=done.number))
        preview, error = self._call(orders.void_purchase, **kwargs, preview=True)
        if self._void_errors(error):
            return None
        self._void_pending = kwargs
        self.void_confirm = self._confirm_text(
            "orders.confirm_void", preview, number=self.void_number
        )
        return None

    @rx.event
    async def confirm_void(self):
        """确认: the void held on the server, checked again by the service."""
        pending = self._void_pending
        self.back_to_form()
        if not pending or not self.void_open:
            return None
        done, error = await run_off_loop(self._call, orders.void_purchase, **pending)
        if self._void_errors(error):
            return None
        self.void_open = False
        return await self._after_posting(self._t("orders.voided", number=done.number))
