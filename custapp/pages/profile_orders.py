"""The profile's 消费记录 tab: the customer's orders one page at a time, 登记消费 (items, split
payment) and 退款 for users with purchase.post, 作废 of today's untouched purchases for users with
purchase.void, and each order's 小票 (a new tab). The tab unmounts when another tab is chosen, so
it loads its page when it mounts; after a posting the list and the profile's overview reload.

A refund and a void are confirmed before they are committed (issue 14): the service's preview
gives the amount and the stored value after it, the request waits in a backend var, and 确认
commits it (the service checks it again). A cash refund beyond the threshold becomes a
申请退款 for cs_manager's 审批."""

from __future__ import annotations

import reflex as rx

from custapp import clock
from custapp.components.shell import T, data_table, field_error, form_actions, pager
from custapp.models.orders import PAYMENT_METHODS
from custapp.money import format_fen
from custapp.pages.profile_membership import confirm_panel, discount_label
from custapp.pages.receipt import receipt_href, receipt_link
from custapp.services import approvals, membership, orders
from custapp.services.customer_input import parse_fen
from custapp.settings import get_settings
from custapp.states.paging import PagedMixin
from custapp.states.session import SessionState

PAGE_SIZE = 20
LINE_FIELDS = ("item", "quantity", "price")
PAY_FIELDS = ("method", "amount")


def _line() -> dict[str, str]:
    return {"item": "", "quantity": "1", "price": "", **{f"{f}_error": "" for f in LINE_FIELDS}}


def _pay(method: str = "") -> dict[str, str]:
    return {"method": method, "amount": "", **{f"{f}_error": "" for f in PAY_FIELDS}}


def _quantity(text: str) -> int | None:
    text = text.strip()
    return int(text) if text.isdecimal() and len(text) <= 9 else None


def _fen(text: str) -> int | None:
    return parse_fen(text)[0] if text.strip() else None


