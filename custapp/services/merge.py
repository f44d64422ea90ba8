"""客户合并 and the data-quality review: merge a duplicate into the customer that survives.

A merge is one transaction. Every linked record of the merged customer moves to the survivor, and
everything encrypted is re-encrypted from the merged customer's data key to the survivor's (SPEC
§8). Fields the survivor lacks are filled from the merged customer and recorded in the survivor's
history. The merged customer keeps its number and name as a redirect (merged_into_id) and loses
its sensitive values and blind indexes, so an exact lookup of its phone or ID finds only the
survivor; nothing is lost, because its whole change history (every value it ever had) moves to
the survivor too.

A later linked table (complaints, …) joins by adding one mover to MOVERS.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import delete, func, select, update
from sqlmodel import Session

from custapp import clock
from custapp.models import (
    ApprovalRequest,
    Attachment,
    CardFeePayment,
    Customer,
    CustomerChange,
    CustomerContact,
    CustomerTag,
    MemberCard,
    Order,
    OutboxMessage,
    PointsClawback,
    PointsEntry,
    PointsLot,
    RedemptionRequest,
    ServiceLog,
    StoredValueEntry,
    User,
)
from custapp.security import crypto
from custapp.security.validators import validate_cn_id
from custapp.services import (
    attachments,
    audit,
    classification,
    complaints,
    consent,
    customer_fields,
    customer_search,
    datakeys,
    outbox,
    points,
    rights,
    service_log,
)
from custapp.services.actor import Actor
from custapp.services.customer_fields import FIELDS
from custapp.services.customer_input import MAX_TAGS, as_text, check_reason
from custapp.services.customers import (
    CHANGE_CONTEXT,
    CONTACT_PHONE_CONTEXT,
    _contact_phone,
    _contacts_text,
    _record_change,
    _stored_contacts,
    completeness,
    display_names,
    live_customer,
)
from custapp.services.errors import DomainError
from custapp.services.guard import requires
from custapp.services.paging import page_window
from custapp.vocab import CardStatus, CustomerKind, VerifyStatus

MAX_PAGE_SIZE = 100
# Filled by their own rules (or never): the name and nature always have a value, the phones fill
# free slots, the ID type travels with its number.
_OWN_RULES = frozenset({"name", "nature", "phone", "phone2", "id_type", "id_number"})
_STAFF_SLOTS = (("owner", "owner_id"), ("second_contact", "second_contact_id"))


# --- output DTOs -------------------------------------------------------------------------------


@dataclass(frozen=True)
class MergeSide:
    """One customer of a merge, masked: what the manager compares before confirming."""

    id: int
    number: str
    name: str
    kind: str
    phone_masked: str
    id_number_masked: str
    created_at: datetime
    completeness: int
    orders: int
    service_logs: int
    attachments: int


@dataclass(frozen=True)
class MergePreview:
    survivor: MergeSide
    merged: MergeSide
    fills: list[str]  # survivor fields the merge would fill (label key customer.field.<name>)


@dataclass(frozen=True)
class MergeResult:
    survivor_id: int
    survivor_number: str
    merged_number: str
    filled: list[str]
    moved: dict[str, int]


@dataclass(frozen=True)
class ReviewMember:
    id: int
    number: str
    name: str
    phone_masked: str
    created_at: datetime


@dataclass(frozen=True)
class ReviewGroup:
    reasons: tuple[str, ...]  # i18n keys: customer.dup.phone | .id_number | .name_birth
    members: list[ReviewMember]


# --- the merge --------------------------------------------------------------------------------


@dataclass
class Merge:
    """One merge in progress: what every mover needs."""

    session: Session
    actor: Actor
    survivor: Customer
    merged: Customer
    now: datetime
    changed: list[str] = field(default_factory=list)

    def rekey(self, token: str | None, *, context: str) -> str | None:
        """A field ciphertext of the merged customer, re-encrypted under the survivor's key."""
        plain = datakeys.decrypt(self.session, self.merged.data_key_id, token, context=context)
        return datakeys.encrypt(self.session, self.survivor.data_key_id, plain, context=context)

    def rekey_bytes(self, blob: bytes | None, *, context: str) -> bytes | None:
        """A file of the merged customer, re-encrypted under the survivor's key."""
        if blob is None:
            return None
        old = datakeys.data_key(self.session, self.merged.data_key_id)
        new = datakeys.data_key(self.session, self.survivor.data_key_id)
        plain = crypto.decrypt_bytes(old, blob, context=context)
        return crypto.encrypt_bytes(new, plain, context=context)

    def change(self, field_name: str, old: str, new: str) -> None:
        """One field change of the survivor, in its history like any edit."""
        _record_change(self.session, self.survivor, self.actor, self.now, field_name, old, new)
        self.changed.append(field_name)


