"""The scheduler (issue 17, acceptance 3): two runners ticking at once run each due step exactly
once (threads, each on its own connection; on PostgreSQL two processes too); a failing step is
retried after 1, 5 and 15 minutes, then stays failed until the next slot, which runs as usual;
the night's order holds; 立即运行 is audited and refused while the step runs; a restore in
progress stops the tick; every role but sysadmin is refused."""

from __future__ import annotations

import multiprocessing
import os
import threading
from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from custapp import clock, job_runner
from custapp.db import RestoreInProgress, restore_marker, session_scope
from custapp.jobs import SCHEDULE, STEP_FUNCTIONS, STEPS
from custapp.models import AuditEntry, Job
from custapp.services import bootstrap, scheduler
from custapp.services.actor import Actor, system_actor
from custapp.services.errors import DomainError, PermissionDenied
from custapp.vocab import JobStatus

# 02:00:20 in Asia/Shanghai on 8 December 2026 (18:00:20 UTC the day before): the night's slot
NIGHT = datetime(2026, 12, 7, 18, 0, 20, tzinfo=UTC)
NIGHT_STEPS = [name for name, s in SCHEDULE.items() if s.daily_at is not None]


@pytest.fixture
def calls(db, monkeypatch) -> Counter:  # noqa: ANN001
    """Every step replaced by one that counts its runs (the real steps have their own tests)."""
    counted: Counter = Counter()
    lock = threading.Lock()

    def fake(name: str):  # noqa: ANN202
        def run() -> dict:
            with lock:
                counted[name] += 1
            return {"customers": 3}

        return run

    for name in STEP_FUNCTIONS:
        monkeypatch.setitem(STEP_FUNCTIONS, name, fake(name))
    clock.set_now(NIGHT)
    return counted


def _runner(owner: str) -> job_runner.Runner:
    return job_runner.Runner(owner=owner)


def _round(owner: str) -> None:
    """One round of a runner: tick, then run what is queued."""
    job_runner.tick()
    _runner(owner).run_until_empty()


def _jobs() -> list[Job]:
    with session_scope() as session:  # a read-only scope rolls back, which expires the rows
        return list(session.exec(select(Job).order_by(Job.id)).scalars())


def _sysadmin() -> Actor:
    with session_scope() as session:
        user_id = bootstrap.create_staff_user(
            session, actor=system_actor("test"), username="the.admin", display_name="管理员",
            roles=["sysadmin"], password="Correct-horse-42",
        )  # fmt: skip
    return Actor(user_id=user_id, name="the.admin", roles=frozenset({"sysadmin"}))


def test_the_schedule_covers_every_step_and_its_order() -> None:
    assert list(SCHEDULE) == [name for name, _ in STEPS]
    for name, schedule in SCHEDULE.items():
        assert (schedule.every_minutes > 0) != (schedule.daily_at is not None), name
        assert all(before in NIGHT_STEPS for before in schedule.after), name
    assert SCHEDULE["outbox"].every_minutes == SCHEDULE["complaint_escalations"].every_minutes == 1
    assert SCHEDULE["notice_changes"].every_minutes == 5
    assert "classification" in SCHEDULE["retention_scan"].after
    assert set(SCHEDULE["backup"].after) == set(NIGHT_STEPS) - {"backup"}


def test_slots_follow_the_local_clock(db) -> None:  # noqa: ANN001
    nightly = SCHEDULE["classification"]
    # 01:59 local on the 8th: the newest night slot is the 7th's, the next the 8th's 02:00
    before = datetime(2026, 12, 7, 17, 59, tzinfo=UTC)
    assert nightly.slot(before) == datetime(2026, 12, 6, 18, 0, tzinfo=UTC)
    assert nightly.next_slot(before) == datetime(2026, 12, 7, 18, 0, tzinfo=UTC)
    assert nightly.slot(NIGHT) == datetime(2026, 12, 7, 18, 0, tzinfo=UTC)
    five = SCHEDULE["notice_changes"]
    assert five.slot(NIGHT + timedelta(minutes=7)) == datetime(2026, 12, 7, 18, 5, tzinfo=UTC)
    assert five.next_slot(NIGHT) == datetime(2026, 12, 7, 18, 5, tzinfo=UTC)


