"""The 备份与恢复 page's services (issue 16, BP): the backups made and their verifications, the
backup folder's state, and queuing a backup or a verification as a durable job.

Only sysadmin (`backup.manage`) queues a backup or a verification, or reads any of this. The jobs
themselves, the record of each outcome and the daily step are services/backup_jobs.py; the
backup folder and its rotation (`prune_backups`, re-exported here) services/backup_files.py.
"""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select, text
from sqlmodel import Session

from custapp import clock
from custapp.models import BackupRun, Job, User
from custapp.services import job_queue
from custapp.services.actor import Actor
from custapp.services.backup_files import (
    backup_files,
    backup_path,
    folder,
    newest_verified,
    prune_backups,
)
from custapp.services.errors import DomainError
from custapp.services.guard import requires
from custapp.services.paging import page_window
from custapp.vocab import BackupRunKind, JobKind

__all__ = [
    "BackupJob",
    "BackupStatus",
    "LastVerified",
    "RunView",
    "backup_status",
    "current_job",
    "last_verified",
    "list_runs",
    "prune_backups",
    "queue_backup",
    "queue_verify",
]

PERMISSION = "backup.manage"
KINDS = (JobKind.BACKUP_CREATE, JobKind.BACKUP_VERIFY)
_QUEUE_LOCK = 0x62616B75  # "baku": PostgreSQL advisory lock of queuing (SQLite: BEGIN IMMEDIATE)


# --- what the page reads ------------------------------------------------------------------------


@dataclass(frozen=True)
class RunView:
    """A backup (or a verification) as the page lists it; `verify_*` is the backup's newest
    verification (status "" when it has none)."""

    id: int
    kind: str
    status: str
    file_name: str
    backup_at: datetime | None
    started_at: datetime
    finished_at: datetime | None
    size_bytes: int | None
    summary: dict[str, Any]
    problem: str | None
    problem_params: dict[str, Any]
    by: str  # the user who asked for it; "" for the daily step
    present: bool  # its file is still in the backup folder
    verify_status: str = ""
    verify_at: datetime | None = None
    verify_problem: str | None = None
    verify_params: dict[str, Any] | None = None


@dataclass(frozen=True)
class LastVerified:
    """The newest backup a verification passed for."""

    file_name: str
    backup_at: datetime
    verified_at: datetime
    age_days: int  # local days since the backup was taken


@dataclass(frozen=True)
class BackupStatus:
    folder: str
    free_bytes: int | None  # None: the folder does not exist yet
    count: int  # backups in the folder
    newest_file: str
    newest_at: datetime | None
    newest_age_days: int | None
    last_verified: LastVerified | None


@dataclass(frozen=True)
class BackupJob:
    """A backup or verification job and the file it verifies ("" for a backup)."""

    job: job_queue.JobView
    kind: str
    file_name: str


def _age_days(moment: datetime) -> int:
    return max(0, (clock.local_today() - clock.to_local(moment).date()).days)


def json_object(value: str) -> dict[str, Any]:
    """A JSON column holding an object (a run's summary, a job's params), as a dict."""
    try:
        found = json.loads(value or "{}")
    except ValueError:
        return {}
    return found if isinstance(found, dict) else {}


def _newest_verify(session: Session, names: list[str]) -> dict[str, BackupRun]:
    """Each of these backups' newest verification."""
    if not names:
        return {}
    newest = (
        select(func.max(BackupRun.id))
        .where(BackupRun.kind == BackupRunKind.VERIFY, BackupRun.file_name.in_(names))
        .group_by(BackupRun.file_name)
    )
    rows = session.exec(select(BackupRun).where(BackupRun.id.in_(newest))).scalars()
    return {row.file_name: row for row in rows}


@requires(PERMISSION, reads=True)
def list_runs(
    session: Session, *, actor: Actor, page: int = 1, page_size: int = 20
) -> tuple[list[RunView], int]:
    """The backups made (failed ones too, not those rotation removed), newest first, one page,
    each with its newest verification; and how many there are."""
    window = page_window(page, page_size)
    where = (BackupRun.kind == BackupRunKind.BACKUP, BackupRun.deleted_at.is_(None))
    total = session.exec(select(func.count()).select_from(BackupRun).where(*where)).scalar_one()
    rows = session.exec(
        select(BackupRun, User.username)
        .outerjoin(User, User.id == BackupRun.actor_id)
        .where(*where)
        .order_by(BackupRun.started_at.desc(), BackupRun.id.desc())
        .offset(window.offset)
        .limit(window.limit)
    ).all()
    present = set(backup_files())
    checks = _newest_verify(session, [r.file_name for r, _ in rows if r.file_name])
    views = []
    for run, username in rows:
        check = checks.get(run.file_name or "")
        summary = json_object(run.manifest)
        views.append(
            RunView(
                id=run.id,
                kind=run.kind,
                status=run.status,
                file_name=run.file_name or "",
                backup_at=run.backup_at,
                started_at=run.started_at,
                finished_at=run.finished_at,
                size_bytes=run.size_bytes,
                summary=summary,
                problem=run.problem,
                problem_params=summary.get("problem_params") or {},
                by=username or "",
                present=run.file_name in present,
                verify_status=check.status if check else "",
                verify_at=check.finished_at if check else None,
                verify_problem=check.problem if check else None,
                verify_params=(json_object(check.manifest).get("problem_params") or {})
                if check
                else None,
            )
        )
    return views, total