def _move_orders(m: Merge) -> int:
    moved = m.session.exec(
        update(Order).where(Order.customer_id == m.merged.id).values(customer_id=m.survivor.id)
    )
    return moved.rowcount


def _move_cards(m: Merge) -> int:
    """Cards move with their numbers. A customer holds one active card: when both hold one, the
    survivor's stays and the merged customer's is closed (its number is never reused)."""
    session = m.session
    active = (MemberCard.status == CardStatus.ACTIVE,)
    if session.exec(
        select(MemberCard.id).where(MemberCard.customer_id == m.survivor.id, *active)
    ).first():
        session.exec(
            update(MemberCard)
            .where(MemberCard.customer_id == m.merged.id, *active)
            .values(status=CardStatus.CLOSED, ended_at=m.now)
        )
    return _repoint(m, MemberCard) + _repoint(m, CardFeePayment)


def _repoint(m: Merge, model: type) -> int:
    """Re-point rows to the survivor (the ledgers' triggers allow changing customer_id only)."""
    moved = m.session.exec(
        update(model).where(model.customer_id == m.merged.id).values(customer_id=m.survivor.id)
    )
    return moved.rowcount


def _move_stored_value(m: Merge) -> int:
    """The balances add up: the survivor's ledger now holds both customers' entries."""
    return _repoint(m, StoredValueEntry)


def _move_points(m: Merge) -> int:
    """Lots and ledger entries move; a clawback the merged customer owed is now the survivor's,
    settled at once from the survivor's live points, the rest paid off by the next earnings."""
    owed = m.session.get(PointsClawback, m.merged.id)
    if owed is not None and owed.points:
        mine = m.session.get(PointsClawback, m.survivor.id)
        if mine is None:
            mine = PointsClawback(customer_id=m.survivor.id, points=0, updated_at=m.now)
            m.session.add(mine)
        mine.points += owed.points
        mine.updated_at = m.now
        owed.points, owed.updated_at = 0, m.now
        m.session.flush()
    _repoint(m, PointsLot)
    moved = _repoint(m, PointsEntry)
    points.settle_clawback(m.session, m.survivor.id)
    return moved


def _move_redemptions(m: Merge) -> int:
    """Gift requests and pending approvals follow the points and orders they act on."""
    return _repoint(m, RedemptionRequest) + _repoint(m, ApprovalRequest)


def _move_service_logs(m: Merge) -> int:
    logs = m.session.exec(select(ServiceLog).where(ServiceLog.customer_id == m.merged.id))
    count = 0
    for log in logs.scalars().all():
        log.content_enc = m.rekey(log.content_enc, context=service_log.CONTENT_CONTEXT)
        log.outcome_enc = m.rekey(log.outcome_enc, context=service_log.OUTCOME_CONTEXT)
        log.customer_id = m.survivor.id
        count += 1
    return count


def _move_attachments(m: Merge) -> int:
    """One file at a time: files can be large, and a merge must not hold them all at once."""
    ids = m.session.exec(
        select(Attachment.id).where(Attachment.customer_id == m.merged.id).order_by(Attachment.id)
    ).scalars()
    count = 0
    for attachment_id in ids.all():
        row = m.session.get(Attachment, attachment_id)
        row.filename_enc = m.rekey(row.filename_enc, context=attachments.FILENAME_CONTEXT)
        row.content_enc = m.rekey_bytes(row.content_enc, context=attachments.CONTENT_CONTEXT)
        row.customer_id = m.survivor.id
        m.session.flush()
        m.session.expunge(row)
        count += 1
    return count


