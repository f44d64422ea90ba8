"""小票 (SPEC §8 Money): a purchase receipt carries the lines, the discount, the split payments,
the points earned and the stored value right after it; a top-up receipt the amount, the method
and the balance after; the customer's name and the card number are masked; a role without
customer.read is refused; every view is audited with ids only."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from custapp import clock
from custapp.db import session_scope
from custapp.models import AuditEntry, Store
from custapp.services import bootstrap, customers, membership, orders
from custapp.services.actor import Actor, system_actor
from custapp.services.errors import NotFound, PermissionDenied

NOON = datetime(2026, 6, 15, 4, 0, tzinfo=UTC)  # 12:00 in Shanghai
PHONE = "13912345678"


def _staff(username: str, role: str, store_ids: list[int]) -> Actor:
    with session_scope() as session:
        user_id = bootstrap.create_staff_user(
            session,
            actor=system_actor("test"),
            username=username,
            display_name=f"{username} 名",
            roles=[role],
            password="Correct-horse-42",
            store_ids=store_ids,
        )
    return Actor(
        user_id=user_id,
        name=username,
        display_name=f"{username} 名",
        roles=frozenset({role}),
        store_ids=tuple(store_ids),
        store_id=store_ids[0] if store_ids else None,
    )


@pytest.fixture
def world(db) -> dict:  # noqa: ANN001
    clock.set_now(NOON)
    with session_scope() as session:
        store = Store(code="HQ", name="总店", created_at=clock.now())
        session.add(store)
        session.flush()
        store_id = store.id
    desk = _staff("desk.one", "front_desk", [store_id])
    with session_scope() as session:
        cid = customers.create_customer(
            session,
            actor=system_actor("test"),
            data=customers.CustomerInput(name="张三丰", phone=PHONE),
        ).id
        issued = membership.issue_card(
            session, actor=desk, customer_id=cid, tier_code="silver", application_signed=True,
            first_topup_fen=20000, topup_method="cash", fee_method="cash",
        )  # fmt: skip
    return {"desk": desk, "cid": cid, "card": issued.card.number, "store": store_id}


def _purchase(world: dict) -> orders.PostedOrder:
    """¥100.00 + 2 × ¥10.05 = ¥120.10 at 9折 → ¥108.09: ¥50 stored value + ¥58.09 WeChat."""
    with session_scope() as session:
        return orders.post_purchase(
            session,
            actor=world["desk"],
            customer_id=world["cid"],
            lines=[("羊绒围巾", 1, 10000), ("礼盒", 2, 1005)],
            payments=[("stored_value", 5000), ("wechat", 5809)],
        )


def _order_receipt(actor: Actor, number: str) -> membership.Receipt:
    with session_scope() as session:
        return orders.order_receipt(session, actor=actor, number=number)


def _topup_receipt(actor: Actor, number: str) -> membership.Receipt:
    with session_scope() as session:
        return membership.topup_receipt(session, actor=actor, number=number)


def _card_id(world: dict) -> int:
    with session_scope() as session:
        return membership.find_card(session, actor=world["desk"], number=world["card"]).id


def test_a_purchase_receipt_shows_the_split_payment_discount_points_and_balance(world) -> None:  # noqa: ANN001
    posted = _purchase(world)
    clock.advance(timedelta(minutes=5))
    with session_scope() as session:  # later top-ups do not change what the receipt says
        membership.topup(
            session, actor=world["desk"], card_id=_card_id(world), amount_fen=3000, method="cash"
        )
    receipt = _order_receipt(world["desk"], posted.number)
    assert (receipt.kind, receipt.number, receipt.original_number) == (
        "purchase",
        posted.number,
        "",
    )
    assert receipt.lines == (("羊绒围巾", 1, 10000, 10000), ("礼盒", 2, 1005, 2010))
    assert (receipt.total_fen, receipt.discount_fen, receipt.paid_fen) == (12010, 1201, 10809)
    assert receipt.payments == (("stored_value", 5000), ("wechat", 5809))
    assert receipt.points == 108  # whole yuan paid
    assert receipt.balance_fen == 15000  # ¥200 − ¥50, before the later top-up
    assert (receipt.store_name, receipt.operator) == ("总店", "desk.one 名")
    assert receipt.created_at == NOON


def test_names_and_card_numbers_are_masked(world) -> None:  # noqa: ANN001
    receipt = _order_receipt(world["desk"], _purchase(world).number)
    assert receipt.customer_name == "张***"
    card = world["card"]
    assert receipt.card_number == f"88{'*' * (len(card) - 6)}{card[-4:]}"
    text = repr(receipt)
    for secret in ("张三丰", card, PHONE, PHONE[-4:] + "'"):
        assert secret not in text


def test_a_top_up_receipt_shows_amount_method_and_balance_after(world) -> None:  # noqa: ANN001
    clock.advance(timedelta(hours=1))
    with session_scope() as session:
        done = membership.topup(
            session, actor=world["desk"], card_id=_card_id(world), amount_fen=5050, method="alipay"
        )
    _purchase(world)  # spends ¥50 afterwards
    receipt = _topup_receipt(world["desk"], done.number)
    assert (receipt.kind, receipt.number) == ("topup", done.number)
    assert done.number.startswith("D20260615")
    assert (receipt.total_fen, receipt.paid_fen, receipt.payments) == (
        5050,
        5050,
        (("alipay", 5050),),
    )
    assert receipt.balance_fen == 25050  # right after it, not today's balance
    assert receipt.customer_name == "张***" and world["card"] not in receipt.card_number
    assert (receipt.lines, receipt.points, receipt.operator) == ((), 0, "desk.one 名")


def test_a_void_receipt_reverses_the_purchase(world) -> None:  # noqa: ANN001
    posted = _purchase(world)
    manager = _staff("boss", "cs_manager", [world["store"]])
    with session_scope() as session:
        void = orders.void_purchase(session, actor=manager, order_id=posted.id, reason="录错金额")
    receipt = _order_receipt(world["desk"], void.number)
    assert (receipt.kind, receipt.original_number) == ("void", posted.number)
    assert (receipt.paid_fen, receipt.points, receipt.balance_fen) == (10809, -108, 20000)
    assert receipt.payments == (("stored_value", 5000), ("wechat", 5809))
    assert receipt.card_number.endswith(world["card"][-4:])


def test_unknown_or_forged_numbers_are_not_found(world) -> None:  # noqa: ANN001
    posted = _purchase(world)
    with session_scope() as session:
        topup = membership.topup(
            session, actor=world["desk"], card_id=_card_id(world), amount_fen=100, method="cash"
        )
    forged_date = "D20250101" + topup.number[9:]
    for call, number in (
        (_order_receipt, "S2026061599999999"),
        (_order_receipt, ""),
        (_order_receipt, posted.number + "0" * 30),
        (_topup_receipt, forged_date),
        (_topup_receipt, posted.number),
        (_topup_receipt, None),
    ):
        with pytest.raises(NotFound):
            call(world["desk"], number)


def test_a_role_without_customer_read_is_refused_and_audited(world) -> None:  # noqa: ANN001
    posted = _purchase(world)
    for role in ("auditor", "sysadmin"):
        actor = _staff(f"x.{role}", role, [])
        with pytest.raises(PermissionDenied):
            _order_receipt(actor, posted.number)
        with pytest.raises(PermissionDenied):
            _topup_receipt(actor, "D2026061500000001")
        with session_scope() as session:
            denied = session.exec(
                select(AuditEntry.action, AuditEntry.outcome)
                .where(AuditEntry.actor_id == actor.user_id)
                .order_by(AuditEntry.seq)
            ).all()
        assert denied == [
            ("orders.order_receipt", "denied"),
            ("membership.topup_receipt", "denied"),
        ]
    member = Actor(user_id=None, name="m", kind="member", roles=frozenset({"member"}))
    with pytest.raises(PermissionDenied):
        _order_receipt(member, posted.number)


def test_each_view_is_audited_as_a_view_of_the_customer(world) -> None:  # noqa: ANN001
    posted = _purchase(world)
    with session_scope() as session:
        topup = membership.topup(
            session, actor=world["desk"], card_id=_card_id(world), amount_fen=100, method="cash"
        )
    _order_receipt(world["desk"], posted.number)
    _topup_receipt(world["desk"], topup.number)
    with session_scope() as session:
        rows = session.exec(
            select(AuditEntry)
            .where(AuditEntry.action == "receipt.view")
            .order_by(AuditEntry.seq)
        ).scalars().all()  # fmt: skip
        seen = [
            (r.actor_id, r.customer_id, r.outcome, json.loads(r.detail) if r.detail else None)
            for r in rows
        ]
    assert [(a, c, o) for a, c, o, _ in seen] == [(world["desk"].user_id, world["cid"], "ok")] * 2
    assert seen[0][3] == {"order": posted.id}
    assert set(seen[1][3]) == {"entry"}
