"""会员等级, 作废 and 小票 handlers called directly, as a browser could call any public handler
with any arguments: the front desk's tier save and void are refused by the services whatever the
page shows, the manager's go through (field errors first); the receipt state holds the masked
name and card number only, never the phone, the full name or the card number."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from helpers import _staff, _staff_token, _state_text, _tree
from reflex.istate.data import RouterData
from run_async import run
from sqlalchemy import func, select

from custapp import clock
from custapp.db import session_scope
from custapp.i18n import t
from custapp.models import ApprovalRequest, MemberTier, Order, Store
from custapp.pages.customer_profile import ProfileState
from custapp.pages.customer_profile.orders import OrdersState
from custapp.pages.receipt import ReceiptState, ReceiptView
from custapp.pages.tiers import TiersState
from custapp.services import customers, membership, orders
from custapp.services.actor import system_actor

NAME = "欧阳小明"
PHONE = "13912345678"
ID_NUMBER = "11010519491231002X"


@pytest.fixture
def world(db) -> dict:  # noqa: ANN001
    clock.set_now(datetime(2026, 6, 1, 3, 0, tzinfo=UTC))  # 11:00 in Shanghai
    with session_scope() as session:
        store = Store(code="HQ", name="总店", created_at=clock.now())
        session.add(store)
        session.flush()
        store_id = store.id
    for username, role in (
        ("front.desk", "front_desk"),
        ("the.manager", "cs_manager"),
        ("the.auditor", "auditor"),
    ):
        _staff(username, role, store_ids=[store_id] if role != "auditor" else None)
    with session_scope() as session:
        cid = customers.create_customer(
            session,
            actor=system_actor("test"),
            data=customers.CustomerInput(
                name=NAME, phone=PHONE, id_type="resident_id", id_number=ID_NUMBER
            ),
        ).id
        card = membership.issue_card(
            session, actor=system_actor("test"), customer_id=cid, tier_code="silver",
            application_signed=True, first_topup_fen=20000, topup_method="cash",
            fee_method="cash",
        ).card  # fmt: skip
        posted = orders.post_purchase(
            session,
            actor=system_actor("test"),
            customer_id=cid,
            lines=[("羊绒围巾", 1, 10000)],
            payments=[("stored_value", 5000), ("wechat", 4000)],
            store_id=store_id,
        )
    return {"cid": cid, "card": card.number, "order": posted}


def _routed(username: str, state_cls: type, path: str, **params: str):  # noqa: ANN202
    """`state_cls`'s state in a logged-in tree (the orders tab's postings reload the profile's
    state, ProfileState, which must be defined before the tree is built)."""
    assert ProfileState
    root, state = _tree(_staff_token(username), state_cls, path)
    as_path = path
    for name, value in params.items():
        as_path = as_path.replace(f"[{name}]", value)
    state.router = RouterData.from_router_data(
        {"pathname": path, "asPath": as_path, "query": params, "headers": {"origin": "x"}}
    )
    return root, state


def _tier(code: str) -> MemberTier:
    with session_scope() as session:
        return session.get(MemberTier, code)


def _voids() -> int:
    with session_scope() as session:
        return session.exec(select(func.count(Order.id)).where(Order.kind == "void")).scalar_one()


TIER_FORM = {
    "name_zh": "钻石卡",
    "name_en": "Diamond",
    "discount_pct": "70",
    "min_first_topup": "1000.00",
    "card_fee": "60",
}


def test_front_desk_cannot_save_a_tier_even_by_calling_the_handler(world) -> None:  # noqa: ANN001
    _, state = _routed("front.desk", TiersState, "/tiers")
    assert state.load()  # the page sends the front desk home ...
    assert state.rows == []
    state._code = "diamond"  # ... and a browser calling the handler anyway is refused
    assert state.submit_edit(TIER_FORM) is None
    assert state.edit_error == t("error.permission_denied", "en")
    assert _tier("diamond").card_fee_fen == 5000


def test_the_manager_edits_a_tier_with_field_errors_first(world) -> None:  # noqa: ANN001
    _, state = _routed("the.manager", TiersState, "/tiers")
    assert state.load() is None
    assert [r.code for r in state.rows] == ["ordinary", "silver", "gold", "diamond"]
    state.open_edit("diamond")
    assert state.edit_open and state.form.card_fee == "50.00"
    state.submit_edit({**TIER_FORM, "name_zh": " ", "discount_pct": "0", "card_fee": "abc"})
    assert set(state.errors) == {"name_zh", "discount_pct", "card_fee"}
    assert state.edit_open and _tier("diamond").card_fee_fen == 5000
    result = state.submit_edit(TIER_FORM)
    assert result and None not in result  # Reflex refuses a handler's list holding None
    assert not state.edit_open and state.errors == {}
    assert _tier("diamond").card_fee_fen == 6000
    assert next(r for r in state.rows if r.code == "diamond").card_fee == "¥60.00"


def test_front_desk_asks_for_a_void_and_cannot_void_by_calling_the_handler(world) -> None:  # noqa: ANN001
    _, state = _routed("front.desk", OrdersState, "/customers/[cid]", cid=str(world["cid"]))
    state.load()
    row = state.rows[0]
    assert row.voidable is True and not state.can_void and state.void_asks
    state.open_void(row.id)
    assert state.void_open
    result = state.submit_void({"reason": "录错金额"})  # asking moves no money: no confirmation
    assert result is not None and not state.void_open and _voids() == 0
    with session_scope() as session:
        asked = session.exec(select(ApprovalRequest)).scalar_one()
    assert (asked.kind, asked.order_id, asked.status) == (
        "order_void",
        world["order"].id,
        "pending",
    )
    assert (state.rows[0].void_waiting, state.rows[0].voidable) == (True, False)
    # a browser flipping the page's mode and calling submit_void anyway: the service refuses
    state.void_asks = False
    state._void_id = world["order"].id
    assert state.submit_void({"reason": "录错金额"}) is None
    assert state.void_error == t("error.permission_denied", "en") and state.void_confirm == ""
    assert _voids() == 0


def test_the_manager_voids_todays_purchase_with_a_reason(world) -> None:  # noqa: ANN001
    _, state = _routed("the.manager", OrdersState, "/customers/[cid]", cid=str(world["cid"]))
    state.load()
    state.open_void(state.rows[0].id)
    assert state.void_open and state.void_number == world["order"].number
    state.submit_void({"reason": " "})
    assert state.void_reason_error and state.void_open and _voids() == 0
    assert state.submit_void({"reason": "录错金额"}) is None
    assert "¥90.00" in state.void_confirm and _voids() == 0  # shown, not yet committed
    result = run(state.confirm_void())
    assert result and None not in result
    assert not state.void_open and _voids() == 1
    void, purchase = state.rows
    assert (void.kind, void.paid) == ("void", "-¥90.00")
    assert world["order"].number in void.description
    assert (purchase.voided, purchase.voidable, purchase.refundable) == (True, False, False)


def test_the_receipt_state_holds_masked_values_only(world) -> None:  # noqa: ANN001
    number = world["order"].number
    root, state = _routed(
        "front.desk", ReceiptState, "/receipt/[kind]/[ref]", kind="order", ref=number
    )
    assert state.load() is None
    assert state.error == ""
    r = state.receipt
    assert (r.number, r.store, r.customer) == (number, "总店", "欧***")
    assert (r.total, r.discount, r.paid) == ("¥100.00", "-¥10.00", "¥90.00")
    assert (r.points, r.balance) == ("+90", "¥150.00")
    assert [p.amount for p in state.payments] == ["¥50.00", "¥40.00"]
    assert r.card.endswith(world["card"][-4:]) and r.card != world["card"]
    text = _state_text(root)
    for secret in (PHONE, ID_NUMBER, NAME, world["card"]):
        assert secret not in text, secret


def test_the_receipt_is_refused_without_customer_read(world) -> None:  # noqa: ANN001
    number = world["order"].number
    _, state = _routed(
        "the.auditor", ReceiptState, "/receipt/[kind]/[ref]", kind="order", ref=number
    )
    assert state.load()  # sent home with a notice
    assert state.receipt == ReceiptView() and not state.loaded
    _, state = _routed(
        "front.desk", ReceiptState, "/receipt/[kind]/[ref]", kind="nonsense", ref=number
    )
    state.load()
    assert state.error == t("receipt.unavailable", "en") and state.receipt == ReceiptView()
