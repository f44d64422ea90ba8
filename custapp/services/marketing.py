"""营销名单与营销活动 (issue 4, SPEC §4): the consenting part of a segment, and campaigns queued
through the outbox to it.

- A list is a segment of the archive (the customer list's own filters: grade, lifecycle, tag;
  merged customers never) and a purpose with a channel. It holds only the customers whose
  current consent covers the purpose (`consent.consenting`, the SQL twin of `consent.permits`)
  and who have a contact for the channel, and says how many were left out and why. Every
  left-out customer is counted once, for the first reason that applies: the purpose cannot be
  used, then their consent (refused, withdrawn, never asked), then no contact.
- A granted consent flagged "re-confirm needed" (a later notice changed the purposes) still
  counts: the purpose itself did not change, so the consent given for it stays valid; the list
  says how many such customers it holds.
- Counts and pages are SQL (one pass over the segment with conditional counts, a LIMITed page),
  and a campaign is queued in batches, one transaction each: a million customers are never
  loaded at once.
- Each campaign message goes through `outbox.queue_message`, which asks `consent.permits` again,
  and the outbox asks once more when it sends; a withdrawal cancels what is still queued.
- Marketing by phone has no outbox channel: its list is a call list, never a campaign.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import datetime

from sqlalchemy import and_, case, func, select
from sqlmodel import Session

from custapp import clock
from custapp.models import Campaign, ConsentState, Customer, Purpose, User
from custapp.services import (
    audit,
    consent,
    customer_fields,
    customer_search,
    datakeys,
    job_queue,
    outbox,
)
from custapp.services.actor import Actor
from custapp.services.customer_fields import GRADES, LIFECYCLES
from custapp.services.errors import DomainError, ValidationFailed
from custapp.services.guard import requires
from custapp.services.paging import Page, page_window
from custapp.vocab import ConsentStatus, ContactChannel, JobKind, JobStatus, MessageChannel

# the channel of a purpose -> the customer field that reaches it
CONTACT_FIELDS = {
    ContactChannel.SMS: "phone",
    ContactChannel.PHONE: "phone",
    ContactChannel.EMAIL: "email",
}
# the channel of a purpose -> the outbox channel that sends it (phone: a call list only)
SEND_CHANNELS = {ContactChannel.SMS: MessageChannel.SMS, ContactChannel.EMAIL: MessageChannel.EMAIL}
BATCH = 500
MAX_PAGE_SIZE = 100
SUBJECT_MAX = 100
BODY_MAX = 500
TAG_MAX = 30


@dataclass(frozen=True)
class Segment:
    """Which customers a list is drawn from ("" = any)."""

    grade: str = ""
    lifecycle: str = ""
    tag: str = ""

    def as_dict(self) -> dict[str, str]:
        """The filters in use (a campaign's record and the audit's: values of no customer)."""
        return {k: v for k, v in asdict(self).items() if v}

    def as_filter(self) -> customer_search.CustomerFilter:
        return customer_search.CustomerFilter(
            grade=self.grade, lifecycle=self.lifecycle, tag=self.tag, include_merged=False
        )


@dataclass(frozen=True)
class PurposeOption:
    code: str
    name: str
    channel: str  # sms | phone | email
    usable: bool  # enabled and named by the current notice
    sendable: bool  # the outbox can send it (phone: a call list only)


@dataclass(frozen=True)
class ListCounts:
    """How the segment splits: included, or left out for one reason: the purpose cannot be
    used, refused, withdrawn, never asked, or (consent given) no contact for the channel."""

    segment: int = 0
    included: int = 0
    reconfirm: int = 0  # of the included: granted before a notice change, not re-confirmed yet
    purpose_unusable: int = 0
    refused: int = 0
    withdrawn: int = 0
    not_asked: int = 0
    no_contact: int = 0

    @property
    def left_out(self) -> int:
        return self.segment - self.included

    def as_dict(self) -> dict[str, int]:
        return asdict(self)


@dataclass(frozen=True)
class ListRow:
    id: int
    number: str
    name: str
    contact_masked: str  # the phone or e-mail of the channel, masked
    grade: str  # effective: the override when there is one
    lifecycle: str


@dataclass(frozen=True)
class MarketingList:
    counts: ListCounts | None  # None: not counted (another page of a list already counted)
    rows: list[ListRow] = field(default_factory=list)


@dataclass(frozen=True)
class CampaignRow:
    id: int
    created_at: datetime
    purpose: str
    purpose_name: str
    segment: dict[str, str]
    subject: str
    queued: int
    left_out: int
    created_by: str


@dataclass(frozen=True)
class StartedCampaign:
    campaign_id: int
    job_id: int  # the job that queues its messages


@dataclass(frozen=True)
class CampaignResult:
    campaign_id: int
    queued: int
    left_out: int


# --- purposes and segments ------------------------------------------------------------------------


def _list_purposes(session: Session) -> list[Purpose]:
    """The purposes a list may be built for: consent-based, with a channel."""
    return [p for p in consent.purposes(session) if p.consent_based and p.channel in CONTACT_FIELDS]


@requires("campaign.manage", reads=True)
def list_purposes(
    session: Session, *, actor: Actor, locale: str | None = None
) -> list[PurposeOption]:
    """The purpose choices of the list builder, in the purposes' order."""
    return [
        PurposeOption(
            code=p.code,
            name=consent.purpose_name(p, locale),
            channel=p.channel,
            usable=consent.purpose_usable(session, p.code),
            sendable=p.channel in SEND_CHANNELS,
        )
        for p in _list_purposes(session)
    ]


