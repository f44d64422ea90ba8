"""GET /health (issue 17, part 5) on SQLite and PostgreSQL: ok on a working instance; 503 when
the database is down, a restore is half done or the schema is not the code's; Redis down -> down
(Reflex keeps the tabs' state there); the scheduler late or the audit anchor behind -> degraded
(200); the answer holds check names and short keys only, never an error's text."""

from __future__ import annotations

import asyncio
import json
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import httpx
import pytest
import redis
from sqlalchemy import text

from custapp import clock
from custapp.db import restore_marker, session_scope
from custapp.health_http import health_app
from custapp.models import Job
from custapp.services import audit, health
from custapp.services.actor import system_actor
from custapp.services.scheduler import step_kind
from custapp.settings import get_settings
from custapp.vocab import JobStatus
from tests.conftest import reset_caches

KEYS = {
    "ok",
    "not_used",
    "skipped",
    "timeout",
    "error",
    "unreachable",
    "restore_in_progress",
    "migration_pending",
    "not_migrated",
    "revision_unknown",
    "late",
    "not_run",
    "missing",
    "unreadable",
    "invalid",
    "ahead",
    "behind",
}
CLOSED_PORT = 9  # "discard": nothing listens there on these machines


async def _request() -> httpx.Response:
    transport = httpx.ASGITransport(app=health_app())
    async with httpx.AsyncClient(transport=transport, base_url="http://proxy") as client:
        return await client.get("/health")


def _get() -> tuple[int, dict, str]:
    # a thread of its own: a browser test before this one in the worker leaves a loop running
    with ThreadPoolExecutor(1) as pool:
        response = pool.submit(asyncio.run, _request()).result()
    body = response.json()
    assert set(body) == {"status", "checks"}
    assert set(body["checks"]) == set(health.SEVERITY)
    assert set(body["checks"].values()) <= KEYS, body  # short keys, never an error's text
    assert response.headers["cache-control"] == "no-store"
    return response.status_code, body, response.text


def _ran(step: str, *, ago: timedelta, status: JobStatus = JobStatus.DONE) -> None:
    at = clock.now() - ago
    with session_scope() as session:
        session.add(
            Job(
                kind=step_kind(step),
                status=status.value,
                created_at=at - timedelta(seconds=2),
                started_at=at - timedelta(seconds=1),
                finished_at=at,
                error="jobs.error.failed" if status == JobStatus.FAILED else None,
            )
        )


@pytest.fixture
def working(db) -> str:  # noqa: ANN001
    """The minutely steps ran a minute ago; the audit chain has entries and its checkpoint."""
    for step in health.MINUTELY_STEPS:
        _ran(step, ago=timedelta(minutes=1))
    with session_scope() as session:
        audit.record(session, actor=system_actor("test"), action="test.health")
    return db


def test_a_working_instance_is_ok(working) -> None:  # noqa: ANN001
    status, body, _ = _get()
    assert status == 200
    assert body == {
        "status": "ok",
        "checks": {
            "database": "ok",
            "schema": "ok",
            "redis": "not_used",
            "keystore": "ok",
            "scheduler": "ok",
            "audit_anchor": "ok",
        },
    }


def test_a_database_that_is_down_answers_503_and_names_nothing(working, monkeypatch) -> None:  # noqa: ANN001
    if working == "postgresql":
        url = f"postgresql+psycopg://postgres@127.0.0.1:{CLOSED_PORT}/custapp_health_secret"
    else:
        url = f"sqlite:///{get_settings().instance_dir}/no-such-folder/custapp_health_secret.db"
    monkeypatch.setenv("CUSTAPP_DATABASE_URL", url)
    reset_caches()
    status, body, text = _get()
    assert status == 503
    assert body["status"] == "down"
    assert body["checks"]["database"] == "unreachable"
    assert body["checks"]["scheduler"] == body["checks"]["audit_anchor"] == "skipped"
    assert "custapp_health_secret" not in text and "127.0.0.1" not in text


