"""积分兑换 (SPEC §3 Redemption, §8 Money; acceptance 3 and 4 of issue 5): the gift catalogue,
requests that reserve nothing, approval deducting points (soonest-expiring lot first) and stock in
one transaction, rejection and cancellation changing nothing, 20 approvals racing for points that
cover 10, and the refusals of members, the front desk, auditors and sysadmins."""

from __future__ import annotations

import itertools
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import func, select
from test_membership import _customer, _staff, _store, buy, call, errors_of, issue, refusal

from custapp import clock
from custapp.db import session_scope
from custapp.models import AuditEntry, Gift, PointsEntry, PointsLot, RedemptionRequest, User
from custapp.services import gifts, points
from custapp.services.actor import Actor
from custapp.services.errors import DomainError, NotFound, PermissionDenied
from custapp.settings import get_settings

NOON = datetime(2025, 6, 15, 4, 0, tzinfo=UTC)  # 12:00 in Shanghai
_phones = itertools.count(20_000_000)


@pytest.fixture
def world(db):  # noqa: ANN001, ANN201
    clock.set_now(NOON)
    store = _store()
    return _staff("desk.one", "front_desk", store), _staff("boss.one", "cs_manager", store)


def _member_with_points(desk: Actor, *yuan: int) -> int:
    """A customer with an ordinary card and one purchase (one points lot) per amount."""
    cid = _customer("王五", f"139{next(_phones):08d}")
    issue(desk, cid, "ordinary", 0)
    for amount in yuan:
        buy(desk, cid, amount * 100, [("cash", amount * 100)])
    return cid


def _member_actor(cid: int) -> Actor:
    with session_scope() as session:
        now = clock.now()
        user = User(
            kind="member", display_name=f"member#{cid}", customer_id=cid, created_at=now,
            updated_at=now,
        )  # fmt: skip
        session.add(user)
        session.flush()
        user_id = user.id
    return Actor(
        user_id=user_id, name=f"member#{user_id}", kind="member", roles=frozenset({"member"}),
        customer_id=cid,
    )  # fmt: skip


def _gift(boss: Actor, cost: int = 100, stock: int = 50, **more) -> int:  # noqa: ANN003
    return call(
        gifts.create_gift, boss, name_zh="保温杯", name_en="Vacuum flask", points_cost=cost,
        stock=stock, **more,
    ).id  # fmt: skip


def _file(desk: Actor, cid: int, gift_id: int, quantity: int = 1) -> int:
    return call(gifts.file_request, desk, customer_id=cid, gift_id=gift_id, quantity=quantity).id


def _state(cid: int, gift_id: int) -> tuple[int, int, int]:
    """(available points, points ledger sum, stock)."""
    with session_scope() as session:
        return (
            points.available(session, cid),
            points.ledger_sum(session, cid),
            session.get(Gift, gift_id).stock,
        )


def _status(request_id: int) -> str:
    with session_scope() as session:
        return session.get(RedemptionRequest, request_id).status


def _policy(monkeypatch, policy: str, days: int = 30) -> None:  # noqa: ANN001
    monkeypatch.setenv("CUSTAPP_POINTS_EXPIRY", policy)
    monkeypatch.setenv("CUSTAPP_POINTS_EXPIRY_DAYS", str(days))
    get_settings.cache_clear()


# --- catalogue --------------------------------------------------------------------------------


def test_catalogue_is_kept_by_cs_manager_and_members_see_what_is_available(world):  # noqa: ANN001
    desk, boss = world
    today = clock.local_today()
    flask = _gift(boss, 100, 5)
    _gift(boss, 50, 0)  # out of stock
    _gift(boss, 60, 3, active_from=today + timedelta(days=1))  # not yet
    _gift(boss, 70, 3, active_to=today - timedelta(days=1))  # over
    _gift(boss, 80, 3, is_active=False)
    assert errors_of(
        gifts.create_gift, boss, name_zh="", name_en="x" * 81, points_cost=0, stock=-1,
        active_from=today, active_to=today - timedelta(days=1),
    ) == {
        "name_zh": "gifts.error.name", "name_en": "gifts.error.name",
        "points_cost": "gifts.error.points_cost", "stock": "gifts.error.stock",
        "active_to": "gifts.error.date_order",
    }  # fmt: skip
    updated = call(
        gifts.update_gift, boss, gift_id=flask, name_zh="保温杯", name_en="Vacuum flask",
        points_cost=120, stock=7,
    )  # fmt: skip
    assert (updated.points_cost, updated.stock, updated.available) == (120, 7, True)
    with session_scope() as session:
        entry = session.exec(
            select(AuditEntry).where(AuditEntry.action == "gift.update")
        ).scalar_one()
    assert (entry.target_id, entry.fields) == (str(flask), "points_cost,stock")

    member = _member_actor(_member_with_points(desk, 100))
    assert [g.id for g in call(gifts.member_catalogue, member)] == [flask]
    staff_view = call(gifts.list_gifts, desk)
    assert len(staff_view) == 5 and sum(g.available for g in staff_view) == 1
    with pytest.raises(PermissionDenied):
        call(gifts.create_gift, desk, name_zh="伞", name_en="Umbrella", points_cost=10, stock=1)


