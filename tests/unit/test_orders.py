"""消费记录 services: rounding half up once per order, split payments that must add up, refunds
that cannot exceed what is left, spend = purchases − refunds, field errors, numbering, paging,
audit entries with ids only, and the customer's classification updated on posting."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import func, select

from custapp import clock
from custapp.db import session_scope
from custapp.models import AuditEntry, Customer, Order, OrderLine, OrderPayment, Store
from custapp.services import bootstrap, customers, orders
from custapp.services.actor import Actor, system_actor
from custapp.services.errors import DomainError, NotFound, PermissionDenied, ValidationFailed

NOON = datetime(2025, 6, 15, 4, 0, tzinfo=UTC)  # 12:00 in Shanghai


def _store(code: str = "HQ", name: str = "总店") -> int:
    with session_scope() as session:
        store = Store(code=code, name=name, created_at=clock.now())
        session.add(store)
        session.flush()
        return store.id


def _staff(username: str, role: str, store_ids: list[int]) -> Actor:
    with session_scope() as session:
        user_id = bootstrap.create_staff_user(
            session,
            actor=system_actor("test"),
            username=username,
            display_name=username,
            roles=[role],
            password="Correct-horse-42",
            store_ids=store_ids,
        )
    return Actor(
        user_id=user_id,
        name=username,
        roles=frozenset({role}),
        store_ids=tuple(store_ids),
        store_id=store_ids[0] if store_ids else None,
    )


def _customer(name: str = "张三", phone: str = "13912345678") -> int:
    with session_scope() as session:
        return customers.create_customer(
            session,
            actor=system_actor("test"),
            data=customers.CustomerInput(name=name, phone=phone),
        ).id


@pytest.fixture
def world(db):  # noqa: ANN001, ANN201
    clock.set_now(NOON)
    store = _store()
    desk = _staff("desk.one", "front_desk", [store])
    return store, desk, _customer()


def _buy(actor: Actor, cid: int, lines, payments, **kw) -> orders.PostedOrder:  # noqa: ANN001
    with session_scope() as session:
        return orders.post_purchase(
            session, actor=actor, customer_id=cid, lines=lines, payments=payments, **kw
        )


def _refund(actor: Actor, order_id: int, amount: int, payments=None, reason="顾客退货"):  # noqa: ANN001, ANN201
    with session_scope() as session:
        return orders.post_refund(
            session,
            actor=actor,
            order_id=order_id,
            amount_fen=amount,
            payments=payments if payments is not None else [("cash", amount)],
            reason=reason,
        )


def _errors(call) -> dict[str, str]:  # noqa: ANN001
    with pytest.raises(ValidationFailed) as caught:
        call()
    return caught.value.errors


def _customer_row(cid: int) -> Customer:
    with session_scope() as session:
        return session.get(Customer, cid)  # expire_on_commit=False: readable after the commit


def _count(model) -> int:  # noqa: ANN001
    with session_scope(write=False) as session:
        return session.exec(select(func.count()).select_from(model)).scalar_one()


# --- money --------------------------------------------------------------------------------


def test_a_discounted_order_rounds_half_up_once(world):  # noqa: ANN001
    _, desk, cid = world
    posted = _buy(desk, cid, [("羊绒围巾", 1, 19990)], [("wechat", 17991)], discount_pct=90)
    assert (posted.total_fen, posted.paid_fen, posted.discount_fen) == (19990, 17991, 1999)
    # three lines of ¥0.05 at half price: 7.5 fen rounds up to 8 once (per line it would be 9)
    posted = _buy(desk, cid, [("贴纸", 1, 5)] * 3, [("cash", 8)], discount_pct=50)
    assert (posted.total_fen, posted.paid_fen, posted.discount_fen) == (15, 8, 7)


@given(total=st.integers(0, 10**14), pct=st.integers(1, 100))
def test_paid_is_the_half_up_rounded_product(total, pct):  # noqa: ANN001
    exact = Decimal(total) * pct / 100
    assert orders.paid_for(total, pct) == int(exact.quantize(Decimal(1), rounding=ROUND_HALF_UP))


def test_a_split_payment_must_add_up_to_the_paid_amount(world):  # noqa: ANN001
    _, desk, cid = world
    lines = [("护理套餐", 2, 29900), ("精油", 1, 8800)]  # ¥686.00
    errors = _errors(lambda: _buy(desk, cid, lines, [("wechat", 50000), ("cash", 18000)]))
    assert errors == {"payments": "orders.error.payments_mismatch"}
    assert _count(Order) == 0
    posted = _buy(desk, cid, lines, [("wechat", 50000), ("cash", 10000), ("bank_card", 8600)])
    with session_scope(write=False) as session:
        paid = session.exec(
            select(OrderPayment.method, OrderPayment.amount_fen)
            .where(OrderPayment.order_id == posted.id)
            .order_by(OrderPayment.id)
        ).all()
        amounts = session.exec(
            select(OrderLine.amount_fen).where(OrderLine.order_id == posted.id)
        ).scalars()
    assert paid == [("wechat", 50000), ("cash", 10000), ("bank_card", 8600)]
    assert sorted(amounts) == [8800, 59800]


def test_bad_input_is_reported_next_to_each_field_and_nothing_is_saved(world):  # noqa: ANN001
    _, desk, cid = world
    errors = _errors(
        lambda: _buy(
            desk,
            cid,
            [(" ", 1, 100), ("茶叶", 0, 100), ("茶具", 1, -1), ("茶点", 1.5, 100)],
            [("bitcoin", 100), ("cash", 0)],
        )
    )
    assert errors == {
        "lines.0.item": "orders.error.item_required",
        "lines.1.quantity": "orders.error.quantity",
        "lines.2.unit_price": "orders.error.unit_price",
        "lines.3.quantity": "orders.error.quantity",
        "payments.0.method": "orders.error.method",
        "payments.1.amount": "orders.error.payment_amount",
    }
    assert _errors(lambda: _buy(desk, cid, [("赠品", 3, 0)], [("cash", 1)])) == {
        "lines": "orders.error.total_zero"
    }
    assert _errors(lambda: _buy(desk, cid, [], [("cash", 1)])) == {"lines": "orders.error.no_lines"}
    assert _errors(lambda: _buy(desk, cid, [("茶", 1, 100)], [])) == {
        "payments": "orders.error.no_payments"
    }
    assert _errors(lambda: _buy(desk, cid, [("茶", 1, 100)], [("cash", 100)], discount_pct=0)) == {
        "discount_pct": "orders.error.discount"
    }
    assert _count(Order) == _count(OrderLine) == _count(OrderPayment) == 0


def test_stored_value_is_refused_without_a_membership_card(world):  # noqa: ANN001
    _, desk, cid = world
    errors = _errors(
        lambda: _buy(desk, cid, [("洗车", 1, 5000)], [("cash", 2000), ("stored_value", 3000)])
    )
    assert errors == {"payments.1.method": "membership.error.no_active_card"}
    assert _count(Order) == 0


# --- numbers, stores, customers ---------------------------------------------------------------


def test_the_order_number_uses_the_local_date_and_the_id(world):  # noqa: ANN001
    store, desk, cid = world
    clock.set_now(datetime(2025, 3, 31, 17, 0, tzinfo=UTC))  # 1 April, 01:00 in Shanghai
    posted = _buy(desk, cid, [("午餐", 1, 4500)], [("alipay", 4500)])
    assert posted.number == f"S20250401{posted.id:08d}"
    refund = _refund(desk, posted.id, 1000)
    assert refund.number == f"R20250401{refund.id:08d}"
    with session_scope() as session:
        order = session.get(Order, posted.id)
    assert (order.store_id, order.created_by, order.kind) == (store, desk.user_id, "purchase")


def test_the_store_defaults_to_the_actors_and_must_be_one_of_theirs(world):  # noqa: ANN001
    store, desk, cid = world
    other = _store("EAST", "东城分店")
    lines, pay = [("午餐", 1, 4500)], [("cash", 4500)]
    assert _errors(lambda: _buy(desk, cid, lines, pay, store_id=other)) == {
        "store": "orders.error.store"
    }
    two = _staff("desk.two", "front_desk", [store, other])
    posted = _buy(two, cid, lines, pay, store_id=other)
    with session_scope(write=False) as session:
        assert session.get(Order, posted.id).store_id == other


def test_only_a_live_customer_can_buy(world):  # noqa: ANN001
    _, desk, cid = world
    survivor = _customer("张三丰", "13912345679")
    with session_scope() as session:
        session.get(Customer, cid).merged_into_id = survivor
    with pytest.raises(DomainError) as caught:
        _buy(desk, cid, [("午餐", 1, 4500)], [("cash", 4500)])
    assert caught.value.key == "customer.error.merged"
    with pytest.raises(NotFound):
        _buy(desk, 999_999, [("午餐", 1, 4500)], [("cash", 4500)])


# --- refunds ----------------------------------------------------------------------------------


def test_refunds_cannot_exceed_what_is_left(world):  # noqa: ANN001
    _, desk, cid = world
    posted = _buy(desk, cid, [("外套", 1, 100000)], [("bank_card", 88000)], discount_pct=88)
    assert posted.paid_fen == 88000
    assert _errors(lambda: _refund(desk, posted.id, 88001)) == {
        "amount": "orders.error.refund_amount"
    }
    _refund(desk, posted.id, 50000, [("bank_card", 30000), ("cash", 20000)])
    assert _errors(lambda: _refund(desk, posted.id, 38001)) == {
        "amount": "orders.error.refund_amount"
    }
    last = _refund(desk, posted.id, 38000, [("bank_card", 38000)])  # cash: ¥500 at most
    with pytest.raises(DomainError) as caught:
        _refund(desk, posted.id, 1)
    assert caught.value.key == "orders.error.nothing_left"
    with pytest.raises(DomainError) as caught:
        _refund(desk, last.id, 1)
    assert caught.value.key == "orders.error.not_refundable"
    with pytest.raises(NotFound):
        _refund(desk, 999_999, 1)


def test_a_refund_needs_a_reason_and_matching_payments(world):  # noqa: ANN001
    _, desk, cid = world
    posted = _buy(desk, cid, [("外套", 1, 10000)], [("cash", 10000)])
    errors = _errors(lambda: _refund(desk, posted.id, 5000, [("cash", 4000)], reason=" "))
    assert errors == {
        "payments": "orders.error.payments_mismatch",
        "reason": "customer.error.reason_required",
    }
    errors = _errors(lambda: _refund(desk, posted.id, 5000, [("stored_value", 5000)]))
    assert errors == {"payments.0.method": "membership.error.no_active_card"}
    errors = _errors(lambda: _refund(desk, posted.id, 0, [("cash", 0)]))
    assert errors == {
        "amount": "orders.error.refund_amount",
        "payments.0.amount": "orders.error.payment_amount",
    }
    assert _count(Order) == 1


def test_spend_is_purchases_minus_refunds_and_classification_follows(world):  # noqa: ANN001
    _, desk, cid = world
    before = _customer_row(cid)
    assert (before.lifecycle, before.grade, before.spend_12m_fen) == ("potential", "E", 0)
    first = _buy(desk, cid, [("会员年卡", 1, 300000)], [("wechat", 300000)])  # ¥3,000
    row = _customer_row(cid)
    assert (row.spend_12m_fen, row.lifecycle, row.grade) == (300000, "new", "D")
    assert row.first_purchase_at == row.last_purchase_at == NOON
    clock.advance(timedelta(days=3))
    _buy(desk, cid, [("私教课", 10, 30000)], [("alipay", 200000), ("cash", 100000)])
    row = _customer_row(cid)
    assert (row.spend_12m_fen, row.grade) == (600000, "C")
    assert row.first_purchase_at == NOON and row.last_purchase_at == clock.now()
    _refund(desk, first.id, 250000, [("wechat", 250000)])
    row = _customer_row(cid)
    # a refund lowers the spend but moves neither purchase date
    assert (row.spend_12m_fen, row.grade) == (350000, "D")
    assert row.first_purchase_at == NOON and row.last_purchase_at == clock.now()
    with session_scope(write=False) as session:
        spend = session.exec(
            select(func.sum(Order.spend_fen)).where(Order.customer_id == cid)
        ).scalar_one()
    assert spend == 350000


# --- the list -----------------------------------------------------------------------------------


def test_the_list_is_paged_newest_first_with_what_each_row_shows(world):  # noqa: ANN001
    _, desk, cid = world
    posted = []
    for i in range(5):
        clock.advance(timedelta(minutes=1))
        posted.append(
            _buy(desk, cid, [(f"商品{i}", 1, 1000 + i), ("袋子", 2, 50)], [("cash", 1100 + i)])
        )
    clock.advance(timedelta(minutes=1))
    refund = _refund(desk, posted[0].id, 600, [("wechat", 600)])
    with session_scope(write=False) as session:
        rows, total = orders.list_orders(session, actor=desk, customer_id=cid, page=1, page_size=4)
        rest, _ = orders.list_orders(session, actor=desk, customer_id=cid, page=2, page_size=4)
    assert total == 6
    assert [r.number for r in rows + rest] == [refund.number] + [p.number for p in posted[::-1]]
    top = rows[0]
    assert (top.kind, top.original_number, top.paid_fen, top.refundable_fen) == (
        "refund",
        posted[0].number,
        600,
        0,
    )
    assert top.payments == (("wechat", 600),) and top.lines == ()
    purchase = rows[1]
    assert purchase.lines == (("商品4", 1), ("袋子", 2))
    assert (purchase.total_fen, purchase.discount_fen, purchase.paid_fen) == (1104, 0, 1104)
    assert purchase.store_name == "总店"
    assert purchase.payments == (("cash", 1104),)
    oldest = rest[-1]
    assert oldest.refundable_fen == 1100 - 600


def test_a_merged_customers_id_lists_the_survivors_orders(world):  # noqa: ANN001
    _, desk, cid = world
    _buy(desk, cid, [("午餐", 1, 4500)], [("cash", 4500)])
    merged = _customer("张三", "13912345670")
    with session_scope() as session:
        session.get(Customer, merged).merged_into_id = cid
    with session_scope(write=False) as session:
        rows, total = orders.list_orders(session, actor=desk, customer_id=merged)
    assert total == 1 and rows[0].lines == (("午餐", 1),)


# --- audit and permissions ----------------------------------------------------------------


def test_postings_are_audited_with_ids_only(world):  # noqa: ANN001
    _, desk, cid = world
    posted = _buy(desk, cid, [("外套", 1, 123456)], [("cash", 123456)])
    refund = _refund(desk, posted.id, 23456, reason="尺码不合适")
    with session_scope() as session:
        entries = (
            session.exec(
                select(AuditEntry)
                .where(AuditEntry.action.startswith("order."))
                .order_by(AuditEntry.seq)
            )
            .scalars()
            .all()
        )
    assert [(e.action, e.customer_id, e.actor_id) for e in entries] == [
        ("order.purchase", cid, desk.user_id),
        ("order.refund", cid, desk.user_id),
    ]
    assert json.loads(entries[0].detail) == {"order": posted.id}
    assert json.loads(entries[1].detail) == {"order": refund.id, "purchase": posted.id}
    assert entries[1].reason == "尺码不合适"
    for entry in entries:
        assert "123456" not in (entry.detail or "") and "1234.56" not in (entry.detail or "")


@pytest.mark.parametrize("role", ["compliance", "auditor", "sysadmin"])
def test_roles_without_purchase_post_are_refused_and_audited(world, role):  # noqa: ANN001
    store, desk, cid = world
    posted = _buy(desk, cid, [("外套", 1, 10000)], [("cash", 10000)])
    other = _staff(f"user.{role}", role, [] if role in ("auditor", "sysadmin") else [store])
    with pytest.raises(PermissionDenied):
        _buy(other, cid, [("外套", 1, 10000)], [("cash", 10000)])
    with pytest.raises(PermissionDenied):
        _refund(other, posted.id, 100)
    with session_scope(write=False) as session:
        denied = session.exec(
            select(AuditEntry.action).where(
                AuditEntry.outcome == "denied", AuditEntry.actor_id == other.user_id
            )
        ).scalars()
    assert sorted(denied) == ["orders.post_purchase", "orders.post_refund"]
    assert _count(Order) == 1
