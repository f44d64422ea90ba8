"""Health (issue 17): what the reverse proxy and monitoring ask of a worker, `GET /health`.

Each check answers a short key, never a value, a count, a name or an exception's text: the
endpoint is unauthenticated (a proxy calls it), so its answer must tell a stranger nothing but
whether the service works. Every check is a one-row read or a ping; none counts a big table.

- database: `SELECT 1` under a short statement timeout; the restore-in-progress marker (a
  half-restored instance must not serve). Not ok -> down.
- schema: the database's alembic revision is the code's head (an upgrade half done: the code
  runs against a schema it was not written for). Not ok -> down.
- redis (CUSTAPP_REDIS_URL set): PING. Reflex keeps every tab's state there, so no event can be
  handled without it. Not reachable -> down.
- keystore: one row of the key store (no customer's data opens without it). Not ok -> down.
- scheduler: the newest successful run of every minutely step (outbox, escalations) is at most
  SCHEDULER_LATE old, cluster-wide (the job table). Late -> degraded.
- audit_anchor: the checkpoint file readable, its MAC right, at most AUDIT_LAG entries behind
  the chain head and never ahead of it. Not ok -> degraded (the service works; tamper evidence
  is weaker until someone looks).

The overall status is the worst of them: ok, degraded (HTTP 200: keep routing) or down (503).
All checks run at once in a small pool of their own and are given DEADLINE_SECONDS in all; one
that has not answered by then is "timeout" (a database that hangs is down).
"""

from __future__ import annotations

import hmac
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import cache

from sqlalchemy import select, text
from sqlmodel import Session

from custapp import clock
from custapp.db import RestoreInProgress, restore_marker, session_scope
from custapp.jobs import SCHEDULE
from custapp.models import AuditHead, Job
from custapp.security import keystore
from custapp.services import audit, backup_backends
from custapp.services.scheduler import step_kind
from custapp.settings import get_settings
from custapp.vocab import JobStatus

OK, DEGRADED, DOWN = "ok", "degraded", "down"
DEADLINE_SECONDS = 2.0
STATEMENT_TIMEOUT_MS = 1500  # PostgreSQL: below the deadline, so a slow query ends on its own
SCHEDULER_LATE = timedelta(minutes=5)
RUNS_LOOKED_AT = 20  # a minutely step's newest runs: ~20 minutes, past SCHEDULER_LATE
AUDIT_LAG = 100  # entries committed whose checkpoint advance is still on its way
MINUTELY_STEPS = tuple(name for name, s in SCHEDULE.items() if s.every_minutes == 1)

# which overall status a check's failure means
SEVERITY = {
    "database": DOWN,
    "schema": DOWN,
    "redis": DOWN,
    "keystore": DOWN,
    "scheduler": DEGRADED,
    "audit_anchor": DEGRADED,
}
_RANK = {OK: 0, DEGRADED: 1, DOWN: 2}
_FINE = {"ok", "not_used"}

# Its own few threads: a hanging database never takes the handlers' threads, and while every
# one of these hangs, further checks queue and answer "timeout" at the deadline.
_pool = ThreadPoolExecutor(max_workers=4, thread_name_prefix="health")


@dataclass(frozen=True)
class HealthReport:
    status: str  # ok | degraded | down
    checks: dict[str, str]  # check name -> short key ("ok", "late", "unreachable", …)

    def as_json(self) -> dict:
        return {"status": self.status, "checks": dict(self.checks)}


# --- the database and what is read from it -------------------------------------------------------


@cache
def code_head() -> str | None:
    """The newest migration this code knows (alembic's scripts, read once per process)."""
    return backup_backends.code_head()


@cache
def _known(revision: str) -> bool:
    return backup_backends.revision_known(revision)


def _statement_timeout(session: Session) -> None:
    if session.get_bind().dialect.name == "postgresql":
        session.exec(text(f"SET LOCAL statement_timeout = {STATEMENT_TIMEOUT_MS}"))


def _schema(session: Session) -> str:
    revision = session.exec(text("SELECT version_num FROM alembic_version")).scalar()
    if revision == code_head():
        return "ok"
    if not revision:
        return "not_migrated"
    # older: `custapp migrate` still to run; unknown: a newer schema than this code (the code
    # was rolled back without restoring the database)
    return "migration_pending" if _known(revision) else "revision_unknown"