class OrdersState(PagedMixin, SessionState):
    rows: list[dict[str, str]] = []
    can_post: bool = False
    # 登记消费
    purchase_open: bool = False
    lines: list[dict[str, str]] = []
    pays: list[dict[str, str]] = []
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
        raw = str(self.router.page.params.get("cid", ""))
        return int(raw) if raw.isdecimal() else 0

    @rx.var
    def draft_total(self) -> str:
        """The purchase being entered: its total, as the counter reads it back."""
        return format_fen(self._draft_total_fen())

    def _draft_total_fen(self) -> int:
        total = 0
        for row in self.lines:
            quantity, price = _quantity(row["quantity"]), _fen(row["price"])
            if quantity and price is not None:
                total += quantity * price
        return total

    @rx.var
    def draft_paid(self) -> str:
        """What the customer pays after the tier discount (one rounding per order)."""
        return format_fen(orders.paid_for(self._draft_total_fen(), self.discount_pct))

    @rx.var
    def draft_allocated(self) -> str:
        return format_fen(sum(_fen(row["amount"]) or 0 for row in self.pays))

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
        voided = {r.original_number for r in rows if r.kind == "void"}
        waiting, _ = self._call(approvals.customer_pending, customer_id=self._cid())
        self._void_waiting = {a.order_id for a in waiting or () if a.kind == "order_void"}
        self._refund_waiting = {a.order_id for a in waiting or () if a.kind == "order_refund"}
        self.rows = [self._row(r, r.number in voided) for r in rows]
        return None

    def _method(self, method: str) -> str:
        return self._t(f"orders.method.{method}")

    def _row(self, r: orders.OrderRow, voided: bool) -> dict[str, str]:
        reversal = r.kind in ("refund", "void")
        if len(r.payments) == 1:
            methods = self._method(r.payments[0][0])
        else:
            methods = " + ".join(f"{self._method(m)} {format_fen(a)}" for m, a in r.payments)
        if reversal:
            items = self._t(f"orders.{r.kind}_of", number=r.original_number)
        else:
            items = "、".join(f"{item} ×{quantity}" for item, quantity in r.lines)
        # a purchase of today that nothing has reversed yet; the service decides in the end
        voidable = (
            r.kind == "purchase"
            and r.refundable_fen == r.paid_fen
            and clock.to_local(r.created_at).date() == clock.local_today()
        )
        waiting = r.id in self._void_waiting
        refund_waiting = r.id in self._refund_waiting
        return {
            "id": str(r.id),
            "number": r.number,
            "kind": r.kind,
            "voided": "1" if voided else "",
            "items": items,
            "total": "—" if reversal else format_fen(r.total_fen),
            "discount": "—" if reversal else format_fen(r.discount_fen),
            "paid": format_fen(-r.paid_fen if reversal else r.paid_fen),
            "methods": methods,
            "store": r.store_name or "—",
            "time": clock.format_local(r.created_at),
            "refundable": "1" if r.refundable_fen > 0 and not (waiting or refund_waiting) else "",
            "voidable": "1" if voidable and not (waiting or refund_waiting) else "",
            "void_waiting": "1" if waiting else "",
            "refund_waiting": "1" if refund_waiting else "",
            "left": format_fen(r.refundable_fen),
            "first_method": r.payments[0][0] if r.payments else "",
            "receipt": receipt_href("order", r.number),
        }

    async def _after_posting(self, message: str):
        """Reload the list from its first page, and the overview's classification facts."""
        from custapp.pages.customer_profile import ProfileState  # it mounts this tab

        self.page = 1
        events = [self._fetch(), rx.toast.success(message)]
        profile = await self.get_state(ProfileState)
        if profile.cid:
            refreshed = profile._fetch()
            events.extend(refreshed if isinstance(refreshed, list) else [refreshed])
        return [e for e in events if e is not None]

    # --- 登记消费 ------------------------------------------------------------------------

    @rx.event
    def open_purchase(self):
        summary, error = self._call(membership.customer_membership, customer_id=self._cid())
        if error:
            return rx.toast.error(error)
        card = summary.card
        self.discount_pct = card.tier.discount_pct if card else 100
        self.unit_member = summary.member_class == "unit"
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
        self.lines, self.pays = [_line()], [_pay()]
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
            self.lines = [*self.lines, _line()]

    @rx.event
    def remove_line(self, index: int):
        if len(self.lines) > 1 and 0 <= index < len(self.lines):
            self.lines = [row for i, row in enumerate(self.lines) if i != index]

    @rx.event
    def set_line(self, index: int, field: str, value: str):
        if field in LINE_FIELDS and 0 <= index < len(self.lines):
            rows = [dict(row) for row in self.lines]
            rows[index][field] = str(value)[:120]
            self.lines = rows

    @rx.event
    def add_payment(self):
        if len(self.pays) < orders.MAX_PAYMENTS:
            self.pays = [*self.pays, _pay()]

    @rx.event
    def remove_payment(self, index: int):
        if len(self.pays) > 1 and 0 <= index < len(self.pays):
            self.pays = [row for i, row in enumerate(self.pays) if i != index]

    @rx.event
    def set_payment(self, index: int, field: str, value: str):
        if field in PAY_FIELDS and 0 <= index < len(self.pays):
            rows = [dict(row) for row in self.pays]
            rows[index][field] = str(value)[:40]
            self.pays = rows

    def _take_form(self, form: dict) -> None:
        """What the browser submitted wins over the last value an input reported."""
        self.lines = [
            {**row, **{f: str(form.get(f"{f}_{i}", row[f])) for f in LINE_FIELDS}}
            for i, row in enumerate(self.lines)
        ]
        self.pays = [
            {**row, "amount": str(form.get(f"amount_{i}", row["amount"]))}
            for i, row in enumerate(self.pays)
        ]

    @rx.event
    async def submit_purchase(self, form: dict):
        self._take_form(form)
        lines = [
            (row["item"], _quantity(row["quantity"]), _fen(row["price"])) for row in self.lines
        ]
        amounts = [_fen(row["amount"]) for row in self.pays]
        if len(self.pays) == 1 and not self.pays[0]["amount"].strip():
            # one method pays everything: the counter need not type the amount due again
            total = sum(q * p for _, q, p in lines if q and p is not None)
            amounts = [orders.paid_for(total, self.discount_pct) or None]
        payments = [(row["method"], amounts[i]) for i, row in enumerate(self.pays)]
        posted, error = self._call(
            orders.post_purchase,
            customer_id=self._cid(),
            lines=lines,
            payments=payments,
            work_order_ref=str(form.get("work_order_ref", "")).strip() or None,
        )
        self.work_order_error = self._field_errors.get("work_order_ref", "")
        errors = self._field_errors
        self.lines = [
            {**row, **{f"{f}_error": errors.get(f"lines.{i}.{k}", "") for f, k in _LINE_KEYS}}
            for i, row in enumerate(self.lines)
        ]
        self.pays = [
            {**row, **{f"{f}_error": errors.get(f"payments.{i}.{f}", "") for f in PAY_FIELDS}}
            for i, row in enumerate(self.pays)
        ]
        self.lines_error, self.pays_error = errors.get("lines", ""), errors.get("payments", "")
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

    # --- 退款 ----------------------------------------------------------------------------

    @rx.event
    def open_refund(self, order_id: str):
        row = next((r for r in self.rows if r["id"] == order_id and r["refundable"]), None)
        if row is None:
            return None
        self._refund_id = int(order_id)
        self.refund_number, self.refund_left = row["number"], row["left"]
        self.refund_method = row["first_method"] if row["first_method"] in PAYMENT_METHODS else ""
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
        amount = _fen(str(form.get("amount", "")))
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
        done, error = self._call(fn, **pending["kwargs"])
        self._set_refund_errors(self._field_errors, error or "")
        if error:
            return None
        self.refund_open = False
        if ask:
            self._fetch()
            return rx.toast.success(self._t("approval.refund_filed", number=done.number))
        return await self._after_posting(self._t("orders.refunded", number=done.number))

    # --- 作废 ----------------------------------------------------------------------------

    @rx.event
    def open_void(self, order_id: str):
        row = next((r for r in self.rows if r["id"] == order_id and r["voidable"]), None)
        if row is None or not (self.can_void or self.void_asks):
            return None
        self._void_id, self.void_number = int(order_id), row["number"]
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
        done, error = self._call(orders.void_purchase, **pending)
        if self._void_errors(error):
            return None
        self.void_open = False
        return await self._after_posting(self._t("orders.voided", number=done.number))


