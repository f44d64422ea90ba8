"""服务/沟通记录 and 我的待跟进: what staff record after each service (002 CMP-03) — the kind of
contact, its content and outcome (001 DM-10) — and the follow-ups it leaves them.

Content and outcome are free text staff type about the customer: encrypted under the customer's
data key (SPEC §8), each with its own context. Like the profile's notes, they are shown decrypted to
whoever may read the customer; the follow-up list shows the first characters of the content to the
staff user the follow-up belongs to (they wrote it). Audit entries name the fields, never a value.

Follow-up dates are local calendar dates (SPEC §8 Time): due when on or before today in the
configured zone.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import func, select
from sqlmodel import Session

from custapp import clock
from custapp.models import Customer, ServiceLog
from custapp.models.service_log import SERVICE_KINDS
from custapp.security.permissions import CS_MANAGER
from custapp.services import audit, datakeys
from custapp.services.actor import Actor
from custapp.services.customer_input import parse_date
from custapp.services.customers import display_names, live_customer, survivor
from custapp.services.errors import DomainError, NotFound, PermissionDenied, ValidationFailed
from custapp.services.guard import requires
from custapp.services.paging import page_window

# Encryption contexts (AAD); a merge re-encrypts the moved entries with them.
CONTENT_CONTEXT = "service_log.content"
OUTCOME_CONTEXT = "service_log.outcome"
MAX_CONTENT, MAX_OUTCOME = 2000, 1000
MAX_FOLLOW_UP_DAYS = 366  # a yearly care call is the furthest a follow-up is planned
SUMMARY_LENGTH = 40
MAX_PAGE_SIZE = 100
_NO_LIMIT = date(9999, 12, 31)  # parse_date's upper bound; the follow-up range is checked here


@dataclass(frozen=True)
class EntryRow:
    id: int
    created_at: datetime
    staff_name: str
    kind: str  # SERVICE_KINDS; label i18n key service_log.kind.<kind>
    content: str  # decrypted ("" when the customer's data key is destroyed)
    outcome: str
    next_follow_up: date | None
    done_at: datetime | None
    due: str  # "" (no open follow-up) | upcoming | due (today) | overdue
    overdue_days: int  # days past the follow-up date (0 unless overdue)
    can_complete: bool  # an open follow-up the actor may complete


@dataclass(frozen=True)
class EntryPage:
    rows: list[EntryRow]
    total: int
    customer_id: int  # the customer listed: the survivor when a merged customer was asked for


@dataclass(frozen=True)
class FollowUpRow:
    id: int
    customer_id: int
    customer_number: str
    customer_name: str
    kind: str
    next_follow_up: date
    overdue_days: int  # today - next_follow_up: > 0 overdue, 0 due today, < 0 upcoming
    summary: str  # the first SUMMARY_LENGTH characters of the content, "…" when cut


# --- rules ------------------------------------------------------------------------------------


def _text(value: str | None, *, field: str, limit: int, errors: dict[str, str]) -> str:
    text = (value or "").strip()
    if len(text) > limit:
        errors[field] = f"service_log.error.{field}_too_long"
    return text


def _follow_up_date(value: str | date | None, errors: dict[str, str]) -> date | None:
    if value is None or value == "":
        return None
    if isinstance(value, datetime):  # a datetime is a date too: take the local calendar day
        value = clock.to_local(value).date()
    if isinstance(value, date):
        parsed = value
    else:
        parsed, error = parse_date(str(value), _NO_LIMIT)
        if error:
            errors["next_follow_up"] = "customer.error.date_format"
            return None
    today = clock.local_today()
    if parsed < today:
        errors["next_follow_up"] = "service_log.error.follow_up_past"
    elif parsed > today + timedelta(days=MAX_FOLLOW_UP_DAYS):
        errors["next_follow_up"] = "service_log.error.follow_up_far"
    return parsed


def _due(entry: ServiceLog, today: date) -> tuple[str, int]:
    if entry.next_follow_up is None or entry.follow_up_done_at is not None:
        return "", 0
    days = (today - entry.next_follow_up).days
    if days > 0:
        return "overdue", days
    return ("due" if days == 0 else "upcoming"), 0


def _may_complete(actor: Actor, entry: ServiceLog) -> bool:
    """The follow-up's own staff user; or a cs_manager of the entry's store (any store when the
    entry records none)."""
    if actor.user_id is not None and entry.user_id == actor.user_id:
        return True
    return CS_MANAGER in actor.roles and (
        entry.store_id is None or entry.store_id in actor.store_ids
    )


def _open(session: Session, key_id: int, token: str | None, context: str) -> str:
    try:
        return datakeys.decrypt(session, key_id, token, context=context)
    except DomainError:  # the customer's data key is destroyed: nothing left to show
        return ""


def _summary(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= SUMMARY_LENGTH else text[:SUMMARY_LENGTH] + "…"


# --- operations -------------------------------------------------------------------------------


@requires("service_log.write")
def add_entry(
    session: Session,
    *,
    actor: Actor,
    customer_id: int,
    kind: str,
    content: str,
    outcome: str = "",
    next_follow_up: str | date | None = None,
) -> int:
    """Record one contact with a live customer, by the actor at the actor's current store.
    Returns the entry's id."""
    errors: dict[str, str] = {}
    if kind not in SERVICE_KINDS:
        errors["kind"] = "customer.error.invalid_choice"
    content = _text(content, field="content", limit=MAX_CONTENT, errors=errors)
    if not content and "content" not in errors:
        errors["content"] = "service_log.error.content_required"
    outcome = _text(outcome, field="outcome", limit=MAX_OUTCOME, errors=errors)
    follow_up = _follow_up_date(next_follow_up, errors)
    if errors:
        raise ValidationFailed(errors)
    customer = live_customer(session, customer_id)
    key = customer.data_key_id
    entry = ServiceLog(
        customer_id=customer.id,
        kind=kind,
        content_enc=datakeys.encrypt(session, key, content, context=CONTENT_CONTEXT),
        outcome_enc=datakeys.encrypt(session, key, outcome, context=OUTCOME_CONTEXT),
        next_follow_up=follow_up,
        user_id=actor.user_id,
        store_id=actor.store_id,
        created_at=clock.now(),
    )
    session.add(entry)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="service_log.add",
        customer_id=customer.id,
        fields=[
            name
            for name, given in (
                ("content", True),
                ("outcome", bool(outcome)),
                ("next_follow_up", follow_up is not None),
            )
            if given
        ],
        detail={"entry_id": entry.id, "kind": kind},
    )
    return entry.id


