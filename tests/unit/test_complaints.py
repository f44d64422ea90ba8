"""投诉 (SPEC §5, §8 Complaints; issue 6 acceptance 2 and 3): deadlines per severity, the pause
while on hold, the clocks stopping and restarting, warning at 80 %, escalation at the breach and
at the second level, each exactly once, with a controlled clock; the workflow's refusals; the
text encrypted; members see their own complaints and the customer-visible timeline only."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import func, select, text
from test_membership import _customer, _staff, _store, call, errors_of, refusal

from custapp import clock
from custapp.db import session_scope
from custapp.models import AuditEntry, Complaint, ComplaintEvent, OutboxMessage, User
from custapp.services import complaints, merge
from custapp.services.actor import Actor
from custapp.services.errors import NotFound, PermissionDenied

NOON = datetime(2026, 3, 2, 4, 0, tzinfo=UTC)  # Monday 12:00 in Shanghai
DESCRIPTION = "服务员态度恶劣，结账时多收了十元"


@pytest.fixture
def world(db):  # noqa: ANN001, ANN201
    clock.set_now(NOON)
    store = _store()
    return {
        "desk": _staff("desk.one", "front_desk", store),
        "boss": _staff("boss.one", "cs_manager", store),
        "auditor": _staff("the.auditor", "auditor", store),
        "cid": _customer("投诉客户", "13911112222"),
    }


def _member(cid: int) -> Actor:
    with session_scope() as session:
        now = clock.now()
        user = User(kind="member", display_name="投诉客户", customer_id=cid, created_at=now,
                    updated_at=now)  # fmt: skip
        session.add(user)
        session.flush()
        user_id = user.id
    return Actor(user_id=user_id, name="member", kind="member", roles=frozenset({"member"}),
                 customer_id=cid)  # fmt: skip


def _file(world, severity: str = "normal") -> complaints.ComplaintRow:  # noqa: ANN001
    return call(
        complaints.file_complaint, world["desk"], customer_id=world["cid"], channel="counter",
        category="service", severity=severity, description=DESCRIPTION, desired="退还多收的钱",
    )  # fmt: skip


def _complaint(complaint_id: int) -> Complaint:
    with session_scope() as session:
        return session.get(Complaint, complaint_id)


def _escalations(complaint_id: int) -> list[str]:
    with session_scope() as session:
        return list(
            session.exec(
                select(ComplaintEvent.detail)
                .where(
                    ComplaintEvent.complaint_id == complaint_id,
                    ComplaintEvent.kind == "escalation",
                )
                .order_by(ComplaintEvent.id)
            ).scalars()
        )


def _to(world, complaint_id: int, *steps: str) -> None:  # noqa: ANN001
    for step in steps:
        call(complaints.move, world["desk"], complaint_id=complaint_id, to_status=step)


@pytest.mark.parametrize(
    ("severity", "response_h", "resolution_h"),
    [("critical", 4, 24), ("high", 8, 36), ("normal", 24, 48), ("low", 24, 72)],
)
def test_deadlines_follow_the_severity(world, severity, response_h, resolution_h) -> None:  # noqa: ANN001
    row = _file(world, severity)
    assert row.number == "T202603020001"
    assert (row.response_by, row.resolution_by) == (
        NOON + timedelta(hours=response_h),
        NOON + timedelta(hours=resolution_h),
    )
    assert _file(world, severity).number == "T202603020002"


def test_the_text_is_encrypted_and_the_customer_and_managers_are_told(world) -> None:  # noqa: ANN001
    row = _file(world)
    with session_scope() as session:
        raw = session.execute(text("SELECT description_enc FROM complaints")).scalar_one()
        audit_text = " ".join(str(d) for d in session.exec(select(AuditEntry.detail)).scalars())
        messages = session.exec(
            select(OutboxMessage.channel, OutboxMessage.purpose, OutboxMessage.user_id)
        ).all()
    assert DESCRIPTION not in raw and "多收" not in raw
    assert "多收" not in audit_text
    assert ("sms", "service", None) in messages  # the acknowledgement to the customer
    assert any(c == "in_app" and u == world["boss"].user_id for c, _, u in messages)
    view = call(complaints.get_complaint, world["desk"], complaint_id=row.id)
    assert (view.description, view.desired) == (DESCRIPTION, "退还多收的钱")


def test_intake_errors_are_named_per_field(world) -> None:  # noqa: ANN001
    assert errors_of(
        complaints.file_complaint,
        world["desk"],
        customer_id=None,
        channel="portal",
        category="x",
        severity="urgent",
        description=" ",
    ) == {  # fmt: skip
        "channel": "complaint.error.channel",
        "category": "complaint.error.category",
        "severity": "complaint.error.severity",
        "description": "complaint.error.description_required",
        "contact": "complaint.error.contact_required",
    }
    walk_in = call(
        complaints.file_complaint, world["desk"], customer_id=None, channel="phone",
        category="environment", severity="low", description="大厅太吵", contact="王先生 13700001111",
    )  # fmt: skip
    view = call(complaints.get_complaint, world["desk"], complaint_id=walk_in.id)
    assert (view.row.customer_id, view.contact) == (None, "王先生 13700001111")


def test_first_response_and_resolution_clocks_stop_and_restart(world) -> None:  # noqa: ANN001
    row = _file(world)
    clock.advance(timedelta(hours=2))
    call(complaints.add_note, world["desk"], complaint_id=row.id, body="内部记录", visible=False)
    assert _complaint(row.id).response_by is not None  # an internal note is no response
    call(
        complaints.add_note,
        world["desk"],
        complaint_id=row.id,
        body="已收到，正在核实",
        visible=True,
    )
    c = _complaint(row.id)
    assert (c.response_by, c.first_response_at) == (None, NOON + timedelta(hours=2))
    _to(world, row.id, "investigating", "solution_proposed", "customer_informed")
    c = _complaint(row.id)
    assert (c.resolution_by, c.informed_at) == (None, NOON + timedelta(hours=2))
    _to(world, row.id, "return_visit")
    call(
        complaints.close, world["boss"], complaint_id=row.id, root_cause="收银员输错金额",
        solution="退还十元并致歉", informed_on=date(2026, 3, 2), informed_via="phone", satisfaction=4,
    )  # fmt: skip
    clock.advance(timedelta(hours=10))
    call(complaints.reopen, world["desk"], complaint_id=row.id, note="客户反映仍未退款")
    c = _complaint(row.id)
    assert (c.status, c.reopened_count) == ("reopened", 1)
    assert c.resolution_by == clock.now() + timedelta(hours=48)


def test_a_hold_pauses_both_clocks(world) -> None:  # noqa: ANN001
    row = _file(world)
    clock.advance(timedelta(hours=3))
    call(complaints.hold, world["desk"], complaint_id=row.id, note="等待客户提供小票")
    clock.advance(timedelta(hours=30))  # long past the response deadline, but on hold
    assert complaints.run_escalations() == {
        f"{c}:{lv}": 0 for c in complaints.CLOCKS for lv in complaints.LEVELS
    }
    call(complaints.resume, world["desk"], complaint_id=row.id)
    c = _complaint(row.id)
    assert c.status == "received"
    assert (c.response_by, c.resolution_by) == (
        NOON + timedelta(hours=24 + 30),
        NOON + timedelta(hours=48 + 30),
    )


def test_warning_escalation_and_second_level_fire_exactly_once(world) -> None:  # noqa: ANN001
    row = _file(world)  # normal: 24 h / 48 h; second level 24 h after a breach
    call(
        complaints.assign, world["boss"], complaint_ids=[row.id], assignee_id=world["desk"].user_id
    )
    clock.set_now(NOON + timedelta(hours=19))  # 79 % of the response time
    complaints.run_escalations()
    assert _escalations(row.id) == []
    clock.set_now(NOON + timedelta(hours=19, minutes=12))  # 80 %
    complaints.run_escalations()
    complaints.run_escalations()
    assert _escalations(row.id) == ["response:warned"]
    clock.set_now(NOON + timedelta(hours=24))  # the response breach; resolution at 50 %
    complaints.run_escalations()
    assert _escalations(row.id) == ["response:warned", "response:escalated"]
    clock.set_now(NOON + timedelta(hours=48))  # second level for response, breach for resolution
    complaints.run_escalations()
    complaints.run_escalations()
    assert _escalations(row.id) == [
        "response:warned",
        "response:escalated",
        "response:escalated2",
        "resolution:warned",
        "resolution:escalated",
    ]
    with session_scope() as session:
        to_desk = session.exec(
            select(func.count(OutboxMessage.id)).where(
                OutboxMessage.user_id == world["desk"].user_id
            )
        ).scalar_one()
    assert to_desk == 3  # assigned, and the two warnings
    overdue, total = call(
        complaints.queue, world["boss"], filters=complaints.QueueFilter(overdue=True)
    )
    assert total == 1 and overdue[0].overdue


def test_the_workflow_refuses_skipped_steps_and_closing_needs_everything(world) -> None:  # noqa: ANN001
    row = _file(world)
    assert refusal(complaints.move, world["desk"], complaint_id=row.id, to_status="closed") == (
        "complaint.error.move"
    )
    _to(world, row.id, "investigating", "solution_proposed", "customer_informed")
    close = {"complaint_id": row.id, "informed_on": date(2026, 3, 2), "informed_via": "phone"}
    assert (
        refusal(
            complaints.close, world["boss"], root_cause="x", solution="y", satisfaction=5, **close
        )
        == "complaint.error.close_before_visit"
    )
    _to(world, row.id, "return_visit")
    assert errors_of(complaints.close, world["boss"], root_cause="", solution="", **close) == {
        "root_cause": "complaint.error.root_cause_required",
        "solution": "complaint.error.solution_required",
        "satisfaction": "complaint.error.satisfaction",
    }
    closed = call(
        complaints.close, world["boss"], root_cause="收银员输错金额", solution="退款并致歉",
        no_score_reason="客户未接电话", **close,
    )  # fmt: skip
    assert closed.status == "closed"


def test_front_desk_cannot_close_or_assign_and_auditors_see_nothing(world) -> None:  # noqa: ANN001
    row = _file(world)
    for fn, kwargs in (
        (complaints.close, {"complaint_id": row.id, "root_cause": "x", "solution": "y",
                            "informed_on": date(2026, 3, 2), "informed_via": "phone",
                            "satisfaction": 5}),
        (complaints.assign, {"complaint_ids": [row.id], "assignee_id": world["desk"].user_id}),
        (complaints.queue, {"filters": complaints.QueueFilter()}),
    ):  # fmt: skip
        with pytest.raises(PermissionDenied):
            call(fn, world["desk"], **kwargs)
    for fn, kwargs in (
        (complaints.get_complaint, {"complaint_id": row.id}),
        (complaints.customer_complaints, {"customer_id": world["cid"]}),
        (complaints.queue, {"filters": complaints.QueueFilter()}),
    ):
        with pytest.raises(PermissionDenied):
            call(fn, world["auditor"], **kwargs)


def test_members_see_their_own_complaints_and_the_visible_timeline_only(world) -> None:  # noqa: ANN001
    member = _member(world["cid"])
    other = _member(_customer("别的客户", "13922223333"))
    filed = call(complaints.member_file_complaint, member, category="billing",
                 description="积分没有到账", desired="补发积分")  # fmt: skip
    assert filed.channel == "portal" and filed.severity == "normal"
    call(complaints.add_note, world["desk"], complaint_id=filed.id, body="内部：查收银记录",
         visible=False)  # fmt: skip
    _to(world, filed.id, "investigating")
    call(complaints.add_note, world["desk"], complaint_id=filed.id, body="已为您补发积分",
         visible=True)  # fmt: skip
    assert refusal(complaints.member_rate, member, complaint_id=filed.id, score=5) == (
        "complaint.error.not_informed"
    )
    _to(world, filed.id, "solution_proposed", "customer_informed")
    view = call(complaints.member_complaint, member, complaint_id=filed.id)
    bodies = [e.body for e in view.timeline]
    assert "已为您补发积分" in bodies and not any("内部" in b for b in bodies)
    assert all(e.visible for e in view.timeline) and view.row.assignee_name == ""
    assert call(complaints.member_rate, member, complaint_id=filed.id, score=5).satisfaction == 5
    rows, total = call(complaints.member_complaints, other)
    assert (rows, total) == ([], 0)
    for fn, kwargs in (
        (complaints.member_complaint, {"complaint_id": filed.id}),
        (complaints.member_rate, {"complaint_id": filed.id, "score": 1}),
    ):
        with pytest.raises(NotFound):
            call(fn, other, **kwargs)
    assert _complaint(filed.id).satisfaction == 5


def test_a_merge_moves_complaints_re_encrypted(world) -> None:  # noqa: ANN001
    row = _file(world)
    call(complaints.add_note, world["desk"], complaint_id=row.id, body="已致电客户", visible=True)
    survivor = _customer("投诉客户", "13700000000")
    call(merge.merge_customers, world["boss"], survivor_id=survivor, merged_id=world["cid"],
         reason="重复建档")  # fmt: skip
    moved = call(complaints.get_complaint, world["desk"], complaint_id=row.id)
    assert moved.row.customer_id == survivor and moved.description == DESCRIPTION
    assert "已致电客户" in [e.body for e in moved.timeline]
    rows, total = call(complaints.customer_complaints, world["desk"], customer_id=survivor)
    assert total == 1 and rows[0].id == row.id
