"""Engine and session helpers. SQLite by default, any SQLAlchemy URL otherwise."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import event
from sqlalchemy.engine import Engine, make_url
from sqlmodel import Session, create_engine

from custapp.settings import get_settings, private_dir, private_file


def _sqlite_pragmas(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record):  # noqa: ANN001
        # Let SQLAlchemy's "begin" event issue BEGIN so writers can take the lock up front.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=10000")
        cursor.execute("PRAGMA synchronous=NORMAL")
        # freed pages are overwritten with zeros: a destroyed customer's rows leave no trace in
        # the file (issue 16; the WAL is checkpointed after a destruction)
        cursor.execute("PRAGMA secure_delete=ON")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn):  # noqa: ANN001
        # A write transaction takes SQLite's write lock at BEGIN: a deferred transaction that
        # reads and then writes fails at once (SQLITE_BUSY) when another writer got in between.
        # A read transaction takes no lock at all, and query_only makes a write in it fail
        # loudly instead of taking the lock halfway through.
        options = conn.get_execution_options()
        read_only = options.get("custapp_read_only", False)
        pooled = conn.connection.info  # lives as long as the SQLite connection
        if pooled.get("custapp_query_only", False) != read_only:
            conn.exec_driver_sql("PRAGMA query_only=" + ("ON" if read_only else "OFF"))
            pooled["custapp_query_only"] = read_only
        conn.exec_driver_sql("BEGIN IMMEDIATE" if options.get("custapp_write") else "BEGIN")


def _read_only_transactions(engine: Engine) -> None:
    @event.listens_for(engine, "begin")
    def _on_begin(conn):  # noqa: ANN001
        if conn.get_execution_options().get("custapp_read_only", False):
            conn.exec_driver_sql("SET TRANSACTION READ ONLY")


def _private_sqlite_files(url: str) -> None:
    """The database file is made 0600 before SQLite opens it: SQLite gives its -wal and -shm the
    main file's mode. Files an older version left readable to others are tightened."""
    database = make_url(url).database
    if not database or database == ":memory:" or database.startswith("file:"):
        return
    main = Path(database)
    private_file(main, create=True)
    for suffix in ("-wal", "-shm"):
        private_file(main.with_name(main.name + suffix))


_engines: dict[str, Engine] = {}
_engines_lock = threading.Lock()  # handler threads open the database at once (states/off_loop.py)
_AFTER_ROLLBACK: list[Callable[[BaseException], None]] = []

# Connections per engine: POOL_SIZE kept open (one per handler thread, custapp/states/off_loop.py),
# MAX_OVERFLOW more for jobs and for the denial records written beside a refused call.
POOL_SIZE = 10
MAX_OVERFLOW = 10


def engine_for(url: str) -> Engine:
    engine = _engines.get(url)
    if engine is not None:
        return engine
    with _engines_lock:
        engine = _engines.get(url)
        if engine is None:
            engine = _engines[url] = _new_engine(url)
        return engine


def _new_engine(url: str) -> Engine:
    if url.startswith("sqlite"):
        _private_sqlite_files(url)
        database = make_url(url).database
        in_memory = not database or database == ":memory:" or "mode=memory" in url
        pool = {} if in_memory else {"pool_size": POOL_SIZE, "max_overflow": MAX_OVERFLOW}
        engine = create_engine(
            url, connect_args={"check_same_thread": False, "timeout": 10}, **pool
        )
        _sqlite_pragmas(engine)
    else:
        engine = create_engine(
            url, pool_pre_ping=True, pool_size=POOL_SIZE, max_overflow=MAX_OVERFLOW
        )
        _read_only_transactions(engine)
    return engine


def dispose_engines() -> None:
    """Close every pooled connection (tests switch databases; forked workers start clean)."""
    for engine in _engines.values():
        engine.dispose()
    _engines.clear()


RESTORE_MARKER = "restore-in-progress"
_restoring = threading.local()


class RestoreInProgress(RuntimeError):
    """A restore into this instance started and never finished (it crashed or was killed): the
    database may be half-loaded, with keys the register says were destroyed. Nothing may use it
    until the restore is run again (custapp backup restore wipes the half and starts over)."""

    def __init__(self, marker: Path) -> None:
        super().__init__(
            f"实例中有一次未完成的恢复（标记文件 {marker}）：数据库只恢复了一半，不能使用。"
            "请重新执行 custapp backup restore（它先清空上次恢复写入的数据库和密钥库，"
            "再从头恢复），恢复成功后此标记自动删除。"
            f" / An unfinished restore was found (marker {marker}): the database is half "
            "restored and must not be used. Run `custapp backup restore` again: it wipes what "
            "the unfinished restore loaded and starts over; the marker goes when it succeeds."
        )
        self.marker = marker


def restore_marker() -> Path:
    """`<instance_dir>/restore-in-progress`: written (0600) before a restore writes anything,
    removed only when it succeeded (or its failure was wiped clean)."""
    return get_settings().instance_dir / RESTORE_MARKER


def check_no_restore_in_progress() -> None:
    """Raises RestoreInProgress when a restore marker is present, except in the thread of the
    restore itself (inside `restoring()`)."""
    if getattr(_restoring, "active", False):
        return
    marker = restore_marker()
    if marker.exists():
        raise RestoreInProgress(marker)


@contextmanager
def restoring() -> Iterator[None]:
    """The restore's own work (this thread) may use the database while the marker is there."""
    previous = getattr(_restoring, "active", False)
    _restoring.active = True
    try:
        yield
    finally:
        _restoring.active = previous


def get_engine() -> Engine:
    settings = get_settings()
    check_no_restore_in_progress()
    if settings.is_sqlite:
        private_dir(settings.instance_dir)
    return engine_for(settings.database_url)


@contextmanager
def session_scope(*, write: bool = True) -> Iterator[Session]:
    """One unit of work: commit on success, roll back on any error (nothing half-saved).

    write=False is a read-only transaction: no lock taken on SQLite, READ ONLY on PostgreSQL,
    and a write in it is an error on both."""
    engine = get_engine()
    bind = engine.execution_options(
        **({"custapp_write": True} if write else {"custapp_read_only": True})
    )
    session = Session(bind=bind, expire_on_commit=False)
    try:
        yield session
        if write:
            session.commit()
        else:
            session.rollback()
    except BaseException as exc:
        session.rollback()
        session.close()
        for hook in _AFTER_ROLLBACK:
            hook(exc)
        raise
    finally:
        session.close()


def after_rollback(hook: Callable[[BaseException], None]) -> Callable[[BaseException], None]:
    """Register `hook`, called with the error after a unit of work rolled back and closed. The
    services layer registers the one that audits a refused operation in its own transaction
    (custapp/services/denials.py): this module imports nothing above it."""
    if hook not in _AFTER_ROLLBACK:
        _AFTER_ROLLBACK.append(hook)
    return hook