@requires("customer.read", reads=True)
def list_entries(
    session: Session, *, actor: Actor, customer_id: int, page: int = 1, page_size: int = 20
) -> EntryPage:
    """One page of the customer's entries, newest first, decrypted (read as part of the profile,
    whose opening is audited); a merged customer's id lists the survivor, as the profile does."""
    window = page_window(page, page_size, max_size=MAX_PAGE_SIZE)
    customer, _ = survivor(session, customer_id)
    where = ServiceLog.customer_id == customer.id
    total = session.exec(select(func.count(ServiceLog.id)).where(where)).scalar_one()
    entries = list(
        session.exec(
            select(ServiceLog)
            .where(where)
            .order_by(ServiceLog.created_at.desc(), ServiceLog.id.desc())
            .offset(window.offset)
            .limit(window.limit)
        ).scalars()
    )
    names = display_names(session, [e.user_id for e in entries])
    today = clock.local_today()
    writer = actor.can("service_log.write")
    rows = []
    for e in entries:
        due, overdue_days = _due(e, today)
        rows.append(
            EntryRow(
                id=e.id,
                created_at=e.created_at,
                staff_name=names.get(e.user_id or 0, ""),
                kind=e.kind,
                content=_open(session, customer.data_key_id, e.content_enc, CONTENT_CONTEXT),
                outcome=_open(session, customer.data_key_id, e.outcome_enc, OUTCOME_CONTEXT),
                next_follow_up=e.next_follow_up,
                done_at=e.follow_up_done_at,
                due=due,
                overdue_days=overdue_days,
                can_complete=bool(due) and writer and _may_complete(actor, e),
            )
        )
    return EntryPage(rows, total, customer.id)


