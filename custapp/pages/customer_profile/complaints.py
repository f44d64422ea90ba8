"""The profile's 投诉 tab: the customer's complaints one page at a time, newest first (number,
time, category, severity, status, assignee, overdue, satisfaction), each linking to its complaint
page, and 登记投诉 (the intake form of complaint_intake) for the customer the profile shows.

The rows hold no complaint text (it is decrypted only on the complaint page). The tab unmounts
when another tab is chosen: it loads its page on mount and drops it on unmount; an intake draft
stays on the server for the same customer (see complaint_intake).
"""

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
from custapp.components.complaint_intake import intake_fields
from custapp.components.shell import T, form_dialog, list_section, paged_table, toolbar
from custapp.pages.customer_profile.base import profile_cid
from custapp.services import complaints
from custapp.states.complaint_intake import IntakeDraft, IntakeMixin
from custapp.states.off_loop import run_off_loop
from custapp.states.paging import PagedMixin
from custapp.states.session import SessionState

PAGE_SIZE = 10


class ProfileComplaintsState(IntakeMixin, PagedMixin, SessionState):
    rows: list[ComplaintListRow] = []
    loaded: bool = False
    can_view: bool = False
    can_file: bool = False
    intake_open: bool = False
    _cid: int = 0
    _draft_cid: int = 0
    _dialog_open: bool = False

    def _page_size(self) -> int:
        return PAGE_SIZE

    def _clear(self) -> None:
        self.rows, self.total, self.page, self.loaded = [], 0, 1, False
        self.intake_open = False
        self._hide_draft()

    @rx.event
    async def load(self):
        """On mount of the tab: the customer the profile shows (a merged customer's address
        shows the survivor: the profile's resolved id, held on the server, is used). The
        database work runs off the event loop."""
        return await run_off_loop(self._load, await profile_cid(self))

    def _load(self, cid: int):
        self._clear()
        actor = self._actor()
        if actor is None or not cid:
            return None
        self._cid = cid
        self.can_view = actor.can("complaint.handle")
        self.can_file = actor.can("complaint.create")
        if self._draft_cid != self._cid:  # a draft of another customer's profile is dropped
            self._draft, self._draft_cid, self._dialog_open = IntakeDraft(), self._cid, False
        if self._dialog_open and self.can_file:  # the page was reloaded while the form was open
            self._show_draft()
            self.intake_open = True
        if not self.can_view:
            self.loaded = True
            return None
        return self._fetch()

    @rx.event
    def leave(self):
        self._clear()

    def _fetch(self):
        result, error = self._call(
            complaints.customer_complaints,
            customer_id=self._cid,
            page=self.page,
            page_size=PAGE_SIZE,
        )
        self.loaded = True
        if error:
            self.rows, self.total = [], 0
            return rx.toast.error(error)
        rows, self.total = result
        self.rows = [complaint_list_row(self, r) for r in rows]
        return None

    # --- 登记投诉 -------------------------------------------------------------------------------

    @rx.event
    def open_intake(self):
        if not self._cid:
            return
        self._show_draft()
        self.intake_errors, self.intake_error = {}, ""
        self.intake_open = self._dialog_open = True

    @rx.event
    def close_intake(self):
        """Closing keeps the draft: the form opens again with it."""
        self.intake_open = self._dialog_open = False

    @rx.event
    def file(self, form: dict | None = None):
        if not self._cid:
            return None
        row = self._file_draft(self._cid, form)
        if row is None:
            return None
        self.intake_open = self._dialog_open = False
        self.page = 1
        events = [
            self._fetch() if self.can_view else None,
            rx.toast.success(self._t("complaint_pages.filed", number=row.number)),
        ]
        return [e for e in events if e is not None]


# --- the tab ---------------------------------------------------------------------------------------


def _row(r: rx.Var) -> rx.Component:
    return rx.table.row(
        number_cell(r),
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
        rx.table.cell(r.assignee),
        rx.table.cell(r.satisfaction, text_align="center"),
        align="center",
        data_testid="complaint-row",
    )


def _intake_dialog() -> rx.Component:
    S = ProfileComplaintsState
    return form_dialog(
        *intake_fields(S),
        title=T("complaint_pages.new_title"),
        description="complaint_pages.intake_note",
        is_open=S.intake_open,
        on_close=S.close_intake,
        on_submit=S.file,
        error=rx.cond(S.intake_errors.length() > 0, "", S.intake_error),
        submit_label="complaint_pages.file",
        submit_testid="intake-submit",
        max_width="680px",
        stack_props={"padding_top": "8px"},
    )


def complaints_tab() -> rx.Component:
    S = ProfileComplaintsState
    return rx.vstack(
        list_section(
            toolbar(
                T("complaint_pages.tab_hint"),
                rx.cond(
                    S.can_file,
                    rx.button(
                        rx.icon("message-square-plus", size=14),
                        T("complaint_pages.new_title"),
                        on_click=S.open_intake,
                        data_testid="complaint-new",
                    ),
                ),
            ),
            S.loaded,
            S.total,
            rx.callout(
                rx.cond(S.can_view, T("complaint_pages.empty"), T("complaint_pages.no_access")),
                icon="message-square",
                color_scheme="gray",
                width="100%",
                data_testid="complaints-empty",
            ),
            paged_table(
                (
                    "complaint_pages.col.number",
                    "complaint_pages.col.category",
                    "complaint_pages.col.severity",
                    "complaint_pages.col.status",
                    "complaint_pages.col.assignee",
                    "complaint_pages.col.satisfaction",
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
        _intake_dialog(),
        on_mount=S.load,
        on_unmount=S.leave,
        width="100%",
    )
