"""客户档案 (read side): the profile as masked DTOs, revealing one field with a reason, the
change history, and the list of customers whose real-name verification is stale (SPEC §2).

No DTO here ever holds a sensitive value in plaintext: profiles and history show masked values,
and the only plaintext that leaves this module is the one field reveal_field returns, after the
permission check, the reason and the audit entry.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta

from sqlalchemy import func, or_, select
from sqlmodel import Session

from custapp import clock
from custapp.models import Customer, CustomerChange, CustomerContact, CustomerTag
from custapp.services import audit, customer_fields, datakeys
from custapp.services.actor import Actor
from custapp.services.customer_fields import FIELDS
from custapp.services.customer_input import INPUT_NAMES, as_text, check_reason
from custapp.services.customers import (
    CHANGE_CONTEXT,
    CONTACT_PHONE_CONTEXT,
    display_names,
    live_customer,
    survivor,
)
from custapp.services.errors import DomainError, NotFound, PermissionDenied, ValidationFailed
from custapp.services.guard import ensure, requires
from custapp.services.paging import page_window
from custapp.settings import get_settings
from custapp.vocab import VerifyStatus

MAX_PAGE_SIZE = 100
# History fields whose values are codes: shown through these i18n key prefixes.
CODED = {
    "gender": "customer.gender.",
    "nature": "customer.nature.",
    "source_channel": "customer.source_channel.",
    "id_type": "customer.id_type.",
    "verify_status": "customer.verify.",
    "verify_method": "customer.verify_method.",
}


@dataclass(frozen=True)
class SensitiveValue:
    field: str  # FIELDS name; label i18n key customer.field.<field>
    level: int  # 1-3: the reveal needs customer.reveal.l<level> (level 3: an access request)
    masked: str  # "" when empty
    present: bool


@dataclass(frozen=True)
class ContactView:
    id: int
    name: str
    title: str
    phone_masked: str


@dataclass(frozen=True)
class CustomerProfile:
    id: int
    number: str
    kind: str  # individual | organisation
    name: str
    # General (plain) fields of the kind, keyed by CustomerInput names, as form text: codes for
    # choices (gender, nature, source_channel, id_type), dates "YYYY-MM-DD", registered_capital
    # in yuan ("100000.50"); "" when empty.
    general: dict[str, str]
    sensitive: list[SensitiveValue]  # every level 1-3 field of the kind, FIELDS order, masked
    notes: str  # staff free text, decrypted for holders of customer.read
    tags: list[str]
    contacts: list[ContactView]
    lifecycle: str
    grade: str  # computed from spend
    grade_override: str  # "" when none
    effective_grade: str  # override or computed
    grade_override_reason: str
    value_class: str
    spend_12m_fen: int
    first_purchase_at: datetime | None
    last_purchase_at: datetime | None
    verify_status: str  # unverified | verified | failed
    verify_method: str  # "" | id_card_at_counter | other
    verified_by_name: str
    verified_at: datetime | None
    stale_verification: bool  # not verified, or verified before stale_cutoff()
    completeness: int  # 0-100
    owner_id: int | None
    owner_name: str
    second_contact_id: int | None
    second_contact_name: str
    store_id: int | None
    created_at: datetime
    updated_at: datetime
    redirected_from: str  # the merged customer's number when the id asked for was merged, else ""


@dataclass(frozen=True)
class MemberProfile:
    """The member's own archive as the portal shows it: what a correction request is about.
    Staff working data (notes, tags, grades, owner) is not part of it."""

    number: str
    kind: str  # individual | organisation
    name: str
    general: dict[str, str]  # as CustomerProfile.general
    sensitive: list[SensitiveValue]  # every level 1-3 field of the kind, masked
    contacts: list[ContactView]
    verify_status: str
    updated_at: datetime


@dataclass(frozen=True)
class ChangeRow:
    changed_at: datetime
    actor_name: str
    field: str  # FIELDS name or tags | contacts | owner | second_contact | verify_status |
    #             verify_method | grade_override; label i18n key customer.field.<field>
    old: str  # masked for sensitive fields; an i18n key when coded
    new: str
    coded: bool = False  # old/new are i18n keys ("" stays "")


@dataclass(frozen=True)
class StaleRow:
    id: int
    number: str
    name: str
    kind: str
    verify_status: str
    verified_at: datetime | None
    owner_name: str


def stale_cutoff() -> datetime:
    """Verifications before this instant are stale: the start (in the configured zone) of the
    day `CUSTAPP_VERIFICATION_STALE_DAYS` days before today. Verified on day D: fresh through
    day D + N, stale from the day after."""
    day = clock.local_today() - timedelta(days=get_settings().verification_stale_days)
    return datetime.combine(day, time(0), tzinfo=clock.zone()).astimezone(UTC)


def _is_stale(customer: Customer, cutoff: datetime) -> bool:
    return (
        customer.verify_status != VerifyStatus.VERIFIED
        or customer.verified_at is None
        or customer.verified_at < cutoff
    )


def _plain(session: Session, customer: Customer, name: str) -> str:
    try:
        return customer_fields.read(session, customer, name)
    except DomainError:  # the data key is destroyed: nothing left to show
        return ""


def _masked_phone(session: Session, key_id: int, token: str | None) -> str:
    try:
        phone = datakeys.decrypt(session, key_id, token, context=CONTACT_PHONE_CONTEXT)
    except DomainError:
        return ""
    return customer_fields.masked("phone", phone)


def _general(customer: Customer) -> dict[str, str]:
    return {
        INPUT_NAMES[name]: as_text(name, getattr(customer, name))
        for name, spec in FIELDS.items()
        if spec.level == 0 and customer.kind in spec.kinds
    }


def _sensitive(session: Session, customer: Customer) -> list[SensitiveValue]:
    """Every level 1-3 field of the customer's kind, masked."""
    sensitive = []
    for name, spec in FIELDS.items():
        if 1 <= spec.level <= 3 and customer.kind in spec.kinds:
            plain = _plain(session, customer, name)
            sensitive.append(
                SensitiveValue(name, spec.level, customer_fields.masked(name, plain), bool(plain))
            )
    return sensitive