def test_two_runners_ticking_at_once_run_each_due_step_once(calls: Counter) -> None:
    start = threading.Barrier(2)
    errors: list[BaseException] = []

    def runner(owner: str) -> None:
        try:
            start.wait()
            for _ in range(len(NIGHT_STEPS) + 1):  # the night's order takes a few rounds
                _round(owner)
                start.wait()
        except BaseException as exc:  # noqa: BLE001 (reported below)
            errors.append(exc)
            start.abort()

    threads = [threading.Thread(target=runner, args=(o,)) for o in ("A", "B")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors, errors
    assert calls == Counter(dict.fromkeys(SCHEDULE, 1))
    jobs = _jobs()
    assert len(jobs) == len(SCHEDULE)
    assert {j.status for j in jobs} == {JobStatus.DONE}
    assert {j.slot_key.split("@")[0] for j in jobs} == set(SCHEDULE)
    # another tick in the same slots queues nothing more
    assert job_runner.tick() == []


def _tick_in_process(url: str, instance: str, now: str, out) -> None:  # noqa: ANN001
    """A second process: its own engine and connection, the same database."""
    os.environ["CUSTAPP_DATABASE_URL"], os.environ["CUSTAPP_INSTANCE_DIR"] = url, instance
    from custapp import clock as child_clock
    from custapp.db import dispose_engines

    dispose_engines()
    child_clock.set_now(datetime.fromisoformat(now))
    out.put(job_runner.tick())


@pytest.mark.parametrize("db", ["postgresql"], indirect=True)
def test_two_processes_ticking_at_once_queue_each_slot_once(calls: Counter) -> None:
    context = multiprocessing.get_context("spawn")
    out = context.Queue()
    env = (os.environ["CUSTAPP_DATABASE_URL"], os.environ["CUSTAPP_INSTANCE_DIR"])
    procs = [
        context.Process(target=_tick_in_process, args=(*env, NIGHT.isoformat(), out))
        for _ in range(2)
    ]
    for proc in procs:
        proc.start()
    queued = [out.get(timeout=60) for _ in procs]
    for proc in procs:
        proc.join(timeout=60)
    first_round = [k for k in SCHEDULE if not SCHEDULE[k].after]
    assert sorted(queued[0] + queued[1]) == sorted(
        scheduler.slot_key(n, SCHEDULE[n].slot(NIGHT), 1) for n in first_round
    )
    assert len(_jobs()) == len(first_round)


def test_the_unique_slot_key_queues_a_slot_once(calls: Counter) -> None:
    slot = SCHEDULE["outbox"].slot(NIGHT)
    with session_scope() as session:
        assert scheduler._insert_once(session, name="outbox", slot=slot, tries=1, now=NIGHT)
    with session_scope() as session:
        assert not scheduler._insert_once(session, name="outbox", slot=slot, tries=1, now=NIGHT)
    assert len(_jobs()) == 1


def test_the_night_runs_in_order(calls: Counter) -> None:
    queued = job_runner.tick()
    assert {k.split("@")[0] for k in queued} == {
        n for n, s in SCHEDULE.items() if not s.after
    }  # retention_scan waits for classification, the backup for the whole night
    _runner("A").run_until_empty()
    assert {k.split("@")[0] for k in job_runner.tick()} == {"retention_scan"}
    _runner("A").run_until_empty()
    assert {k.split("@")[0] for k in job_runner.tick()} == {"destruction_run"}
    _runner("A").run_until_empty()
    assert {k.split("@")[0] for k in job_runner.tick()} == {"backup"}


def test_a_failing_step_is_retried_with_backoff_then_stays_failed(
    calls: Counter, monkeypatch
) -> None:  # noqa: ANN001
    def broken() -> dict:
        calls["classification"] += 1
        raise RuntimeError("/secret/path at line 3")

    monkeypatch.setitem(STEP_FUNCTIONS, "classification", broken)
    _round("A")
    assert calls["classification"] == 1
    for wait, tries in ((timedelta(seconds=50), 1), (timedelta(seconds=15), 2)):
        clock.advance(wait)
        _round("A")
        assert calls["classification"] == tries
    for wait in (timedelta(minutes=5), timedelta(minutes=15)):
        clock.advance(wait - timedelta(seconds=5))
        _round("A")  # not yet
        clock.advance(timedelta(seconds=5))
        _round("A")
    assert calls["classification"] == 4
    clock.advance(timedelta(hours=2))
    for _ in range(3):  # the rest of the night, step by step
        _round("A")
    assert calls["classification"] == 4  # no fifth try in this slot
    tries = [j for j in _jobs() if j.kind == scheduler.step_kind("classification")]
    assert [j.status for j in tries] == [JobStatus.FAILED] * 4
    assert {j.error for j in tries} == {"job.error.failed"}  # a message key, no trace
    assert [j.slot_key[-2:] for j in tries] == ["#1", "#2", "#3", "#4"]
    # retention_scan waited for it to settle, then ran; the next night runs as usual
    assert calls["retention_scan"] == 1 and calls["backup"] == 1
    monkeypatch.setitem(STEP_FUNCTIONS, "classification", lambda: {"customers": 1})
    clock.set_now(NIGHT + timedelta(days=1))
    _round("A")
    newest = [j for j in _jobs() if j.kind == scheduler.step_kind("classification")][-1]
    assert newest.status == JobStatus.DONE and newest.slot_key.endswith("#1")


def test_a_slot_that_comes_while_the_step_still_runs_is_merged_into_it(calls: Counter) -> None:
    job_runner.tick()
    assert calls["outbox"] == 0  # queued, not run
    clock.advance(timedelta(minutes=1))
    queued = job_runner.tick()
    assert not [k for k in queued if k.startswith("outbox@")]
    _runner("A").run_until_empty()
    assert calls["outbox"] == 1
    clock.advance(timedelta(seconds=30))  # the same minute: the next slot's run is due now
    assert [k for k in job_runner.tick() if k.startswith("outbox@")]


def test_run_now_is_audited_and_refused_while_the_step_runs(calls: Counter) -> None:
    admin = _sysadmin()
    with session_scope() as session:
        job_id = scheduler.run_now(session, actor=admin, step="birthday_index")
    with session_scope() as session, pytest.raises(DomainError) as refused:
        scheduler.run_now(session, actor=admin, step="birthday_index")
    assert refused.value.key == scheduler.RUNNING_KEY
    with session_scope() as session, pytest.raises(DomainError) as unknown:
        scheduler.run_now(session, actor=admin, step="rm -rf")
    assert unknown.value.key == scheduler.UNKNOWN_KEY
    # the tick leaves a step alone while its 立即运行 is unfinished
    assert not [k for k in job_runner.tick() if k.startswith("birthday_index@")]
    _runner("A").run_until_empty()
    assert calls["birthday_index"] == 1
    with session_scope(write=False) as session:
        view = scheduler.get_run(session, actor=admin, job_id=job_id)
        runs, total = scheduler.list_runs(session, actor=admin, step="birthday_index")
        audited = session.exec(
            select(func.count()).where(AuditEntry.action == "jobs.run_now")
        ).scalar_one()
    assert view.status == JobStatus.DONE and view.result == {"customers": 3}
    assert total == 1 and runs[0].tries == 0 and runs[0].by == "the.admin"
    assert audited == 1


def test_a_restore_in_progress_stops_the_tick(calls: Counter) -> None:
    restore_marker().parent.mkdir(parents=True, exist_ok=True)
    restore_marker().write_text("")
    with pytest.raises(RestoreInProgress):
        job_runner.tick()
    restore_marker().unlink()
    assert _jobs() == []


@pytest.mark.parametrize("role", ["front_desk", "cs_manager", "compliance", "auditor", "member"])
def test_only_sysadmin_reads_or_runs_the_steps(calls: Counter, role: str) -> None:
    actor = Actor(user_id=None, name=f"the.{role}", roles=frozenset({role}))
    calls_to = (
        (scheduler.step_overview, {}),
        (scheduler.list_runs, {}),
        (scheduler.get_run, {"job_id": 1}),
        (scheduler.run_now, {"step": "outbox"}),
    )
    for fn, kwargs in calls_to:
        with session_scope() as session, pytest.raises(PermissionDenied):
            fn(session, actor=actor, **kwargs)
    assert _jobs() == []


def test_jobs_tick_runs_what_is_due_and_the_night_in_order(calls: Counter) -> None:
    assert job_runner.tick_and_run() == len(SCHEDULE)
    assert calls == Counter(dict.fromkeys(SCHEDULE, 1))
    order = [j.kind for j in _jobs()]
    assert order.index("step.classification") < order.index("step.retention_scan")
    assert order[-1] == "step.backup"
    assert job_runner.tick_and_run() == 0  # the same minute: nothing more is due


def test_runs_older_than_the_history_kept_go_once_a_night(calls: Counter) -> None:
    old = NIGHT - timedelta(days=scheduler.HISTORY_DAYS + 1)
    with session_scope() as session:
        session.add(Job(kind="step.outbox", status="done", created_at=old, slot_key="outbox@old#1"))
        session.add(Job(kind="care.greetings", status="done", created_at=old))  # a page's job
        session.add(Job(kind="step.outbox", status="done", created_at=NIGHT - timedelta(days=2)))
    job_runner.tick()
    left = _jobs()
    assert "outbox@old#1" not in {j.slot_key for j in left}
    assert [j.kind for j in left[:2]] == ["care.greetings", "step.outbox"]