def _purpose(session: Session, code: str) -> Purpose:
    found = next((p for p in _list_purposes(session) if p.code == code), None)
    if found is None:
        raise ValidationFailed({"purpose": "marketing.error.purpose"})
    return found


def _check_segment(segment: Segment) -> None:
    errors = {}
    if segment.grade not in ("", *GRADES):
        errors["grade"] = "marketing.error.grade"
    if segment.lifecycle not in ("", *LIFECYCLES):
        errors["lifecycle"] = "marketing.error.lifecycle"
    if len(segment.tag) > TAG_MAX:
        errors["tag"] = "marketing.error.tag"
    if errors:
        raise ValidationFailed(errors)


def _contact_column(purpose: Purpose):  # noqa: ANN202 (a Customer column)
    return getattr(Customer, customer_fields.FIELDS[CONTACT_FIELDS[purpose.channel]].column)


def _included(purpose: Purpose, segment: Segment) -> list:
    """The list's customers, as conditions on Customer: the segment, consent, a contact."""
    return [
        *customer_search.filter_conditions(segment.as_filter()),
        consent.consenting(purpose.code),
        # the ciphertext is there: no need to decrypt everybody to know
        _contact_column(purpose).is_not(None),
    ]


# --- counting ------------------------------------------------------------------------------------


def _count(session: Session, purpose: Purpose, segment: Segment) -> ListCounts:
    """The segment split by consent state and contact: one pass over the segment with
    conditional counts (no customer's data is read, and no sort as a GROUP BY would need)."""
    conditions = customer_search.filter_conditions(segment.as_filter())
    if not consent.purpose_usable(session, purpose.code):
        total = session.exec(
            select(func.count()).select_from(Customer).where(*conditions)
        ).scalar_one()
        return ListCounts(segment=total, purpose_unusable=total)
    state = ConsentState.state
    granted, contact = state == ConsentStatus.GRANTED, _contact_column(purpose).is_not(None)

    def counted(*when):  # noqa: ANN001, ANN202
        return func.count(case((and_(*when), 1)))

    found = session.exec(
        select(
            func.count(),
            counted(granted, contact),
            counted(granted, contact, ConsentState.reconfirm_needed.is_(True)),
            counted(granted, _contact_column(purpose).is_(None)),
            counted(state == ConsentStatus.REFUSED),
            counted(state == ConsentStatus.WITHDRAWN),
            counted(state.is_(None)),
        )
        .select_from(Customer)
        .outerjoin(
            ConsentState,
            and_(ConsentState.customer_id == Customer.id, ConsentState.purpose == purpose.code),
        )
        .where(*conditions)
    ).one()
    total, included, reconfirm, no_contact, refused, withdrawn, not_asked = found
    return ListCounts(
        segment=total,
        included=included,
        reconfirm=reconfirm,
        refused=refused,
        withdrawn=withdrawn,
        not_asked=not_asked,
        no_contact=no_contact,
    )


# --- the list --------------------------------------------------------------------------------------


def _page_rows(session: Session, purpose: Purpose, segment: Segment, window: Page) -> list[ListRow]:
    contact = _contact_column(purpose)
    found = session.exec(
        select(
            Customer.id,
            Customer.number,
            Customer.name,
            Customer.grade,
            Customer.grade_override,
            Customer.lifecycle,
            Customer.data_key_id,
            contact,
        )
        .select_from(Customer)
        .where(*_included(purpose, segment))
        .order_by(Customer.id)
        .offset(window.offset)
        .limit(window.limit)
    ).all()
    datakeys.preload(session, [r.data_key_id for r in found])  # one key-store query
    name = CONTACT_FIELDS[purpose.channel]
    rows = []
    for r in found:
        try:
            shown = customer_fields.masked(name, customer_fields.read(session, r, name))
        except DomainError:  # the data key is destroyed: nothing left to show
            shown = ""
        rows.append(
            ListRow(
                id=r.id,
                number=r.number,
                name=r.name,
                contact_masked=shown,
                grade=r.grade_override or r.grade,
                lifecycle=r.lifecycle,
            )
        )
    return rows


