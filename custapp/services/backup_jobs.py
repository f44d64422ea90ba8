"""The backup jobs and the daily backup step (issue 16, BP): each calls the backup core
(services/backups.py) to write or check a file, and records the outcome as a BackupRun.

- `run_backup_job` / `run_verify_job` (JobKind.BACKUP_CREATE / BACKUP_VERIFY, registered in
  custapp/job_runner.py) act as the sysadmin who queued them (services/backup_runs.py), their
  progress committed into the job row as the core reports it; one transaction records the run,
  audits it (`backup.create` / `backup.verify`: file name, revision, counts and a problem's
  message key, never a value) and closes the job.
- `record_backup` / `record_verification`: the same record for `custapp backup create|verify`
  of a file in the backup folder (actor: the system actor "cli").
- `run_daily_backup` (custapp/jobs.py step `backup`): at most one backup per local day, verified,
  then the folder rotated (services/backup_files.prune_backups).
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlmodel import Session

from custapp import clock
from custapp.db import session_scope
from custapp.models import BackupRun
from custapp.services import audit, backups, job_queue
from custapp.services.actor import Actor, system_actor
from custapp.services.backup_files import backup_files, backup_path, prune_backups
from custapp.services.backup_runs import PERMISSION, json_object
from custapp.services.errors import DomainError
from custapp.vocab import BackupRunKind, BackupRunStatus

log = logging.getLogger(__name__)

CREATE_FAILED = "backups.problem.create_failed"  # an unexpected error: its trace is in the log
VERIFY_FAILED = "backups.problem.verify_error"
PROGRESS_SECONDS = 1.0  # a job's progress is committed at most this often
_PARAM_MAX = 40  # a problem's parameters kept: numbers and short names only


# --- recording a backup or a verification ------------------------------------------------------


def _summary(manifest: dict[str, Any] | None) -> dict[str, Any]:
    """What the page shows of a manifest (services/backups.py): time, backend, revision, total
    rows and tables, the audit head's seq, the plaintext size. Counts and names only."""
    manifest = manifest or {}
    counts = manifest.get("row_counts")
    counts = counts if isinstance(counts, dict) else {}
    head = manifest.get("audit_head")
    return {
        "created_at": manifest.get("created_at"),
        "backend": manifest.get("backend"),
        "revision": manifest.get("alembic_revision"),
        "rows": sum(v for v in counts.values() if isinstance(v, int)),
        "tables": len(counts),
        "audit_seq": head.get("seq") if isinstance(head, dict) else None,
        "size": manifest.get("size"),
    }


def _manifest_time(manifest: dict[str, Any] | None) -> datetime | None:
    value = (manifest or {}).get("created_at")
    if isinstance(value, datetime):
        return value
    try:
        return datetime.fromisoformat(value) if isinstance(value, str) else None
    except ValueError:
        return None


def _params(detail: dict[str, Any] | None) -> dict[str, Any]:
    """A problem's message parameters (a chunk number, a table name): numbers and short names."""
    return {
        str(k)[:_PARAM_MAX]: v
        for k, v in list((detail or {}).items())[:10]
        if (isinstance(v, int) and not isinstance(v, bool))
        or (isinstance(v, str) and len(v) <= _PARAM_MAX)
    }


def _record(
    session: Session,
    *,
    actor: Actor,
    kind: str,
    ok: bool,
    started: datetime,
    job_id: int | None,
    file_name: str | None = None,
    backup_at: datetime | None = None,
    size_bytes: int | None = None,
    manifest: dict[str, Any] | None = None,
    problem: str | None = None,
    detail: dict[str, Any] | None = None,
) -> BackupRun:
    summary = _summary(manifest) if manifest else {}
    params = _params(detail) if problem else {}
    if params:
        summary["problem_params"] = params
    run = BackupRun(
        kind=kind,
        status=BackupRunStatus.OK if ok else BackupRunStatus.FAILED,
        started_at=started,
        finished_at=clock.now(),
        file_name=file_name,
        backup_at=backup_at,
        size_bytes=size_bytes,
        manifest=json.dumps(summary, sort_keys=True, default=str),
        problem=problem[:100] if problem else None,
        actor_id=actor.user_id,
        job_id=job_id,
    )
    session.add(run)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action=f"backup.{'create' if kind == BackupRunKind.BACKUP else 'verify'}",
        outcome="ok" if ok else "failed",
        target_type="backup_run",
        target_id=run.id,
        detail={
            "file_name": file_name,
            "revision": summary.get("revision"),
            "rows": summary.get("rows"),
            "audit_seq": summary.get("audit_seq"),
            "size_bytes": size_bytes,
            "problem": problem,
        },
    )
    return run


