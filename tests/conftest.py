"""Test set-up: every database test runs on a fresh SQLite file, and on PostgreSQL too when
CUSTAPP_TEST_PG_URL is set (each test gets its own uniquely named database, dropped after)."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator

import pytest

os.environ["CUSTAPP_ENV"] = "test"
os.environ["CUSTAPP_BCRYPT_ROUNDS"] = "4"

PG_URL = os.environ.get("CUSTAPP_TEST_PG_URL", "")
BACKENDS = ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgresql)]


def reset_caches() -> None:
    from custapp import clock, db
    from custapp.security.keys import get_keys
    from custapp.services import auth, datakeys
    from custapp.settings import get_settings

    db.dispose_engines()
    get_settings.cache_clear()
    get_keys.cache_clear()
    datakeys._unwrap.cache_clear()
    auth._dummy_hash.cache_clear()
    clock.set_now(None)


def migrate() -> None:
    from alembic import command
    from alembic.config import Config

    from custapp.settings import PROJECT_DIR

    command.upgrade(Config(str(PROJECT_DIR / "alembic.ini")), "head")


def _pg_admin_url() -> str:
    return PG_URL


def _create_pg_database() -> tuple[str, str]:
    import sqlalchemy as sa

    name = f"custapp_test_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(_pg_admin_url(), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    admin.dispose()
    base = sa.engine.make_url(_pg_admin_url())
    return name, base.set(database=name).render_as_string(hide_password=False)


def _drop_pg_database(name: str) -> None:
    import sqlalchemy as sa

    admin = sa.create_engine(_pg_admin_url(), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    admin.dispose()


@pytest.fixture(params=BACKENDS)
def db(request, tmp_path, monkeypatch) -> Iterator[str]:
    """A migrated, empty database and a fresh instance folder (keys, audit checkpoint)."""
    backend = request.param
    monkeypatch.setenv("CUSTAPP_INSTANCE_DIR", str(tmp_path / "instance"))
    pg_name = None
    if backend == "postgresql":
        if not PG_URL:
            pytest.skip("CUSTAPP_TEST_PG_URL is not set")
        pg_name, url = _create_pg_database()
    else:
        url = f"sqlite:///{tmp_path / 'instance' / 'custapp.db'}"
    monkeypatch.setenv("CUSTAPP_DATABASE_URL", url)
    reset_caches()
    migrate()
    yield backend
    reset_caches()
    if pg_name:
        _drop_pg_database(pg_name)
