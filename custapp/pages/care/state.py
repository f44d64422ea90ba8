"""The 关怀日历 state: birthdays and membership anniversaries in the next days (paged, whether each
customer granted care greetings and whether a greeting is already queued), the configured
holidays, and one day's greetings queued as a job (issue 15): the handler returns at once, the
page shows the job's progress and, once done, the counts."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import reflex as rx

from custapp import clock, job_runner
from custapp.pages.care.rows import CalendarRow, HolidayRow
from custapp.services import care, care_dates
from custapp.services.job_queue import JobView
from custapp.states.job_watch import JobWatchMixin
from custapp.states.options import Option
from custapp.states.paging import PagedMixin
from custapp.states.session import SessionState
from custapp.vocab import JobStatus

PAGE_SIZE = 20
DAY_CHOICES = ("3", "7", "14", "31")


class CareState(JobWatchMixin, PagedMixin, SessionState):
    occasion: str = "birthday"
    days: str = "7"
    rows: list[CalendarRow] = []
    holidays: list[HolidayRow] = []
    summary: str = ""
    loaded: bool = False
    # 发送关怀问候
    queue_open: bool = False
    queue_day: str = ""
    queue_days: list[Option] = []
    errors: dict[str, str] = {}
    queue_error: str = ""

    def _page_size(self) -> int:
        return PAGE_SIZE

    @rx.event
    def load(self):
        _, redirect = self._enter("campaign.manage")
        if redirect:
            return redirect
        self.page, self.queue_open = 1, False
        fetched = self._fetch()
        running, _ = self._call(care.greeting_job)  # a greeting job still running: watch it
        if running is not None:
            self._job_ref = running.id
        events = [e for e in (fetched, *self._watch(running)) if e is not None]
        return events or None

    def _fetch(self):
        found, error = self._call(
            care.care_calendar,
            occasion=self.occasion,
            days=int(self.days),
            page=self.page,
            page_size=PAGE_SIZE,
        )
        self.loaded = True
        if error:
            self.rows, self.total = [], 0
            return rx.toast.error(error)
        self.total = found.total
        self.holidays = [HolidayRow(h.on.isoformat(), h.name) for h in found.holidays]
        self.summary = (
            self._t("care.summary", total=found.total, consenting=found.consenting)
            if self.occasion != "holiday"
            else ""
        )
        self.rows = [
            CalendarRow(
                on=r.on.isoformat(),
                number=r.number,
                name=r.name,
                years=self._t("care.years", years=r.years) if r.years else "",
                consented=r.consented,
                queued=r.queued,
                href=f"/customers/{r.customer_id}",
            )
            for r in found.rows
        ]
        return None

    @rx.event
    def set_occasion(self, occasion: str | list[str]):
        self.occasion = occasion if occasion in care.OCCASIONS else "birthday"
        self.page = 1
        return self._fetch()

    @rx.event
    def set_days(self, days: str):
        self.days = days if days in DAY_CHOICES else "7"
        self.page = 1
        return self._fetch()

    @rx.event
    def open_queue(self):
        today = clock.local_today()
        window = [today + timedelta(days=i) for i in range(int(self.days))]
        if self.occasion == "holiday":
            window = [h.on for h in care_dates.holidays(window)]
        self.queue_days = [Option(d.isoformat(), d.isoformat()) for d in window]
        self.queue_day = self.queue_days[0].value if self.queue_days else ""
        self.errors, self.queue_error = {}, ""
        self.queue_open = True

    @rx.event
    def close_queue(self):
        self.queue_open = False

    @rx.event
    def set_queue_day(self, day: str):
        self.queue_day = day

    @rx.event
    def submit_queue(self, form: dict):
        """The greetings as a job: checked and queued here, worked through by the runner."""
        job_id, error = self._call(
            care.start_greetings,
            occasion=self.occasion,
            on=self.queue_day,
            subject=str(form.get("subject", "")),
            body=str(form.get("body", "")),
        )
        self.errors = dict(self._field_errors)
        if error:
            self.queue_error = "" if self.errors else error
            return None
        self.queue_open = False
        self._job_ref = job_id
        self.job_active, self.job_status, self.job_done = True, JobStatus.QUEUED.value, 0
        self.job_text = self._t("care.job.queued")
        job_runner.wake()
        return CareState.watch_job

    # --- the greeting job (JobWatchMixin) ------------------------------------------------------

    def _read_job(self) -> JobView | None:
        # watching is not the user's activity: the idle clock is left alone
        view, _, _ = self._call_detached(care.greeting_job, _touch=False, job_id=self._job_ref)
        return view

    def _job_line(self, view: JobView) -> str:
        if view.status == JobStatus.RUNNING:
            return self._t("care.job.running", done=view.done, total=view.total)
        return self._t("care.job.queued")

    def _job_finished(self, view: JobView) -> list[Any]:
        events = []
        if view.status == JobStatus.DONE:
            events.append(rx.toast.success(self._t("care.queued", **view.result)))
        elif view.status == JobStatus.FAILED:
            reason = self._t(view.error or "job.error.failed")
            events.append(rx.toast.error(self._t("care.job.failed", error=reason)))
        fetched = self._fetch()  # the greeted badges
        return [e for e in (fetched, *events) if e is not None]