def _size(path: Path) -> int | None:
    try:
        return path.stat().st_size
    except OSError:
        return None


def _backup_time(session: Session, path: Path) -> datetime:
    """When the backup at `path` was taken: its record's, else its name's or file's time."""
    found = session.exec(
        select(BackupRun.backup_at).where(
            BackupRun.kind == BackupRunKind.BACKUP,
            BackupRun.file_name == path.name,
            BackupRun.backup_at.is_not(None),
        )
    ).scalar()
    return found or backup_files(path.parent).get(path.name) or clock.now()


@dataclass
class _Outcome:
    """What the backup core gave: a backup written, or a verification's report."""

    ok: bool
    path: Path | None = None
    manifest: dict[str, Any] | None = None
    problem: str | None = None
    detail: dict[str, Any] | None = None


_INTERRUPTS = (job_queue.JobStopped, job_queue.LeaseLost)


def _create(progress: Callable[[int, int], None] | None) -> _Outcome:
    try:
        info = backups.create_backup(progress=progress)
    except _INTERRUPTS:
        raise
    except DomainError as exc:
        return _Outcome(False, problem=exc.key, detail=dict(exc.params))
    except Exception:
        log.exception("backup failed")
        return _Outcome(False, problem=CREATE_FAILED)
    return _Outcome(True, path=Path(info.path), manifest=dict(info.manifest or {}))


def _verify(path: Path, progress: Callable[[int, int], None] | None) -> _Outcome:
    try:
        report = backups.verify_backup(path, progress=progress)
    except _INTERRUPTS:
        raise
    except DomainError as exc:
        return _Outcome(False, path=path, problem=exc.key, detail=dict(exc.params))
    except Exception:
        log.exception("backup verification of %s failed", path.name)
        return _Outcome(False, path=path, problem=VERIFY_FAILED)
    return _Outcome(
        bool(report.ok),
        path=path,
        manifest=dict(report.manifest or {}),
        problem=None if report.ok else (report.problem or VERIFY_FAILED),
        detail=dict(report.detail or {}),
    )


def _record_created(
    session: Session, actor: Actor, outcome: _Outcome, started: datetime, job_id: int | None
) -> BackupRun:
    path = outcome.path
    return _record(
        session,
        actor=actor,
        kind=BackupRunKind.BACKUP,
        ok=outcome.ok,
        started=started,
        job_id=job_id,
        file_name=path.name if path else None,
        backup_at=_manifest_time(outcome.manifest) or (started if outcome.ok else None),
        size_bytes=_size(path) if path else None,
        manifest=outcome.manifest,
        problem=outcome.problem,
        detail=outcome.detail,
    )


def _record_verified(
    session: Session, actor: Actor, outcome: _Outcome, started: datetime, job_id: int | None
) -> BackupRun:
    path = outcome.path
    return _record(
        session,
        actor=actor,
        kind=BackupRunKind.VERIFY,
        ok=outcome.ok,
        started=started,
        job_id=job_id,
        file_name=path.name,
        backup_at=_manifest_time(outcome.manifest) or _backup_time(session, path),
        size_bytes=_size(path),
        manifest=outcome.manifest,
        problem=outcome.problem,
        detail=outcome.detail,
    )


def record_backup(
    session: Session,
    *,
    actor: Actor,
    started: datetime,
    path: Path | None,
    manifest: dict[str, Any] | None,
    problem: str | None = None,
    detail: dict[str, Any] | None = None,
) -> BackupRun:
    """A backup written (or failed, `problem` its message key) outside a job, e.g. by `custapp
    backup create`: recorded and audited as the job records its own, so the page lists it."""
    outcome = _Outcome(problem is None, path, manifest, problem, detail)
    return _record_created(session, actor, outcome, started, None)


def record_verification(
    session: Session, *, actor: Actor, started: datetime, path: Path, report: backups.VerifyReport
) -> BackupRun:
    """A verification made outside a job (`custapp backup verify`), recorded as the job's."""
    outcome = _Outcome(
        bool(report.ok),
        path=path,
        manifest=dict(report.manifest or {}),
        problem=None if report.ok else (report.problem or VERIFY_FAILED),
        detail=dict(report.detail or {}),
    )
    return _record_verified(session, actor, outcome, started, None)


