"""关怀日历 (SPEC §3 Care; 001 MB-11): birthdays, membership anniversaries and configured holidays in
the next N days (found by services/care_dates.py), and greetings queued through the outbox only for
customers whose consent covers care greetings (purpose `care`).

- A holiday greeting goes to every consenting customer with a mobile number.
- The outbox asks `consent.permits` again for every message: a customer who has not granted
  `care` is never queued, whatever this list says. The counts say how many were left out.
- The page queues greetings as a job (issue 15: start_greetings, run_greetings_job), CHUNK
  customers per transaction with the job's progress, resumable: a customer already greeted for
  the occasion and day is skipped, so a job taken over from a dead runner queues nothing twice.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import date

from sqlalchemy import func, select
from sqlmodel import Session

from custapp import clock
from custapp.models import CareGreeting, Customer, MemberCard
from custapp.services import (
    audit,
    care_dates,
    consent,
    customer_fields,
    datakeys,
    job_queue,
    outbox,
)
from custapp.services.actor import Actor
from custapp.services.care_dates import Holiday
from custapp.services.errors import DomainError, ValidationFailed
from custapp.services.guard import requires
from custapp.services.paging import page_window
from custapp.vocab import CareOccasion, JobKind, MessageChannel, PurposeCode

OCCASIONS = tuple(CareOccasion)
PURPOSE = PurposeCode.CARE
MAX_DAYS = 31
MAX_QUEUE = 5000  # one click queues at most this many greetings (a day's birthdays of 1.8 M)
CHUNK = 200  # greetings per transaction


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


@requires("campaign.manage")
def care_calendar(
    session: Session,
    *,
    actor: Actor,
    occasion: str = CareOccasion.BIRTHDAY,
    days: int = 7,
    page: int = 1,
    page_size: int = 20,
) -> Calendar:
    """The customers with a birthday or a membership anniversary in the next `days` days (today
    first), one page at a time, each with whether they granted care greetings; and the
    configured holidays in the same days."""
    window = care_dates.window(_days(days))
    feasts = care_dates.holidays(window)
    if occasion == CareOccasion.HOLIDAY:
        return Calendar([], 0, feasts, 0)
    where, rank, when = care_dates.occasion_query(session, occasion, window)
    base = select(Customer.id).where(where)
    if occasion == CareOccasion.ANNIVERSARY:
        base = base.select_from(Customer).join(MemberCard, MemberCard.customer_id == Customer.id)
    total = session.exec(select(func.count()).select_from(base.subquery())).scalar_one()
    consenting = session.exec(
        select(func.count()).select_from(base.where(consent.consenting(PURPOSE)).subquery())
    ).scalar_one()
    columns = [Customer.id, Customer.number, Customer.name, Customer.birth_md_bidx]
    if occasion == CareOccasion.ANNIVERSARY:
        columns.append(MemberCard.issued_at)
    query = select(*columns, consent.consenting(PURPOSE).label("consented")).where(where)
    if occasion == CareOccasion.ANNIVERSARY:
        query = query.select_from(Customer).join(MemberCard, MemberCard.customer_id == Customer.id)
    paged = page_window(page, page_size)
    found = session.exec(
        query.order_by(rank, Customer.id).offset(paged.offset).limit(paged.limit)
    ).all()
    greeted = care_dates.greeted(session, occasion, [r.id for r in found], window)
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
        detail={"occasion": occasion, "days": len(window), "page": paged.number, "total": total},
    )
    return Calendar(rows, total, feasts, consenting)


@dataclass(frozen=True)
class _Targets:
    """Who one occasion's greetings go to: `query` the consenting customers with a mobile
    number (by id), `everyone` all customers of the occasion."""

    query: object
    everyone: object


def _checked_day(session: Session, occasion: str, on: date | str, subject: str, body: str) -> date:
    """The greeting's day once the text, the day, the occasion and the purpose are fine."""
    from custapp.services.marketing import message_errors

    errors = message_errors(subject, body)
    try:
        day = on if isinstance(on, date) else date.fromisoformat(str(on))
    except ValueError:
        day = None
    if day not in care_dates.window(MAX_DAYS):
        errors["on"] = "care.error.day"
    if occasion not in OCCASIONS:
        errors["occasion"] = "care.error.occasion"
    if errors:
        raise ValidationFailed(errors)
    if not consent.purpose_usable(session, PURPOSE):
        raise DomainError("care.error.purpose_unusable")
    if occasion == CareOccasion.HOLIDAY and not care_dates.holidays([day]):
        raise ValidationFailed({"on": "care.error.no_holiday"})
    return day


