"""客户建档与修改: create and update profiles, duplicate candidates, real-name verification,
grade override (SPEC §2). The read side (profile, reveal, history) is in customer_profile.

Form values come in as text (customer_input validates them). Sensitive values are
written only through customer_fields (encrypted, with their blind index); every change of every
field leaves a CustomerChange row whose old and new values are encrypted under the customer's data
key; audit entries name the fields, never a value (SPEC §8).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, or_, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from custapp import clock
from custapp.models import (
    Customer,
    CustomerChange,
    CustomerContact,
    CustomerSequence,
    CustomerTag,
    User,
)
from custapp.security.validators import validate_cn_id
from custapp.services import audit, customer_fields, datakeys
from custapp.services.actor import Actor
from custapp.services.customer_fields import FIELDS, GRADES, VERIFY_STATUSES
from custapp.services.customer_input import (
    INPUT_NAMES,
    KINDS,
    Clean,
    CleanContact,
    ContactInput,
    CustomerInput,
    any_phone,
    as_text,
    check_reason,
    is_row_id,
    parse_date,
    validate,
)
from custapp.services.errors import DomainError, NotFound, ValidationFailed
from custapp.services.guard import requires
from custapp.vocab import CustomerKind, UserKind, VerifyMethod, VerifyStatus

VERIFY_METHODS = tuple(VerifyMethod)
# Encryption contexts (AAD) of what customer_fields does not cover; a merge re-encrypts with them.
CHANGE_CONTEXT = "customer.change"
CONTACT_PHONE_CONTEXT = "customer.contact_phone"
_MAX_MERGE_HOPS = 10


# --- output DTOs -------------------------------------------------------------------------------


@dataclass(frozen=True)
class CustomerRef:
    id: int
    number: str


@dataclass(frozen=True)
class DuplicateCandidate:
    id: int
    number: str
    name: str
    reason: str  # i18n key: customer.dup.id_number | customer.dup.phone | customer.dup.name_birth


# --- numbers, completeness, history -----------------------------------------------------------


def next_in_sequence(session: Session, table, key_column: str, key: int) -> int:  # noqa: ANN001
    """The next number of the counter row `key` of `table` (columns `key_column`, `last`).

    The row is created if missing with INSERT .. ON CONFLICT DO NOTHING (two first numbers of a
    new period do not collide), then incremented by one UPDATE .. RETURNING. The UPDATE holds
    the row lock until commit, so concurrent callers queue on it (PostgreSQL) or on the write
    lock that BEGIN IMMEDIATE took (SQLite); a number is never issued twice, and a rolled-back
    transaction leaves no gap.
    """
    column = table.c[key_column]
    dialect = session.get_bind().dialect.name
    if dialect in ("postgresql", "sqlite"):
        insert = pg_insert if dialect == "postgresql" else sqlite_insert
        session.exec(
            insert(table)
            .values({key_column: key, "last": 0})
            .on_conflict_do_nothing(index_elements=[key_column])
        )
    elif session.exec(select(column).where(column == key)).first() is None:
        try:
            with session.begin_nested():
                session.exec(table.insert().values({key_column: key, "last": 0}))
        except IntegrityError:
            pass  # another transaction created it first
    return session.exec(
        update(table).where(column == key).values(last=table.c.last + 1).returning(table.c.last)
    ).scalar_one()


def allocate_number(session: Session, *, year: int) -> str:
    """The next customer number of `year` (in the configured zone): C<year><7 digits>."""
    last = next_in_sequence(session, CustomerSequence.__table__, "year", year)
    if last > 9_999_999:
        raise DomainError("customer.error.number_exhausted")
    return f"C{year:04d}{last:07d}"


def completeness_fields(kind: str) -> tuple[str, ...]:
    """The fields the completeness score counts for a kind of customer."""
    return tuple(
        name
        for name, spec in FIELDS.items()
        if kind in spec.kinds and spec.level in (0, 1) and name not in ("nature", "phone2")
    )


def completeness(customer: Customer, *, contact_count: int) -> int:
    """Completeness 0-100 = round(100 × filled / counted), half up.

    Counted: the general and level-1 fields that apply to the customer's kind, except `nature`
    (always set) and the backup phone; for an organisation also "has at least one contact
    person". Level-2/3 data and notes never count: minimum collection (CON-11) must not be
    rewarded by the score. Individual: 11 items (name + phone alone = 18); organisation: 12.
    Needs no decryption: an encrypted column is filled when it holds a ciphertext.
    """
    names = completeness_fields(customer.kind)
    filled = sum(1 for name in names if getattr(customer, FIELDS[name].column) not in (None, ""))
    total = len(names)
    if customer.kind == CustomerKind.ORGANISATION:
        filled, total = filled + (contact_count > 0), total + 1
    return (200 * filled + total) // (2 * total)


def _actor_name(actor: Actor) -> str:
    return (actor.display_name or actor.name)[:60]


def _record_change(
    session: Session,
    customer: Customer,
    actor: Actor,
    now: datetime,
    field_name: str,
    old: str,
    new: str,
) -> None:
    key = customer.data_key_id
    session.add(
        CustomerChange(
            customer_id=customer.id,
            changed_at=now,
            user_id=actor.user_id,
            actor_name=_actor_name(actor),
            field=field_name,
            old_enc=datakeys.encrypt(session, key, old or None, context=CHANGE_CONTEXT),
            new_enc=datakeys.encrypt(session, key, new or None, context=CHANGE_CONTEXT),
        )
    )


def display_names(session: Session, user_ids: Iterable[int | None]) -> dict[int, str]:
    ids = {i for i in user_ids if i}
    if not ids:
        return {}
    rows = session.exec(select(User.id, User.display_name).where(User.id.in_(ids))).all()
    return {row[0]: row[1] for row in rows}


def _contacts_text(contacts: list[tuple[str, str | None, str | None]]) -> str:
    return json.dumps([list(c) for c in contacts], ensure_ascii=False) if contacts else ""


def live_customer(session: Session, customer_id: int, *, lock: bool = False) -> Customer:
    """The customer, refusing a merged one (it is only a redirect now)."""
    if not is_row_id(customer_id):
        raise NotFound("error.not_found")
    query = select(Customer).where(Customer.id == customer_id)
    # FOR NO KEY UPDATE on PostgreSQL: it serialises every writer of the customer like FOR
    # UPDATE, but does not wait for the KEY SHARE locks that foreign-key checks of rows pointing
    # at the customer take (the expiry job inserting thousands of ledger entries, say)
    query = query.with_for_update(key_share=True) if lock else query
    customer = session.exec(query).scalar_one_or_none()
    if customer is None:
        raise NotFound("error.not_found")
    if customer.merged_into_id is not None:
        raise DomainError("customer.error.merged")
    if customer.destroyed_at is not None:  # a tombstone (issue 16): nothing left to work on
        raise DomainError("customer.error.destroyed")
    return customer


def survivor(session: Session, customer_id: int) -> tuple[Customer, Customer | None]:
    """(the customer to show, the merged customer it was reached from or None)."""
    customer = session.get(Customer, customer_id) if is_row_id(customer_id) else None
    if customer is None:
        raise NotFound("error.not_found")
    first, hops = customer, 0
    while customer.merged_into_id is not None and hops < _MAX_MERGE_HOPS:
        customer = session.get(Customer, customer.merged_into_id)
        if customer is None:
            raise NotFound("error.not_found")
        hops += 1
    if customer.destroyed_at is not None:  # a tombstone (issue 16): 该客户信息已销毁
        raise DomainError("customer.error.destroyed")
    return customer, (first if customer is not first else None)


# --- writing a profile ------------------------------------------------------------------------


def _stored_text(session: Session, customer: Customer) -> dict[str, str]:
    """Every field of the customer as form text (sensitive ones decrypted: service-internal)."""
    return {
        name: customer_fields.read(session, customer, name)
        if spec.encrypted
        else as_text(name, getattr(customer, name))
        for name, spec in FIELDS.items()
    }


def _stored_contacts(session: Session, customer: Customer) -> list[CustomerContact]:
    return list(
        session.exec(
            select(CustomerContact)
            .where(CustomerContact.customer_id == customer.id)
            .order_by(CustomerContact.id)
        ).scalars()
    )


def _contact_phone(session: Session, customer: Customer, contact: CustomerContact) -> str:
    return datakeys.decrypt(
        session, customer.data_key_id, contact.phone_enc, context=CONTACT_PHONE_CONTEXT
    )


def _write_contact_phone(
    session: Session, customer: Customer, row: CustomerContact, phone: str | None
) -> None:
    row.phone_enc = datakeys.encrypt(
        session, customer.data_key_id, phone, context=CONTACT_PHONE_CONTEXT
    )
    row.phone_bidx = customer_fields.blind_index("phone", phone) if phone else None


def _apply_contacts(
    session: Session,
    customer: Customer,
    new: list[CleanContact],
    *,
    actor: Actor,
    now: datetime,
    old: dict[int, tuple[CustomerContact, CleanContact]],
) -> bool:
    """Bring the stored contact persons to `new` in place: a contact keeps its id (and its
    ciphertext when its phone did not change); each added, changed or removed contact leaves
    one "contacts" change (old → new, the phone masked when shown). True when anything changed.
    """
    changed = False
    kept = {c.id for c in new if c.id is not None}
    for contact_id, (row, before) in old.items():
        if contact_id not in kept:
            session.delete(row)
            _record_change(
                session, customer, actor, now, "contacts", _contacts_text([before.shown()]), ""
            )
            changed = True
    for contact in new:
        if contact.id is None:
            row = CustomerContact(customer_id=customer.id, name=contact.name, title=contact.title)
            _write_contact_phone(session, customer, row, contact.phone)
            session.add(row)
            old_text = ""
        else:
            row, before = old[contact.id]
            if before.shown() == contact.shown():
                continue
            row.name, row.title = contact.name, contact.title
            if before.phone != contact.phone:
                _write_contact_phone(session, customer, row, contact.phone)
            old_text = _contacts_text([before.shown()])
        new_text = _contacts_text([contact.shown()])
        _record_change(session, customer, actor, now, "contacts", old_text, new_text)
        changed = True
    return changed


def _apply(
    session: Session,
    customer: Customer,
    clean: Clean,
    *,
    actor: Actor,
    old: dict[str, str],
    old_tags: list[str],
    old_contacts: dict[int, tuple[CustomerContact, CleanContact]],
) -> list[str]:
    """Write what differs from the stored state; one CustomerChange per changed field (per
    added, changed or removed contact person)."""
    now = clock.now()
    changed: list[str] = []
    for name, spec in FIELDS.items():
        value, new_text = clean.values[name], as_text(name, clean.values[name])
        if new_text == old.get(name, ""):
            continue
        if spec.encrypted:
            customer_fields.write(session, customer, name, new_text)
        else:
            setattr(customer, name, value)
        _record_change(session, customer, actor, now, name, old.get(name, ""), new_text)
        changed.append(name)

    if sorted(clean.tags) != sorted(old_tags):
        session.exec(delete(CustomerTag).where(CustomerTag.customer_id == customer.id))
        session.add_all(CustomerTag(customer_id=customer.id, tag=tag) for tag in clean.tags)
        old_text, new_text = ", ".join(sorted(old_tags)), ", ".join(sorted(clean.tags))
        _record_change(session, customer, actor, now, "tags", old_text, new_text)
        changed.append("tags")

    if _apply_contacts(session, customer, clean.contacts, actor=actor, now=now, old=old_contacts):
        changed.append("contacts")

    names = display_names(
        session,
        [customer.owner_id, customer.second_contact_id, clean.owner_id, clean.second_contact_id],
    )
    for label, column, new_id in (
        ("owner", "owner_id", clean.owner_id),
        ("second_contact", "second_contact_id", clean.second_contact_id),
    ):
        old_id = getattr(customer, column)
        if old_id != new_id:
            setattr(customer, column, new_id)
            old_name, new_name = names.get(old_id or 0, ""), names.get(new_id or 0, "")
            _record_change(session, customer, actor, now, label, old_name, new_name)
            changed.append(label)

    if not changed:
        return []
    birth = clean.values["birth_date"]
    customer.name_birth_bidx = (
        customer_fields.blind_index("generic", f"{customer.name}|{birth}") if birth else None
    )
    customer.birth_md_bidx = customer_fields.birthday_index(birth) if birth else None
    customer.completeness = completeness(customer, contact_count=len(clean.contacts))
    customer.updated_at = now
    session.flush()
    return changed


def _contact_inputs(
    given: list[ContactInput] | None, old: dict[int, tuple[CustomerContact, CleanContact]]
) -> list[ContactInput]:
    """The contact rows to validate on update, stored phones filled in where kept (phone None).
    An id must name one of this customer's contacts, once: anything else is a stale or forged
    form, refused rather than guessed at."""
    if given is None:
        return [ContactInput(c.name, c.title or "", c.phone or "", c.id) for _, c in old.values()]
    ids = [c.id for c in given if c.id is not None]
    if len(set(ids)) != len(ids) or not set(ids) <= old.keys():
        raise ValidationFailed({"contacts": "customer.error.contact_unknown"})

    def phone(c: ContactInput) -> str:
        if c.phone is None and c.id is not None:
            return old[c.id][1].phone or ""
        return c.phone or ""

    return [ContactInput(c.name or "", c.title or "", phone(c), c.id) for c in given]


def _owner(value: int | None, *, default: int | None) -> int | None:
    if value is None:
        return default
    return value or None  # 0 = nobody


@requires("customer.create")
def create_customer(session: Session, *, actor: Actor, data: CustomerInput) -> CustomerRef:
    """Validate, number, encrypt and store a new profile; its history starts with every field
    set (old = empty). The creating staff user becomes the owner unless data says otherwise."""
    kind = data.kind if data.kind in KINDS else ""
    if not kind:
        raise ValidationFailed({"kind": "customer.error.invalid_choice"})
    clean = validate(
        session,
        kind=kind,
        values={name: getattr(data, INPUT_NAMES[name]) or "" for name in FIELDS},
        tags=data.tags or [],
        contacts=[ContactInput(c.name, c.title, c.phone or "") for c in data.contacts or []],
        owner_id=_owner(
            data.owner_id, default=actor.user_id if actor.kind == UserKind.STAFF else None
        ),
        second_contact_id=_owner(data.second_contact_id, default=None),
        current_staff=[actor.user_id] if actor.kind == UserKind.STAFF else [],
    )
    now = clock.now()
    key = datakeys.create_data_key(session)
    customer = Customer(
        number=allocate_number(session, year=clock.to_local(now).year),
        kind=kind,
        name=str(clean.values["name"]),
        nature=str(clean.values["nature"]),
        data_key_id=key.id,
        store_id=actor.store_id,
        created_by=actor.user_id,
        created_at=now,
        updated_at=now,
    )
    session.add(customer)
    session.flush()
    changed = _apply(session, customer, clean, actor=actor, old={}, old_tags=[], old_contacts={})
    audit.record(
        session,
        actor=actor,
        action="customer.create",
        customer_id=customer.id,
        fields=changed,
    )
    return CustomerRef(customer.id, customer.number)


@requires("customer.update")
def update_customer(
    session: Session, *, actor: Actor, customer_id: int, data: CustomerInput
) -> list[str]:
    """Validate the whole profile as it would be after the edit and write only what changed.

    Returns the names of the changed fields (FIELDS names, plus tags, contacts, owner,
    second_contact), [] when nothing changed (nothing is audited then).
    """
    customer = live_customer(session, customer_id, lock=True)
    if data.kind and data.kind != customer.kind:
        raise ValidationFailed({"kind": "customer.error.kind_fixed"})
    old = _stored_text(session, customer)
    old_contacts = {
        c.id: (
            c,
            CleanContact(
                c.id, c.name, c.title or None, _contact_phone(session, customer, c) or None
            ),
        )
        for c in _stored_contacts(session, customer)
    }
    old_tags = list(
        session.exec(
            select(CustomerTag.tag).where(CustomerTag.customer_id == customer.id)
        ).scalars()
    )
    contacts = _contact_inputs(data.contacts, old_contacts)
    values = {}
    for name in FIELDS:
        given = getattr(data, INPUT_NAMES[name])
        values[name] = old[name] if given is None else given
    clean = validate(
        session,
        kind=customer.kind,
        values=values,
        tags=old_tags if data.tags is None else data.tags,
        contacts=contacts,
        owner_id=_owner(data.owner_id, default=customer.owner_id),
        second_contact_id=_owner(data.second_contact_id, default=customer.second_contact_id),
        current_staff=[customer.owner_id, customer.second_contact_id],
    )
    changed = _apply(
        session,
        customer,
        clean,
        actor=actor,
        old=old,
        old_tags=old_tags,
        old_contacts=old_contacts,
    )
    if changed:
        audit.record(
            session,
            actor=actor,
            action="customer.update",
            customer_id=customer.id,
            fields=changed,
        )
    return changed


def input_from_profile(profile) -> CustomerInput:  # noqa: ANN001 (customer_profile.CustomerProfile)
    """An update input pre-filled from a profile: general fields as shown, every sensitive field
    None (= keep; the edit page sends a value only for what the user retyped), notes as shown,
    tags, contacts with their ids and phone None (= keep), owner and second contact."""
    data = CustomerInput(kind=profile.kind)
    for name, spec in FIELDS.items():
        if spec.encrypted:
            setattr(data, INPUT_NAMES[name], None)
    for name, text in profile.general.items():
        setattr(data, name, text)
    data.notes = profile.notes
    data.tags = list(profile.tags)
    data.contacts = [ContactInput(c.name, c.title, None, c.id) for c in profile.contacts]
    data.owner_id = profile.owner_id or 0
    data.second_contact_id = profile.second_contact_id or 0
    return data


# --- duplicates ---------------------------------------------------------------------------------


@requires("customer.create")
def find_duplicates(
    session: Session, *, actor: Actor, data: CustomerInput, exclude_id: int | None = None
) -> list[DuplicateCandidate]:
    """Live customers sharing an ID number, a phone (either phone column, either way round) or
    name + birth date with the form's values; one row per customer, the strongest reason first.
    Values that do not parse are simply not compared (validation reports them on save)."""
    today = clock.local_today()
    id_birth = None
    criteria: list[tuple[str, object]] = []
    if data.id_number and data.id_type in ("", None, "resident_id"):
        checked = validate_cn_id(data.id_number, today=today)
        if checked.ok:
            id_birth = checked.birth_date
            digest = customer_fields.blind_index("id_number", checked.value)
            criteria.append(("id_number", Customer.id_number_bidx == digest))
    elif data.id_number and data.id_number.strip():
        digest = customer_fields.blind_index("id_number", data.id_number)
        criteria.append(("id_number", Customer.id_number_bidx == digest))
    phones = []
    for value in (data.phone, data.phone2, *[c.phone for c in data.contacts or []]):
        if value and (parsed := any_phone(value)[0]):
            phones.append(customer_fields.blind_index("phone", parsed))
    if phones:
        contacts = select(CustomerContact.customer_id).where(CustomerContact.phone_bidx.in_(phones))
        criteria.append(
            (
                "phone",
                or_(
                    Customer.phone_bidx.in_(phones),
                    Customer.phone2_bidx.in_(phones),
                    Customer.id.in_(contacts),
                ),
            )
        )
    birth = parse_date(data.birth_date, today)[0] if data.birth_date else id_birth
    name = (data.name or "").strip()
    if name and birth:
        digest = customer_fields.blind_index("generic", f"{name}|{birth.isoformat()}")
        criteria.append(("name_birth", Customer.name_birth_bidx == digest))

    found: dict[int, DuplicateCandidate] = {}
    for reason, condition in criteria:
        query = select(Customer.id, Customer.number, Customer.name).where(
            condition, Customer.merged_into_id.is_(None)
        )
        if exclude_id is not None:
            query = query.where(Customer.id != exclude_id)
        for cid, number, cname in session.exec(query.order_by(Customer.id).limit(20)).all():
            found.setdefault(cid, DuplicateCandidate(cid, number, cname, f"customer.dup.{reason}"))
    audit.record(
        session,
        actor=actor,
        action="customer.duplicate_check",
        fields=[reason for reason, _ in criteria],
        detail={"hits": len(found)},
    )
    return list(found.values())


# --- verification and grade ---------------------------------------------------------------------


@requires("customer.update")
def set_verification(
    session: Session, *, actor: Actor, customer_id: int, status: str, method: str = ""
) -> None:
    """Record a real-name check (002 RN-02..04): verified or failed by a method, with the
    verifier and the time; "unverified" resets method, verifier and time."""
    if status not in VERIFY_STATUSES:
        raise ValidationFailed({"status": "customer.error.invalid_choice"})
    if status != VerifyStatus.UNVERIFIED and method not in VERIFY_METHODS:
        raise ValidationFailed({"method": "customer.error.invalid_choice"})
    customer = live_customer(session, customer_id, lock=True)
    now = clock.now()
    new_method = method if status != VerifyStatus.UNVERIFIED else None
    for name, new in (("verify_status", status), ("verify_method", new_method)):
        old = getattr(customer, name)
        if old != new:
            _record_change(session, customer, actor, now, name, old or "", new or "")
    customer.verify_status, customer.verify_method = status, new_method
    customer.verified_by = actor.user_id if status != VerifyStatus.UNVERIFIED else None
    customer.verified_at = now if status != VerifyStatus.UNVERIFIED else None
    customer.updated_at = now
    audit.record(
        session,
        actor=actor,
        action="customer.verify",
        customer_id=customer.id,
        fields=["verify_status", "verify_method"],
    )


@requires("customer.grade_override")
def override_grade(
    session: Session, *, actor: Actor, customer_id: int, grade: str | None, reason: str
) -> None:
    """Set (A-E) or clear (None / "") the manual grade; the reason is kept and audited."""
    grade = grade or None
    if grade is not None and grade not in GRADES:
        raise ValidationFailed({"grade": "customer.error.invalid_choice"})
    reason = check_reason(reason)
    customer = live_customer(session, customer_id, lock=True)
    now = clock.now()
    if customer.grade_override != grade:
        old_grade = customer.grade_override or ""
        _record_change(session, customer, actor, now, "grade_override", old_grade, grade or "")
    customer.grade_override = grade
    customer.grade_override_reason = reason if grade else None
    customer.updated_at = now
    audit.record(
        session,
        actor=actor,
        action="customer.grade_override",
        customer_id=customer.id,
        fields=["grade_override"],
        reason=reason,
    )
