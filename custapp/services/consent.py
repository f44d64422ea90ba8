"""告知同意: notices served, the append-only consent ledger, its current state, and the one
enforcement function every purpose-bound use asks (SPEC §4, 000 CN-01..08, 002 CON-01..08).

- A consent event is appended, never changed (database triggers refuse UPDATE and DELETE). The
  current state of a customer and purpose is the replay of their events (`replay`), kept in
  consent_states in the same transaction as each event.
- `permits` is the only answer to "may we use this customer's data for this purpose?": the
  outbox (queue and send), marketing lists, care greetings, analytics and provision all ask it
  (or its SQL twin `consenting`, for lists).
- A withdrawal or refusal cancels the customer's queued messages for that purpose at once.
- Publishing a notice version whose purposes differ from the previous one flags the customers
  who had granted a purpose as "re-confirm needed"; `notify_reconfirm` queues the notice of the
  change to them (in batches, from the daily job and right after publishing).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select, update
from sqlmodel import Session

from custapp import clock
from custapp.i18n import t
from custapp.models import (
    Attachment,
    ConsentEvent,
    ConsentState,
    Customer,
    NoticeServing,
    PrivacyNotice,
    Purpose,
)
from custapp.services import audit, outbox
from custapp.services.actor import Actor

# The one enforcement function and what it rests on live below the outbox, which asks it
# (consent_rules.py); they stay part of this module's interface (consent.permits, ...).
from custapp.services.consent_rules import SYSTEM_PURPOSES as SYSTEM_PURPOSES
from custapp.services.consent_rules import consenting as consenting
from custapp.services.consent_rules import current_notice, notice_purposes
from custapp.services.consent_rules import permits as permits
from custapp.services.consent_rules import purpose_usable as purpose_usable
from custapp.services.consent_rules import why_not as why_not
from custapp.services.errors import DomainError, NotFound, ValidationFailed
from custapp.services.guard import requires
from custapp.services.paging import page_window
from custapp.vocab import (
    ConsentAction,
    ConsentChannel,
    ConsentStatus,
    MessageChannel,
    NoticeStatus,
    PurposeCode,
)

ACTIONS = tuple(ConsentAction)
STATES = {
    ConsentAction.GRANT: ConsentStatus.GRANTED,
    ConsentAction.REFUSE: ConsentStatus.REFUSED,
    ConsentAction.WITHDRAW: ConsentStatus.WITHDRAWN,
}
# where the customer made the choice; merge and request are the system's own records
CHANNELS = (ConsentChannel.COUNTER, ConsentChannel.PORTAL, ConsentChannel.PHONE)
EVIDENCE_MAX = 60
# The more restrictive state wins a merge (SPEC §4 via issue 4).
RESTRICTIVENESS = {ConsentStatus.WITHDRAWN: 2, ConsentStatus.REFUSED: 1, ConsentStatus.GRANTED: 0}


# --- notices and purposes ----------------------------------------------------------------------


def purposes(session: Session) -> list[Purpose]:
    return list(session.exec(select(Purpose).order_by(Purpose.sort_order, Purpose.code)).scalars())


def purpose_name(purpose: Purpose, locale: str | None = None) -> str:
    return purpose.name_en if (locale or "").startswith("en") else purpose.name_zh


def choosable_purposes(session: Session) -> list[Purpose]:
    """What the customer is asked about, in the notice's order: the current notice's purposes
    that rest on consent and are enabled (service rests on the contract: nothing to choose)."""
    notice = current_notice(session)
    by_code = {p.code: p for p in purposes(session)}
    chosen = [by_code[c] for c in notice_purposes(notice) if c in by_code]
    return [p for p in chosen if p.consent_based and p.enabled]


# --- the ledger ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Replayed:
    state: str
    notice_version: int | None
    event_id: int


def replay(events: Iterable[ConsentEvent]) -> dict[str, Replayed]:
    """The current state per purpose: the latest event of each (by id) decides."""
    current: dict[str, Replayed] = {}
    for event in sorted(events, key=lambda e: e.id):
        current[event.purpose] = Replayed(STATES[event.action], event.notice_version, event.id)
    return current


def _append(
    session: Session,
    *,
    actor: Actor,
    customer_id: int,
    purpose: str,
    action: str,
    channel: str,
    notice_version: int | None,
    serving_id: int | None = None,
    evidence_ref: str | None = None,
    attachment_id: int | None = None,
    note: str | None = None,
) -> ConsentEvent:
    """One event, its state, and (refuse / withdraw) the queued messages cancelled."""
    now = clock.now()
    event = ConsentEvent(
        customer_id=customer_id,
        purpose=purpose,
        action=action,
        notice_version=notice_version,
        serving_id=serving_id,
        channel=channel,
        evidence_ref=evidence_ref,
        attachment_id=attachment_id,
        operator_id=actor.user_id,
        operator_name=actor.name[:60],
        note=note,
        created_at=now,
    )
    session.add(event)
    session.flush()
    state = session.get(ConsentState, (customer_id, purpose))
    if state is None:
        state = ConsentState(
            customer_id=customer_id, purpose=purpose, state="", last_event_id=event.id,
            updated_at=now,
        )  # fmt: skip
        session.add(state)
    state.state = STATES[action]
    state.notice_version = notice_version
    state.last_event_id = event.id
    state.updated_at = now
    state.reconfirm_needed = state.reconfirm_notified = False  # a fresh answer is a confirmation
    if action != ConsentAction.GRANT:
        outbox.cancel_for_purpose(session, customer_id=customer_id, purpose=purpose)
    session.flush()
    return event


def _live_customer(session: Session, customer_id: int) -> Customer:
    customer = session.get(Customer, customer_id)
    if customer is None or customer.merged_into_id is not None:
        raise NotFound("customer.error.not_found")
    return customer


def _check_evidence(
    session: Session, customer_id: int, channel: str, evidence_ref: str, attachment_id: int | None
) -> dict[str, str]:
    errors: dict[str, str] = {}
    if channel not in CHANNELS:
        errors["channel"] = "consent.error.channel"
    if len(evidence_ref) > EVIDENCE_MAX:
        errors["evidence_ref"] = "consent.error.evidence_too_long"
    if attachment_id is not None:
        attachment = session.get(Attachment, attachment_id)
        if attachment is None or attachment.customer_id != customer_id:
            errors["evidence_ref"] = "consent.error.evidence_unknown"
    # written evidence at the counter (000 CN-03): the signed form's number or its scan
    if channel == ConsentChannel.COUNTER and not evidence_ref and attachment_id is None:
        errors["evidence_ref"] = "consent.error.evidence_required"
    return errors


def _record(
    session: Session,
    *,
    actor: Actor,
    customer_id: int,
    choices: dict[str, str],
    channel: str,
    evidence_ref: str = "",
    attachment_id: int | None = None,
) -> NoticeServing:
    _live_customer(session, customer_id)
    notice = current_notice(session)
    if notice is None:
        raise DomainError("consent.error.no_notice")
    evidence_ref = (evidence_ref or "").strip()
    errors = _check_evidence(session, customer_id, channel, evidence_ref, attachment_id)
    allowed = {p.code for p in choosable_purposes(session)}
    for purpose, action in choices.items():
        if purpose not in allowed:
            errors[f"purpose.{purpose}"] = "consent.error.purpose_not_offered"
        elif action not in (ConsentAction.GRANT, ConsentAction.REFUSE):
            errors[f"purpose.{purpose}"] = "consent.error.choice"
    if errors:
        raise ValidationFailed(errors)
    serving = NoticeServing(
        customer_id=customer_id,
        notice_version=notice.version,
        channel=channel,
        evidence_ref=evidence_ref or None,
        attachment_id=attachment_id,
        operator_id=actor.user_id,
        served_at=clock.now(),
    )
    session.add(serving)
    session.flush()
    for purpose, action in sorted(choices.items()):
        _append(
            session, actor=actor, customer_id=customer_id, purpose=purpose, action=action,
            channel=channel, notice_version=notice.version, serving_id=serving.id,
            evidence_ref=evidence_ref or None, attachment_id=attachment_id,
        )  # fmt: skip
    audit.record(
        session,
        actor=actor,
        action="consent.record",
        customer_id=customer_id,
        detail={
            "notice_version": notice.version,
            "channel": channel,
            "granted": sorted(p for p, a in choices.items() if a == ConsentAction.GRANT),
            "refused": sorted(p for p, a in choices.items() if a == ConsentAction.REFUSE),
        },
    )
    return serving


@requires("consent.record")
def record_consents(
    session: Session,
    *,
    actor: Actor,
    customer_id: int,
    choices: dict[str, str],
    channel: str = ConsentChannel.COUNTER,
    evidence_ref: str = "",
    attachment_id: int | None = None,
) -> NoticeServing:
    """The current notice was shown; the customer granted or refused each purpose in `choices`
    ({purpose code: "grant" | "refuse"}; a purpose left out was not answered and records nothing).
    At the counter written evidence is required: a paper form number or an uploaded scan."""
    return _record(
        session, actor=actor, customer_id=customer_id, choices=choices, channel=channel,
        evidence_ref=evidence_ref, attachment_id=attachment_id,
    )  # fmt: skip


@requires("member.self")
def member_record_consents(session: Session, *, actor: Actor, choices: dict[str, str]) -> None:
    """A member answers in the portal, for their own archive only."""
    if actor.customer_id is None:
        raise NotFound("customer.error.not_found")
    _record(
        session,
        actor=actor,
        customer_id=actor.customer_id,
        choices=choices,
        channel=ConsentChannel.PORTAL,
    )


def _withdraw(
    session: Session, *, actor: Actor, customer_id: int, purpose: str, channel: str,
    evidence_ref: str, note: str | None = None,
) -> ConsentEvent:  # fmt: skip
    _live_customer(session, customer_id)
    state = session.get(ConsentState, (customer_id, purpose))
    if state is None or state.state != ConsentStatus.GRANTED:
        raise ValidationFailed({"purpose": "consent.error.not_granted"})
    if channel not in (*CHANNELS, ConsentChannel.REQUEST):
        raise ValidationFailed({"channel": "consent.error.channel"})
    if len(evidence_ref) > EVIDENCE_MAX:
        raise ValidationFailed({"evidence_ref": "consent.error.evidence_too_long"})
    notice = current_notice(session)
    event = _append(
        session, actor=actor, customer_id=customer_id, purpose=purpose,
        action=ConsentAction.WITHDRAW,
        channel=channel, notice_version=notice.version if notice else None,
        evidence_ref=evidence_ref or None, note=note,
    )  # fmt: skip
    audit.record(
        session,
        actor=actor,
        action="consent.withdraw",
        customer_id=customer_id,
        detail={"purpose": purpose, "channel": channel},
    )
    return event


@requires("consent.record")
def withdraw_consent(
    session: Session,
    *,
    actor: Actor,
    customer_id: int,
    purpose: str,
    channel: str = ConsentChannel.COUNTER,
    evidence_ref: str = "",
    note: str | None = None,
) -> ConsentEvent:
    """Withdraw a granted purpose (no evidence needed: withdrawing must be as easy as granting).
    Queued messages for the purpose are cancelled in the same transaction."""
    return _withdraw(
        session, actor=actor, customer_id=customer_id, purpose=purpose, channel=channel,
        evidence_ref=(evidence_ref or "").strip(), note=note,
    )  # fmt: skip


@requires("member.self")
def member_withdraw_consent(session: Session, *, actor: Actor, purpose: str) -> ConsentEvent:
    if actor.customer_id is None:
        raise NotFound("customer.error.not_found")
    return _withdraw(
        session, actor=actor, customer_id=actor.customer_id, purpose=purpose,
        channel=ConsentChannel.PORTAL,
        evidence_ref="",
    )  # fmt: skip


def granted_purposes(session: Session, customer_id: int) -> list[str]:
    """The purposes the customer's consent currently covers (granted), by code."""
    return list(
        session.exec(
            select(ConsentState.purpose)
            .where(
                ConsentState.customer_id == customer_id,
                ConsentState.state == ConsentStatus.GRANTED,
            )
            .order_by(ConsentState.purpose)
        ).scalars()
    )


