"""The database side of backups (issue 16, BK): the backup key, SQLite online copies,
`pg_dump`/`psql` (`pg_restore` for backups from before names were sealed), scratch databases,
and what a manifest says about a database.

Plaintext copies of the database exist only in a private work folder beside the database
(`<instance_dir>/backup-work`, 0700) and only while a backup, a verification or a restore runs;
never in the backup folder (it may be a mounted off-machine share) and never in /tmp.
PostgreSQL dumps are never on disk in plaintext: pg_dump's output is sealed and encrypted as it
streams, and restores stream the decrypted, unsealed dump into psql.
"""

from __future__ import annotations

import base64
import fcntl
import hmac
import os
import re
import secrets
import shutil
import sqlite3
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import IO, BinaryIO

from sqlalchemy import Connection, create_engine, text
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.pool import NullPool

from custapp.security import crypto
from custapp.security.keys import get_keys, key_folder, keys_present
from custapp.services import backup_format, backup_seal
from custapp.services.errors import DomainError
from custapp.settings import PROJECT_DIR, get_settings, private_dir, private_file

KEY_FILE = "backup.key"
WORK_DIR = "backup-work"
RUN_PREFIX = "run-"
LOCK_NAME = ".lock"
# SQLite pages copied per step of the online backup. The copy holds one read transaction from
# start to end (one consistent snapshot; WAL writers go on meanwhile), so the step only sets how
# often progress is reported: 4096 pages are 16 MiB at SQLite's default page size.
SQLITE_PAGES_PER_STEP = 4096
PG_SERVER_MAJOR_MIN = 15  # the server here; pg_dump must be at least the server's major version
Progress = Callable[[int, int], None]


class BackupError(DomainError):
    """A backup, verification or restore that cannot go on; `key` is the i18n message."""


def format_error(exc: backup_format.BackupFormatError) -> BackupError:
    return BackupError(exc.key, **exc.params())


# --- the backup key ---------------------------------------------------------------------------


def backup_key() -> bytes:
    """CUSTAPP_BACKUP_KEY, else `<keys_dir>/backup.key` (CUSTAPP_KEYS_DIR, by default the
    instance folder; made on first use, 0600). Never in the database, never in a backup: keep a
    copy of it elsewhere, or no backup can be read."""
    settings = get_settings()
    if settings.backup_key:
        text_key = settings.backup_key.rstrip("=")
        return base64.urlsafe_b64decode(text_key + "=" * (-len(text_key) % 4))
    path = private_dir(key_folder()) / KEY_FILE
    if not path.exists():
        with suppress(FileExistsError):  # another process made it first: use theirs
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w") as handle:
                handle.write(base64.urlsafe_b64encode(secrets.token_bytes(32)).decode())
                handle.flush()
                os.fsync(handle.fileno())
    private_file(path)
    raw = base64.urlsafe_b64decode(path.read_text().strip())
    if len(raw) != backup_format.KEY_BYTES:
        raise BackupError("backup.error.bad_key_file")
    return raw


def key_fingerprints() -> dict:
    """Names of the instance's keys (HMACs of a constant; no key can be derived from them): a
    restore or verification refuses an instance whose keys are not the backup's."""
    keys = get_keys()

    def name(key: bytes) -> str:
        return hmac.new(key, b"custapp-key-id", "sha256").hexdigest()[:16]

    return {
        "master": {str(v): name(k) for v, k in sorted(keys.master.versions.items())},
        "index": name(keys.index),
        "audit": name(keys.audit),
    }


def instance_keys_present() -> bool:
    """Whether the instance has its keys (variables or files in the key folder): get_keys()
    would otherwise make new ones, under which nothing restored could be read."""
    return keys_present()


def keys_match(manifest_keys: dict | None) -> bool:
    """The instance holds every key the backup was made with."""
    if not manifest_keys:
        return True
    mine = key_fingerprints()
    masters = manifest_keys.get("master", {})
    return (
        all(mine["master"].get(v) == fp for v, fp in masters.items())
        and mine["index"] == manifest_keys.get("index")
        and mine["audit"] == manifest_keys.get("audit")
    )


# --- the work folder --------------------------------------------------------------------------


def work_dir() -> Path:
    return private_dir(get_settings().instance_dir / WORK_DIR)


@contextmanager
def scratch_dir() -> Iterator[Path]:
    """A private folder in the work folder, removed with whatever is in it. Its `.lock` is held
    while it is in use: sweep_leftovers removes only folders nobody holds (or past the lease)."""
    folder = Path(tempfile.mkdtemp(prefix=RUN_PREFIX, dir=work_dir()))  # 0700
    lock = os.open(folder / LOCK_NAME, os.O_WRONLY | os.O_CREAT, 0o600)
    try:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)
        os.close(lock)


