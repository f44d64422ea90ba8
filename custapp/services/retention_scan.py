"""The daily retention scan (issue 16, RT; 002 RET-03/04 "destroyed promptly", "periodic
cleanup"; 000-001 RT-03/RT-07): what has passed its period goes into the 销毁 queue with the rule
that applies, for a person to appraise and another to approve (services/destruction.py). Nothing
is destroyed here.

- Ended relationships (rule customer_archive): customers not destroyed, not merged away, whose
  lifecycle is not active (lost, or potential: never bought), whose last purchase (else creation)
  is older than the period, with no service record or complaint inside the period and no active
  card (a member's card is a standing contract).
- Merged-away records (customer_archive): the redirect left by a merge, once the period has
  passed since the merge.
- Expired attachments (rule attachments): customers with a file older than its period get a
  partial candidate (scope 'category', category 'attachments'). Signed consent forms are consent
  evidence, kept with the archive: the attachments rule leaves them out.
- The audit log (rule audit_log): entries older than the period are sealed
  (audit_anchors.seal_before, which never cuts the last 180 days).

Each list is walked by keyset pages over an index (the last purchase, the creation time, the
merged-away partial index, the attachments' creation time): a million customers are never read
whole, and nothing is decrypted. Customers with an open candidate of the same kind are left out
in the query, so a run proposes only what is new; one whose candidate was rejected is proposed
again once RECHECK_DAYS have passed since. Each page is one transaction.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timedelta

from sqlalchemy import and_, exists, func, or_, select
from sqlmodel import Session

from custapp import clock
from custapp.db import session_scope
from custapp.models import (
    Attachment,
    Complaint,
    Customer,
    DestructionCandidate,
    MemberCard,
    ServiceLog,
)
from custapp.models.destruction import OPEN_STATUSES
from custapp.services import audit_anchors, destruction, retention
from custapp.services.actor import system_actor
from custapp.services.errors import DomainError
from custapp.vocab import (
    AttachmentCategory,
    CardStatus,
    DestructionCategory,
    DestructionReason,
    DestructionScope,
    DestructionStatus,
    Lifecycle,
    RetentionCategory,
)

log = logging.getLogger(__name__)

BATCH = 500
RECHECK_DAYS = 180  # a rejected rule candidate is proposed again after this many days
ACTIVE = (Lifecycle.NEW, Lifecycle.OLD)  # the others (lost, potential) are not
SCAN_ACTOR = "retention"


def run_retention_scan() -> dict:
    """The daily job step: {what: how many were proposed}."""
    return scan(session_scope)


def scan(session_factory: Callable, *, batch: int = BATCH) -> dict:
    with session_factory(write=False) as session:
        archive = retention.cutoff(session, RetentionCategory.CUSTOMER_ARCHIVE)
        attachments = retention.cutoff(session, RetentionCategory.ATTACHMENTS)
        audit_log = retention.cutoff(session, RetentionCategory.AUDIT_LOG)
    recheck = clock.now() - timedelta(days=RECHECK_DAYS)
    customer = (DestructionScope.CUSTOMER, None, RetentionCategory.CUSTOMER_ARCHIVE)
    partial = (
        DestructionScope.CATEGORY,
        DestructionCategory.ATTACHMENTS,
        RetentionCategory.ATTACHMENTS,
    )
    summary = {
        "ended_bought": _walk(session_factory, _ended_buyers, archive, recheck, customer, batch),
        "ended_never_bought": _walk(
            session_factory, _ended_never_bought, archive, recheck, customer, batch
        ),
        "merged_away": _walk(session_factory, _merged_away, archive, recheck, customer, batch),
        "attachments": _walk(session_factory, _expired_files, attachments, recheck, partial, batch),
    }
    summary["audit_sealed"] = audit_anchors.seal_before(session_factory, audit_log)
    return summary


def _walk(
    session_factory: Callable,
    page: Callable,
    cut: datetime,
    recheck: datetime,
    kind: tuple[str, str | None, str],
    batch: int,
) -> int:
    """Propose every customer `page` finds, one page per transaction -> how many."""
    proposed, after = 0, None
    while True:
        with session_factory() as session:
            rows = page(session, cut, _no_candidate(kind, recheck), after, batch)
            if not rows:
                return proposed
            after = rows[-1][:2]
            customers = list(dict.fromkeys(row[2] for row in rows))
            try:
                proposed += _propose(session, customers, kind)
                continue
            except DomainError:
                session.rollback()
        proposed += _one_by_one(session_factory, customers, kind)


def _propose(session: Session, customers: list[int], kind: tuple[str, str | None, str]) -> int:
    scope, category, rule = kind
    actor = system_actor(SCAN_ACTOR)
    for customer_id in customers:
        destruction.propose(
            session, actor=actor, customer_id=customer_id, reason_kind=DestructionReason.RULE,
            rule_category=rule, scope=scope, category=category,
        )  # fmt: skip
    return len(customers)


def _one_by_one(session_factory: Callable, customers: list[int], kind: tuple) -> int:
    """A page the destruction service refused part of: each customer in its own transaction,
    so one refusal (logged by its key, no value) does not hold up the rest."""
    proposed = 0
    for customer_id in customers:
        try:
            with session_factory() as session:
                proposed += _propose(session, [customer_id], kind)
        except DomainError as exc:
            log.warning("retention scan: customer %s not proposed: %s", customer_id, exc.key)
    return proposed


# --- the lists ------------------------------------------------------------------------------------


def _no_candidate(kind: tuple[str, str | None, str], recheck: datetime):  # noqa: ANN202
    """No open candidate of this scope and category for the customer, and none rejected
    within RECHECK_DAYS (ix_destruction_candidates_customer)."""
    scope, category, _ = kind
    dc = DestructionCandidate
    decided = func.coalesce(dc.appraised_at, dc.created_at)
    return ~exists().where(
        dc.customer_id == Customer.id,
        dc.scope == scope,
        dc.category == (category or ""),
        or_(
            dc.status.in_(OPEN_STATUSES),
            and_(dc.status == DestructionStatus.REJECTED, decided >= recheck),
        ),
    )


def _keyset(column, id_column, after: tuple | None):  # noqa: ANN001, ANN202
    """The page after `after` = (sort value, id) in (column, id) order. The plain lower bound
    lets the index range start there instead of at the beginning."""
    if after is None:
        return []
    value, last_id = after
    return [column >= value, or_(column > value, id_column > last_id)]


def _live():  # noqa: ANN202
    return [Customer.destroyed_at.is_(None), Customer.merged_into_id.is_(None)]


def _ended(cut: datetime):  # noqa: ANN202
    """No service record, complaint or active card inside the period (indexes per customer)."""
    return [
        ~exists().where(ServiceLog.customer_id == Customer.id, ServiceLog.created_at >= cut),
        ~exists().where(Complaint.customer_id == Customer.id, Complaint.created_at >= cut),
        ~exists().where(
            MemberCard.customer_id == Customer.id, MemberCard.status == CardStatus.ACTIVE
        ),
    ]


def _ended_buyers(session: Session, cut: datetime, free, after, batch: int) -> list[tuple]:  # noqa: ANN001
    """Customers whose last purchase is older than the period and who are no longer active
    (ix_customers_last_purchase; NOT IN keeps SQLite on that index, not on the lifecycle's)."""
    column = Customer.last_purchase_at
    return session.exec(
        select(column, Customer.id, Customer.id)
        .where(
            column < cut,
            *_keyset(column, Customer.id, after),
            Customer.lifecycle.not_in(ACTIVE),
            *_live(),
            *_ended(cut),
            free,
        )
        .order_by(column, Customer.id)
        .limit(batch)
    ).all()


def _ended_never_bought(session: Session, cut: datetime, free, after, batch: int) -> list[tuple]:  # noqa: ANN001
    """Customers who never bought (potential), created before the period
    (ix_customers_lifecycle_created: lifecycle, created_at, id)."""
    column = Customer.created_at
    return session.exec(
        select(column, Customer.id, Customer.id)
        .where(
            Customer.lifecycle == Lifecycle.POTENTIAL,
            column < cut,
            Customer.last_purchase_at.is_(None),
            *_keyset(column, Customer.id, after),
            *_live(),
            *_ended(cut),
            free,
        )
        .order_by(column, Customer.id)
        .limit(batch)
    ).all()


def _merged_away(session: Session, cut: datetime, free, after, batch: int) -> list[tuple]:  # noqa: ANN001
    """Merged-away redirects whose merge (their last update) is older than the period
    (ix_customers_merged_into_id: the partial index of the few merged rows)."""
    column = Customer.merged_into_id
    return session.exec(
        select(column, Customer.id, Customer.id)
        .where(
            column.is_not(None),
            *_keyset(column, Customer.id, after),
            Customer.updated_at < cut,
            Customer.destroyed_at.is_(None),
            free,
        )
        .order_by(column, Customer.id)
        .limit(batch)
    ).all()


def _expired_files(session: Session, cut: datetime, free, after, batch: int) -> list[tuple]:  # noqa: ANN001
    """Attachments older than the period, but consent forms (ix_attachments_created), of live
    customers: (created_at, attachment id, customer id)."""
    column = Attachment.created_at
    return session.exec(
        select(column, Attachment.id, Attachment.customer_id)
        .join(Customer, Customer.id == Attachment.customer_id)
        .where(
            column < cut,
            *_keyset(column, Attachment.id, after),
            Attachment.category != AttachmentCategory.CONSENT_FORM,
            *_live(),
            free,
        )
        .order_by(column, Attachment.id)
        .limit(batch)
    ).all()
