"""审批 (SPEC §3, §8 Money; issue 5 "an approvals inbox that gathers every pending approval"):
the front desk asks for a same-day void or a points adjustment, cs_manager approves (the real
operation runs in the same transaction) or rejects with a reason; the inbox lists voids,
adjustments and gift redemptions together, oldest first, paged on the server."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select
from test_gifts import _file, _gift, _member_with_points
from test_membership import _customer, _staff, _store, buy, call, errors_of, issue, refusal

from custapp import clock
from custapp.db import session_scope
from custapp.models import ApprovalRequest, AuditEntry, Gift, Order, StoredValueEntry
from custapp.services import approvals, complaints, merge, points
from custapp.services.errors import NotFound, PermissionDenied

NOON = datetime(2025, 6, 15, 4, 0, tzinfo=UTC)  # 12:00 in Shanghai


@pytest.fixture
def world(db):  # noqa: ANN001, ANN201
    clock.set_now(NOON)
    store = _store()
    return (
        _staff("desk.one", "front_desk", store),
        _staff("desk.two", "front_desk", store),
        _staff("boss.one", "cs_manager", store),
    )


def _purchase_on_card(desk) -> tuple[int, int]:  # noqa: ANN001
    """A silver member (¥200 on the card) who bought ¥100 from stored value: (customer, order)."""
    cid = _customer()
    issue(desk, cid)
    order = buy(desk, cid, 10000, [("stored_value", 9000)])
    return cid, order.id


def _balance(cid: int) -> int:
    with session_scope() as session:
        return int(
            session.exec(
                select(func.coalesce(func.sum(StoredValueEntry.amount_fen), 0)).where(
                    StoredValueEntry.customer_id == cid
                )
            ).scalar_one()
        )


def _available(cid: int) -> int:
    with session_scope() as session:
        return points.available(session, cid)


def test_a_void_asked_at_the_counter_runs_when_the_manager_approves(world) -> None:  # noqa: ANN001
    desk, _, boss = world
    cid, order_id = _purchase_on_card(desk)
    assert (_balance(cid), _available(cid)) == (11000, 90)

    asked = call(approvals.request_void, desk, order_id=order_id, reason="收银录错金额")
    assert (asked.kind, asked.status, asked.number) == ("order_void", "pending", f"A{asked.id:08d}")
    assert asked.order_paid_fen == 9000 and asked.requested_by == "desk.one"
    assert _balance(cid) == 11000  # asking changes nothing
    assert refusal(approvals.request_void, desk, order_id=order_id, reason="再次申请") == (
        "approval.error.void_pending"
    )
    waiting = call(approvals.customer_pending, desk, customer_id=cid)
    assert [w.id for w in waiting] == [asked.id]

    done = call(approvals.approve, boss, request_id=asked.id)
    assert done.status == "approved"
    assert (_balance(cid), _available(cid)) == (20000, 0)
    with session_scope() as session:
        void = session.exec(select(Order).where(Order.kind == "void")).scalar_one()
        assert void.original_order_id == order_id
        actions = set(session.exec(select(AuditEntry.action)).scalars())
    assert {"approval.request.order_void", "order.void", "approval.approved"} <= actions
    assert refusal(approvals.approve, boss, request_id=asked.id) == "approval.error.already_decided"
    assert call(approvals.inbox, boss).total == 0


def test_a_void_not_approved_the_same_day_stays_pending_and_can_be_rejected(world) -> None:  # noqa: ANN001
    desk, _, boss = world
    cid, order_id = _purchase_on_card(desk)
    asked = call(approvals.request_void, desk, order_id=order_id, reason="收银录错金额")
    clock.set_now(NOON + timedelta(days=1))
    assert refusal(approvals.approve, boss, request_id=asked.id) == "orders.error.void_same_day"
    with session_scope() as session:
        assert session.get(ApprovalRequest, asked.id).status == "pending"
        assert not session.exec(select(Order).where(Order.kind == "void")).first()
    assert errors_of(approvals.reject, boss, request_id=asked.id, reason=" ") == {
        "reason": "customer.error.reason_required"
    }
    rejected = call(approvals.reject, boss, request_id=asked.id, reason="已过当天，请办理退款")
    assert (rejected.status, rejected.decision_reason) == ("rejected", "已过当天，请办理退款")
    assert refusal(approvals.request_void, desk, order_id=order_id, reason="收银录错金额") == (
        "orders.error.void_same_day"
    )
    assert _balance(cid) == 11000


def test_points_adjustments_are_asked_then_approved_or_rejected(world) -> None:  # noqa: ANN001
    desk, _, boss = world
    cid, _ = _purchase_on_card(desk)
    assert errors_of(
        approvals.request_points_adjustment, desk, customer_id=cid, points=0, reason="x"
    ) == {"points": "points.error.adjust_amount", "reason": "customer.error.reason_required"}
    assert errors_of(
        approvals.request_points_adjustment, desk, customer_id=cid, points=-91, reason="多送积分"
    ) == {"points": "points.error.insufficient"}
    add = call(
        approvals.request_points_adjustment, desk, customer_id=cid, points=50, reason="活动补发"
    )
    cut = call(
        approvals.request_points_adjustment, desk, customer_id=cid, points=-40, reason="重复赠送"
    )
    assert _available(cid) == 90
    call(approvals.approve, boss, request_id=add.id)
    assert _available(cid) == 140
    call(approvals.reject, boss, request_id=cut.id, reason="核实无重复")
    assert _available(cid) == 140


def test_only_the_asker_withdraws_a_request(world) -> None:  # noqa: ANN001
    desk, other_desk, boss = world
    _, order_id = _purchase_on_card(desk)
    asked = call(approvals.request_void, desk, order_id=order_id, reason="收银录错金额")
    with pytest.raises(NotFound):
        call(approvals.cancel, other_desk, request_id=asked.id)
    assert call(approvals.cancel, desk, request_id=asked.id).status == "cancelled"
    assert refusal(approvals.approve, boss, request_id=asked.id) == "approval.error.already_decided"
    # withdrawn, it no longer blocks a new request
    assert call(approvals.request_void, desk, order_id=order_id, reason="收银录错金额").id


def test_the_front_desk_cannot_decide_or_see_the_inbox(world) -> None:  # noqa: ANN001
    desk, _, _ = world
    _, order_id = _purchase_on_card(desk)
    asked = call(approvals.request_void, desk, order_id=order_id, reason="收银录错金额")
    for fn, kwargs in (
        (approvals.approve, {"request_id": asked.id}),
        (approvals.reject, {"request_id": asked.id, "reason": "不同意"}),
        (approvals.inbox, {}),
    ):
        with pytest.raises(PermissionDenied):
            call(fn, desk, **kwargs)
    with session_scope() as session:
        assert session.get(ApprovalRequest, asked.id).status == "pending"


def test_the_inbox_gathers_redemptions_voids_and_adjustments_oldest_first(world) -> None:  # noqa: ANN001
    desk, _, boss = world
    gift = _gift(boss, cost=100)
    member = _member_with_points(desk, 500)
    redemption = _file(desk, member, gift)
    clock.advance(timedelta(minutes=1))
    cid, order_id = _purchase_on_card(desk)
    void = call(approvals.request_void, desk, order_id=order_id, reason="收银录错金额")
    clock.advance(timedelta(minutes=1))
    adjust = call(
        approvals.request_points_adjustment, desk, customer_id=cid, points=10, reason="活动补发"
    )

    box = call(approvals.inbox, boss)
    assert box.total == 3
    assert box.counts == {
        "redemption": 1, "order_void": 1, "order_refund": 0, "points_adjust": 1, "compensation": 0,
    }  # fmt: skip
    assert [(i.kind, (i.redemption or i.approval).id) for i in box.items] == [
        ("redemption", redemption),
        ("order_void", void.id),
        ("points_adjust", adjust.id),
    ]
    second = call(approvals.inbox, boss, page=2, page_size=2)
    assert [i.kind for i in second.items] == ["points_adjust"] and second.total == 3
    voids = call(approvals.inbox, boss, kind="order_void")
    assert (voids.total, [i.kind for i in voids.items]) == (1, ["order_void"])


def test_a_merge_moves_pending_requests_to_the_survivor(world) -> None:  # noqa: ANN001
    desk, _, boss = world
    cid, order_id = _purchase_on_card(desk)
    asked = call(approvals.request_void, desk, order_id=order_id, reason="收银录错金额")
    survivor = _customer("张三", "13700000000")
    call(merge.merge_customers, boss, survivor_id=survivor, merged_id=cid, reason="重复建档")
    with session_scope() as session:
        assert session.get(ApprovalRequest, asked.id).customer_id == survivor


def _complaint(desk, cid: int) -> int:  # noqa: ANN001
    return call(
        complaints.file_complaint, desk, customer_id=cid, channel="counter", category="service",
        severity="normal", description="上菜太慢", desired="致歉",
    ).id  # fmt: skip


def test_complaint_compensation_is_asked_then_given_when_approved(world) -> None:  # noqa: ANN001
    desk, _, boss = world
    cid, _ = _purchase_on_card(desk)  # a silver card holding ¥110, 90 points
    complaint_id = _complaint(desk, cid)
    gift = _gift(boss, cost=100, stock=2)
    assert errors_of(
        approvals.request_compensation, desk, complaint_id=complaint_id, form="money",
        amount_fen=0, reason="上菜太慢",
    ) == {"amount": "approval.error.compensation_amount"}  # fmt: skip
    asked = [
        call(
            approvals.request_compensation,
            desk,
            complaint_id=complaint_id,
            reason="上菜太慢",
            **kwargs,
        )  # fmt: skip
        for kwargs in (
            {"form": "points", "points": 200},
            {"form": "money", "amount_fen": 2000},
            {"form": "gift", "gift_id": gift},
        )
    ]
    assert [a.form for a in asked] == ["points", "money", "gift"]
    assert call(approvals.inbox, boss, kind="compensation").total == 3
    with pytest.raises(PermissionDenied):
        call(approvals.approve, desk, request_id=asked[0].id)
    for request in asked:
        call(approvals.approve, boss, request_id=request.id)
    assert (_available(cid), _balance(cid)) == (290, 13000)
    with session_scope() as session:
        assert session.get(Gift, gift).stock == 1
    view = call(complaints.get_complaint, desk, complaint_id=complaint_id)
    given = [e.detail for e in view.timeline if e.kind == "compensation"]
    assert given == ["points:200", "money:2000:card", f"gift:{gift}"]
    assert all(e.visible for e in view.timeline if e.kind == "compensation")


def test_compensation_needs_an_open_complaint_of_a_customer(world) -> None:  # noqa: ANN001
    desk, _, _ = world
    walk_in = call(
        complaints.file_complaint, desk, customer_id=None, channel="phone", category="other",
        severity="low", description="门口太吵", contact="李女士 13700002222",
    ).id  # fmt: skip
    assert refusal(
        approvals.request_compensation, desk, complaint_id=walk_in, form="points", points=10,
        reason="致歉补偿",
    ) == "approval.error.compensation_customer"  # fmt: skip
