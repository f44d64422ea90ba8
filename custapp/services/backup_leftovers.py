"""Leftovers of crashed backup runs (issue 16, BK): PostgreSQL scratch databases of
verifications, and the sweep that removes what a killed backup, verification or restore left:
plaintext work folders (`<instance_dir>/backup-work/run-*`), opened key-store snapshots
(`<instance_dir>/keystore-work/`, and /tmp or `<backup_dir>/keystore/custapp-ks-*` of older
versions), unfinished `<name>.cab.part` files and `<db>_verify_*` databases.

Whatever is in use is held: a folder by a lock on its `.lock`, a `.part` by a lock on itself,
a scratch database by an advisory lock named after it. The sweep removes only what nobody
holds and is older than SWEEP_GRACE_SECONDS, or anything older than the lease (a lock on a
host that died), so a run on another worker keeps its files. It runs before each backup and
verification and when a job runner starts.
"""

from __future__ import annotations

import fcntl
import logging
import os
import shutil
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

from sqlalchemy import Connection, create_engine, text
from sqlalchemy.pool import NullPool

from custapp.services.backup_backends import (
    LOCK_NAME,
    RUN_PREFIX,
    WORK_DIR,
    lock_scratch,
    scratch_prefix,
)
from custapp.settings import get_settings

log = logging.getLogger(__name__)

PART_SUFFIX = ".part"
SWEEP_LEASE_SECONDS = 6 * 3600
SWEEP_GRACE_SECONDS = 60


def _scratch_stale(conn: Connection, name: str, prefix: str, now: float) -> bool:
    stamp = name[len(prefix) :].split("_")[0]
    try:
        age = now - int(stamp, 16) if len(stamp) == 8 else None
    except ValueError:
        age = None
    if age is None:  # an older name without its time: stale when nobody is connected to it
        users = conn.execute(
            text("SELECT count(*) FROM pg_stat_activity WHERE datname = :n"), {"n": name}
        ).scalar_one()
        return not users
    if age > SWEEP_LEASE_SECONDS:
        return True
    if age <= SWEEP_GRACE_SECONDS or not lock_scratch(conn, name, wait=False):
        return False
    conn.execute(text("SELECT pg_advisory_unlock(hashtext(:n))"), {"n": name})
    return True


def sweep_pg_scratch(url: str) -> list[str]:
    """Drop the scratch databases of this database's verifications that crashed -> names."""
    prefix = scratch_prefix(url)
    admin = create_engine(url, poolclass=NullPool, isolation_level="AUTOCOMMIT")
    dropped = []
    try:
        with admin.connect() as conn:
            names = conn.exec_driver_sql("SELECT datname FROM pg_database").scalars().all()
            now = time.time()
            for name in sorted(n for n in names if n.startswith(prefix)):
                if _scratch_stale(conn, name, prefix, now):
                    conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
                    dropped.append(name)
    finally:
        admin.dispose()
    return dropped


# --- leftovers of crashed runs ----------------------------------------------------------------


def part_of(path: Path) -> Path:
    """`<name>.cab.part`: a backup file while it is written."""
    return path.with_name(path.name + PART_SUFFIX)


def _held(lock: Path) -> bool:
    """Whether a live process holds the lock on this file (a missing file is held by nobody)."""
    try:
        fd = os.open(lock, os.O_RDONLY)
    except OSError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    finally:
        os.close(fd)
    return False


def _stale(path: Path, lock: Path | None, now: float) -> bool:
    age = now - path.lstat().st_mtime
    if age > SWEEP_LEASE_SECONDS:
        return True
    return age > SWEEP_GRACE_SECONDS and (lock is None or not _held(lock))


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        path.unlink(missing_ok=True)


def _leftover_files(now: float) -> Iterator[Path]:
    from custapp.security import keystore

    settings = get_settings()
    work = settings.instance_dir / WORK_DIR
    for folder in work.glob(f"{RUN_PREFIX}*") if work.is_dir() else ():
        if _stale(folder, folder / LOCK_NAME, now):
            yield folder
    ks_work = settings.instance_dir / keystore.WORK_DIR
    for folder in ks_work.glob(f"{keystore.WORK_PREFIX}*") if ks_work.is_dir() else ():
        if now - folder.lstat().st_mtime > SWEEP_LEASE_SECONDS:
            yield folder
    tmp = Path(tempfile.gettempdir())  # copies an older version opened there
    for folder in tmp.glob(f"{keystore.WORK_PREFIX}*"):
        if folder.lstat().st_uid == os.getuid() and _stale(folder, None, now):
            yield folder
    backups = settings.backup_dir
    if not backups.is_dir():
        return
    for folder in (backups / "keystore").glob("custapp-ks-*"):  # an older version's snapshots
        if folder.is_dir() and _stale(folder, None, now):
            yield folder
    for part in backups.glob(f"*.cab{PART_SUFFIX}"):
        if _stale(part, part, now):
            yield part
    for part in backups.glob(f".custapp-*.cab{PART_SUFFIX}"):
        if _stale(part, None, now):
            yield part
    for empty in backups.glob("custapp-*.cab"):  # an older version's claim of a name
        if empty.is_file() and not empty.stat().st_size and _stale(empty, None, now):
            yield empty


def sweep_leftovers() -> int:
    """Remove what crashed backups, verifications and restores left: plaintext work folders,
    key-store snapshots, unfinished `.cab.part` files, scratch databases. Only what nobody
    holds (or past the lease): a run on another worker keeps its files. Never raises (a sweep
    that fails is logged; the next one tries again) -> how many were removed."""
    removed = 0
    try:
        for found in list(_leftover_files(time.time())):
            _remove(found)
            removed += 1
    except OSError:
        log.warning("sweeping backup leftovers failed", exc_info=True)
    url = get_settings().database_url
    if url.startswith("postgresql"):
        try:
            removed += len(sweep_pg_scratch(url))
        except Exception:  # noqa: BLE001 - a server away now: the next sweep tries again
            log.warning("sweeping scratch databases failed", exc_info=True)
    if removed:
        log.info("swept %s leftovers of crashed backup runs", removed)
    return removed