def test_stock_never_goes_below_zero_in_the_database(world):  # noqa: ANN001
    _, boss = world
    flask = _gift(boss, 100, 1)
    with pytest.raises(Exception, match="(?i)check|constraint"), session_scope() as session:
        session.get(Gift, flask).stock = -1
        session.flush()
    assert _state_stock(flask) == 1


def _state_stock(gift_id: int) -> int:
    with session_scope() as session:
        return session.get(Gift, gift_id).stock


# --- filing -----------------------------------------------------------------------------------


def test_filing_reserves_nothing_and_refuses_when_points_are_already_short(world):  # noqa: ANN001
    desk, boss = world
    cid = _member_with_points(desk, 250)
    flask = _gift(boss, 100, 5)
    first = call(gifts.file_request, desk, customer_id=cid, gift_id=flask, quantity=2)
    assert (first.status, first.channel, first.points_total, first.number) == (
        "pending", "counter", 200, f"R{first.id:08d}",
    )  # fmt: skip
    second = _file(desk, cid, flask, 2)  # nothing reserved: 250 still cover 200
    assert _state(cid, flask) == (250, 250, 5)
    assert errors_of(gifts.file_request, desk, customer_id=cid, gift_id=flask, quantity=3) == {
        "quantity": "redemption.error.points_short"
    }
    assert errors_of(gifts.file_request, desk, customer_id=cid, gift_id=flask, quantity=11) == {
        "quantity": "redemption.error.quantity"
    }
    rich = _member_with_points(desk, 5000)
    assert errors_of(gifts.file_request, desk, customer_id=rich, gift_id=flask, quantity=6) == {
        "quantity": "redemption.error.out_of_stock"
    }
    hidden = _gift(boss, 10, 5, is_active=False)
    assert errors_of(gifts.file_request, desk, customer_id=rich, gift_id=hidden) == {
        "gift": "redemption.error.gift_unavailable"
    }
    assert errors_of(gifts.file_request, desk, customer_id=rich, gift_id=999_999) == {
        "gift": "redemption.error.gift_unavailable"
    }
    with session_scope() as session:
        pending = session.exec(
            select(func.count(RedemptionRequest.id)).where(RedemptionRequest.status == "pending")
        ).scalar_one()
    assert pending == 2 and second != first.id


# --- approval ---------------------------------------------------------------------------------


def test_approval_deducts_points_fifo_by_expiry_and_stock_in_one_go(world, monkeypatch):  # noqa: ANN001
    desk, boss = world
    cid = _member_with_points(desk, 1000)  # expires 2026-12-31 (the default policy)
    _policy(monkeypatch, "days", 30)
    buy(desk, cid, 50000, [("cash", 50000)])  # 500 points expiring 2025-07-14: drawn first
    flask = _gift(boss, 300, 10)
    rid = _file(desk, cid, flask, 2)
    view = call(gifts.approve, boss, request_id=rid)
    assert (view.status, view.points_total) == ("approved", 600)
    assert _state(cid, flask) == (900, 900, 8)
    with session_scope() as session:
        lots = [
            (lot.points, lot.remaining, lot.expires_on)
            for lot in session.exec(
                select(PointsLot).where(PointsLot.customer_id == cid).order_by(PointsLot.id)
            ).scalars()
        ]
        entries = [
            (e.kind, e.points, e.ref)
            for e in session.exec(
                select(PointsEntry)
                .where(PointsEntry.customer_id == cid, PointsEntry.kind == "redeem")
                .order_by(PointsEntry.id)
            ).scalars()
        ]
        request = session.get(RedemptionRequest, rid)
        audited = session.exec(
            select(AuditEntry).where(AuditEntry.action == "redemption.approve")
        ).scalar_one()
    assert lots == [(1000, 900, date(2026, 12, 31)), (500, 0, date(2025, 7, 14))]
    ref = gifts.request_ref(rid)
    assert entries == [("redeem", -500, ref), ("redeem", -100, ref)]
    assert (request.decided_by, request.decided_at is not None) == (boss.user_id, True)
    assert audited.customer_id == cid and "600" in audited.detail
    assert refusal(gifts.approve, boss, request_id=rid) == "redemption.error.already_decided"
    assert _state(cid, flask) == (900, 900, 8)


