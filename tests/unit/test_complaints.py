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


def _alerts_since(last_id: int) -> dict[int, list[tuple[str, str]]]:
    """The in-app messages queued after `last_id`, decrypted, per user."""
    from custapp.services import outbox

    out: dict[int, list[tuple[str, str]]] = {}
    with session_scope() as session:
        for m in session.exec(
            select(OutboxMessage).where(OutboxMessage.id > last_id).order_by(OutboxMessage.id)
        ).scalars():
            out.setdefault(m.user_id, []).append(
                (
                    outbox._open(session, m.data_key_id, m.subject_enc, "subject"),
                    outbox._open(session, m.data_key_id, m.body_enc, "body"),
                )
            )
    return out


def _last_message_id() -> int:
    with session_scope() as session:
        return session.exec(select(func.coalesce(func.max(OutboxMessage.id), 0))).scalar_one()


def test_one_scan_follows_up_many_marks_grouped_per_store_and_assignee(world) -> None:  # noqa: ANN001
    import re

    from custapp.i18n import t
    from custapp.models import Store
    from custapp.services import audit

    with session_scope() as session:
        branch = Store(code="BR", name="分店", created_at=clock.now())
        session.add(branch)
        session.flush()
        branch_id = branch.id
    desk2 = _staff("desk.two", "front_desk", branch_id)
    boss2 = _staff("boss.two", "cs_manager", branch_id)
    main = [_file(world) for _ in range(22)]  # more than the 20 numbers an alert names
    branch_rows = [_file({**world, "desk": desk2}) for _ in range(3)]
    assigned = main[:2]
    call(complaints.assign, world["boss"], complaint_ids=[r.id for r in assigned],
         assignee_id=world["desk"].user_id)  # fmt: skip
    every = main + branch_rows
    number = {r.id: r.number for r in every}
    before = _last_message_id()

    clock.set_now(NOON + timedelta(hours=24))  # every response clock: warned and breached
    counts = complaints.run_escalations()
    assert counts == {
        **{f"{c}:{lv}": 0 for c in complaints.CLOCKS for lv in complaints.LEVELS},
        "response:warned": 25,
        "response:escalated": 25,
    }
    for r in every:
        assert _escalations(r.id) == ["response:warned", "response:escalated"]
    with session_scope() as session:
        entries = session.exec(
            select(AuditEntry.action, AuditEntry.customer_id, AuditEntry.detail).where(
                AuditEntry.action.in_(("complaint.warned", "complaint.escalated"))
            )
        ).all()
        assert audit.verify_chain(session).ok
    for action in ("complaint.warned", "complaint.escalated"):
        mine = sorted(d for a, _, d in entries if a == action)
        assert mine == sorted(
            f'{{"clock": "response", "complaint": {r.id}}}' for r in every
        )  # one entry per complaint
    assert {cid for _, cid, _ in entries} == {world["cid"]}

    def named(text: str) -> set[str]:
        return set(re.findall(r"T\d{12}", text))

    alerts = _alerts_since(before)
    assert set(alerts) == {world["desk"].user_id, world["boss"].user_id, boss2.user_id}
    # the assignee: one warning naming both of theirs
    ((subject, body),) = alerts[world["desk"].user_id]
    assert subject == t("complaint.warned_many_subject", "zh_CN", count=2)
    assert named(body) == {r.number for r in assigned}
    # the main store's manager: the unassigned warnings in one alert, the breaches in another
    warned, escalated = alerts[world["boss"].user_id]
    assert warned[0] == t("complaint.warned_many_subject", "zh_CN", count=20)
    assert named(warned[1]) == {r.number for r in main[2:]}
    assert escalated[0] == t("complaint.escalated_many_subject", "zh_CN", count=22)
    listed = named(escalated[1])
    assert len(listed) == 20 and escalated[1].endswith("…")  # 20 numbers, then an ellipsis
    assert listed == set(sorted(number[r.id] for r in main)[:20])
    # the branch's manager: its own three, per level
    assert [named(b) for _, b in alerts[boss2.user_id]] == [{r.number for r in branch_rows}] * 2
    assert desk2.user_id not in alerts

    before = _last_message_id()
    assert sum(complaints.run_escalations().values()) == 0  # a second scan adds nothing
    assert _alerts_since(before) == {}
    for r in every:
        assert _escalations(r.id) == ["response:warned", "response:escalated"]
    with session_scope() as session:
        assert (
            session.exec(
                select(func.count()).where(AuditEntry.action.like("complaint.%escalated%"))
            ).scalar_one()
            == 25
        )

    clock.set_now(NOON + timedelta(hours=48))  # second level: every manager, every store
    assert complaints.run_escalations()["response:escalated2"] == 25
    alerts = _alerts_since(before)
    second = t("complaint.escalated2_many_subject", "zh_CN", count=25)
    for boss in (world["boss"], boss2):
        assert [s for s, _ in alerts[boss.user_id]].count(second) == 1


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


