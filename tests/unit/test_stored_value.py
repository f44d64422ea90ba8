"""储值 under concurrency: counters racing to spend the same balance never overdraw it (the
customer's row lock on PostgreSQL, the write transaction on SQLite), and the ledger sums match."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from sqlalchemy import func, select
from test_membership import buy
from test_points import _member, world  # noqa: F401 (the fixture)

from custapp.db import session_scope
from custapp.models import Order, StoredValueEntry
from custapp.services import membership
from custapp.services.errors import DomainError, ValidationFailed


def test_racing_spends_never_overdraw_the_balance(world):  # noqa: ANN001, F811
    desk, _ = world
    cid = _member(desk, "ordinary", 10000)

    def spend(_: int) -> str:
        try:
            buy(desk, cid, 3000, [("stored_value", 3000)])
        except (DomainError, ValidationFailed):
            return "refused"
        return "ok"

    with ThreadPoolExecutor(max_workers=6) as pool:
        outcomes = list(pool.map(spend, range(10)))
    assert outcomes.count("ok") == 3
    with session_scope() as session:
        assert membership.balance(session, cid) == 1000
        spent = session.exec(
            select(func.sum(StoredValueEntry.amount_fen)).where(StoredValueEntry.kind == "spend")
        ).scalar_one()
        orders = session.exec(select(func.count(Order.id))).scalar_one()
    assert (spent, orders) == (-9000, 3)