def _contacts(session: Session, customer: Customer) -> list[ContactView]:
    return [
        ContactView(
            c.id, c.name, c.title or "", _masked_phone(session, customer.data_key_id, c.phone_enc)
        )
        for c in session.exec(
            select(CustomerContact)
            .where(CustomerContact.customer_id == customer.id)
            .order_by(CustomerContact.id)
        ).scalars()
    ]


@requires("customer.read")
def get_profile(session: Session, *, actor: Actor, customer_id: int) -> CustomerProfile:
    """The profile, masked; a merged customer's id leads to the survivor. Audited (open)."""
    customer, merged = survivor(session, customer_id)
    tags = session.exec(
        select(CustomerTag.tag)
        .where(CustomerTag.customer_id == customer.id)
        .order_by(CustomerTag.tag)
    ).scalars()
    names = display_names(
        session, [customer.owner_id, customer.second_contact_id, customer.verified_by]
    )
    profile = CustomerProfile(
        id=customer.id,
        number=customer.number,
        kind=customer.kind,
        name=customer.name,
        general=_general(customer),
        sensitive=_sensitive(session, customer),
        notes=_plain(session, customer, "notes"),
        tags=list(tags),
        contacts=_contacts(session, customer),
        lifecycle=customer.lifecycle,
        grade=customer.grade,
        grade_override=customer.grade_override or "",
        effective_grade=customer.grade_override or customer.grade,
        grade_override_reason=customer.grade_override_reason or "",
        value_class=customer.value_class,
        spend_12m_fen=customer.spend_12m_fen,
        first_purchase_at=customer.first_purchase_at,
        last_purchase_at=customer.last_purchase_at,
        verify_status=customer.verify_status,
        verify_method=customer.verify_method or "",
        verified_by_name=names.get(customer.verified_by or 0, ""),
        verified_at=customer.verified_at,
        stale_verification=_is_stale(customer, stale_cutoff()),
        completeness=customer.completeness,
        owner_id=customer.owner_id,
        owner_name=names.get(customer.owner_id or 0, ""),
        second_contact_id=customer.second_contact_id,
        second_contact_name=names.get(customer.second_contact_id or 0, ""),
        store_id=customer.store_id,
        created_at=customer.created_at,
        updated_at=customer.updated_at,
        redirected_from=merged.number if merged else "",
    )
    audit.record(
        session,
        actor=actor,
        action="customer.open",
        customer_id=customer.id,
        detail={"redirected_from": merged.id} if merged else None,
    )
    return profile


@requires("member.self")
def member_profile(session: Session, *, actor: Actor) -> MemberProfile:
    """The member's own profile, masked as staff see it (the portal reveals nothing; the full
    values are in the copy the member can request). The customer comes from the login, never
    from an argument. Audited (open)."""
    if actor.customer_id is None:
        raise NotFound("customer.error.not_found")
    customer = live_customer(session, actor.customer_id)
    profile = MemberProfile(
        number=customer.number,
        kind=customer.kind,
        name=customer.name,
        general=_general(customer),
        sensitive=_sensitive(session, customer),
        contacts=_contacts(session, customer),
        verify_status=customer.verify_status,
        updated_at=customer.updated_at,
    )
    audit.record(session, actor=actor, action="member.profile_open", customer_id=customer.id)
    return profile


