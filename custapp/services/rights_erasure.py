"""The deletion request's side of erasure (删除权, issue 16, ER), below services/rights.py: the
lookups rights and erasure share, what the customer is told, and the two hooks the destruction
calls (re-exported by rights as `rights.deletion_notice_ready` and `rights.deletion_done`).

An accepted deletion request stays in progress until its customer is destroyed. When the
destruction candidate is approved the destruction asks `deletion_notice_ready`: the first call
queues the notice that the data is about to be deleted (it is encrypted under the customer's
key, so it must be delivered before the key is destroyed) and says no; the destruction waits
until that message is sent, failed or cancelled. `deletion_done`, in the destruction's own
transaction, then closes the request as done with the candidate's number.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlmodel import Session

from custapp import clock
from custapp.i18n import t
from custapp.models import Customer, DestructionCandidate, OutboxMessage, RightsRequest
from custapp.models.destruction import OPEN_STATUSES as OPEN_DESTRUCTION
from custapp.services import audit, rights_notices
from custapp.services.actor import system_actor
from custapp.services.errors import NotFound
from custapp.vocab import ErasureRefusal, OutboxStatus, RightsKind, RightsStatus

OPEN_REQUEST = (RightsStatus.OPEN, RightsStatus.IN_PROGRESS)
NOTICE_PENDING = (OutboxStatus.QUEUED, OutboxStatus.SENDING)
DESTRUCTION_ACTOR = "destruction"


# --- lookups ----------------------------------------------------------------------------------------


def open_deletion(session: Session, customer_id: int) -> RightsRequest | None:
    """The customer's deletion request not yet closed (there is at most one)."""
    return session.exec(
        select(RightsRequest)
        .where(
            RightsRequest.customer_id == customer_id,
            RightsRequest.kind == RightsKind.DELETION,
            RightsRequest.status.in_(OPEN_REQUEST),
        )
        .order_by(RightsRequest.id.desc())
        .limit(1)
    ).scalar_one_or_none()


def open_candidate(session: Session, request_id: int) -> DestructionCandidate | None:
    """The destruction candidate an accepted deletion request is waiting for, if still open."""
    return session.exec(
        select(DestructionCandidate)
        .where(
            DestructionCandidate.rights_request_id == request_id,
            DestructionCandidate.status.in_(OPEN_DESTRUCTION),
        )
        .order_by(DestructionCandidate.id.desc())
        .limit(1)
    ).scalar_one_or_none()


def latest_candidate(session: Session, request_id: int) -> DestructionCandidate | None:
    """The newest destruction candidate made for the request, whatever its status."""
    return session.exec(
        select(DestructionCandidate)
        .where(DestructionCandidate.rights_request_id == request_id)
        .order_by(DestructionCandidate.id.desc())
        .limit(1)
    ).scalar_one_or_none()


def _locked(session: Session, request_id: int) -> RightsRequest:
    request = session.exec(
        select(RightsRequest).where(RightsRequest.id == request_id).with_for_update()
    ).scalar_one_or_none()
    if request is None:
        raise NotFound("rights.error.not_found")
    return request


# --- what the customer is told ------------------------------------------------------------------


def refusal_text(code: str, outcome: str, locale: str | None = None) -> str:
    """The reason of a refused deletion as the customer reads it: the legal reason's label and
    the handler's words, if any ("other": the words alone)."""
    if code == ErasureRefusal.OTHER or not code:
        return outcome
    label = t(f"rights.refusal.{code}", locale)
    return f"{label}：{outcome}" if outcome else label


def tell_refusal(
    session: Session, customer: Customer, request: RightsRequest, outcome: str
) -> int | None:
    """The refusal and its legal reason, through the outbox -> the message id, None: no channel."""
    return rights_notices.tell_customer(
        session,
        customer,
        subject_key="rights.erasure.refused_subject",
        body_key="rights.erasure.refused_body",
        number=request.number,
        reason=refusal_text(request.refusal_reason or "", outcome, rights_notices.LOCALE),
    )


# --- the hooks the destruction calls ------------------------------------------------------------


def deletion_notice_ready(session: Session, request_id: int) -> bool:
    """May the destruction of an accepted deletion request's customer go ahead? The first call
    queues the notice that their data is about to be deleted and says no; later calls say yes
    once that message is no longer queued or being sent (sent, failed or cancelled). Yes at
    once when the customer has no deliverable channel. At most one notice per request."""
    request = _locked(session, request_id)
    if request.notice_message_id is not None:
        status = session.exec(
            select(OutboxMessage.status).where(OutboxMessage.id == request.notice_message_id)
        ).scalar_one_or_none()
        return status not in NOTICE_PENDING
    if request.status not in OPEN_REQUEST:  # closed meanwhile: nothing more to tell
        return True
    customer = session.get(Customer, request.customer_id)
    message_id = rights_notices.tell_customer(
        session,
        customer,
        subject_key="rights.erasure.notice_subject",
        body_key="rights.erasure.notice_body",
        number=request.number,
    )
    audit.record(
        session,
        actor=system_actor(DESTRUCTION_ACTOR),
        action="rights.erasure_notice",
        target_type="rights_request",
        target_id=request.number,
        customer_id=request.customer_id,
        detail={"queued": message_id is not None},
    )
    if message_id is None:
        return True
    request.notice_message_id = message_id
    request.updated_at = clock.now()
    return False


def deletion_done(session: Session, request_id: int, candidate_number: str) -> None:
    """The request's customer is destroyed (the destruction's own transaction): the request is
    closed as done with the candidate's number as its outcome. A request closed already (the
    destruction re-applied after a restore) stays as it is."""
    request = _locked(session, request_id)
    if request.status not in OPEN_REQUEST:
        return
    request.status = RightsStatus.DONE
    request.outcome_ref = candidate_number
    request.outcome_enc = None  # it would be under the key being destroyed: the number says it
    request.closed_at = request.updated_at = clock.now()
    closed_late = max(0, (clock.to_local(request.closed_at).date() - request.due_on).days)
    audit.record(
        session,
        actor=system_actor(DESTRUCTION_ACTOR),
        action="rights.close",
        target_type="rights_request",
        target_id=request.number,
        customer_id=request.customer_id,
        detail={
            "kind": request.kind,
            "status": RightsStatus.DONE,
            "candidate": candidate_number,
            "overdue_days": closed_late,
        },
    )
