"""Test set-up: every database test runs on a fresh SQLite file, and on PostgreSQL too when
CUSTAPP_TEST_PG_URL is set (each test gets its own uniquely named database, dropped after)."""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

os.environ["CUSTAPP_ENV"] = "test"
os.environ["CUSTAPP_BCRYPT_ROUNDS"] = "4"

PG_URL = os.environ.get("CUSTAPP_TEST_PG_URL", "")
BACKENDS = ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgresql)]


def reset_caches() -> None:
    from custapp import clock, db
    from custapp.security import keystore
    from custapp.security.keys import get_keys
    from custapp.services import auth, datakeys
    from custapp.settings import get_settings

    db.dispose_engines()
    keystore.reset_for_tests()  # each test's instance folder holds its own key store
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


def _create_pg_database(template: str | None = None) -> tuple[str, str]:
    import sqlalchemy as sa

    name = f"custapp_test_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(_pg_admin_url(), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        copy = f' TEMPLATE "{template}"' if template else ""
        conn.exec_driver_sql(f'CREATE DATABASE "{name}"{copy}')
    admin.dispose()
    base = sa.engine.make_url(_pg_admin_url())
    return name, base.set(database=name).render_as_string(hide_password=False)


def _drop_pg_database(name: str) -> None:
    import sqlalchemy as sa

    admin = sa.create_engine(_pg_admin_url(), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    admin.dispose()


@pytest.fixture(scope="session")
def migrated_templates(tmp_path_factory) -> Iterator[dict[str, str]]:  # noqa: ANN001
    """One migrated database per backend, made on first use and copied for each test: running
    every migration for every test took most of the suite's time. The migrations hold no data
    that depends on an instance's keys, so a copy is what a fresh migrate would give."""
    made: dict[str, str] = {}
    yield made
    if "postgresql" in made:
        _drop_pg_database(made["postgresql"])


def _template(backend: str, made: dict[str, str], folder, monkeypatch) -> str:  # noqa: ANN001
    if backend not in made:
        if backend == "postgresql":
            name, url = _create_pg_database()
        else:
            name = str(folder / "template.db")
            url = f"sqlite:///{name}"
        with monkeypatch.context() as env:
            env.setenv("CUSTAPP_INSTANCE_DIR", str(folder / "template-instance"))
            env.setenv("CUSTAPP_DATABASE_URL", url)
            reset_caches()
            migrate()
            reset_caches()  # no connection may stay open on a PostgreSQL template
        made[backend] = name
    return made[backend]


@pytest.fixture(params=BACKENDS)
def db(request, tmp_path, tmp_path_factory, monkeypatch, migrated_templates) -> Iterator[str]:  # noqa: ANN001
    """A migrated, empty database and a fresh instance folder (keys, audit checkpoint)."""
    backend = request.param
    instance = tmp_path / "instance"
    monkeypatch.setenv("CUSTAPP_INSTANCE_DIR", str(instance))
    pg_name = None
    if backend == "postgresql":
        if not PG_URL:
            pytest.skip("CUSTAPP_TEST_PG_URL is not set")
        folder = tmp_path_factory.getbasetemp()
        template = _template(backend, migrated_templates, folder, monkeypatch)
        pg_name, url = _create_pg_database(template=template)
    else:
        template = _template(
            backend, migrated_templates, tmp_path_factory.getbasetemp(), monkeypatch
        )
        instance.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(template, instance / "custapp.db")
        url = f"sqlite:///{instance / 'custapp.db'}"
    monkeypatch.setenv("CUSTAPP_DATABASE_URL", url)
    reset_caches()
    yield backend
    reset_caches()
    if pg_name:
        _drop_pg_database(pg_name)


def _printable(text: str) -> str:
    """Text that UTF-8 can carry: the fuzz tests send lone surrogates, and a captured log line
    holding one would stop pytest-xdist from sending the report to the main process."""
    return text.encode("utf-8", "backslashreplace").decode("utf-8")


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    report.sections = [(title, _printable(body)) for title, body in report.sections]


def pytest_sessionstart(session: pytest.Session) -> None:
    """The last run's browser-test failure screenshots go, once per run (not once per xdist
    worker). Here, not in tests/e2e/conftest.py: pytest calls this hook for initial conftests
    only, and `pytest` (testpaths = tests) loads that one too late."""
    if not os.environ.get("PYTEST_XDIST_WORKER"):
        root = Path(__file__).resolve().parents[1]
        shutil.rmtree(root / "test-artifacts" / "e2e-failures", ignore_errors=True)