def _targets(session: Session, occasion: str, day: date) -> _Targets:
    if occasion == CareOccasion.HOLIDAY:
        where, joined = Customer.merged_into_id.is_(None), False
    else:
        where, _, _ = care_dates.occasion_query(session, occasion, [day])
        joined = occasion == CareOccasion.ANNIVERSARY
    query = (
        select(
            Customer.id,
            Customer.data_key_id,
            Customer.phone_enc,
        )
        .select_from(Customer)
        .where(where)
    )
    if joined:
        query = query.join(MemberCard, MemberCard.customer_id == Customer.id)
    everyone = select(func.count()).select_from(query.with_only_columns(Customer.id).subquery())
    return _Targets(
        query.where(consent.consenting(PURPOSE), Customer.phone_enc.is_not(None)), everyone
    )


def _count_targets(session: Session, targets: _Targets) -> int:
    found = session.exec(
        select(func.count()).select_from(
            targets.query.with_only_columns(Customer.id).limit(MAX_QUEUE + 1).subquery()
        )
    ).scalar_one()
    if found > MAX_QUEUE:
        raise DomainError("care.error.too_many", limit=MAX_QUEUE)
    return found


def _tally(state: dict) -> dict:
    """The running counts of a greeting run (a job's checkpoint): the last customer id done,
    customers seen, greetings queued, greeted before, and those the outbox refused."""
    for name in ("after", "seen", "queued", "already", "refused"):
        state.setdefault(name, 0)
    return state


def _queue_chunk(
    session: Session,
    targets: _Targets,
    *,
    occasion: str,
    day: date,
    subject: str,
    body: str,
    created_by: int | None,
    tally: dict,
    limit: int = CHUNK,
) -> bool:
    """Queue the greetings of the next `limit` customers after tally["after"], updating the
    tally -> whether more may follow. A customer greeted already for the occasion and day is
    skipped, so a chunk run again (a job resumed) queues nothing twice."""
    found = session.exec(
        targets.query.where(Customer.id > tally["after"]).order_by(Customer.id).limit(limit)
    ).all()
    unique = list({row.id: row for row in found}.values())  # two active cards: one greeting
    already = care_dates.greeted(session, occasion, [t.id for t in unique], [day])
    datakeys.preload(session, [t.data_key_id for t in unique])  # one key-store query
    for target in unique:
        tally["seen"] += 1
        if (target.id, day) in already:
            tally["already"] += 1
            continue
        try:
            message_id = outbox.queue_message(
                session,
                channel=MessageChannel.SMS,
                purpose=PURPOSE,
                customer_id=target.id,
                customer_key_id=target.data_key_id,
                recipient=customer_fields.read(session, target, "phone"),
                subject=subject,
                body=body,
            )
        except DomainError:  # a number SMS cannot reach, a shredded key: left out
            tally["refused"] += 1
            continue
        session.add(
            CareGreeting(
                customer_id=target.id,
                occasion=occasion,
                on_date=day,
                outbox_id=message_id,
                created_by=created_by,
                created_at=clock.now(),
            )
        )
        tally["queued"] += 1
    if found:
        tally["after"] = found[-1].id
    return len(found) == limit


