"""The backup folder (issue 16, BP): which files in it are backups, when each was taken, the one a
name given by a browser may point at, and the rotation that keeps a grandfather-father-son set.

Only regular files directly in CUSTAPP_BACKUP_DIR named like a backup (`custapp-<backend>-<UTC
yyyymmddTHHMMSSZ>.cab`, or any `<name>.cab` of safe characters) are backups. Nothing here ever
touches another file, a symbolic link, or anything outside that folder.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from sqlalchemy import func, select, update
from sqlmodel import Session

from custapp import clock
from custapp.db import session_scope
from custapp.models import BackupRun
from custapp.security import keystore
from custapp.services import audit
from custapp.services.actor import system_actor
from custapp.services.errors import DomainError
from custapp.settings import get_settings, parse_backup_keep
from custapp.vocab import BackupRunKind, BackupRunStatus

log = logging.getLogger(__name__)

SUFFIX = ".cab"
# a bare file name: no folder, no leading dot, no "..", safe characters only
NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,190}\.cab")
AUDIT_NAMES = 20  # deleted file names named in the audit entry (in name order: oldest first)
_STAMP = re.compile(r"-(\d{8}T\d{6}Z)(?:-\d+)?\.cab$")


def folder() -> Path:
    """The backup folder (CUSTAPP_BACKUP_DIR), as an absolute path."""
    return Path(get_settings().backup_dir).resolve()


def is_backup_name(name: str) -> bool:
    return bool(NAME.fullmatch(name or "")) and ".." not in name


def in_folder(path: Path) -> bool:
    """Whether `path` names a backup directly in the backup folder (the page lists and verifies
    only those: a copy elsewhere with the same name is another file)."""
    path = Path(path)
    return is_backup_name(path.name) and path.resolve().parent == folder()


def backup_path(file_name: object) -> Path:
    """The backup a browser names by `file_name`: a backup file directly in the backup folder.
    DomainError for any other name (a path, "..", a link, another kind of file) or a file that
    is not there."""
    name = file_name if isinstance(file_name, str) else ""
    if not is_backup_name(name):
        raise DomainError("backups.error.bad_file_name")
    base = folder()
    path = base / name
    if path.is_symlink() or not path.is_file() or path.resolve().parent != base:
        raise DomainError("backups.error.no_such_file")
    return path


def file_time(path: Path) -> datetime:
    """When a backup was taken: the UTC stamp of its name, else its file's modification time."""
    found = _STAMP.search(path.name)
    if found:
        return datetime.strptime(found.group(1), "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
    return datetime.fromtimestamp(path.stat().st_mtime, UTC)


def backup_files(base: Path | None = None) -> dict[str, datetime]:
    """The backups in the folder: file name -> the time it was taken."""
    base = base or folder()
    if not base.is_dir():
        return {}
    found = {}
    for path in base.iterdir():
        if is_backup_name(path.name) and path.is_file() and not path.is_symlink():
            try:
                found[path.name] = file_time(path)
            except (OSError, ValueError):  # gone meanwhile, or a stamp that is no time
                continue
    return found


# --- rotation ----------------------------------------------------------------------------------


def _month_back(day: date, months: int) -> tuple[int, int]:
    index = day.year * 12 + day.month - 1 - months
    return index // 12, index % 12 + 1


def keep_set(times: dict[str, datetime], keep: dict[str, int], today: date) -> set[str]:
    """The names of the grandfather-father-son set: the newest backup of each of the last
    keep["days"] local days (today first), of each of the last keep["weeks"] ISO weeks (this
    one first), and of each of the last keep["months"] calendar months (this one first).
    A backup dated after today (a clock set back) is kept too."""
    local = {name: clock.to_local(taken) for name, taken in times.items()}
    kept = {name for name, taken in local.items() if taken.date() > today}
    days = {today - timedelta(days=i) for i in range(keep.get("days", 0))}
    weeks = {(today - timedelta(weeks=i)).isocalendar()[:2] for i in range(keep.get("weeks", 0))}
    months = {_month_back(today, i) for i in range(keep.get("months", 0))}
    for bucket, wanted in (
        (lambda d: d, days),
        (lambda d: d.isocalendar()[:2], weeks),
        (lambda d: (d.year, d.month), months),
    ):
        newest: dict[object, tuple[datetime, str]] = {}
        for name, taken in local.items():
            key = bucket(taken.date())
            if key in wanted and (key not in newest or (taken, name) > newest[key]):
                newest[key] = (taken, name)
        kept |= {name for _, name in newest.values()}
    return kept


@dataclass(frozen=True)
class Pruned:
    kept: int
    deleted: list[str]
    keystore_copies_deleted: int

    def as_dict(self) -> dict:
        return {
            "kept": self.kept,
            "deleted": len(self.deleted),
            "keystore_copies_deleted": self.keystore_copies_deleted,
        }


def newest_verified(session: Session, names: set[str]) -> BackupRun | None:
    """Of these backups, the newest one (by the time it was taken) whose newest verification
    passed: a backup damaged since it passed once no longer counts. Its verification row."""
    if not names:
        return None
    latest = (
        select(func.max(BackupRun.id))
        .where(BackupRun.kind == BackupRunKind.VERIFY, BackupRun.file_name.in_(sorted(names)))
        .group_by(BackupRun.file_name)
    )
    return session.exec(
        select(BackupRun)
        .where(
            BackupRun.id.in_(latest),
            BackupRun.status == BackupRunStatus.OK,
            BackupRun.backup_at.is_not(None),
        )
        .order_by(BackupRun.backup_at.desc(), BackupRun.id.desc())
        .limit(1)
    ).scalar()


def prune_backups(keep: str | None = None, now: datetime | None = None) -> dict:
    """Rotation: keep the grandfather-father-son set of CUSTAPP_BACKUP_KEEP (`keep` overrides it),
    the newest backup whatever its age, and the newest one a verification passed for; delete
    every other backup in the backup folder, then the key-store copies older than
    CUSTAPP_KEYSTORE_COPY_DAYS (<backup folder>/keystore). Audited `backup.prune` (file names
    and counts only) -> {"kept", "deleted", "keystore_copies_deleted"}."""
    settings = get_settings()
    wanted = parse_backup_keep(keep if keep is not None else settings.backup_keep)
    now = now or clock.now()
    base = folder()
    times = backup_files(base)
    kept = keep_set(times, wanted, clock.to_local(now).date())
    if times:
        kept.add(max(times, key=lambda name: (times[name], name)))
    with session_scope(write=False) as session:
        verified = newest_verified(session, set(times))
        if verified is not None:
            kept.add(verified.file_name)
    deleted = []
    for name in sorted(set(times) - kept):
        path = base / name
        try:
            if path.is_file() and not path.is_symlink():
                path.unlink()
                deleted.append(name)
        except FileNotFoundError:
            continue
    copies = keystore.prune_copies(base / "keystore", settings.keystore_copy_days, now=now)
    result = Pruned(len(kept), deleted, copies)
    with session_scope() as session:
        if deleted:
            session.execute(
                update(BackupRun)
                .where(BackupRun.file_name.in_(deleted), BackupRun.deleted_at.is_(None))
                .values(deleted_at=now)
            )
        if deleted or copies:
            audit.record(
                session,
                actor=system_actor("jobs"),
                action="backup.prune",
                target_type="backup",
                # the audit detail is short: the first names; each run's row says it went
                detail={
                    **result.as_dict(),
                    "files": deleted[:AUDIT_NAMES],
                    "keep": wanted,
                },
            )
    log.info("backup rotation: %s", result.as_dict())
    return result.as_dict()
