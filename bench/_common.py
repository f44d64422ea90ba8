"""What the bench scripts share: the output (one JSON object per figure), percentiles, the
machine's load, a fresh database per backend (migrated to head, the app's own engine as it is)
and set-based seeding of minimal customers."""

from __future__ import annotations

import gc
import json
import os
import shutil
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

PASSWORD = "Bench-2026-pass"
DEFAULT_PG = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"


def emit(name: str, value: float, unit: str, **extra: object) -> None:
    extra = {k: round(v, 3) if isinstance(v, float) else v for k, v in extra.items()}
    print(json.dumps({"bench": name, "value": round(value, 3), "unit": unit, **extra},
                     ensure_ascii=False), flush=True)  # fmt: skip


def pct(values: list[float], q: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(q * len(values)))] if values else float("nan")


def verdict(value: float, target: float) -> str:
    return "met" if value <= target else "MISSED"


def load() -> float:
    return round(os.getloadavg()[0], 2)


class FullCollections:
    """The full (generation 2) garbage collections while timing, in ms each: in a process
    holding a few hundred thousand objects one takes tens of ms and lands in whichever call
    happens to be running, so a single slow sample can be the collector, not the code timed.

        with FullCollections() as gcs:
            ...
        gcs.ms  # [ms, ...]
    """

    def __init__(self) -> None:
        self.ms: list[float] = []
        self._started = 0.0

    def _callback(self, phase: str, info: dict) -> None:
        if info.get("generation") != 2:
            return
        if phase == "start":
            self._started = time.perf_counter()
        else:
            self.ms.append(round((time.perf_counter() - self._started) * 1000, 1))

    def __enter__(self) -> FullCollections:
        gc.callbacks.append(self._callback)
        return self

    def __exit__(self, *exc: object) -> None:
        gc.callbacks.remove(self._callback)


def reset() -> None:
    from custapp import clock, db
    from custapp.security import keystore
    from custapp.security.keys import get_keys
    from custapp.services import datakeys
    from custapp.settings import get_settings

    db.dispose_engines()
    keystore.reset_for_tests()  # a fresh instance folder has its own key store
    get_settings.cache_clear()
    get_keys.cache_clear()
    datakeys._unwrap.cache_clear()
    clock.set_now(None)


def migrate() -> None:
    from alembic import command
    from alembic.config import Config

    from custapp.settings import PROJECT_DIR

    command.upgrade(Config(str(PROJECT_DIR / "alembic.ini")), "head")


def durability() -> str:
    """What a commit waits for, as the app's engine has it (nothing is changed here)."""
    from custapp.db import get_engine

    engine = get_engine()
    with engine.connect() as conn:
        if engine.dialect.name == "sqlite":
            sync = conn.exec_driver_sql("PRAGMA synchronous").scalar_one()
            names = {0: "OFF", 1: "NORMAL", 2: "FULL", 3: "EXTRA"}
            journal = conn.exec_driver_sql("PRAGMA journal_mode").scalar_one()
            version = conn.exec_driver_sql("SELECT sqlite_version()").scalar_one()
            return (
                f"SQLite {version}: synchronous={names.get(sync, sync)} ({sync}), "
                f"journal_mode={journal.upper()} (a commit is durable after the next WAL "
                "checkpoint's fsync; a power loss may lose the last commits, never corrupt)"
                if sync == 1 and journal.lower() == "wal"
                else f"SQLite {version}: synchronous={names.get(sync, sync)} ({sync}), "
                f"journal_mode={journal.upper()}"
            )
        show = {
            name: conn.exec_driver_sql(f"SHOW {name}").scalar_one()
            for name in ("synchronous_commit", "fsync", "wal_sync_method", "full_page_writes")
        }
        version = conn.exec_driver_sql("SHOW server_version").scalar_one()
        return f"PostgreSQL {version}: " + ", ".join(f"{k}={v}" for k, v in show.items())


@contextmanager
def fresh_backend(backend: str, pg_url: str, prefix: str) -> Iterator[Path]:
    """A throw-away instance folder (the SQLite database, the audit checkpoint) and, for
    PostgreSQL, a uniquely named database `<prefix>_<hex>` on pg_url's server, dropped after;
    the app's settings and engines are reset on entry and exit. Migrating is the caller's."""
    tmp = Path(tempfile.mkdtemp(prefix=f"custapp-{prefix.replace('_', '-')}-"))
    os.environ.update(CUSTAPP_INSTANCE_DIR=str(tmp), CUSTAPP_ENV="bench")
    os.environ.pop("CUSTAPP_DATABASE_URL", None)
    os.environ.pop("CUSTAPP_AUDIT_CHECKPOINT", None)
    admin = name = None
    try:
        if backend == "postgresql":
            import sqlalchemy as sa

            name = f"{prefix}_{uuid.uuid4().hex[:12]}"
            admin = sa.create_engine(pg_url, isolation_level="AUTOCOMMIT")
            with admin.connect() as conn:
                conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
            url = sa.engine.make_url(pg_url).set(database=name)
            os.environ["CUSTAPP_DATABASE_URL"] = url.render_as_string(hide_password=False)
        reset()
        yield tmp
    finally:
        reset()
        if admin is not None:
            with admin.connect() as conn:
                conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            admin.dispose()
        shutil.rmtree(tmp, ignore_errors=True)


# --- seeding ----------------------------------------------------------------------------------


def _sql(dialect: str, statement: str, **types):  # noqa: ANN202 (a TextClause)
    from sqlalchemy import bindparam, text

    return text(statement).bindparams(*(bindparam(k, type_=t) for k, t in types.items()))


def _series(dialect: str, n_param: str) -> tuple[str, str]:
    """(a WITH prefix, a FROM source) giving i = 0 .. n-1, set-based on each backend."""
    if dialect == "postgresql":
        return "", f"generate_series(0, :{n_param} - 1) AS s(i)"
    return (
        f"WITH RECURSIVE s(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM s WHERE i + 1 < :{n_param}) ",
        "s",
    )


def bulk_customers(prefix: str, n: int, data_key_id: int) -> tuple[int, int]:
    """n customers with the mandatory columns only (no personal data to encrypt) -> (first id,
    last id), contiguous."""
    from sqlalchemy import func, select

    from custapp import clock
    from custapp.db import get_engine
    from custapp.models import Customer

    engine = get_engine()
    dialect = engine.dialect.name
    with_, source = _series(dialect, "n")
    number = "lpad(i::text, 9, '0')" if dialect == "postgresql" else "printf('%09d', i)"
    statement = (
        "INSERT INTO customers (number, kind, name, nature, data_key_id, lifecycle, grade, "
        "value_class, spend_12m_fen, completeness, verify_status, created_at, updated_at) "
        f"{with_}SELECT :prefix || {number}, 'individual', '积分会员' || i, 'individual', :key, "
        f"'potential', 'E', 'scattered', 0, 0, 'unverified', :now, :now FROM {source}"
    )
    stamp = Customer.__table__.c.created_at.type
    with engine.begin() as conn:
        before = conn.execute(select(func.coalesce(func.max(Customer.id), 0))).scalar_one()
        conn.execute(
            _sql(dialect, statement, now=stamp),
            {"prefix": prefix, "n": n, "key": data_key_id, "now": clock.now()},
        )
        first, last, count = conn.execute(
            select(func.min(Customer.id), func.max(Customer.id), func.count()).where(
                Customer.id > before
            )
        ).one()
    assert count == n and last - first + 1 == n, "customer ids are not contiguous"
    return first, last
