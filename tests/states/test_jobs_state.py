"""任务 handlers called directly, as any browser may call any public handler (issue 17,
acceptance 3): sysadmin sees every step with its schedule and next run, a failing step's retries
and then its failure in a row on the page, and runs a step now (audited; refused while it runs)
while the page shows it queued. Every other role is sent home by the page, and 立即运行 called
anyway is refused by the service, audited, and queues nothing."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest
import reflex as rx
import run_async
from helpers import _member, _member_token, _staff, _staff_token, _tree
from reflex_base.event import EventSpec
from sqlalchemy import func, select

from custapp import clock, job_runner
from custapp.db import session_scope
from custapp.jobs import SCHEDULE, STEP_FUNCTIONS
from custapp.models import AuditEntry, Job
from custapp.pages.jobs import JobsState
from custapp.security.permissions import MEMBER

MEMBER_PHONE = "13700004444"
OTHER_ROLES = ["front_desk", "cs_manager", "compliance", "auditor", MEMBER]
NIGHT = datetime(2026, 12, 7, 18, 0, 20, tzinfo=UTC)  # 02:00:20 in Asia/Shanghai


USERS: dict[str, int] = {}


@pytest.fixture
def world(db, monkeypatch) -> Counter:  # noqa: ANN001
    """The accounts (their ids in USERS), and every step replaced by one that counts its runs."""
    USERS.clear()
    USERS["sysadmin"] = _staff("the.sysadmin", "sysadmin")
    for role in OTHER_ROLES[:-1]:
        USERS[role] = _staff(f"the.{role}", role)
    USERS[MEMBER] = _member(MEMBER_PHONE)
    counted: Counter = Counter()

    def fake(name: str):  # noqa: ANN202
        def run() -> dict:
            counted[name] += 1
            return {"sent": 2, "failed": 0}

        return run

    for name in STEP_FUNCTIONS:
        monkeypatch.setitem(STEP_FUNCTIONS, name, fake(name))
    return counted


def _logged_in(role: str) -> tuple[rx.State, JobsState]:
    token = (
        _member_token(MEMBER_PHONE, ip=None)
        if role == MEMBER
        else _staff_token(f"the.{role}", ip=None)
    )
    return _tree(token, JobsState, "/jobs")


def _events(result) -> list[EventSpec]:  # noqa: ANN001
    events = result if isinstance(result, list) else [result]
    assert events and all(isinstance(e, EventSpec) for e in events), result
    return events


def _toast(result, kind: str, message: str) -> bool:  # noqa: ANN001
    return any(
        "__toast" in str(e.args) and f'"{kind}"' in str(e.args) and message in str(e.args)
        for e in _events(result)
    )


def _jobs() -> int:
    with session_scope() as session:
        return session.exec(select(func.count()).select_from(Job)).scalar_one()


def _round() -> None:
    job_runner.tick()
    job_runner.work(once=True)


def test_the_page_lists_every_step_empty_at_first(world) -> None:  # noqa: ANN001
    _, state = _logged_in("sysadmin")
    assert state.load() is None
    assert state.loaded and state.total == 0 and state.rows == []
    assert [row.step for row in state.steps] == list(SCHEDULE)
    by_step = {row.step: row for row in state.steps}
    outbox, backup = by_step["outbox"], by_step["backup"]
    assert outbox.name == state._t("jobs.step.outbox") != "jobs.step.outbox"
    assert outbox.schedule == state._t("jobs.schedule.every_minute")
    assert backup.schedule.startswith(state._t("jobs.schedule.daily", time="02:00"))
    assert backup.schedule.endswith(state._t("jobs.schedule.after_night"))
    retention = by_step["retention_scan"].schedule
    assert retention.endswith(
        state._t("jobs.schedule.after", steps=state._t("jobs.step.classification"))
    )
    assert all(r.last_text == state._t("jobs.never_run") and r.can_run for r in state.steps)
    assert all(r.next_at and r.failures == 0 for r in state.steps)


def test_a_failing_step_is_retried_then_shows_as_failed(world, monkeypatch) -> None:  # noqa: ANN001
    def broken() -> dict:
        raise RuntimeError("connection refused at /srv/secret")

    monkeypatch.setitem(STEP_FUNCTIONS, "points_expiry", broken)
    clock.set_now(NIGHT)
    _round()
    for wait in (1, 5, 15):
        clock.advance(timedelta(minutes=wait))
        _round()
    _, state = _logged_in("sysadmin")
    state.load()
    row = {r.step: r for r in state.steps}["points_expiry"]
    assert row.last_outcome == "failed" and row.failures == 4
    assert row.failures_text == state._t("jobs.failures", count=4)
    assert row.last_text == state._t("jobs.outcome.failed")
    assert row.last_summary == state._t("job.error.failed")
    assert "secret" not in str(state.steps) + str(state.rows)  # no trace, no message
    runs = [r for r in state.rows if r.name == row.name]
    assert [r.trigger for r in runs] == [
        state._t("jobs.trigger.retry", count=3),
        state._t("jobs.trigger.retry", count=2),
        state._t("jobs.trigger.retry", count=1),
        state._t("jobs.trigger.schedule"),
    ]
    assert {r.outcome for r in runs} == {"failed"}
    done = {r.step: r for r in state.steps}["classification"]
    assert done.last_outcome == "done" and done.failures == 0
    assert done.last_summary == (
        f"{state._t('jobs.count.failed')} 0 · {state._t('jobs.count.sent')} 2"
    )


def test_sysadmin_runs_a_step_now_and_sees_it_queued(world) -> None:  # noqa: ANN001
    _, state = _logged_in("sysadmin")
    state.load()
    result = state.run_now("birthday_index")
    assert JobsState.watch_job in result
    assert state.job_active and state.job_step == "birthday_index"
    row = {r.step: r for r in state.steps}["birthday_index"]
    assert not row.can_run and row.state == "queued"
    assert row.state_text == state._t("jobs.state.queued")
    assert _toast(state.run_now("birthday_index"), "error", state._t("jobs.error.step_running"))
    assert _toast(state.run_now("no_such_step"), "error", state._t("jobs.error.unknown_step"))
    assert _jobs() == 1
    # a reload finds the run unfinished and watches it again
    _, again = _logged_in("sysadmin")
    assert JobsState.watch_job in again.load()

    async def run_and_watch() -> list:
        job_runner.work(once=True)
        return [event async for event in JobsState.watch_job.fn(state)]

    events = run_async.run(run_and_watch())
    name = state._t("jobs.step.birthday_index")
    assert _toast(events, "success", state._t("jobs.job.done", step=name))
    assert world["birthday_index"] == 1 and not state.job_active
    (run,) = state.rows
    assert run.trigger == state._t("jobs.trigger.manual", user="the.sysadmin")
    assert run.outcome == "done"
    with session_scope() as session:
        audited = session.exec(
            select(AuditEntry.target_id).where(AuditEntry.action == "jobs.run_now")
        ).scalars()
        audited = list(audited)
    assert audited == ["birthday_index"]


@pytest.mark.parametrize("role", OTHER_ROLES)
def test_every_other_role_is_sent_home_and_refused(world, role: str) -> None:  # noqa: ANN001
    _, state = _logged_in(role)
    events = _events(state.load())
    assert _toast(events, "error", state._t("error.page_denied"))
    home = "/portal" if role == MEMBER else "/"
    redirects = [str(e.args) for e in events if e.handler.fn.__qualname__ == "_redirect"]
    assert len(redirects) == 1 and f'"{home}"' in redirects[0], redirects
    assert state.steps == [] and state.rows == []
    denied = state._t("error.permission_denied")
    assert _toast(state.run_now("outbox"), "error", denied)
    assert _toast(state.refresh(), "error", denied)
    assert _jobs() == 0 and state.steps == [] and state.rows == [] and not state.job_active
    with session_scope() as session:
        actions = session.exec(
            select(AuditEntry.action)
            .where(AuditEntry.outcome == "denied", AuditEntry.actor_id == USERS[role])
            .order_by(AuditEntry.seq)
        ).scalars()
        actions = list(actions)
    assert actions == ["page.open:/jobs", "scheduler.run_now", "scheduler.step_overview"]
