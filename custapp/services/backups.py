"""Backups of the app database (issue 16, BK): create, read the manifest, list; verify and
restore live in services/backup_verify.py and services/backup_restore.py (re-exported here).

A backup is one encrypted file `custapp-<backend>-<UTC yyyymmddTHHMMSSZ>.cab` (0600) in the
backup folder (CUSTAPP_BACKUP_DIR), written while the counters keep working: SQLite through its
online backup API (one read snapshot; writers go on), PostgreSQL through `pg_dump` (plain SQL)
of an exported snapshot, with every customer's name sealed under the customer's own data key
(services/backup_seal.py: a destroyed customer's name is gone from every backup with the key),
streamed through the authenticated encryption of services/backup_format.py under the backup
key (never in the database, never in a backup). Its manifest (sealed in the
file) says when, which backend and schema revision, the rows per table, the audit chain head,
the destruction register head and the plaintext's SHA-256, all from the same snapshot.

With every backup go a key-store copy (`<folder>/keystore/`, security/keystore.write_copy) and a
copy of the destruction register (`<folder>/register/`): a database backup holds no data key.
These functions are the operator's (command line) and the backup job's (services/backup_runs,
which checks `backup.manage`); they take no actor.
"""

from __future__ import annotations

import fcntl
import os
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import BinaryIO

from sqlalchemy import Connection, text

from custapp import clock
from custapp.security import keystore
from custapp.services import backup_format, backup_seal, destruction_register
from custapp.services.backup_backends import (
    BackupError,
    Progress,
    backend_of,
    backup_key,
    facts,
    format_error,
    key_fingerprints,
    pg_dump,
    plain_engine,
    scratch_dir,
    sqlite_copy,
    sqlite_file,
)
from custapp.services.backup_leftovers import part_of, sweep_leftovers
from custapp.services.backup_restore import RestoreReport, restore_backup
from custapp.services.backup_verify import VerifyReport, verify_backup
from custapp.settings import get_settings, private_dir

__all__ = [
    "BackupError",
    "BackupInfo",
    "BackupListing",
    "RestoreReport",
    "VerifyReport",
    "backup_key",
    "create_backup",
    "list_backups",
    "read_manifest",
    "restore_backup",
    "verify_backup",
]

PREFIX = "custapp-"
SUFFIX = ".cab"
STAMP = "%Y%m%dT%H%M%SZ"
MANIFEST_FORMAT = 1


@dataclass(frozen=True)
class BackupInfo:
    path: Path
    manifest: dict


