"""The profile's 消费记录 tab: the customer's orders one page at a time with each order's 小票
(a new tab), 退款 and 作废 buttons where the user may, and 登记消费. The tab unmounts when another
tab is chosen, so it loads its page when it mounts; after a posting the list and the profile's
overview reload."""

from __future__ import annotations

import reflex as rx

from custapp.components.receipt_link import receipt_link
from custapp.components.shell import T, data_table, pager
from custapp.pages.customer_profile.orders.dialogs import (
    purchase_dialog,
    refund_dialog,
    void_dialog,
)
from custapp.pages.customer_profile.orders.state import OrdersState

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
        row.kind,
        ("refund", rx.badge(T("orders.kind.refund"), color_scheme="orange", variant="soft")),
        ("void", rx.badge(T("orders.kind.void"), color_scheme="red", variant="solid")),
        rx.cond(
            row.voided,
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
    voided = row.voided
    return rx.table.row(
        rx.table.cell(
            rx.hstack(
                rx.code(
                    row.number,
                    variant="ghost",
                    text_decoration=rx.cond(voided, "line-through", "none"),
                ),
                _kind_badge(row),
                spacing="2",
                align="center",
            ),
            white_space="nowrap",
        ),
        rx.table.cell(row.description),
        rx.table.cell(row.total, white_space="nowrap"),
        rx.table.cell(row.discount, white_space="nowrap"),
        rx.table.cell(
            rx.text(
                row.paid,
                weight="medium",
                color_scheme=rx.cond(row.kind == "purchase", "gray", "red"),
                high_contrast=row.kind == "purchase",
                text_decoration=rx.cond(voided, "line-through", "none"),
            ),
            white_space="nowrap",
        ),
        rx.table.cell(row.methods),
        rx.table.cell(row.store, white_space="nowrap"),
        rx.table.cell(row.time, white_space="nowrap"),
        rx.table.cell(
            rx.hstack(
                receipt_link(row.receipt, "receipt.short", "receipt-link"),
                rx.cond(
                    S.can_post & row.refundable,
                    rx.button(
                        T("orders.refund"),
                        size="1",
                        variant="soft",
                        color_scheme="orange",
                        on_click=S.open_refund(row.id),
                        data_testid="refund-open",
                    ),
                ),
                rx.cond(
                    row.void_waiting,
                    rx.badge(
                        T("approval.void_waiting"), color_scheme="amber", data_testid="void-waiting"
                    ),
                ),
                rx.cond(
                    row.refund_waiting,
                    rx.badge(
                        T("approval.refund_waiting"),
                        color_scheme="amber",
                        data_testid="refund-waiting",
                    ),
                ),
                rx.cond(
                    (S.can_void | S.void_asks) & row.voidable,
                    rx.button(
                        rx.cond(S.void_asks, T("approval.request_void"), T("orders.void")),
                        size="1",
                        variant="soft",
                        color_scheme="red",
                        on_click=S.open_void(row.id),
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
        purchase_dialog(),
        refund_dialog(),
        void_dialog(asks=False),
        void_dialog(asks=True),
        on_mount=S.load,
        width="100%",
    )
