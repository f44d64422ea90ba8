"""The 任务 state: every scheduled step (its schedule in words, last run, the run in hand, next
run, failures in a row), one page of the runs, and 立即运行 as a job the page watches until it
finishes.

Every handler acts as the logged-in user and the service checks jobs.manage whatever the browser
sends; 立即运行 names a step by its code name, which the service checks is one. Nothing here holds
a personal value: step names, times, counts and message keys.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import reflex as rx

from custapp import clock, job_runner
from custapp.jobs import Schedule
from custapp.pages.jobs.rows import RunRow, StepRow
from custapp.services import scheduler
from custapp.services.job_queue import JobView
from custapp.states.job_watch import JobWatchMixin
from custapp.states.paging import PagedMixin
from custapp.states.session import SessionState
from custapp.vocab import JobStatus

PAGE_SIZE = 20
STEP_MAX = 40
AFTER_NAMED = 2  # a step waiting for more than this many reads "after the night's other steps"


def duration_text(start: datetime | None, end: datetime | None) -> str:
    """How long a run took: "<0.1s", "0.4s", "12s", "3m 5s" ("" unless it finished)."""
    if start is None or end is None:
        return ""
    seconds = max(0.0, (end - start).total_seconds())
    if seconds < 0.1:
        return "<0.1s"
    if seconds < 10:
        return f"{seconds:.1f}s"
    if seconds < 60:
        return f"{int(seconds)}s"
    return f"{int(seconds // 60)}m {int(seconds % 60)}s"


class JobsState(JobWatchMixin, PagedMixin, SessionState):
    loaded: bool = False
    steps: list[StepRow] = []
    rows: list[RunRow] = []  # the runs (PagedMixin: page, total)
    job_step: str = ""  # the step whose 立即运行 the page watches
    _unfinished_manual: tuple[int, str] | None = None  # (job id, step) found by the last fetch

    def _page_size(self) -> int:
        return PAGE_SIZE

    def _clear(self) -> None:
        self.steps, self.rows, self.total, self.page, self.loaded = [], [], 0, 1, False
        self.job_step = ""

    @rx.event
    def load(self):
        _, redirect = self._enter("jobs.manage")
        if redirect:
            return redirect
        self._clear()
        fetched = self._fetch()
        events = [e for e in (fetched, *self._watch(self._manual_run())) if e is not None]
        return events or None

    def _manual_run(self) -> JobView | None:
        """A 立即运行 still unfinished (from another tab, or before a reload): watched again."""
        if not self._unfinished_manual:
            return None
        self._job_ref, self.job_step = self._unfinished_manual
        return self._read_job()

    @rx.event
    def refresh(self):
        return self._fetch()

    # --- what the page shows ---------------------------------------------------------------------

    def _name(self, step: str) -> str:
        return self._t(f"jobs.step.{step}")

    def _schedule_text(self, schedule: Schedule) -> str:
        if schedule.daily_at is None:
            if schedule.every_minutes == 1:
                return self._t("jobs.schedule.every_minute")
            return self._t("jobs.schedule.every_minutes", minutes=schedule.every_minutes)
        text = self._t("jobs.schedule.daily", time=schedule.daily_at.strftime("%H:%M"))
        if len(schedule.after) > AFTER_NAMED:  # the backup: after the whole night
            text += self._t("jobs.schedule.after_night")
        elif schedule.after:
            names = "、".join(self._name(step) for step in schedule.after)
            text += self._t("jobs.schedule.after", steps=names)
        return text

    def _counts(self, summary: dict[str, Any]) -> str:
        parts = []
        for key, value in summary.items():
            if isinstance(value, bool) or not isinstance(value, int):
                continue
            label = self._t(f"jobs.count.{key}")
            parts.append(f"{key if label == f'jobs.count.{key}' else label} {value}")
        return " · ".join(parts)

    def _outcome(self, run: scheduler.RunView) -> tuple[str, str]:
        """(the run's outcome text, its detail: the counts or why it failed)."""
        if run.status == JobStatus.FAILED:
            return self._t("jobs.outcome.failed"), self._t(run.error or "job.error.failed")
        if run.status == JobStatus.DONE:
            return self._t("jobs.outcome.done"), self._counts(run.summary)
        return self._t(f"jobs.outcome.{run.status}"), ""

    def _step_row(self, view: scheduler.StepView) -> StepRow:
        last, current = view.last, view.current
        last_text, summary = self._outcome(last) if last else ("", "")
        state = current.status if current else ""
        return StepRow(
            step=view.name,
            name=self._name(view.name),
            schedule=self._schedule_text(view.schedule),
            last_start=clock.format_local(last.started_at or last.created_at) if last else "",
            last_duration=duration_text(last.started_at, last.finished_at) if last else "",
            last_outcome=last.status if last else "",
            last_text=last_text or self._t("jobs.never_run"),
            last_summary=summary,
            next_at=clock.format_local(view.next_at),
            failures=view.failures,
            failures_text=self._t("jobs.failures", count=view.failures) if view.failures else "",
            state=state,
            state_text=self._t(f"jobs.state.{state}") if state else "",
            can_run=current is None,
        )

    def _trigger(self, run: scheduler.RunView) -> str:
        if run.tries == 0:
            return self._t("jobs.trigger.manual", user=run.by or "—")
        if run.tries == 1:
            return self._t("jobs.trigger.schedule")
        return self._t("jobs.trigger.retry", count=run.tries - 1)

    def _run_row(self, run: scheduler.RunView) -> RunRow:
        outcome_text, detail = self._outcome(run)
        return RunRow(
            id=run.id,
            name=self._name(run.step),
            trigger=self._trigger(run),
            start=clock.format_local(run.started_at or run.created_at),
            duration=duration_text(run.started_at, run.finished_at),
            outcome=run.status,
            outcome_text=outcome_text,
            detail=detail,
        )

    def _fetch(self):
        views, error = self._call(scheduler.step_overview)
        self.loaded = True
        if error:
            self.steps, self.rows, self.total = [], [], 0
            return rx.toast.error(error)
        self.steps = [self._step_row(v) for v in views]
        self._unfinished_manual = next(
            ((v.current.id, v.name) for v in views if v.current and v.current.tries == 0), None
        )
        found, error = self._call(scheduler.list_runs, page=self.page, page_size=PAGE_SIZE)
        if error:
            self.rows, self.total = [], 0
            return rx.toast.error(error)
        runs, self.total = found
        self.rows = [self._run_row(r) for r in runs]
        return None

    # --- 立即运行 ----------------------------------------------------------------------------------

    @rx.event
    def run_now(self, step: str):
        """立即运行 of one step, named by its code name (the service checks it is one)."""
        name = str(step)[:STEP_MAX]
        job_id, error = self._call(scheduler.run_now, step=name)
        if error:
            return rx.toast.error(error)
        self._job_ref, self.job_step = job_id, name
        self.job_active, self.job_status, self.job_done, self.job_total = (
            True,
            JobStatus.QUEUED.value,
            0,
            0,
        )
        self.job_text = self._t("jobs.job.queued", step=self._name(name))
        job_runner.wake()
        fetched = self._fetch()
        return [e for e in (fetched, JobsState.watch_job) if e is not None]

    # --- the job (JobWatchMixin) -----------------------------------------------------------------

    def _read_job(self) -> JobView | None:
        # watching is not the user's activity: the idle clock is left alone
        found, _, _ = self._call_detached(scheduler.get_run, _touch=False, job_id=self._job_ref)
        return found

    def _job_line(self, view: JobView) -> str:
        key = "jobs.job.running" if view.status == JobStatus.RUNNING else "jobs.job.queued"
        return self._t(key, step=self._name(self.job_step))

    def _job_finished(self, view: JobView) -> list[Any]:
        name = self._name(self.job_step)
        if view.status == JobStatus.DONE:
            event = rx.toast.success(self._t("jobs.job.done", step=name))
        else:
            reason = self._t(view.error or "job.error.failed")
            event = rx.toast.error(self._t("jobs.job.failed", step=name, error=reason))
        self.job_step = ""
        fetched = self._fetch()
        return [e for e in (fetched, event) if e is not None]
