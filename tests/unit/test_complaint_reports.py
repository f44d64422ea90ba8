"""投诉 KPIs (SPEC §5 Manager review, issue 6): on a small data set with a controlled clock, the
open and overdue counts, the medians (odd and even counts), satisfaction, repeat complainants and
the weekly trend by local week and category, for two windows and a store; front desk refused."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from test_membership import _customer, _staff, _store, call

from custapp import clock
from custapp.db import session_scope
from custapp.models import Complaint, Store
from custapp.services import complaint_reports, complaints
from custapp.services.errors import PermissionDenied

NOW = datetime(2026, 6, 3, 4, 0, tzinfo=UTC)  # Wednesday 12:00 in Shanghai
LOCAL = timedelta(hours=8)


def _local(y: int, m: int, d: int, hh: int, mm: int = 0) -> datetime:
    return datetime(y, m, d, hh, mm, tzinfo=UTC) - LOCAL


@pytest.fixture
def world(db):  # noqa: ANN001, ANN201
    clock.set_now(NOW)
    store = _store()
    w = {
        "store": store,
        "desk": _staff("desk.one", "front_desk", store),
        "boss": _staff("boss.one", "cs_manager", store),
        "x": _customer("甲客户", "13900000001"),
        "y": _customer("乙客户", "13900000002"),
        "z": _customer("丙客户", "13900000003"),
        "w": _customer("丁客户", "13900000004"),
    }
    # (customer, received at, category, then: status, first response h, informed h, score)
    plan = {
        "A": ("x", NOW - timedelta(days=2), "service", "closed", 2, 10, 4),
        "B": ("x", NOW - timedelta(days=10), "billing", "customer_informed", 4, 30, 2),
        "C": ("y", _local(2026, 6, 1, 0, 30), "service", "received", None, None, None),
        "D": ("y", NOW - timedelta(days=20), "product", "on_hold", None, None, None),
        "E": ("z", _local(2026, 5, 31, 23, 30), "service", "received", None, None, None),
        "F": ("z", NOW - timedelta(days=100), "other", "received", None, None, None),
        "G": (None, NOW - timedelta(days=5), "environment", "investigating", 6, None, None),
        "H": ("w", NOW - timedelta(hours=1), "privacy", "received", None, None, None),
    }
    for who, at, category, status, response, informed, score in plan.values():
        clock.set_now(at)
        row = call(
            complaints.file_complaint, w["desk"], customer_id=w[who] if who else None,
            channel="counter", category=category, severity="normal", description="投诉内容",
            contact="" if who else "王先生 13700001111",
        )  # fmt: skip
        with session_scope() as session:
            c = session.get(Complaint, row.id)
            c.status = status
            if response is not None:
                c.first_response_at, c.response_by = at + timedelta(hours=response), None
            if informed is not None:
                c.informed_at, c.resolution_by = at + timedelta(hours=informed), None
            c.satisfaction = score
    clock.set_now(NOW)
    return w


def test_the_figures_of_the_last_90_days(world) -> None:  # noqa: ANN001
    k = call(complaint_reports.kpis, world["boss"])
    assert (k.days, k.since, k.until) == (90, NOW - timedelta(days=90), NOW)
    assert k.received == 7  # F is 100 days old
    assert k.open == 6  # A is closed
    assert k.overdue == 3  # C and E past the response deadline, G past resolution; D on hold
    assert k.overdue_rate == pytest.approx(0.5)
    assert k.median_first_response_hours == pytest.approx(4.0)  # 2, 4, 6
    assert k.median_resolution_hours == pytest.approx(20.0)  # 10 and 30
    assert (k.satisfaction_avg, k.satisfaction_count) == (pytest.approx(3.0), 2)
    assert k.repeat_complainants == 2  # x and y; z once in the window; G anonymous


def test_the_weekly_trend_counts_local_weeks_by_category(world) -> None:  # noqa: ANN001
    k = call(complaint_reports.kpis, world["boss"])
    weeks = [t.week for t in k.trend]
    assert weeks[0] == date(2026, 3, 2) and weeks[-1] == date(2026, 6, 1)  # Mondays
    assert weeks == [date(2026, 3, 2) + timedelta(weeks=i) for i in range(14)]
    counts = {t.week: {c: n for c, n in t.counts.items() if n} for t in k.trend}
    # C came in on Monday 00:30 local (Sunday in UTC), E on Sunday 23:30 local
    assert counts[date(2026, 6, 1)] == {"service": 2, "privacy": 1}
    assert counts[date(2026, 5, 25)] == {"service": 1, "environment": 1}
    assert counts[date(2026, 5, 18)] == {"billing": 1}
    assert counts[date(2026, 5, 11)] == {"product": 1}
    assert sum(sum(t.counts.values()) for t in k.trend) == k.received
    assert all(set(t.counts) == set(complaints.CATEGORIES) for t in k.trend)


def test_a_longer_window_and_one_store(world) -> None:  # noqa: ANN001
    k = call(complaint_reports.kpis, world["boss"], days=180)
    assert (k.received, k.open, k.overdue, k.repeat_complainants) == (8, 7, 4, 3)
    assert sum(t.counts["other"] for t in k.trend) == 1
    same = call(complaint_reports.kpis, world["boss"], days=180, store_id=world["store"])
    assert same.received == 8
    with session_scope() as session:
        other = Store(code="BR", name="分店", created_at=clock.now())
        session.add(other)
        session.flush()
        other_id = other.id
    none = call(complaint_reports.kpis, world["boss"], store_id=other_id)
    assert (none.received, none.open, none.overdue, none.repeat_complainants) == (0, 0, 0, 0)
    assert none.overdue_rate is None and none.median_first_response_hours is None
    assert none.median_resolution_hours is None and none.satisfaction_avg is None
    assert sum(sum(t.counts.values()) for t in none.trend) == 0


def test_an_odd_count_median_and_a_bad_window(world) -> None:  # noqa: ANN001
    k = call(complaint_reports.kpis, world["boss"], days=7)
    assert k.received == 5  # A, C, E, G, H
    assert k.median_first_response_hours == pytest.approx(4.0)  # 2 and 6
    assert k.median_resolution_hours == pytest.approx(10.0)
    assert call(complaint_reports.kpis, world["boss"], days=-3).days == 90
    assert call(complaint_reports.kpis, world["boss"], days="30").days == 90


def test_front_desk_is_refused(world) -> None:  # noqa: ANN001
    with pytest.raises(PermissionDenied):
        call(complaint_reports.kpis, world["desk"])


def test_awkward_instants_give_the_databases_own_figures(world, db) -> None:  # noqa: ANN001
    """Receipt times on the local week's edges and to the microsecond: the trend puts each in
    its local week (SQLite reads times to the millisecond, so 23:59:59.999999 is the next day
    there), and the medians are what the database itself computes (SQLite: as the ORDER BY ...
    LIMIT/OFFSET over julianday() differences and date() with the zone's offset would give,
    to the last bit)."""
    from sqlalchemy import func, select

    from custapp.services.complaint_reports import _hours

    edges = [
        _local(2026, 5, 25, 0, 0),  # Monday 00:00:00 local, exactly
        _local(2026, 5, 25, 0, 0) - timedelta(microseconds=1),  # Sunday 23:59:59.999999
        _local(2026, 5, 18, 0, 0) + timedelta(microseconds=500),
        _local(2026, 5, 24, 23, 59) + timedelta(seconds=59, microseconds=999_000),
        _local(2026, 3, 9, 7, 7) + timedelta(seconds=7, microseconds=123_456),
    ]
    for n, at in enumerate(edges):
        clock.set_now(at)
        row = call(
            complaints.file_complaint, world["desk"], customer_id=world["w"], channel="phone",
            category="billing", severity="high", description="时间边界",
        )  # fmt: skip
        with session_scope() as session:
            c = session.get(Complaint, row.id)
            c.first_response_at = at + timedelta(hours=n, minutes=7, microseconds=333 * n + 1)
            c.response_by = None
            if n % 2:
                c.informed_at = at + timedelta(hours=30 + n, microseconds=777 * n)
                c.resolution_by = None
    clock.set_now(NOW)
    k = call(complaint_reports.kpis, world["boss"])
    with session_scope() as session:
        rows = session.exec(
            select(Complaint.created_at, Complaint.category).where(
                Complaint.created_at >= NOW - timedelta(days=90)
            )
        ).all()
        expected: dict[date, dict[str, int]] = {}
        for created, category in rows:
            if db == "sqlite":  # julianday() and date() read a time to the millisecond
                created += timedelta(microseconds=500)
                created = created.replace(microsecond=created.microsecond // 1000 * 1000)
            day = clock.to_local(created).date()
            week = expected.setdefault(day - timedelta(days=day.weekday()), {})
            week[category] = week.get(category, 0) + 1
        assert {t.week: {c: n for c, n in t.counts.items() if n} for t in k.trend} == {
            t.week: expected.get(t.week, {}) for t in k.trend
        }
        assert k.received == len(rows) == 12
        assert k.repeat_complainants == 3  # x, y and now w
        if db != "sqlite":
            return
        # SQLite: the database's own arithmetic, as the figures were computed before
        c = Complaint
        window = [c.created_at >= NOW - timedelta(days=90), c.created_at <= NOW]
        for value, stop, median in (
            (_hours(session, c.first_response_at, c.created_at), c.first_response_at,
             k.median_first_response_hours),
            (_hours(session, c.informed_at, c.created_at), c.informed_at,
             k.median_resolution_hours),
        ):  # fmt: skip
            n = session.exec(select(func.count(stop)).where(*window)).scalar_one()
            middle = (
                select(value.label("v")).where(*window, stop.is_not(None)).order_by(value)
                .limit(2 - n % 2).offset((n - 1) // 2).subquery()
            )  # fmt: skip
            assert median == session.exec(select(func.avg(middle.c.v))).scalar_one()
        week = func.date(c.created_at, "+480 minutes", "weekday 0", "-6 days")
        by_sql = session.exec(
            select(week, c.category, func.count()).where(*window).group_by(week, c.category)
        ).all()
        trend = {(t.week.isoformat(), cat): n for t in k.trend for cat, n in t.counts.items() if n}
        assert trend == {(w, cat): n for w, cat, n in by_sql}
