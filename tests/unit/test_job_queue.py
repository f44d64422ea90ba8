"""Durable jobs (issue 15, acceptance 2): two runners never hold the same job; a 5,000-greeting
campaign runs as a job in chunks; a runner that dies mid-way leaves a lease that runs out, and a
second runner completes the job with exactly one greeting per customer and its progress full."""

from __future__ import annotations

import json
import threading
from datetime import UTC, date, datetime, timedelta
from types import SimpleNamespace

import pytest
from sqlalchemy import func, select, text

from custapp import clock, job_runner
from custapp.db import session_scope
from custapp.models import CareGreeting, ConsentState, Customer, Job, OutboxMessage, User
from custapp.services import (
    bootstrap,
    care,
    consent,
    customer_fields,
    customers,
    job_queue,
    marketing,
)
from custapp.services.actor import Actor, system_actor
from custapp.services.errors import DomainError
from custapp.vocab import JobKind, JobStatus

# 02:00 UTC on 30 December 2026: 元旦 (a configured holiday) is two days ahead
NOW = datetime(2026, 12, 30, 2, 0, tzinfo=UTC)
NEW_YEAR = date(2027, 1, 1)
CUSTOMERS = 5000
SUBJECT, BODY = "新年快乐", "祝您新年快乐，万事如意！回复T退订"


def _manager() -> Actor:
    with session_scope() as session:
        user_id = bootstrap.create_staff_user(
            session, actor=system_actor("test"), username="cs.manager", display_name="经理",
            roles=["cs_manager"], password="Correct-horse-42",
        )  # fmt: skip
    return Actor(user_id=user_id, name="cs.manager", roles=frozenset({"cs_manager"}))


def _customers(n: int) -> list[int]:
    """n customers who granted care greetings, each with a mobile number: the first through the
    services, the others inserted in bulk beside it (its data key, its consent event)."""
    system = system_actor("test")
    with session_scope() as session:
        first = customers.create_customer(
            session,
            actor=system,
            data=customers.CustomerInput(name="客户0", phone="13900000000"),
        ).id
        consent.record_consents(
            session, actor=system, customer_id=first, choices={"care": "grant"},
            evidence_ref="F-1",
        )  # fmt: skip
    with session_scope() as session:
        model = session.get(Customer, first)
        granted = session.get(ConsentState, (first, "care"))
        rows = []
        for i in range(1, n):
            bag = SimpleNamespace(data_key_id=model.data_key_id)
            customer_fields.write(session, bag, "phone", f"139{i:08d}")  # type: ignore[arg-type]
            row = Customer(
                number=f"T{i:011d}", name=f"客户{i}", created_at=NOW, updated_at=NOW, **vars(bag)
            )
            rows.append(row.model_dump(exclude={"id"}))
        session.execute(Customer.__table__.insert(), rows)
        ids = list(
            session.exec(select(Customer.id).where(Customer.id != first).order_by(Customer.id))
            .scalars()
            .all()
        )
        session.execute(
            ConsentState.__table__.insert(),
            [
                {
                    "customer_id": cid,
                    "purpose": "care",
                    "state": "granted",
                    "notice_version": granted.notice_version,
                    "last_event_id": granted.last_event_id,
                    "updated_at": NOW,
                    "reconfirm_needed": False,
                    "reconfirm_notified": False,
                }
                for cid in ids
            ],
        )
    return [first, *ids]


def _job(job_id: int) -> Job:
    with session_scope() as session:  # a read-only scope rolls back, which expires the row
        return session.get(Job, job_id)


def _greetings() -> tuple[int, int]:
    """(greetings, distinct customers greeted) for new year's day."""
    with session_scope(write=False) as session:
        return session.exec(
            select(func.count(), func.count(func.distinct(CareGreeting.customer_id))).where(
                CareGreeting.on_date == NEW_YEAR
            )
        ).one()


class _Died(BaseException):
    """The runner's process ends: nothing of it runs any more (no fail, no release)."""


class _DiesAfter(job_queue.JobContext):
    """A runner that dies after `steps` committed steps."""

    def __init__(self, claim: job_queue.Claim, steps: int) -> None:
        super().__init__(claim)
        self.left = steps

    def step(self):  # noqa: ANN201
        if self.left == 0:
            raise _Died
        self.left -= 1
        return super().step()


@pytest.fixture
def manager(db) -> Actor:  # noqa: ANN001
    clock.set_now(NOW)
    return _manager()


def _enqueue(count: int = 1, kind: str = JobKind.CARE_GREETINGS) -> list[int]:
    with session_scope() as session:
        return [
            job_queue.enqueue(session, kind=kind, params={"n": i}, created_by=None)
            for i in range(count)
        ]