def _seen(member: Actor, complaint_id: int) -> list[str]:
    """Every text the member sees of the complaint: its timeline's bodies and its outcome."""
    view = call(complaints.member_complaint, member, complaint_id=complaint_id)
    return [e.body for e in view.timeline if e.body] + [view.solution] * bool(view.solution)


def test_notes_on_every_step_are_internal_unless_ticked(world) -> None:  # noqa: ANN001
    """Issue 14 item 12: a note on any step (a move, a note, a hold, a reopen) reaches the
    customer only with the explicit flag, and then once; the outcome at 已告知客户 is the one
    text meant for the customer by its nature."""
    member = _member(world["cid"])
    row = _file(world)
    steps = [
        (complaints.move, {"to_status": "investigating"}),
        (complaints.add_note, {}),
        (complaints.hold, {}),
        (complaints.resume, None),
        (complaints.move, {"to_status": "solution_proposed"}),
        (complaints.move, {"to_status": "customer_informed", "outcome": "退还十元并致歉"}),
        (complaints.move, {"to_status": "return_visit"}),
    ]
    for n, (fn, kwargs) in enumerate(steps):
        if kwargs is None:
            call(fn, world["desk"], complaint_id=row.id)
            continue
        text = f"第{n}步的内部记录"
        key = "body" if fn is complaints.add_note else "note"
        call(fn, world["desk"], complaint_id=row.id, **kwargs, **{key: text})
        assert text not in _seen(member, row.id), fn.__name__
    assert call(complaints.get_complaint, world["desk"], complaint_id=row.id).row.status == (
        "return_visit"
    )
    assert _seen(member, row.id).count("退还十元并致歉") == 1
    statuses = [
        e.to_status
        for e in call(complaints.member_complaint, member, complaint_id=row.id).timeline
        if e.kind == "status"
    ]
    assert statuses == ["investigating", "on_hold", "investigating", "customer_informed"]
    # the same steps with the flag: each note is seen, once
    second = _file(world)
    for n, (fn, kwargs) in enumerate(steps):
        if kwargs is None:
            call(fn, world["desk"], complaint_id=second.id)
            continue
        text = f"第{n}步的答复"
        key = "body" if fn is complaints.add_note else "note"
        call(fn, world["desk"], complaint_id=second.id, visible=True, **kwargs, **{key: text})
        assert _seen(member, second.id).count(text) == 1, fn.__name__
    call(
        complaints.close, world["boss"], complaint_id=second.id, root_cause="收银员输错金额",
        solution="退还十元并致歉", informed_on=date(2026, 3, 2), informed_via="phone", satisfaction=4,
    )  # fmt: skip
    call(complaints.reopen, world["desk"], complaint_id=second.id, note="客户反映仍未退款")
    assert "客户反映仍未退款" not in _seen(member, second.id)
    assert "收银员输错金额" not in _seen(member, second.id)  # the root cause stays inside
    # staff see every note, the internal ones marked so
    staff = call(complaints.get_complaint, world["desk"], complaint_id=second.id).timeline
    assert [(e.kind, e.visible) for e in staff if e.body == "客户反映仍未退款"] == [("note", False)]
    # the outcome belongs to 已告知客户 only
    assert errors_of(
        complaints.move, world["desk"], complaint_id=row.id, to_status="investigating",
        outcome="退款",
    ) == {"outcome": "complaint.error.outcome_not_here"}  # fmt: skip


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


