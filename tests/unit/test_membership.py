"""会员卡与储值 services: the acceptance journey of issue 5 (银卡 with a ¥200 first top-up and the
¥10 fee apart, a ¥199.90 purchase from stored value, 补卡 and a purchase with the new number),
upgrade, 退卡, tiers, unit members' work orders, same-day voids, append-only ledgers, merge, and
the permission and member-self refusals."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
from sqlalchemy import func, select

from custapp import clock
from custapp.db import get_engine, session_scope
from custapp.models import (
    AuditEntry,
    CardFeePayment,
    MemberCard,
    Order,
    PointsEntry,
    Store,
    StoredValueEntry,
)
from custapp.services import bootstrap, customers, membership, merge, orders, points
from custapp.services.actor import Actor, system_actor
from custapp.services.errors import DomainError, PermissionDenied, ValidationFailed

NOON = datetime(2025, 6, 15, 4, 0, tzinfo=UTC)  # 12:00 in Shanghai


def _store() -> int:
    with session_scope() as session:
        store = Store(code="HQ", name="总店", created_at=clock.now())
        session.add(store)
        session.flush()
        return store.id


def _staff(username: str, role: str, store_id: int) -> Actor:
    with session_scope() as session:
        user_id = bootstrap.create_staff_user(
            session, actor=system_actor("test"), username=username, display_name=username,
            roles=[role], password="Correct-horse-42", store_ids=[store_id],
        )  # fmt: skip
    return Actor(
        user_id=user_id, name=username, roles=frozenset({role}), store_ids=(store_id,),
        store_id=store_id,
    )  # fmt: skip


def _customer(name: str = "张三", phone: str = "13912345678", **more) -> int:
    with session_scope() as session:
        return customers.create_customer(
            session,
            actor=system_actor("test"),
            data=customers.CustomerInput(name=name, phone=phone, **more),
        ).id


def call(fn, actor: Actor, **kwargs):  # noqa: ANN001, ANN201
    with session_scope() as session:
        return fn(session, actor=actor, **kwargs)


def errors_of(fn, actor: Actor, **kwargs) -> dict:  # noqa: ANN001
    with pytest.raises(ValidationFailed) as caught:
        call(fn, actor, **kwargs)
    return caught.value.errors


def refusal(fn, actor: Actor, **kwargs) -> str:  # noqa: ANN001
    with pytest.raises(DomainError) as caught:
        call(fn, actor, **kwargs)
    return caught.value.key


def issue(actor: Actor, cid: int, tier: str = "silver", topup: int = 20000, **more):  # noqa: ANN201
    fee = {"fee_method": "cash"} if tier != "ordinary" else {}
    return call(
        membership.issue_card, actor, customer_id=cid, tier_code=tier, application_signed=True,
        first_topup_fen=topup, topup_method="wechat", **fee, **more,
    )  # fmt: skip


def buy(actor: Actor, cid: int, price: int, payments, **more) -> orders.PostedOrder:  # noqa: ANN001
    return call(
        orders.post_purchase, actor, customer_id=cid, lines=[("洗车", 1, price)],
        payments=payments, **more,
    )  # fmt: skip


def _sum(model, column, cid: int) -> int:  # noqa: ANN001
    with session_scope() as session:
        return int(
            session.exec(
                select(func.coalesce(func.sum(column), 0)).where(model.customer_id == cid)
            ).scalar_one()
        )


@pytest.fixture
def world(db):  # noqa: ANN001, ANN201
    clock.set_now(NOON)
    store = _store()
    return (
        _staff("desk.one", "front_desk", store),
        _staff("boss.one", "cs_manager", store),
        _customer(),
    )


# --- the acceptance journey -------------------------------------------------------------------


def test_silver_card_purchase_from_stored_value_and_replacement(world):  # noqa: ANN001
    desk, _, cid = world
    issued = issue(desk, cid, "silver", 20000)
    assert (issued.fee_fen, issued.topup_fen, issued.balance_fen) == (1000, 20000, 20000)
    assert issued.card.tier.discount_pct == 90 and issued.card.member_class == "vip"
    assert issued.topup_receipt.amount_fen == 20000 and issued.topup_receipt.balance_fen == 20000
    assert issued.topup_receipt.store_name == "总店"
    # the fee is its own payment, never a stored-value entry
    with session_scope() as session:
        fee = session.exec(select(CardFeePayment)).scalar_one()
        kinds = session.exec(select(StoredValueEntry.kind, StoredValueEntry.amount_fen)).all()
    assert (fee.amount_fen, fee.method, fee.kind, fee.tier_code) == (
        1000,
        "cash",
        "issue",
        "silver",
    )
    assert kinds == [("topup", 20000)]

    number = issued.card.number
    posted = buy(desk, cid, 19990, [("stored_value", 17991)], card_number=number)
    assert (posted.total_fen, posted.discount_fen, posted.paid_fen, posted.points) == (
        19990, 1999, 17991, 179,
    )  # fmt: skip
    summary = call(membership.customer_membership, desk, customer_id=cid)
    assert (summary.balance_fen, summary.points_available, summary.clawback_points) == (
        2009,
        179,
        0,
    )

    new = call(membership.replace_lost_card, desk, card_id=issued.card.id, identity_checked=True)
    assert new.number != number and new.tier.code == "silver"
    old = call(membership.find_card, desk, number=number)
    assert (old.status, old.replaced_by_number) == ("lost", new.number)
    # the old number is void for good; the new one carries balance and points
    assert errors_of(
        orders.post_purchase, desk, customer_id=cid, lines=[("茶", 1, 1000)],
        payments=[("stored_value", 900)], card_number=number,
    ) == {"card_number": "membership.error.card_not_active"}  # fmt: skip
    again = buy(desk, cid, 1000, [("stored_value", 900)], card_number=new.number)
    assert (again.paid_fen, again.points) == (900, 9)
    summary = call(membership.customer_membership, desk, customer_id=cid)
    assert (summary.card.number, summary.balance_fen, summary.points_available) == (
        new.number, 1109, 188,
    )  # fmt: skip
    assert _sum(StoredValueEntry, StoredValueEntry.amount_fen, cid) == 1109


def test_card_numbers_are_unique_check_digit_and_never_reused(world):  # noqa: ANN001
    desk, boss, cid = world
    first = issue(desk, cid, "ordinary", 0).card
    second = call(membership.replace_lost_card, desk, card_id=first.id, identity_checked=True)
    call(membership.close_card, boss, card_id=second.id, refund_method=None, reason="客户退卡")
    third = issue(desk, cid, "gold", 50000).card
    numbers = [first.number, second.number, third.number]
    assert len(set(numbers)) == 3 and all(n.startswith("88") and len(n) == 12 for n in numbers)
    with pytest.raises(sa.exc.DatabaseError), get_engine().begin() as conn:
        conn.exec_driver_sql(f"DELETE FROM member_cards WHERE id = {first.id}")


# --- issue, upgrade, close --------------------------------------------------------------------


def test_issue_checks_application_minimum_fee_method_and_one_active_card(world):  # noqa: ANN001
    desk, _, cid = world
    assert errors_of(
        membership.issue_card, desk, customer_id=cid, tier_code="gold", application_signed=False,
        first_topup_fen=49999, topup_method="stored_value", fee_method=None,
    ) == {
        "application_signed": "membership.error.application_unsigned",
        "first_topup": "membership.error.topup_below_minimum",
        "topup_method": "membership.error.method",
        "fee_method": "membership.error.method",
    }  # fmt: skip
    assert errors_of(
        membership.issue_card, desk, customer_id=cid, tier_code="platinum",
        application_signed=True, first_topup_fen=-1,
    ) == {"tier": "membership.error.tier", "first_topup": "membership.error.amount"}  # fmt: skip
    with session_scope() as session:
        assert session.exec(select(func.count(MemberCard.id))).scalar_one() == 0
    issue(desk, cid, "silver", 10000)
    assert refusal(membership.issue_card, desk, customer_id=cid, tier_code="gold",
                   application_signed=True, first_topup_fen=50000, topup_method="cash",
                   fee_method="cash") == "membership.error.has_active_card"  # fmt: skip


def test_upgrade_needs_signature_the_new_minimum_and_fee_and_keeps_the_number(world):  # noqa: ANN001
    desk, _, cid = world
    card = issue(desk, cid, "silver", 10000).card
    assert errors_of(
        membership.upgrade_card, desk, card_id=card.id, tier_code="gold",
        signature_confirmed=False, topup_fen=40000, topup_method="cash",
    ) == {
        "signature_confirmed": "membership.error.signature_required",
        "topup": "membership.error.topup_below_minimum",
        "fee_method": "membership.error.method",
    }  # fmt: skip
    assert errors_of(
        membership.upgrade_card, desk, card_id=card.id, tier_code="ordinary",
        signature_confirmed=True, topup_fen=0, topup_method="cash",
    ) == {"tier": "membership.error.upgrade_tier"}  # fmt: skip
    up = call(
        membership.upgrade_card, desk, card_id=card.id, tier_code="gold",
        signature_confirmed=True, topup_fen=50000, topup_method="alipay", fee_method="cash",
    )  # fmt: skip
    assert (up.card.number, up.card.tier.code, up.fee_fen, up.balance_fen) == (
        card.number, "gold", 2000, 60000,
    )  # fmt: skip
    assert buy(desk, cid, 10000, [("stored_value", 8000)]).paid_fen == 8000  # 8折


def test_close_card_refunds_the_balance_by_the_chosen_method(world):  # noqa: ANN001
    desk, boss, cid = world
    card = issue(desk, cid, "silver", 15000).card
    buy(desk, cid, 5000, [("stored_value", 4500)])
    with pytest.raises(PermissionDenied):
        call(membership.close_card, desk, card_id=card.id, refund_method="cash", reason="退卡")
    assert errors_of(
        membership.close_card, boss, card_id=card.id, refund_method="stored_value", reason=""
    ) == {"refund_method": "membership.error.method", "reason": "customer.error.reason_required"}
    closed = call(membership.close_card, boss, card_id=card.id, refund_method="cash", reason="搬家")
    assert (closed.refunded_fen, closed.method, closed.card.status) == (10500, "cash", "closed")
    assert call(membership.customer_membership, desk, customer_id=cid).balance_fen == 0
    assert refusal(membership.topup, desk, card_id=card.id, amount_fen=100, method="cash") == (
        "membership.error.card_not_active"
    )
    assert errors_of(
        orders.post_purchase, desk, customer_id=cid, lines=[("茶", 1, 100)],
        payments=[("stored_value", 100)],
    ) == {"payments.0.method": "membership.error.no_active_card"}  # fmt: skip


def test_topup_receipt_and_stored_value_never_negative(world):  # noqa: ANN001
    desk, _, cid = world
    card = issue(desk, cid, "ordinary", 0).card
    receipt = call(membership.topup, desk, card_id=card.id, amount_fen=3000, method="bank_card")
    assert (receipt.amount_fen, receipt.balance_fen, receipt.card_number) == (
        3000, 3000, card.number,
    )  # fmt: skip
    assert receipt.number.startswith("D20250615")
    assert errors_of(membership.topup, desk, card_id=card.id, amount_fen=0, method="x") == {
        "amount": "membership.error.amount",
        "method": "membership.error.method",
    }
    assert errors_of(
        orders.post_purchase, desk, customer_id=cid, lines=[("茶", 1, 3001)],
        payments=[("stored_value", 3001)],
    ) == {"payments.0.method": "membership.error.insufficient_balance"}  # fmt: skip
    buy(desk, cid, 3001, [("stored_value", 3000), ("cash", 1)])
    assert _sum(StoredValueEntry, StoredValueEntry.amount_fen, cid) == 0


def test_refund_to_stored_value_and_points_back(world):  # noqa: ANN001
    desk, _, cid = world
    issue(desk, cid, "silver", 20000)
    posted = buy(desk, cid, 19990, [("stored_value", 17991)])
    refund = call(
        orders.post_refund, desk, order_id=posted.id, amount_fen=5000,
        payments=[("stored_value", 5000)], reason="部分退货",
    )  # fmt: skip
    assert refund.points == -50  # 179 − floor(129.91)
    summary = call(membership.customer_membership, desk, customer_id=cid)
    assert (summary.balance_fen, summary.points_available) == (2009 + 5000, 129)


# --- tiers, unit members, voids ---------------------------------------------------------------


def test_tiers_are_seeded_and_edited_by_cs_manager_with_audit(world):  # noqa: ANN001
    desk, boss, _ = world
    with session_scope() as session:
        tiers = membership.list_tiers(session)
    assert [(t.name_zh, t.discount_pct, t.min_first_topup_fen, t.card_fee_fen) for t in tiers] == [
        ("普通卡", 100, 0, 0),
        ("银卡", 90, 10000, 1000),
        ("金卡", 80, 50000, 2000),
        ("钻石卡", 70, 100000, 5000),
    ]
    change = {"code": "silver", "name_zh": "银卡", "name_en": "Silver", "discount_pct": 88,
              "min_first_topup_fen": 10000, "card_fee_fen": 1500}  # fmt: skip
    with pytest.raises(PermissionDenied):
        call(membership.update_tier, desk, **change)
    assert call(membership.update_tier, boss, **change).discount_pct == 88
    assert errors_of(
        membership.update_tier, boss, **{**change, "discount_pct": 0, "name_zh": ""}
    ) == {
        "discount_pct": "orders.error.discount",
        "name_zh": "membership.error.tier_name",
    }
    with session_scope() as session:
        entry = session.exec(
            select(AuditEntry).where(AuditEntry.action == "tier.update")
        ).scalar_one()
    assert entry.fields == "discount_pct,card_fee_fen"


def test_unit_member_purchase_needs_a_work_order_reference(world):  # noqa: ANN001
    desk, _, _ = world
    unit = _customer("某某公司", "13800001111")
    issue(desk, unit, "gold", 50000, member_class="unit")
    assert errors_of(
        orders.post_purchase, desk, customer_id=unit, lines=[("保养", 1, 10000)],
        payments=[("cash", 8000)],
    ) == {"work_order_ref": "membership.error.work_order_required"}  # fmt: skip
    posted = buy(desk, unit, 10000, [("cash", 8000)], work_order_ref=" GD-2025-0615 ")
    with session_scope() as session:
        assert session.get(Order, posted.id).work_order_ref == "GD-2025-0615"
    assert call(membership.customer_membership, desk, customer_id=unit).member_class == "unit"


def test_same_day_void_by_cs_manager_reverses_everything(world):  # noqa: ANN001
    desk, boss, cid = world
    issue(desk, cid, "silver", 20000)
    posted = buy(desk, cid, 19990, [("stored_value", 10000), ("cash", 7991)])
    with pytest.raises(PermissionDenied):
        call(orders.void_purchase, desk, order_id=posted.id, reason="录错金额")
    void = call(orders.void_purchase, boss, order_id=posted.id, reason="录错金额")
    assert (void.paid_fen, void.points) == (17991, -179)
    assert void.number.startswith("V20250615")
    summary = call(membership.customer_membership, desk, customer_id=cid)
    assert (summary.balance_fen, summary.points_available) == (20000, 0)
    with session_scope() as session:
        assert session.get(Order, posted.id) is not None  # never a deletion
        kinds = (
            session.exec(select(StoredValueEntry.kind).order_by(StoredValueEntry.id))
            .scalars()
            .all()
        )
    assert kinds == ["topup", "spend", "correction"]
    assert refusal(orders.void_purchase, boss, order_id=posted.id, reason="再次作废") == (
        "orders.error.void_after_refund"
    )
    late = buy(desk, cid, 1000, [("cash", 900)])
    clock.advance(timedelta(days=1))
    assert refusal(orders.void_purchase, boss, order_id=late.id, reason="录错金额") == (
        "orders.error.void_same_day"
    )


# --- ledgers are append-only, and move on merge -------------------------------------------------


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE stored_value_entries SET amount_fen = 1",
        "DELETE FROM stored_value_entries",
        "UPDATE points_entries SET points = 1",
        "DELETE FROM points_entries",
        "UPDATE card_fee_payments SET amount_fen = 1",
        "DELETE FROM card_fee_payments",
    ],
)
def test_ledgers_refuse_update_and_delete(world, statement):  # noqa: ANN001
    desk, _, cid = world
    issue(desk, cid, "silver", 20000)
    buy(desk, cid, 10000, [("stored_value", 9000)])
    with pytest.raises(sa.exc.DatabaseError), get_engine().begin() as conn:
        conn.exec_driver_sql(statement)


def test_merge_moves_cards_ledgers_and_lots_to_the_survivor(world):  # noqa: ANN001
    desk, boss, keep = world
    other = _customer("张三", "13700001234")
    issue(desk, keep, "silver", 10000)
    kept_card = call(membership.customer_membership, desk, customer_id=keep).card
    issue(desk, other, "gold", 50000)
    buy(desk, other, 10000, [("stored_value", 8000)])
    call(merge.merge_customers, boss, survivor_id=keep, merged_id=other, reason="重复建档")
    summary = call(membership.customer_membership, desk, customer_id=other)
    assert summary.customer_id == keep and summary.card.number == kept_card.number
    assert (summary.balance_fen, summary.points_available) == (10000 + 42000, 80)
    with session_scope() as session:
        statuses = (
            session.exec(
                select(MemberCard.status)
                .where(MemberCard.customer_id == keep)
                .order_by(MemberCard.id)
            )
            .scalars()
            .all()
        )
        left = session.exec(
            select(func.count(PointsEntry.id)).where(PointsEntry.customer_id == other)
        ).scalar_one()
    assert statuses == ["active", "closed"] and left == 0
    with session_scope() as session:
        assert points.ledger_sum(session, keep) == 80


# --- permissions and the member's own view ------------------------------------------------------


def test_front_desk_cannot_adjust_points_or_void_and_members_get_only_their_own(world):  # noqa: ANN001
    desk, boss, cid = world
    issue(desk, cid, "silver", 20000)
    buy(desk, cid, 10000, [("stored_value", 9000)])
    with pytest.raises(PermissionDenied):
        call(points.adjust_points, desk, customer_id=cid, points=10, reason="补录积分")
    other = _customer("李四", "13600002222")
    member = Actor(user_id=None, name="member#1", kind="member", roles=frozenset({"member"}),
                   customer_id=other)  # fmt: skip
    for fn, kwargs in (
        (membership.customer_membership, {"customer_id": cid}),
        (membership.stored_value_ledger, {"customer_id": cid}),
        (membership.points_ledger, {"customer_id": cid}),
        (membership.find_card, {"number": "880000000010"}),
        (membership.topup, {"card_id": 1, "amount_fen": 100, "method": "cash"}),
        (orders.post_purchase, {"customer_id": cid, "lines": [], "payments": []}),
    ):
        with pytest.raises(PermissionDenied):
            call(fn, member, **kwargs)
    # the member's own page names no customer: it is always their own
    own = call(membership.member_summary, member)
    assert (own.customer_id, own.card, own.member_class, own.balance_fen) == (
        other, None, "non_member", 0,
    )  # fmt: skip
    mine = Actor(user_id=None, name="member#2", kind="member", roles=frozenset({"member"}),
                 customer_id=cid)  # fmt: skip
    summary = call(membership.member_summary, mine)
    assert (summary.balance_fen, summary.points_available) == (11000, 90)
    assert summary.next_tier.code == "gold" and summary.next_tier.min_first_topup_fen == 50000
    rows, total = call(membership.member_stored_value_ledger, mine)
    assert total == 2 and [r.kind for r in rows] == ["spend", "topup"]
    rows, total = call(membership.member_points_ledger, mine)
    assert total == 1 and rows[0].amount == 90
    with pytest.raises(PermissionDenied):
        call(membership.member_summary, desk)
