"""The scheduled jobs (`custapp jobs run`): named steps run in order, each with its own summary.

Adding a job is one line in STEPS. A step that fails is logged and reported, and the later steps
still run: a down mail server must not stop points from expiring.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import asdict

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