def _claim(owner: str) -> job_queue.Claim | None:
    with session_scope() as session:
        return job_queue.claim_next(session, owner=owner, kinds=[JobKind.CARE_GREETINGS])


def test_two_runners_cannot_claim_the_same_job(manager) -> None:  # noqa: ANN001
    (job_id,) = _enqueue()
    start, got = threading.Barrier(2), {}

    def race(owner: str) -> None:
        start.wait()
        got[owner] = _claim(owner)

    threads = [threading.Thread(target=race, args=(o,)) for o in ("A", "B")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    winners = [owner for owner, claim in got.items() if claim is not None]
    assert len(winners) == 1 and got[winners[0]].id == job_id
    assert _job(job_id).lease_owner == winners[0]
    # two jobs, two runners: one each
    second, third = _enqueue(2)
    assert {_claim("A").id, _claim("B").id} == {second, third}
    assert _claim("C") is None


def test_a_lapsed_lease_passes_the_job_on_and_the_old_holder_writes_nothing(manager) -> None:  # noqa: ANN001
    (job_id,) = _enqueue()
    first = _claim("A")
    assert _claim("B") is None  # held
    clock.set_now(NOW + job_queue.lease() + timedelta(seconds=1))
    second = _claim("B")
    assert second is not None and second.id == job_id
    with pytest.raises(job_queue.LeaseLost), session_scope() as session:
        job_queue.heartbeat(session, job_id=first.id, owner="A", done=1, total=2)
    row = _job(job_id)
    assert (row.lease_owner, row.attempts, row.progress_done) == ("B", 2, 0)


def test_a_job_claimed_too_often_is_failed_not_run_again(manager) -> None:  # noqa: ANN001
    (job_id,) = _enqueue()
    for attempt in range(job_queue.MAX_ATTEMPTS):
        clock.set_now(NOW + attempt * (job_queue.lease() + timedelta(seconds=1)))
        assert _claim(f"runner-{attempt}") is not None
    clock.set_now(clock.now() + job_queue.lease() + timedelta(seconds=1))
    assert _claim("last") is None
    row = _job(job_id)
    assert (row.status, row.error) == (JobStatus.FAILED, job_queue.ABANDONED_KEY)


def test_a_cancelled_job_stops_at_its_next_step(manager) -> None:  # noqa: ANN001
    (job_id,) = _enqueue()
    claim = _claim("A")
    with session_scope() as session:
        assert job_queue.cancel(session, job_id)
    context = job_queue.JobContext(claim)
    with pytest.raises(job_queue.LeaseLost), context.step():
        pytest.fail("a cancelled job's step must not run")
    assert _job(job_id).status == JobStatus.CANCELLED


def test_a_5000_greeting_campaign_survives_the_runner_that_started_it(manager) -> None:  # noqa: ANN001
    ids = _customers(CUSTOMERS)
    with session_scope() as session:
        job_id = care.start_greetings(
            session, actor=manager, occasion="holiday", on=NEW_YEAR, subject=SUBJECT, body=BODY
        )
    row = _job(job_id)
    assert (row.status, row.progress_done, row.progress_total) == ("queued", 0, CUSTOMERS)
    _assert_no_plaintext(job_id, [SUBJECT, BODY])  # the text travels encrypted
    assert _greetings() == (0, 0)  # nothing queued until a runner takes it

    # runner A takes the job, commits three chunks, and dies
    claim = _claim("A")
    with pytest.raises(_Died):
        care.run_greetings_job(_DiesAfter(claim, steps=3))
    row = _job(job_id)
    assert (row.status, row.lease_owner) == ("running", "A")
    assert row.progress_done == 3 * care.CHUNK == _greetings()[0]

    # while A's lease lasts nobody takes the job; once it ran out, runner B completes it
    assert job_runner.Runner(owner="B").run_one() is False
    clock.set_now(NOW + job_queue.lease() + timedelta(seconds=1))
    assert job_runner.work(once=True, runner=job_runner.Runner(owner="B")) == 1

    row = _job(job_id)
    assert (row.status, row.error, row.attempts) == ("done", None, 2)
    assert row.progress_done == row.progress_total == CUSTOMERS
    with session_scope(write=False) as session:
        view = care.greeting_job(session, actor=manager, job_id=job_id)
        messages = session.exec(
            select(func.count(func.distinct(OutboxMessage.customer_id))).where(
                OutboxMessage.purpose == "care"
            )
        ).scalar_one()
    assert view.result == {"queued": CUSTOMERS, "left_out": 0, "already": 0}
    assert _greetings() == (CUSTOMERS, CUSTOMERS)  # exactly one greeting per customer
    assert messages == len(ids) == CUSTOMERS
    # A, back from the dead, can write nothing any more
    with pytest.raises(job_queue.LeaseLost), job_queue.JobContext(claim).step():
        pytest.fail("a step of a runner that lost its lease must not run")


def test_a_greeting_job_stops_when_its_creator_may_no_longer(manager) -> None:  # noqa: ANN001
    _customers(3)
    with session_scope() as session:
        job_id = care.start_greetings(
            session, actor=manager, occasion="holiday", on=NEW_YEAR, subject=SUBJECT, body=BODY
        )
        session.get(User, manager.user_id).is_active = False
    job_runner.work(once=True)
    row = _job(job_id)
    assert (row.status, row.error) == ("failed", "error.permission_denied")
    assert _greetings() == (0, 0)


def test_a_campaign_job_is_refused_to_others_and_checked_first(manager) -> None:  # noqa: ANN001
    desk = Actor(user_id=None, name="desk", roles=frozenset({"front_desk"}))
    with pytest.raises(DomainError), session_scope() as session:
        care.start_greetings(
            session, actor=desk, occasion="holiday", on=NEW_YEAR, subject=SUBJECT, body=BODY
        )
    with pytest.raises(DomainError), session_scope() as session:
        care.start_greetings(
            session, actor=manager, occasion="holiday", on=NEW_YEAR, subject="", body=BODY
        )
    with session_scope(write=False) as session:
        assert session.exec(select(func.count()).select_from(Job)).scalar_one() == 0


def _strings(value: object) -> list[str]:
    """Every text in a JSON value, keys too."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for k, v in value.items() for s in (*_strings(k), *_strings(v))]
    if isinstance(value, list):
        return [s for item in value for s in _strings(item)]
    return []


def _job_texts(job_id: int) -> list[str]:
    """The jobs row's text columns as stored, and every text in its JSON decoded: json.dumps
    writes Chinese as \\u escapes, which a plain `in` on the column would never find."""
    with session_scope(write=False) as session:
        params, result, error = session.execute(
            text("SELECT params, result, error FROM jobs WHERE id = :id"), {"id": job_id}
        ).one()
    stored = [params, result, error or ""]
    return stored + _strings(json.loads(params)) + _strings(json.loads(result))


def _assert_no_plaintext(job_id: int, secrets: list[str]) -> None:
    texts = _job_texts(job_id)
    for secret in secrets:
        assert not any(secret in t for t in texts), f"{secret!r} in the jobs row"


def test_a_greeting_jobs_row_holds_no_plaintext_text_or_customer_data(manager) -> None:  # noqa: ANN001
    subject, body = "Greeting-Subject 新年快乐", "Greeting-Body 祝您新年快乐 回复T退订"
    ids = _customers(3)
    with session_scope() as session:
        job_id = care.start_greetings(
            session, actor=manager, occasion="holiday", on=NEW_YEAR, subject=subject, body=body
        )
    secrets = [subject, body, "新年快乐", "Greeting-Body", "13900000000", "客户0", "客户2"]
    _assert_no_plaintext(job_id, secrets)  # queued: the params
    assert job_runner.work(once=True) == 1
    row = _job(job_id)
    assert row.status == JobStatus.DONE and row.progress_done == len(ids)
    _assert_no_plaintext(job_id, secrets)  # done: the checkpoint and the result too


def test_a_campaign_jobs_row_holds_no_campaign_text_or_customer_data(manager) -> None:  # noqa: ANN001
    subject, body = "Campaign-Subject 春季品鉴", "Campaign-Body 会员到店免费品尝 回复T退订"
    system = system_actor("test")
    with session_scope() as session:
        customer_id = customers.create_customer(
            session,
            actor=system,
            data=customers.CustomerInput(name="营销客户", phone="13911112222"),
        ).id
        consent.record_consents(
            session, actor=system, customer_id=customer_id, choices={"marketing_sms": "grant"},
            evidence_ref="F-2",
        )  # fmt: skip
    with session_scope() as session:
        started = marketing.start_campaign(
            session, actor=manager, segment=marketing.Segment(), purpose="marketing_sms",
            subject=subject, body=body,
        )  # fmt: skip
    secrets = [subject, body, "春季品鉴", "Campaign-Body", "13911112222", "营销客户"]
    _assert_no_plaintext(started.job_id, secrets)
    assert job_runner.work(once=True) == 1
    assert _job(started.job_id).status == JobStatus.DONE
    _assert_no_plaintext(started.job_id, secrets)