def _move_messages(m: Merge) -> int:
    """Queued and sent messages to the customer: recipient, subject and body re-encrypted."""
    rows = m.session.exec(
        select(OutboxMessage).where(OutboxMessage.customer_id == m.merged.id)
    ).scalars()
    count = 0
    for row in rows.all():
        for part in ("recipient", "subject", "body"):
            token = getattr(row, f"{part}_enc")
            if token is not None:
                plain = outbox._open(m.session, row.data_key_id, token, part)
                sealed = outbox._seal(m.session, m.survivor.data_key_id, plain, part)
                setattr(row, f"{part}_enc", sealed)
        row.data_key_id, row.customer_id = m.survivor.data_key_id, m.survivor.id
        count += 1
    return count


def _move_consents(m: Merge) -> int:
    """Consents carried over as new events on the survivor (the ledger is append-only); where
    both differ the more restrictive state wins. After the messages moved: a carried refusal
    cancels what was queued for that purpose."""
    return consent.merge_states(
        m.session,
        actor=m.actor,
        survivor_id=m.survivor.id,
        merged_id=m.merged.id,
        note=m.merged.number,
    )


def _move_member_logins(m: Merge) -> int:
    """A member's portal login now opens the survivor (its phone is one of the survivor's)."""
    moved = m.session.exec(
        update(User).where(User.customer_id == m.merged.id).values(customer_id=m.survivor.id)
    )
    return moved.rowcount


def _move_history(m: Merge) -> int:
    changes = m.session.exec(
        select(CustomerChange).where(CustomerChange.customer_id == m.merged.id)
    ).scalars()
    count = 0
    for change in changes.all():
        change.old_enc = m.rekey(change.old_enc, context=CHANGE_CONTEXT)
        change.new_enc = m.rekey(change.new_enc, context=CHANGE_CONTEXT)
        change.customer_id = m.survivor.id
        count += 1
    return count


def _tags(session: Session, customer_id: int) -> list[str]:
    return list(
        session.exec(
            select(CustomerTag.tag)
            .where(CustomerTag.customer_id == customer_id)
            .order_by(CustomerTag.tag)
        ).scalars()
    )


def _move_tags(m: Merge) -> int:
    """The union, the survivor's first, up to the limit the profile form enforces."""
    mine, theirs = _tags(m.session, m.survivor.id), _tags(m.session, m.merged.id)
    m.session.exec(delete(CustomerTag).where(CustomerTag.customer_id == m.merged.id))
    added = [tag for tag in theirs if tag not in mine][: max(0, MAX_TAGS - len(mine))]
    m.session.add_all(CustomerTag(customer_id=m.survivor.id, tag=tag) for tag in added)
    if added:
        m.change("tags", ", ".join(mine), ", ".join(sorted(mine + added)))
    return len(added)


def _move_contacts(m: Merge) -> int:
    """Contact persons move with their phones re-encrypted; the blind index is keyed by the
    value alone, so it stays valid. A contact the survivor already has (same name and phone) is
    dropped rather than doubled."""
    mine = _stored_contacts(m.session, m.survivor)
    theirs = _stored_contacts(m.session, m.merged)
    if not theirs:
        return 0
    old = [(c.name, c.title, _contact_phone(m.session, m.survivor, c) or None) for c in mine]
    known = {(c.name, c.phone_bidx) for c in mine}
    new = list(old)
    for contact in theirs:
        phone = _contact_phone(m.session, m.merged, contact) or None
        if (contact.name, contact.phone_bidx) in known:
            m.session.delete(contact)
            continue
        contact.phone_enc = m.rekey(contact.phone_enc, context=CONTACT_PHONE_CONTEXT)
        contact.customer_id = m.survivor.id
        known.add((contact.name, contact.phone_bidx))
        new.append((contact.name, contact.title, phone))
    if new != old:
        m.change("contacts", _contacts_text(old), _contacts_text(new))
    return len(new) - len(old)


