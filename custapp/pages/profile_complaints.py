"""The profile's 投诉 tab: the customer's complaints one page at a time, newest first (number,
time, category, severity, status, assignee, overdue, satisfaction), each linking to its complaint
page, and 登记投诉 (the intake form of complaint_intake) for the customer the profile shows.

The rows hold no complaint text (it is decrypted only on the complaint page). The tab unmounts
when another tab is chosen: it loads its page on mount and drops it on unmount; an intake draft
stays on the server for the same customer (see complaint_intake).
"""

from __future__ import annotations

import reflex as rx

from custapp import clock
from custapp.components.shell import T, form_dialog, list_section, paged_table, toolbar, two_line
from custapp.money import format_fen
from custapp.pages.complaint_intake import IntakeMixin, intake_fields
from custapp.services import complaints
from custapp.states.paging import PagedMixin
from custapp.states.session import SessionState

PAGE_SIZE = 10
STATUS_COLORS = {
    "received": "blue",
    "investigating": "amber",
    "solution_proposed": "amber",
    "customer_informed": "green",
    "return_visit": "green",
    "closed": "gray",
    "on_hold": "orange",
    "reopened": "red",
}
SEVERITY_COLORS = {"low": "gray", "normal": "blue", "high": "orange", "critical": "red"}


def complaint_row(state: SessionState, r: complaints.ComplaintRow) -> dict[str, str]:
    """A list row of a complaint (no text of it): what the lists of the staff pages show."""
    return {
        "id": str(r.id),
        "href": f"/complaints/{r.id}",
        "number": r.number,
        "time": clock.format_local(r.created_at),
        "customer": (
            f"{r.customer_name} {r.customer_number}".strip()
            if r.customer_id
            else state._t("complaint_pages.anonymous")
        ),
        "category": state._t(f"complaint.category.{r.category}"),
        "severity": r.severity,
        "severity_label": state._t(f"complaint.severity.{r.severity}"),
        "status": r.status,
        "status_label": state._t(f"complaint.status.{r.status}"),
        "assignee": r.assignee_name or state._t("complaint_pages.unassigned"),
        "overdue": "1" if r.overdue else "",
        "satisfaction": str(r.satisfaction) if r.satisfaction else "—",
        "due": clock.format_local(r.response_by or r.resolution_by),
    }


class ProfileComplaintsState(IntakeMixin, PagedMixin, SessionState):
    rows: list[dict[str, str]] = []
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
        shows the survivor: the profile's resolved id, held on the server, is used)."""
        from custapp.pages.customer_profile import ProfileState  # the profile imports this tab

        self._clear()
        actor = self._actor()
        profile = await self.get_state(ProfileState)
        if actor is None or not profile.cid:
            return None
        self._cid = profile.cid
        self.can_view = actor.can("complaint.handle")
        self.can_file = actor.can("complaint.create")
        if self._draft_cid != self._cid:  # a draft of another customer's profile is dropped
            self._draft, self._draft_cid, self._dialog_open = {}, self._cid, False
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
        self.rows = [complaint_row(self, r) for r in rows]
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


# --- shared pieces (the complaint page and 待处理投诉 use them too) ---------------------------------


def compensation_text(state: SessionState, detail: str, gifts: dict[int, tuple[str, str]]) -> str:
    """What an approved compensation gave, in the reader's language: "points:50" → "50 积分",
    "money:2000:card" → "¥20.00，已存入储值卡", "gift:7" → "礼品：保温杯"."""
    kind, _, rest = detail.partition(":")
    if kind == "points" and rest.isdecimal():
        return state._t("complaint.compensation.points", points=f"{int(rest):,}")
    if kind == "money":
        amount, _, via = rest.partition(":")
        if amount.isdecimal() and via in ("card", "counter"):
            return state._t(f"complaint.compensation.money_{via}", amount=format_fen(int(amount)))
    if kind == "gift" and rest.isdecimal():
        zh, en = gifts.get(int(rest), ("", ""))
        name = (en or zh) if state.locale.startswith("en") else zh
        return state._t("complaint.compensation.gift", gift=name or "—")
    return detail


def status_badge(code: rx.Var, label: rx.Var) -> rx.Component:
    return rx.badge(
        label,
        color_scheme=rx.match(code, *STATUS_COLORS.items(), "gray"),
        variant="soft",
        white_space="nowrap",
        data_testid="complaint-status",
    )


def severity_badge(code: rx.Var, label: rx.Var) -> rx.Component:
    return rx.badge(
        label,
        color_scheme=rx.match(code, *SEVERITY_COLORS.items(), "gray"),
        variant="outline",
        white_space="nowrap",
    )


def overdue_badge(flag: rx.Var) -> rx.Component:
    return rx.cond(
        flag != "",
        rx.badge(
            rx.icon("alarm-clock", size=12),
            T("complaint_pages.overdue"),
            color_scheme="red",
            variant="solid",
            white_space="nowrap",
            data_testid="complaint-overdue",
        ),
    )


def number_cell(r: rx.Var) -> rx.Component:
    return rx.table.cell(
        rx.link(
            two_line(r["number"], r["time"], size="2", weight="medium", white_space="nowrap"),
            href=r["href"],
            underline="none",
            data_testid="complaint-link",
        ),
    )


def _row(r: rx.Var) -> rx.Component:
    return rx.table.row(
        number_cell(r),
        rx.table.cell(r["category"]),
        rx.table.cell(severity_badge(r["severity"], r["severity_label"])),
        rx.table.cell(
            rx.hstack(
                status_badge(r["status"], r["status_label"]),
                overdue_badge(r["overdue"]),
                spacing="1",
                wrap="wrap",
            )
        ),
        rx.table.cell(r["assignee"]),
        rx.table.cell(r["satisfaction"], text_align="center"),
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