def _finish(
    session: Session, actor: Actor, occasion: str, day: date, targets: _Targets, tally: dict
) -> Queued:
    everyone = session.exec(targets.everyone).scalar_one()
    audit.record(
        session,
        actor=actor,
        action="care.queue",
        detail={"occasion": occasion, "on": day.isoformat(), "queued": tally["queued"]},
    )
    return Queued(
        queued=tally["queued"],
        left_out=max(0, everyone - tally["seen"]) + tally["refused"],
        already=tally["already"],
    )


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
    granted care greetings and has a mobile number, in the caller's transaction; a customer
    already greeted for that occasion and day is skipped. Holidays greet every consenting
    customer. The page queues the same work as a job instead (start_greetings)."""
    day = _checked_day(session, occasion, on, subject, body)
    targets = _targets(session, occasion, day)
    _count_targets(session, targets)
    tally = _tally({})
    more = True
    while more:
        more = _queue_chunk(
            session, targets, occasion=occasion, day=day, subject=subject, body=body,
            created_by=actor.user_id, tally=tally,
        )  # fmt: skip
    return _finish(session, actor, occasion, day, targets, tally)


# --- the same as a job (issue 15) ---------------------------------------------------------


def _text_context(part: str) -> str:
    return f"job.care.{part}"


@requires("campaign.manage")
def start_greetings(
    session: Session,
    *,
    actor: Actor,
    occasion: str,
    on: date | str,
    subject: str,
    body: str,
) -> int:
    """Check what queue_greetings checks, then queue the greetings as a job that works through
    them CHUNK customers per transaction -> the job's id. The text travels in the job's params
    encrypted under the system key."""
    day = _checked_day(session, occasion, on, subject, body)
    total = _count_targets(session, _targets(session, occasion, day))
    key_id, _ = datakeys.system_key(session)
    params = {
        "occasion": occasion,
        "on": day.isoformat(),
        "key_id": key_id,
        "subject": datakeys.encrypt(session, key_id, subject, context=_text_context("subject")),
        "body": datakeys.encrypt(session, key_id, body, context=_text_context("body")),
    }
    job_id = job_queue.enqueue(
        session, kind=JobKind.CARE_GREETINGS, params=params, created_by=actor.user_id, total=total
    )
    audit.record(
        session,
        actor=actor,
        action="care.queue_start",
        target_type="job",
        target_id=job_id,
        detail={"occasion": occasion, "on": day.isoformat(), "total": total},
    )
    return job_id


def run_greetings_job(ctx: job_queue.JobContext) -> None:
    """The job of start_greetings: one chunk per step, resumable from the checkpoint; the last
    step audits and finishes with the counts the page shows (Queued's)."""
    params = ctx.params
    occasion, day, key_id = params["occasion"], date.fromisoformat(params["on"]), params["key_id"]
    tally = _tally(ctx.state)
    while True:
        with ctx.step() as session:
            actor = job_queue.acting_for(session, ctx.created_by, "campaign.manage")
            if not consent.purpose_usable(session, PURPOSE):
                raise DomainError("care.error.purpose_unusable")
            text = {
                part: datakeys.decrypt(session, key_id, params[part], context=_text_context(part))
                for part in ("subject", "body")
            }
            targets = _targets(session, occasion, day)
            more = _queue_chunk(
                session, targets, occasion=occasion, day=day, created_by=ctx.created_by,
                tally=tally, **text,
            )  # fmt: skip
            ctx.progress(tally["seen"])
            if not more:
                done = _finish(session, actor, occasion, day, targets, tally)
                ctx.finish(asdict(done))
                return


@requires("campaign.manage", reads=True)
def greeting_job(session: Session, *, actor: Actor, job_id: int = 0) -> job_queue.JobView | None:
    """A greeting job's progress: the one asked for, else the newest one not finished yet."""
    if job_id:
        found = job_queue.get(session, job_id)
        return found if found is not None and found.kind == JobKind.CARE_GREETINGS else None
    return job_queue.latest(session, kind=JobKind.CARE_GREETINGS, unfinished=True)


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
