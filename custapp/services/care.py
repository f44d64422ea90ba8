"""关怀日历 (SPEC §3 Care; 001 MB-11): birthdays, membership anniversaries and configured holidays in
the next N days, and greetings queued through the outbox only for customers whose consent covers
care greetings (purpose `care`).

- Birthdays are found by the keyed month-day index of the birth date (`birth_md_bidx`): the date
  itself stays encrypted. A 29 February birthday is greeted on 28 February in other years.
- Anniversaries: the issue day of an active membership card, one year or more ago, in the
  configured zone.
- Holidays come from CUSTAPP_CARE_HOLIDAYS ("MM-DD 名称" separated by commas); a holiday greeting
  goes to every consenting customer with a mobile number.
- The outbox asks `consent.permits` again for every message: a customer who has not granted
  `care` is never queued, whatever this list says. The counts say how many were left out.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from sqlalchemy import and_, case, func, select
from sqlmodel import Session

from custapp import clock
from custapp.models import CareGreeting, Customer, DataKey, MemberCard
from custapp.services import audit, consent, customer_fields, datakeys, outbox
from custapp.services.actor import Actor
from custapp.services.errors import DomainError, ValidationFailed
from custapp.services.guard import requires
from custapp.settings import get_settings

OCCASIONS = ("birthday", "anniversary", "holiday")
PURPOSE = "care"
MAX_DAYS = 31
MAX_QUEUE = 5000  # one click queues at most this many greetings (a day's birthdays of 1.8 M)


@dataclass(frozen=True)
class CareRow:
    customer_id: int
    number: str
    name: str
    on: date  # the day of the occasion this year
    years: int  # anniversary: years since the card was issued; else 0
    consented: bool  # the customer granted care greetings
    queued: bool  # a greeting for this occasion is already queued or sent


@dataclass(frozen=True)
class Holiday:
    on: date
    name: str


@dataclass(frozen=True)
class Calendar:
    rows: list[CareRow]
    total: int
    holidays: list[Holiday]
    consenting: int  # of the whole list (all pages)


@dataclass(frozen=True)
class Queued:
    queued: int
    left_out: int  # no consent or no mobile number
    already: int  # queued before for the same occasion


def _days(days: object) -> int:
    if not isinstance(days, int) or isinstance(days, bool) or not 1 <= days <= MAX_DAYS:
        raise ValidationFailed({"days": "care.error.days"})
    return days


def _window(days: int) -> list[date]:
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
        MemberCard.status == "active",
        MemberCard.customer_id == Customer.id,
        month_day.in_(list(by_md)),
        MemberCard.issued_at < starts.astimezone(UTC),
    )
    rank = case({md: i for md, (i, _) in by_md.items()}, value=month_day)

    def when(row) -> tuple[date, int]:  # noqa: ANN001
        day = by_md[clock.to_local(row.issued_at).strftime("%m-%d")][1]
        return day, day.year - clock.to_local(row.issued_at).year

    return where, rank, when


def _query(session: Session, occasion: str, window: list[date]):  # noqa: ANN202
    if occasion == "birthday":
        return _birthday_query(session, window)
    if occasion == "anniversary":
        return _anniversary_query(session, window)
    raise ValidationFailed({"occasion": "care.error.occasion"})


@requires("campaign.manage")
def care_calendar(
    session: Session,
    *,
    actor: Actor,
    occasion: str = "birthday",
    days: int = 7,
    page: int = 1,
    page_size: int = 20,
) -> Calendar:
    """The customers with a birthday or a membership anniversary in the next `days` days (today
    first), one page at a time, each with whether they granted care greetings; and the
    configured holidays in the same days."""
    window = _window(_days(days))
    feasts = holidays(window)
    if occasion == "holiday":
        return Calendar([], 0, feasts, 0)
    where, rank, when = _query(session, occasion, window)
    base = select(Customer.id).where(where)
    if occasion == "anniversary":
        base = base.select_from(Customer).join(MemberCard, MemberCard.customer_id == Customer.id)
    total = session.exec(select(func.count()).select_from(base.subquery())).scalar_one()
    consenting = session.exec(
        select(func.count()).select_from(base.where(consent.consenting(PURPOSE)).subquery())
    ).scalar_one()
    columns = [Customer.id, Customer.number, Customer.name, Customer.birth_md_bidx]
    if occasion == "anniversary":
        columns.append(MemberCard.issued_at)
    query = select(*columns, consent.consenting(PURPOSE).label("consented")).where(where)
    if occasion == "anniversary":
        query = query.select_from(Customer).join(MemberCard, MemberCard.customer_id == Customer.id)
    page, page_size = max(page, 1), max(1, min(page_size, 100))
    found = session.exec(
        query.order_by(rank, Customer.id).offset((page - 1) * page_size).limit(page_size)
    ).all()
    greeted = _greeted(session, occasion, [r.id for r in found], window)
    rows = []
    for r in found:
        day, years = when(r)
        rows.append(
            CareRow(
                customer_id=r.id,
                number=r.number,
                name=r.name,
                on=day,
                years=years,
                consented=bool(r.consented),
                queued=(r.id, day) in greeted,
            )
        )
    audit.record(
        session,
        actor=actor,
        action="care.calendar",
        detail={"occasion": occasion, "days": len(window), "page": page, "total": total},
    )
    return Calendar(rows, total, feasts, consenting)


def _greeted(
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


@requires("campaign.manage")
def queue_greetings(
    session: Session,
    *,
    actor: Actor,
    occasion: str,
    on: date | str,
    subject: str,
    body: str,
) -> Queued:
    """Queue an SMS greeting for every customer of one occasion on one day of the window who
    granted care greetings and has a mobile number; a customer already greeted for that occasion
    and day is skipped. Holidays greet every consenting customer."""
    from custapp.services.marketing import message_errors

    errors = message_errors(subject, body)
    try:
        day = on if isinstance(on, date) else date.fromisoformat(str(on))
    except ValueError:
        day = None
    window = _window(MAX_DAYS)
    if day not in window:
        errors["on"] = "care.error.day"
    if occasion not in OCCASIONS:
        errors["occasion"] = "care.error.occasion"
    if errors:
        raise ValidationFailed(errors)
    if not consent.purpose_usable(session, PURPOSE):
        raise DomainError("care.error.purpose_unusable")
    if occasion == "holiday":
        if not holidays([day]):
            raise ValidationFailed({"on": "care.error.no_holiday"})
        where = Customer.merged_into_id.is_(None)
        joined = False
    else:
        where, _, _ = _query(session, occasion, [day])
        joined = occasion == "anniversary"
    query = (
        select(
            Customer.id,
            Customer.data_key_id,
            Customer.phone_enc,
            DataKey.master_version,
            DataKey.wrapped,
        )
        .select_from(Customer)
        .outerjoin(DataKey, and_(DataKey.id == Customer.data_key_id, DataKey.wrapped.is_not(None)))
        .where(where)
    )
    if joined:
        query = query.join(MemberCard, MemberCard.customer_id == Customer.id)
    everyone = session.exec(
        select(func.count()).select_from(query.with_only_columns(Customer.id).subquery())
    ).scalar_one()
    targets = session.exec(
        query.where(consent.consenting(PURPOSE), Customer.phone_enc.is_not(None))
        .order_by(Customer.id)
        .limit(MAX_QUEUE + 1)
    ).all()
    if len(targets) > MAX_QUEUE:
        raise DomainError("care.error.too_many", limit=MAX_QUEUE)
    already = _greeted(session, occasion, [t.id for t in targets], [day])
    datakeys.remember_wrapped(
        session, [(t.data_key_id, t.master_version, t.wrapped) for t in targets]
    )
    queued = 0
    for target in targets:
        if (target.id, day) in already:
            continue
        customer = session.get(Customer, target.id)
        message_id = outbox.queue_message(
            session,
            channel="sms",
            purpose=PURPOSE,
            customer_id=target.id,
            customer_key_id=target.data_key_id,
            recipient=customer_fields.read(session, customer, "phone"),
            subject=subject,
            body=body,
        )
        session.add(
            CareGreeting(
                customer_id=target.id,
                occasion=occasion,
                on_date=day,
                outbox_id=message_id,
                created_by=actor.user_id,
                created_at=clock.now(),
            )
        )
        queued += 1
    audit.record(
        session,
        actor=actor,
        action="care.queue",
        detail={"occasion": occasion, "on": day.isoformat(), "queued": queued},
    )
    skipped = sum(1 for t in targets if (t.id, day) in already)
    return Queued(queued=queued, left_out=everyone - len(targets), already=skipped)


def fill_birthday_index(batch: int = 1000) -> dict:
    """A daily step: customers saved before the birthday index existed get theirs (decrypting
    the birth date once, inside the job); after that every save keeps it current."""
    from custapp.db import session_scope

    filled, after = 0, 0
    while True:
        with session_scope() as session:
            found = (
                session.exec(
                    select(Customer)
                    .where(
                        Customer.id > after,
                        Customer.birth_date_enc.is_not(None),
                        Customer.birth_md_bidx.is_(None),
                        Customer.merged_into_id.is_(None),
                    )
                    .order_by(Customer.id)
                    .limit(batch)
                )
                .scalars()
                .all()
            )
            for customer in found:
                try:
                    birth = customer_fields.read(session, customer, "birth_date")
                except DomainError:  # a destroyed key: nothing to index
                    continue
                if birth:
                    customer.birth_md_bidx = customer_fields.birthday_index(birth)
                    filled += 1
        if len(found) < batch:
            return {"filled": filled}
        after = found[-1].id
