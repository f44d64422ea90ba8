"""投诉 KPIs for the manager's review (SPEC §5 Manager review, §8 Complaints): over the complaints
received in a window [now - days, now] (default the last 90 days), optionally of one store.

- open / overdue: those of the window not closed now; overdue as the queue has it (not on hold,
  a deadline passed); the rate is overdue of open.
- median first response (received → first response) and median resolution (received → customer
  informed), in hours, over the window's complaints that have them; average satisfaction and how
  many scores; repeat complainants: customers with two or more complaints in the window.
- the weekly trend: local weeks (Monday) × category → complaints received.

PostgreSQL aggregates everything in the database (one aggregate query with the medians by
percentile_cont, the repeat count, the trend); only the figures come back. SQLite has no
percentile, and each pass over the window costs 20-45 ms at 50,000 complaints, so it makes one
(`_sqlite_figures`): the counts as aggregates and, in one text, each complaint's receipt, first
response and informed instants (SQLite's integer milliseconds), customer and category; Python
takes the medians (the middle value, or the average of the two middle values for an even count,
as percentile_cont(0.5) gives), the repeat complainants and the trend from it, with the same
arithmetic as julianday() and date(), so the figures are those the database would compute.
Local weeks: PostgreSQL converts with AT TIME ZONE; SQLite shifts by the zone's offset now
(exact for zones without daylight saving time, such as the default Asia/Shanghai).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from sqlalchemy import BigInteger, Date, cast, func, select
from sqlmodel import Session

from custapp import clock
from custapp.models.complaints import CATEGORIES, Complaint
from custapp.services.actor import Actor
from custapp.services.customer_input import is_row_id
from custapp.services.guard import requires
from custapp.vocab import ComplaintStatus

WINDOWS = (30, 90, 180, 365)
MAX_DAYS = 366
_DAY_MS = 86_400_000
_JDN_OF_ORDINAL_0 = 1_721_425  # Julian day number of date.fromordinal(1), less one


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


@dataclass(frozen=True)
class _Figures:
    received: int
    open: int
    overdue: int
    n_response: int
    n_informed: int
    score_avg: float | None
    n_scores: int
    median_response: float | None
    median_resolution: float | None
    repeat: int
    weeks: dict[tuple[date, str], int]  # (local Monday, category) -> complaints received


def _hours(session: Session, later, earlier):  # noqa: ANN001, ANN202 (SQL expressions)
    if session.get_bind().dialect.name == "postgresql":
        return func.extract("epoch", later - earlier) / 3600.0
    return (func.julianday(later) - func.julianday(earlier)) * 24.0


def _float(value: object) -> float | None:
    return None if value is None else float(value)


def _postgres_figures(session: Session, where: list, until: datetime, counts: list) -> _Figures:
    c = Complaint
    first_response = _hours(session, c.first_response_at, c.created_at)
    resolution = _hours(session, c.informed_at, c.created_at)
    figures = session.exec(
        select(
            *counts,
            func.avg(c.satisfaction),
            func.percentile_cont(0.5).within_group(first_response),
            func.percentile_cont(0.5).within_group(resolution),
        ).where(*where)
    ).one()
    received, n_open, n_overdue, n_response, n_informed, n_scores = figures[:6]
    repeaters = (
        select(c.customer_id)
        .where(*where, c.customer_id.is_not(None))
        .group_by(c.customer_id)
        .having(func.count() >= 2)
        .subquery()
    )
    repeat = session.exec(select(func.count()).select_from(repeaters)).scalar_one()
    local = func.timezone(clock.zone().key, c.created_at)
    week = cast(func.date_trunc("week", local), Date).label("week")
    weeks = {
        (w, category): n
        for w, category, n in session.exec(
            select(week, c.category, func.count()).where(*where).group_by(week, c.category)
        ).all()
    }
    return _Figures(
        received, n_open, n_overdue, n_response, n_informed, _float(figures[6]), n_scores,
        _float(figures[7]), _float(figures[8]), repeat, weeks,
    )  # fmt: skip


def _median(values: list[float]) -> float | None:
    """The middle value, or the average of the two middle values (as SQLite's avg() of them)."""
    if not values:
        return None
    values.sort()
    middle = (len(values) - 1) // 2
    return values[middle] if len(values) % 2 else (values[middle] + values[middle + 1]) / 2


def _instant(column):  # noqa: ANN001, ANN202 (a SQL expression)
    """SQLite's own integer form of a timestamp (milliseconds since the Julian epoch, as
    julianday() and date() compute from), exact: julianday() is it divided by 86,400,000."""
    return cast(func.round(func.julianday(column) * float(_DAY_MS)), BigInteger)


# per complaint in _sqlite_figures' text: received, first response, informed, customer, category
_FIELDS = 5


def _sqlite_figures(session: Session, where: list, until: datetime, counts: list) -> _Figures:
    """One pass over the window: the counts as aggregates, and each complaint's few fields in
    one comma-separated text (whole numbers and category names, so nothing is rounded) that
    Python splits into flat lists: no per-row objects (49,000 rows as tuples cost more in
    allocation and garbage collection than the query)."""
    c = Complaint
    row = func.printf(
        "%s,%s,%s,%s,%s", _instant(c.created_at), _instant(c.first_response_at),
        _instant(c.informed_at), c.customer_id, c.category,
    )  # fmt: skip
    figures = (
        session.connection()
        .execute(
            select(*counts, func.sum(c.satisfaction), func.group_concat(row, ",")).where(*where)
        )
        .one()
    )
    received, n_open, n_overdue, n_response, n_informed, n_scores, score_sum, text = figures
    fields = text.split(",") if text else []
    created = list(map(int, fields[0::_FIELDS]))

    def hours(stops: list[str]) -> list[float]:
        # (julianday(stop) - julianday(created_at)) * 24.0, the same floating-point steps
        return [
            (int(stop) / _DAY_MS - start / _DAY_MS) * 24.0
            for start, stop in zip(created, stops, strict=True)
            if stop
        ]

    complainants = Counter(fields[3::_FIELDS])
    complainants.pop("", None)  # anonymous
    # the local day as its Julian day number, as date(created_at, '+N minutes') computes it
    offset = int(until.astimezone(clock.zone()).utcoffset().total_seconds() // 60)
    start = offset * 60_000 + _DAY_MS // 2  # Julian days begin at noon
    local_days = [(ms + start) // _DAY_MS for ms in created]
    days = Counter(zip(local_days, fields[4::_FIELDS], strict=True))
    weeks: Counter[tuple[date, str]] = Counter()
    for (day, category), n in days.items():
        # Julian day numbers divisible by 7 are Mondays
        weeks[date.fromordinal(day - day % 7 - _JDN_OF_ORDINAL_0), category] += n
    return _Figures(
        received, n_open, n_overdue, n_response, n_informed,
        score_sum / n_scores if n_scores else None, n_scores,
        _median(hours(fields[1::_FIELDS])), _median(hours(fields[2::_FIELDS])),
        sum(1 for n in complainants.values() if n >= 2), dict(weeks),
    )  # fmt: skip


def _weeks(since: datetime, until: datetime) -> list[date]:
    first = clock.to_local(since).date()
    first -= timedelta(days=first.weekday())
    last = clock.to_local(until).date()
    return [first + timedelta(weeks=i) for i in range((last - first).days // 7 + 1)]


@requires("report.read", reads=True)
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
    overdue = c.status.not_in((ComplaintStatus.CLOSED, ComplaintStatus.ON_HOLD)) & (
        (c.response_by < until) | (c.resolution_by < until)
    )
    counts = [
        func.count(),
        func.count().filter(c.status != ComplaintStatus.CLOSED),
        func.count().filter(overdue),
        func.count(c.first_response_at),
        func.count(c.informed_at),
        func.count(c.satisfaction),
    ]
    postgres = session.get_bind().dialect.name == "postgresql"
    f = (_postgres_figures if postgres else _sqlite_figures)(session, where, until, counts)
    trend = [
        WeekTrend(w, {k: f.weeks.get((w, k), 0) for k in CATEGORIES}) for w in _weeks(since, until)
    ]
    return ComplaintKpis(
        days=days,
        since=since,
        until=until,
        received=int(f.received),
        open=int(f.open),
        overdue=int(f.overdue),
        overdue_rate=f.overdue / f.open if f.open else None,
        median_first_response_hours=f.median_response,
        first_response_count=int(f.n_response),
        median_resolution_hours=f.median_resolution,
        resolution_count=int(f.n_informed),
        satisfaction_avg=f.score_avg,
        satisfaction_count=int(f.n_scores),
        repeat_complainants=int(f.repeat),
        trend=trend,
    )