def backend_of(url: str) -> str:
    name = make_url(url).get_backend_name()
    if name not in ("sqlite", "postgresql"):
        raise BackupError("backup.error.backend_unsupported", backend=name)
    return name


def plain_engine(url: str) -> Engine:
    """An engine of its own (no pool kept, no app pragmas) for a copy or a scratch database."""
    return create_engine(url, poolclass=NullPool)


# --- what the manifest says about a database --------------------------------------------------


def table_names(conn: Connection) -> list[str]:
    if conn.dialect.name == "sqlite":
        query = "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
    else:
        query = "SELECT tablename FROM pg_tables WHERE schemaname = 'public'"
    return sorted(conn.exec_driver_sql(query).scalars())


def facts(conn: Connection) -> dict:
    """Schema revision, rows per table (every table: the models' and alembic_version), the audit
    chain head: read in the caller's transaction (one snapshot)."""
    quote = conn.dialect.identifier_preparer.quote
    tables = table_names(conn)
    counts = {
        name: conn.exec_driver_sql(f"SELECT count(*) FROM {quote(name)}").scalar_one()
        for name in tables
    }
    revision = None
    if "alembic_version" in tables:
        revision = conn.exec_driver_sql("SELECT version_num FROM alembic_version").scalar()
    head = {"seq": 0, "mac": ""}
    if "audit_head" in tables:
        row = conn.execute(text("SELECT seq, mac FROM audit_head WHERE id = 1")).first()
        if row is not None:
            head = {"seq": int(row[0]), "mac": row[1] or ""}
    return {"alembic_revision": revision, "row_counts": counts, "audit_head": head}


def _script():  # noqa: ANN202
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(Config(str(PROJECT_DIR / "alembic.ini")))


def revision_known(revision: str | None) -> bool:
    from alembic.util.exc import CommandError

    if not revision:
        return False
    try:
        return _script().get_revision(revision) is not None
    except (CommandError, KeyError, ValueError):
        return False


def code_head() -> str | None:
    return _script().get_current_head()


# --- SQLite -----------------------------------------------------------------------------------


def sqlite_file(url: str) -> Path:
    database = make_url(url).database
    if not database or database == ":memory:" or database.startswith("file:"):
        raise BackupError("backup.error.backend_unsupported", backend="sqlite (in memory)")
    return Path(database)


def sqlite_copy(source: Path, dest: Path, progress: Progress | None = None) -> None:
    """A consistent copy of a live SQLite database (online backup API) while it is written to.
    One read transaction is held on the source for the whole copy: its snapshot is what gets
    copied, writers append to the WAL meanwhile, and the copy never restarts (SQLite restarts
    a backup whose source changed between steps only when the source pager is re-read)."""
    private_file(dest, create=True)
    src = sqlite3.connect(source, isolation_level=None, timeout=10, check_same_thread=False)
    dst = sqlite3.connect(dest, isolation_level=None)
    try:
        src.execute("PRAGMA busy_timeout=10000")
        src.execute("BEGIN")
        src.execute("SELECT count(*) FROM sqlite_master").fetchone()  # the snapshot starts here
        page_size = src.execute("PRAGMA page_size").fetchone()[0]

        def step(_status: int, remaining: int, total: int) -> None:
            if progress:
                progress((total - remaining) * page_size, total * page_size)

        src.backup(dst, pages=SQLITE_PAGES_PER_STEP, progress=step)
        src.execute("COMMIT")
        dst.execute("PRAGMA journal_mode=DELETE")  # one file, no -wal beside it
    finally:
        src.close()
        dst.close()


def sqlite_is_empty(path: Path) -> bool:
    """No file, or a file without tables."""
    if not path.exists() or path.stat().st_size == 0:
        return True
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        return not conn.execute(
            "SELECT count(*) FROM sqlite_master WHERE type = 'table'"
        ).fetchone()[0]
    finally:
        conn.close()


def sqlite_remove(path: Path) -> None:
    for suffix in ("", "-wal", "-shm", "-journal"):
        path.with_name(path.name + suffix).unlink(missing_ok=True)


# --- PostgreSQL -------------------------------------------------------------------------------


def _quote_conninfo(value: object) -> str:
    return "'" + str(value).replace("\\", "\\\\").replace("'", "\\'") + "'"


