"""The 销毁 page: tabs 待鉴定 / 待批准 / 已销毁（登记簿） / 诉讼保留, each one page of rows; the
dialogs are in dialogs.py."""

from __future__ import annotations

import reflex as rx

from custapp.components.form import confirm_actions
from custapp.components.shell import T, list_section, page, paged_table, toolbar, two_line
from custapp.pages.destruction.dialogs import (
    DecisionDialogState,
    HoldDialogState,
    ProposeDialogState,
    decision_dialog,
    hold_dialog,
    propose_dialog,
)
from custapp.pages.destruction.state import DestructionState

S = DestructionState
D = DecisionDialogState

QUEUE_COLUMNS = (
    "destruction.col.number",
    "destruction.col.customer",
    "destruction.col.what",
    "destruction.col.why",
    "destruction.col.blockers",
    "destruction.col.status",
    "common.actions",
)
REGISTER_COLUMNS = (
    "destruction.col.number",
    "destruction.col.customer",
    "destruction.col.what",
    "destruction.col.why",
    "destruction.col.people",
    "destruction.col.done",
    "destruction.col.method",
)
HOLD_COLUMNS = (
    "destruction.col.customer",
    "destruction.hold.reason",
    "destruction.col.set",
    "common.actions",
)
STATUS_COLORS = {"queued": "gray", "appraised": "amber", "approved": "blue", "done": "green"}


def _action(label: str, row: rx.Var, mode: str, color: str = "blue") -> rx.Component:
    return rx.button(
        T(label),
        size="1",
        variant="soft",
        color_scheme=color,
        on_click=D.open_decision(row.id, mode),
        data_testid=f"destruction-{mode}",
    )


def _queue_row(row: rx.Var) -> rx.Component:
    return rx.table.row(
        rx.table.cell(two_line(row.number, row.created), white_space="nowrap"),
        rx.table.cell(
            rx.link(row.customer_number, href="/customers/" + row.customer_id.to_string()),
            white_space="nowrap",
        ),
        rx.table.cell(rx.badge(row.what, variant="outline")),
        rx.table.cell(
            rx.vstack(
                rx.text(row.why),
                rx.cond(row.note != "", rx.text(row.note, size="1", color_scheme="gray")),
                # a rule's candidate has no note: without this line nobody is named at all
                rx.text(
                    T("destruction.proposed_by"),
                    " ",
                    row.proposed_by,
                    size="1",
                    color_scheme="gray",
                ),
                spacing="0",
            )
        ),
        rx.table.cell(
            rx.cond(
                row.blockers != "",
                rx.badge(
                    rx.icon("ban", size=12),
                    row.blockers,
                    color_scheme="red",
                    variant="soft",
                    white_space="normal",
                    data_testid="destruction-blocked",
                ),
                rx.text("—", color_scheme="gray"),
            )  # fmt: skip
        ),
        rx.table.cell(
            rx.vstack(
                rx.badge(
                    row.status,
                    color_scheme=rx.match(row.status_code, *STATUS_COLORS.items(), "gray"),
                    variant="soft",
                ),
                rx.cond(
                    row.appraised_by != "",
                    rx.text(
                        T("destruction.appraised_by"),
                        " ",
                        row.appraised_by,
                        size="1",
                        color_scheme="gray",
                    ),
                ),  # fmt: skip
                rx.cond(
                    row.own_appraisal,
                    rx.text(T("destruction.own_appraisal"), size="1", color_scheme="amber"),
                ),
                spacing="1",
            ),
        ),
        rx.table.cell(
            rx.hstack(
                rx.cond(row.may_appraise, _action("destruction.appraise", row, "appraise")),
                rx.cond(row.may_approve, _action("destruction.approve", row, "approve", "red")),
                rx.cond(row.may_reject, _action("destruction.reject", row, "reject", "gray")),
                spacing="2",
            )
        ),
        data_testid="destruction-row",
    )


def _register_row(row: rx.Var) -> rx.Component:
    return rx.table.row(
        rx.table.cell(rx.code(row.number, variant="ghost"), white_space="nowrap"),
        rx.table.cell(row.customer_number, white_space="nowrap"),
        rx.table.cell(rx.badge(row.what, variant="outline")),
        rx.table.cell(row.why),
        rx.table.cell(
            rx.vstack(
                rx.text(T("destruction.proposed_by"), " ", row.proposed_by, size="1"),
                rx.text(T("destruction.appraised_by"), " ", row.appraised_by, size="1"),
                rx.text(T("destruction.approved_by"), " ", row.approved_by, size="1"),
                spacing="0",
            )
        ),
        rx.table.cell(row.done, white_space="nowrap"),
        rx.table.cell(row.method),
        data_testid="register-row",
    )


