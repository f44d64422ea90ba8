"""The 保存期限 page: the rules (提出变更 for compliance), the changes waiting for a second person
(审批 for compliance and cs_manager) and the history."""

from __future__ import annotations

import reflex as rx

from custapp.components.shell import T, data_table, loading, page, paged_table, two_line
from custapp.pages.retention.dialogs import (
    DecideDialogState,
    ProposeDialogState,
    decide_dialog,
    propose_dialog,
)
from custapp.pages.retention.state import RetentionState
from custapp.vocab import RetentionChangeStatus

S = RetentionState


def _rule_row(row: rx.Var) -> rx.Component:
    return rx.table.row(
        rx.table.cell(two_line(row.name, row.start, weight="medium"), white_space="nowrap"),
        rx.table.cell(row.period, white_space="nowrap"),
        rx.table.cell(rx.badge(row.action, variant="soft", color_scheme="gray")),
        rx.table.cell(rx.text(row.basis, size="1", color_scheme="gray"), max_width="420px"),
        rx.table.cell(rx.text(row.updated, size="2"), white_space="nowrap"),
        rx.table.cell(
            rx.cond(
                row.pending,
                rx.badge(T("retention.pending_badge"), color_scheme="amber", variant="soft"),
                rx.cond(
                    S.can_manage,
                    rx.button(
                        rx.icon("pencil", size=14),
                        T("retention.propose"),
                        size="1",
                        variant="soft",
                        on_click=ProposeDialogState.open_propose(row.category),
                        data_testid="rt-propose",
                    ),
                ),
            ),
            white_space="nowrap",
        ),
        data_testid="rt-rule",
    )


def _pending_row(row: rx.Var) -> rx.Component:
    return rx.table.row(
        rx.table.cell(rx.text(row.name, weight="medium"), white_space="nowrap"),
        rx.table.cell(two_line(row.change, row.reason, size="2"), max_width="420px"),
        rx.table.cell(two_line(row.proposer, row.proposed, size="2"), white_space="nowrap"),
        rx.table.cell(
            rx.cond(
                row.mine,
                rx.text(T("retention.decide.own"), size="1", color_scheme="gray"),
                rx.cond(
                    S.can_approve,
                    rx.button(
                        rx.icon("stamp", size=14),
                        T("retention.decide.open"),
                        size="1",
                        on_click=DecideDialogState.open_decide(row.id),
                        data_testid="rt-decide",
                    ),
                ),
            ),
            white_space="nowrap",
        ),
        data_testid="rt-pending",
    )


def _history_row(row: rx.Var) -> rx.Component:
    return rx.table.row(
        rx.table.cell(two_line(row.name, row.proposed, weight="medium"), white_space="nowrap"),
        rx.table.cell(two_line(row.change, row.basis, size="2"), max_width="420px"),
        rx.table.cell(
            rx.badge(
                row.status,
                color_scheme=rx.match(
                    row.status_code,
                    (RetentionChangeStatus.APPROVED, "green"),
                    (RetentionChangeStatus.REJECTED, "red"),
                    "amber",
                ),
                variant="soft",
            ),
            white_space="nowrap",
        ),
        rx.table.cell(row.proposer, white_space="nowrap"),
        rx.table.cell(two_line(row.decider, row.decided, size="2"), white_space="nowrap"),
        rx.table.cell(two_line(row.note, row.notice, size="2"), max_width="240px"),
        data_testid="rt-history",
    )


def _content() -> rx.Component:
    return rx.vstack(
        rx.callout(T("retention.hint"), icon="info", width="100%"),
        rx.heading(T("retention.rules.title"), size="3"),
        data_table(
            (
                "retention.col.category",
                "retention.col.period",
                "retention.col.action",
                "retention.col.basis",
                "retention.col.updated",
                "common.actions",
            ),
            S.rules,
            _rule_row,
        ),
        rx.heading(T("retention.pending.title"), size="3", padding_top="8px"),
        rx.cond(
            S.pending.length() == 0,
            rx.text(T("retention.pending.empty"), size="2", color_scheme="gray"),
            data_table(
                (
                    "retention.col.category",
                    "retention.col.change",
                    "retention.col.proposer",
                    "common.actions",
                ),
                S.pending,
                _pending_row,
            ),
        ),
        rx.heading(T("retention.history.title"), size="3", padding_top="8px"),
        rx.cond(
            S.total == 0,
            rx.text(T("retention.history.empty"), size="2", color_scheme="gray"),
            paged_table(
                (
                    "retention.col.category",
                    "retention.col.change",
                    "retention.col.status",
                    "retention.col.proposer",
                    "retention.col.decider",
                    "retention.col.note",
                ),
                S.history,
                _history_row,
                S.page,
                S.pages,
                S.total,
                S.prev_page,
                S.next_page,
            ),
        ),
        spacing="3",
        width="100%",
    )


def retention_page() -> rx.Component:
    return page(
        "nav.retention",
        rx.cond(~S.loaded, loading(), _content()),
        propose_dialog(),
        decide_dialog(),
    )
