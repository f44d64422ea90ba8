"""The key store: the wrapped data keys, outside the app database (issue 16).

The app database keeps `data_keys` as the id allocator and tombstone; the wrapped keys live
here, in a SQLite file of their own (`CUSTAPP_KEYSTORE_URL`, default
`<instance_dir>/keystore/keystore.db`, 0600 in a 0700 folder) or a separate PostgreSQL
database. A backup of the app database therefore holds no key, and destroying a customer's key
here (crypto-shredding) leaves every copy of their encrypted values unreadable once the
key-store copies older than `CUSTAPP_KEYSTORE_COPY_DAYS` are gone.

Every write commits at once: a key must be durable before the app transaction that uses it
commits. A write is an upsert, so an id that SQLite hands out again after a rolled-back app
transaction replaces the orphan key left by the first attempt.

Module-level functions, thread-safe, one engine per URL.
"""

from __future__ import annotations

import json
import os
import sqlite3
import struct
import tempfile
import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import Connection, Engine, bindparam, create_engine, event, text
from sqlalchemy.engine import make_url

from custapp.settings import get_settings, private_dir, private_file

COPY_PREFIX = "keystore-"
COPY_SUFFIX = ".cks"
_COPY_STAMP = "%Y%m%dT%H%M%SZ"
_COPY_MAGIC = b"CUSTAPP-KEYSTORE-COPY-1\n"
_COPY_PURPOSE = "keystore-copy"
# an opened copy's snapshot goes to a private folder in the instance, never to /tmp; folders
# a crash left there are swept (services/backup_backends.sweep_leftovers)
WORK_DIR = "keystore-work"
WORK_PREFIX = "custapp-ks-copy-"
_CHUNK = 1000  # ids per IN (...) and rows per insert batch
KEYS_TABLE = "keys"

_SCHEMA = (
    "CREATE TABLE IF NOT EXISTS keys (id INTEGER PRIMARY KEY, master_version INT NOT NULL, "
    "wrapped TEXT NOT NULL, created_at TEXT NOT NULL)",
    "CREATE INDEX IF NOT EXISTS keys_master_version ON keys (master_version)",
)
_UPSERT = text(
    "INSERT INTO keys (id, master_version, wrapped, created_at) "
    "VALUES (:id, :version, :wrapped, :created_at) "
    "ON CONFLICT (id) DO UPDATE SET master_version = excluded.master_version, "
    "wrapped = excluded.wrapped, created_at = excluded.created_at"
)
_SELECT_MANY = text("SELECT id, master_version, wrapped FROM keys WHERE id IN :ids").bindparams(
    bindparam("ids", expanding=True)
)
_DELETE_MANY = text("DELETE FROM keys WHERE id IN :ids").bindparams(
    bindparam("ids", expanding=True)
)


class KeyStoreNotEmpty(RuntimeError):
    """load_snapshot refuses a key store that already holds keys."""


class KeyStoreCopyError(ValueError):
    """A key-store copy or snapshot that cannot be opened: wrong backup key, damaged, or no
    copy at all. `key` is the i18n message key (backup_format's, when it told which)."""

    def __init__(self, message: str, *, key: str = "backup.error.not_a_backup") -> None:
        super().__init__(message)
        self.key = key


@dataclass(frozen=True)
class KeyStoreCopy:
    created_at: datetime  # UTC, when the copy was taken
    snapshot_path: Path  # a SQLite file (0600) in a private temporary folder; caller removes it
    register_bytes: bytes | None  # the destruction register at copy time, if there was one


# --- engines --------------------------------------------------------------------------------

_engines: dict[str, Engine] = {}
_lock = threading.Lock()


def url() -> str:
    return get_settings().keystore_url


def _is_sqlite(store_url: str) -> bool:
    return store_url.startswith("sqlite")


def _sqlite_file(store_url: str) -> Path | None:
    database = make_url(store_url).database
    if not database or database == ":memory:" or database.startswith("file:"):
        return None
    return Path(database)


def _new_engine(store_url: str) -> Engine:
    if not _is_sqlite(store_url):
        engine = create_engine(store_url, pool_pre_ping=True, pool_size=5, max_overflow=10)
    else:
        path = _sqlite_file(store_url)
        if path is not None:
            # 0700 folder, 0600 file before SQLite opens it (its -wal/-shm take the file's mode)
            private_dir(path.parent)
            private_file(path, create=True)
        engine = create_engine(store_url, connect_args={"check_same_thread": False, "timeout": 10})

        @event.listens_for(engine, "connect")
        def _on_connect(dbapi_connection, _record):  # noqa: ANN001
            dbapi_connection.isolation_level = None  # BEGIN issued below
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA secure_delete=ON")  # a deleted key's bytes are overwritten
            cursor.execute("PRAGMA busy_timeout=10000")
            cursor.execute("PRAGMA synchronous=FULL")  # durable at commit, before the app's
            cursor.close()

        @event.listens_for(engine, "begin")
        def _on_begin(conn):  # noqa: ANN001
            # Writers take the lock up front; readers (a page's keys) take none under WAL.
            write = conn.get_execution_options().get("keystore_write", True)
            conn.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")

    with engine.begin() as conn:
        for statement in _SCHEMA:
            conn.exec_driver_sql(statement)
    if path := (_sqlite_file(store_url) if _is_sqlite(store_url) else None):
        for suffix in ("-wal", "-shm"):
            private_file(path.with_name(path.name + suffix))
    return engine