def test_a_refused_or_failed_approval_leaves_nothing_half_done(world, monkeypatch):  # noqa: ANN001
    desk, boss = world
    cid = _member_with_points(desk, 300)
    flask = _gift(boss, 100, 1)
    big = _file(desk, cid, flask, 1)
    other = _file(desk, cid, flask, 1)
    assert call(gifts.approve, boss, request_id=big).status == "approved"
    assert refusal(gifts.approve, boss, request_id=other) == "redemption.error.out_of_stock"
    assert (_state(cid, flask), _status(other)) == ((200, 200, 0), "pending")

    call(
        gifts.update_gift, boss, gift_id=flask, name_zh="保温杯", name_en="Vacuum flask",
        points_cost=100, stock=5,
    )  # fmt: skip
    pricey = _gift(boss, 150, 5)
    first, second = _file(desk, cid, pricey), _file(desk, cid, pricey)
    assert call(gifts.approve, boss, request_id=first).status == "approved"
    with pytest.raises(DomainError) as caught:
        call(gifts.approve, boss, request_id=second)
    assert caught.value.key == "redemption.error.insufficient_points"
    assert caught.value.params == {"needed": 150, "available": 50}
    assert (_state(cid, pricey), _status(second)) == ((50, 50, 4), "pending")

    # a failure after the points were drawn rolls everything back
    def boom(*args, **kwargs):  # noqa: ANN002, ANN003, ANN202
        raise RuntimeError("disk full")

    rich = _member_with_points(desk, 400)
    last = _file(desk, rich, flask, 3)
    monkeypatch.setattr(gifts, "_decide", boom)
    with pytest.raises(RuntimeError):
        call(gifts.approve, boss, request_id=last)
    assert (_state(rich, flask), _status(last)) == ((400, 400, 5), "pending")
    with session_scope() as session:
        assert (
            session.exec(
                select(func.count(PointsEntry.id)).where(
                    PointsEntry.customer_id == rich, PointsEntry.kind == "redeem"
                )
            ).scalar_one()
            == 0
        )


def test_rejection_and_cancellation_change_nothing(world):  # noqa: ANN001
    desk, boss = world
    cid = _member_with_points(desk, 500)
    member = _member_actor(cid)
    flask = _gift(boss, 100, 5)
    rid = _file(desk, cid, flask, 2)
    assert errors_of(gifts.reject, boss, request_id=rid, reason="") == {
        "reason": "customer.error.reason_required"
    }
    rejected = call(gifts.reject, boss, request_id=rid, reason="礼品暂停兑换")
    assert (rejected.status, rejected.decision_reason) == ("rejected", "礼品暂停兑换")
    assert _state(cid, flask) == (500, 500, 5)
    assert refusal(gifts.approve, boss, request_id=rid) == "redemption.error.already_decided"

    own = call(gifts.member_file_request, member, gift_id=flask, quantity=3)
    assert (own.channel, own.customer_id) == ("portal", cid)
    assert call(gifts.member_cancel_request, member, request_id=own.id).status == "cancelled"
    assert _state(cid, flask) == (500, 500, 5)
    assert refusal(gifts.approve, boss, request_id=own.id) == "redemption.error.already_decided"
    assert refusal(gifts.member_cancel_request, member, request_id=own.id) == (
        "redemption.error.already_decided"
    )
    assert refusal(gifts.reject, boss, request_id=own.id, reason="重复申请") == (
        "redemption.error.already_decided"
    )
    with session_scope() as session:
        entries = session.exec(
            select(func.count(PointsEntry.id)).where(PointsEntry.kind == "redeem")
        ).scalar_one()
    assert entries == 0


# --- the acceptance race ----------------------------------------------------------------------


