"""Engine and session helpers. SQLite by default, any SQLAlchemy URL otherwise."""

from __future__ import annotations

from collections.abc import Iterator
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
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn):  # noqa: ANN001
        # A write transaction takes SQLite's write lock at BEGIN: a deferred transaction that
        # reads and then writes fails at once (SQLITE_BUSY) when another writer got in between.
        immediate = conn.get_execution_options().get("custapp_write", False)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


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


def engine_for(url: str) -> Engine:
    engine = _engines.get(url)
    if engine is None:
        if url.startswith("sqlite"):
            _private_sqlite_files(url)
            engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 10})
            _sqlite_pragmas(engine)
        else:
            engine = create_engine(url, pool_pre_ping=True, pool_size=10, max_overflow=10)
        _engines[url] = engine
    return engine


def dispose_engines() -> None:
    """Close every pooled connection (tests switch databases; forked workers start clean)."""
    for engine in _engines.values():
        engine.dispose()
    _engines.clear()


def get_engine() -> Engine:
    settings = get_settings()
    if settings.is_sqlite:
        private_dir(settings.instance_dir)
    return engine_for(settings.database_url)


@contextmanager
def session_scope(*, write: bool = True) -> Iterator[Session]:
    """One unit of work: commit on success, roll back on any error (nothing half-saved)."""
    engine = get_engine()
    bind = engine.execution_options(custapp_write=True) if write else engine
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
        _record_denial(exc)
        raise
    finally:
        session.close()


def _record_denial(exc: BaseException) -> None:
    """A denial is written in its own transaction, after the refused work rolled back."""
    from custapp.services.errors import PermissionDenied

    if not isinstance(exc, PermissionDenied):
        return
    from custapp.services import audit

    with session_scope() as session:
        audit.record(
            session,
            actor=exc.actor,
            action=exc.action,
            outcome="denied",
            target_type=exc.target_type,
            target_id=exc.target_id,
            customer_id=exc.customer_id,
            reason=exc.permission,
        )
