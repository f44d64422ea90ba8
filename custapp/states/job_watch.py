"""A page that starts a durable job (issue 15) and shows its progress while it runs.

The handler that starts the job returns at once with `_job_ref` set (what the page's `_read_job`
looks the job up by) and chains `watch_job`: a background event that reads the job row every
POLL_SECONDS off the event loop (the handler pool), and shows its progress until it finishes, then hands the finished job
to the page's `_job_finished` (the result's toast, the page refreshed). The job itself runs in a
runner (custapp/job_runner.py), not in this tab: closing the tab or losing this worker loses
only the watching; the page's load finds an unfinished job again and watches it.
"""

from __future__ import annotations

import asyncio
from typing import Any

import reflex as rx

from custapp.services.job_queue import JobView
from custapp.states.off_loop import run_off_loop

POLL_SECONDS = 1.0


class JobWatchMixin(rx.State, mixin=True):
    """Mixed into a page state (a SessionState) that defines `_read_job`, `_job_line` and
    `_job_finished`."""

    job_active: bool = False  # queued or running: the progress shows
    job_status: str = ""
    job_done: int = 0
    job_total: int = 0
    job_text: str = ""
    _job_ref: int = 0
    _watching: bool = False

    def _read_job(self) -> JobView | None:
        """The job of `_job_ref` as the logged-in user may see it (None: gone, or not theirs)."""
        raise NotImplementedError

    def _job_line(self, view: JobView) -> str:
        """The progress line of a job not finished yet."""
        raise NotImplementedError

    def _job_finished(self, view: JobView) -> list[Any]:
        """What the page does when its job finished: its events for the browser."""
        raise NotImplementedError

    def _show_job(self, view: JobView | None) -> bool:
        """The job's progress in the vars -> whether the watching ends (finished or gone)."""
        if view is None:
            self.job_active, self.job_status, self._job_ref = False, "", 0
            return True
        self.job_status, self.job_done, self.job_total = view.status, view.done, view.total
        self.job_active = not view.finished
        self.job_text = "" if view.finished else self._job_line(view)
        if view.finished:
            self._job_ref = 0
        return view.finished

    def _watch(self, view: JobView | None) -> list[Any]:
        """After a page's load found an unfinished job: show it and start watching."""
        if view is None or view.finished:
            return []
        self._show_job(view)
        return [type(self).watch_job]

    @rx.event(background=True)
    async def watch_job(self):
        async with self:
            if self._watching or not self._job_ref:
                return
            self._watching = True
        try:
            while True:
                async with self:
                    view = await run_off_loop(self._read_job)
                    finished = self._show_job(view)
                    events = []
                    if finished and view is not None:
                        events = await run_off_loop(self._job_finished, view)
                for event in events:
                    yield event
                if finished:
                    return
                await asyncio.sleep(POLL_SECONDS)
        finally:
            async with self:
                self._watching = False