def libpq(url: str) -> tuple[str, dict[str, str]]:
    """The libpq connection string of a SQLAlchemy URL, without its password, and the
    environment for a client tool (the password in PGPASSWORD). Passed as an argument list,
    never through a shell; the password never appears on a command line."""
    parsed = make_url(url)
    params: dict[str, object] = {
        "host": parsed.host,
        "port": parsed.port,
        "user": parsed.username,
        "dbname": parsed.database,
    }
    for name, value in parsed.query.items():
        params[name] = value[-1] if isinstance(value, tuple) else value
    conninfo = " ".join(
        f"{name}={_quote_conninfo(value)}" for name, value in params.items() if value is not None
    )
    env = dict(os.environ)
    if parsed.password is not None:
        env["PGPASSWORD"] = str(parsed.password)
    return conninfo, env


def pg_tool(name: str) -> str:
    found = shutil.which(name)
    if found is None:
        raise BackupError("backup.error.pg_tools_missing", tool=name)
    return found


def check_pg_tool(conn: Connection, name: str) -> str:
    """The tool's path, refused when its major version is below the server's."""
    tool = pg_tool(name)
    out = subprocess.run([tool, "--version"], capture_output=True, text=True, check=False)
    found = re.search(r"(\d+)(?:\.\d+)?", out.stdout)
    tool_major = int(found.group(1)) if found else 0
    server_major = int(conn.exec_driver_sql("SHOW server_version_num").scalar_one()) // 10000
    if tool_major < server_major:
        raise BackupError(
            "backup.error.pg_tools_old", tool=name, version=tool_major, server=server_major
        )
    return tool


class _Drain(threading.Thread):
    """Reads a tool's stderr (so it never blocks on a full pipe), counting `pattern` lines."""

    def __init__(self, stream: IO[bytes], pattern: bytes = b"") -> None:
        super().__init__(daemon=True)
        self.stream, self.pattern = stream, pattern
        self.lines: list[str] = []
        self.count = 0

    def run(self) -> None:
        for raw in self.stream:
            if self.pattern and self.pattern in raw:
                self.count += 1
            elif len(self.lines) < 50:
                self.lines.append(raw.decode("utf-8", "replace").rstrip())

    def message(self) -> str:
        return " | ".join(line for line in self.lines if "error" in line.lower())[:500]


@contextmanager
def pg_dump(conn: Connection, url: str, snapshot: str) -> Iterator[tuple[BinaryIO, _Drain]]:
    """pg_dump of the database at `url`, of the exported `snapshot`, as a plain SQL stream (its
    COPY rows are sealed on the way: services/backup_seal.py); its stderr drained (counting the
    tables dumped). Raises BackupError when pg_dump fails."""
    tool = check_pg_tool(conn, "pg_dump")
    conninfo, env = libpq(url)
    args = [
        tool, "--format=plain", "--no-owner", "--no-privileges", "--verbose",
        f"--snapshot={snapshot}", f"--dbname={conninfo}",
    ]  # fmt: skip
    process = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    drain = _Drain(process.stderr, b"dumping contents of table")  # type: ignore[arg-type]
    drain.start()
    try:
        yield process.stdout, drain  # type: ignore[misc]
    except BaseException:
        process.kill()
        raise
    finally:
        process.stdout.close()  # type: ignore[union-attr]
        code = process.wait()
        drain.join()
    if code != 0:
        raise BackupError("backup.error.pg_dump_failed", detail=drain.message())


def pg_restore_into(url: str, load: Callable[[BinaryIO], object], *, plain: bool = True) -> None:
    """Stream a dump into the database at `url` in one transaction, stopping at the first
    error: a plain SQL dump through psql (backups since names are sealed), a `pg_dump -Fc`
    archive through pg_restore (earlier backups). `load(stdin)` writes it. When `load` raises,
    the tool is stopped and nothing commits."""
    conninfo, env = libpq(url)
    if plain:
        args = [
            pg_tool("psql"), "--no-psqlrc", "--quiet", "--single-transaction",
            "--set=ON_ERROR_STOP=1", "--file=-", f"--dbname={conninfo}",
        ]  # fmt: skip
    else:
        args = [
            pg_tool("pg_restore"), "--no-owner", "--no-privileges", "--single-transaction",
            "--exit-on-error", f"--dbname={conninfo}",
        ]  # fmt: skip
    process = subprocess.Popen(
        args, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env
    )
    drain = _Drain(process.stderr)  # type: ignore[arg-type]
    drain.start()
    try:
        try:
            load(process.stdin)  # type: ignore[arg-type]
        except BrokenPipeError:
            pass  # pg_restore stopped early: its exit code and message say why
        except BaseException:
            process.kill()
            raise
        finally:
            with suppress(BrokenPipeError):
                process.stdin.close()  # type: ignore[union-attr]
    finally:
        code = process.wait()
        drain.join()
    if code != 0:
        failed = "backup.error.psql_failed" if plain else "backup.error.pg_restore_failed"
        raise BackupError(failed, detail=drain.message())