@requires("service_log.write")
def complete_follow_up(session: Session, *, actor: Actor, entry_id: int, outcome: str = "") -> None:
    """Mark an open follow-up done; a given outcome is appended to the entry's outcome (on a new
    line; the whole outcome stays within MAX_OUTCOME). Only the follow-up's own staff user or a
    cs_manager of its store may: anyone else gets PermissionDenied (audited)."""
    entry = session.exec(
        select(ServiceLog).where(ServiceLog.id == entry_id).with_for_update()
    ).scalar_one_or_none()
    if entry is None:
        raise NotFound("error.not_found")
    if not _may_complete(actor, entry):
        raise PermissionDenied(
            "service_log.error.not_own",
            action="service_log.complete_follow_up",
            permission="service_log.own_or_store_manager",
            actor=actor,
            target_type="service_log",
            target_id=entry.id,
            customer_id=entry.customer_id,
        )
    if entry.next_follow_up is None:
        raise DomainError("service_log.error.no_follow_up")
    if entry.follow_up_done_at is not None:
        raise DomainError("service_log.error.already_done")
    added = (outcome or "").strip()
    customer = live_customer(session, entry.customer_id)
    if added:
        key = customer.data_key_id
        old = datakeys.decrypt(session, key, entry.outcome_enc, context=OUTCOME_CONTEXT)
        combined = f"{old}\n{added}" if old else added
        if len(combined) > MAX_OUTCOME:
            raise ValidationFailed({"outcome": "service_log.error.outcome_too_long"})
        entry.outcome_enc = datakeys.encrypt(session, key, combined, context=OUTCOME_CONTEXT)
    entry.follow_up_done_at = clock.now()
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="service_log.complete",
        customer_id=entry.customer_id,
        fields=["outcome"] if added else None,
        detail={"entry_id": entry.id},
    )


@requires("service_log.write")
def my_follow_ups(
    session: Session,
    *,
    actor: Actor,
    page: int = 1,
    page_size: int = 20,
    include_upcoming_days: int = 0,
) -> tuple[list[FollowUpRow], int]:
    """The actor's open follow-ups due by today (local), plus the next `include_upcoming_days`
    days: the longest overdue first. Returns one page and the number in all (the menu badge).
    Reads the (user_id, follow_up_done_at, next_follow_up) index."""
    window = page_window(page, page_size, max_size=MAX_PAGE_SIZE)
    if actor.user_id is None:
        return [], 0
    today = clock.local_today()
    until = today + timedelta(days=max(0, min(include_upcoming_days, MAX_FOLLOW_UP_DAYS)))
    conditions = (
        ServiceLog.user_id == actor.user_id,
        ServiceLog.follow_up_done_at.is_(None),
        ServiceLog.next_follow_up.is_not(None),
        ServiceLog.next_follow_up <= until,
    )
    total = session.exec(select(func.count(ServiceLog.id)).where(*conditions)).scalar_one()
    found = session.exec(
        select(ServiceLog, Customer.number, Customer.name, Customer.data_key_id)
        .join(Customer, Customer.id == ServiceLog.customer_id)
        .where(*conditions)
        .order_by(ServiceLog.next_follow_up, ServiceLog.id)
        .offset(window.offset)
        .limit(window.limit)
    ).all()
    datakeys.preload(session, [key_id for *_, key_id in found])
    rows = [
        FollowUpRow(
            id=e.id,
            customer_id=e.customer_id,
            customer_number=number,
            customer_name=name,
            kind=e.kind,
            next_follow_up=e.next_follow_up,
            overdue_days=(today - e.next_follow_up).days,
            summary=_summary(_open(session, key_id, e.content_enc, CONTENT_CONTEXT)),
        )
        for e, number, name, key_id in found
    ]
    audit.record(
        session, actor=actor, action="service_log.follow_ups", detail={"page": window.number}
    )
    return rows, total