def withdraw_by_request(
    session: Session, *, actor: Actor, customer_id: int, purposes: list[str] | None, note: str
) -> list[str]:
    """A withdrawal rights request closed as done: each purpose withdrawn (None: every granted
    one), channel "request", the request number as the note. The caller checked its own
    permission (rights.manage). -> the purposes withdrawn."""
    chosen = granted_purposes(session, customer_id) if purposes is None else sorted(set(purposes))
    for purpose in chosen:
        _withdraw(
            session, actor=actor, customer_id=customer_id, purpose=purpose,
            channel=ConsentChannel.REQUEST,
            evidence_ref="", note=note,
        )  # fmt: skip
    return chosen


# --- reading -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class StateRow:
    purpose: str
    purpose_name: str
    state: str  # granted | refused | withdrawn | "" (not asked)
    notice_version: int | None
    updated_at: datetime | None
    reconfirm_needed: bool


@dataclass(frozen=True)
class EventRow:
    id: int
    purpose: str
    purpose_name: str
    action: str
    notice_version: int | None
    channel: str
    evidence_ref: str
    has_attachment: bool
    operator_name: str
    note: str
    created_at: datetime


@dataclass(frozen=True)
class ChoiceText:
    code: str
    name_zh: str
    name_en: str
    description_zh: str
    description_en: str


