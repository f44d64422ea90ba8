"""退款 on the orders tab called directly (issue 14, item 11): the refund is shown with its amount
and the stored value after it and posted only from 确认, with what the server holds; a cash
refund beyond ¥500 becomes a 申请退款 that waits in 审批, and 确认 cannot post it directly."""

from __future__ import annotations

from run_async import run
from sqlalchemy import func, select
from test_receipt_tier_states import _routed, world  # noqa: F401 (the fixture)

from custapp.db import session_scope
from custapp.i18n import t
from custapp.models import ApprovalRequest, Order
from custapp.pages.customer_profile.orders import OrdersState
from custapp.services import orders
from custapp.services.actor import system_actor


def _refunds() -> int:
    with session_scope() as session:
        return session.exec(select(func.count()).where(Order.kind == "refund")).scalar_one()


def _cash_purchase(cid: int) -> Order:
    with session_scope() as session:
        return orders.post_purchase(
            session, actor=system_actor("test"), customer_id=cid, lines=[("大衣", 1, 100_000)],
            payments=[("cash", 90_000)],
        )  # fmt: skip


def _open(state: OrdersState, number: str) -> None:
    state.load()
    row = next(r for r in state.rows if r.number == number)
    state.open_refund(row.id)
    state.set_refund_method("cash")


def test_a_refund_is_posted_only_from_its_confirmation(world) -> None:  # noqa: ANN001, F811
    _, state = _routed("front.desk", OrdersState, "/customers/[cid]", cid=str(world["cid"]))
    _open(state, world["order"].number)  # ¥90: ¥50 stored value, ¥40 WeChat
    state.set_refund_method("stored_value")
    assert state.submit_refund({"amount": "30", "reason": "顾客退货"}) is None
    assert state.refund_confirm == t(
        "orders.confirm_refund", "en", amount="¥30.00", method=t("orders.method.stored_value", "en")
    ) + t("orders.confirm_balance", "en", balance="¥180.00")
    assert not state.refund_asks and _refunds() == 0  # nothing before 确认
    state.back_to_form()
    assert run(state.confirm_refund()) is None and _refunds() == 0  # nothing held any more
    state.submit_refund({"amount": "30", "reason": "顾客退货"})
    result = run(state.confirm_refund())
    assert result and None not in result
    assert not state.refund_open and _refunds() == 1


def test_a_cash_refund_above_the_threshold_is_asked_for(world) -> None:  # noqa: ANN001, F811
    purchase = _cash_purchase(world["cid"])
    _, state = _routed("front.desk", OrdersState, "/customers/[cid]", cid=str(world["cid"]))
    _open(state, purchase.number)
    state.submit_refund({"amount": "600", "reason": "顾客退货"})
    assert state.refund_asks and "¥600.00" in state.refund_confirm
    assert t("orders.confirm_ask", "en", limit="¥500.00") in state.refund_confirm
    result = run(state.confirm_refund())
    assert result is not None and not state.refund_open and _refunds() == 0
    with session_scope() as session:
        asked = session.exec(select(ApprovalRequest)).scalar_one()
    assert (asked.kind, asked.order_id, asked.amount_fen, asked.status) == (
        "order_refund", purchase.id, 60_000, "pending",
    )  # fmt: skip
    row = next(r for r in state.rows if r.number == purchase.number)
    assert (row.refund_waiting, row.refundable, row.voidable) == (True, False, False)
    # 确认 sends nothing but the click; what it commits the server holds, and the service checks
    # it again: a held request changed into a direct cash refund (no browser can) is refused
    state.refund_open = True
    state.submit_refund({"amount": "300", "reason": "顾客退货"})
    assert not state.refund_asks
    state._refund_pending = {
        "ask": False,
        "kwargs": {**state._refund_pending["kwargs"], "amount_fen": 80_000,
                   "payments": [("cash", 80_000)]},
    }  # fmt: skip
    assert run(state.confirm_refund()) is None
    assert state.refund_error == t("orders.error.refund_needs_approval", "en")
    assert _refunds() == 0


def test_the_manager_refunds_cash_above_the_threshold_after_confirming(world) -> None:  # noqa: ANN001, F811
    purchase = _cash_purchase(world["cid"])
    _, state = _routed("the.manager", OrdersState, "/customers/[cid]", cid=str(world["cid"]))
    _open(state, purchase.number)
    state.submit_refund({"amount": "900", "reason": "顾客退货"})
    assert not state.refund_asks and "¥900.00" in state.refund_confirm and _refunds() == 0
    result = run(state.confirm_refund())
    assert result and None not in result and _refunds() == 1