# Each linked table of the merged customer: (name in the audit detail, mover). Order matters only
# in that the history moves after the survivor's own new rows were written (they are not moved).
MOVERS: tuple[tuple[str, Callable[[Merge], int]], ...] = (
    ("orders", _move_orders),
    ("cards", _move_cards),
    ("stored_value", _move_stored_value),
    ("points", _move_points),
    ("redemptions", _move_redemptions),
    ("complaints", complaints.merge_complaints),
    ("service_logs", _move_service_logs),
    ("attachments", _move_attachments),
    ("tags", _move_tags),
    ("contacts", _move_contacts),
    ("messages", _move_messages),
    ("consents", _move_consents),
    ("rights_requests", rights.merge_requests),
    ("member_logins", _move_member_logins),
    ("history", _move_history),
)


# --- filling the survivor's empty fields --------------------------------------------------------


@dataclass(frozen=True)
class _Fill:
    field: str  # FIELDS name, or owner / second_contact
    old: str  # history text
    new: str
    value: object  # what to store: plaintext for encrypted fields, the raw value otherwise


def _empty(value: object) -> bool:
    return value is None or value == ""


def _plan(session: Session, survivor: Customer, merged: Customer) -> list[_Fill]:
    """What the survivor would take from the merged customer: each field it lacks and the merged
    customer has; phones fill free phone slots; the ID type travels with its number."""
    fills: list[_Fill] = []

    def read(customer: Customer, name: str) -> str:
        return customer_fields.read(session, customer, name)

    for name, spec in FIELDS.items():
        if name in _OWN_RULES or survivor.kind not in spec.kinds:
            continue
        mine, theirs = getattr(survivor, spec.column), getattr(merged, spec.column)
        if _empty(mine) and not _empty(theirs):
            text = read(merged, name) if spec.encrypted else as_text(name, theirs)
            fills.append(_Fill(name, "", text, text if spec.encrypted else theirs))

    have = {survivor.phone_bidx, survivor.phone2_bidx} - {None}
    free = [slot for slot in ("phone", "phone2") if getattr(survivor, f"{slot}_enc") is None]
    for slot in ("phone", "phone2"):
        digest = getattr(merged, f"{slot}_bidx")
        if free and digest is not None and digest not in have:
            phone = read(merged, slot)
            fills.append(_Fill(free.pop(0), "", phone, phone))
            have.add(digest)

    if survivor.kind == CustomerKind.INDIVIDUAL and survivor.id_number_enc is None:
        fills.extend(_id_fills(session, survivor, merged, fills))

    users = [getattr(merged, column) for _, column in _STAFF_SLOTS]
    names = display_names(session, users)
    taken = {getattr(survivor, column) for _, column in _STAFF_SLOTS} - {None}
    for label, column in _STAFF_SLOTS:
        theirs = getattr(merged, column)
        if getattr(survivor, column) is None and theirs is not None and theirs not in taken:
            fills.append(_Fill(label, "", names.get(theirs, ""), theirs))
            taken.add(theirs)
    return fills


def _id_fills(
    session: Session, survivor: Customer, merged: Customer, planned: list[_Fill]
) -> list[_Fill]:
    """The merged customer's ID type and number, unless a resident ID's embedded birth date
    contradicts the survivor's birth date (the profile would no longer validate)."""
    if merged.id_number_enc is None:
        if not survivor.id_type and merged.id_type:
            return [_Fill("id_type", "", merged.id_type, merged.id_type)]
        return []
    number = customer_fields.read(session, merged, "id_number")
    if merged.id_type in (None, "resident_id"):
        checked = validate_cn_id(number, today=clock.local_today())
        birth = customer_fields.read(session, survivor, "birth_date") or next(
            (f.new for f in planned if f.field == "birth_date"), ""
        )
        if checked.ok and birth and checked.birth_date.isoformat() != birth:
            return []
    fills = [_Fill("id_number", "", number, number)]
    if merged.id_type and merged.id_type != survivor.id_type:
        fills.insert(0, _Fill("id_type", survivor.id_type or "", merged.id_type, merged.id_type))
    return fills