def test_twenty_racing_approvals_for_points_that_cover_ten(world, monkeypatch):  # noqa: ANN001
    desk, boss = world
    boss_two = _staff("boss.two", "cs_manager", desk.store_id)
    cid = _member_with_points(desk, 700)  # expires 2026-12-31
    _policy(monkeypatch, "days", 30)
    buy(desk, cid, 30000, [("cash", 30000)])  # 300 points expiring first
    flask = _gift(boss, 100, 50)
    requests = [_file(desk, cid, flask) for _ in range(20)]  # nothing reserved: all filed
    assert _state(cid, flask) == (1000, 1000, 50)
    start = threading.Barrier(20)

    def approve(i: int) -> str:
        start.wait()
        try:
            call(gifts.approve, (boss, boss_two)[i % 2], request_id=requests[i])
        except DomainError as exc:
            return exc.key
        return "ok"

    with ThreadPoolExecutor(max_workers=20) as pool:
        outcomes = list(pool.map(approve, range(20)))
    assert outcomes.count("ok") == 10
    assert sorted(set(outcomes) - {"ok"}) == ["redemption.error.insufficient_points"]
    assert outcomes.count("redemption.error.insufficient_points") == 10
    available, ledger, stock = _state(cid, flask)
    assert (available, ledger, stock) == (0, 0, 40)
    with session_scope() as session:
        statuses = session.exec(
            select(RedemptionRequest.status, func.count(RedemptionRequest.id)).group_by(
                RedemptionRequest.status
            )
        ).all()
        redeemed = session.exec(
            select(func.sum(PointsEntry.points)).where(
                PointsEntry.customer_id == cid, PointsEntry.kind == "redeem"
            )
        ).scalar_one()
        remaining = session.exec(
            select(func.sum(PointsLot.remaining)).where(PointsLot.customer_id == cid)
        ).scalar_one()
    assert dict(statuses) == {"approved": 10, "pending": 10}
    assert (redeemed, remaining) == (-1000, 0)


# --- who may do what --------------------------------------------------------------------------


def test_a_member_sees_and_files_only_their_own_and_cannot_decide(world):  # noqa: ANN001
    desk, boss = world
    mine, theirs = _member_with_points(desk, 500), _member_with_points(desk, 500)
    member = _member_actor(mine)
    flask = _gift(boss, 100, 10)
    other_request = _file(desk, theirs, flask)
    own = call(gifts.member_file_request, member, gift_id=flask)
    assert own.customer_id == mine
    with pytest.raises(TypeError):  # no argument names a customer
        call(gifts.member_file_request, member, gift_id=flask, customer_id=theirs)
    with pytest.raises(TypeError):
        call(gifts.member_requests, member, customer_id=theirs)
    rows, total = call(gifts.member_requests, member)
    assert (total, [r.id for r in rows]) == (1, [own.id])
    with pytest.raises(NotFound):
        call(gifts.member_cancel_request, member, request_id=other_request)
    assert _status(other_request) == "pending"
    for fn, kwargs in (
        (gifts.file_request, {"customer_id": theirs, "gift_id": flask}),
        (gifts.customer_requests, {"customer_id": theirs}),
        (gifts.pending_requests, {}),
        (gifts.approve, {"request_id": own.id}),
        (gifts.reject, {"request_id": other_request, "reason": "不符合条件"}),
        (gifts.list_gifts, {}),
        (gifts.create_gift, {"name_zh": "伞", "name_en": "U", "points_cost": 1, "stock": 1}),
    ):
        with pytest.raises(PermissionDenied):
            call(fn, member, **kwargs)
    unlinked = Actor(user_id=None, name="member#0", kind="member", roles=frozenset({"member"}))
    with pytest.raises(NotFound):
        call(gifts.member_file_request, unlinked, gift_id=flask)
    assert _state(mine, flask)[:2] == (500, 500)


def test_front_desk_files_and_reads_but_cannot_approve(world):  # noqa: ANN001
    desk, boss = world
    cid = _member_with_points(desk, 500)
    flask = _gift(boss, 100, 10)
    rid = _file(desk, cid, flask)
    rows, total = call(gifts.customer_requests, desk, customer_id=cid)
    assert (total, rows[0].id, rows[0].customer_name) == (1, rid, "王五")
    for fn, kwargs in (
        (gifts.approve, {"request_id": rid}),
        (gifts.reject, {"request_id": rid, "reason": "不符合条件"}),
        (gifts.pending_requests, {}),
    ):
        with pytest.raises(PermissionDenied):
            call(fn, desk, **kwargs)
    queue, count = call(gifts.pending_requests, boss)
    assert (count, [r.id for r in queue]) == (1, [rid])
    assert _status(rid) == "pending"


def test_auditor_and_sysadmin_see_nothing(world):  # noqa: ANN001
    desk, boss = world
    cid = _member_with_points(desk, 500)
    flask = _gift(boss, 100, 10)
    rid = _file(desk, cid, flask)
    for role in ("auditor", "sysadmin"):
        actor = _staff(f"{role}.one", role, desk.store_id)
        for fn, kwargs in (
            (gifts.list_gifts, {}),
            (gifts.member_catalogue, {}),
            (gifts.pending_requests, {}),
            (gifts.customer_requests, {"customer_id": cid}),
            (gifts.member_requests, {}),
            (gifts.file_request, {"customer_id": cid, "gift_id": flask}),
            (gifts.approve, {"request_id": rid}),
        ):
            with pytest.raises(PermissionDenied):
                call(fn, actor, **kwargs)
    assert _status(rid) == "pending"