# (row key of the error, service field name) for the item lines
_LINE_KEYS = (("item", "item"), ("quantity", "quantity"), ("price", "unit_price"))


def _method_select(value: rx.Var, on_change, name: str, testid: str) -> rx.Component:  # noqa: ANN001
    return rx.select.root(
        rx.select.trigger(placeholder=T("orders.choose_method"), width="140px", data_testid=testid),
        rx.select.content(
            *[rx.select.item(T(f"orders.method.{m}"), value=m) for m in PAYMENT_METHODS]
        ),
        value=value,
        on_change=on_change,
        name=name,
    )


def _row_input(row: rx.Var, field: str, n: rx.Var, on_change, **props) -> rx.Component:  # noqa: ANN001
    """One input of an item or payment row, with its own error underneath."""
    return rx.vstack(
        rx.input(name=f"{field}_" + n, value=row[field], on_change=on_change, **props),
        field_error(row[f"{field}_error"]),
        spacing="1",
    )


def _remove_button(on_click, disabled: rx.Var) -> rx.Component:  # noqa: ANN001
    return rx.icon_button(
        rx.icon("x", size=14),
        type="button",
        variant="ghost",
        color_scheme="gray",
        on_click=on_click,
        disabled=disabled,
        aria_label=T("orders.remove"),
    )


def _line_row(row: rx.Var, i: rx.Var) -> rx.Component:
    S = OrdersState
    n = i.to_string()
    return rx.hstack(
        rx.box(
            _row_input(
                row,
                "item",
                n,
                lambda v: S.set_line(i, "item", v),
                placeholder=T("orders.item"),
                data_testid="line-item",
                width="100%",
            ),
            flex="1",
        ),
        _row_input(
            row,
            "quantity",
            n,
            lambda v: S.set_line(i, "quantity", v),
            placeholder=T("orders.quantity"),
            input_mode="numeric",
            data_testid="line-quantity",
            width="80px",
        ),
        _row_input(
            row,
            "price",
            n,
            lambda v: S.set_line(i, "price", v),
            placeholder=T("orders.unit_price"),
            input_mode="decimal",
            data_testid="line-price",
            width="120px",
        ),
        _remove_button(S.remove_line(i), S.lines.length() <= 1),
        align="start",
        width="100%",
    )