def test_a_restore_in_progress_answers_503(working) -> None:  # noqa: ANN001
    marker = restore_marker()
    marker.write_text("restoring")
    try:
        status, body, _ = _get()
    finally:
        marker.unlink()
    assert (status, body["status"], body["checks"]["database"]) == (
        503,
        "down",
        "restore_in_progress",
    )
    assert _get()[0] == 200  # the marker gone, it serves again


@pytest.mark.parametrize(
    ("revision", "key"), [("0001", "migration_pending"), ("9999_future", "revision_unknown")]
)
def test_a_schema_other_than_the_codes_answers_503(working, revision, key) -> None:  # noqa: ANN001
    with session_scope() as session:
        session.exec(text("UPDATE alembic_version SET version_num = :v").bindparams(v=revision))
    status, body, _ = _get()
    assert (status, body["status"], body["checks"]["schema"]) == (503, "down", key)
    assert body["checks"]["database"] == "ok"


def test_redis_down_is_down_and_redis_up_is_ok(working, monkeypatch) -> None:  # noqa: ANN001
    monkeypatch.setenv("CUSTAPP_REDIS_URL", f"redis://127.0.0.1:{CLOSED_PORT}/0")
    reset_caches()
    status, body, _ = _get()
    assert (status, body["status"], body["checks"]["redis"]) == (503, "down", "unreachable")

    up = "redis://127.0.0.1:6379/0"
    try:
        redis.Redis.from_url(up, socket_connect_timeout=1).ping()
    except redis.RedisError:
        pytest.skip("no Redis on 127.0.0.1:6379")
    monkeypatch.setenv("CUSTAPP_REDIS_URL", up)
    reset_caches()
    status, body, _ = _get()
    assert (status, body["status"], body["checks"]["redis"]) == (200, "ok", "ok")


def test_a_late_scheduler_is_degraded(db) -> None:  # noqa: ANN001
    first, *others = health.MINUTELY_STEPS
    for step in others:
        _ran(step, ago=timedelta(minutes=1))
    # the last success six minutes ago; a failure since does not count as having run
    _ran(first, ago=timedelta(minutes=6))
    _ran(first, ago=timedelta(minutes=1), status=JobStatus.FAILED)
    status, body, _ = _get()
    assert (status, body["status"], body["checks"]["scheduler"]) == (200, "degraded", "late")

    _ran(first, ago=timedelta(seconds=10))
    assert _get()[1]["checks"]["scheduler"] == "ok"


def test_a_scheduler_that_never_ran_is_degraded(db) -> None:  # noqa: ANN001
    status, body, _ = _get()
    assert (status, body["status"], body["checks"]["scheduler"]) == (200, "degraded", "not_run")


def test_an_audit_anchor_missing_behind_or_forged_is_degraded(working, monkeypatch) -> None:  # noqa: ANN001
    checkpoint = get_settings().audit_checkpoint
    saved = checkpoint.read_bytes()
    checkpoint.unlink()
    assert _get()[1]["checks"]["audit_anchor"] == "missing"

    checkpoint.write_bytes(saved)
    monkeypatch.setattr(health, "AUDIT_LAG", 2)
    with session_scope() as session:  # entries past the checkpoint that it never saw
        for _ in range(3):
            audit.record(session, actor=system_actor("test"), action="test.health")
    checkpoint.write_bytes(saved)
    status, body, _ = _get()
    assert (status, body["status"], body["checks"]["audit_anchor"]) == (200, "degraded", "behind")

    data = audit.read_checkpoint()
    data["seq"] += 1000  # a checkpoint past the head, its MAC not redone: forged
    checkpoint.write_bytes(json.dumps(data).encode() + b"\n")
    assert _get()[1]["checks"]["audit_anchor"] == "invalid"


def test_a_check_that_hangs_is_a_timeout_not_a_hang(working, monkeypatch) -> None:  # noqa: ANN001
    def hangs() -> dict[str, str]:
        time.sleep(1.0)
        return {"keystore": "ok"}

    monkeypatch.setattr(health, "CHECKS", (*health.CHECKS[:2], (("keystore",), hangs)))
    report = health.check_health(deadline=0.1)
    assert (report.status, report.checks["keystore"]) == ("down", "timeout")
    assert report.checks["database"] == "ok"