def _hold_row(row: rx.Var) -> rx.Component:
    return rx.table.row(
        rx.table.cell(row.customer_number, white_space="nowrap"),
        rx.table.cell(row.reason),
        rx.table.cell(two_line(row.set_by, row.set_at)),
        rx.table.cell(
            rx.button(
                T("destruction.hold.release"),
                size="1",
                variant="soft",
                on_click=HoldDialogState.open_release(row.id),
                data_testid="hold-release",
            )
        ),
        data_testid="hold-row",
    )


def _empty(key: str) -> rx.Component:
    return rx.callout(T(key), icon="circle-check", color_scheme="green", width="100%")


def _table(columns: tuple[str, ...], rows: rx.Var, row) -> rx.Component:  # noqa: ANN001
    return paged_table(columns, rows, row, S.page, S.pages, S.total, S.prev_page, S.next_page)


def _approve_page() -> rx.Component:
    """批准本页全部, behind a confirmation: the job destroys them one batch after another."""
    return rx.alert_dialog.root(
        rx.alert_dialog.trigger(
            rx.button(
                rx.icon("shredder", size=14),
                T("destruction.approve_page"),
                color_scheme="red",
                variant="soft",
                data_testid="destruction-approve-page",
            )
        ),
        rx.alert_dialog.content(
            rx.alert_dialog.title(T("destruction.approve_page")),
            rx.alert_dialog.description(T("destruction.approve.warning"), size="2"),
            confirm_actions(
                rx.noop(),
                "destruction.approve_page",
                S.approve_page,
                "destruction-approve-page-confirm",
                spacing="3",
                margin_top="16px",
            ),  # fmt: skip
        ),
    )


def _queue() -> rx.Component:
    return list_section(
        toolbar(
            T("destruction.hint"),
            rx.cond((S.tab == "approval") & (S.approvable > 0), _approve_page()),
            rx.cond(
                S.can_appraise,
                rx.button(
                    rx.icon("file-x", size=14),
                    T("destruction.propose"),
                    on_click=ProposeDialogState.open_propose,
                    data_testid="destruction-propose",
                ),
            ),
        ),
        S.loaded,
        S.total,
        _empty("destruction.empty"),
        _table(QUEUE_COLUMNS, S.rows, _queue_row),
    )


def _register() -> rx.Component:
    return list_section(
        rx.callout(
            S.register_text,
            icon=rx.cond(S.register_ok, "shield-check", "shield-alert"),
            color_scheme=rx.cond(S.register_ok, "green", "red"),
            width="100%",
            data_testid="register-status",
        ),
        S.loaded,
        S.total,
        _empty("destruction.register.empty"),
        _table(REGISTER_COLUMNS, S.rows, _register_row),
    )


def _holds() -> rx.Component:
    return list_section(
        toolbar(
            T("destruction.hold.hint"),
            rx.button(
                rx.icon("gavel", size=14),
                T("destruction.hold.set"),
                on_click=HoldDialogState.open_hold,
                data_testid="hold-set",
            ),
        ),
        S.loaded,
        S.total,
        _empty("destruction.hold.empty"),
        _table(HOLD_COLUMNS, S.hold_rows, _hold_row),
    )


def _trigger(value: str, testid: str) -> rx.Component:
    return rx.tabs.trigger(T(f"destruction.tab.{value}"), value=value, data_testid=testid)


def destruction_page() -> rx.Component:
    return page(
        "nav.destruction",
        rx.tabs.root(
            rx.tabs.list(
                rx.cond(S.can_queue, _trigger("queued", "tab-queued")),
                rx.cond(S.can_queue, _trigger("approval", "tab-approval")),
                _trigger("register", "tab-register"),
                rx.cond(S.can_hold, _trigger("holds", "tab-holds")),
            ),
            rx.tabs.content(_queue(), value="queued", padding_top="16px"),
            rx.tabs.content(_queue(), value="approval", padding_top="16px"),
            rx.tabs.content(_register(), value="register", padding_top="16px"),
            rx.tabs.content(_holds(), value="holds", padding_top="16px"),
            value=S.tab,
            on_change=S.set_tab,
            width="100%",
        ),
        propose_dialog(),
        decision_dialog(),
        hold_dialog(),
    )