def _pay_row(row: rx.Var, i: rx.Var) -> rx.Component:
    S = OrdersState
    n = i.to_string()
    return rx.hstack(
        rx.vstack(
            _method_select(
                row["method"],
                lambda v: S.set_payment(i, "method", v),
                "method_" + n,
                "pay-method",
            ),
            field_error(row["method_error"]),
            spacing="1",
        ),
        _row_input(
            row,
            "amount",
            n,
            lambda v: S.set_payment(i, "amount", v),
            placeholder=T("orders.amount"),
            input_mode="decimal",
            data_testid="pay-amount",
            width="140px",
        ),
        _remove_button(S.remove_payment(i), S.pays.length() <= 1),
        align="start",
    )


def _purchase_dialog() -> rx.Component:
    S = OrdersState
    return rx.dialog.root(
        rx.dialog.content(
            rx.dialog.title(T("orders.new")),
            rx.form(
                rx.vstack(
                    rx.text(T("orders.lines"), weight="medium", size="2"),
                    rx.hstack(
                        rx.text(T("orders.item"), size="1", color_scheme="gray", flex="1"),
                        rx.text(T("orders.quantity"), size="1", color_scheme="gray", width="80px"),
                        rx.text(
                            T("orders.unit_price"), size="1", color_scheme="gray", width="120px"
                        ),
                        rx.box(width="32px"),
                        width="100%",
                    ),
                    rx.foreach(S.lines, _line_row),
                    field_error(S.lines_error),
                    rx.button(
                        rx.icon("plus", size=14),
                        T("orders.add_line"),
                        type="button",
                        variant="soft",
                        size="1",
                        on_click=S.add_line,
                    ),
                    rx.hstack(
                        rx.text(T("orders.total"), size="3"),
                        rx.text(S.draft_total, size="4", weight="bold", data_testid="draft-total"),
                        rx.cond(
                            S.discount_pct < 100,
                            rx.hstack(
                                rx.text(T("orders.amount_due"), size="3"),
                                rx.text(
                                    S.draft_paid,
                                    size="4",
                                    weight="bold",
                                    color_scheme="green",
                                    data_testid="draft-paid",
                                ),
                                align="baseline",
                            ),
                        ),
                        align="baseline",
                        spacing="4",
                    ),
                    rx.cond(
                        S.member_note != "",
                        rx.callout(
                            S.member_note, icon="credit-card", size="1", data_testid="member-note"
                        ),
                    ),
                    rx.cond(
                        S.unit_member,
                        rx.vstack(
                            rx.input(
                                name="work_order_ref",
                                placeholder=T("orders.work_order_ref"),
                                data_testid="work-order-ref",
                                width="100%",
                            ),
                            field_error(S.work_order_error),
                            spacing="1",
                            width="100%",
                        ),
                    ),
                    rx.divider(),
                    rx.text(T("orders.payments"), weight="medium", size="2"),
                    rx.text(T("orders.payments_hint"), size="1", color_scheme="gray"),
                    rx.foreach(S.pays, _pay_row),
                    field_error(S.pays_error),
                    rx.hstack(
                        rx.button(
                            rx.icon("plus", size=14),
                            T("orders.add_payment"),
                            type="button",
                            variant="soft",
                            size="1",
                            on_click=S.add_payment,
                            data_testid="add-payment",
                        ),
                        rx.spacer(),
                        rx.text(T("orders.allocated"), " ", S.draft_allocated, size="2"),
                        width="100%",
                        align="center",
                    ),
                    field_error(S.purchase_error),
                    rx.hstack(
                        rx.button(
                            T("common.cancel"),
                            type="button",
                            variant="soft",
                            color_scheme="gray",
                            on_click=S.close_dialogs,
                        ),
                        rx.button(T("orders.post"), type="submit", data_testid="purchase-submit"),
                        justify="end",
                        width="100%",
                    ),
                    spacing="3",
                    width="100%",
                ),
                on_submit=S.submit_purchase,
                reset_on_submit=False,
            ),
            max_width="640px",
        ),
        open=S.purchase_open,
        on_open_change=lambda _o: S.close_dialogs(),
    )


