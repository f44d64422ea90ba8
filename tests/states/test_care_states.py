"""关怀日历 handlers called directly (issue 15): queuing greetings returns at once with a job, the
page's progress vars show what the job row says, and once a runner has done the job the page
shows the counts and the greeted badges."""

from __future__ import annotations

import pytest
import run_async
from helpers import _staff_login, _tree
from sqlalchemy import func, select

from custapp import clock, job_runner
from custapp.db import session_scope
from custapp.i18n import t
from custapp.models import CareGreeting, Job
from custapp.pages.care import CareState
from custapp.services import consent, customers, job_queue
from custapp.services.actor import system_actor
from custapp.vocab import JobKind

SUBJECT, BODY = "生日快乐", "祝您生日快乐！回复T退订"


@pytest.fixture
def world(db) -> list[int]:  # noqa: ANN001
    """Three customers born today who granted care greetings."""
    today = clock.local_today()
    birth = f"1990-{today:%m-%d}" if f"{today:%m-%d}" != "02-29" else "1992-02-29"
    ids = []
    with session_scope() as session:
        for i in range(3):
            cid = customers.create_customer(
                session,
                actor=system_actor("test"),
                data=customers.CustomerInput(
                    name=f"寿星{i}", phone=f"1365550120{i}", birth_date=birth
                ),
            ).id
            consent.record_consents(
                session, actor=system_actor("test"), customer_id=cid, choices={"care": "grant"},
                evidence_ref="F-1",
            )  # fmt: skip
            ids.append(cid)
    return ids


def _jobs() -> list[Job]:
    with session_scope() as session:
        return list(session.exec(select(Job).order_by(Job.id)).scalars())


def _greeted() -> int:
    with session_scope() as session:
        return session.exec(select(func.count()).select_from(CareGreeting)).scalar_one()


def _watch(state: CareState) -> list:
    async def collect() -> list:
        return [event async for event in CareState.watch_job.fn(state)]

    return run_async.run(collect())


def test_queuing_returns_at_once_with_a_job_whose_progress_the_page_shows(world):
    _, state = _tree(_staff_login("care.manager", "cs_manager"), CareState, "/care")
    assert state.load() is None
    assert [r.consented for r in state.rows] == [True, True, True]
    state.open_queue()
    state.set_queue_day(clock.local_today().isoformat())

    assert state.submit_queue({"subject": SUBJECT, "body": BODY}) is CareState.watch_job
    (job,) = _jobs()
    assert (job.kind, job.status, job.progress_total) == (JobKind.CARE_GREETINGS, "queued", 3)
    assert _greeted() == 0  # the handler queued the job, not the greetings
    assert not state.queue_open and state.job_active
    assert (state.job_status, state.job_text) == ("queued", t("care.job.queued", "en"))

    # a runner has done one of three: the page reads the row
    with session_scope() as session:
        claim = job_queue.claim_next(session, owner="test", kinds=[JobKind.CARE_GREETINGS])
    with session_scope() as session:
        job_queue.heartbeat(session, job_id=claim.id, owner="test", done=1, total=3)
    assert state._show_job(state._read_job()) is False
    assert (state.job_status, state.job_done, state.job_total) == ("running", 1, 3)
    assert state.job_text == t("care.job.running", "en", done=1, total=3)
    with session_scope() as session:
        job_queue.release(session, job_id=claim.id, owner="test")

    # the runner does it all; the watch shows the counts and the greeted badges
    assert job_runner.work(once=True) == 1
    events = _watch(state)
    done = t("care.queued", "en", queued=3, left_out=0, already=0)
    assert any(done in str(e.args) and '"success"' in str(e.args) for e in events), events
    assert not state.job_active and state.job_status == "done"
    assert [r.queued for r in state.rows] == [True, True, True]
    assert _greeted() == 3

    # a page load while a job runs finds it and watches it
    state.open_queue()
    state.submit_queue({"subject": SUBJECT, "body": BODY})
    _, fresh = _tree(_staff_login("care.other", "cs_manager"), CareState, "/care")
    assert CareState.watch_job in fresh.load()
    assert fresh.job_active and fresh.job_total == 3


def test_another_role_gets_no_job(world):
    _, state = _tree(_staff_login("care.desk", "front_desk"), CareState, "/care")
    state.load()
    state.set_queue_day(clock.local_today().isoformat())
    assert state.submit_queue({"subject": SUBJECT, "body": BODY}) is None
    assert state.queue_error == t("error.permission_denied", "en")
    assert _jobs() == [] and not state.job_active
    assert _watch(state) == []
