"""客户分类: the lifecycle day rules in the configured zone, grade thresholds, the rolling
12-month window, the manual override left alone, the ABC 75/20/5 split and its boundary rule,
and the daily job over many customers in batches (SPEC §2, §8)."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import event, select, update

from custapp import clock, jobs
from custapp.db import get_engine, session_scope
from custapp.models import AuditEntry, Customer, Order
from custapp.services import bootstrap, classification, customer_profile, customers, orders
from custapp.services.actor import Actor, system_actor
from custapp.services.classification import grade_for, lifecycle_for, window_start
from custapp.services.errors import PermissionDenied
from custapp.settings import get_settings

SHANGHAI_2330 = datetime(2025, 1, 1, 15, 30, tzinfo=UTC)  # 2025-01-01 23:30 in Shanghai


def _local(y: int, m: int, d: int, hh: int = 12, mm: int = 0) -> datetime:
    """An instant given as Shanghai wall-clock time."""
    return datetime(y, m, d, hh, mm, tzinfo=clock.zone()).astimezone(UTC)


# --- the pure rules -------------------------------------------------------------------------


def test_the_window_is_the_last_twelve_months_of_local_days():
    assert window_start(date(2025, 6, 15)) == date(2024, 6, 16)
    assert window_start(date(2025, 1, 1)) == date(2024, 1, 2)
    assert window_start(date(2024, 2, 29)) == date(2023, 3, 1)
    assert window_start(date(2025, 3, 1)) == date(2024, 3, 2)


def test_lifecycle_changes_at_90_and_365_local_days():
    first = last = SHANGHAI_2330
    assert lifecycle_for(None, None, date(2025, 1, 1)) == "potential"
    assert lifecycle_for(first, last, date(2025, 1, 1)) == "new"
    assert lifecycle_for(first, last, date(2025, 3, 31)) == "new"  # 89 days
    assert lifecycle_for(first, last, date(2025, 4, 1)) == "old"  # 90 days
    assert lifecycle_for(first, last, date(2025, 12, 31)) == "old"  # 364 days
    assert lifecycle_for(first, last, date(2026, 1, 1)) == "lost"  # 365 days
    # an hour later it is already 2 January in Shanghai (still 1 January in UTC)
    later = SHANGHAI_2330 + timedelta(hours=1)
    assert lifecycle_for(later, later, date(2025, 4, 1)) == "new"
    assert lifecycle_for(later, later, date(2026, 1, 1)) == "old"
    # the last purchase decides "lost", the first one "new"
    assert lifecycle_for(first, _local(2025, 12, 1), date(2026, 6, 1)) == "old"
    assert lifecycle_for(first, last, date(2025, 2, 1), new_days=30, lost_days=400) == "old"


def test_grades_follow_the_thresholds():
    assert [grade_for(f) for f in (5_000_000, 4_999_999, 2_000_000, 1_999_999)] == list("ABBC")
    assert [grade_for(f) for f in (500_000, 499_999, 100_000, 99_999, 0, -500)] == list("CDDEEE")
    assert grade_for(300, (400, 300, 200, 100)) == "B"


def test_thresholds_come_from_the_environment_in_yuan(monkeypatch):
    monkeypatch.setenv("CUSTAPP_GRADE_A_YUAN", "80000")
    monkeypatch.setenv("CUSTAPP_GRADE_D_YUAN", "999.99")
    monkeypatch.setenv("CUSTAPP_LIFECYCLE_NEW_DAYS", "30")
    get_settings.cache_clear()
    try:
        settings = get_settings()
        assert settings.grade_thresholds_fen == (8_000_000, 2_000_000, 500_000, 99_999)
        assert settings.lifecycle_new_days == 30 and settings.lifecycle_lost_days == 365
        assert grade_for(99_999) == "D"
        monkeypatch.setenv("CUSTAPP_GRADE_C_YUAN", "30000")  # above B
        get_settings.cache_clear()
        with pytest.raises(ValueError):
            get_settings()
    finally:
        monkeypatch.undo()
        get_settings.cache_clear()


# --- posting and the daily job with a moving clock --------------------------------------------


def _staff(username: str, role: str) -> Actor:
    with session_scope() as session:
        user_id = bootstrap.create_staff_user(
            session,
            actor=system_actor("test"),
            username=username,
            display_name=username,
            roles=[role],
            password="Correct-horse-42",
        )
    return Actor(user_id=user_id, name=username, roles=frozenset({role}))


def _customer(i: int = 0) -> int:
    with session_scope() as session:
        return customers.create_customer(
            session,
            actor=system_actor("test"),
            data=customers.CustomerInput(name=f"客户{i}", phone=f"139{i:08d}"),
        ).id


def _buy(actor: Actor, cid: int, fen: int, method: str = "cash") -> orders.PostedOrder:
    with session_scope() as session:
        return orders.post_purchase(
            session,
            actor=actor,
            customer_id=cid,
            lines=[("套餐", 1, fen)],
            payments=[(method, fen)],
        )


def _state(cid: int) -> tuple:
    with session_scope() as session:
        c = session.get(Customer, cid)
        return c.lifecycle, c.grade, c.spend_12m_fen


def _at(moment: datetime) -> None:
    clock.set_now(moment)
    classification.run_daily()


def test_a_customer_moves_through_the_lifecycle_at_the_local_boundaries(db):  # noqa: ANN001
    desk = _staff("desk.one", "front_desk")
    cid = _customer()
    assert _state(cid) == ("potential", "E", 0)
    clock.set_now(SHANGHAI_2330)
    _buy(desk, cid, 300_000)  # ¥3,000 on 1 January, local
    assert _state(cid) == ("new", "D", 300_000)
    _at(_local(2025, 3, 31, 23, 59))
    assert _state(cid) == ("new", "D", 300_000)
    _at(_local(2025, 4, 1, 0, 1))
    assert _state(cid) == ("old", "D", 300_000)
    _at(_local(2025, 12, 31, 23, 59))
    assert _state(cid) == ("old", "D", 300_000)
    _at(_local(2026, 1, 1, 0, 1))  # the purchase leaves the window the day it turns lost
    assert _state(cid) == ("lost", "E", 0)
    clock.advance(timedelta(days=10))
    _buy(desk, cid, 2_000_000)
    assert _state(cid) == ("old", "B", 2_000_000)  # back, but the first purchase is old


def test_a_refund_counts_on_its_own_day(db):  # noqa: ANN001
    desk = _staff("desk.one", "front_desk")
    cid = _customer()
    clock.set_now(_local(2025, 1, 10))
    purchase = _buy(desk, cid, 600_000, "wechat")  # back to WeChat: no 审批 needed
    clock.set_now(_local(2025, 3, 10))
    with session_scope() as session:
        orders.post_refund(
            session,
            actor=desk,
            order_id=purchase.id,
            amount_fen=100_000,
            payments=[("wechat", 100_000)],
            reason="部分退货",
        )
    assert _state(cid) == ("new", "C", 500_000)
    _at(_local(2026, 1, 10))  # the purchase has left the window, the refund not yet
    assert _state(cid) == ("lost", "E", -100_000)
    _at(_local(2026, 3, 10))
    assert _state(cid) == ("lost", "E", 0)


def test_the_grade_override_is_never_overwritten(db):  # noqa: ANN001
    desk, manager = _staff("desk.one", "front_desk"), _staff("cs.manager", "cs_manager")
    cid = _customer()
    clock.set_now(SHANGHAI_2330)
    with session_scope() as session:
        customers.override_grade(
            session, actor=manager, customer_id=cid, grade="A", reason="年度战略客户"
        )
    _buy(desk, cid, 600_000)
    _at(_local(2025, 6, 1))
    with session_scope() as session:
        reclassify = classification.reclassify_now(session, actor=manager)
        c = session.get(Customer, cid)
        assert (c.grade, c.grade_override) == ("C", "A")
        profile = customer_profile.get_profile(session, actor=manager, customer_id=cid)
    assert (profile.grade, profile.effective_grade) == ("C", "A")
    assert reclassify.changed == 0


def test_reclassify_now_applies_the_day_rules_like_the_daily_job(db):  # noqa: ANN001
    desk, manager = _staff("desk.one", "front_desk"), _staff("cs.manager", "cs_manager")
    ids = [_customer(i) for i in range(4)]
    for cid, moment, fen in zip(
        ids,
        (_local(2025, 1, 1, 23, 30), _local(2025, 1, 2, 0, 30), _local(2024, 6, 1), None),
        (600_000, 100_000, 5_000_000, None),
        strict=True,
    ):
        if moment:
            clock.set_now(moment)
            _buy(desk, cid, fen)
    clock.set_now(_local(2025, 4, 1, 9, 0))
    with session_scope() as session:
        result = classification.reclassify_now(session, actor=manager)
    now = [_state(cid)[0] for cid in ids]
    assert now == ["old", "new", "old", "potential"]
    assert result.changed == 2  # both January customers were "new"; one of them still is
    for cid in ids:  # the daily job agrees with the set-based update
        with session_scope(write=False) as session:
            c = session.get(Customer, cid)
            assert c.lifecycle == lifecycle_for(
                c.first_purchase_at, c.last_purchase_at, clock.local_today()
            )
    with session_scope() as session:
        entry = session.exec(
            select(AuditEntry).where(AuditEntry.action == "customer.reclassify")
        ).scalar_one()
        assert entry.actor_id == manager.user_id
        assert json.loads(entry.detail)["changed"] == 2
    with pytest.raises(PermissionDenied), session_scope() as session:
        classification.reclassify_now(session, actor=desk)


# --- the ABC value classes ------------------------------------------------------------------


def _with_spends(spends: list[int]) -> list[int]:
    ids = [_customer(i) for i in range(len(spends))]
    with session_scope() as session:
        for cid, fen in zip(ids, spends, strict=True):
            session.exec(update(Customer).where(Customer.id == cid).values(spend_12m_fen=fen))
    return ids


def _classes(ids: list[int]) -> list[str]:
    with session_scope(write=False) as session:
        by_id = dict(
            session.exec(
                select(Customer.id, Customer.value_class).where(Customer.id.in_(ids))
            ).all()
        )
    return [by_id[cid] for cid in ids]


def test_abc_splits_75_20_5_of_positive_spend(db):  # noqa: ANN001
    ids = _with_spends([6000, 1500, 1000, 1000, 500, 0, -100])  # total positive: 10,000
    with session_scope() as session:
        counts = classification.recompute_value_classes(session)
    # running totals 6000, 7500 (75 % reached: key), 8500, 9500 (95 % reached: general), 10000
    assert _classes(ids) == [
        "key",
        "key",
        "general",
        "general",
        "scattered",
        "scattered",
        "scattered",
    ]
    assert counts == {"key": 2, "general": 2, "scattered": 3}


def test_abc_gives_equal_spend_the_class_of_the_boundary_customer(db):  # noqa: ANN001
    # total 10,500: the first 2,000 brings the running total to 8,000, past 75 % (7,875); the
    # second 2,000 starts above it and would be general, but equal spend gets an equal class
    ids = _with_spends([6000, 2000, 2000, 400, 100])
    with session_scope() as session:
        classification.recompute_value_classes(session)
    assert _classes(ids) == ["key", "key", "key", "scattered", "scattered"]


def test_abc_without_spend_is_all_scattered_and_ignores_merged_customers(db):  # noqa: ANN001
    ids = _with_spends([0, -5, 0])
    with session_scope() as session:
        session.exec(update(Customer).values(value_class="key"))
        classification.recompute_value_classes(session)
    assert _classes(ids) == ["scattered"] * 3
    more = _with_spends([100, 100, 900])
    with session_scope() as session:
        session.exec(update(Customer).where(Customer.id == more[2]).values(merged_into_id=more[0]))
        counts = classification.recompute_value_classes(session)
    assert _classes(more[:2]) == ["key", "key"]
    assert counts == {"key": 2, "general": 0, "scattered": 3}


# --- the daily job over many customers ------------------------------------------------------


def _bulk_orders(ids: list[int]) -> dict[int, tuple[int, datetime, datetime]]:
    """Orders written around post_purchase, as a bulk seeder would: customer i buys i+1 times,
    every 40 days back from 2025-06-01, ¥(i × 100) each time."""
    expected = {}
    with session_scope() as session:
        for i, cid in enumerate(ids):
            times = [_local(2025, 6, 1) - timedelta(days=40 * k) for k in range(i + 1)]
            for k, at in enumerate(times):
                fen = i * 10_000 + 1
                session.add(
                    Order(
                        number=f"X{cid:06d}{k:03d}",
                        kind="purchase",
                        customer_id=cid,
                        total_fen=fen,
                        paid_fen=fen,
                        spend_fen=fen,
                        created_at=at,
                    )
                )
            in_window = [at for at in times if at >= _local(2024, 6, 2, 0, 0)]
            expected[cid] = ((i * 10_000 + 1) * len(in_window), min(times), max(times))
    return expected


def test_the_daily_job_classifies_many_customers_in_batches(db):  # noqa: ANN001
    ids = [_customer(i) for i in range(30)]
    never = _customer(99)
    expected = _bulk_orders(ids)
    clock.set_now(_local(2025, 6, 1, 3, 0))
    progress: list[tuple[int, int]] = []
    statements: list[str] = []

    def count(_conn, _cursor, statement, *_args) -> None:  # noqa: ANN001
        statements.append(statement)

    event.listen(get_engine(), "before_cursor_execute", count)
    try:
        summary = classification.run_daily(
            full=True, batch_size=7, progress=lambda d, n: progress.append((d, n))
        )
    finally:
        event.remove(get_engine(), "before_cursor_execute", count)
    assert progress == [(7, 31), (14, 31), (21, 31), (28, 31), (31, 31)]
    assert summary["customers"] == 31 and summary["changed"] == 30
    # one grouped query over the orders per batch, however many customers and orders it holds
    assert sum("FROM orders" in s for s in statements) == 5
    assert len(statements) < 40, len(statements)
    today = date(2025, 6, 1)
    with session_scope(write=False) as session:
        rows = {c.id: c for c in session.exec(select(Customer)).scalars()}
        for cid, (spend, first, last) in expected.items():
            c = rows[cid]
            assert (c.spend_12m_fen, c.first_purchase_at, c.last_purchase_at) == (
                spend,
                first,
                last,
            )
            assert c.lifecycle == lifecycle_for(first, last, today)
            assert c.grade == grade_for(spend)
        assert (rows[never].lifecycle, rows[never].spend_12m_fen) == ("potential", 0)
        assert {rows[cid].value_class for cid in ids[-5:]} == {"key"}
    assert summary["key"] + summary["general"] + summary["scattered"] == 31

    # the next night only customers who bought are looked at, and nothing changed
    clock.advance(timedelta(days=1))
    again = classification.run_daily(batch_size=7)
    assert (again["customers"], again["changed"]) == (30, 0)
    # a year on, the ones whose orders all left the window turn lost, and after that they rest
    clock.set_now(_local(2026, 12, 1, 3, 0))
    later = classification.run_daily(batch_size=7)
    assert later["changed"] == 30
    assert {_state(cid) for cid in ids} == {("lost", "E", 0)}
    assert classification.run_daily()["customers"] == 0
    with session_scope(write=False) as session:
        audited = session.exec(
            select(AuditEntry.action).where(AuditEntry.action == "classification.daily")
        ).all()
    assert len(audited) == 4


def test_the_jobs_run_the_classification_step(db):  # noqa: ANN001
    assert "classification" in [name for name, _ in jobs.STEPS]
    summary = jobs.run_jobs()
    assert summary["classification"] == {
        "customers": 0,
        "changed": 0,
        "key": 0,
        "general": 0,
        "scattered": 0,
    }