def _fill_fields(m: Merge) -> None:
    survivor = m.survivor
    for fill in _plan(m.session, survivor, m.merged):
        spec = FIELDS.get(fill.field)
        if spec is not None and spec.encrypted:
            customer_fields.write(m.session, survivor, fill.field, str(fill.value))
        elif spec is not None:
            setattr(survivor, fill.field, fill.value)
        else:
            setattr(survivor, dict(_STAFF_SLOTS)[fill.field], fill.value)
        m.change(fill.field, fill.old, fill.new)
    birth = customer_fields.read(m.session, survivor, "birth_date")
    if "birth_date" in m.changed and birth:
        survivor.name_birth_bidx = customer_fields.blind_index(
            "generic", f"{survivor.name}|{birth}"
        )
        survivor.birth_md_bidx = customer_fields.birthday_index(birth)
    _take_verification(m)


def _take_verification(m: Merge) -> None:
    """A real-name verification of the merged customer counts for the survivor when it checked
    the same ID number and is newer than the survivor's own."""
    s, other = m.survivor, m.merged
    same_id = s.id_number_bidx is not None and s.id_number_bidx == other.id_number_bidx
    if not (
        same_id and other.verify_status == VerifyStatus.VERIFIED and other.verified_at is not None
    ):
        return
    if (
        s.verify_status == VerifyStatus.VERIFIED
        and s.verified_at
        and s.verified_at >= other.verified_at
    ):
        return
    for name in ("verify_status", "verify_method"):
        old, new = getattr(s, name) or "", getattr(other, name) or ""
        if old != new:
            m.change(name, old, new)
    s.verify_status, s.verify_method = other.verify_status, other.verify_method
    s.verified_by, s.verified_at = other.verified_by, other.verified_at


def _leave_redirect(m: Merge) -> None:
    """The merged customer keeps number and name, pointing at the survivor; customers merged
    into it earlier now point at the survivor directly (a redirect is always one hop)."""
    merged = m.merged
    for spec in FIELDS.values():
        if spec.encrypted:
            setattr(merged, spec.column, None)
        if spec.index_kind:
            setattr(merged, f"{spec.name}_bidx", None)
    merged.name_birth_bidx = None
    merged.birth_md_bidx = None
    merged.completeness = completeness(merged, contact_count=0)
    merged.merged_into_id = m.survivor.id
    merged.updated_at = m.now
    m.session.exec(
        update(Customer)
        .where(Customer.merged_into_id == merged.id)
        .values(merged_into_id=m.survivor.id)
    )


def _pair(
    session: Session, survivor_id: int, merged_id: int, *, lock: bool
) -> tuple[Customer, Customer]:
    """Both customers, live, different and of the same kind; locked in id order when asked (two
    merges of the same pair in opposite directions cannot deadlock)."""
    if survivor_id == merged_id:
        raise DomainError("merge.error.same")
    first, second = sorted((survivor_id, merged_id))
    rows = {cid: live_customer(session, cid, lock=lock) for cid in (first, second)}
    survivor, merged = rows[survivor_id], rows[merged_id]
    if survivor.kind != merged.kind:
        raise DomainError("merge.error.kind")
    return survivor, merged


@requires("customer.merge")
def merge_customers(
    session: Session, *, actor: Actor, survivor_id: int, merged_id: int, reason: str
) -> MergeResult:
    """Merge `merged_id` into `survivor_id` (see the module docstring); cs_manager only.

    Audited as customer.merge on the survivor, with the merged id, the filled fields, the counts
    of moved records and the reason; never a value.
    """
    reason = check_reason(reason)
    survivor, merged = _pair(session, survivor_id, merged_id, lock=True)
    m = Merge(session, actor, survivor, merged, clock.now())
    _fill_fields(m)
    filled = list(m.changed)
    moved = {name: mover(m) for name, mover in MOVERS}
    m.change("merged_from", "", merged.number)
    _leave_redirect(m)
    session.flush()
    contacts = session.exec(
        select(func.count(CustomerContact.id)).where(CustomerContact.customer_id == survivor.id)
    ).scalar_one()
    survivor.completeness = completeness(survivor, contact_count=contacts)
    survivor.updated_at = m.now
    session.flush()
    for customer in (survivor, merged):  # the merged one now has no orders: potential, E
        classification.refresh_customer(session, customer.id)
    audit.record(
        session,
        actor=actor,
        action="customer.merge",
        customer_id=survivor.id,
        fields=filled,
        reason=reason,
        detail={"merged_id": merged.id, "moved": moved},
    )
    return MergeResult(survivor.id, survivor.number, merged.number, filled, moved)


