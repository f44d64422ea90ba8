"""The consent ledger (issue 4): append-only events, the state as their replay, the one
enforcement function, withdrawal cancelling queued messages, and merge (more restrictive wins)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select, text
from sqlalchemy.exc import DBAPIError

from custapp import clock
from custapp.db import session_scope
from custapp.models import (
    ConsentEvent,
    ConsentState,
    Customer,
    OutboxMessage,
    Purpose,
    User,
    UserRole,
)
from custapp.services import consent, customers, merge, outbox
from custapp.services.actor import Actor
from custapp.services.customer_input import CustomerInput
from custapp.services.errors import DomainError, NotFound, ValidationFailed

T0 = datetime(2026, 5, 1, 2, 0, tzinfo=UTC)


def _staff(role: str) -> Actor:
    with session_scope() as session:
        user = User(username=f"u.{role}", display_name=role, created_at=T0, updated_at=T0)
        session.add(user)
        session.flush()
        session.add(UserRole(user_id=user.id, role=role, granted_at=T0))
    return Actor(user_id=user.id, name=f"u.{role}", roles=frozenset({role}))


@pytest.fixture
def desk(db) -> Actor:
    clock.set_now(T0)
    return _staff("front_desk")


def _customer(actor: Actor, name: str = "王小明", phone: str = "13912345678") -> int:
    with session_scope() as session:
        return customers.create_customer(
            session, actor=actor, data=CustomerInput(name=name, phone=phone)
        ).id


def _record(actor: Actor, customer_id: int, **choices: str) -> None:
    with session_scope() as session:
        consent.record_consents(
            session, actor=actor, customer_id=customer_id, choices=choices, evidence_ref="F-001"
        )


def _permits(customer_id: int, purpose: str) -> bool:
    with session_scope(write=False) as session:
        return consent.permits(session, customer_id=customer_id, purpose=purpose)


def _states(customer_id: int) -> dict[str, str]:
    with session_scope(write=False) as session:
        rows = session.exec(
            select(ConsentState).where(ConsentState.customer_id == customer_id)
        ).scalars()
        return {r.purpose: r.state for r in rows}


# --- append-only ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE consent_events SET action = 'grant'",
        "UPDATE consent_events SET customer_id = customer_id",
        "DELETE FROM consent_events",
    ],
)
def test_events_can_never_be_updated_or_deleted(desk, statement):
    customer_id = _customer(desk)
    _record(desk, customer_id, marketing_sms="refuse")
    with pytest.raises(DBAPIError, match="append-only"), session_scope() as session:
        session.exec(text(statement))
    with session_scope(write=False) as session:
        (event,) = session.exec(select(ConsentEvent)).scalars()
        assert (event.action, event.customer_id) == ("refuse", customer_id)


def test_the_table_cannot_be_truncated_on_postgresql(desk):
    if _backend() != "postgresql":
        pytest.skip("TRUNCATE is PostgreSQL's")
    _record(desk, _customer(desk), care="grant")
    with pytest.raises(DBAPIError, match="append-only"), session_scope() as session:
        session.exec(text("TRUNCATE consent_events CASCADE"))


def _backend() -> str:
    from custapp.db import get_engine

    return get_engine().dialect.name


# --- the state is the replay of the events ---------------------------------------------------------

STEPS = st.lists(
    st.tuples(
        st.sampled_from(["grant", "refuse", "withdraw"]),
        st.sampled_from(["marketing_sms", "care", "analytics"]),
    ),
    min_size=1,
    max_size=12,
)


@settings(
    max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(steps=STEPS)
def test_the_current_state_always_equals_the_replay_of_the_events(desk, steps):
    customer_id = _customer(desk, phone=f"139{abs(hash(tuple(steps))) % 10**8:08d}")
    for action, purpose in steps:
        try:
            if action == "withdraw":
                with session_scope() as session:
                    consent.withdraw_consent(
                        session, actor=desk, customer_id=customer_id, purpose=purpose
                    )
            else:
                _record(desk, customer_id, **{purpose: action})
        except ValidationFailed:
            assert action == "withdraw"  # withdrawing what is not granted: refused, nothing saved
        with session_scope(write=False) as session:
            events = session.exec(
                select(ConsentEvent).where(ConsentEvent.customer_id == customer_id)
            ).scalars()
            replayed = {p: r.state for p, r in consent.replay(events.all()).items()}
        assert _states(customer_id) == replayed


# --- recording -----------------------------------------------------------------------------------


def test_counter_consent_needs_written_evidence_and_offered_purposes(desk):
    customer_id = _customer(desk)
    with pytest.raises(ValidationFailed) as refused, session_scope() as session:
        consent.record_consents(
            session,
            actor=desk,
            customer_id=customer_id,
            choices={"care": "grant", "service": "grant", "cross_border": "grant", "x": "grant"},
        )
    assert refused.value.errors == {
        "evidence_ref": "consent.error.evidence_required",
        "purpose.service": "consent.error.purpose_not_offered",  # the contract, not a choice
        "purpose.cross_border": "consent.error.purpose_not_offered",  # disabled by default
        "purpose.x": "consent.error.purpose_not_offered",
    }
    with pytest.raises(ValidationFailed) as refused, session_scope() as session:
        consent.record_consents(
            session,
            actor=desk,
            customer_id=customer_id,
            choices={"care": "maybe"},
            evidence_ref="F-1",
        )
    assert refused.value.errors == {"purpose.care": "consent.error.choice"}
    assert _states(customer_id) == {}


def test_recording_keeps_the_notice_version_channel_operator_and_evidence(desk):
    customer_id = _customer(desk)
    _record(desk, customer_id, marketing_sms="grant", care="grant", analytics="refuse")
    with session_scope(write=False) as session:
        rows, total = consent.consent_events(session, actor=desk, customer_id=customer_id)
    assert total == 3
    assert {(r.purpose, r.action, r.notice_version, r.channel, r.evidence_ref) for r in rows} == {
        ("marketing_sms", "grant", 1, "counter", "F-001"),
        ("care", "grant", 1, "counter", "F-001"),
        ("analytics", "refuse", 1, "counter", "F-001"),
    }
    assert {r.operator_name for r in rows} == {desk.name}


def test_members_reach_only_their_own_consents(desk):
    mine, other = _customer(desk), _customer(desk, "李四", "13912340000")
    member = Actor(user_id=None, name="member#1", kind="member", roles=frozenset({"member"}),
                   customer_id=mine)  # fmt: skip
    with session_scope() as session:
        consent.member_record_consents(session, actor=member, choices={"care": "grant"})
    assert _states(mine) == {"care": "granted"} and _states(other) == {}
    with session_scope() as session:
        consent.member_withdraw_consent(session, actor=member, purpose="care")
    assert _states(mine) == {"care": "withdrawn"}
    unlinked = Actor(user_id=None, name="member#2", kind="member", roles=frozenset({"member"}))
    with pytest.raises(NotFound), session_scope() as session:
        consent.member_consent_states(session, actor=unlinked)


# --- enforcement ---------------------------------------------------------------------------------


def test_permits_answers_by_lawful_basis_state_and_notice(desk):
    customer_id = _customer(desk)
    assert _permits(customer_id, "service")  # the contract: no consent needed
    assert _permits(None, "marketing_sms")  # a staff message
    assert not _permits(customer_id, "marketing_sms")  # never asked
    assert not _permits(customer_id, "no_such_purpose")
    _record(desk, customer_id, marketing_sms="grant", analytics="refuse")
    assert _permits(customer_id, "marketing_sms") and not _permits(customer_id, "analytics")
    with session_scope() as session:
        session.get(Purpose, "marketing_sms").enabled = False
    assert not _permits(customer_id, "marketing_sms")  # disabled: refused at once


def test_a_withdrawal_cancels_queued_messages_for_that_purpose_at_once(desk):
    customer_id = _customer(desk)
    _record(desk, customer_id, marketing_sms="grant", care="grant")
    with session_scope() as session:
        key = session.exec(
            select(Customer.data_key_id).where(Customer.id == customer_id)
        ).scalar_one()
        ids = {
            purpose: outbox.queue_message(
                session,
                channel="sms",
                purpose=purpose,
                subject="s",
                body="b",
                recipient="13912345678",
                customer_id=customer_id,
                customer_key_id=key,
            )  # fmt: skip
            for purpose in ("marketing_sms", "care")
        }
    with session_scope() as session:
        consent.withdraw_consent(
            session, actor=desk, customer_id=customer_id, purpose="marketing_sms"
        )
    with session_scope(write=False) as session:
        status = {p: session.get(OutboxMessage, i).status for p, i in ids.items()}
    assert status == {"marketing_sms": "cancelled", "care": "queued"}
    with pytest.raises(DomainError, match="outbox.error.no_consent"), session_scope() as session:
        outbox.queue_message(
            session, channel="sms", purpose="marketing_sms", subject="s", body="b",
            recipient="13912345678", customer_id=customer_id, customer_key_id=key,
        )  # fmt: skip


def test_withdrawing_what_is_not_granted_is_refused(desk):
    customer_id = _customer(desk)
    _record(desk, customer_id, care="refuse")
    for purpose in ("care", "marketing_sms"):
        with pytest.raises(ValidationFailed), session_scope() as session:
            consent.withdraw_consent(session, actor=desk, customer_id=customer_id, purpose=purpose)


# --- merge ---------------------------------------------------------------------------------------


def test_merging_keeps_the_more_restrictive_state_as_new_events(desk):
    manager = _staff("cs_manager")
    survivor = _customer(desk, "张三", "13911110000")
    merged = _customer(desk, "张三", "13911110001")
    _record(desk, survivor, marketing_sms="grant", care="refuse", analytics="grant")
    _record(desk, merged, marketing_sms="refuse", care="grant", marketing_email="grant")
    with session_scope() as session:
        consent.withdraw_consent(session, actor=desk, customer_id=merged, purpose="care")
    with session_scope() as session:
        merge.merge_customers(
            session, actor=manager, survivor_id=survivor, merged_id=merged, reason="重复建档"
        )
    assert _states(survivor) == {
        "marketing_sms": "refused",  # granted vs refused: refused
        "care": "withdrawn",  # refused vs withdrawn: withdrawn
        "analytics": "granted",  # only the survivor's
        "marketing_email": "granted",  # only the merged customer's: carried over
    }
    with session_scope(write=False) as session:
        carried = session.exec(
            select(ConsentEvent).where(
                ConsentEvent.customer_id == survivor, ConsentEvent.channel == "merge"
            )
        ).scalars()
        assert {(e.purpose, e.action) for e in carried} == {
            ("marketing_sms", "refuse"),
            ("care", "withdraw"),
            ("marketing_email", "grant"),
        }
        merged_events = session.exec(
            select(ConsentEvent).where(ConsentEvent.customer_id == merged)
        ).scalars()
        assert len(merged_events.all()) == 4  # the merged customer's own ledger stays as it was
