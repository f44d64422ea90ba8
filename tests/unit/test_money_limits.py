"""Money without limits (issue 14, item 11): 64-bit money and points on both backends, the cap on
a card's stored value and on a single top-up, the confirmation step (a preview that writes
nothing, the commit that validates again), and cash refunds above the threshold that go to 审批
like voids."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select
from test_membership import _customer, _staff, _store, buy, call, errors_of, issue, refusal

from custapp import clock
from custapp.db import session_scope
from custapp.models import ApprovalRequest, AuditEntry, Customer, Order, StoredValueEntry
from custapp.services import approvals, membership, orders
from custapp.services.errors import PermissionDenied
from custapp.settings import get_settings

NOON = datetime(2025, 6, 15, 4, 0, tzinfo=UTC)  # 12:00 in Shanghai
YUAN = 100


@pytest.fixture
def world(db):  # noqa: ANN001, ANN201
    clock.set_now(NOON)
    store = _store()
    return (
        _staff("desk.one", "front_desk", store),
        _staff("boss.one", "cs_manager", store),
        _customer(),
    )


def _count(model) -> int:  # noqa: ANN001
    with session_scope() as session:
        return session.exec(select(func.count()).select_from(model)).scalar_one()


def _balance(cid: int) -> int:
    with session_scope() as session:
        return membership.balance(session, cid)


# --- 64-bit ---------------------------------------------------------------------------------


def test_a_30_million_yuan_year_and_its_points_are_stored(world):  # noqa: ANN001
    """¥30,000,000 of 12-month spend passes the 32-bit limit (¥21,474,836.47); a purchase of
    ¥3,000,000,000 on a card earns 3,000,000,000 points, past the 32-bit limit too."""
    desk, _, cid = world
    buy(desk, cid, 30_000_000 * YUAN, [("bank_card", 30_000_000 * YUAN)])
    with session_scope() as session:
        assert session.get(Customer, cid).spend_12m_fen == 3_000_000_000
    issue(desk, cid, "ordinary", 0)
    posted = buy(desk, cid, 3_000_000_000 * YUAN, [("bank_card", 3_000_000_000 * YUAN)])
    assert posted.points == 3_000_000_000
    summary = call(membership.customer_membership, desk, customer_id=cid)
    assert summary.points_available == 3_000_000_000
    with session_scope() as session:
        assert session.get(Customer, cid).spend_12m_fen == 303_000_000_000


# --- caps -----------------------------------------------------------------------------------


def test_the_first_top_up_of_99_billion_is_refused_next_to_the_field(world):  # noqa: ANN001
    desk, _, cid = world
    assert errors_of(
        membership.issue_card, desk, customer_id=cid, tier_code="silver", application_signed=True,
        first_topup_fen=9_999_999_999_900, topup_method="cash", fee_method="cash",
    ) == {"first_topup": "membership.error.topup_over_limit"}  # fmt: skip
    assert _count(StoredValueEntry) == 0


def test_the_balance_and_a_single_top_up_are_capped(world):  # noqa: ANN001
    desk, boss, cid = world
    settings = get_settings()
    assert (settings.stored_value_cap_fen, settings.topup_max_fen) == (500_000, 200_000)
    card = issue(desk, cid, "silver", 200_000).card  # a first top-up at the single limit
    assert errors_of(
        membership.topup, desk, card_id=card.id, amount_fen=200_001, method="cash"
    ) == {"amount": "membership.error.topup_over_limit"}
    call(membership.topup, desk, card_id=card.id, amount_fen=200_000, method="cash")
    assert errors_of(
        membership.topup, desk, card_id=card.id, amount_fen=100_001, method="cash"
    ) == {"amount": "membership.error.balance_over_cap"}
    call(membership.topup, desk, card_id=card.id, amount_fen=100_000, method="cash")
    assert _balance(cid) == 500_000  # exactly the cap
    assert errors_of(
        membership.upgrade_card, desk, card_id=card.id, tier_code="gold",
        signature_confirmed=True, topup_fen=50_000, topup_method="cash", fee_method="cash",
    ) == {"topup": "membership.error.balance_over_cap"}  # fmt: skip
    # a refund into stored value cannot lift the balance over the cap either
    posted = buy(desk, cid, 1000, [("cash", 900)])
    assert errors_of(
        orders.post_refund, desk, order_id=posted.id, amount_fen=900,
        payments=[("stored_value", 900)], reason="顾客退货",
    ) == {"payments.0.method": "membership.error.balance_over_cap"}  # fmt: skip
    assert _balance(cid) == 500_000
    # a tier whose first top-up the single limit refuses could never be issued
    assert errors_of(
        membership.update_tier, boss, code="diamond", name_zh="钻石卡", name_en="Diamond",
        discount_pct=70, min_first_topup_fen=200_001, card_fee_fen=5000,
    ) == {"min_first_topup": "membership.error.topup_over_limit"}  # fmt: skip


def test_the_caps_are_settings(world, monkeypatch):  # noqa: ANN001
    desk, _, cid = world
    monkeypatch.setenv("CUSTAPP_STORED_VALUE_CAP_YUAN", "300")
    monkeypatch.setenv("CUSTAPP_TOPUP_MAX_YUAN", "250")
    get_settings.cache_clear()
    card = issue(desk, cid, "silver", 25_000).card
    assert errors_of(membership.topup, desk, card_id=card.id, amount_fen=25_001, method="cash") == {
        "amount": "membership.error.topup_over_limit"
    }
    assert errors_of(membership.topup, desk, card_id=card.id, amount_fen=5_001, method="cash") == {
        "amount": "membership.error.balance_over_cap"
    }


# --- the confirmation step ------------------------------------------------------------------


def test_a_preview_names_the_amount_and_the_balance_and_writes_nothing(world):  # noqa: ANN001
    desk, boss, cid = world
    audit_rows = _count(AuditEntry)
    preview = issue(desk, cid, "silver", 20_000, preview=True)
    assert (preview.amount_fen, preview.fee_fen, preview.balance_fen) == (20_000, 1_000, 20_000)
    assert (_count(StoredValueEntry), _count(AuditEntry)) == (0, audit_rows)
    card = issue(desk, cid, "silver", 20_000).card

    before = (_count(StoredValueEntry), _count(AuditEntry))
    preview = call(
        membership.topup, desk, card_id=card.id, amount_fen=5_050, method="wechat", preview=True
    )
    assert (preview.amount_fen, preview.balance_fen) == (5_050, 25_050)
    preview = call(
        membership.close_card, boss, card_id=card.id, refund_method="cash", reason="搬家",
        preview=True,
    )  # fmt: skip
    assert (preview.amount_fen, preview.balance_fen) == (20_000, 0)
    posted = buy(desk, cid, 10_000, [("stored_value", 9_000)])
    preview = call(
        orders.post_refund, desk, order_id=posted.id, amount_fen=3_000,
        payments=[("stored_value", 3_000)], reason="顾客退货", preview=True,
    )  # fmt: skip
    assert (preview.amount_fen, preview.balance_fen, preview.needs_approval) == (
        3_000, 14_000, False,
    )  # fmt: skip
    preview = call(orders.void_purchase, boss, order_id=posted.id, reason="录错金额", preview=True)
    assert (preview.amount_fen, preview.balance_fen) == (9_000, 20_000)
    assert (_count(StoredValueEntry), _count(Order)) == (before[0] + 1, 1)
    # previews run the same checks as the commit, permissions included
    assert errors_of(
        membership.topup, desk, card_id=card.id, amount_fen=900_000, method="cash", preview=True
    ) == {"amount": "membership.error.topup_over_limit"}
    with pytest.raises(PermissionDenied):
        call(orders.void_purchase, desk, order_id=posted.id, reason="录错金额", preview=True)


# --- cash refunds above the threshold go to 审批 ---------------------------------------------


def _cash_purchase(desk, cid: int, fen: int = 100_000) -> int:  # noqa: ANN001
    return buy(desk, cid, fen, [("cash", fen)]).id


def test_a_cash_refund_above_the_threshold_waits_for_the_manager(world):  # noqa: ANN001
    desk, boss, cid = world
    assert get_settings().refund_approval_fen == 50_000
    order_id = _cash_purchase(desk, cid)
    ask = {"order_id": order_id, "amount_fen": 60_000, "payments": [("cash", 60_000)]}
    preview = call(orders.post_refund, desk, **ask, reason="顾客退货", preview=True)
    assert preview.needs_approval is True
    # the counter cannot post it directly, whatever its page sends
    assert refusal(orders.post_refund, desk, **ask, reason="顾客退货") == (
        "orders.error.refund_needs_approval"
    )
    asked = call(approvals.request_refund, desk, **ask, reason="顾客退货")
    assert (asked.kind, asked.status, asked.amount_fen) == ("order_refund", "pending", 60_000)
    assert _count(Order) == 1  # nothing refunded yet
    assert refusal(approvals.request_refund, desk, **ask, reason="再次申请") == (
        "approval.error.refund_pending"
    )
    with pytest.raises(PermissionDenied):
        call(approvals.approve, desk, request_id=asked.id)
    inbox = call(approvals.inbox, boss, kind="order_refund")
    assert [i.approval.id for i in inbox.items] == [asked.id]

    done = call(approvals.approve, boss, request_id=asked.id)
    assert done.status == "approved"
    with session_scope() as session:
        refund = session.exec(select(Order).where(Order.kind == "refund")).scalar_one()
        assert (refund.original_order_id, refund.paid_fen, refund.created_by) == (
            order_id, 60_000, boss.user_id,
        )  # fmt: skip
        assert session.get(Customer, cid).spend_12m_fen == 40_000
    left = call(orders.list_orders, desk, customer_id=cid)[0]
    assert [r.refundable_fen for r in left if r.kind == "purchase"] == [40_000]


def test_a_refused_refund_request_changes_nothing(world):  # noqa: ANN001
    desk, boss, cid = world
    order_id = _cash_purchase(desk, cid)
    asked = call(
        approvals.request_refund, desk, order_id=order_id, amount_fen=100_000,
        payments=[("cash", 100_000)], reason="顾客退货",
    )  # fmt: skip
    call(approvals.reject, boss, request_id=asked.id, reason="商品已使用")
    assert _count(Order) == 1
    with session_scope() as session:
        assert session.get(Customer, cid).spend_12m_fen == 100_000
        request = session.get(ApprovalRequest, asked.id)
        assert request.status == "rejected"


def test_a_refund_by_a_method_the_purchase_was_not_paid_by_counts_as_cash(world):  # noqa: ANN001
    """A cash purchase refunded as WeChat, or into stored value, is money out of the till all the
    same: above the threshold it waits for the manager too."""
    desk, _, cid = world
    order_id = _cash_purchase(desk, cid)
    for method in ("wechat", "alipay", "bank_card"):
        assert refusal(
            orders.post_refund, desk, order_id=order_id, amount_fen=60_000,
            payments=[(method, 60_000)], reason="顾客退货",
        ) == "orders.error.refund_needs_approval"  # fmt: skip
    # split across methods it still adds up: ¥400 cash + ¥200 WeChat on a cash purchase
    assert refusal(
        orders.post_refund, desk, order_id=order_id, amount_fen=60_000,
        payments=[("cash", 40_000), ("wechat", 20_000)], reason="顾客退货",
    ) == "orders.error.refund_needs_approval"  # fmt: skip
    assert _count(Order) == 1
    # a WeChat purchase goes back to WeChat at the counter, whatever the amount
    paid = buy(desk, cid, 100_000, [("wechat", 100_000)]).id
    call(
        orders.post_refund, desk, order_id=paid, amount_fen=100_000,
        payments=[("wechat", 100_000)], reason="顾客退货",
    )  # fmt: skip


def test_below_the_threshold_or_not_cash_the_counter_refunds_directly(world):  # noqa: ANN001
    desk, boss, cid = world
    order_id = buy(desk, cid, 100_000, [("cash", 70_000), ("wechat", 30_000)]).id
    call(
        orders.post_refund, desk, order_id=order_id, amount_fen=50_000,
        payments=[("cash", 50_000)], reason="顾客退货",
    )  # fmt: skip
    # the threshold counts every cash refund of the purchase: a second ¥1 in cash needs approval
    assert refusal(
        orders.post_refund, desk, order_id=order_id, amount_fen=100,
        payments=[("cash", 100)], reason="顾客退货",
    ) == "orders.error.refund_needs_approval"  # fmt: skip
    call(
        orders.post_refund, desk, order_id=order_id, amount_fen=30_000,
        payments=[("wechat", 30_000)], reason="顾客退货",
    )  # fmt: skip
    # cs_manager refunds cash above the threshold directly (the preview says so)
    preview = call(
        orders.post_refund, boss, order_id=order_id, amount_fen=20_000,
        payments=[("cash", 20_000)], reason="顾客退货", preview=True,
    )  # fmt: skip
    assert preview.needs_approval is False
    call(
        orders.post_refund, boss, order_id=order_id, amount_fen=20_000,
        payments=[("cash", 20_000)], reason="顾客退货",
    )  # fmt: skip
    assert _count(Order) == 4
