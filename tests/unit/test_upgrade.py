"""The upgrade procedure of docs/deploy.md ("Upgrading"), tried once on SQLite and PostgreSQL
(issue 17, part 5): an instance with data at the previous migration revision is backed up,
upgraded to head, checked as /health checks it, its data read; then rolled back by restoring the
backup into an empty instance, where the data reads again at the previous revision; and that
instance upgrades once more.

The instance at the previous revision is made as an operator's would be: seeded at head, then
`alembic downgrade -1` (a migration without a downgrade would fail here, and the procedure's
"roll back with alembic downgrade" would not be open for it). At the previous revision the
customers are read with plain SQL (this code's models describe head's tables)."""

from __future__ import annotations

from datetime import timedelta

from alembic import command
from alembic.config import Config
from sqlalchemy import text

from custapp import clock
from custapp.db import session_scope
from custapp.models import Customer, Job
from custapp.services import (
    audit,
    backup_backends,
    backup_restore,
    backups,
    customer_fields,
    datakeys,
    health,
)
from custapp.services.scheduler import step_kind
from custapp.settings import PROJECT_DIR
from custapp.vocab import JobStatus
from tests.conftest import reset_caches
from tests.unit import test_backups

# the backup tests' fixtures: an instance with customers, and a second, empty one
seeded = test_backups.seeded
empty_instance = test_backups.empty_instance


def _alembic(action: str, revision: str) -> None:
    getattr(command, action)(Config(str(PROJECT_DIR / "alembic.ini")), revision)
    reset_caches()  # no connection keeps the old schema's view


def _revision() -> str:
    with session_scope(write=False) as session:
        return session.exec(text("SELECT version_num FROM alembic_version")).scalar_one()


def _phones_by_sql() -> dict[int, str]:
    """Every customer's phone through the columns every revision has: no model involved."""
    with session_scope(write=False) as session:
        rows = session.exec(
            text("SELECT id, data_key_id, phone_enc FROM customers WHERE phone_enc IS NOT NULL")
        ).all()
        return {
            row.id: datakeys.decrypt(
                session, row.data_key_id, row.phone_enc, context=customer_fields.context("phone")
            )
            for row in rows
        }


def _phones_by_model() -> dict[int, str]:
    with session_scope(write=False) as session:
        rows = session.exec(text("SELECT id FROM customers WHERE phone_enc IS NOT NULL")).scalars()
        return {
            cid: customer_fields.read(session, session.get(Customer, cid), "phone") for cid in rows
        }


def _healthy() -> None:
    """What /health answers once the workers are started again (their runners tick at once)."""
    with session_scope() as session:
        now = clock.now()
        for step in health.MINUTELY_STEPS:
            session.add(
                Job(
                    kind=step_kind(step),
                    status=JobStatus.DONE.value,
                    created_at=now - timedelta(seconds=2),
                    finished_at=now,
                )
            )
    report = health.check_health()
    assert report.status == health.OK, report.checks
    with session_scope(write=False) as session:
        assert audit.verify_chain(session).ok


def _previous_release(monkeypatch, revision: str) -> None:  # noqa: ANN001
    """The previous release's code: its newest migration is `revision`, so its restore migrates
    the restored database no further (a restore runs the restoring code's migrations)."""

    def migrate() -> str | None:
        _alembic("upgrade", revision)
        return _revision()

    monkeypatch.setattr(backup_restore, "_migrate", migrate)


def test_upgrade_then_roll_back_by_restoring_the_backup(
    seeded, empty_instance, monkeypatch
) -> None:  # noqa: ANN001
    head = backup_backends.code_head()
    _alembic("downgrade", "-1")
    previous = _revision()
    assert previous != head
    assert _phones_by_sql() == seeded["phones"]
    assert health.check_health().checks["schema"] == "migration_pending"  # 503 until migrated

    # 1. backup (`custapp backup create`), workers stopped, 2. migrate (`custapp migrate`)
    info = backups.create_backup()
    assert info.manifest["alembic_revision"] == previous
    _alembic("upgrade", "head")
    assert _revision() == head
    # 3. start, check /health, read the data
    _healthy()
    assert _phones_by_model() == seeded["phones"]

    # rolling back: the previous release's code on an empty instance, the backup restored
    empty_instance()
    with monkeypatch.context() as patch:
        _previous_release(patch, previous)
        report = test_backups._restore(info.path)
    assert report.ok and report.revision == previous
    assert _revision() == previous
    assert _phones_by_sql() == seeded["phones"]
    with session_scope(write=False) as session:
        count = session.exec(text("SELECT count(*) FROM customers")).scalar_one()
    assert count == info.manifest["row_counts"]["customers"]

    # the fixed release later: the restored instance upgrades like the first
    _alembic("upgrade", "head")
    _healthy()
    assert _phones_by_model() == seeded["phones"]