def engine() -> Engine:
    store_url = url()
    found = _engines.get(store_url)
    if found is not None:
        return found
    with _lock:
        found = _engines.get(store_url)
        if found is None:
            found = _engines[store_url] = _new_engine(store_url)
        return found


@contextmanager
def _transaction(*, write: bool = True) -> Iterator[Connection]:
    with engine().execution_options(keystore_write=write).begin() as conn:
        yield conn


def work_dir() -> Path:
    """`<instance_dir>/keystore-work` (0700): where an opened copy's snapshot is put."""
    return private_dir(get_settings().instance_dir / WORK_DIR)


def reset_for_tests() -> None:
    """Close every engine (tests switch instance folders, so key stores)."""
    with _lock:
        for found in _engines.values():
            found.dispose()
        _engines.clear()


def _chunks(ids: Iterable[int]) -> Iterator[list[int]]:
    unique = sorted({int(i) for i in ids})
    for start in range(0, len(unique), _CHUNK):
        yield unique[start : start + _CHUNK]


def _now_text() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


# --- keys -----------------------------------------------------------------------------------


def put(key_id: int, master_version: int, wrapped: str) -> None:
    put_many([(key_id, master_version, wrapped)])


def put_many(rows: list[tuple[int, int, str]]) -> None:
    """Store (id, master version, wrapped) rows, replacing any key of the same id; committed."""
    created = _now_text()
    for start in range(0, len(rows), _CHUNK):
        batch = [
            {"id": int(i), "version": int(v), "wrapped": w, "created_at": created}
            for i, v, w in rows[start : start + _CHUNK]
        ]
        with _transaction() as conn:
            conn.execute(_UPSERT, batch)


def get_many(ids: Iterable[int]) -> dict[int, tuple[int, str]]:
    """id -> (master version, wrapped); ids destroyed or never made are absent."""
    found: dict[int, tuple[int, str]] = {}
    chunks = list(_chunks(ids))
    if not chunks:
        return found
    with _transaction(write=False) as conn:
        for chunk in chunks:
            for key_id, version, wrapped in conn.execute(_SELECT_MANY, {"ids": chunk}):
                found[key_id] = (version, wrapped)
    return found


def destroy(ids: Iterable[int]) -> int:
    """Delete the keys for good; returns how many there were. The freed pages are overwritten
    (secure_delete) and the WAL truncated on SQLite; PostgreSQL vacuums the table."""
    deleted = 0
    for chunk in _chunks(ids):
        with _transaction() as conn:
            deleted += conn.execute(_DELETE_MANY, {"ids": chunk}).rowcount or 0
    _scrub()
    return deleted


def _scrub() -> None:
    found = engine()
    if _is_sqlite(url()):
        raw = found.raw_connection()
        try:
            raw.driver_connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        finally:
            raw.close()
    else:
        with found.connect() as conn:
            conn.execution_options(isolation_level="AUTOCOMMIT").exec_driver_sql("VACUUM keys")


def count() -> int:
    with _transaction(write=False) as conn:
        return conn.exec_driver_sql("SELECT count(*) FROM keys").scalar_one()


# --- master key rotation (`custapp rotate-key`) ---------------------------------------------


def count_version_not(version: int) -> int:
    with _transaction(write=False) as conn:
        return conn.execute(
            text("SELECT count(*) FROM keys WHERE master_version <> :v"), {"v": version}
        ).scalar_one()


def ids_with_version_not(
    version: int, batch: int, *, after_id: int = 0
) -> list[tuple[int, int, str]]:
    """The next `batch` keys (id order, ids above after_id) not wrapped by `version`."""
    with _transaction(write=False) as conn:
        rows = conn.execute(
            text(
                "SELECT id, master_version, wrapped FROM keys "
                "WHERE master_version <> :v AND id > :after ORDER BY id LIMIT :n"
            ),
            {"v": version, "after": after_id, "n": batch},
        )
        return [(r[0], r[1], r[2]) for r in rows]


