"""The durable job queue (issue 15): long work queued in the database, claimed by a runner under a
lease, run in chunks that each commit their work together with the job's progress and checkpoint.

- Enqueue: the caller's own service checks the permission and the input, then `enqueue`s in the
  same transaction; `params` holds ids and settings, never a plaintext personal value.
- Claim: one short write transaction takes the oldest queued job, or a running one whose lease
  ran out (its runner died), as the outbox takes messages: PostgreSQL `FOR UPDATE SKIP LOCKED`
  so concurrent runners take different jobs, SQLite's `BEGIN IMMEDIATE` serialising them.
- Run: a handler works in `JobContext.step()`s. Each step locks the job row, checks that this
  runner still holds it (else `LeaseLost`: another runner took it over, or it was cancelled, and
  the step's work rolls back), renews the lease and commits the work, the progress and
  `ctx.state` (the checkpoint) at once. A handler resumes from `ctx.state`, so a second runner
  continues where the first stopped and nothing is done twice.
- A job claimed MAX_ATTEMPTS times without finishing is failed, not run again (a job that kills
  its runner must not kill every runner in turn).

Statuses: vocab.JobStatus. `error` is a message key; the stack trace goes to the log only.
"""

from __future__ import annotations

import copy
import json
import logging
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, func, or_, select
from sqlmodel import Session

from custapp import clock
from custapp.db import session_scope
from custapp.models import Job, User, UserRole
from custapp.services.actor import Actor
from custapp.services.errors import DomainError
from custapp.services.paging import page_window
from custapp.settings import get_settings
from custapp.vocab import JobStatus

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 5
FINISHED = (JobStatus.DONE, JobStatus.FAILED, JobStatus.CANCELLED)
FAILED_KEY = "job.error.failed"  # an unexpected exception: its trace is in the log
ABANDONED_KEY = "job.error.abandoned"  # claimed MAX_ATTEMPTS times, never finished


class LeaseLost(Exception):  # noqa: N818 (a signal, not an error to report)
    """This runner no longer holds the job: the step's work rolled back; stop without writing."""


class JobStopped(Exception):  # noqa: N818
    """The runner is shutting down between two steps: the job goes back to the queue."""


@dataclass(frozen=True)
class JobView:
    """A job as a page or a caller sees it (no params: they are the handler's business)."""

    id: int
    kind: str
    status: str
    done: int
    total: int
    error: str | None
    result: dict[str, Any]
    created_by: int | None
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None

    @property
    def finished(self) -> bool:
        return self.status in FINISHED


def _view(row: Job) -> JobView:
    return JobView(
        id=row.id,
        kind=row.kind,
        status=row.status,
        done=row.progress_done,
        total=row.progress_total,
        error=row.error,
        result=json.loads(row.result or "{}"),
        created_by=row.created_by,
        created_at=row.created_at,
        started_at=row.started_at,
        finished_at=row.finished_at,
    )


def lease() -> timedelta:
    return timedelta(seconds=get_settings().job_lease_seconds)


# --- queuing and reading ----------------------------------------------------------------------


def enqueue(
    session: Session,
    *,
    kind: str,
    params: dict[str, Any],
    created_by: int | None,
    total: int = 0,
) -> int:
    """Queue a job in the caller's transaction (it starts once that commits) -> its id."""
    row = Job(
        kind=kind,
        params=json.dumps(params, sort_keys=True),
        status=JobStatus.QUEUED,
        progress_total=max(0, total),
        created_by=created_by,
        created_at=clock.now(),
    )
    session.add(row)
    session.flush()
    return row.id


def get(session: Session, job_id: int) -> JobView | None:
    row = session.get(Job, job_id)
    return _view(row) if row is not None else None


def latest(
    session: Session, *, kind: str, unfinished: bool = False, created_by: int | None = None
) -> JobView | None:
    """The newest job of a kind (only one not finished yet, with unfinished=True)."""
    query = select(Job).where(Job.kind == kind)
    if unfinished:
        query = query.where(Job.status.not_in(FINISHED))
    if created_by is not None:
        query = query.where(Job.created_by == created_by)
    row = session.exec(query.order_by(Job.id.desc()).limit(1)).scalars().first()
    return _view(row) if row is not None else None


def list_jobs(
    session: Session, *, kind: str | None = None, page: int = 1, page_size: int = 20
) -> tuple[list[JobView], int]:
    """One page of the jobs (of one kind), newest first, and how many there are."""
    window = page_window(page, page_size)
    where = [Job.kind == kind] if kind else []
    total = session.exec(select(func.count()).select_from(Job).where(*where)).scalar_one()
    rows = session.exec(
        select(Job).where(*where).order_by(Job.id.desc()).offset(window.offset).limit(window.limit)
    ).scalars()
    return [_view(row) for row in rows], total


def cancel(session: Session, job_id: int) -> bool:
    """Stop a job that has not finished: a queued one never starts, a running one stops at its
    next step (that step's work rolls back). -> whether it was cancelled."""
    row = session.exec(select(Job).where(Job.id == job_id).with_for_update()).scalars().first()
    if row is None or row.status in FINISHED:
        return False
    row.status, row.finished_at = JobStatus.CANCELLED, clock.now()
    row.lease_owner = row.lease_until = None
    return True


