"""销毁的执行 (issue 16, DS): what destroying a customer, or one category of a customer, does to
the data. The queue, the two people and the permissions are services/destruction.py's.

A customer's destruction is one transaction over a batch of customers (one, from an approval;
a batch, from a queue run), with no decryption needed, so it can always be done again:

- crypto-shredding: the customers' data keys are deleted from the key store; `data_keys` keeps
  the id with destroyed_at (every ciphertext anywhere, backups included, is now unreadable);
- every `*_enc` and `*_bidx` column of the customer row is nulled, the name becomes
  DESTROYED_NAME, gender / ID type / organisation particulars / verification / owners go; the
  kind, the nature, the store and the classification stay as anonymous counts; the customer
  number and the card numbers become 'X' + the row id (a paper form names no one any more);
- contacts, tags, change history, service log, attachments, care greetings, outbox messages,
  the consent projection and the member's login codes are deleted; the member account stays
  as a disabled tombstone (no login, no password, no name) and its sessions lose their
  address; complaints, rights requests, approvals and legal disclosures keep their row
  (reports count them) without their text;
- the append-only tables, through the sanctioned path: a `destruction_in_progress` row per
  customer, inserted and deleted again inside this transaction, which the triggers check
  (migration 0019). Consent events lose their evidence reference and attachment, points
  entries their free-text reason; the ledgers keep every amount under the tombstone row, so
  every total still adds up;
- merged-away records that redirect to the customer go with it (they still carry its name).

The register line and the audit entry of each destruction are destruction_run.py's.

After the commit SQLite checkpoints its WAL (the main database runs with secure_delete on, so
the freed pages hold zeros); the key store vacuums or checkpoints itself (keystore.destroy).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import bindparam, delete, event, func, select, update
from sqlmodel import Session

from custapp import clock
from custapp.models import (
    ApprovalRequest,
    Attachment,
    CareGreeting,
    Complaint,
    ComplaintAttachment,
    ComplaintEvent,
    ConsentEvent,
    ConsentState,
    Customer,
    CustomerChange,
    CustomerContact,
    CustomerTag,
    DataKey,
    DestructionCandidate,
    DestructionInProgress,
    LegalDisclosure,
    LoginSession,
    LoginThrottle,
    MemberCard,
    MemberCode,
    NoticeServing,
    OutboxMessage,
    PointsEntry,
    RedemptionRequest,
    RightsRequest,
    ServiceLog,
    User,
)
from custapp.models.destruction import OPEN_STATUSES
from custapp.models.retention import RetentionRule
from custapp.security import keystore
from custapp.services.customer_fields import FIELDS
from custapp.services.customers import completeness
from custapp.vocab import DestructionCategory, DestructionScope, DestructionStatus, VerifyStatus

DESTROYED_NAME = "已销毁客户"
METHOD_CUSTOMER = "crypto_shred"  # key deleted, plain columns anonymised, rows deleted
METHOD_CATEGORY = "delete"  # the category's rows deleted or its columns nulled
LEVEL3_FIELDS = tuple(name for name, spec in FIELDS.items() if spec.level == 3)
_CHECKPOINT = "custapp_destruction_checkpoint"

# the customer row after its destruction: plain columns that describe a person or an
# organisation go; what reports count stays
_ANONYMISED: dict[str, object] = {
    **{c.name: None for c in Customer.__table__.columns if c.name.endswith(("_enc", "_bidx"))},
    "name": DESTROYED_NAME,
    "gender": None,
    "id_type": None,
    "uscc": None,
    "legal_representative": None,
    "registered_capital_fen": None,
    "founding_date": None,
    "grade_override_reason": None,
    "owner_id": None,
    "second_contact_id": None,
    "verify_status": VerifyStatus.UNVERIFIED,
    "verify_method": None,
    "verified_by": None,
    "verified_at": None,
    "completeness": 0,
}


# the tables a destruction writes to: PostgreSQL vacuums them after a run (destruction_scrub.py)
WIPED_TABLES = tuple(
    model.__tablename__
    for model in (
        Customer, CustomerContact, CustomerTag, CustomerChange, ServiceLog, Attachment,
        CareGreeting, OutboxMessage, ConsentState, ConsentEvent, NoticeServing, PointsEntry,
        Complaint, ComplaintEvent, ComplaintAttachment, RightsRequest, ApprovalRequest,
        RedemptionRequest, LegalDisclosure, User, LoginSession, LoginThrottle, MemberCode,
        MemberCard,
    )
)  # fmt: skip


def _renumber(session: Session, model: type, where: object) -> None:
    """The number a destroyed customer's row (or card) keeps instead of its own: 'X' and the row
    id, zero-padded to the column's width (customers 12: X00000000042). Unique, and it names no
    one: a paper form or receipt with the old number finds nothing."""
    table = model.__table__
    width = table.c.number.type.length - 1
    ids = session.exec(select(table.c.id).where(where, ~table.c.number.startswith("X"))).scalars()
    rows = [{"row_id": i, "new_number": f"X{i:0{width}d}"} for i in ids]
    if rows:
        session.connection().execute(
            update(table)
            .where(table.c.id == bindparam("row_id"))
            .values(number=bindparam("new_number")),
            rows,
        )


# --- the sanctioned path past the append-only triggers -----------------------------------------


@contextmanager
def sanctioned(session: Session, customer_ids: list[int]) -> Iterator[None]:
    """The append-only tables accept changes to these customers' rows while inside (migration
    0019); the marker rows never outlive the block, nor the transaction."""
    session.add_all(DestructionInProgress(customer_id=i) for i in customer_ids)
    session.flush()
    yield
    session.flush()
    session.exec(
        delete(DestructionInProgress).where(DestructionInProgress.customer_id.in_(customer_ids))
    )


def checkpoint_after_commit(session: Session) -> None:
    """SQLite: once this transaction commits, checkpoint the WAL into the main file and truncate
    it, so no copy of a destroyed page lingers in the log (secure_delete zeroed the pages)."""
    if session.get_bind().dialect.name != "sqlite" or session.info.get(_CHECKPOINT):
        return
    session.info[_CHECKPOINT] = True
    engine = session.get_bind()

    @event.listens_for(session, "after_commit", once=True)
    def _checkpoint(_session: Session) -> None:
        raw = engine.raw_connection()  # autocommit: no BEGIN in front of the pragma
        try:
            raw.cursor().execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchall()
        finally:
            raw.close()


# --- whole customers ------------------------------------------------------------------------------


def _with_redirects(session: Session, ids: list[int]) -> list[int]:
    """The customers and the merged-away records that redirect to them (one hop: a merge
    re-points earlier redirects at the survivor)."""
    redirects = session.exec(
        select(Customer.id).where(Customer.merged_into_id.in_(ids), Customer.destroyed_at.is_(None))
    ).scalars()
    return sorted({*ids, *redirects})


def _delete_messages(session: Session, ids: list[int], member_ids: list[int]) -> int:
    session.exec(delete(CareGreeting).where(CareGreeting.customer_id.in_(ids)))
    where = OutboxMessage.customer_id.in_(ids)
    if member_ids:
        where = where | OutboxMessage.user_id.in_(member_ids)
    return session.exec(delete(OutboxMessage).where(where)).rowcount


def _end_member_logins(session: Session, ids: list[int], now: datetime) -> list[int]:
    members = session.exec(select(User.id, User.login_index).where(User.customer_id.in_(ids))).all()
    member_ids = [m.id for m in members]
    if not member_ids:
        return []
    keys = [f"member:{m.login_index}" for m in members if m.login_index]
    if keys:
        session.exec(delete(LoginThrottle).where(LoginThrottle.key.in_(keys)))
    session.exec(delete(MemberCode).where(MemberCode.user_id.in_(member_ids)))
    session.exec(
        update(LoginSession)
        .where(LoginSession.user_id.in_(member_ids), LoginSession.ended_at.is_(None))
        .values(ended_at=now, end_reason="destroyed")
    )
    session.exec(  # the addresses the member logged in from
        update(LoginSession)
        .where(LoginSession.user_id.in_(member_ids), LoginSession.ip.is_not(None))
        .values(ip=None)
    )
    session.exec(
        update(User)
        .where(User.id.in_(member_ids))
        .values(
            username=None,
            login_index=None,
            display_name=DESTROYED_NAME,
            password_hash=None,
            is_active=False,
            locale=None,
            updated_at=now,
        )
    )
    return member_ids


def _delete_attachments(session: Session, ids: list[int], before: datetime | None = None) -> int:
    """The customers' archive files: their references first (card applications, notices served,
    consent evidence: the last through the sanctioned path, which the caller holds)."""
    chosen = select(Attachment.id).where(Attachment.customer_id.in_(ids))
    if before is not None:
        chosen = chosen.where(Attachment.created_at < before)
    found = list(session.exec(chosen).scalars())
    if not found:
        return 0
    for model, column in (
        (MemberCard, MemberCard.application_attachment_id),
        (NoticeServing, NoticeServing.attachment_id),
        (ConsentEvent, ConsentEvent.attachment_id),
    ):
        session.exec(update(model).where(column.in_(found)).values({column.key: None}))
    return session.exec(delete(Attachment).where(Attachment.id.in_(found))).rowcount


def _strip_texts(session: Session, ids: list[int]) -> dict[str, int]:
    """Rows that stay (reports count them, or the law keeps them) lose their free text."""
    complaints = select(Complaint.id).where(Complaint.customer_id.in_(ids)).scalar_subquery()
    counts = {
        "complaints": session.exec(
            update(Complaint)
            .where(Complaint.customer_id.in_(ids))
            .values(
                description_enc="",
                desired_enc=None,
                contact_enc=None,
                root_cause_enc=None,
                solution_enc=None,
                no_score_reason_enc=None,
            )
        ).rowcount,
        "complaint_attachments": session.exec(
            delete(ComplaintAttachment).where(ComplaintAttachment.complaint_id.in_(complaints))
        ).rowcount,
    }
    session.exec(
        update(ComplaintEvent)
        .where(ComplaintEvent.complaint_id.in_(complaints))
        .values(body_enc=None)
    )
    counts["disclosures"] = session.exec(  # the authority's file number, how harm was kept small
        update(LegalDisclosure)
        .where(LegalDisclosure.customer_id.in_(ids))
        .values(document_reference="", harm_note="")
    ).rowcount
    counts["rights_requests"] = session.exec(
        update(RightsRequest)
        .where(RightsRequest.customer_id.in_(ids))
        .values(detail_enc=None, outcome_enc=None)
    ).rowcount
    session.exec(
        update(ApprovalRequest)
        .where(ApprovalRequest.customer_id.in_(ids))
        .values(reason="", decision_reason=None)
    )
    session.exec(
        update(RedemptionRequest)
        .where(RedemptionRequest.customer_id.in_(ids))
        .values(decision_reason=None)
    )
    return counts


def _wipe_append_only(session: Session, ids: list[int]) -> int:
    """Consent evidence and ledger reasons: the only columns of the append-only tables that can
    point at a person. The amounts, kinds and times stay."""
    session.exec(
        update(ConsentEvent)
        .where(
            ConsentEvent.customer_id.in_(ids),
            (ConsentEvent.evidence_ref.is_not(None)) | (ConsentEvent.attachment_id.is_not(None)),
        )
        .values(evidence_ref=None, attachment_id=None)
    )
    session.exec(
        update(NoticeServing)
        .where(NoticeServing.customer_id.in_(ids))
        .values(evidence_ref=None, attachment_id=None)
    )
    session.exec(
        update(PointsEntry)
        .where(PointsEntry.customer_id.in_(ids), PointsEntry.reason.is_not(None))
        .values(reason=None)
    )
    return session.exec(delete(ConsentState).where(ConsentState.customer_id.in_(ids))).rowcount


def wipe_customers(session: Session, customer_ids: list[int], *, now: datetime) -> dict:
    """Everything of these customers in this database, in the caller's transaction (see the
    module docstring) -> {"customers": [{id, key_id, merged: [[id, key_id], ...]}], "counts"}.
    Already destroyed customers are left as they are. Touches no key store, no register."""
    live = list(
        session.exec(
            select(Customer.id)
            .where(Customer.id.in_(customer_ids), Customer.destroyed_at.is_(None))
            .with_for_update()
        ).scalars()
    )
    if not live:
        return {"customers": [], "counts": {}}
    ids = _with_redirects(session, live)
    keys = dict(
        session.exec(select(Customer.id, Customer.data_key_id).where(Customer.id.in_(ids))).all()
    )
    redirects = dict(
        session.exec(
            select(Customer.id, Customer.merged_into_id).where(
                Customer.id.in_(ids), Customer.merged_into_id.in_(live)
            )
        ).all()
    )
    counts: dict[str, int] = {}
    with sanctioned(session, ids):
        member_ids = _end_member_logins(session, ids, now)
        counts["messages"] = _delete_messages(session, ids, member_ids)
        counts["attachments"] = _delete_attachments(session, ids)
        counts["consent_states"] = _wipe_append_only(session, ids)
        counts.update(_strip_texts(session, ids))
        for name, model in (
            ("service_log", ServiceLog),
            ("history", CustomerChange),
            ("contacts", CustomerContact),
            ("tags", CustomerTag),
        ):
            counts[name] = session.exec(delete(model).where(model.customer_id.in_(ids))).rowcount
        session.exec(
            update(Customer)
            .where(Customer.id.in_(ids))
            .values(**_ANONYMISED, destroyed_at=now, updated_at=now)
        )
        _renumber(session, Customer, Customer.id.in_(ids))
        # the card numbers on paper forms and receipts lead nowhere either
        _renumber(session, MemberCard, MemberCard.customer_id.in_(ids))
        session.exec(
            update(DataKey)
            .where(DataKey.id.in_(set(keys.values())), DataKey.destroyed_at.is_(None))
            .values(destroyed_at=now)
        )
        session.exec(
            update(DestructionCandidate)
            .where(
                DestructionCandidate.customer_id.in_(ids),
                DestructionCandidate.status.in_(OPEN_STATUSES),
                DestructionCandidate.scope == DestructionScope.CATEGORY,
            )
            .values(status=DestructionStatus.CANCELLED)
        )
    checkpoint_after_commit(session)
    customers = [
        {
            "id": cid,
            "key_id": keys[cid],
            "merged": [[m, keys[m]] for m, into in sorted(redirects.items()) if into == cid],
        }
        for cid in live
    ]
    counts["members"] = len(member_ids)
    return {"customers": customers, "counts": {k: v for k, v in counts.items() if v}}


def shred(key_ids: list[int]) -> int:
    """Crypto-shredding: the keys leave the key store (committed there at once) -> how many."""
    return keystore.destroy(sorted(set(key_ids))) if key_ids else 0


# --- one category of a customer ---------------------------------------------------------------


def _months_before(moment: datetime, months: int) -> datetime:
    """The local midnight `months` calendar months before `moment`'s local day, in UTC (the
    31st of a shorter month falls back to its last day)."""
    local = clock.to_local(moment).date()
    year, month0 = divmod(local.year * 12 + local.month - 1 - months, 12)
    next_first = date(year + (month0 + 1) // 12, (month0 + 1) % 12 + 1, 1)
    last_day = (next_first - timedelta(days=1)).day
    day = date(year, month0 + 1, min(local.day, last_day))
    return datetime.combine(day, time(), tzinfo=clock.zone()).astimezone(UTC)


def category_cutoff(session: Session, rule_category: str | None, now: datetime) -> datetime | None:
    """What a rule-based partial destruction takes: the rows older than the rule's period (None:
    a manual or requested one takes them all)."""
    if not rule_category:
        return None
    rule = session.exec(
        select(RetentionRule).where(RetentionRule.category == rule_category)
    ).scalar_one_or_none()
    return _months_before(now, rule.period_months) if rule is not None else None


def wipe_category(
    session: Session, customer_id: int, category: str, *, before: datetime | None
) -> int:
    """Destroy one category of one customer, who stays -> how many rows or fields went."""
    if category == DestructionCategory.ATTACHMENTS:
        with sanctioned(session, [customer_id]):
            count = _delete_attachments(session, [customer_id], before)
    elif category == DestructionCategory.SERVICE_LOG:
        query = delete(ServiceLog).where(ServiceLog.customer_id == customer_id)
        if before is not None:
            query = query.where(ServiceLog.created_at < before)
        count = session.exec(query).rowcount
    elif category == DestructionCategory.LEVEL3:
        customer = session.exec(
            select(Customer).where(Customer.id == customer_id).with_for_update()
        ).scalar_one()
        count = sum(getattr(customer, f"{name}_enc") is not None for name in LEVEL3_FIELDS)
        for name in LEVEL3_FIELDS:
            setattr(customer, f"{name}_enc", None)
        session.exec(
            delete(CustomerChange).where(
                CustomerChange.customer_id == customer_id,
                CustomerChange.field.in_(LEVEL3_FIELDS),
            )
        )
        contacts = session.exec(
            select(func.count(CustomerContact.id)).where(CustomerContact.customer_id == customer_id)
        ).scalar_one()
        customer.completeness = completeness(customer, contact_count=contacts)
        customer.updated_at = clock.now()
    else:
        raise ValueError(f"unknown destruction category {category!r}")
    checkpoint_after_commit(session)
    return count
