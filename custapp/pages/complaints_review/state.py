"""The 投诉管理 state: the KPIs of a chosen window (30/90/180/365 days) with the weekly trend by
category, and the queue filtered on the server, a page at a time, with bulk assignment of the
ticked rows. The services check every permission again; the state lists and forwards."""

from __future__ import annotations

import reflex as rx

from custapp import clock
from custapp.pages.complaints_review.rows import KpiFigures, QueueRow
from custapp.services import complaint_reports, complaints
from custapp.states.options import Option
from custapp.states.paging import PagedMixin
from custapp.states.session import SessionState
from custapp.vocab import ComplaintCategory, ComplaintStatus, Severity

PAGE_SIZE = 20
AGES = ("1", "3", "7", "14", "30")
ANY = "all"
STATUSES = ("open", ComplaintStatus.CLOSED.value, ANY)  # the queue's status filter
SEVERITIES = tuple(s.value for s in Severity)
CATEGORIES = tuple(c.value for c in ComplaintCategory)
NO_DEADLINE = (ComplaintStatus.CLOSED, ComplaintStatus.ON_HOLD)  # its clocks are stopped


class ComplaintsReviewState(PagedMixin, SessionState):
    window: str = "90"
    kpi: KpiFigures = KpiFigures()
    trend: list[dict[str, int | str]] = []  # the chart's data: a week and a count per category
    kpi_loaded: bool = False
    rows: list[QueueRow] = []
    loaded: bool = False
    f_overdue: bool = False
    f_severity: str = ANY
    f_category: str = ANY
    f_assignee: str = ANY
    f_age: str = ANY
    f_status: str = "open"
    selected: list[str] = []
    handler_options: list[Option] = []
    age_options: list[Option] = []
    window_options: list[Option] = []
    assign_to: str = ""

    def _page_size(self) -> int:
        return PAGE_SIZE

    @rx.var
    def selected_label(self) -> str:
        return self._t("complaint_review.selected", count=len(self.selected))

    @rx.event
    def load(self):
        _, redirect = self._enter("complaint.assign")
        if redirect:
            return redirect
        self.page, self.selected, self.assign_to = 1, [], ""
        self.loaded = self.kpi_loaded = False
        self.age_options = [Option(a, self._t("complaint_review.age_days", days=a)) for a in AGES]
        self.window_options = [
            Option(str(d), self._t("complaint_review.window_days", days=d))
            for d in complaint_reports.WINDOWS
        ]
        found, error = self._call(complaints.handlers)
        self.handler_options = [Option(str(i), name) for i, name in found or []]
        self._kpis()
        toast = self._fetch()
        return [rx.toast.error(error)] if error else toast

    # --- the figures ----------------------------------------------------------------------

    def _hours(self, value: float | None) -> str:
        if value is None:
            return self._t("complaint_review.no_value")
        return self._t("complaint_review.hours", hours=f"{value:.1f}")

    def _kpis(self) -> None:
        days = int(self.window) if self.window.isdecimal() else 90
        k, error = self._call(complaint_reports.kpis, days=days)
        self.kpi_loaded = True
        if error or k is None:
            self.kpi, self.trend = KpiFigures(), []
            return
        none = self._t("complaint_review.no_value")
        self.kpi = KpiFigures(
            hint=self._t(
                "complaint_review.hint", days=k.days, since=clock.format_local(k.since, "%Y-%m-%d")
            ),
            received=str(k.received),
            open=str(k.open),
            open_sub=self._t("complaint_review.open_sub", count=k.received),
            overdue_rate=none if k.overdue_rate is None else f"{k.overdue_rate:.0%}",
            overdue_rate_sub=self._t("complaint_review.overdue_sub", count=k.overdue),
            overdue=str(k.overdue),
            first_response=self._hours(k.median_first_response_hours),
            first_response_sub=self._t("complaint_review.median_sub", count=k.first_response_count),
            resolution=self._hours(k.median_resolution_hours),
            resolution_sub=self._t("complaint_review.median_sub", count=k.resolution_count),
            satisfaction=none
            if k.satisfaction_avg is None
            else self._t("complaint_review.satisfaction_value", score=f"{k.satisfaction_avg:.1f}"),
            satisfaction_sub=self._t(
                "complaint_review.satisfaction_sub", count=k.satisfaction_count
            ),
            repeat=str(k.repeat_complainants),
            repeat_sub=self._t("complaint_review.repeat_sub"),
        )
        self.trend = [{"week": w.week.strftime("%m-%d"), **w.counts} for w in k.trend]

    @rx.event
    def set_window(self, days: str | list[str]):
        self.window = days if days in [str(d) for d in complaint_reports.WINDOWS] else "90"
        self._kpis()

    # --- the queue ------------------------------------------------------------------------

    def _filters(self) -> complaints.QueueFilter:
        assignee = None
        if self.f_assignee == "0":
            assignee = 0
        elif self.f_assignee.isdecimal():
            assignee = int(self.f_assignee)
        return complaints.QueueFilter(
            overdue=self.f_overdue,
            severity=self.f_severity if self.f_severity in SEVERITIES else "",
            category=self.f_category if self.f_category in CATEGORIES else "",
            assignee_id=assignee,
            older_than_days=int(self.f_age) if self.f_age in AGES else None,
            status=self.f_status if self.f_status in STATUSES else "open",
        )

    def _row(self, r: complaints.ComplaintRow) -> QueueRow:
        days = (clock.local_today() - clock.to_local(r.created_at).date()).days
        dues = [d for d in (r.response_by, r.resolution_by) if d is not None]
        due = min(dues) if dues and r.status not in NO_DEADLINE else None
        return QueueRow(
            id=str(r.id),
            number=r.number,
            customer=f"{r.customer_number} {r.customer_name}"
            if r.customer_id
            else self._t("complaint_review.anonymous"),
            category=self._t(f"complaint.category.{r.category}"),
            severity=r.severity,
            severity_label=self._t(f"complaint.severity.{r.severity}"),
            status=self._t(f"complaint.status.{r.status}"),
            channel=self._t(f"complaint.channel.{r.channel}"),
            assignee=r.assignee_name or self._t("complaint_review.unassigned"),
            assigned=bool(r.assignee_id),
            received=clock.format_local(r.created_at),
            age=self._t("complaint_review.age_cell", days=days)
            if days
            else self._t("complaint_review.today"),
            due=self._t("complaint_review.due", time=clock.format_local(due)) if due else "",
            overdue=bool(r.overdue),
        )

    def _fetch(self):
        found, error = self._call(
            complaints.queue, filters=self._filters(), page=self.page, page_size=PAGE_SIZE
        )
        self.loaded, self.selected = True, []
        if error:
            self.rows, self.total = [], 0
            return rx.toast.error(error)
        rows, self.total = found
        self.rows = [self._row(r) for r in rows]
        return None

    def _refilter(self):
        self.page = 1
        return self._fetch()

    @rx.event
    def set_overdue(self, value: bool):
        self.f_overdue = value is True
        return self._refilter()

    @rx.event
    def set_severity(self, value: str):
        self.f_severity = value if value in SEVERITIES else ANY
        return self._refilter()

    @rx.event
    def set_category(self, value: str):
        self.f_category = value if value in CATEGORIES else ANY
        return self._refilter()

    @rx.event
    def set_assignee(self, value: str):
        self.f_assignee = value if isinstance(value, str) and value.isdecimal() else ANY
        return self._refilter()

    @rx.event
    def set_age(self, value: str):
        self.f_age = value if value in AGES else ANY
        return self._refilter()

    @rx.event
    def set_status(self, value: str):
        self.f_status = value if value in STATUSES else "open"
        return self._refilter()

    @rx.event
    def clear_filters(self):
        self.f_overdue, self.f_status = False, "open"
        self.f_severity = self.f_category = self.f_assignee = self.f_age = ANY
        return self._refilter()

    # --- bulk assignment ------------------------------------------------------------------

    @rx.event
    def toggle(self, complaint_id: str, checked: bool):
        on_page = {r.id for r in self.rows}
        rest = [i for i in self.selected if i != complaint_id]
        self.selected = (
            [*rest, complaint_id] if checked is True and complaint_id in on_page else rest
        )

    @rx.event
    def toggle_page(self, checked: bool):
        self.selected = [r.id for r in self.rows] if checked is True else []

    @rx.event
    def set_assign_to(self, value: str):
        self.assign_to = value if isinstance(value, str) and value.isdecimal() else ""

    @rx.event
    def assign_selected(self):
        ids = [int(i) for i in self.selected if i.isdecimal()]
        if not ids:
            return rx.toast.error(self._t("complaint_review.pick_some"))
        if not self.assign_to.isdecimal():
            return rx.toast.error(self._t("complaint_review.pick_handler"))
        done, error = self._call(
            complaints.assign, complaint_ids=ids, assignee_id=int(self.assign_to)
        )
        if error:
            return rx.toast.error(self._field_errors.get("assignee", error))
        self._fetch()
        return rx.toast.success(self._t("complaint_review.assigned", count=done))