def _newest_success(session: Session, name: str) -> datetime | None:
    """When the step last ran to its end, among its RUNS_LOOKED_AT newest runs (ix_jobs_kind:
    a bounded read however long it has been failing)."""
    newest = (
        select(Job.id, Job.status, Job.finished_at)
        .where(Job.kind == step_kind(name))
        .order_by(Job.id.desc())
        .limit(RUNS_LOOKED_AT)
        .subquery()
    )
    found = session.exec(
        select(newest.c.finished_at)
        .where(newest.c.status == JobStatus.DONE.value)
        .order_by(newest.c.id.desc())
        .limit(1)
    ).scalar()
    if found is not None and found.tzinfo is None:  # SQLite keeps no zone: stored as UTC
        found = found.replace(tzinfo=UTC)
    return found


def _scheduler(session: Session) -> str:
    now = clock.now()
    for name in MINUTELY_STEPS:
        last = _newest_success(session, name)
        if last is None:
            return "not_run"
        if now - last > SCHEDULER_LATE:
            return "late"
    return "ok"


def _audit_anchor(session: Session) -> str:
    head_seq = session.exec(select(AuditHead.seq).where(AuditHead.id == 1)).scalar() or 0
    try:
        checkpoint = audit.read_checkpoint()
    except OSError:
        return "unreadable"
    if checkpoint is None:
        return "ok" if head_seq == 0 else "missing"
    expected = audit._checkpoint_mac(checkpoint["seq"], checkpoint.get("mac", ""))  # noqa: SLF001
    if not hmac.compare_digest(str(checkpoint.get("check", "")), expected):
        return "invalid"
    if checkpoint["seq"] > head_seq:
        return "ahead"
    return "behind" if head_seq - checkpoint["seq"] > AUDIT_LAG else "ok"


def _database_checks() -> dict[str, str]:
    """database, schema, scheduler and audit_anchor: one read-only transaction, a few one-row
    reads. A check that cannot be made because the database is not there says "skipped"."""
    skipped = {"schema": "skipped", "scheduler": "skipped", "audit_anchor": "skipped"}
    if restore_marker().exists():
        return {"database": "restore_in_progress", **skipped}
    try:
        with session_scope(write=False) as session:
            _statement_timeout(session)
            session.exec(text("SELECT 1")).scalar_one()
            checks = {"database": "ok", "schema": _schema(session)}
            if checks["schema"] != "ok":  # the queries below assume this code's tables
                return {**checks, "scheduler": "skipped", "audit_anchor": "skipped"}
            checks["scheduler"] = _scheduler(session)
            checks["audit_anchor"] = _audit_anchor(session)
            return checks
    except RestoreInProgress:
        return {"database": "restore_in_progress", **skipped}
    except Exception:  # noqa: BLE001 (what went wrong goes nowhere: a stranger reads this)
        return {"database": "unreachable", **skipped}


# --- outside the database -------------------------------------------------------------------------


def _redis() -> dict[str, str]:
    url = get_settings().redis_url
    if not url:
        return {"redis": "not_used"}
    import redis

    client = redis.Redis.from_url(
        url, socket_timeout=DEADLINE_SECONDS / 2, socket_connect_timeout=DEADLINE_SECONDS / 2
    )
    try:
        return {"redis": "ok" if client.ping() else "unreachable"}
    except Exception:  # noqa: BLE001
        return {"redis": "unreachable"}
    finally:
        client.close()


def _keystore() -> dict[str, str]:
    try:
        with keystore.engine().connect() as conn:
            conn.exec_driver_sql("SELECT 1 FROM keys LIMIT 1").first()
        return {"keystore": "ok"}
    except Exception:  # noqa: BLE001
        return {"keystore": "unreachable"}


CHECKS: tuple[tuple[tuple[str, ...], Callable[[], dict[str, str]]], ...] = (
    (("database", "schema", "scheduler", "audit_anchor"), _database_checks),
    (("redis",), _redis),
    (("keystore",), _keystore),
)


def overall(checks: dict[str, str]) -> str:
    worst = OK
    for name, result in checks.items():
        if result not in _FINE and result != "skipped":
            severity = SEVERITY[name]
            worst = severity if _RANK[severity] > _RANK[worst] else worst
    return worst


def check_health(*, deadline: float = DEADLINE_SECONDS) -> HealthReport:
    """Every check at once, `deadline` seconds in all -> the report (never raises)."""
    futures = [(names, _pool.submit(check)) for names, check in CHECKS]
    checks: dict[str, str] = {}
    ends = time.monotonic() + deadline
    for names, future in futures:
        try:
            checks.update(future.result(timeout=max(0.0, ends - time.monotonic())))
        except FutureTimeout:  # the first name is the check itself; the rest depend on it
            checks.update({names[0]: "timeout", **dict.fromkeys(names[1:], "skipped")})
        except Exception:  # noqa: BLE001
            checks.update(dict.fromkeys(names, "error"))
    return HealthReport(status=overall(checks), checks=checks)