def _confirmed_dialog(
    *fields: rx.Component,
    title: rx.Component,
    is_open: rx.Var,
    on_submit,  # noqa: ANN001
    error: rx.Var,
    submit_label: str,
    submit_testid: str,
    confirm_text: rx.Var,
    on_confirm,  # noqa: ANN001
    confirm_label: rx.Var | None = None,
) -> rx.Component:
    """A small form whose submit shows a confirmation (the form hidden, not removed, so
    返回修改 finds it as typed) and whose 确认 commits."""
    S = OrdersState
    confirming = confirm_text != ""
    return rx.dialog.root(
        rx.dialog.content(
            rx.dialog.title(title),
            rx.form(
                rx.vstack(
                    rx.vstack(
                        *fields,
                        field_error(error),
                        form_actions(S.close_dialogs, submit_label, submit_testid),
                        spacing="3",
                        width="100%",
                        display=rx.cond(confirming, "none", "flex"),
                    ),
                    rx.cond(
                        confirming,
                        confirm_panel(confirm_text, on_confirm, S.back_to_form, confirm_label),
                    ),
                    spacing="3",
                    width="100%",
                ),
                on_submit=on_submit,
                reset_on_submit=False,
            ),
        ),
        open=is_open,
        on_open_change=lambda _o: S.close_dialogs(),
    )


def _refund_dialog() -> rx.Component:
    S = OrdersState
    return _confirmed_dialog(
        rx.text(T("orders.refundable"), " ", S.refund_left, size="2"),
        rx.input(
            name="amount",
            placeholder=T("orders.refund_amount"),
            input_mode="decimal",
            width="100%",
            data_testid="refund-amount",
        ),
        field_error(S.refund_amount_error),
        _method_select(S.refund_method, S.set_refund_method, "method", "refund-method"),
        field_error(S.refund_method_error),
        rx.input(
            name="reason",
            placeholder=T("orders.refund_reason"),
            width="100%",
            data_testid="refund-reason",
        ),
        field_error(S.refund_reason_error),
        title=rx.fragment(T("orders.refund"), " ", S.refund_number),
        is_open=S.refund_open,
        on_submit=S.submit_refund,
        error=S.refund_error,
        submit_label="orders.refund",
        submit_testid="refund-submit",
        confirm_text=S.refund_confirm,
        on_confirm=S.confirm_refund,
        confirm_label=rx.cond(S.refund_asks, T("approval.request_refund"), T("money.confirm")),
    )


def _void_dialog(asks: bool) -> rx.Component:
    """作废 (cs_manager) or 申请作废 (front desk): the same reason, a different outcome."""
    S = OrdersState
    return _confirmed_dialog(
        rx.text(
            T("approval.void_ask_hint" if asks else "orders.void_hint"),
            size="2",
            color_scheme="gray",
        ),  # fmt: skip
        rx.input(
            name="reason",
            placeholder=T("orders.void_reason"),
            max_length=200,
            width="100%",
            data_testid="void-reason",
        ),
        field_error(S.void_reason_error),
        title=rx.fragment(
            T("approval.request_void" if asks else "orders.void_title"), " ", S.void_number
        ),
        is_open=S.void_open & (S.void_asks == asks),
        on_submit=S.submit_void,
        error=S.void_error,
        submit_label="approval.request_void" if asks else "orders.void",
        submit_testid="void-submit",
        confirm_text=S.void_confirm,
        on_confirm=S.confirm_void,
    )


COLUMNS = (
    "orders.col.number",
    "orders.col.items",
    "orders.col.total",
    "orders.col.discount",
    "orders.col.paid",
    "orders.col.methods",
    "orders.col.store",
    "orders.col.time",
)


