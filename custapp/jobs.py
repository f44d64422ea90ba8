"""The scheduled jobs: named steps, each with its own summary, and when each runs (SCHEDULE).

Adding a job is one line in STEPS and one in SCHEDULE. The scheduler (services/scheduler.py,
issue 17) queues each step's due slot as a durable job that a runner takes; `custapp jobs run`
still runs every step once, in STEPS' order, for a one-off. A step that fails is logged and
reported, and the later steps still run: a down mail server must not stop points from expiring.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, time, timedelta

from custapp import clock
from custapp.db import session_scope
from custapp.services.backup_jobs import run_daily_backup
from custapp.services.care import fill_birthday_index
from custapp.services.classification import run_daily
from custapp.services.complaints import run_escalations
from custapp.services.consent import notify_reconfirm
from custapp.services.destruction import run_daily as run_daily_destructions
from custapp.services.outbox import deliver_due
from custapp.services.points import run_expiry
from custapp.services.retention_scan import run_retention_scan
from custapp.services.senders import sender_from_settings

log = logging.getLogger(__name__)


def _deliver_outbox() -> dict:
    return asdict(deliver_due(sender=sender_from_settings()))


def _notice_changes() -> dict:
    return notify_reconfirm(session_scope)


def _run_destructions() -> dict:
    # approved candidates, keys a crash left in the key store, then VACUUM (PostgreSQL)
    return run_daily_destructions(session_scope)


STEPS: list[tuple[str, Callable[[], dict]]] = [
    ("notice_changes", _notice_changes),  # before delivery: the notices go out in this run
    ("outbox", _deliver_outbox),
    ("classification", run_daily),
    ("points_expiry", run_expiry),
    ("complaint_escalations", run_escalations),
    ("birthday_index", fill_birthday_index),
    # after classification (the lifecycle it reads); proposes, destroys nothing (issue 16, RT)
    ("retention_scan", run_retention_scan),
    # approved destructions still waiting (a deletion request's notice went out above)
    ("destruction_run", _run_destructions),
    # last: the backup holds the day's steps; at most one per local day, then rotation (issue 16)
    ("backup", run_daily_backup),
]


def run_jobs(*, progress: Callable[[int, int, str], None] | None = None) -> dict:
    """Run every step in order -> {step name: its summary, or {"error": exception class}}."""
    summary: dict[str, dict] = {}
    for done, (name, step) in enumerate(STEPS, start=1):
        try:
            summary[name] = step()
        except Exception as exc:
            log.exception("job step %s failed", name)
            summary[name] = {"error": type(exc).__name__}
        if progress:
            progress(done, len(STEPS), name)
    return summary


# --- when each step runs (issue 17) -------------------------------------------------------------


@dataclass(frozen=True)
class Schedule:
    """Every `every_minutes` minutes (slots on the clock's multiples), or daily at the local time
    `daily_at` (the configured zone). A daily step waits until the steps `after` have settled
    (done, or failed with no retry left) for the same local day: the order STEPS keeps."""

    every_minutes: int = 0
    daily_at: time | None = None
    after: tuple[str, ...] = ()

    def slot(self, now: datetime) -> datetime:
        """The newest slot that has begun at `now` (UTC)."""
        if self.daily_at is None:
            step = self.every_minutes * 60
            return datetime.fromtimestamp(int(now.timestamp()) // step * step, UTC)
        local = clock.to_local(now)
        start = datetime.combine(local.date(), self.daily_at, tzinfo=clock.zone())
        if start > local:
            start = datetime.combine(
                local.date() - timedelta(days=1), self.daily_at, tzinfo=clock.zone()
            )
        return start.astimezone(UTC)

    def next_slot(self, now: datetime) -> datetime:
        """The first slot that begins after `now` (UTC)."""
        if self.daily_at is None:
            return self.slot(now) + timedelta(minutes=self.every_minutes)
        local_start = clock.to_local(self.slot(now))
        following = datetime.combine(
            local_start.date() + timedelta(days=1), self.daily_at, tzinfo=clock.zone()
        )
        return following.astimezone(UTC)


NIGHTLY = time(2, 0)  # local: the quiet hours of the stores
_NIGHT = ("classification", "points_expiry", "birthday_index", "retention_scan", "destruction_run")

SCHEDULE: dict[str, Schedule] = {  # in STEPS' order
    # notices queued here go out with the outbox's next minute (notice_changes before outbox)
    "notice_changes": Schedule(every_minutes=5),
    "outbox": Schedule(every_minutes=1),
    "classification": Schedule(daily_at=NIGHTLY),
    "points_expiry": Schedule(daily_at=NIGHTLY),
    "complaint_escalations": Schedule(every_minutes=1),
    "birthday_index": Schedule(daily_at=NIGHTLY),
    "retention_scan": Schedule(daily_at=NIGHTLY, after=("classification",)),
    "destruction_run": Schedule(daily_at=NIGHTLY, after=("retention_scan",)),
    # last in the night: the backup holds what the night's steps did
    "backup": Schedule(daily_at=NIGHTLY, after=_NIGHT),
}
STEP_FUNCTIONS: dict[str, Callable[[], dict]] = dict(STEPS)
