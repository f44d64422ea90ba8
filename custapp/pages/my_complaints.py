"""待处理投诉 (front desk, complaint.handle): the open complaints assigned to me and the unassigned
open ones of my store, one page at a time on the server, overdue first; 登记投诉 leads to
/complaints/new. The rows hold no complaint text."""

from __future__ import annotations

import reflex as rx

from custapp.components.complaint_badges import (
    ComplaintListRow,
    complaint_list_row,
    number_cell,
    overdue_badge,
    severity_badge,
    status_badge,
)
from custapp.components.shell import T, list_section, page, paged_table, toolbar
from custapp.services import complaints
from custapp.states.paging import PagedMixin
from custapp.states.session import SessionState

PAGE_SIZE = 20


class MyComplaintsState(PagedMixin, SessionState):
    rows: list[ComplaintListRow] = []
    loaded: bool = False
    can_file: bool = False

    def _page_size(self) -> int:
        return PAGE_SIZE

    def _clear(self) -> None:
        """A full page load sends the whole state tree to the new page: not these rows."""
        self.rows, self.total, self.loaded = [], 0, False

    @rx.event
    def load(self):
        actor, redirect = self._enter("complaint.handle")
        if redirect:
            return redirect
        self.page, self.can_file = 1, actor.can("complaint.create")
        return self._fetch()

    def _fetch(self):
        result, error = self._call(complaints.my_complaints, page=self.page, page_size=PAGE_SIZE)
        self.loaded = True
        if error:
            self.rows, self.total = [], 0
            return rx.toast.error(error)
        rows, self.total = result
        self.rows = [complaint_list_row(self, r) for r in rows]
        return None


def _row(r: rx.Var) -> rx.Component:
    return rx.table.row(
        number_cell(r),
        rx.table.cell(r.customer),
        rx.table.cell(r.category),
        rx.table.cell(severity_badge(r.severity, r.severity_label)),
        rx.table.cell(
            rx.hstack(
                status_badge(r.status, r.status_label),
                overdue_badge(r.overdue),
                spacing="1",
                wrap="wrap",
            )
        ),
        rx.table.cell(r.due, white_space="nowrap"),
        rx.table.cell(r.assignee),
        align="center",
        data_testid="complaint-row",
    )


def my_complaints_page() -> rx.Component:
    S = MyComplaintsState
    return page(
        "nav.my_complaints",
        list_section(
            toolbar(
                T("complaint_pages.mine_hint"),
                rx.cond(
                    S.can_file,
                    rx.link(
                        rx.button(
                            rx.icon("message-square-plus", size=14),
                            T("complaint_pages.new_title"),
                        ),
                        href="/complaints/new",
                        data_testid="complaint-new",
                    ),
                ),
            ),
            S.loaded,
            S.total,
            rx.callout(
                T("complaint_pages.mine_empty"),
                icon="circle-check",
                color_scheme="green",
                width="100%",
                data_testid="complaints-empty",
            ),
            paged_table(
                (
                    "complaint_pages.col.number",
                    "complaint_pages.col.customer",
                    "complaint_pages.col.category",
                    "complaint_pages.col.severity",
                    "complaint_pages.col.status",
                    "complaint_pages.col.due",
                    "complaint_pages.col.assignee",
                ),
                S.rows,
                _row,
                S.page,
                S.pages,
                S.total,
                S.prev_page,
                S.next_page,
            ),
        ),
    )
