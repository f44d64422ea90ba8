"""The 消费记录 tab's dialogs: 登记消费 (item lines, split payment), and 退款 and 作废 (or
申请作废), each a small form whose submit shows the confirmation that 确认 commits."""

from __future__ import annotations

import reflex as rx

from custapp.components.membership import confirm_panel
from custapp.components.shell import T, field_error, form_actions
from custapp.models.orders import PAYMENT_METHODS
from custapp.pages.customer_profile.orders.state import OrdersState


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
        rx.input(name=f"{field}_" + n, value=getattr(row, field), on_change=on_change, **props),
        field_error(getattr(row, f"{field}_error")),
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
                row.method,
                lambda v: S.set_payment(i, "method", v),
                "method_" + n,
                "pay-method",
            ),
            field_error(row.method_error),
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


def purchase_dialog() -> rx.Component:
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
                    form_actions(S.close_dialogs, "orders.post", "purchase-submit"),
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


def refund_dialog() -> rx.Component:
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


def void_dialog(asks: bool) -> rx.Component:
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