def rewrap(rows: list[tuple[int, int, str]]) -> int:
    """Replace the wrapping of existing keys: (id, new master version, new wrapped).

    An UPDATE, never an insert: a key destroyed meanwhile stays destroyed."""
    if not rows:
        return 0
    with _transaction() as conn:
        result = conn.execute(
            text("UPDATE keys SET master_version = :version, wrapped = :wrapped WHERE id = :id"),
            [{"id": i, "version": v, "wrapped": w} for i, v, w in rows],
        )
        return result.rowcount or 0


# --- snapshots ------------------------------------------------------------------------------


def _fill(target: sqlite3.Connection) -> None:
    """Copy the key store, consistently, into an open SQLite connection."""
    if _is_sqlite(url()):
        raw = engine().raw_connection()
        try:
            raw.driver_connection.backup(target)  # SQLite online backup API: consistent
        finally:
            raw.close()
        return
    for statement in _SCHEMA:
        target.execute(statement)
    with engine().connect() as conn:
        conn = conn.execution_options(isolation_level="REPEATABLE READ", yield_per=_CHUNK)
        with conn.begin():
            result = conn.exec_driver_sql(
                "SELECT id, master_version, wrapped, created_at FROM keys ORDER BY id"
            )
            for part in result.partitions(_CHUNK):
                target.executemany("INSERT INTO keys VALUES (?, ?, ?, ?)", [tuple(r) for r in part])
    target.commit()


def snapshot(dest: Path) -> None:
    """A consistent copy of the key store as a SQLite file (0600), `dest` replaced."""
    dest = Path(dest)
    dest.unlink(missing_ok=True)
    private_file(dest, create=True)
    target = sqlite3.connect(dest)
    try:
        _fill(target)
        target.execute("PRAGMA journal_mode=DELETE")  # a lone file, no -wal beside it
    finally:
        target.close()


def snapshot_bytes() -> bytes:
    """The snapshot as bytes, built in memory: no plaintext copy of the keys on any disk."""
    target = sqlite3.connect(":memory:")
    try:
        _fill(target)
        data = bytearray(target.serialize())
    finally:
        target.close()
    # the source's WAL flag came with page 1: a lone file opens in rollback-journal mode
    data[18:20] = b"\x01\x01"
    return bytes(data)


def _snapshot_rows(src: Path) -> Iterator[list[tuple[int, int, str, str]]]:
    try:
        source = sqlite3.connect(f"{src.resolve().as_uri()}?mode=ro", uri=True)
    except sqlite3.DatabaseError as exc:
        raise KeyStoreCopyError(f"no key-store snapshot: {src.name}") from exc
    try:
        cursor = source.execute("SELECT id, master_version, wrapped, created_at FROM keys")
        while part := cursor.fetchmany(_CHUNK):
            yield [tuple(r) for r in part]
    except sqlite3.DatabaseError as exc:
        raise KeyStoreCopyError(f"not a key-store snapshot: {src.name}") from exc
    finally:
        source.close()


def snapshot_get_many(src: Path, ids: Iterable[int]) -> dict[int, tuple[int, str]]:
    """get_many from a snapshot file (a key-store copy opened by read_copy)."""
    found: dict[int, tuple[int, str]] = {}
    conn = sqlite3.connect(f"{Path(src).resolve().as_uri()}?mode=ro", uri=True)
    try:
        for chunk in _chunks(ids):
            marks = ",".join("?" * len(chunk))
            query = f"SELECT id, master_version, wrapped FROM keys WHERE id IN ({marks})"
            found.update((i, (v, w)) for i, v, w in conn.execute(query, chunk))
    finally:
        conn.close()
    return found


def load_snapshot(src: Path, *, skip: Iterable[int] = ()) -> int:
    """Fill an EMPTY key store from a snapshot file, in one transaction; returns the keys
    loaded. The ids in `skip` (keys the destruction register says were destroyed) are never
    loaded, so no crash later in a restore can leave them. Raises KeyStoreNotEmpty when the
    store holds any key."""
    skipped = {int(i) for i in skip}
    loaded = 0
    with _transaction() as conn:
        if conn.exec_driver_sql("SELECT count(*) FROM keys").scalar_one():
            raise KeyStoreNotEmpty("the key store is not empty")
        for part in _snapshot_rows(Path(src)):
            rows = [
                {"id": i, "version": v, "wrapped": w, "created_at": c}
                for i, v, w, c in part
                if i not in skipped
            ]
            if rows:
                conn.execute(_UPSERT, rows)
            loaded += len(rows)
    return loaded


def clear() -> int:
    """Delete every key (a crashed restore's keys are wiped before it starts over); returns how
    many there were. Freed pages are scrubbed as in destroy."""
    with _transaction() as conn:
        deleted = conn.exec_driver_sql("DELETE FROM keys").rowcount or 0
    _scrub()
    return deleted