def _stamp(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime(STAMP)


def _claim_name(folder: Path, backend: str, moment: datetime) -> tuple[Path, int]:
    """A new name `custapp-<backend>-<stamp>.cab` (`-2`, `-3`... after the stamp when taken)
    -> the name and the open descriptor of its `.part` file (0600, created exclusively and
    locked while it is written: the sweep leaves it alone). Only the finished file gets the
    name: a crashed backup leaves a `.part`, never a `.cab` that lists as the newest."""
    base = f"{PREFIX}{backend}-{_stamp(moment)}"
    for number in range(1, 1000):
        path = folder / (f"{base}{SUFFIX}" if number == 1 else f"{base}-{number}{SUFFIX}")
        if path.exists():
            continue
        try:
            fd = os.open(part_of(path), os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            continue
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        return path, fd
    raise BackupError("backup.error.name_taken")


def _without_keys(found: dict) -> dict:
    """The facts of a database that holds no key store: a `keys` table in the app database (a
    key store pointed at it) would put every data key into the backup."""
    if keystore.KEYS_TABLE in found["row_counts"]:
        raise BackupError("backup.error.app_db_has_keys")
    return found


def _sqlite_dump(out: BinaryIO, key: bytes, header: dict, progress: Progress | None) -> tuple:
    source = sqlite_file(get_settings().database_url)
    with scratch_dir() as folder:
        copy = folder / "copy.db"
        # progress in bytes: the copy is the first half, the encryption the second
        sqlite_copy(source, copy, (lambda d, t: progress(d, 2 * t)) if progress else None)
        engine = plain_engine(f"sqlite:///{copy}")
        try:
            with engine.connect() as conn:
                found = _without_keys(facts(conn))
        finally:
            engine.dispose()
        backup_seal.seal_sqlite(copy, keystore.get_many)
        size = copy.stat().st_size
        with copy.open("rb") as src:
            digest = backup_format.encrypt_stream(
                src, out, key, header=header, total=size, compress=True,
                progress=(lambda d, _t: progress(size + d, 2 * size)) if progress else None,
            )  # fmt: skip
    return found, digest


def _keys_of(conn: Connection) -> backup_seal.CustomerKeys:
    """Customer ids -> their data key ids, read in the backup's own snapshot."""

    def customer_keys(ids: list[int]) -> dict[int, int]:
        query = text("SELECT id, data_key_id FROM customers WHERE id = ANY(:ids)")
        return dict(conn.execute(query, {"ids": ids}).all())

    return customer_keys


def _pg_dump(out: BinaryIO, key: bytes, header: dict, progress: Progress | None) -> tuple:
    url = get_settings().database_url
    engine = plain_engine(url)
    try:
        with engine.connect() as conn:
            conn = conn.execution_options(isolation_level="REPEATABLE READ")
            with conn.begin():
                conn.exec_driver_sql("SET TRANSACTION READ ONLY")
                # counts and dump read one snapshot: the counters go on meanwhile
                snapshot = conn.execute(text("SELECT pg_export_snapshot()")).scalar_one()
                found = _without_keys(facts(conn))
                tables = len(found["row_counts"])
                with pg_dump(conn, url, snapshot) as (stream, drain):
                    sealing = backup_seal.SealingReader(stream, keystore.get_many, _keys_of(conn))
                    digest = backup_format.encrypt_stream(
                        sealing, out, key, header=header, compress=True,
                        progress=(lambda _d, _t: progress(min(drain.count, tables), tables))
                        if progress else None,
                    )  # fmt: skip
                if progress:
                    progress(tables, tables)
    finally:
        engine.dispose()
    return found, digest


def _side_copies(folder: Path, key: bytes, backup_at: datetime) -> dict:
    """The key-store copy and the register copy that go with a backup, taken after its
    snapshot (so they hold every key and destruction the backup may need)."""
    copy_at = max(clock.now(), backup_at)
    copy = keystore.write_copy(folder / "keystore", backup_key=key, now=copy_at)
    register = destruction_register.copy_to(folder / "register")
    count, mac = destruction_register.head(register)
    return {
        "keystore_copy": f"keystore/{copy.name}",
        "register_copy": f"register/{register.name}",
        "register_head": {"count": count, "mac": mac},
    }


def create_backup(
    *, dest_dir: Path | None = None, progress: Progress | None = None, now: datetime | None = None
) -> BackupInfo:
    """Back up the app database into `dest_dir` (default CUSTAPP_BACKUP_DIR) -> the file and its
    manifest. The file appears complete or not at all (written as `<name>.cab.part`, then
    renamed). Raises BackupError (i18n key) when the database cannot be read, holds the key
    store (a `keys` table: the backup would carry the data keys) or a tool is missing."""
    settings = get_settings()
    sweep_leftovers()
    backend = backend_of(settings.database_url)
    key = backup_key()
    folder = private_dir(Path(dest_dir) if dest_dir else settings.backup_dir)
    created = (now or clock.now()).astimezone(UTC).replace(microsecond=0)
    path, fd = _claim_name(folder, backend, created)
    part = part_of(path)
    header = {"created_at": created.isoformat(), "backend": backend, "sealed": 1}
    try:
        with os.fdopen(fd, "wb") as out:
            dump = _sqlite_dump if backend == "sqlite" else _pg_dump
            found, digest = dump(out, key, header, progress)
            manifest = {
                "format": MANIFEST_FORMAT,
                "created_at": created.isoformat(),
                "backend": backend,
                **found,
                "keys": key_fingerprints(),
                **_side_copies(folder, key, created),
            }
            manifest = backup_format.append_manifest(out, digest, manifest)
            out.flush()
            os.fsync(out.fileno())
            os.link(part, path)  # never over another file of that name (no-clobber)
        part.unlink()
    except BaseException:
        part.unlink(missing_ok=True)
        raise
    return BackupInfo(path=path, manifest=manifest)


def read_manifest(path: Path) -> dict:
    """The manifest sealed in a backup file (needs the backup key). BackupError on a wrong key,
    a damaged file or no backup at all."""
    try:
        with Path(path).open("rb") as src:
            return backup_format.read_manifest(src, backup_key())
    except backup_format.BackupFormatError as exc:
        raise format_error(exc) from None


@dataclass(frozen=True)
class BackupListing:
    path: Path
    size: int
    manifest: dict | None
    problem: str | None  # i18n key when the manifest cannot be read
    params: dict


def list_backups(folder: Path | None = None) -> list[BackupListing]:
    """The backup files in the folder (default CUSTAPP_BACKUP_DIR), newest name first."""
    folder = Path(folder) if folder else get_settings().backup_dir
    if not folder.is_dir():
        return []
    found = []
    for path in sorted(folder.glob(f"{PREFIX}*{SUFFIX}"), reverse=True):
        if not path.is_file() or path.is_symlink():
            continue
        try:
            found.append(BackupListing(path, path.stat().st_size, read_manifest(path), None, {}))
        except BackupError as exc:
            found.append(BackupListing(path, path.stat().st_size, None, exc.key, exc.params))
    return found