@dataclass(frozen=True)
class NoticeText:
    """What the counter shows before asking: the current notice in both languages and the
    purposes the customer chooses on (the notice is public text: no permission needed)."""

    version: int
    handler_zh: str
    handler_en: str
    body_zh: str
    body_en: str
    choices: list[ChoiceText]


def notice_text(session: Session) -> NoticeText | None:
    notice = current_notice(session)
    if notice is None:
        return None
    return NoticeText(
        version=notice.version,
        handler_zh=notice.handler_zh,
        handler_en=notice.handler_en,
        body_zh=notice.body_zh,
        body_en=notice.body_en,
        choices=[
            ChoiceText(p.code, p.name_zh, p.name_en, p.description_zh, p.description_en)
            for p in choosable_purposes(session)
        ],
    )


@requires("customer.read", reads=True)
def consent_states(
    session: Session, *, actor: Actor, customer_id: int, locale: str | None = None
) -> list[StateRow]:
    """Every consent-based purpose of the current notice, with the customer's state (or none)."""
    _live_customer(session, customer_id)
    return _states(session, customer_id, locale)


def _states(session: Session, customer_id: int, locale: str | None) -> list[StateRow]:
    stored = {
        s.purpose: s
        for s in session.exec(
            select(ConsentState).where(ConsentState.customer_id == customer_id)
        ).scalars()
    }
    rows = []
    shown = {p.code for p in choosable_purposes(session)}
    for purpose in purposes(session):
        state = stored.get(purpose.code)
        if purpose.code not in shown and state is None:
            continue
        rows.append(
            StateRow(
                purpose=purpose.code,
                purpose_name=purpose_name(purpose, locale),
                state=state.state if state else "",
                notice_version=state.notice_version if state else None,
                updated_at=state.updated_at if state else None,
                reconfirm_needed=bool(state and state.reconfirm_needed),
            )
        )
    return rows


