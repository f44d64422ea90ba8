"""The days of care (关怀): which customers have a birthday or a membership anniversary on which
days of the coming window, the configured holidays in it, and who was greeted already.

- Birthdays are found by the keyed month-day index of the birth date (`birth_md_bidx`): the date
  itself stays encrypted. A 29 February birthday is greeted on 28 February in other years.
- Anniversaries: the issue day of an active membership card, one year or more ago, in the
  configured zone.
- Holidays come from CUSTAPP_CARE_HOLIDAYS ("MM-DD 名称" separated by commas).
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from sqlalchemy import and_, case, func, select
from sqlmodel import Session

from custapp import clock
from custapp.models import CareGreeting, Customer, MemberCard
from custapp.services import customer_fields
from custapp.services.errors import ValidationFailed
from custapp.settings import get_settings
from custapp.vocab import CardStatus, CareOccasion


@dataclass(frozen=True)
class Holiday:
    on: date
    name: str


def window(days: int) -> list[date]:
    today = clock.local_today()
    return [today + timedelta(days=i) for i in range(days)]


def _month_days(day: date) -> list[str]:
    """The birthdays celebrated on `day`: its own, and 29 February on 28 February of other years."""
    found = [day.strftime("%m-%d")]
    if day.month == 2 and day.day == 28 and not calendar.isleap(day.year):
        found.append("02-29")
    return found


def holidays(days: list[date]) -> list[Holiday]:
    configured = get_settings().care_holidays
    return [
        Holiday(d, configured[d.strftime("%m-%d")])
        for d in days
        if d.strftime("%m-%d") in configured
    ]


def _offset_hours() -> float:
    now = clock.now()
    return clock.to_local(now).utcoffset().total_seconds() / 3600 if now else 8.0


def _local_month_day(session: Session, column):  # noqa: ANN001, ANN202
    """MM-DD of a UTC timestamp column in the configured zone, on either backend."""
    hours = _offset_hours()
    if session.get_bind().dialect.name == "postgresql":
        return func.to_char(column + timedelta(hours=hours), "MM-DD")
    return func.strftime("%m-%d", column, f"{hours:+g} hours")


def _birthday_query(session: Session, window: list[date]):  # noqa: ANN202
    order = {}
    for i, day in enumerate(window):
        for md in _month_days(day):
            order.setdefault(customer_fields.birthday_index(f"0000-{md}"), (i, day))
    where = and_(Customer.birth_md_bidx.in_(list(order)), Customer.merged_into_id.is_(None))
    rank = case({digest: i for digest, (i, _) in order.items()}, value=Customer.birth_md_bidx)
    days = {digest: day for digest, (_, day) in order.items()}
    return where, rank, lambda row: (days[row.birth_md_bidx], 0)


def _anniversary_query(session: Session, window: list[date]):  # noqa: ANN202
    by_md = {day.strftime("%m-%d"): (i, day) for i, day in enumerate(window)}
    month_day = _local_month_day(session, MemberCard.issued_at)
    # issued before the window starts: an anniversary is a year or more after the issue day
    starts = datetime.combine(window[0], datetime.min.time(), clock.zone())
    where = and_(
        MemberCard.status == CardStatus.ACTIVE,
        MemberCard.customer_id == Customer.id,
        month_day.in_(list(by_md)),
        MemberCard.issued_at < starts.astimezone(UTC),
    )
    rank = case({md: i for md, (i, _) in by_md.items()}, value=month_day)

    def when(row) -> tuple[date, int]:  # noqa: ANN001
        day = by_md[clock.to_local(row.issued_at).strftime("%m-%d")][1]
        return day, day.year - clock.to_local(row.issued_at).year

    return where, rank, when


def occasion_query(session: Session, occasion: str, window: list[date]):  # noqa: ANN202
    if occasion == CareOccasion.BIRTHDAY:
        return _birthday_query(session, window)
    if occasion == CareOccasion.ANNIVERSARY:
        return _anniversary_query(session, window)
    raise ValidationFailed({"occasion": "care.error.occasion"})


def greeted(
    session: Session, occasion: str, customer_ids: list[int], window: list[date]
) -> set[tuple[int, date]]:
    """(customer, day) pairs already greeted for the occasion."""
    if not customer_ids:
        return set()
    rows = session.exec(
        select(CareGreeting.customer_id, CareGreeting.on_date).where(
            CareGreeting.occasion == occasion,
            CareGreeting.customer_id.in_(customer_ids),
            CareGreeting.on_date.in_(window),
        )
    ).all()
    return {(cid, day) for cid, day in rows}