def acting_for(session: Session, user_id: int | None, permission: str) -> Actor:
    """The staff user who queued a job, as the actor of its work (audit entries name them),
    provided they still may: a user disabled or stripped of the permission since stops it."""
    user = session.get(User, user_id) if user_id is not None else None
    if user is None or not user.is_active:
        raise DomainError("error.permission_denied")
    roles = session.exec(select(UserRole.role).where(UserRole.user_id == user.id)).scalars()
    actor = Actor(
        user_id=user.id,
        name=user.username,
        kind=user.kind,
        roles=frozenset(roles),
        display_name=user.display_name,
        locale=user.locale,
    )
    if not actor.can(permission):
        raise DomainError("error.permission_denied")
    return actor


# --- claiming ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Claim:
    """A job this runner holds until `lease` from its last step."""

    id: int
    kind: str
    owner: str
    params: dict[str, Any]
    state: dict[str, Any]  # the checkpoint of an earlier runner ({} at the start)
    done: int
    total: int
    created_by: int | None


def _claimable(now: datetime):  # noqa: ANN202 (a SQL condition)
    return or_(
        Job.status == JobStatus.QUEUED,
        and_(Job.status == JobStatus.RUNNING, Job.lease_until < now),
    )


def claimable(session: Session, *, kinds: list[str]) -> bool:
    """Is there a job to claim? A read, so an idle runner's poll takes no write lock."""
    found = session.exec(
        select(Job.id).where(Job.kind.in_(kinds), _claimable(clock.now())).limit(1)
    ).first()
    return found is not None


def _take(row: Job, owner: str, until: timedelta, now: datetime) -> Claim | None:
    if row.status == JobStatus.RUNNING and row.attempts >= MAX_ATTEMPTS:
        row.status, row.error, row.finished_at = JobStatus.FAILED, ABANDONED_KEY, now
        row.lease_owner = row.lease_until = None
        return None
    row.status, row.lease_owner, row.lease_until = JobStatus.RUNNING, owner, now + until
    row.attempts += 1
    row.started_at = row.started_at or now
    return Claim(
        id=row.id,
        kind=row.kind,
        owner=owner,
        params=json.loads(row.params or "{}"),
        state=json.loads(row.result or "{}"),
        done=row.progress_done,
        total=row.progress_total,
        created_by=row.created_by,
    )


def claim_next(
    session: Session, *, owner: str, kinds: list[str], until: timedelta | None = None
) -> Claim | None:
    """Take the oldest job of these kinds that is queued or whose lease ran out."""
    now = clock.now()
    while True:
        row = (
            session.exec(
                select(Job)
                .where(Job.kind.in_(kinds), _claimable(now))
                .order_by(Job.id)
                .limit(1)
                # PostgreSQL: concurrent runners take different jobs. SQLite ignores it: its
                # writers are serialised by BEGIN IMMEDIATE already.
                .with_for_update(skip_locked=True)
            )
            .scalars()
            .first()
        )
        if row is None:
            return None
        claim = _take(row, owner, until or lease(), now)
        if claim is not None:
            return claim


def claim(
    session: Session, *, job_id: int, owner: str, until: timedelta | None = None
) -> Claim | None:
    """Take one given job, if it is claimable (a caller that runs its own job at once)."""
    now = clock.now()
    row = (
        session.exec(
            select(Job).where(Job.id == job_id, _claimable(now)).with_for_update(skip_locked=True)
        )
        .scalars()
        .first()
    )
    return _take(row, owner, until or lease(), now) if row is not None else None


def hold(session: Session, *, job_id: int, owner: str, until: timedelta | None = None) -> Job:
    """Lock the job row for this transaction and renew the lease; LeaseLost unless this runner
    still holds a running job."""
    row = session.exec(select(Job).where(Job.id == job_id).with_for_update()).scalars().first()
    if row is None or row.status != JobStatus.RUNNING or row.lease_owner != owner:
        raise LeaseLost(job_id)
    row.lease_until = clock.now() + (until or lease())
    return row


def heartbeat(
    session: Session,
    *,
    job_id: int,
    owner: str,
    done: int,
    total: int,
    state: dict[str, Any] | None = None,
) -> None:
    """Progress (and the checkpoint) in the caller's transaction, renewing the lease."""
    row = hold(session, job_id=job_id, owner=owner)
    row.progress_done, row.progress_total = done, max(total, done)
    if state is not None:
        row.result = json.dumps(state, sort_keys=True)


def _close(row: Job, status: str, *, result: dict | None = None, error: str | None = None) -> None:
    row.status, row.error, row.finished_at = status, error, clock.now()
    row.lease_owner = row.lease_until = None
    if result is not None:
        row.result = json.dumps(result, sort_keys=True)