@requires("campaign.manage")
def build_list(
    session: Session,
    *,
    actor: Actor,
    segment: Segment,
    purpose: str,
    page: int = 1,
    page_size: int = 20,
    with_counts: bool = True,
) -> MarketingList:
    """The counts of the list and one page of its customers (masked contact). Paging through
    a list already counted, with_counts=False gives the page alone (counting a whole archive
    again takes seconds).
    Audited with the purpose, the filters, the page and the counts (no customer's data)."""
    chosen = _purpose(session, purpose)
    _check_segment(segment)
    window = page_window(page, page_size, max_size=MAX_PAGE_SIZE)
    counts = _count(session, chosen, segment) if with_counts else None
    empty = counts is not None and not counts.included
    rows = [] if empty else _page_rows(session, chosen, segment, window)
    detail = {"purpose": chosen.code, "segment": segment.as_dict(), "page": window.number}
    if counts is not None:
        detail["counts"] = counts.as_dict()
    audit.record(session, actor=actor, action="marketing.build_list", detail=detail)
    return MarketingList(counts=counts, rows=rows)


# --- campaigns --------------------------------------------------------------------------------------


def message_errors(subject: str, body: str) -> dict[str, str]:
    """What is wrong with a campaign's text, by field (empty: nothing)."""
    errors = {}
    subject, body = (subject or "").strip(), (body or "").strip()
    if not subject:
        errors["subject"] = "marketing.error.subject_required"
    elif len(subject) > SUBJECT_MAX:
        errors["subject"] = "marketing.error.subject_too_long"
    if not body:
        errors["body"] = "marketing.error.body_required"
    elif len(body) > BODY_MAX:
        errors["body"] = "marketing.error.body_too_long"
    return errors


@requires("campaign.manage")
def start_campaign(
    session: Session, *, actor: Actor, segment: Segment, purpose: str, subject: str, body: str
) -> StartedCampaign:
    """Record a campaign to the list and the job that queues its messages (issue 15: nothing
    is queued yet; a runner takes the job, or queue_campaign runs it at once)."""
    chosen = _purpose(session, purpose)
    _check_segment(segment)
    errors = message_errors(subject, body)
    if errors:
        raise ValidationFailed(errors)
    if chosen.channel not in SEND_CHANNELS:
        raise DomainError("marketing.error.call_list_only")
    counts = _count(session, chosen, segment)
    if counts.purpose_unusable:
        raise DomainError("consent.why.purpose_unusable")
    if not counts.included:
        raise DomainError("marketing.error.nobody")
    campaign = Campaign(
        purpose=chosen.code,
        segment=json.dumps(segment.as_dict(), ensure_ascii=False, sort_keys=True),
        subject=subject.strip(),
        body=body.strip(),
        left_out=counts.segment,  # nobody is queued yet
        created_by=actor.user_id,
        created_at=clock.now(),
    )
    session.add(campaign)
    session.flush()
    campaign.job_id = job_queue.enqueue(
        session,
        kind=JobKind.MARKETING_CAMPAIGN,
        params={"campaign_id": campaign.id},
        created_by=actor.user_id,
        total=counts.included,
    )
    audit.record(
        session,
        actor=actor,
        action="campaign.create",
        target_type="campaign",
        target_id=campaign.id,
        detail={"purpose": chosen.code, "segment": segment.as_dict(), "counts": counts.as_dict()},
    )
    return StartedCampaign(campaign.id, campaign.job_id)


def _queue_batch(
    session: Session, campaign_id: int, after_id: int, batch: int
) -> tuple[int, int, int]:
    """Queue the next `batch` customers of the list after `after_id` -> (last id, customers
    seen, queued); last id 0 when none were left."""
    campaign = session.get(Campaign, campaign_id)
    purpose = _purpose(session, campaign.purpose)
    segment = Segment(**json.loads(campaign.segment))
    contact = _contact_column(purpose)
    found = session.exec(
        select(Customer.id, Customer.data_key_id, contact)
        .select_from(Customer)
        .where(*_included(purpose, segment), Customer.id > after_id)
        .order_by(Customer.id)
        .limit(batch)
    ).all()
    if not found:
        return 0, 0, 0
    datakeys.preload(session, [r.data_key_id for r in found])  # one key-store query
    name = CONTACT_FIELDS[purpose.channel]
    queued = 0
    for r in found:
        try:
            outbox.queue_message(
                session,
                channel=SEND_CHANNELS[purpose.channel],
                purpose=purpose.code,
                subject=campaign.subject,
                body=campaign.body,
                recipient=customer_fields.read(session, r, name),
                customer_id=r.id,
                customer_key_id=r.data_key_id,
            )
        except DomainError:  # consent gone since, an address the channel cannot use, a shredded key
            continue
        queued += 1
    campaign.queued += queued
    campaign.left_out = max(0, campaign.left_out - queued)
    return found[-1].id, len(found), queued


