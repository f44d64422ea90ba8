"""投诉 KPIs for the manager's review (SPEC §5 Manager review, §8 Complaints): over the complaints
received in a window [now - days, now] (default the last 90 days), optionally of one store.

- open / overdue: those of the window not closed now; overdue as the queue has it (not on hold,
  a deadline passed); the rate is overdue of open.
- median first response (received → first response) and median resolution (received → customer
  informed), in hours, over the window's complaints that have them; average satisfaction and how
  many scores; repeat complainants: customers with two or more complaints in the window.
- the weekly trend: local weeks (Monday) × category → complaints received.

Everything is aggregated in the database (one aggregate query, the repeat count, the trend); only
the figures come back. PostgreSQL computes the medians with percentile_cont; SQLite has no
percentile, so each median is one ORDER BY ... LIMIT/OFFSET over the window (the average of the
two middle values for an even count, as percentile_cont(0.5) gives). Local weeks: PostgreSQL
converts with AT TIME ZONE; SQLite shifts by the zone's offset now (exact for zones without
daylight saving time, such as the default Asia/Shanghai).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from sqlalchemy import Date, cast, func, select
from sqlmodel import Session

from custapp import clock
from custapp.models.complaints import CATEGORIES, Complaint
from custapp.services.actor import Actor
from custapp.services.customer_input import is_row_id
from custapp.services.guard import requires

WINDOWS = (30, 90, 180, 365)
MAX_DAYS = 366


@dataclass(frozen=True)
class WeekTrend:
    week: date  # the local Monday
    counts: dict[str, int] = field(default_factory=dict)  # every category, 0 included


@dataclass(frozen=True)
class ComplaintKpis:
    days: int
    since: datetime
    until: datetime
    received: int
    open: int
    overdue: int
    overdue_rate: float | None  # overdue / open; None when nothing is open
    median_first_response_hours: float | None
    first_response_count: int  # the complaints the median is over
    median_resolution_hours: float | None
    resolution_count: int
    satisfaction_avg: float | None
    satisfaction_count: int
    repeat_complainants: int
    trend: list[WeekTrend]


def _hours(session: Session, later, earlier):  # noqa: ANN001, ANN202 (SQL expressions)
    if session.get_bind().dialect.name == "postgresql":
        return func.extract("epoch", later - earlier) / 3600.0
    return (func.julianday(later) - func.julianday(earlier)) * 24.0


def _week(session: Session, until: datetime):  # noqa: ANN202
    """The local Monday of created_at, as a date."""
    zone = clock.zone()
    if session.get_bind().dialect.name == "postgresql":
        local = func.timezone(zone.key, Complaint.created_at)
        return cast(func.date_trunc("week", local), Date)
    offset = int(until.astimezone(zone).utcoffset().total_seconds() // 60)
    return func.date(Complaint.created_at, f"{offset:+d} minutes", "weekday 0", "-6 days")


def _sqlite_median(session: Session, where: list, value, count: int) -> float | None:  # noqa: ANN001
    if count == 0:
        return None
    middle = (
        select(value.label("v"))
        .where(*where)
        .order_by(value)
        .limit(2 - count % 2)
        .offset((count - 1) // 2)
        .subquery()
    )
    return session.exec(select(func.avg(middle.c.v))).scalar_one()


def _weeks(since: datetime, until: datetime) -> list[date]:
    first = clock.to_local(since).date()
    first -= timedelta(days=first.weekday())
    last = clock.to_local(until).date()
    return [first + timedelta(weeks=i) for i in range((last - first).days // 7 + 1)]


@requires("report.read")
def kpis(
    session: Session, *, actor: Actor, days: int = 90, store_id: int | None = None
) -> ComplaintKpis:
    """The manager's figures for the complaints received in the last `days` days (1-366)."""
    days = days if is_row_id(days) and days <= MAX_DAYS else 90
    until = clock.now()
    since = until - timedelta(days=days)
    c = Complaint
    where = [c.created_at >= since, c.created_at <= until]
    if is_row_id(store_id):
        where.append(c.store_id == store_id)
    is_open = c.status != "closed"
    overdue = c.status.not_in(("closed", "on_hold")) & (
        (c.response_by < until) | (c.resolution_by < until)
    )
    first_response = _hours(session, c.first_response_at, c.created_at)
    resolution = _hours(session, c.informed_at, c.created_at)
    postgres = session.get_bind().dialect.name == "postgresql"
    columns = [
        func.count(),
        func.count().filter(is_open),
        func.count().filter(overdue),
        func.count(c.first_response_at),
        func.count(c.informed_at),
        func.avg(c.satisfaction),
        func.count(c.satisfaction),
    ]
    if postgres:
        columns += [
            func.percentile_cont(0.5).within_group(first_response),
            func.percentile_cont(0.5).within_group(resolution),
        ]
    figures = session.exec(select(*columns).where(*where)).one()
    received, n_open, n_overdue, n_response, n_informed, score_avg, n_scores = figures[:7]
    if postgres:
        median_response, median_resolution = figures[7], figures[8]
    else:
        median_response = _sqlite_median(
            session, [*where, c.first_response_at.is_not(None)], first_response, n_response
        )
        median_resolution = _sqlite_median(
            session, [*where, c.informed_at.is_not(None)], resolution, n_informed
        )
    repeaters = (
        select(c.customer_id)
        .where(*where, c.customer_id.is_not(None))
        .group_by(c.customer_id)
        .having(func.count() >= 2)
        .subquery()
    )
    repeat = session.exec(select(func.count()).select_from(repeaters)).scalar_one()
    week = _week(session, until).label("week")
    found: dict[tuple[str, str], int] = {
        (str(w), category): n
        for w, category, n in session.exec(
            select(week, c.category, func.count()).where(*where).group_by(week, c.category)
        ).all()
    }
    trend = [
        WeekTrend(w, {k: found.get((w.isoformat(), k), 0) for k in CATEGORIES})
        for w in _weeks(since, until)
    ]

    def _float(value: object) -> float | None:
        return None if value is None else float(value)

    return ComplaintKpis(
        days=days,
        since=since,
        until=until,
        received=int(received),
        open=int(n_open),
        overdue=int(n_overdue),
        overdue_rate=n_overdue / n_open if n_open else None,
        median_first_response_hours=_float(median_response),
        first_response_count=int(n_response),
        median_resolution_hours=_float(median_resolution),
        resolution_count=int(n_informed),
        satisfaction_avg=_float(score_avg),
        satisfaction_count=int(n_scores),
        repeat_complainants=int(repeat),
        trend=trend,
    )