# --- preview ----------------------------------------------------------------------------------


def _count(session: Session, model: type, customer_id: int) -> int:
    return session.exec(
        select(func.count(model.id)).where(model.customer_id == customer_id)
    ).scalar_one()


def _masked(session: Session, customer: Customer, name: str) -> str:
    if customer.kind not in FIELDS[name].kinds:
        return ""
    return customer_fields.masked(name, customer_fields.read(session, customer, name))


def _side(session: Session, customer: Customer) -> MergeSide:
    return MergeSide(
        id=customer.id,
        number=customer.number,
        name=customer.name,
        kind=customer.kind,
        phone_masked=_masked(session, customer, "phone"),
        id_number_masked=_masked(session, customer, "id_number"),
        created_at=customer.created_at,
        completeness=customer.completeness,
        orders=_count(session, Order, customer.id),
        service_logs=_count(session, ServiceLog, customer.id),
        attachments=_count(session, Attachment, customer.id),
    )


@requires("customer.merge")
def merge_preview(
    session: Session, *, actor: Actor, survivor_id: int, merged_id: int
) -> MergePreview:
    """Both customers side by side (masked) and the survivor fields a merge would fill; refuses
    the same pairs merge_customers refuses. Audited as an open of the survivor."""
    survivor, merged = _pair(session, survivor_id, merged_id, lock=False)
    fills = [f.field for f in _plan(session, survivor, merged)]
    preview = MergePreview(_side(session, survivor), _side(session, merged), fills)
    audit.record(
        session,
        actor=actor,
        action="customer.merge_preview",
        customer_id=survivor.id,
        detail={"merged_id": merged.id},
    )
    return preview


# --- the duplicate review list ------------------------------------------------------------------


@requires("customer.read")
def duplicate_review(
    session: Session, *, actor: Actor, page: int = 1, page_size: int = 20
) -> tuple[list[ReviewGroup], int]:
    """One page of duplicate candidate groups (customer_search.duplicate_groups) with each
    member's masked phone and creation time, and the number of groups. Audited."""
    window = page_window(page, page_size, max_size=MAX_PAGE_SIZE)
    groups, total = customer_search.duplicate_groups(
        session, actor=actor, page=window.number, page_size=window.size
    )
    ids = {member.id for group in groups for member in group.members}
    rows = {}
    if ids:
        found = session.exec(
            select(
                Customer.id, Customer.phone_enc, Customer.data_key_id, Customer.created_at
            ).where(Customer.id.in_(ids))
        ).all()
        datakeys.preload(session, {row.data_key_id for row in found})
        rows = {row.id: row for row in found}
    audit.record(
        session, actor=actor, action="customer.duplicate_review", detail={"page": window.number}
    )
    # the same customers found by several reasons (same phone and same ID number) are one group
    merged: dict[tuple[int, ...], ReviewGroup] = {}
    for group in groups:
        ids_key = tuple(m.id for m in group.members)
        if ids_key in merged:
            earlier = merged[ids_key]
            merged[ids_key] = ReviewGroup((*earlier.reasons, group.reason), earlier.members)
            continue
        members = [
            ReviewMember(
                m.id, m.number, m.name, _masked_phone(session, rows[m.id]), rows[m.id].created_at
            )
            for m in group.members
        ]
        merged[ids_key] = ReviewGroup((group.reason,), members)
    return list(merged.values()), total


def _masked_phone(session: Session, row) -> str:  # noqa: ANN001 (a result row)
    try:
        phone = datakeys.decrypt(
            session, row.data_key_id, row.phone_enc, context=customer_fields.context("phone")
        )
    except DomainError:  # the data key is destroyed: nothing left to show
        return ""
    return customer_fields.masked("phone", phone)