# --- the business-hours calendar (CUSTAPP_COMPLAINT_BUSINESS_HOURS) ------------------------------


def _shanghai(day: int, hour: int, minute: int = 0) -> datetime:
    """March 2026 (the 2nd a Monday), Shanghai wall clock (no DST), as the UTC instant."""
    return datetime(2026, 3, day, hour, minute, tzinfo=UTC) - timedelta(hours=8)


def _business_hours(monkeypatch, hours: str) -> None:  # noqa: ANN001
    from custapp.settings import get_settings

    monkeypatch.setenv("CUSTAPP_COMPLAINT_BUSINESS_HOURS", hours)
    get_settings.cache_clear()


def test_business_hours_move_a_friday_evening_complaint_into_next_week(world, monkeypatch) -> None:  # noqa: ANN001
    _business_hours(monkeypatch, "mon-fri 08:00-20:00")
    clock.set_now(_shanghai(6, 19))  # Friday 19:00: one business hour left this week
    critical = _file(world, "critical")  # 4 h / 24 h
    assert (critical.response_by, critical.resolution_by) == (_shanghai(9, 11), _shanghai(10, 19))
    normal = _file(world, "normal")  # 24 h / 48 h
    assert (normal.response_by, normal.resolution_by) == (_shanghai(10, 19), _shanghai(12, 19))


def test_with_business_hours_a_hold_over_a_weekend_keeps_the_time_left(world, monkeypatch) -> None:  # noqa: ANN001
    _business_hours(monkeypatch, "mon-fri 09:00-18:00")
    clock.set_now(_shanghai(5, 10))  # Thursday 10:00
    row = _file(world)  # normal: 24 h / 48 h of business time
    assert (row.response_by, row.resolution_by) == (_shanghai(9, 16), _shanghai(12, 13))
    clock.set_now(_shanghai(6, 15))  # Friday 15:00: 10 h and 34 h of business time left
    call(complaints.hold, world["desk"], complaint_id=row.id, note="等待客户提供小票")
    clock.set_now(_shanghai(8, 12))  # Sunday noon
    call(complaints.resume, world["desk"], complaint_id=row.id)
    c = _complaint(row.id)
    assert (c.response_by, c.resolution_by) == (_shanghai(10, 10), _shanghai(12, 16))
    # a hold outside the hours (overnight) costs the customer nothing and gives nothing back
    _to(world, row.id, "investigating")
    clock.set_now(_shanghai(11, 19))  # Wednesday 19:00
    call(complaints.hold, world["desk"], complaint_id=row.id)
    clock.set_now(_shanghai(12, 8, 30))  # Thursday 08:30
    call(complaints.resume, world["desk"], complaint_id=row.id)
    c = _complaint(row.id)
    assert (c.status, c.response_by, c.resolution_by) == ("investigating", None, _shanghai(12, 16))


def test_with_business_hours_the_warning_comes_at_80_percent_of_business_time(
    world,
    monkeypatch,  # noqa: ANN001
) -> None:
    _business_hours(monkeypatch, "mon-fri 09:00-18:00")
    clock.set_now(_shanghai(2, 9))  # Monday 09:00
    row = _file(world)  # normal: first response in 24 business hours, Wednesday 15:00
    assert row.response_by == _shanghai(4, 15)
    # 80 % of the wall-clock span (Tuesday 04:12) is not 80 % of the business time
    clock.set_now(_shanghai(3, 12))
    complaints.run_escalations()
    assert _escalations(row.id) == []
    clock.set_now(_shanghai(4, 10, 11))  # 4 h 49 min of business time left: under 80 %
    complaints.run_escalations()
    assert _escalations(row.id) == []
    clock.set_now(_shanghai(4, 10, 12))  # 4.8 h left: 80 % of 24 h used
    complaints.run_escalations()
    assert _escalations(row.id) == ["response:warned"]
    clock.set_now(_shanghai(4, 15))
    complaints.run_escalations()
    assert _escalations(row.id) == ["response:warned", "response:escalated"]