def _last_verified(session: Session) -> LastVerified | None:
    names = set(backup_files())
    row = newest_verified(session, names)
    if row is None:
        return None
    return LastVerified(row.file_name, row.backup_at, row.finished_at, _age_days(row.backup_at))


@requires(PERMISSION, reads=True)
def last_verified(session: Session, *, actor: Actor) -> LastVerified | None:
    """The newest backup still in the folder that a verification passed for, and its age in
    local days (None: no backup there has passed one)."""
    return _last_verified(session)


@requires(PERMISSION, reads=True)
def backup_status(session: Session, *, actor: Actor) -> BackupStatus:
    """The backup folder, its free space, how many backups it holds, the newest and its age,
    and the newest verified backup."""
    base = folder()
    files = backup_files(base)
    newest = max(files, key=lambda name: (files[name], name)) if files else ""
    try:
        free = shutil.disk_usage(base).free
    except OSError:  # not created yet: the first backup makes it
        free = None
    return BackupStatus(
        folder=str(base),
        free_bytes=free,
        count=len(files),
        newest_file=newest,
        newest_at=files.get(newest),
        newest_age_days=_age_days(files[newest]) if newest else None,
        last_verified=_last_verified(session),
    )


def _job(session: Session, row: Job) -> BackupJob:
    params = json_object(row.params)
    return BackupJob(job_queue.get(session, row.id), row.kind, str(params.get("file_name", "")))


@requires(PERMISSION, reads=True)
def current_job(session: Session, *, actor: Actor, job_id: int = 0) -> BackupJob | None:
    """A backup or verification job: the one asked for, else the newest one not finished."""
    query = select(Job).where(Job.kind.in_(KINDS))
    if job_id:
        query = query.where(Job.id == job_id)
    else:
        query = query.where(Job.status.not_in(job_queue.FINISHED))
    row = session.exec(query.order_by(Job.id.desc()).limit(1)).scalars().first()
    return _job(session, row) if row is not None else None


# --- queuing ------------------------------------------------------------------------------------


def _lock_queue(session: Session) -> None:
    """Two clicks at once queue one job: PostgreSQL serialises the check under an advisory lock;
    SQLite's write transactions are serialised by BEGIN IMMEDIATE already."""
    if session.get_bind().dialect.name == "postgresql":
        session.exec(text("SELECT pg_advisory_xact_lock(:key)").bindparams(key=_QUEUE_LOCK))


def _unfinished(session: Session, kind: str) -> list[Job]:
    return list(
        session.exec(
            select(Job).where(Job.kind == kind, Job.status.not_in(job_queue.FINISHED))
        ).scalars()
    )


@requires(PERMISSION)
def queue_backup(session: Session, *, actor: Actor) -> int:
    """立即备份: queue a backup job -> its id. Refused while another backup job is unfinished."""
    _lock_queue(session)
    if _unfinished(session, JobKind.BACKUP_CREATE):
        raise DomainError("backups.error.backup_running")
    return job_queue.enqueue(
        session, kind=JobKind.BACKUP_CREATE, params={}, created_by=actor.user_id
    )


@requires(PERMISSION)
def queue_verify(session: Session, *, actor: Actor, file_name: str) -> int:
    """校验: queue the verification of a backup in the backup folder -> the job's id. Any other
    name (a path, "..") is refused, as is a second verification of a file while one is
    unfinished."""
    path = backup_path(file_name)
    _lock_queue(session)
    running = [
        json_object(job.params).get("file_name")
        for job in _unfinished(session, JobKind.BACKUP_VERIFY)
    ]
    if path.name in running:
        raise DomainError("backups.error.verify_running")
    return job_queue.enqueue(
        session,
        kind=JobKind.BACKUP_VERIFY,
        params={"file_name": path.name},
        created_by=actor.user_id,
    )
