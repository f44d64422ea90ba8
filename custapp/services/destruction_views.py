"""What the 销毁 page reads (issue 16, DS): the queue by status, the register (销毁登记簿) and the
legal holds, one page at a time. Ids, numbers, codes and staff names only: the queue never
shows a value of a customer's data (not even the masked name: the number identifies the row).

The register tab reads the database's mirror of the register (the candidates that are done,
written back by `destruction.reapply` after a restore) for paging, and the register file itself
for its integrity (register_status: every line's MAC verified).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlmodel import Session

from custapp.models import Customer, DestructionCandidate, LegalHold, RightsRequest
from custapp.models.destruction import OPEN_STATUSES
from custapp.services import destruction_register
from custapp.services.actor import Actor
from custapp.services.customers import display_names
from custapp.services.guard import requires
from custapp.services.paging import page_window
from custapp.vocab import DestructionStatus

MAX_PAGE_SIZE = 100
# 'approval': what waits for the second person (appraised) or for its run (approved)
APPROVAL = (DestructionStatus.APPRAISED, DestructionStatus.APPROVED)
STATUS_FILTERS = ("open", "approval", *DestructionStatus)


@dataclass(frozen=True)
class CandidateRow:
    id: int
    number: str
    customer_id: int
    customer_number: str
    scope: str  # DestructionScope
    category: str  # DestructionCategory, "" for a whole customer
    reason_kind: str  # DestructionReason
    rule_category: str  # RetentionCategory of a rule-based candidate, else ""
    request_number: str  # the deletion request's number, else ""
    note: str
    status: str  # DestructionStatus
    created_at: datetime
    proposed_by: str  # "" : the system (the daily scan)
    appraised_by_id: int | None
    appraised_by: str
    appraised_at: datetime | None
    appraisal_note: str
    approved_by: str
    approved_at: datetime | None
    done_at: datetime | None
    blockers: tuple[str, ...]  # i18n keys destruction.blocked.*, as last checked
    method: str


@dataclass(frozen=True)
class HoldRow:
    id: int
    customer_id: int
    customer_number: str
    reason: str
    set_by: str
    set_at: datetime
    released_by: str
    released_at: datetime | None


@dataclass(frozen=True)
class RegisterStatus:
    count: int  # lines in the register file
    ok: bool  # every line verified
    problem: str  # i18n key when not ok


def _rows(session: Session, found: list[DestructionCandidate]) -> list[CandidateRow]:
    numbers = dict(
        session.exec(
            select(Customer.id, Customer.number).where(
                Customer.id.in_({c.customer_id for c in found})
            )
        ).all()
    )
    request_ids = {c.rights_request_id for c in found if c.rights_request_id}
    requests = (
        dict(
            session.exec(
                select(RightsRequest.id, RightsRequest.number).where(
                    RightsRequest.id.in_(request_ids)
                )
            ).all()
        )
        if request_ids
        else {}
    )
    names = display_names(
        session,
        [u for c in found for u in (c.proposed_by, c.appraised_by, c.approved_by)],
    )
    return [
        CandidateRow(
            id=c.id,
            number=c.number,
            customer_id=c.customer_id,
            customer_number=numbers.get(c.customer_id, ""),
            scope=c.scope,
            category=c.category or "",
            reason_kind=c.reason_kind,
            rule_category=c.rule_category or "",
            request_number=requests.get(c.rights_request_id, ""),
            note=c.note,
            status=c.status,
            created_at=c.created_at,
            proposed_by=names.get(c.proposed_by or 0, ""),
            appraised_by_id=c.appraised_by,
            appraised_by=names.get(c.appraised_by or 0, ""),
            appraised_at=c.appraised_at,
            appraisal_note=c.appraisal_note,
            approved_by=names.get(c.approved_by or 0, ""),
            approved_at=c.approved_at,
            done_at=c.done_at,
            blockers=tuple(k for k in (c.blocked_reason or "").split(",") if k),
            method=c.method or "",
        )
        for c in found
    ]


def _page(session: Session, where: list, order, page: int, page_size: int):  # noqa: ANN001, ANN202
    window = page_window(page, page_size, max_size=MAX_PAGE_SIZE)
    total = session.exec(select(func.count(DestructionCandidate.id)).where(*where)).scalar_one()
    found = list(
        session.exec(
            select(DestructionCandidate)
            .where(*where)
            .order_by(order)
            .offset(window.offset)
            .limit(window.limit)
        ).scalars()
    )
    return (_rows(session, found) if found else []), total


@requires("destruction.queue", reads=True)
def list_queue(
    session: Session, *, actor: Actor, status: str = "queued", page: int = 1, page_size: int = 20
) -> tuple[list[CandidateRow], int]:
    """One page of the queue in one status ('open': every status still to be decided;
    'approval': appraised or approved and waiting), the oldest first while open, the newest
    first once decided; and how many there are."""
    if status not in STATUS_FILTERS:
        status = "open"
    if status in ("open", "approval"):
        where = [DestructionCandidate.status.in_(OPEN_STATUSES if status == "open" else APPROVAL)]
    else:
        where = [DestructionCandidate.status == status]
    decided = status not in ("open", "approval", *OPEN_STATUSES)
    order = DestructionCandidate.id.desc() if decided else DestructionCandidate.id.asc()
    return _page(session, where, order, page, page_size)


@requires("destruction.read", reads=True)
def list_register(
    session: Session, *, actor: Actor, page: int = 1, page_size: int = 20
) -> tuple[list[CandidateRow], int]:
    """销毁登记簿: the destructions done, newest first (time, who proposed, appraised and
    approved, rule or request, what, how)."""
    where = [DestructionCandidate.status == DestructionStatus.DONE]
    return _page(session, where, DestructionCandidate.id.desc(), page, page_size)


@requires("destruction.read", reads=True)
def register_status(session: Session, *, actor: Actor) -> RegisterStatus:
    """The register file's integrity: its lines and whether every MAC verifies."""
    try:
        return RegisterStatus(len(destruction_register.read()), True, "")
    except destruction_register.RegisterDamaged:
        return RegisterStatus(0, False, "destruction.register.damaged")


@requires("legal_hold.manage", reads=True)
def list_holds(
    session: Session,
    *,
    actor: Actor,
    active_only: bool = True,
    page: int = 1,
    page_size: int = 20,
) -> tuple[list[HoldRow], int]:
    """诉讼保留: the holds (the active ones only, by default), newest first."""
    window = page_window(page, page_size, max_size=MAX_PAGE_SIZE)
    where = [LegalHold.released_at.is_(None)] if active_only else []
    total = session.exec(select(func.count(LegalHold.id)).where(*where)).scalar_one()
    holds = list(
        session.exec(
            select(LegalHold)
            .where(*where)
            .order_by(LegalHold.id.desc())
            .offset(window.offset)
            .limit(window.limit)
        ).scalars()
    )
    numbers = dict(
        session.exec(
            select(Customer.id, Customer.number).where(
                Customer.id.in_({h.customer_id for h in holds})
            )
        ).all()
    )
    names = display_names(session, [u for h in holds for u in (h.set_by, h.released_by)])
    return [
        HoldRow(
            id=h.id,
            customer_id=h.customer_id,
            customer_number=numbers.get(h.customer_id, ""),
            reason=h.reason,
            set_by=names.get(h.set_by or 0, ""),
            set_at=h.set_at,
            released_by=names.get(h.released_by or 0, ""),
            released_at=h.released_at,
        )
        for h in holds
    ], total