@requires("member.self", reads=True)
def member_consent_states(
    session: Session, *, actor: Actor, locale: str | None = None
) -> list[StateRow]:
    if actor.customer_id is None:
        raise NotFound("customer.error.not_found")
    return _states(session, actor.customer_id, locale)


@requires("customer.read", reads=True)
def consent_events(
    session: Session,
    *,
    actor: Actor,
    customer_id: int,
    page: int = 1,
    page_size: int = 20,
    locale: str | None = None,
) -> tuple[list[EventRow], int]:
    """The customer's consent events, newest first, one page, and how many there are."""
    window = page_window(page, page_size)
    _live_customer(session, customer_id)
    names = {p.code: purpose_name(p, locale) for p in purposes(session)}
    where = ConsentEvent.customer_id == customer_id
    total = session.exec(select(func.count()).select_from(ConsentEvent).where(where)).scalar_one()
    found = session.exec(
        select(ConsentEvent)
        .where(where)
        .order_by(ConsentEvent.id.desc())
        .offset(window.offset)
        .limit(window.limit)
    ).scalars()
    rows = [
        EventRow(
            id=e.id,
            purpose=e.purpose,
            purpose_name=names.get(e.purpose, e.purpose),
            action=e.action,
            notice_version=e.notice_version,
            channel=e.channel,
            evidence_ref=e.evidence_ref or "",
            has_attachment=e.attachment_id is not None,
            operator_name=e.operator_name,
            note=e.note or "",
            created_at=e.created_at,
        )
        for e in found
    ]
    return rows, total


# --- notice changes --------------------------------------------------------------------------------


def _lock_current_notice(session: Session) -> PrivacyNotice | None:
    """The current notice, its row locked until commit: publishing and queueing the change
    notices take turns, so nobody is told twice or missed (PostgreSQL; SQLite's writers already
    queue at BEGIN IMMEDIATE)."""
    return session.exec(
        select(PrivacyNotice)
        .where(PrivacyNotice.status == NoticeStatus.PUBLISHED)
        .order_by(PrivacyNotice.version.desc())
        .limit(1)
        .with_for_update()
    ).scalar_one_or_none()


def _reconfirm_targets() -> tuple:
    """The states a change of purposes flags: granted ones of customers not merged away (a
    merged customer's states stay behind its redirect; the survivor carries them)."""
    merged = select(Customer.id).where(Customer.merged_into_id.is_not(None))
    return ConsentState.state == ConsentStatus.GRANTED, ConsentState.customer_id.not_in(merged)


