"""The scheduler (issue 17): each step of custapp/jobs.py runs as a durable job (job_queue) in
the slots its SCHEDULE entry gives, exactly once per slot whichever runners and hosts tick.

- Tick: every runner calls `tick` every TICK_SECONDS. For each step it works out the newest slot
  that has begun and queues that slot's job with the key "<step>@<slot>#<try>" by
  `INSERT ... ON CONFLICT (slot_key) DO NOTHING` (SQLite and PostgreSQL alike): two runners
  ticking at once queue one job, the other insert does nothing. Ticks also take one lock
  (PostgreSQL advisory, SQLite's BEGIN IMMEDIATE) so their reads agree. A runner then claims
  the job under a lease (job_queue), so it runs once.
- A slot that begins while the step's previous run is still queued or running is merged into
  it (not queued); a daily step waits for the steps it comes `after` to settle the same night.
- Retries: a failed try is tried again BACKOFF[try-1] after it failed, up to MAX_TRIES tries in
  all; then the slot stays failed and the next slot runs as usual.
- 立即运行 (`run_now`): a job of the step with no slot, audited, refused while one is unfinished.

A step's error is a message key (job_queue.execute); the stack trace goes to the log only. The
page's reads and 立即运行 need `jobs.manage` (sysadmin).
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, func, select, text
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import Session

from custapp import clock
from custapp.jobs import SCHEDULE, STEP_FUNCTIONS, Schedule
from custapp.models import Job, User
from custapp.services import audit, job_queue
from custapp.services.actor import Actor
from custapp.services.errors import DomainError
from custapp.services.guard import requires
from custapp.services.paging import page_window
from custapp.vocab import JobStatus

log = logging.getLogger(__name__)

PERMISSION = "jobs.manage"
KIND_PREFIX = "step."
TICK_SECONDS = 15.0
MAX_TRIES = 4  # the slot's run and three retries
BACKOFF = (timedelta(minutes=1), timedelta(minutes=5), timedelta(minutes=15))
HISTORY_DAYS = 30  # finished runs older than this are deleted, once a night
RUNNING_KEY = "jobs.error.step_running"
UNKNOWN_KEY = "jobs.error.unknown_step"
_SCHEDULE_LOCK = (
    0x6A6F6273  # "jobs": PostgreSQL's lock of a tick and a 立即运行 (SQLite: BEGIN IMMEDIATE)
)
_SETTLED = (JobStatus.DONE, JobStatus.CANCELLED)


def step_kind(name: str) -> str:
    return f"{KIND_PREFIX}{name}"


def step_of(kind: str) -> str:
    return kind.removeprefix(KIND_PREFIX)


STEP_KINDS = tuple(step_kind(name) for name in SCHEDULE)
_NIGHT_FIRST = next(name for name, s in SCHEDULE.items() if s.daily_at is not None)


def slot_key(name: str, slot: datetime, tries: int) -> str:
    return f"{name}@{slot:%Y%m%dT%H%MZ}#{tries}"


# --- ticking ------------------------------------------------------------------------------------


def _insert_once(session: Session, *, name: str, slot: datetime, tries: int, now: datetime) -> bool:
    """Queue one try of a slot unless some runner has -> whether this call queued it."""
    insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    statement = (
        insert(Job.__table__)
        .values(
            kind=step_kind(name),
            params=json.dumps({"slot": slot.isoformat(), "try": tries}, sort_keys=True),
            status=JobStatus.QUEUED.value,
            progress_done=0,
            progress_total=0,
            attempts=0,
            created_at=now,
            result="{}",
            slot_key=slot_key(name, slot, tries),
        )
        .on_conflict_do_nothing(index_elements=["slot_key"])
        .returning(Job.__table__.c.id)  # a row back only when this insert queued it
    )
    return session.execute(statement).first() is not None


def _lock(session: Session) -> None:
    """Ticks and 立即运行 one at a time until commit, so "is a run of this step unfinished?" is
    answered alike by all: PostgreSQL under an advisory lock, SQLite by BEGIN IMMEDIATE."""
    if session.get_bind().dialect.name == "postgresql":
        session.exec(text("SELECT pg_advisory_xact_lock(:key)").bindparams(key=_SCHEDULE_LOCK))


def _unfinished(session: Session, kinds: list[str]) -> set[str]:
    """The kinds with a run queued or running (the claim index: status first)."""
    rows = session.exec(
        select(Job.kind)
        .where(Job.status.in_((JobStatus.QUEUED, JobStatus.RUNNING)), Job.kind.in_(kinds))
        .distinct()
    ).scalars()
    return set(rows)


def _tries(session: Session, name: str, slot: datetime) -> list[Job]:
    """This slot's tries so far, in order."""
    keys = [slot_key(name, slot, n) for n in range(1, MAX_TRIES + 1)]
    rows = session.exec(select(Job).where(Job.slot_key.in_(keys)).order_by(Job.id)).scalars()
    return list(rows)


