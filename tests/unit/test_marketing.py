"""营销名单 and campaigns (issue 4): only consenting customers with a contact are on a list, the
rest are counted by reason; a campaign queues through the outbox, which checks consent again
when queuing and when sending; only cs_manager may build lists or queue campaigns."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select, update

from custapp import clock
from custapp.db import session_scope
from custapp.models import (
    AuditEntry,
    Campaign,
    ConsentState,
    Customer,
    OutboxMessage,
    Purpose,
    User,
    UserRole,
)
from custapp.security.permissions import MEMBER
from custapp.services import consent, customer_search, customers, marketing, merge, outbox
from custapp.services.actor import Actor
from custapp.services.customer_input import CustomerInput
from custapp.services.errors import DomainError, PermissionDenied, ValidationFailed
from custapp.services.marketing import Segment
from custapp.services.senders import OutgoingMessage

T0 = datetime(2026, 5, 1, 2, 0, tzinfo=UTC)
SUBJECT = "春季新品品鉴会"
BODY = "本周六春季新品品鉴会，会员到店可免费品尝。回复T退订"


class Recorder:
    def __init__(self) -> None:
        self.messages: list[OutgoingMessage] = []

    def send(self, message: OutgoingMessage) -> None:
        self.messages.append(message)


def _staff(role: str) -> Actor:
    with session_scope() as session:
        user = User(
            kind="member" if role == MEMBER else "staff",
            username=f"u.{role}",
            display_name=f"{role} 用户",
            created_at=T0,
            updated_at=T0,
        )
        session.add(user)
        session.flush()
        if role != MEMBER:
            session.add(UserRole(user_id=user.id, role=role, granted_at=T0))
    kind = "member" if role == MEMBER else "staff"
    return Actor(user_id=user.id, name=f"u.{role}", kind=kind, roles=frozenset({role}))


@pytest.fixture
def people(db) -> dict[str, Actor]:
    clock.set_now(T0)
    return {"manager": _staff("cs_manager"), "desk": _staff("front_desk")}


_phones = iter(range(10_000_000, 99_999_999))


def _customer(
    desk: Actor, name: str, *, phone: bool = True, email: str = "", grade: str = "", tag: str = ""
) -> int:
    with session_scope() as session:
        customer_id = customers.create_customer(
            session,
            actor=desk,
            data=CustomerInput(
                name=name,
                phone=f"139{next(_phones)}" if phone else "",
                email=email,
                tags=[tag] if tag else None,
            ),
        ).id
        if grade:
            session.exec(update(Customer).where(Customer.id == customer_id).values(grade=grade))
    return customer_id


def _record(desk: Actor, customer_id: int, **choices: str) -> None:
    with session_scope() as session:
        consent.record_consents(
            session, actor=desk, customer_id=customer_id, choices=choices, evidence_ref="F-001"
        )


def _withdraw(desk: Actor, customer_id: int, purpose: str) -> None:
    with session_scope() as session:
        consent.withdraw_consent(session, actor=desk, customer_id=customer_id, purpose=purpose)


def _build(actor: Actor, purpose: str = "marketing_sms", segment: Segment | None = None, **kw):
    with session_scope() as session:
        return marketing.build_list(
            session, actor=actor, segment=segment or Segment(), purpose=purpose, **kw
        )


def _queue(actor: Actor, purpose: str = "marketing_sms", segment: Segment | None = None, **kw):
    return marketing.queue_campaign(
        session_scope,
        actor=actor,
        segment=segment or Segment(),
        purpose=purpose,
        subject=kw.pop("subject", SUBJECT),
        body=kw.pop("body", BODY),
        **kw,
    )


def _messages() -> list[tuple[int, str, str, str]]:
    """(customer, purpose, channel, status) of every customer message, by customer."""
    with session_scope(write=False) as session:
        return [
            tuple(r)
            for r in session.exec(
                select(
                    OutboxMessage.customer_id,
                    OutboxMessage.purpose,
                    OutboxMessage.channel,
                    OutboxMessage.status,
                )
                .where(OutboxMessage.customer_id.is_not(None))
                .order_by(OutboxMessage.customer_id, OutboxMessage.id)
            ).all()
        ]


def _audit(action: str) -> list[AuditEntry]:
    with session_scope() as session:  # a read-only scope rolls back, which expires the rows
        return list(
            session.exec(
                select(AuditEntry).where(AuditEntry.action == action).order_by(AuditEntry.seq)
            ).scalars()
        )


@pytest.fixture
def mixed(people) -> dict[str, int]:
    """One customer for each way onto or off a marketing-by-SMS list."""
    desk = people["desk"]
    ids = {
        "granted": _customer(desk, "纳入甲"),
        "granted_2": _customer(desk, "纳入乙"),
        "no_phone": _customer(desk, "无手机", phone=False, email="nophone@example.com"),
        "refused": _customer(desk, "拒绝者"),
        "withdrawn": _customer(desk, "撤回者"),
        "never_asked": _customer(desk, "未询问"),
        "other_purpose": _customer(desk, "只同意邮件", email="mail@example.com"),
    }
    for key in ("granted", "granted_2", "no_phone", "withdrawn"):
        _record(desk, ids[key], marketing_sms="grant")
    _record(desk, ids["refused"], marketing_sms="refuse", care="grant")
    _record(desk, ids["other_purpose"], marketing_email="grant", marketing_sms="refuse")
    _withdraw(desk, ids["withdrawn"], "marketing_sms")
    return ids


# --- the list ------------------------------------------------------------------------------------


def test_the_list_holds_only_consenting_customers_with_a_phone_and_counts_the_rest(people, mixed):
    result = _build(people["manager"])
    c = result.counts
    assert (c.segment, c.included, c.left_out) == (7, 2, 5)
    assert (c.refused, c.withdrawn, c.not_asked, c.no_contact, c.purpose_unusable) == (
        2,
        1,
        1,
        1,
        0,
    )
    assert [r.id for r in result.rows] == [mixed["granted"], mixed["granted_2"]]
    assert [r.name for r in result.rows] == ["纳入甲", "纳入乙"]
    for row in result.rows:
        assert "****" in row.contact_masked and len(row.contact_masked) == 11
        assert (row.grade, row.lifecycle) == ("E", "potential")


def test_the_email_list_needs_an_email_address(people, mixed):
    desk = people["desk"]
    no_email = _customer(desk, "无邮箱")
    _record(desk, no_email, marketing_email="grant")
    result = _build(people["manager"], "marketing_email")
    assert [r.id for r in result.rows] == [mixed["other_purpose"]]
    assert result.rows[0].contact_masked != "mail@example.com"
    assert "@" in result.rows[0].contact_masked
    assert (result.counts.included, result.counts.no_contact) == (1, 1)
    assert (result.counts.segment, result.counts.not_asked) == (8, 6)  # the rest never asked


def test_the_segment_uses_the_customer_lists_filters(people):
    desk, manager = people["desk"], people["manager"]
    a_vip = _customer(desk, "甲", grade="A", tag="VIP")
    a_plain = _customer(desk, "乙", grade="A")
    b_vip = _customer(desk, "丙", grade="B", tag="VIP")
    for customer_id in (a_vip, a_plain, b_vip):
        _record(desk, customer_id, care="grant")
    with session_scope() as session:  # an override decides the grade, as in the customer list
        customers.override_grade(
            session, actor=manager, customer_id=b_vip, grade="A", reason="年度大客户"
        )
    assert [r.id for r in _build(manager, "care", Segment(grade="A")).rows] == [
        a_vip,
        a_plain,
        b_vip,
    ]
    assert [r.id for r in _build(manager, "care", Segment(grade="A", tag="VIP")).rows] == [
        a_vip,
        b_vip,
    ]
    assert _build(manager, "care", Segment(lifecycle="lost")).counts.segment == 0
    # the same customers as the customer list shows for the same filters
    for segment in (Segment(grade="A"), Segment(tag="VIP"), Segment(grade="A", tag="VIP")):
        with session_scope() as session:
            shown = customer_search.search_customers(
                session, actor=desk, filters=segment.as_filter(), page_size=100
            )
        assert _build(manager, "care", segment).counts.segment == shown.total


def test_merged_customers_are_never_on_a_list(people):
    desk, manager = people["desk"], people["manager"]
    survivor, merged = _customer(desk, "留存档案"), _customer(desk, "被合并档案")
    for customer_id in (survivor, merged):
        _record(desk, customer_id, marketing_sms="grant")
    with session_scope() as session:
        merge.merge_customers(
            session, actor=manager, survivor_id=survivor, merged_id=merged, reason="重复建档"
        )
    result = _build(manager)
    assert [r.id for r in result.rows] == [survivor]
    assert result.counts.segment == 1
    queued = _queue(manager)
    assert queued.queued == 1
    assert [m[0] for m in _messages()] == [survivor]


def test_a_withdrawal_takes_the_customer_off_the_list(people, mixed):
    _withdraw(people["desk"], mixed["granted"], "marketing_sms")
    result = _build(people["manager"])
    assert [r.id for r in result.rows] == [mixed["granted_2"]]
    assert (result.counts.included, result.counts.withdrawn) == (1, 2)


def test_a_consent_awaiting_reconfirmation_still_counts(people, mixed):
    with session_scope() as session:  # a later notice changed the purposes (publish_notice)
        session.exec(
            update(ConsentState)
            .where(ConsentState.customer_id == mixed["granted"])
            .values(reconfirm_needed=True)
        )
    result = _build(people["manager"])
    assert (result.counts.included, result.counts.reconfirm) == (2, 1)
    assert mixed["granted"] in [r.id for r in result.rows]


def test_an_unusable_purpose_leaves_everybody_out_and_queues_nothing(people, mixed):
    with session_scope() as session:
        session.get(Purpose, "marketing_sms").enabled = False
    result = _build(people["manager"])
    assert (result.counts.included, result.counts.purpose_unusable) == (0, 7)
    assert result.rows == []
    with pytest.raises(DomainError) as refused:
        _queue(people["manager"])
    assert refused.value.key == "consent.why.purpose_unusable"
    assert _messages() == []


def test_pages_of_the_list(people):
    desk = people["desk"]
    ids = [_customer(desk, f"客户{i}") for i in range(5)]
    for customer_id in ids:
        _record(desk, customer_id, marketing_sms="grant")
    first = _build(people["manager"], page_size=2)
    third = _build(people["manager"], page=3, page_size=2)
    assert [r.id for r in first.rows] == ids[:2]
    assert [r.id for r in third.rows] == ids[4:]
    assert first.counts.included == third.counts.included == 5
    # paging through a list already counted: the page alone
    second = _build(people["manager"], page=2, page_size=2, with_counts=False)
    assert second.counts is None and [r.id for r in second.rows] == ids[2:4]
    assert "counts" not in json.loads(_audit("marketing.build_list")[-1].detail)


def test_building_a_list_is_audited_with_counts_and_no_personal_data(people, mixed):
    _build(people["manager"], segment=Segment(grade="E"))
    (entry,) = _audit("marketing.build_list")
    detail = json.loads(entry.detail)
    assert detail["purpose"] == "marketing_sms"
    assert detail["segment"] == {"grade": "E"}
    assert detail["counts"]["included"] == 2 and detail["counts"]["refused"] == 2
    assert "纳入" not in entry.detail and "139" not in entry.detail
    assert entry.actor_id == people["manager"].user_id


def test_the_purpose_choices_are_the_consent_based_ones_with_a_channel(people):
    with session_scope() as session:
        options = marketing.list_purposes(session, actor=people["manager"])
    assert [(o.code, o.channel, o.usable, o.sendable) for o in options] == [
        ("marketing_sms", "sms", True, True),
        ("marketing_phone", "phone", True, False),
        ("marketing_email", "email", True, True),
        ("care", "sms", True, True),
    ]


@pytest.mark.parametrize("purpose", ["service", "analytics", "third_party", "nonsense"])
def test_a_purpose_without_a_marketing_channel_is_refused(people, purpose):
    with pytest.raises(ValidationFailed) as refused:
        _build(people["manager"], purpose)
    assert refused.value.errors == {"purpose": "marketing.error.purpose"}


def test_a_segment_the_page_cannot_offer_is_refused(people):
    with pytest.raises(ValidationFailed) as refused:
        _build(people["manager"], segment=Segment(grade="Z", lifecycle="gone", tag="x" * 31))
    assert set(refused.value.errors) == {"grade", "lifecycle", "tag"}


# --- campaigns ------------------------------------------------------------------------------------


def test_a_campaign_queues_one_message_per_list_customer_in_batches(people, mixed):
    desk = people["desk"]
    more = [_customer(desk, f"批量{i}") for i in range(3)]
    for customer_id in more:
        _record(desk, customer_id, marketing_sms="grant")
    result = _queue(people["manager"], batch=2)
    expected = sorted([mixed["granted"], mixed["granted_2"], *more])
    assert result.queued == 5 and result.left_out == 5
    assert _messages() == [(i, "marketing_sms", "sms", "queued") for i in expected]
    with session_scope() as session:
        campaign = session.get(Campaign, result.campaign_id)
        (stored,) = session.exec(
            select(OutboxMessage).where(OutboxMessage.customer_id == expected[0])
        ).scalars()
        # the outbox keeps the text encrypted under the customer's key
        assert SUBJECT not in stored.subject_enc and BODY[:6] not in stored.body_enc
    assert (campaign.queued, campaign.left_out, campaign.purpose) == (5, 5, "marketing_sms")
    assert (campaign.subject, campaign.body) == (SUBJECT, BODY)
    assert campaign.created_by == people["manager"].user_id
    (created,) = _audit("campaign.create")
    (done,) = _audit("campaign.queue")
    assert json.loads(done.detail) == {"purpose": "marketing_sms", "queued": 5, "left_out": 5}
    assert created.target_id == done.target_id == str(result.campaign_id)
    for entry in (created, done):
        assert "批量" not in entry.detail and SUBJECT not in entry.detail


def test_refused_and_withdrawn_customers_never_get_a_campaign_message(people, mixed, monkeypatch):
    # Even a list that wrongly took everybody: the outbox asks permits for each message.
    monkeypatch.setattr(consent, "consenting", lambda purpose: Customer.id.is_not(None))
    result = _queue(people["manager"])
    got = {m[0] for m in _messages()}
    assert got == {mixed["granted"], mixed["granted_2"]}
    assert result.queued == 2
    for key in ("refused", "withdrawn", "never_asked", "other_purpose"):
        assert mixed[key] not in got


def test_a_withdrawal_after_queuing_stops_the_message(people, mixed):
    _queue(people["manager"])
    _withdraw(people["desk"], mixed["granted"], "marketing_sms")
    statuses = {m[0]: m[3] for m in _messages()}
    assert statuses == {mixed["granted"]: "cancelled", mixed["granted_2"]: "queued"}
    sender = Recorder()
    report = outbox.deliver_due(sender=sender)
    assert report.sent == 1 and len(sender.messages) == 1
    assert sender.messages[0].body == BODY


def test_the_outbox_refuses_at_send_time_what_consent_no_longer_covers(people, mixed):
    _queue(people["manager"])
    # The consent goes without the usual withdrawal path (the state replayed elsewhere, a
    # purpose taken out of use): nothing was cancelled, so the send-time check must stop it.
    with session_scope() as session:
        session.exec(
            update(ConsentState)
            .where(ConsentState.customer_id == mixed["granted"])
            .values(state="withdrawn")
        )
    sender = Recorder()
    report = outbox.deliver_due(sender=sender)
    assert (report.sent, report.cancelled) == (1, 1)
    statuses = {m[0]: m[3] for m in _messages()}
    assert statuses == {mixed["granted"]: "cancelled", mixed["granted_2"]: "sent"}


def test_the_phone_purpose_is_a_call_list_only(people):
    desk = people["desk"]
    customer_id = _customer(desk, "致电客户")
    _record(desk, customer_id, marketing_phone="grant")
    assert [r.id for r in _build(people["manager"], "marketing_phone").rows] == [customer_id]
    with pytest.raises(DomainError) as refused:
        _queue(people["manager"], "marketing_phone")
    assert refused.value.key == "marketing.error.call_list_only"
    assert _messages() == []
    with session_scope(write=False) as session:
        assert session.exec(select(func.count()).select_from(Campaign)).scalar_one() == 0


@pytest.mark.parametrize(
    ("subject", "body", "errors"),
    [
        ("", "", {"subject": "subject_required", "body": "body_required"}),
        ("  ", BODY, {"subject": "subject_required"}),
        ("主" * 101, BODY, {"subject": "subject_too_long"}),
        (SUBJECT, "字" * 501, {"body": "body_too_long"}),
    ],
)
def test_a_campaign_needs_a_subject_and_a_short_text(people, mixed, subject, body, errors):
    with pytest.raises(ValidationFailed) as refused:
        _queue(people["manager"], subject=subject, body=body)
    assert refused.value.errors == {f: f"marketing.error.{k}" for f, k in errors.items()}
    assert _messages() == []


def test_a_text_of_exactly_500_characters_is_accepted(people, mixed):
    assert _queue(people["manager"], body="字" * 500).queued == 2


def test_an_empty_list_starts_no_campaign(people, mixed):
    with pytest.raises(DomainError) as refused:
        _queue(people["manager"], segment=Segment(grade="A"))
    assert refused.value.key == "marketing.error.nobody"
    with session_scope(write=False) as session:
        assert session.exec(select(func.count()).select_from(Campaign)).scalar_one() == 0


def test_campaigns_are_listed_newest_first(people, mixed):
    manager = people["manager"]
    first = _queue(manager, subject="第一次活动")
    clock.set_now(datetime(2026, 5, 2, 2, 0, tzinfo=UTC))
    second = _queue(manager, "care", subject="节日问候")
    with session_scope(write=False) as session:
        rows, total = marketing.list_campaigns(session, actor=manager, page=1, page_size=1)
        older, _ = marketing.list_campaigns(session, actor=manager, page=2, page_size=1)
    assert total == 2
    assert [(r.id, r.subject, r.purpose_name) for r in rows] == [
        (second.campaign_id, "节日问候", "关怀问候")
    ]
    assert [(r.id, r.queued, r.left_out, r.segment) for r in older] == [
        (first.campaign_id, 2, 5, {})
    ]
    assert rows[0].created_by == "cs_manager 用户"
    assert second.queued == 1  # of everybody, only the customer who refused SMS granted care


# --- who may ------------------------------------------------------------------------------------

OTHER_ROLES = ["front_desk", "compliance", "auditor", "sysadmin", MEMBER]


@pytest.mark.parametrize("role", OTHER_ROLES)
def test_only_cs_manager_builds_lists_and_queues_campaigns(people, mixed, role):
    actor = people["desk"] if role == "front_desk" else _staff(role)
    calls = {
        "marketing.build_list": lambda: _build(actor),
        "marketing.start_campaign": lambda: _queue(actor),
        "marketing.list_campaigns": lambda: _list_campaigns(actor),
        "marketing.list_purposes": lambda: _list_purposes(actor),
    }
    for action, call in calls.items():
        with pytest.raises(PermissionDenied):
            call()
        (denial,) = [e for e in _audit(action) if e.actor_id == actor.user_id]
        assert (denial.outcome, denial.reason) == ("denied", "campaign.manage")
    assert _messages() == []
    with session_scope(write=False) as session:
        assert session.exec(select(func.count()).select_from(Campaign)).scalar_one() == 0
    assert [e.outcome for e in _audit("marketing.build_list")] == ["denied"]


def _list_campaigns(actor: Actor):
    with session_scope() as session:
        return marketing.list_campaigns(session, actor=actor)


def _list_purposes(actor: Actor):
    with session_scope() as session:
        return marketing.list_purposes(session, actor=actor)