def complete(session: Session, *, job_id: int, owner: str, result: dict[str, Any]) -> None:
    """Done: its progress full, its summary in `result`."""
    row = hold(session, job_id=job_id, owner=owner)
    row.progress_done = row.progress_total = max(row.progress_done, row.progress_total)
    _close(row, JobStatus.DONE, result=result)


def fail(session: Session, *, job_id: int, owner: str, error: str) -> None:
    """Failed with a message key; the work committed so far stays."""
    _close(hold(session, job_id=job_id, owner=owner), JobStatus.FAILED, error=error[:100])


def release(session: Session, *, job_id: int, owner: str) -> None:
    """Back to the queue (the runner stops): the next runner continues at once."""
    row = hold(session, job_id=job_id, owner=owner)
    row.status, row.lease_owner, row.lease_until = JobStatus.QUEUED, None, None


# --- running ----------------------------------------------------------------------------------


@dataclass
class JobContext:
    """What a handler gets: the job's params, its checkpoint `state` (a dict the handler keeps
    up to date in each step) and `step()`, one transaction of work."""

    claim: Claim
    session_factory: Callable = session_scope
    stop: threading.Event | None = None
    state: dict[str, Any] = field(init=False)
    done: int = field(init=False)
    total: int = field(init=False)
    result: dict[str, Any] | None = field(init=False, default=None)

    def __post_init__(self) -> None:
        self.state = copy.deepcopy(self.claim.state)
        self.done, self.total = self.claim.done, self.claim.total
        self._finishing: dict[str, Any] | None = None

    @property
    def id(self) -> int:
        return self.claim.id

    @property
    def params(self) -> dict[str, Any]:
        return self.claim.params

    @property
    def created_by(self) -> int | None:
        return self.claim.created_by

    def progress(self, done: int, total: int | None = None) -> None:
        """The progress this step commits."""
        self.done = done
        self.total = max(self.total if total is None else total, done)

    def finish(self, result: dict[str, Any]) -> None:
        """The job is done when this step commits, with `result` as its summary."""
        self._finishing = result

    @contextmanager
    def step(self) -> Iterator[Session]:
        """One chunk of work in one transaction, committed with the progress and the checkpoint
        (or with the finish). Stops first when the runner is shutting down."""
        if self.stop is not None and self.stop.is_set():
            raise JobStopped(self.id)
        saved = (copy.deepcopy(self.state), self.done, self.total)
        self._finishing = None
        try:
            with self.session_factory() as session:
                row = hold(session, job_id=self.id, owner=self.claim.owner)
                yield session
                row.progress_done, row.progress_total = self.done, max(self.total, self.done)
                if self._finishing is not None:
                    row.progress_done = row.progress_total
                    _close(row, JobStatus.DONE, result=self._finishing)
                else:
                    row.result = json.dumps(self.state, sort_keys=True)
        except BaseException:
            self.state, self.done, self.total = saved
            self._finishing = None
            raise
        if self._finishing is not None:
            self.result = self._finishing


Handler = Callable[[JobContext], dict[str, Any] | None]


def _record(ctx: JobContext, write: Callable[[Session], None]) -> None:
    try:
        with ctx.session_factory() as session:
            write(session)
    except LeaseLost:
        log.info("job %s: taken over by another runner", ctx.id)


def execute(ctx: JobContext, handler: Handler, *, reraise: bool = False) -> str:
    """Run a claimed job's handler to its end -> the job's status afterwards ("lost" when
    another runner holds it now). A handler that returns without finishing in a step is
    completed with what it returned (else its state)."""
    owner = ctx.claim.owner
    try:
        returned = handler(ctx)
    except JobStopped:
        _record(ctx, lambda s: release(s, job_id=ctx.id, owner=owner))
        return JobStatus.QUEUED
    except LeaseLost:
        log.info("job %s: lease lost, stopping", ctx.id)
        return "lost"
    except DomainError as exc:
        key = exc.key
        _record(ctx, lambda s: fail(s, job_id=ctx.id, owner=owner, error=key))
        if reraise:
            raise
        return JobStatus.FAILED
    except Exception:
        log.exception("job %s (%s) failed", ctx.id, ctx.claim.kind)
        _record(ctx, lambda s: fail(s, job_id=ctx.id, owner=owner, error=FAILED_KEY))
        if reraise:
            raise
        return JobStatus.FAILED
    if ctx.result is None:
        ctx.result = returned if returned is not None else dict(ctx.state)
        _record(ctx, lambda s: complete(s, job_id=ctx.id, owner=owner, result=ctx.result))
    return JobStatus.DONE


def run_now(
    job_id: int, handler: Handler, *, owner: str, session_factory: Callable = session_scope
) -> JobView | None:
    """Claim one job and run it here and now (a command that waits for its own work); its
    errors are raised again once recorded. None when another runner holds it already."""
    with session_factory() as session:
        claimed = claim(session, job_id=job_id, owner=owner)
    if claimed is None:
        return None
    execute(JobContext(claimed, session_factory=session_factory), handler, reraise=True)
    with session_factory() as session:
        return get(session, job_id)
