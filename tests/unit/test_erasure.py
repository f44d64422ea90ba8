"""Erasure on request (删除权, issue 16, ER): a member files a deletion request, compliance accepts
it into the destruction queue, two people appraise and approve it, the notice that the data is
about to be deleted is queued first and the destruction waits while it is on its way, then the
request closes itself with the candidate's number; a refusal carries its legal reason and is told
to the customer; one open deletion request per customer; who may do what."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from custapp import clock
from custapp.db import session_scope
from custapp.models import (
    AuditEntry,
    Customer,
    DestructionCandidate,
    OutboxMessage,
    RightsRequest,
)
from custapp.services import (
    bootstrap,
    complaints,
    customers,
    destruction,
    erasure,
    membership,
    outbox,
    points,
    rights,
)
from custapp.services.actor import Actor, system_actor
from custapp.services.customers import CustomerInput
from custapp.services.errors import DomainError, PermissionDenied, ValidationFailed
from custapp.services.senders import OutgoingMessage

T0 = datetime(2026, 3, 2, 2, 0, tzinfo=UTC)  # 10:00 in Shanghai
ZHANG_PHONE = "13912345678"
LI_PHONE = "13800001111"
ASKED = "请删除我在贵店的全部个人信息，联系电话13912345678"
WORDS = "贵店须按合同保存至2027年"


class Recorder:
    """A sender that keeps what it was given."""

    def __init__(self) -> None:
        self.messages: list[OutgoingMessage] = []

    def send(self, message: OutgoingMessage) -> None:
        self.messages.append(message)


class Unreachable:
    def send(self, message: OutgoingMessage) -> None:
        raise ConnectionRefusedError("gateway down")


def _staff(username: str, role: str) -> Actor:
    with session_scope() as session:
        user_id = bootstrap.create_staff_user(
            session,
            actor=system_actor("test"),
            username=username,
            display_name=username,
            roles=[role],
            password="Correct-horse-42",
        )
    return Actor(user_id=user_id, name=username, roles=frozenset({role}))


def _member(customer_id: int) -> Actor:
    return Actor(user_id=None, name=f"member#{customer_id}", kind="member",
                 roles=frozenset({"member"}), customer_id=customer_id)  # fmt: skip


@pytest.fixture
def world(db) -> dict:
    clock.set_now(T0)
    desk = _staff("desk.one", "front_desk")
    people = {
        "desk": desk,
        "manager": _staff("cs.manager", "cs_manager"),
        "comp": _staff("comp.one", "compliance"),
        "comp2": _staff("comp.two", "compliance"),
        "auditor": _staff("the.auditor", "auditor"),
    }
    with session_scope() as session:
        for key, name, phone in (("zhang", "张三", ZHANG_PHONE), ("li", "李四", LI_PHONE)):
            people[key] = customers.create_customer(
                session, actor=desk, data=CustomerInput(name=name, phone=phone)
            ).id
        people["wu"] = customers.create_customer(  # a landline only: nobody to text
            session, actor=desk, data=CustomerInput(name="吴座机", phone2="010-62345678")
        ).id
    return people


def _member_files(customer_id: int, detail: str = ASKED) -> rights.RequestRef:
    with session_scope() as session:
        return rights.member_file_request(
            session, actor=_member(customer_id), kind="deletion", detail=detail
        )


def _desk_files(world: dict, customer_id: int, kind: str = "deletion") -> rights.RequestRef:
    with session_scope() as session:
        return rights.file_request(
            session, actor=world["desk"], customer_id=customer_id, kind=kind, channel="letter",
            detail="来信要求删除本人全部个人信息",
        )  # fmt: skip


def _accept(actor: Actor, request_id: int) -> erasure.CandidateRef:
    with session_scope() as session:
        return erasure.accept_deletion(session, actor=actor, request_id=request_id)


def _review(actor: Actor, request_id: int) -> erasure.ErasureReview:
    with session_scope() as session:
        return erasure.deletion_review(session, actor=actor, request_id=request_id)


def _close(actor: Actor, request_id: int, status: str, **kw) -> None:
    with session_scope() as session:
        rights.close_request(session, actor=actor, request_id=request_id, status=status, **kw)


def _request(request_id: int) -> RightsRequest:
    with session_scope(write=False) as session:
        row = session.get(RightsRequest, request_id)
        session.expunge(row)
        return row


def _candidate(number: str) -> DestructionCandidate:
    with session_scope(write=False) as session:
        row = session.exec(
            select(DestructionCandidate).where(DestructionCandidate.number == number)
        ).scalar_one()
        session.expunge(row)
        return row


def _messages(customer_id: int) -> list[tuple[int, str, str, str]]:
    with session_scope(write=False) as session:
        return [
            tuple(r)
            for r in session.exec(
                select(
                    OutboxMessage.id, OutboxMessage.channel, OutboxMessage.purpose,
                    OutboxMessage.status,
                )
                .where(OutboxMessage.customer_id == customer_id)
                .order_by(OutboxMessage.id)
            ).all()
        ]  # fmt: skip


def _destroyed(customer_id: int) -> bool:
    with session_scope(write=False) as session:
        return session.get(Customer, customer_id).destroyed_at is not None


def _audit(action: str) -> list[AuditEntry]:
    with session_scope(write=False) as session:
        rows = list(
            session.exec(
                select(AuditEntry).where(AuditEntry.action == action).order_by(AuditEntry.seq)
            ).scalars()
        )
        for row in rows:
            session.expunge(row)
        return rows


def _appraise_and_approve(world: dict, number: str) -> destruction.Outcome:
    candidate_id = _candidate(number).id
    with session_scope() as session:
        appraised = destruction.appraise(
            session, actor=world["comp"], candidate_id=candidate_id, decision="destroy"
        )
    assert appraised.status == "appraised", appraised
    with session_scope() as session:
        return destruction.approve(session, actor=world["comp2"], candidate_id=candidate_id)


def _run() -> dict:
    return destruction.run_approved(session_scope)


# --- the whole way ------------------------------------------------------------------------------


def test_a_member_asks_and_the_notice_goes_before_the_key(world):
    comp = world["comp"]
    ref = _member_files(world["zhang"])
    assert _request(ref.id).channel == "portal"
    # one open deletion request per customer, whoever files the second
    with pytest.raises(ValidationFailed) as twice:
        _member_files(world["zhang"], "再次申请删除")
    assert twice.value.errors == {"kind": "rights.error.deletion_open"}
    with pytest.raises(ValidationFailed):
        _desk_files(world, world["zhang"])
    assert _review(comp, ref.id) == erasure.ErasureReview(blockers=[], candidate=None)

    accepted = _accept(comp, ref.id)
    assert accepted.number.startswith("XH") and accepted.status == "queued"
    assert _accept(comp, ref.id) == accepted  # the open candidate, not a second one
    candidate = _candidate(accepted.number)
    assert (candidate.customer_id, candidate.reason_kind, candidate.rights_request_id) == (
        world["zhang"], "request", ref.id,
    )  # fmt: skip
    assert candidate.note == ref.number  # a reference, never the customer's words
    request = _request(ref.id)
    assert (request.status, request.handler_id) == ("in_progress", comp.user_id)
    assert _review(comp, ref.id).candidate == accepted
    for status, extra in (("done", {}), ("refused", {"refusal": "other", "outcome": "不删"})):
        with pytest.raises(DomainError) as pending:
            _close(comp, ref.id, status, **extra)
        assert pending.value.key == "rights.error.erasure_pending"

    # approved by a second person: the notice is queued, the destruction waits for it
    approved = _appraise_and_approve(world, accepted.number)
    assert approved.status == "approved"
    assert not _destroyed(world["zhang"])
    ((message_id, channel, purpose, status),) = _messages(world["zhang"])
    assert (channel, purpose, status) == ("sms", "service", "queued")
    assert _request(ref.id).notice_message_id == message_id
    assert _request(ref.id).status == "in_progress"
    assert _run()["waiting"] == 1
    assert len(_messages(world["zhang"])) == 1  # asked again: still the one notice
    assert not _destroyed(world["zhang"])

    sender = Recorder()
    assert outbox.deliver_due(sender=sender).sent == 1
    (sent,) = sender.messages
    assert sent.recipient == ZHANG_PHONE
    assert ref.number in sent.body and "即将删除" in sent.body

    assert _run()["done"] == 1
    assert _destroyed(world["zhang"])
    assert _candidate(accepted.number).status == "done"
    request = _request(ref.id)
    assert (request.status, request.outcome_ref, request.closed_at) == (
        "done", accepted.number, clock.now(),
    )  # fmt: skip
    with session_scope() as session:
        (row,), _ = rights.list_requests(session, actor=comp, status="done")
    assert (row.id, row.outcome_ref) == (ref.id, accepted.number)

    (closing,) = [e for e in _audit("rights.close") if e.target_id == ref.number]
    assert closing.actor_name == "destruction" and accepted.number in closing.detail
    assert [e.target_id for e in _audit("rights.erasure_accept")] == [ref.number, ref.number]
    (notice,) = _audit("rights.erasure_notice")
    assert '"queued": true' in notice.detail
    with session_scope(write=False) as session:
        entries = session.exec(select(AuditEntry)).scalars().all()
        text = " ".join(f"{e.detail} {e.fields} {e.reason}" for e in entries)
    assert ZHANG_PHONE not in text and ASKED[:8] not in text and "张三" not in text


def test_without_a_channel_the_approval_destroys_at_once(world):
    ref = _desk_files(world, world["wu"])
    accepted = _accept(world["comp"], ref.id)
    assert _appraise_and_approve(world, accepted.number).status == "done"
    assert _destroyed(world["wu"]) and _messages(world["wu"]) == []
    request = _request(ref.id)
    assert (request.status, request.outcome_ref, request.notice_message_id) == (
        "done", accepted.number, None,
    )  # fmt: skip
    (notice,) = _audit("rights.erasure_notice")
    assert '"queued": false' in notice.detail


def test_a_notice_that_cannot_be_delivered_stops_holding_the_destruction(world):
    ref = _member_files(world["li"])
    accepted = _accept(world["comp"], ref.id)
    assert _appraise_and_approve(world, accepted.number).status == "approved"
    for _ in range(outbox.MAX_ATTEMPTS):
        assert _run()["waiting"] == 1
        outbox.deliver_due(sender=Unreachable())
        clock.advance(timedelta(hours=3))
    ((_, _, _, status),) = _messages(world["li"])
    assert status == "failed"
    assert _run()["done"] == 1
    assert _destroyed(world["li"]) and _request(ref.id).status == "done"


# --- refusing -------------------------------------------------------------------------------------


def test_a_refusal_names_its_legal_reason_and_the_customer_is_told(world):
    comp = world["comp"]
    ref = _desk_files(world, world["li"])
    for kw, errors in (
        ({}, {"refusal": "rights.error.refusal"}),
        ({"refusal": "because"}, {"refusal": "rights.error.refusal"}),
        ({"refusal": "other"}, {"outcome": "rights.error.outcome_required"}),
    ):
        with pytest.raises(ValidationFailed) as refused:
            _close(comp, ref.id, "refused", **kw)
        assert refused.value.errors == errors, kw
    assert _request(ref.id).status == "open" and _messages(world["li"]) == []

    _close(comp, ref.id, "refused", refusal="retention_duty")  # the code says enough
    request = _request(ref.id)
    assert (request.status, request.refusal_reason) == ("refused", "retention_duty")
    sender = Recorder()
    outbox.deliver_due(sender=sender)
    (told,) = sender.messages
    assert told.recipient == LI_PHONE and ref.number in told.body
    assert "法定保存义务（如会计凭证）" in told.body
    (closing,) = _audit("rights.close")
    assert '"refusal": "retention_duty"' in closing.detail and '"told": true' in closing.detail

    # closed: a new deletion request may be filed, refused with the handler's own words
    again = _member_files(world["li"], "再次申请删除")
    _close(comp, again.id, "refused", refusal="other", outcome=WORDS)
    sender = Recorder()
    outbox.deliver_due(sender=sender)
    assert WORDS in sender.messages[0].body
    entries = _audit("rights.close")
    assert all(WORDS not in f"{e.detail} {e.reason}" for e in entries)
    with session_scope() as session:
        rows, _ = rights.member_list_requests(session, actor=_member(world["li"]))
    assert [(r.number, r.status, r.refusal_reason, r.outcome) for r in rows] == [
        (again.number, "refused", "other", WORDS),
        (ref.number, "refused", "retention_duty", ""),
    ]
    assert rights.rights_erasure.refusal_text("retention_duty", "", "zh_CN") == (
        "法定保存义务（如会计凭证）"
    )


def test_blockers_are_shown_before_accepting_and_hold_the_destruction(world):
    comp = world["comp"]
    with session_scope() as session:
        membership.issue_card(
            session, actor=system_actor("test"), customer_id=world["zhang"], tier_code="silver",
            application_signed=True, first_topup_fen=20000, topup_method="cash",
            fee_method="cash",
        )  # fmt: skip
    ref = _member_files(world["zhang"])
    review = _review(comp, ref.id)
    assert review.blockers and all(k.startswith("destruction.blocked.") for k in review.blockers)
    accepted = _accept(comp, ref.id)  # allowed: the customer may settle while it waits
    with session_scope() as session:
        outcome = destruction.appraise(
            session, actor=comp, candidate_id=_candidate(accepted.number).id, decision="destroy"
        )
    assert outcome.status == "queued" and outcome.blockers == review.blockers
    assert not _destroyed(world["zhang"]) and _messages(world["zhang"]) == []


def test_only_a_deletion_request_goes_to_destruction(world):
    ref = _desk_files(world, world["li"], kind="copy")
    for call in (_accept, _review):
        with pytest.raises(DomainError) as wrong:
            call(world["comp"], ref.id)
        assert wrong.value.key == "rights.error.not_deletion"
    closed = _desk_files(world, world["zhang"])
    _close(world["comp"], closed.id, "refused", refusal="identity_not_verified")
    with pytest.raises(DomainError) as shut:
        _accept(world["comp"], closed.id)
    assert shut.value.key == "rights.error.closed"


# --- the member's card ----------------------------------------------------------------------------


def test_the_member_sees_what_to_settle_from_their_own_data(world):
    zhang, li = world["zhang"], world["li"]
    with session_scope() as session:
        membership.issue_card(
            session, actor=system_actor("test"), customer_id=zhang, tier_code="silver",
            application_signed=True, first_topup_fen=20000, topup_method="cash",
            fee_method="cash",
        )  # fmt: skip
        points.adjust_points(
            session, actor=system_actor("test"), customer_id=zhang, points=300,
            reason="活动赠送积分",
        )  # fmt: skip
        complaints.file_complaint(
            session, actor=world["desk"], customer_id=zhang, channel="counter",
            category="service", severity="normal", description="服务态度差",
        )  # fmt: skip
    with session_scope() as session:
        mine = erasure.member_overview(session, actor=_member(zhang))
    assert (
        mine.balance_fen, mine.points, mine.clawback, mine.open_complaints, mine.card_active,
    ) == (20000, 300, 0, 1, True)  # fmt: skip
    assert mine.request is None
    ref = _member_files(zhang)
    with session_scope() as session:
        mine = erasure.member_overview(session, actor=_member(zhang))
        theirs = erasure.member_overview(session, actor=_member(li))
    assert (mine.request.number, mine.request.status, mine.request.detail) == (
        ref.number, "open", ASKED,
    )  # fmt: skip
    assert (theirs.balance_fen, theirs.points, theirs.open_complaints, theirs.request) == (
        0, 0, 0, None,
    )  # fmt: skip


# --- who may do what ------------------------------------------------------------------------------


def _denials(user_id: int | None) -> list[str]:
    return [e.action for e in _audit_all() if e.actor_id == user_id and e.outcome == "denied"]


def _audit_all() -> list[AuditEntry]:
    with session_scope(write=False) as session:
        rows = list(session.exec(select(AuditEntry).order_by(AuditEntry.seq)).scalars())
        for row in rows:
            session.expunge(row)
        return rows


@pytest.mark.parametrize("who", ["desk", "manager", "auditor"])
def test_staff_without_rights_manage_can_neither_review_nor_accept(world, who):
    ref = _desk_files(world, world["zhang"])
    actor = world[who]
    for call in (_accept, _review):
        with pytest.raises(PermissionDenied):
            call(actor, ref.id)
    assert _denials(actor.user_id) == ["erasure.accept_deletion", "erasure.deletion_review"]
    assert _request(ref.id).status == "open"
    with session_scope(write=False) as session:
        assert session.exec(select(DestructionCandidate)).first() is None
    with pytest.raises(PermissionDenied), session_scope() as session:
        erasure.member_overview(session, actor=actor)


def test_a_member_can_neither_accept_nor_read_anothers_requests(world):
    theirs = _desk_files(world, world["li"])
    member = _member(world["zhang"])
    for call in (_accept, _review):
        with pytest.raises(PermissionDenied):
            call(member, theirs.id)
    with pytest.raises(PermissionDenied), session_scope() as session:
        rights.get_request(session, actor=member, request_id=theirs.id)
    with pytest.raises(PermissionDenied), session_scope() as session:
        rights.close_request(
            session, actor=member, request_id=theirs.id, status="refused", refusal="other",
            outcome="x",
        )  # fmt: skip
    with session_scope() as session:
        rows, total = rights.member_list_requests(session, actor=member)
        mine = erasure.member_overview(session, actor=member)
    assert (rows, total, mine.request) == ([], 0, None)
    assert _request(theirs.id).status == "open"