@requires("customer.read")
def reveal_field(
    session: Session, *, actor: Actor, customer_id: int, field: str, reason: str
) -> str:
    """The plaintext of one sensitive field of one customer, for the page to show briefly.

    Needs customer.read and customer.reveal.l<level> of the field; level 3 is never revealed
    here (wave 2: an approved access request). The reason (2-200 characters, picked or typed)
    and the field name are audited, never the value.
    """
    spec = FIELDS.get(field)
    if spec is None or not 1 <= spec.level <= 3:
        raise ValidationFailed({"field": "customer.error.not_revealable"})
    action = "customer_profile.reveal_field"
    target = {"target_type": "customer", "target_id": customer_id, "customer_id": customer_id}
    if spec.level == 3:
        raise PermissionDenied(
            "customer.error.l3_access_request",
            action=action,
            permission="customer.reveal.l3",
            actor=actor,
            **target,
        )
    ensure(actor, f"customer.reveal.l{spec.level}", action=action, **target)
    reason = check_reason(reason)
    customer = live_customer(session, customer_id)
    if customer.kind not in spec.kinds:
        raise ValidationFailed({"field": "customer.error.not_revealable"})
    value = customer_fields.read(session, customer, field)
    audit.record(
        session,
        actor=actor,
        action="customer.reveal",
        customer_id=customer.id,
        fields=[field],
        reason=reason,
    )
    return value


def _history_text(field: str, plain: str) -> tuple[str, bool]:
    """How a history value is shown: (text, coded)."""
    if not plain:
        return "", field in CODED
    if field in CODED:
        return CODED[field] + plain, True
    if field == "contacts":
        shown = []
        for name, title, phone in json.loads(plain):
            label = f"{name} ({title})" if title else name
            shown.append(f"{label} {customer_fields.masked('phone', phone or '')}".strip())
        return "; ".join(shown), False
    spec = FIELDS.get(field)
    if spec is not None and 1 <= spec.level <= 3:
        return customer_fields.masked(field, plain), False
    return plain, False


@requires("customer.read", reads=True)
def change_history(
    session: Session, *, actor: Actor, customer_id: int, page: int = 1, page_size: int = 20
) -> tuple[list[ChangeRow], int]:
    """One page of the customer's field changes, newest first, and their number. Sensitive
    values are masked, as everywhere; the rows themselves are never edited by any service."""
    window = page_window(page, page_size, max_size=MAX_PAGE_SIZE)
    customer = session.get(Customer, customer_id)
    if customer is None:
        raise NotFound("error.not_found")
    where = CustomerChange.customer_id == customer_id
    total = session.exec(select(func.count(CustomerChange.id)).where(where)).scalar_one()
    changes = session.exec(
        select(CustomerChange)
        .where(where)
        .order_by(CustomerChange.changed_at.desc(), CustomerChange.id.desc())
        .offset(window.offset)
        .limit(window.limit)
    ).scalars()
    rows = []
    for change in changes:
        values = []
        for token in (change.old_enc, change.new_enc):
            try:
                plain = datakeys.decrypt(
                    session, customer.data_key_id, token, context=CHANGE_CONTEXT
                )
            except DomainError:
                plain = ""
            values.append(_history_text(change.field, plain))
        (old, coded), (new, _) = values
        rows.append(ChangeRow(change.changed_at, change.actor_name, change.field, old, new, coded))
    return rows, total


@requires("customer.read")
def list_stale_verification(
    session: Session, *, actor: Actor, page: int = 1, page_size: int = 20
) -> tuple[list[StaleRow], int]:
    """Live customers not verified, or verified before stale_cutoff(): never-verified first,
    then the oldest verification; and their number."""
    window = page_window(page, page_size, max_size=MAX_PAGE_SIZE)
    condition = (
        Customer.merged_into_id.is_(None),
        Customer.destroyed_at.is_(None),  # a tombstone has nothing left to verify (issue 16)
        or_(
            Customer.verify_status != VerifyStatus.VERIFIED,
            Customer.verified_at.is_(None),
            Customer.verified_at < stale_cutoff(),
        ),
    )
    total = session.exec(select(func.count(Customer.id)).where(*condition)).scalar_one()
    customers = list(
        session.exec(
            select(Customer)
            .where(*condition)
            .order_by(Customer.verified_at.asc().nulls_first(), Customer.id)
            .offset(window.offset)
            .limit(window.limit)
        ).scalars()
    )
    names = display_names(session, [c.owner_id for c in customers])
    audit.record(session, actor=actor, action="customer.stale_list", detail={"page": window.number})
    return [
        StaleRow(
            c.id,
            c.number,
            c.name,
            c.kind,
            c.verify_status,
            c.verified_at,
            names.get(c.owner_id or 0, ""),
        )
        for c in customers
    ], total