def _settled(tries: list[Job]) -> bool:
    """Done, cancelled, or failed with no retry left."""
    if not tries:
        return False
    last = tries[-1]
    return last.status in _SETTLED or (last.status == JobStatus.FAILED and len(tries) >= MAX_TRIES)


def _due_try(session: Session, name: str, schedule: Schedule, now: datetime) -> int | None:
    """Which try of the newest slot is due now (1 for the slot's own run), or None."""
    slot = schedule.slot(now)
    tries = _tries(session, name, slot)
    if not tries:
        for before in schedule.after:
            earlier = SCHEDULE[before]
            same_night = clock.to_local(earlier.slot(now)).date() == clock.to_local(slot).date()
            if not (same_night and _settled(_tries(session, before, earlier.slot(now)))):
                return None
        return 1
    last = tries[-1]
    if last.status != JobStatus.FAILED or len(tries) >= MAX_TRIES:
        return None
    waited = now - (last.finished_at or last.created_at)
    return len(tries) + 1 if waited >= BACKOFF[len(tries) - 1] else None


def tick(session: Session, *, now: datetime | None = None) -> list[str]:
    """Queue every step's due slot (or retry) that no runner has queued yet, in the caller's
    transaction -> the slot keys this call queued. A system operation: no actor."""
    now = now or clock.now()
    _lock(session)
    busy = _unfinished(session, list(STEP_KINDS))
    queued: list[str] = []
    for name, schedule in SCHEDULE.items():
        if step_kind(name) in busy:
            continue
        tries = _due_try(session, name, schedule, now)
        slot = schedule.slot(now)
        if tries is not None and _insert_once(session, name=name, slot=slot, tries=tries, now=now):
            queued.append(slot_key(name, slot, tries))
    if any(key.startswith(f"{_NIGHT_FIRST}@") and key.endswith("#1") for key in queued):
        _prune(session, now)  # once a night, by the runner that queued the night's first step
    return queued


def _prune(session: Session, now: datetime) -> None:
    session.execute(
        delete(Job).where(
            Job.kind.in_(STEP_KINDS),
            Job.status.in_(job_queue.FINISHED),
            Job.created_at < now - timedelta(days=HISTORY_DAYS),
        )
    )


# --- running a step -----------------------------------------------------------------------------


def _plain(value: Any) -> Any:  # noqa: ANN401 (a step's summary, as JSON keeps it)
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if value is None or isinstance(value, bool | int | float | str):
        return value
    return str(value)


@contextmanager
def _lease_kept(ctx: job_queue.JobContext) -> Iterator[None]:
    """A step is one call of unknown length: its lease is renewed beside it, so a long night's
    step is not taken over (and run twice) by another runner while it still runs."""
    stop = threading.Event()
    every = job_queue.lease().total_seconds() / 3

    def renew() -> None:
        while not stop.wait(every):
            try:
                with ctx.session_factory() as session:
                    job_queue.hold(session, job_id=ctx.id, owner=ctx.claim.owner)
            except job_queue.LeaseLost:
                log.warning("scheduled job %s: lease lost while the step runs", ctx.id)
                return
            except Exception:  # a database hiccup: try again at the next beat
                log.exception("scheduled job %s: lease renewal failed", ctx.id)

    keeper = threading.Thread(target=renew, name=f"lease-{ctx.id}", daemon=True)
    keeper.start()
    try:
        yield
    finally:
        stop.set()
        keeper.join()


def run_step_job(ctx: job_queue.JobContext) -> dict[str, Any]:
    """The runner's handler of every step kind: the step's function, its summary as the result."""
    function: Callable[[], dict] = STEP_FUNCTIONS[step_of(ctx.claim.kind)]
    with _lease_kept(ctx):
        summary = function()
    return _plain(summary if isinstance(summary, dict) else {"result": summary})


# --- the 任务 page --------------------------------------------------------------------------------