def _kind_badge(row: rx.Var) -> rx.Component:
    return rx.match(
        row["kind"],
        ("refund", rx.badge(T("orders.kind.refund"), color_scheme="orange", variant="soft")),
        ("void", rx.badge(T("orders.kind.void"), color_scheme="red", variant="solid")),
        rx.cond(
            row["voided"] != "",
            rx.badge(
                T("orders.voided_badge"),
                color_scheme="red",
                variant="outline",
                data_testid="voided-badge",
            ),
        ),
    )


def _order_row(row: rx.Var) -> rx.Component:
    S = OrdersState
    voided = row["voided"] != ""
    return rx.table.row(
        rx.table.cell(
            rx.hstack(
                rx.code(
                    row["number"],
                    variant="ghost",
                    text_decoration=rx.cond(voided, "line-through", "none"),
                ),
                _kind_badge(row),
                spacing="2",
                align="center",
            ),
            white_space="nowrap",
        ),
        rx.table.cell(row["items"]),
        rx.table.cell(row["total"], white_space="nowrap"),
        rx.table.cell(row["discount"], white_space="nowrap"),
        rx.table.cell(
            rx.text(
                row["paid"],
                weight="medium",
                color_scheme=rx.cond(row["kind"] == "purchase", "gray", "red"),
                high_contrast=row["kind"] == "purchase",
                text_decoration=rx.cond(voided, "line-through", "none"),
            ),
            white_space="nowrap",
        ),
        rx.table.cell(row["methods"]),
        rx.table.cell(row["store"], white_space="nowrap"),
        rx.table.cell(row["time"], white_space="nowrap"),
        rx.table.cell(
            rx.hstack(
                receipt_link(row["receipt"], "receipt.short", "receipt-link"),
                rx.cond(
                    S.can_post & (row["refundable"] != ""),
                    rx.button(
                        T("orders.refund"),
                        size="1",
                        variant="soft",
                        color_scheme="orange",
                        on_click=S.open_refund(row["id"]),
                        data_testid="refund-open",
                    ),
                ),
                rx.cond(
                    row["void_waiting"] != "",
                    rx.badge(
                        T("approval.void_waiting"), color_scheme="amber", data_testid="void-waiting"
                    ),
                ),
                rx.cond(
                    row["refund_waiting"] != "",
                    rx.badge(
                        T("approval.refund_waiting"),
                        color_scheme="amber",
                        data_testid="refund-waiting",
                    ),
                ),
                rx.cond(
                    (S.can_void | S.void_asks) & (row["voidable"] != ""),
                    rx.button(
                        rx.cond(S.void_asks, T("approval.request_void"), T("orders.void")),
                        size="1",
                        variant="soft",
                        color_scheme="red",
                        on_click=S.open_void(row["id"]),
                        data_testid="void-open",
                    ),
                ),
                spacing="2",
                align="center",
            ),
            white_space="nowrap",
        ),
        data_testid="order-row",
    )


def orders_tab() -> rx.Component:
    S = OrdersState
    return rx.vstack(
        rx.cond(
            S.can_post,
            rx.hstack(
                rx.spacer(),
                rx.button(
                    rx.icon("receipt", size=14),
                    T("orders.new"),
                    on_click=S.open_purchase,
                    data_testid="purchase-open",
                ),
                width="100%",
            ),
        ),
        rx.cond(
            S.posted_href != "",
            rx.callout(
                rx.hstack(
                    rx.text(S.posted_note),
                    receipt_link(S.posted_href, "receipt.open", "posted-receipt"),
                    spacing="3",
                    align="center",
                    wrap="wrap",
                ),
                icon="circle-check",
                color_scheme="green",
                size="1",
                width="100%",
            ),
        ),
        data_table((*COLUMNS, ""), S.rows, _order_row),
        rx.cond(
            S.total == 0,
            rx.callout(
                T("orders.empty"), icon="receipt", color_scheme="gray", data_testid="orders-empty"
            ),
        ),
        pager(S.page, S.pages, S.total, S.prev_page, S.next_page),
        _purchase_dialog(),
        _refund_dialog(),
        _void_dialog(asks=False),
        _void_dialog(asks=True),
        on_mount=S.load,
        width="100%",
    )