# --- the jobs -----------------------------------------------------------------------------------


class _JobProgress:
    """The backup core's progress callback: commits the job's progress, which renews its lease,
    at most every PROGRESS_SECONDS (and at the end); stops the work when the runner stops."""

    def __init__(self, ctx: job_queue.JobContext) -> None:
        self.ctx = ctx
        self.last = 0.0

    def __call__(self, done: int, total: int) -> None:
        now = time.monotonic()
        if done < total and now - self.last < PROGRESS_SECONDS:
            return
        self.last = now
        with self.ctx.step():
            self.ctx.progress(max(0, done), max(0, total))


def _result(run: BackupRun) -> dict[str, Any]:
    return {
        "run_id": run.id,
        "file_name": run.file_name or "",
        "ok": run.status == BackupRunStatus.OK,
        "problem": run.problem or "",
        "params": json_object(run.manifest).get("problem_params") or {},
    }


def run_backup_job(ctx: job_queue.JobContext) -> None:
    """JobKind.BACKUP_CREATE: write a backup, its progress in the job; then one transaction
    records the run, audits it and closes the job. A failed backup fails the job with its
    problem's key, recorded all the same."""
    with ctx.step() as session:
        actor = job_queue.acting_for(session, ctx.created_by, PERMISSION)
    started = clock.now()
    outcome = _create(_JobProgress(ctx))
    if not outcome.ok:
        with session_scope() as session:
            _record_created(session, actor, outcome, started, ctx.id)
        raise DomainError(outcome.problem or CREATE_FAILED)
    with ctx.step() as session:
        run = _record_created(session, actor, outcome, started, ctx.id)
        ctx.finish(_result(run))


def run_verify_job(ctx: job_queue.JobContext) -> None:
    """JobKind.BACKUP_VERIFY: verify one backup of the folder; the job is done whether the
    backup passed or not (its result says which and why); the run records it."""
    with ctx.step() as session:
        actor = job_queue.acting_for(session, ctx.created_by, PERMISSION)
    path = backup_path(ctx.params.get("file_name"))
    started = clock.now()
    outcome = _verify(path, _JobProgress(ctx))
    with ctx.step() as session:
        run = _record_verified(session, actor, outcome, started, ctx.id)
        ctx.finish(_result(run))


# --- the daily step -----------------------------------------------------------------------------


def _today_backup(session: Session) -> BackupRun | None:
    """The newest successful backup taken today (local day), if any."""
    newest = session.exec(
        select(BackupRun)
        .where(BackupRun.kind == BackupRunKind.BACKUP, BackupRun.status == BackupRunStatus.OK)
        .order_by(BackupRun.backup_at.desc(), BackupRun.id.desc())
        .limit(1)
    ).scalar()
    if newest is None or newest.backup_at is None:
        return None
    return newest if clock.to_local(newest.backup_at).date() == clock.local_today() else None


def _verified(session: Session, file_name: str) -> bool:
    return (
        session.exec(
            select(BackupRun.id).where(
                BackupRun.kind == BackupRunKind.VERIFY, BackupRun.file_name == file_name
            )
        ).first()
        is not None
    )


def _verify_and_record(actor: Actor, file_name: str) -> BackupRun:
    started = clock.now()
    outcome = _verify(backup_path(file_name), None)
    with session_scope() as session:
        return _record_verified(session, actor, outcome, started, None)


def run_daily_backup() -> dict[str, Any]:
    """The daily step `backup`: at most one backup per local day, by the last successful one in
    backup_runs (made by this step or from the page). Writes it, verifies it, then rotates the
    folder (prune_backups). A backup already made today is verified if nobody has yet."""
    actor = system_actor("jobs")
    with session_scope(write=False) as session:
        today = _today_backup(session)
        done = today.file_name if today is not None else None
        checked = done is not None and _verified(session, done)
    if done is not None:
        summary: dict[str, Any] = {"backup": "done_today", "file_name": done}
        if not checked and done in backup_files():
            summary["verified"] = _verify_and_record(actor, done).status
        return summary
    started = clock.now()
    outcome = _create(None)
    with session_scope() as session:
        run = _record_created(session, actor, outcome, started, None)
    if not outcome.ok:
        raise DomainError(outcome.problem or CREATE_FAILED)
    checked = _verify_and_record(actor, run.file_name)
    return {
        "backup": run.status,
        "file_name": run.file_name,
        "verified": checked.status,
        "problem": checked.problem or "",
        "rotation": prune_backups(),
    }
