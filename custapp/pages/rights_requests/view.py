"""The 权利请求 page: compliance's list with its filters (soonest due first, overdue ones in red),
or, for the front desk, the requests they filed; the dialogs are in dialogs.py and detail.py."""

from __future__ import annotations

import reflex as rx

from custapp.components.shell import T, loading, page, paged_table, toolbar
from custapp.pages.rights_requests.detail import RequestDetailState, detail_dialog, password_dialog
from custapp.pages.rights_requests.dialogs import FileDialogState, file_dialog
from custapp.pages.rights_requests.erasure import erasure_panel
from custapp.pages.rights_requests.state import STATUS_CHOICES, RightsState
from custapp.pages.rights_requests.widgets import overdue_badge, status_badge
from custapp.services import rights

S = RightsState

LIST_COLUMNS = (
    "rights.number",
    "rights.customer",
    "rights.kind",
    "rights.channel",
    "rights.received",
    "rights.due_on",
    "rights.status",
    "rights.handler",
    "common.actions",
)
FILED_COLUMNS = (
    "rights.number",
    "rights.customer",
    "rights.kind",
    "rights.received",
    "rights.due_on",
    "rights.status",
)


def _row(row: rx.Var) -> rx.Component:
    overdue = row.overdue != ""
    return rx.table.row(
        rx.table.cell(rx.code(row.number, variant="ghost"), white_space="nowrap"),
        rx.table.cell(
            rx.link(row.customer, href="/customers/" + row.customer_id.to_string()),
            white_space="nowrap",
        ),
        rx.table.cell(rx.badge(row.kind, variant="outline")),
        rx.table.cell(row.channel, white_space="nowrap"),
        rx.table.cell(row.received, white_space="nowrap"),
        rx.table.cell(
            rx.vstack(
                rx.text(row.due, weight=rx.cond(overdue, "bold", "regular")),
                overdue_badge(row.overdue),
                spacing="1",
            ),
            white_space="nowrap",
        ),
        rx.table.cell(status_badge(row.status, row.status_code)),
        rx.table.cell(row.handler, white_space="nowrap"),
        rx.table.cell(
            rx.button(
                rx.icon("folder-open", size=14),
                T("rights.open"),
                size="1",
                variant="soft",
                on_click=RequestDetailState.open_detail(row.id),
                data_testid="rights-open",
            )
        ),
        background=rx.cond(overdue, rx.color("red", 3), "transparent"),
        data_testid="rights-row",
    )


def _filed_row(row: rx.Var) -> rx.Component:
    return rx.table.row(
        rx.table.cell(rx.code(row.number, variant="ghost"), white_space="nowrap"),
        rx.table.cell(row.customer, white_space="nowrap"),
        rx.table.cell(rx.badge(row.kind, variant="outline")),
        rx.table.cell(row.received, white_space="nowrap"),
        rx.table.cell(row.due, white_space="nowrap"),
        rx.table.cell(status_badge(row.status, row.status_code)),
        data_testid="filed-row",
    )


def _filters() -> rx.Component:
    return rx.hstack(
        rx.select.root(
            rx.select.trigger(data_testid="rights-f-status"),
            rx.select.content(
                *[rx.select.item(T(f"rights.status.{s}"), value=s) for s in STATUS_CHOICES]
            ),
            value=S.f_status,
            on_change=S.set_f_status,
        ),
        rx.select.root(
            rx.select.trigger(data_testid="rights-f-kind"),
            rx.select.content(
                rx.select.item(T("rights.kind.all"), value="all"),
                *[rx.select.item(T(f"rights.kind.{k}"), value=k) for k in rights.KINDS],
            ),
            value=S.f_kind,
            on_change=S.set_f_kind,
        ),
        rx.hstack(
            rx.switch(
                checked=S.f_overdue, on_change=S.set_f_overdue, data_testid="rights-f-overdue"
            ),
            rx.text(T("rights.overdue_only"), size="2"),
            align="center",
            spacing="2",
        ),
        align="center",
        spacing="4",
        wrap="wrap",
        width="100%",
    )


def _compliance_list() -> rx.Component:
    return rx.vstack(
        _filters(),
        rx.cond(
            S.total == 0,
            rx.callout(
                T("rights.empty"),
                icon="circle-check",
                color_scheme="green",
                width="100%",
                data_testid="rights-empty",
            ),  # fmt: skip
            paged_table(
                LIST_COLUMNS, S.rows, _row, S.page, S.pages, S.total, S.prev_page, S.next_page
            ),
        ),
        spacing="3",
        width="100%",
    )


def _filed_list() -> rx.Component:
    return rx.vstack(
        rx.heading(T("rights.my_filed"), size="4"),
        rx.cond(
            S.filed_total == 0,
            rx.callout(T("rights.my_filed_empty"), icon="info", color_scheme="gray", width="100%"),
            paged_table(
                FILED_COLUMNS,
                S.filed_rows,
                _filed_row,
                S.filed_page,
                S.filed_pages,
                S.filed_total,
                S.filed_prev,
                S.filed_next,
            ),
        ),
        spacing="3",
        width="100%",
    )


def rights_requests_page() -> rx.Component:
    return page(
        "nav.rights",
        toolbar(
            S.hint,
            rx.cond(
                S.can_file,
                rx.button(
                    rx.icon("file-plus", size=14),
                    T("rights.file"),
                    on_click=FileDialogState.open_file,
                    data_testid="rights-file",
                ),
            ),
            max_width="760px",
        ),
        rx.cond(
            ~S.loaded,
            loading(),
            rx.cond(S.can_manage, _compliance_list(), _filed_list()),
        ),
        file_dialog(),
        detail_dialog(erasure_panel()),
        password_dialog(),
    )
