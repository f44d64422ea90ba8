"""The complaint page's state: the login's actor, one service call (complaints.get_complaint) and
the typed rows the view shows. The dialogs and the 附件 section are substates (dialogs.py,
closing.py, attachments.py): they read these vars and refresh them through `_done`.

The decrypted text (description, desired resolution, contact, notes, closing text) is held only
while this page is open: `_clear` drops it on leaving (on_unmount) and before Reflex sends the
state tree to another page (a full page load); it closes every substate with it.
"""

from __future__ import annotations

import math

import reflex as rx

from custapp import clock
from custapp.components.complaint_badges import compensation_text
from custapp.pages.complaint.rows import ClosingFact, ComplaintHeader, TimelineRow
from custapp.services import complaints
from custapp.services.customer_input import row_id
from custapp.states.options import Option
from custapp.states.session import SessionState
from custapp.vocab import COMPLAINT_MOVES, ComplaintEventKind, ComplaintStatus


def form_text(form: object, name: str) -> str:
    """A text field of a submitted form; "" when the browser sent anything else."""
    value = form.get(name, "") if isinstance(form, dict) else ""
    return value if isinstance(value, str) else ""


class ComplaintState(SessionState):
    loaded: bool = False
    h: ComplaintHeader = ComplaintHeader()
    description: str = ""
    desired: str = ""
    contact: str = ""
    closing: list[ClosingFact] = []
    timeline: list[TimelineRow] = []  # newest first
    moves: list[Option] = []  # the workflow moves the status allows: to_status, its label
    can_assign: bool = False
    can_close: bool = False
    _id: int = 0  # the complaint in the address; the browser never sends it to a handler

    def _clear(self) -> None:
        self.loaded, self.h, self.description, self.desired, self.contact = (
            False,
            ComplaintHeader(),
            "",
            "",
            "",
        )
        self.closing, self.timeline, self.moves = [], [], []
        for substate in self.substates.values():  # loaded with this state, also with Redis
            substate._clear()

    @rx.event
    def load(self):
        actor, redirect = self._enter("complaint.handle")
        if redirect:
            return redirect
        self._clear()
        self._id = row_id(self.router.page.params.get("id", ""))
        self.can_assign = actor.can("complaint.assign")
        self.can_close = actor.can("complaint.close")
        error = self._fetch_view()
        if error:
            return [rx.redirect("/my-complaints"), rx.toast.error(error)]
        return None

    @rx.event
    def leave(self):
        self._clear()

    @rx.event
    def resume(self):
        """恢复 (no dialog): the complaint on hold goes back to work."""
        _, error = self._call(complaints.resume, complaint_id=self._id)
        if error:
            return rx.toast.error(error)
        return self._done("complaint_pages.done.resume")

    def _done(self, message_key: str, **params: object):
        """After an action: the complaint read again, a toast."""
        error = self._fetch_view()
        return rx.toast.error(error) if error else rx.toast.success(self._t(message_key, **params))

    # --- reading ----------------------------------------------------------------------------

    def _page(self) -> ComplaintState:
        """The page's own state, also from a dialog or section (a substate, whose `_clear`
        drops only its own vars)."""
        state = self
        while state.__class__ is not ComplaintState:
            state = state.parent_state
        return state

    def _fetch_view(self) -> str | None:
        view, error = self._call(complaints.get_complaint, complaint_id=self._id)
        if error:
            self._page()._clear()
            return error
        self._show(view)
        return None

    def _show(self, view: complaints.ComplaintView) -> None:
        r = view.row
        self._id = r.id
        self.h = self._header(view)
        self.description, self.desired, self.contact = view.description, view.desired, view.contact
        via = self._t(f"complaint.inform.{view.informed_via}") if view.informed_via else ""
        informed = (view.informed_on.isoformat() if view.informed_on else "", via)
        closing = [
            ("complaint_pages.field.root_cause", view.root_cause),
            ("complaint_pages.field.solution", view.solution),
            ("complaint_pages.field.informed", " · ".join(p for p in informed if p)),
            (
                "complaint_pages.field.satisfaction",
                str(r.satisfaction) if r.satisfaction else view.no_score_reason,
            ),
        ]
        self.closing = [ClosingFact(self._t(key), value) for key, value in closing if value]
        self.timeline = [self._entry(e, view.gifts) for e in reversed(view.timeline)]
        self.moves = [
            Option(str(to), self._t(f"complaint.status.{to}"))
            for to in COMPLAINT_MOVES.get(r.status, ())
        ]
        self.loaded = True

    def _header(self, view: complaints.ComplaintView) -> ComplaintHeader:
        r = view.row
        response, response_mark, response_color = self._due(r.response_by, r.status)
        resolution, resolution_mark, resolution_color = self._due(r.resolution_by, r.status)
        return ComplaintHeader(
            number=r.number,
            status=r.status,
            status_label=self._t(f"complaint.status.{r.status}"),
            severity=r.severity,
            severity_label=self._t(f"complaint.severity.{r.severity}"),
            channel=self._t(f"complaint.channel.{r.channel}"),
            category=self._t(f"complaint.category.{r.category}"),
            overdue=bool(r.overdue),
            customer=f"{r.customer_name} {r.customer_number}".strip() if r.customer_id else "",
            customer_href=f"/customers/{r.customer_id}" if r.customer_id else "",
            assignee=r.assignee_name or self._t("complaint_pages.unassigned"),
            created=clock.format_local(r.created_at),
            response_by=response,
            response_mark=response_mark,
            response_color=response_color,
            resolution_by=resolution,
            resolution_mark=resolution_mark,
            resolution_color=resolution_color,
            first_response=clock.format_local(view.first_response_at),
            informed=clock.format_local(view.informed_at),
            closed=clock.format_local(view.closed_at),
            zone=str(clock.zone()),
            reopened=str(view.reopened_count) if view.reopened_count else "",
            satisfaction=str(r.satisfaction or ""),
        )

    def _due(self, by, status: str) -> tuple[str, str, str]:  # noqa: ANN001
        """(the deadline in the configured zone, its marker, its colour)."""
        if by is None:
            return "", "", ""
        text = clock.format_local(by)
        if status == ComplaintStatus.ON_HOLD:
            return text, self._t("complaint_pages.paused"), "orange"
        left = (by - clock.now()).total_seconds() / 3600
        if left < 0:
            return text, self._t("complaint_pages.overdue"), "red"
        hours = max(1, math.ceil(left))
        return (
            text,
            self._t("complaint_pages.hours_left", hours=hours),
            ("amber" if left < 4 else "gray"),
        )

    def _entry(self, e: complaints.TimelineEntry, gifts: dict) -> TimelineRow:
        change = ""
        if e.to_status:
            to = self._t(f"complaint.status.{e.to_status}")
            change = (
                f"{self._t(f'complaint.status.{e.from_status}')} → {to}" if e.from_status else to
            )
        detail = e.detail
        if e.kind == ComplaintEventKind.ESCALATION and ":" in detail:
            clock_name, level = detail.split(":", 1)
            detail = self._t(
                "complaint_pages.escalation",
                clock=self._t(f"complaint_pages.clock.{clock_name}"),
                level=self._t(f"complaint_pages.level.{level}"),
            )
        elif e.kind == ComplaintEventKind.COMPENSATION:
            detail = compensation_text(self, detail, gifts)
        return TimelineRow(
            time=clock.format_local(e.created_at),
            who=e.actor_name or self._t("complaint_pages.system"),
            kind=e.kind,
            kind_label=self._t(f"complaint_pages.kind.{e.kind}"),
            change=change,
            body=e.body,
            detail=detail,
            visible=bool(e.visible),
        )