def pg_is_empty(conn: Connection) -> bool:
    return not table_names(conn)


def pg_wipe(url: str) -> None:
    """Drop everything a failed or refused restore loaded (the public schema, made anew)."""
    engine = plain_engine(url)
    try:
        with engine.begin() as conn:
            conn.exec_driver_sql("DROP SCHEMA IF EXISTS public CASCADE")
            conn.exec_driver_sql("CREATE SCHEMA public")
    finally:
        engine.dispose()


def scratch_prefix(url: str) -> str:
    return f"{(make_url(url).database or 'custapp')[:36]}_verify_"


def lock_scratch(conn: Connection, name: str, *, wait: bool) -> bool:
    call = "pg_advisory_lock" if wait else "pg_try_advisory_lock"
    found = conn.execute(text(f"SELECT {call}(hashtext(:n))"), {"n": name}).scalar()
    return wait or bool(found)


@contextmanager
def pg_scratch_database(url: str) -> Iterator[str]:
    """A new empty database `<db>_verify_<unix time, hex>_<random>` on the same server with the
    same credentials (needs CREATEDB), held by an advisory lock while in use and dropped
    afterwards -> its URL."""
    parsed = make_url(url)
    name = f"{scratch_prefix(url)}{int(time.time()):x}_{secrets.token_hex(4)}"
    admin = create_engine(url, poolclass=NullPool, isolation_level="AUTOCOMMIT")
    try:
        holder = admin.connect()
        lock_scratch(holder, name, wait=True)
        holder.exec_driver_sql(f'CREATE DATABASE "{name}" TEMPLATE template0')
    except Exception as exc:  # noqa: BLE001 - no CREATEDB right, or no server: named below
        admin.dispose()
        raise BackupError("backup.error.no_scratch_database") from exc
    try:
        yield parsed.set(database=name).render_as_string(hide_password=False)
    finally:
        try:
            holder.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            holder.close()
            admin.dispose()


# --- loading a backup file into a database ----------------------------------------------------


def _no_keys(_ids: list[int]) -> dict:
    return {}


def load_backup(
    path: Path,
    key: bytes,
    url: str,
    progress: Progress | None = None,
    *,
    keys_of: backup_seal.KeysOf | None = None,
) -> dict:
    """Decrypt the backup at `path` into the EMPTY database at `url` (SQLite: the file is
    replaced; PostgreSQL: psql, or pg_restore for a backup from before sealing) -> the file's
    header. The sealed names are opened with the data keys `keys_of` gives (SQLite: left
    sealed when it is None; PostgreSQL needs it, a name's column being too short for its seal).
    Every record is checked before its bytes are used; on any error the target may hold a
    part: the caller wipes or drops it."""
    total = path.stat().st_size
    backend = backend_of(url)
    try:
        with path.open("rb") as src:
            header = backup_format.read_header(src)
            if header.get("backend") != backend:
                raise BackupError(
                    "backup.error.wrong_backend", backend=header.get("backend"), target=backend
                )
            src.seek(0)
            sealed = bool(header.get("sealed"))
            decrypt_stream = backup_format.decrypt_stream
            if backend == "postgresql":
                found: dict = {}

                def load(stdin: BinaryIO) -> None:
                    if not sealed:  # a pg_dump -Fc archive from before sealing
                        found.update(decrypt_stream(src, stdin, key, progress, total=total))
                        return
                    dst = backup_seal.UnsealingWriter(stdin, keys_of or _no_keys)
                    found.update(decrypt_stream(src, dst, key, progress, total=total))
                    dst.close()

                pg_restore_into(url, load, plain=sealed)
                return found
            target = sqlite_file(url)
            with scratch_dir() as folder:
                plain = folder / "restore.db"
                private_file(plain, create=True)
                with plain.open("wb") as dst:
                    header = backup_format.decrypt_stream(src, dst, key, progress, total=total)
                    dst.flush()
                    os.fsync(dst.fileno())
                if sealed and keys_of is not None:
                    backup_seal.unseal_sqlite(plain, keys_of)
                sqlite_remove(target)
                private_dir(target.parent)
                shutil.move(plain, target)
                private_file(target)
            return header
    except backup_format.BackupFormatError as exc:
        raise format_error(exc) from None
    except crypto.DecryptionError:  # a sealed name the given keys do not open
        raise BackupError("backup.error.sealed_names_foreign") from None
