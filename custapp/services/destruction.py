"""销毁 (issue 16, DS; 001 RT-04..RT-07, AU-06): the destruction queue, its two people, legal
holds, and the runs that execute approved candidates. What a destruction does to the data is in
destruction_apply.py; the lists the page shows are in destruction_views.py.

- A candidate comes from a retention rule (the daily scan, a system actor), a deletion rights
  request (ER) or compliance by hand. Whoever proposed it, the person who appraises it (鉴定,
  `destruction.appraise`: compliance) counts as its proposer; a different person approves it
  (`destruction.approve`: compliance or cs_manager), never the appraiser.
- What blocks it (a legal hold, an open complaint or rights request, a stored-value balance,
  unexpired points, an open clawback, an active card, a pending approval) is checked when it is
  proposed, appraised, approved and run; a blocked candidate stays where it was with the reasons
  (i18n keys) in `blocked_reason`.
- Approving executes at once, unless the candidate answers a deletion request whose completion
  notice is still on its way (rights.deletion_notice_ready): then it waits as 'approved' and
  run_approved (the job, the bench) takes it up later. approve_many queues a job.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select
from sqlmodel import Session

from custapp import clock
from custapp.models import (
    Customer,
    DestructionCandidate,
    DestructionSequence,
    LegalHold,
    RightsRequest,
)
from custapp.models.destruction import OPEN_STATUSES
from custapp.security.validators import REASON_PERSONAL, holds_personal_number
from custapp.services import audit, job_queue
from custapp.services.actor import Actor
from custapp.services.customer_input import is_row_id
from custapp.services.customers import next_in_sequence
from custapp.services.destruction_reapply import reapply
from custapp.services.destruction_run import (
    blocked,
    blockers,
    run_approved,
    run_candidates,
    run_daily,
    run_job,
)
from custapp.services.destruction_scrub import shred_leftovers
from custapp.services.errors import DomainError, NotFound, ValidationFailed
from custapp.services.guard import requires
from custapp.vocab import (
    DestructionCategory,
    DestructionReason,
    DestructionScope,
    DestructionStatus,
    JobKind,
)

# the lifecycle interface (lifecycle.md) names these here, beside the queue's own operations
__all__ = [
    "appraise",
    "approve",
    "approve_many",
    "blockers",
    "propose",
    "propose_manual",
    "reapply",
    "reject",
    "release_hold",
    "run_approved",
    "run_daily",
    "run_job",
    "shred_leftovers",
    "set_hold",
]

MAX_NOTE = 500
MAX_HOLD_REASON = 200
MAX_BATCH = 500  # candidates one approve_many may take
SCOPES = tuple(DestructionScope)
CATEGORIES = tuple(DestructionCategory)
REASONS = tuple(DestructionReason)
DECISIONS = ("destroy", "keep")  # 鉴定: no retention value left / still worth keeping


@dataclass(frozen=True)
class Outcome:
    """Where a candidate stands after a decision: its status, and what blocked it (i18n keys)."""

    candidate_id: int
    number: str
    status: str
    blockers: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class ManyOutcome:
    job_id: int | None
    approved: list[str]  # candidate numbers queued for the run
    refused: list[tuple[str, str]]  # (candidate number, i18n key of why)


# --- proposing ----------------------------------------------------------------------------------


def _number(session: Session, now: datetime) -> str:
    """XH<local yyyymmdd><4 digits>; past 9,999 in a day the sequence simply grows a digit."""
    day = clock.to_local(now).date()
    key = day.year * 10_000 + day.month * 100 + day.day
    return f"XH{key}{next_in_sequence(session, DestructionSequence.__table__, 'day', key):04d}"


def _check_note(note: object, *, required: bool = False, name: str = "note") -> str:
    text = note.strip() if isinstance(note, str) else ""
    if required and len(text) < 2:
        raise ValidationFailed({name: "destruction.error.note_required"})
    if len(text) > MAX_NOTE:
        raise ValidationFailed({name: "destruction.error.note_too_long"})
    if holds_personal_number(text):
        raise ValidationFailed({name: REASON_PERSONAL})
    return text


def _open_candidate(
    session: Session, customer_id: int, scope: str, category: str
) -> DestructionCandidate | None:
    return session.exec(
        select(DestructionCandidate).where(
            DestructionCandidate.customer_id == customer_id,
            DestructionCandidate.scope == scope,
            DestructionCandidate.category == category,
            DestructionCandidate.status.in_(OPEN_STATUSES),
        )
    ).scalar_one_or_none()


def _checked_proposal(
    session: Session,
    customer_id: object,
    reason_kind: object,
    rule_category: object,
    rights_request_id: object,
    scope: object,
    category: object,
) -> Customer:
    errors: dict[str, str] = {}
    if reason_kind not in REASONS:
        errors["reason_kind"] = "destruction.error.reason_kind"
    if scope not in SCOPES:
        errors["scope"] = "destruction.error.scope"
    elif (scope == DestructionScope.CATEGORY) != (category in CATEGORIES):
        errors["category"] = "destruction.error.category"
    if reason_kind == DestructionReason.RULE and not (
        isinstance(rule_category, str) and 0 < len(rule_category) <= 30
    ):
        errors["rule_category"] = "destruction.error.rule_required"
    if errors:
        raise ValidationFailed(errors)
    customer = session.get(Customer, customer_id) if is_row_id(customer_id) else None
    if customer is None:
        raise NotFound("destruction.error.customer_not_found")
    if customer.destroyed_at is not None:
        raise DomainError("destruction.error.already_destroyed")
    if reason_kind == DestructionReason.REQUEST:
        request = (
            session.get(RightsRequest, rights_request_id) if is_row_id(rights_request_id) else None
        )
        if request is None or request.customer_id != customer.id:
            raise ValidationFailed({"rights_request_id": "destruction.error.request"})
    return customer


@requires("destruction.appraise")
def propose(
    session: Session,
    *,
    actor: Actor,
    customer_id: int,
    reason_kind: str,
    rule_category: str | None = None,
    rights_request_id: int | None = None,
    scope: str = DestructionScope.CUSTOMER,
    category: str | None = None,
    note: str = "",
) -> int:
    """Put a customer (or one category of it) into the queue -> the candidate's id; the open
    candidate already there for the same customer, scope and category is returned as it is."""
    customer = _checked_proposal(
        session, customer_id, reason_kind, rule_category, rights_request_id, scope, category
    )
    note = _check_note(note)
    category = category if scope == DestructionScope.CATEGORY else ""
    existing = _open_candidate(session, customer.id, scope, category)
    if existing is not None:
        return existing.id
    now = clock.now()
    candidate = DestructionCandidate(
        number=_number(session, now),
        customer_id=customer.id,
        scope=scope,
        category=category,
        reason_kind=reason_kind,
        rule_category=rule_category if reason_kind == DestructionReason.RULE else None,
        rights_request_id=rights_request_id if reason_kind == DestructionReason.REQUEST else None,
        note=note,
        proposed_by=actor.user_id,
        created_at=now,
        appraisal_note="",
    )
    blocked(session, candidate)
    session.add(candidate)
    session.flush()
    _audit(session, actor, "destruction.propose", candidate, reason=reason_kind)
    return candidate.id


@requires("destruction.appraise")
def propose_manual(
    session: Session,
    *,
    actor: Actor,
    customer_number: str,
    note: str,
    category: str = "",
) -> int:
    """提出销毁 by hand (the page): a customer by its number, why (required), and optionally one
    category only. Field errors: customer_number, note, category."""
    customer = _customer_by_number(session, customer_number)
    note = _check_note(note, required=True)
    scope = DestructionScope.CATEGORY if category else DestructionScope.CUSTOMER
    return propose(
        session,
        actor=actor,
        customer_id=customer.id,
        reason_kind=DestructionReason.MANUAL,
        scope=scope,
        category=category or None,
        note=note,
    )


# --- deciding -----------------------------------------------------------------------------------


def _load(session: Session, candidate_id: object) -> DestructionCandidate:
    candidate = (
        session.exec(
            select(DestructionCandidate)
            .where(DestructionCandidate.id == candidate_id)
            .with_for_update()
        ).scalar_one_or_none()
        if is_row_id(candidate_id)
        else None
    )
    if candidate is None:
        raise NotFound("destruction.error.not_found")
    return candidate


def _person(actor: Actor) -> int:
    """Appraising and approving are a person's acts: never the system's."""
    if actor.user_id is None:
        raise DomainError("destruction.error.person_required")
    return actor.user_id


def _audit(
    session: Session,
    actor: Actor,
    action: str,
    candidate: DestructionCandidate,
    **detail: object,
) -> None:
    audit.record(
        session,
        actor=actor,
        action=action,
        target_type="destruction",
        target_id=candidate.number,
        customer_id=candidate.customer_id,
        detail={"scope": candidate.scope, "category": candidate.category or None, **detail},
    )


@requires("destruction.appraise")
def appraise(
    session: Session, *, actor: Actor, candidate_id: int, decision: str, note: str = ""
) -> Outcome:
    """鉴定: 'destroy' (no retention value left: it goes to a second person for approval, unless
    something blocks it) or 'keep' (rejected, with the note why). The appraiser counts as the
    proposer and can never approve it."""
    user_id = _person(actor)
    if decision not in DECISIONS:
        raise ValidationFailed({"decision": "destruction.error.decision"})
    note = _check_note(note, required=decision == "keep")
    candidate = _load(session, candidate_id)
    if candidate.status != DestructionStatus.QUEUED:
        raise DomainError("destruction.error.not_queued")
    found: list[str] = []
    if decision == "keep":
        candidate.status, candidate.rejected_by = DestructionStatus.REJECTED, user_id
        candidate.appraisal_note = note
    else:
        found = blocked(session, candidate)
        if not found:
            candidate.status = DestructionStatus.APPRAISED
            candidate.appraised_by, candidate.appraised_at = user_id, clock.now()
            candidate.appraisal_note = note
    _audit(session, actor, "destruction.appraise", candidate, decision=decision, blocked=found)
    return Outcome(candidate.id, candidate.number, candidate.status, found)


def _may_approve(candidate: DestructionCandidate, user_id: int) -> None:
    if candidate.status == DestructionStatus.QUEUED:
        raise DomainError("destruction.error.not_appraised")
    if candidate.status != DestructionStatus.APPRAISED:
        raise DomainError("destruction.error.not_open")
    if candidate.appraised_by == user_id:
        raise DomainError("destruction.error.same_person")


@requires("destruction.approve")
def approve(session: Session, *, actor: Actor, candidate_id: int) -> Outcome:
    """批准 by a second person: checked again for blockers, then destroyed at once (or, for a
    deletion request whose completion notice is still on its way, left approved for the run)."""
    user_id = _person(actor)
    candidate = _load(session, candidate_id)
    _may_approve(candidate, user_id)
    found = blocked(session, candidate)
    if found:
        _audit(session, actor, "destruction.approve", candidate, blocked=found)
        return Outcome(candidate.id, candidate.number, candidate.status, found)
    candidate.status = DestructionStatus.APPROVED
    candidate.approved_by, candidate.approved_at = user_id, clock.now()
    _audit(session, actor, "destruction.approve", candidate, blocked=[])
    counts = run_candidates(session, [candidate], actor=actor)
    return Outcome(candidate.id, candidate.number, candidate.status, counts.get("blockers", []))


@requires("destruction.approve")
def reject(session: Session, *, actor: Actor, candidate_id: int, note: str) -> Outcome:
    """Not destroyed: an open candidate (queued, appraised, or approved and still waiting) is
    rejected with the reason why (required)."""
    user_id = _person(actor)
    note = _check_note(note, required=True)
    candidate = _load(session, candidate_id)
    if candidate.status not in OPEN_STATUSES:
        raise DomainError("destruction.error.not_open")
    candidate.status, candidate.rejected_by = DestructionStatus.REJECTED, user_id
    candidate.appraisal_note = note
    _audit(session, actor, "destruction.reject", candidate)
    return Outcome(candidate.id, candidate.number, candidate.status)


@requires("destruction.approve")
def approve_many(session: Session, *, actor: Actor, candidate_ids: list[int]) -> ManyOutcome:
    """Approve several appraised candidates at once: each is checked as `approve` checks it, the
    approved ones are destroyed by a `destruction.run` job (its progress on the page)."""
    user_id = _person(actor)
    if not isinstance(candidate_ids, list) or not 0 < len(candidate_ids) <= MAX_BATCH:
        raise ValidationFailed({"candidate_ids": "destruction.error.batch"})
    approved: list[DestructionCandidate] = []
    refused: list[tuple[str, str]] = []
    for candidate_id in dict.fromkeys(candidate_ids):
        try:
            candidate = _load(session, candidate_id)
        except DomainError as exc:
            refused.append((str(candidate_id), exc.key))
            continue
        try:
            _may_approve(candidate, user_id)
        except DomainError as exc:
            refused.append((candidate.number, exc.key))
            continue
        found = blocked(session, candidate)
        if found:
            refused.append((candidate.number, found[0]))
            continue
        candidate.status = DestructionStatus.APPROVED
        candidate.approved_by, candidate.approved_at = user_id, clock.now()
        approved.append(candidate)
    job_id = None
    if approved:
        ids = [c.id for c in approved]
        job_id = job_queue.enqueue(
            session,
            kind=JobKind.DESTRUCTION_RUN,
            params={"candidate_ids": ids},
            created_by=user_id,
            total=len(ids),
        )
        audit.record(
            session,
            actor=actor,
            action="destruction.approve_many",
            target_type="job",
            target_id=job_id,
            detail={"candidates": [c.number for c in approved][:50], "count": len(approved)},
        )
    return ManyOutcome(job_id, [c.number for c in approved], refused)


# --- legal holds (诉讼保留) --------------------------------------------------------------------------


def _customer_by_number(session: Session, customer_number: object) -> Customer:
    number = customer_number.strip().upper() if isinstance(customer_number, str) else ""
    customer = (
        session.exec(select(Customer).where(Customer.number == number)).scalar_one_or_none()
        if number
        else None
    )
    if customer is None:
        raise ValidationFailed({"customer_number": "destruction.error.customer_not_found"})
    return customer


@requires("legal_hold.manage")
def set_hold(session: Session, *, actor: Actor, customer_number: str, reason: str) -> int:
    """诉讼保留: nothing of the customer may be destroyed until the hold is released -> its id.
    The reason names the case (a reference), never a value of the customer's data."""
    customer = _customer_by_number(session, customer_number)
    reason = _check_note(reason, required=True, name="reason")[:MAX_HOLD_REASON]
    if customer.destroyed_at is not None:
        raise DomainError("destruction.error.already_destroyed")
    hold = LegalHold(
        customer_id=customer.id, reason=reason, set_by=actor.user_id, set_at=clock.now()
    )
    session.add(hold)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="legal_hold.set",
        target_type="legal_hold",
        target_id=hold.id,
        customer_id=customer.id,
        reason=reason,
    )
    return hold.id


@requires("legal_hold.manage")
def release_hold(session: Session, *, actor: Actor, hold_id: int, reason: str) -> None:
    """The case is over: the hold no longer blocks a destruction (other holds may)."""
    reason = _check_note(reason, required=True, name="reason")[:MAX_HOLD_REASON]
    hold = (
        session.exec(select(LegalHold).where(LegalHold.id == hold_id).with_for_update())
        .scalars()
        .first()
        if is_row_id(hold_id)
        else None
    )
    if hold is None:
        raise NotFound("destruction.error.hold_not_found")
    if hold.released_at is not None:
        raise DomainError("destruction.error.hold_released")
    hold.released_by, hold.released_at = actor.user_id, clock.now()
    audit.record(
        session,
        actor=actor,
        action="legal_hold.release",
        target_type="legal_hold",
        target_id=hold.id,
        customer_id=hold.customer_id,
        reason=reason,
    )