def customers_to_reconfirm(session: Session) -> int:
    """How many customers a notice version with different purposes flags "re-confirm needed"."""
    return session.exec(
        select(func.count(func.distinct(ConsentState.customer_id))).where(*_reconfirm_targets())
    ).scalar_one()


@requires("consent.manage")
def publish_notice(session: Session, *, actor: Actor, notice_id: int) -> int:
    """Publish a draft as the next version; -> how many customers were flagged "re-confirm
    needed" (those with a granted purpose, when the purposes differ from the version before)."""
    draft = session.get(PrivacyNotice, notice_id)
    if draft is None:
        raise NotFound("notice.error.not_found")
    if draft.status != NoticeStatus.DRAFT:
        raise DomainError("notice.error.not_draft")
    previous = _lock_current_notice(session)
    if previous is not None and draft.version < previous.version:  # an older draft: goes on top
        draft.version = session.exec(select(func.max(PrivacyNotice.version))).scalar_one() + 1
    draft.status, draft.published_at, draft.published_by = (
        NoticeStatus.PUBLISHED,
        clock.now(),
        actor.user_id,
    )
    changed = previous is None or set(notice_purposes(previous)) != set(notice_purposes(draft))
    flagged = 0
    if changed and previous is not None:
        flagged = customers_to_reconfirm(session)
        session.exec(
            update(ConsentState)
            .where(*_reconfirm_targets())
            .values(reconfirm_needed=True, reconfirm_notified=False)
        )
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="notice.publish",
        target_type="privacy_notice",
        target_id=draft.version,
        detail={"purposes_changed": changed, "flagged_customers": flagged},
    )
    return flagged


RECONFIRM_BATCH = 500


def notify_reconfirm(session_factory: Callable, *, batch: int = RECONFIRM_BATCH) -> dict:
    """Queue the notice of a changed privacy notice to each flagged customer not yet told, one
    batch per transaction (service purpose: the law requires telling them, CON-08)."""
    queued = skipped = 0
    while True:
        with session_factory() as session:
            notice = _lock_current_notice(session)  # before the batch is chosen
            ids = list(
                session.exec(
                    select(ConsentState.customer_id)
                    .where(ConsentState.reconfirm_needed, ~ConsentState.reconfirm_notified)
                    .distinct()
                    .order_by(ConsentState.customer_id)
                    .limit(batch)
                ).scalars()
            )
            if not ids:
                break
            for customer_id in ids:
                if _queue_change_notice(session, customer_id, notice):
                    queued += 1
                else:
                    skipped += 1
            session.exec(
                update(ConsentState)
                .where(ConsentState.customer_id.in_(ids), ConsentState.reconfirm_needed)
                .values(reconfirm_notified=True)
            )
    return {"queued": queued, "no_phone": skipped}


def _queue_change_notice(session: Session, customer_id: int, notice: PrivacyNotice | None) -> bool:
    from custapp.services import customer_fields

    customer = session.get(Customer, customer_id)
    if customer is None or customer.merged_into_id is not None:
        return False
    phone = customer_fields.read(session, customer, "phone")
    if not phone:
        return False
    version = notice.version if notice else 0
    outbox.queue_message(
        session,
        channel=MessageChannel.SMS,
        purpose=PurposeCode.SERVICE,
        customer_id=customer_id,
        customer_key_id=customer.data_key_id,
        recipient=phone,
        subject=t("notice.change_subject", locale="zh_CN"),
        body=t("notice.change_body", locale="zh_CN", version=version),
    )
    return True


# --- merge ---------------------------------------------------------------------------------------


def merge_states(session: Session, *, actor: Actor, survivor_id: int, merged_id: int, note: str):
    """The merged customer's consents carried to the survivor as new events (the ledger is
    append-only, so nothing moves): where both have a state, the more restrictive wins; where
    only the merged customer has one, it is carried over. -> how many events were appended."""
    mine = {
        s.purpose: s
        for s in session.exec(
            select(ConsentState).where(ConsentState.customer_id == survivor_id)
        ).scalars()
    }
    theirs = session.exec(
        select(ConsentState).where(ConsentState.customer_id == merged_id)
    ).scalars()
    actions = {v: k for k, v in STATES.items()}
    appended = 0
    for state in theirs.all():
        own = mine.get(state.purpose)
        if own is not None and RESTRICTIVENESS[own.state] >= RESTRICTIVENESS[state.state]:
            continue
        _append(
            session, actor=actor, customer_id=survivor_id, purpose=state.purpose,
            action=actions[state.state], channel=ConsentChannel.MERGE,
            notice_version=state.notice_version,
            note=note,
        )  # fmt: skip
        appended += 1
    return appended