@dataclass(frozen=True)
class RunView:
    """One run of a step: a slot's try, or a 立即运行."""

    id: int
    step: str
    status: str
    tries: int  # 1 for a slot's own run, 2.. for its retries; 0 for a 立即运行
    by: str  # who asked for it (立即运行); "" for the schedule
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    error: str | None
    summary: dict[str, Any]


@dataclass(frozen=True)
class StepView:
    """A step as the page shows it."""

    name: str
    schedule: Schedule
    last: RunView | None  # the newest finished run
    current: RunView | None  # queued or running now
    next_at: datetime
    failures: int  # finished runs that failed, newest first, before the last one that worked


def _run_view(row: Job, username: str | None) -> RunView:
    params = json.loads(row.params or "{}")
    result = json.loads(row.result or "{}")
    return RunView(
        id=row.id,
        step=step_of(row.kind),
        status=row.status,
        tries=int(params.get("try", 0)) if isinstance(params, dict) else 0,
        by=username or "",
        created_at=row.created_at,
        started_at=row.started_at,
        finished_at=row.finished_at,
        error=row.error,
        summary=result if isinstance(result, dict) and row.status == JobStatus.DONE else {},
    )


def _runs(session: Session, *where: Any, limit: int, offset: int = 0) -> list[RunView]:  # noqa: ANN401
    rows = session.exec(
        select(Job, User.username)
        .outerjoin(User, User.id == Job.created_by)
        .where(*where)
        .order_by(Job.id.desc())
        .offset(offset)
        .limit(limit)
    ).all()
    return [_run_view(row, username) for row, username in rows]


FAILURES_SHOWN = 20  # "failed 20+ times in a row" is all the page needs to say


@requires(PERMISSION, reads=True)
def step_overview(session: Session, *, actor: Actor) -> list[StepView]:
    """Every step in STEPS' order: its schedule, last run, the run in hand, next slot, and
    how many runs in a row failed."""
    now = clock.now()
    views = []
    for name in STEP_FUNCTIONS:
        kind = Job.kind == step_kind(name)
        current = _runs(session, kind, Job.status.not_in(job_queue.FINISHED), limit=1)
        finished = _runs(session, kind, Job.status.in_(job_queue.FINISHED), limit=FAILURES_SHOWN)
        failures = 0
        for run in finished:
            if run.status != JobStatus.FAILED:
                break
            failures += 1
        views.append(
            StepView(
                name=name,
                schedule=SCHEDULE[name],
                last=finished[0] if finished else None,
                current=current[0] if current else None,
                next_at=SCHEDULE[name].next_slot(now),
                failures=failures,
            )
        )
    return views


@requires(PERMISSION, reads=True)
def list_runs(
    session: Session, *, actor: Actor, step: str = "", page: int = 1, page_size: int = 20
) -> tuple[list[RunView], int]:
    """The runs of every step (or of one), newest first, one page; and how many there are."""
    if step and step not in SCHEDULE:
        raise DomainError(UNKNOWN_KEY)
    window = page_window(page, page_size)
    where = (Job.kind == step_kind(step),) if step else (Job.kind.in_(STEP_KINDS),)
    total = session.exec(select(func.count()).select_from(Job).where(*where)).scalar_one()
    return _runs(session, *where, limit=window.limit, offset=window.offset), total


@requires(PERMISSION, reads=True)
def get_run(session: Session, *, actor: Actor, job_id: int) -> job_queue.JobView | None:
    """One run of a step as a job (the page watches its 立即运行 with this); None for any
    other job."""
    row = session.get(Job, job_id)
    return job_queue.get(session, job_id) if row is not None and row.kind in STEP_KINDS else None


@requires(PERMISSION)
def run_now(session: Session, *, actor: Actor, step: str) -> int:
    """立即运行: queue a run of the step at once -> its job id. Refused while a run of it is
    queued or running (scheduled or not): the step never runs twice at the same time."""
    if step not in SCHEDULE:
        raise DomainError(UNKNOWN_KEY)
    _lock(session)
    if _unfinished(session, [step_kind(step)]):
        raise DomainError(RUNNING_KEY)
    job_id = job_queue.enqueue(
        session, kind=step_kind(step), params={"manual": True}, created_by=actor.user_id
    )
    audit.record(
        session, actor=actor, action="jobs.run_now", target_type="job_step", target_id=step
    )
    return job_id