def run_campaign_job(ctx: job_queue.JobContext, *, batch: int = BATCH) -> None:
    """The job of start_campaign: `batch` customers per step, each committed with the job's
    checkpoint (the last customer id), so a runner taking over continues after it and no
    customer gets the message twice; the last step audits and finishes with the counts."""
    campaign_id = ctx.params["campaign_id"]
    state = ctx.state
    state.setdefault("after", 0)
    state.setdefault("seen", 0)
    while True:
        with ctx.step() as session:
            actor = job_queue.acting_for(session, ctx.created_by, "campaign.manage")
            after_id, seen, _ = _queue_batch(session, campaign_id, state["after"], batch)
            state["seen"] += seen
            ctx.progress(state["seen"])
            if after_id:
                state["after"] = after_id
                continue
            campaign = session.get(Campaign, campaign_id)
            audit.record(
                session,
                actor=actor,
                action="campaign.queue",
                target_type="campaign",
                target_id=campaign_id,
                detail={
                    "purpose": campaign.purpose,
                    "queued": campaign.queued,
                    "left_out": campaign.left_out,
                },
            )
            ctx.finish(
                {
                    "campaign_id": campaign_id,
                    "queued": campaign.queued,
                    "left_out": campaign.left_out,
                }
            )
            return


def queue_campaign(
    session_factory: Callable,
    *,
    actor: Actor,
    segment: Segment,
    purpose: str,
    subject: str,
    body: str,
    batch: int = BATCH,
) -> CampaignResult:
    """Create a campaign and queue one message per customer of the list, `batch` per
    transaction, here and now (session_factory: db.session_scope): start_campaign, then its
    job run at once. The permission is checked first, by start_campaign; every message is
    checked for consent again by the outbox."""
    with session_factory() as session:
        started = start_campaign(
            session, actor=actor, segment=segment, purpose=purpose, subject=subject, body=body
        )
    done = job_queue.run_now(
        started.job_id,
        functools.partial(run_campaign_job, batch=batch),
        owner=f"queue_campaign:{actor.name}"[:100],
        session_factory=session_factory,
    )
    if done is None or done.status != JobStatus.DONE:
        raise DomainError(job_queue.FAILED_KEY)
    return CampaignResult(started.campaign_id, done.result["queued"], done.result["left_out"])


@requires("campaign.manage", reads=True)
def campaign_job(session: Session, *, actor: Actor, job_id: int = 0) -> job_queue.JobView | None:
    """A campaign job's progress: the one asked for, else the newest one not finished yet."""
    if job_id:
        found = job_queue.get(session, job_id)
        return found if found is not None and found.kind == JobKind.MARKETING_CAMPAIGN else None
    return job_queue.latest(session, kind=JobKind.MARKETING_CAMPAIGN, unfinished=True)


@requires("campaign.manage", reads=True)
def list_campaigns(
    session: Session,
    *,
    actor: Actor,
    page: int = 1,
    page_size: int = 20,
    locale: str | None = None,
) -> tuple[list[CampaignRow], int]:
    """One page of the campaigns, newest first, and how many there are."""
    window = page_window(page, page_size, max_size=MAX_PAGE_SIZE)
    total = session.exec(select(func.count()).select_from(Campaign)).scalar_one()
    found = session.exec(
        select(Campaign, User.display_name)
        .outerjoin(User, User.id == Campaign.created_by)
        .order_by(Campaign.created_at.desc(), Campaign.id.desc())
        .offset(window.offset)
        .limit(window.limit)
    ).all()
    names = {p.code: consent.purpose_name(p, locale) for p in consent.purposes(session)}
    return [
        CampaignRow(
            id=c.id,
            created_at=c.created_at,
            purpose=c.purpose,
            purpose_name=names.get(c.purpose, c.purpose),
            segment=json.loads(c.segment),
            subject=c.subject,
            queued=c.queued,
            left_out=c.left_out,
            created_by=creator or "",
        )
        for c, creator in found
    ], total
