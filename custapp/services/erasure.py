"""Erasure on request (删除权, PIPL art. 47; issue 16, ER): compliance accepts a customer's
deletion request into the destruction queue, with the request as its reason, after seeing what
blocks a destruction; and the member sees, before asking, what deletion means for them.

- Accepting (`rights.manage`): the request is taken on (in progress) and
  `destruction.propose(reason_kind="request")` puts the customer into the 销毁 queue, where
  one person appraises and another approves it. What blocks a destruction (a legal hold,
  stored value, unexpired points, an open complaint, ...) is shown first; it does not stop the
  acceptance: the customer may settle it (退卡) while the candidate waits, or compliance
  refuses the request with its legal reason instead (rights.close_request).
- Refusing is rights.close_request with an ErasureRefusal; the hooks the destruction calls are
  in rights_erasure.py.
- The member's view (`member.self`): what they hold that must be settled first, read from
  their own data only (not the destruction's blockers: a litigation hold is not theirs to
  see), and their newest deletion request with its progress.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select
from sqlmodel import Session

from custapp.models import Complaint, Customer, DestructionCandidate, RightsRequest
from custapp.models.complaints import OPEN_STATUSES as OPEN_COMPLAINTS
from custapp.services import audit, destruction, membership, points, rights, rights_erasure
from custapp.services.actor import Actor
from custapp.services.errors import DomainError, NotFound
from custapp.services.guard import requires
from custapp.vocab import RightsKind


@dataclass(frozen=True)
class CandidateRef:
    number: str
    status: str  # DestructionStatus; label destruction.status.<status>


@dataclass(frozen=True)
class ErasureReview:
    """What compliance sees on a deletion request before and after accepting it."""

    blockers: list[str]  # i18n keys of what blocks destroying the customer now
    candidate: CandidateRef | None  # the newest destruction candidate made for the request


@dataclass(frozen=True)
class MemberErasure:
    """The member's 删除我的信息 card: what must be settled first, and their deletion request."""

    balance_fen: int  # stored value left on the card(s): refunded at 退卡 first
    points: int  # points still usable
    clawback: int  # points owed back (a refund after they were spent): settled first
    open_complaints: int
    card_active: bool
    request: rights.MemberRequestRow | None  # the newest deletion request, open or closed


def _candidate_ref(candidate: DestructionCandidate | None) -> CandidateRef | None:
    return CandidateRef(candidate.number, candidate.status) if candidate else None


def _deletion(session: Session, request_id: int, *, lock: bool = False) -> RightsRequest:
    query = select(RightsRequest).where(RightsRequest.id == request_id)
    request = session.exec(query.with_for_update() if lock else query).scalar_one_or_none()
    if request is None:
        raise NotFound("rights.error.not_found")
    if request.kind != RightsKind.DELETION:
        raise DomainError("rights.error.not_deletion")
    return request


@requires("rights.manage", reads=True)
def deletion_review(session: Session, *, actor: Actor, request_id: int) -> ErasureReview:
    """What blocks destroying the request's customer now, and the candidate once accepted."""
    request = _deletion(session, request_id)
    blockers = (
        destruction.blockers(session, request.customer_id)
        if request.status in rights.OPEN_STATUSES
        else []
    )
    return ErasureReview(
        blockers=list(blockers),
        candidate=_candidate_ref(rights_erasure.latest_candidate(session, request.id)),
    )


@requires("rights.manage")
def accept_deletion(session: Session, *, actor: Actor, request_id: int) -> CandidateRef:
    """受理并提交销毁: the request is taken on and its customer proposed for destruction with
    the request as the reason (the candidate's note is the request number: no personal value).
    Accepting again while the candidate is open gives the same candidate."""
    request = _deletion(session, request_id, lock=True)
    if request.status not in rights.OPEN_STATUSES:
        raise DomainError("rights.error.closed")
    rights.start_handling(session, actor=actor, request=request)
    candidate_id = destruction.propose(
        session,
        actor=actor,
        customer_id=request.customer_id,
        reason_kind="request",
        rights_request_id=request.id,
        scope="customer",
        note=request.number,
    )
    candidate = session.get(DestructionCandidate, candidate_id)
    audit.record(
        session,
        actor=actor,
        action="rights.erasure_accept",
        target_type="rights_request",
        target_id=request.number,
        customer_id=request.customer_id,
        detail={"candidate": candidate.number},
    )
    return _candidate_ref(candidate)


@requires("member.self", reads=True)
def member_overview(session: Session, *, actor: Actor) -> MemberErasure:
    """The member's own: stored value, points, open complaints, card, and their newest
    deletion request (no argument names a customer: it is the login's)."""
    if actor.customer_id is None:
        raise NotFound("customer.error.not_found")
    customer_id = actor.customer_id
    customer = session.get(Customer, customer_id)
    if customer is None:
        raise NotFound("customer.error.not_found")
    newest = session.exec(
        select(RightsRequest)
        .where(RightsRequest.customer_id == customer_id, RightsRequest.kind == RightsKind.DELETION)
        .order_by(RightsRequest.received_at.desc(), RightsRequest.id.desc())
        .limit(1)
    ).scalar_one_or_none()
    open_complaints = session.exec(
        select(func.count(Complaint.id)).where(
            Complaint.customer_id == customer_id, Complaint.status.in_(OPEN_COMPLAINTS)
        )
    ).scalar_one()
    return MemberErasure(
        balance_fen=membership.balance(session, customer_id),
        points=points.available(session, customer_id),
        clawback=points.clawback_of(session, customer_id),
        open_complaints=int(open_complaints),
        card_active=membership.active_card(session, customer_id) is not None,
        request=rights.member_row(session, customer.data_key_id, newest) if newest else None,
    )
