"""The job runner (issue 15): claims durable jobs (services/job_queue.py) and runs each with the
handler of its kind, in a thread, never on the event loop.

It runs inside the app as a Reflex lifespan task (custapp/custapp.py; CUSTAPP_JOB_RUNNER=false
turns it off) and as `custapp jobs work` (`--once`: until the queue is empty, for tests and cron).
Several runners, in one process or on several hosts, share the queue safely: each claim is one
locked transaction, and a runner that dies leaves a lease that runs out, after which another
runner takes the job over from its last committed step.

The scheduled steps (custapp/jobs.py, issue 17) are jobs too: every runner ticks the schedule
every scheduler.TICK_SECONDS (CUSTAPP_SCHEDULER=false turns that off), which queues each due slot
once however many runners tick; `custapp jobs tick` does one tick and runs what is due (cron).
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import threading
import time
import uuid
from collections.abc import Callable

from custapp.db import RestoreInProgress, check_no_restore_in_progress, session_scope
from custapp.services import backup_jobs, care, destruction, job_queue, marketing, scheduler
from custapp.services.backup_leftovers import sweep_leftovers
from custapp.settings import get_settings
from custapp.vocab import JobKind

log = logging.getLogger(__name__)

HANDLERS: dict[str, job_queue.Handler] = {
    JobKind.CARE_GREETINGS: care.run_greetings_job,
    JobKind.MARKETING_CAMPAIGN: marketing.run_campaign_job,
    JobKind.BACKUP_CREATE: backup_jobs.run_backup_job,  # issue 16 (BP)
    JobKind.BACKUP_VERIFY: backup_jobs.run_verify_job,
    JobKind.DESTRUCTION_RUN: destruction.run_job,  # issue 16 (DS)
    # the scheduled steps (issue 17): one kind per step, "step.<name>"
    **dict.fromkeys(scheduler.STEP_KINDS, scheduler.run_step_job),
}
WAKE_CHECK_SECONDS = 0.2

_wake = threading.Event()


def wake() -> None:
    """A job was just queued in this process: the app's runner looks now, not at its next poll."""
    _wake.set()


def owner_name() -> str:
    """Who holds a lease: host, process and a random part (two runners in one process)."""
    return f"{socket.gethostname()[:60]}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


class Runner:
    """Claims and runs jobs one at a time; `stop` ends it between two steps of a job, which
    then goes back to the queue."""

    def __init__(
        self,
        *,
        owner: str | None = None,
        handlers: dict[str, job_queue.Handler] | None = None,
        stop: threading.Event | None = None,
        session_factory: Callable = session_scope,
    ) -> None:
        self.owner = owner or owner_name()
        self.handlers = HANDLERS if handlers is None else handlers
        self.stop = stop or threading.Event()
        self.session_factory = session_factory

    def run_one(self) -> bool:
        """Claim one job and run it to its end -> whether there was one."""
        kinds = list(self.handlers)
        with self.session_factory(write=False) as session:
            if not job_queue.claimable(session, kinds=kinds):
                return False
        with self.session_factory() as session:
            claimed = job_queue.claim_next(session, owner=self.owner, kinds=kinds)
        if claimed is None:
            return False
        context = job_queue.JobContext(
            claimed, session_factory=self.session_factory, stop=self.stop
        )
        status = job_queue.execute(context, self.handlers[claimed.kind])
        log.info("job %s (%s): %s", claimed.id, claimed.kind, status)
        return True

    def run_until_empty(self) -> int:
        """Run jobs until none is left to claim (or stop is set) -> how many were run."""
        count = 0
        while not self.stop.is_set() and self.run_one():
            count += 1
        return count


def start_up() -> None:
    """Before a runner takes jobs: refuse a half-restored instance (RestoreInProgress), then
    sweep what crashed backup runs left (issue 16)."""
    check_no_restore_in_progress()
    sweep_leftovers()


def tick(session_factory: Callable = session_scope) -> list[str]:
    """Queue the scheduled steps' due slots (services/scheduler.py) -> the slot keys queued
    here. A restore in progress stops it, as it stops the runner."""
    check_no_restore_in_progress()
    with session_factory() as session:
        queued = scheduler.tick(session)
    if queued:
        log.info("scheduler queued %s", ", ".join(queued))
    return queued


class Ticker:
    """Ticks at most every scheduler.TICK_SECONDS, whatever the caller's poll."""

    def __init__(self, enabled: bool, session_factory: Callable = session_scope) -> None:
        self.enabled, self.session_factory = enabled, session_factory
        self._last = float("-inf")

    def __call__(self) -> None:
        if not self.enabled or time.monotonic() - self._last < scheduler.TICK_SECONDS:
            return
        self._last = time.monotonic()
        try:
            tick(self.session_factory)
        except RestoreInProgress:
            raise
        except Exception:  # a database hiccup: the next tick tries again
            log.exception("scheduler: a tick failed")


def tick_and_run(runner: Runner | None = None) -> int:
    """`custapp jobs tick` (cron): tick, run what is queued, and again while a tick queues
    something (a night's steps wait for one another) -> how many jobs were run."""
    runner = runner or Runner()
    start_up()
    count = runner.run_until_empty()  # what a page queued meanwhile, and slots a tick missed
    while tick(runner.session_factory) and not runner.stop.is_set():
        count += runner.run_until_empty()
    return count


def work(*, once: bool = False, runner: Runner | None = None) -> int:
    """`custapp jobs work`: run jobs as they come, polling every CUSTAPP_JOB_POLL_SECONDS and
    ticking the schedule (unless CUSTAPP_SCHEDULER=false); with once, until the queue is
    empty, without ticking -> how many were run."""
    runner = runner or Runner()
    start_up()
    ticker = Ticker(get_settings().scheduler and not once, runner.session_factory)
    count = 0
    try:
        while True:
            ticker()
            count += runner.run_until_empty()
            if once or runner.stop.is_set():
                return count
            time.sleep(get_settings().job_poll_seconds)
    except KeyboardInterrupt:
        runner.stop.set()
        return count


async def _idle(seconds: float) -> None:
    """Sleep until the next poll, or until wake() says a job was queued here."""
    waited = 0.0
    while waited < seconds and not _wake.is_set():
        await asyncio.sleep(WAKE_CHECK_SECONDS)
        waited += WAKE_CHECK_SECONDS


async def run_in_app() -> None:
    """The Reflex lifespan task: the runner in a thread, polling while the app runs. On
    shutdown the job in hand stops at its next step and goes back to the queue."""
    settings = get_settings()
    if not settings.job_runner:
        return
    try:
        await asyncio.to_thread(start_up)
    except RestoreInProgress as exc:  # a half-restored instance runs no job
        log.error("job runner not started: %s", exc)
        return
    runner = Runner()
    ticker = Ticker(settings.scheduler)
    log.info("job runner %s started", runner.owner)
    try:
        while True:
            _wake.clear()
            try:
                await asyncio.to_thread(ticker)
                await asyncio.to_thread(runner.run_until_empty)
            except RestoreInProgress as exc:  # a restore began: this runner stops, as at start
                log.error("job runner stopped: %s", exc)
                return
            except Exception:  # a database hiccup must not end the runner for the app's life
                log.exception("job runner: a round failed")
            await _idle(settings.job_poll_seconds)
    finally:
        runner.stop.set()