# --- encrypted copies (backups, `custapp keys export`) --------------------------------------


def _register_path() -> Path:
    from custapp.services import destruction_register

    return destruction_register.path()


def _pack(created_at: datetime, snapshot_bytes: bytes, register: bytes | None) -> bytes:
    header = json.dumps(
        {
            "created_at": created_at.astimezone(UTC).isoformat(),
            "snapshot": len(snapshot_bytes),
            "register": None if register is None else len(register),
        }
    ).encode()
    return b"".join(
        (_COPY_MAGIC, struct.pack(">I", len(header)), header, snapshot_bytes, register or b"")
    )


def _unpack(payload: bytes) -> tuple[datetime, bytes, bytes | None]:
    try:
        if not payload.startswith(_COPY_MAGIC):
            raise ValueError("magic")
        at = len(_COPY_MAGIC)
        (size,) = struct.unpack(">I", payload[at : at + 4])
        header = json.loads(payload[at + 4 : at + 4 + size])
        at += 4 + size
        snapshot_bytes = payload[at : at + header["snapshot"]]
        at += header["snapshot"]
        register = None
        if header["register"] is not None:
            register = payload[at : at + header["register"]]
        created_at = datetime.fromisoformat(header["created_at"])
    except (ValueError, KeyError, TypeError, struct.error) as exc:
        raise KeyStoreCopyError("not a key-store copy") from exc
    return created_at, snapshot_bytes, register


def _write_atomic(path: Path, data: bytes) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.unlink(missing_ok=True)
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def copy_name(now: datetime) -> str:
    return f"{COPY_PREFIX}{now.astimezone(UTC).strftime(_COPY_STAMP)}{COPY_SUFFIX}"


def write_copy(dest_dir: Path, *, backup_key: bytes, now: datetime) -> Path:
    """Snapshot + destruction register, packed and encrypted with the backup key into
    `<dest_dir>/keystore-<UTC yyyymmddTHHMMSSZ>.cks` (0600); then copies older than
    CUSTAPP_KEYSTORE_COPY_DAYS in dest_dir are deleted."""
    from custapp.services import backup_format

    dest_dir = private_dir(Path(dest_dir))
    snapshot_data = snapshot_bytes()  # in memory: never a plaintext file beside the copies
    register_file = _register_path()
    register = register_file.read_bytes() if register_file.exists() else None
    sealed = backup_format.seal_bytes(
        _pack(now, snapshot_data, register), backup_key, purpose=_COPY_PURPOSE
    )
    path = dest_dir / copy_name(now)
    _write_atomic(path, sealed)
    prune_copies(dest_dir, get_settings().keystore_copy_days, now=now)
    return path


def copy_time(path: Path) -> datetime | None:
    """The UTC time in a copy's file name; None for a file that is no copy."""
    name = Path(path).name
    if not (name.startswith(COPY_PREFIX) and name.endswith(COPY_SUFFIX)):
        return None
    stamp = name[len(COPY_PREFIX) : -len(COPY_SUFFIX)]
    try:
        return datetime.strptime(stamp, _COPY_STAMP).replace(tzinfo=UTC)
    except ValueError:
        return None


def prune_copies(dest_dir: Path, days: int, *, now: datetime | None = None) -> int:
    """Delete the key-store copies in dest_dir taken more than `days` days before now; returns
    how many were deleted."""
    now = now or datetime.now(UTC)
    cutoff = now - timedelta(days=days)
    deleted = 0
    folder = Path(dest_dir)
    if not folder.is_dir():
        return 0
    for path in folder.glob(f"{COPY_PREFIX}*{COPY_SUFFIX}"):
        taken = copy_time(path)
        if taken is not None and taken < cutoff:
            with suppress(FileNotFoundError):
                path.unlink()
                deleted += 1
    return deleted


def read_copy(path: Path, *, backup_key: bytes) -> KeyStoreCopy:
    """Open a copy: its time, its snapshot (written to a private folder in the instance's
    keystore-work/, which the caller removes) and the register bytes. Raises KeyStoreCopyError on a wrong key
    or a damaged file."""
    from custapp.services import backup_format

    try:
        payload = backup_format.open_bytes(
            Path(path).read_bytes(), backup_key, purpose=_COPY_PURPOSE
        )
    except backup_format.BackupFormatError as exc:
        raise KeyStoreCopyError(f"key-store copy {Path(path).name}: {exc}", key=exc.key) from exc
    created_at, snapshot_data, register = _unpack(payload)
    folder = Path(tempfile.mkdtemp(prefix=WORK_PREFIX, dir=work_dir()))  # 0700
    snap = folder / "keystore.db"
    _write_atomic(snap, snapshot_data)
    return KeyStoreCopy(created_at=created_at, snapshot_path=snap, register_bytes=register)
