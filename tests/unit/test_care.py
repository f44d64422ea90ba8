"""关怀日历 (issue 5, acceptance 5): birthdays (found by the keyed month-day index, the date stays
encrypted), membership anniversaries and configured holidays in the next N days; greetings are
queued through the outbox only for customers who granted care greetings, never twice."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from sqlalchemy import select

from custapp import clock
from custapp.db import session_scope
from custapp.models import CareGreeting, Customer, OutboxMessage
from custapp.services import bootstrap, care, consent, customers, membership
from custapp.services.actor import Actor, system_actor
from custapp.services.errors import PermissionDenied, ValidationFailed

# 02:00 UTC on 10 June 2026 is 10:00 in Shanghai
NOW = datetime(2026, 6, 10, 2, 0, tzinfo=UTC)
SUBJECT, BODY = "生日快乐", "祝您生日快乐！本月到店享会员双倍积分。回复T退订"


def _staff(username: str, role: str) -> Actor:
    with session_scope() as session:
        user_id = bootstrap.create_staff_user(
            session, actor=system_actor("test"), username=username, display_name=username,
            roles=[role], password="Correct-horse-42",
        )  # fmt: skip
    return Actor(user_id=user_id, name=username, roles=frozenset({role}))


def _customer(name: str, phone: str | None, birth: str, care_answer: str | None) -> int:
    with session_scope() as session:
        cid = customers.create_customer(
            session,
            actor=system_actor("test"),
            data=customers.CustomerInput(
                name=name, phone=phone, email=None if phone else "x@example.com", birth_date=birth
            ),
        ).id
        if care_answer:
            consent.record_consents(
                session, actor=system_actor("test"), customer_id=cid,
                choices={"care": care_answer}, evidence_ref="F-1",
            )  # fmt: skip
    return cid


@pytest.fixture
def world(db) -> dict:
    clock.set_now(NOW)
    ids = {
        "granted": _customer("王生日", "13900000001", "1990-06-13", "grant"),
        "refused": _customer("李生日", "13900000002", "1985-06-13", "refuse"),
        "no_phone": _customer("赵生日", None, "1992-06-12", "grant"),
        "later": _customer("钱生日", "13900000003", "1991-07-20", "grant"),
        "today": _customer("孙今天", "13900000004", "2001-06-10", "grant"),
    }
    return {"manager": _staff("cs.manager", "cs_manager"), **ids}


def _calendar(actor: Actor, **kw) -> care.Calendar:
    with session_scope() as session:
        return care.care_calendar(session, actor=actor, **kw)


def _queue(actor: Actor, occasion: str, on: date) -> care.Queued:
    with session_scope() as session:
        return care.queue_greetings(
            session, actor=actor, occasion=occasion, on=on, subject=SUBJECT, body=BODY
        )


def _care_messages() -> list[int]:
    with session_scope() as session:
        return list(
            session.exec(
                select(OutboxMessage.customer_id)
                .where(OutboxMessage.purpose == "care")
                .order_by(OutboxMessage.customer_id)
            ).scalars()
        )


def test_birthdays_in_the_window_today_first_with_consent(world) -> None:  # noqa: ANN001
    found = _calendar(world["manager"], occasion="birthday", days=7)
    assert [(r.customer_id, r.on) for r in found.rows] == [
        (world["today"], date(2026, 6, 10)),
        (world["no_phone"], date(2026, 6, 12)),
        (world["granted"], date(2026, 6, 13)),
        (world["refused"], date(2026, 6, 13)),
    ]
    assert found.total == 4 and found.consenting == 3
    assert {r.customer_id: r.consented for r in found.rows}[world["refused"]] is False
    with session_scope() as session:  # the index, not the date, is what the lookup reads
        stored = session.get(Customer, world["granted"])
        assert "1990" not in (stored.birth_md_bidx or "") and "06-13" not in stored.birth_md_bidx


def test_greetings_only_for_consenting_customers_and_never_twice(world) -> None:  # noqa: ANN001
    done = _queue(world["manager"], "birthday", date(2026, 6, 13))
    assert (done.queued, done.left_out, done.already) == (1, 1, 0)
    assert _care_messages() == [world["granted"]]
    again = _queue(world["manager"], "birthday", date(2026, 6, 13))
    assert (again.queued, again.already) == (0, 1)
    assert _care_messages() == [world["granted"]]
    day = _calendar(world["manager"], occasion="birthday", days=7).rows
    assert {r.customer_id: r.queued for r in day}[world["granted"]] is True
    # no mobile number: left out though consenting
    assert _queue(world["manager"], "birthday", date(2026, 6, 12)).left_out == 1
    # withdrawing consent keeps a customer out of the next greeting
    with session_scope() as session:
        consent.withdraw_consent(
            session, actor=system_actor("test"), customer_id=world["today"], purpose="care"
        )
    assert _queue(world["manager"], "birthday", date(2026, 6, 10)).queued == 0
    with session_scope() as session:
        assert session.exec(select(CareGreeting.customer_id)).scalars().all() == [world["granted"]]


def test_anniversaries_and_holidays(world, monkeypatch) -> None:  # noqa: ANN001
    clock.set_now(datetime(2025, 6, 11, 4, 0, tzinfo=UTC))  # a card issued a year earlier
    with session_scope() as session:
        membership.issue_card(
            session, actor=system_actor("test"), customer_id=world["later"], tier_code="silver",
            application_signed=True, first_topup_fen=10000, topup_method="cash", fee_method="cash",
        )  # fmt: skip
    clock.set_now(NOW)
    found = _calendar(world["manager"], occasion="anniversary", days=3)
    assert [(r.customer_id, r.on, r.years) for r in found.rows] == [
        (world["later"], date(2026, 6, 11), 1)
    ]
    assert _queue(world["manager"], "anniversary", date(2026, 6, 11)).queued == 1

    clock.set_now(datetime(2026, 12, 30, 2, 0, tzinfo=UTC))
    feasts = _calendar(world["manager"], occasion="holiday", days=5).holidays
    assert [(h.on, h.name) for h in feasts] == [(date(2027, 1, 1), "元旦")]
    before = len(_care_messages())
    done = _queue(world["manager"], "holiday", date(2027, 1, 1))
    assert done.queued == 3  # granted, later, today (no_phone has no mobile; refused refused)
    assert len(_care_messages()) == before + 3
    with pytest.raises(ValidationFailed) as refused:
        _queue(world["manager"], "holiday", date(2026, 12, 31))
    assert refused.value.errors == {"on": "care.error.no_holiday"}


def test_a_29_february_birthday_is_greeted_on_28_february(world) -> None:  # noqa: ANN001
    leap = _customer("周闰日", "13900000009", "2000-02-29", "grant")
    clock.set_now(datetime(2027, 2, 27, 2, 0, tzinfo=UTC))
    found = _calendar(world["manager"], occasion="birthday", days=2)
    assert [(r.customer_id, r.on) for r in found.rows] == [(leap, date(2027, 2, 28))]


def test_only_campaign_managers_and_bad_input(world) -> None:  # noqa: ANN001
    for role in ("front_desk", "compliance", "auditor", "sysadmin"):
        actor = _staff(f"x.{role}", role)
        with pytest.raises(PermissionDenied):
            _calendar(actor)
        with pytest.raises(PermissionDenied):
            _queue(actor, "birthday", date(2026, 6, 13))
    with pytest.raises(ValidationFailed) as refused:
        _calendar(world["manager"], days=90)
    assert refused.value.errors == {"days": "care.error.days"}
    with pytest.raises(ValidationFailed) as refused:
        _queue(world["manager"], "birthday", date(2026, 9, 1))
    assert refused.value.errors == {"on": "care.error.day"}
    assert _care_messages() == []
