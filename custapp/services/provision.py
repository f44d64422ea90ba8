"""对外提供 and 依法披露 (SPEC §4; 000 CN-08..10, 002 CON-13..16, 003/004 CN-07..09).

- A recipient (接收方) exists only with a signed confidentiality agreement (保密协议: reference and
  date) and an oversight note (监督管理说明); an inactive recipient receives nothing.
- A provision (对外提供) records the recipient, the customers (listed by number, or a segment of
  the archive), the data categories, the purpose, the period and the contract reference, and for
  each customer the consent event it relies on. It is refused, with nothing saved, when any
  included customer's current consent does not cover the purpose (`consent.permits`); the
  refusal names them. The attempt itself is audited (without personal data).
- A disclosure required by law (依法披露) is recorded with the authority, the legal basis and the
  document, without consent.

The system keeps records of provisions; it has no export path that hands data to anyone, and
selling, renting or exchanging customer data is not one of its functions (002 CON-13).
"""

from __future__ import annotations

import json
import re
import unicodedata
from dataclasses import asdict, dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import func, insert, select
from sqlmodel import Session

from custapp import clock
from custapp.models import (
    ConsentEvent,
    ConsentState,
    Customer,
    LegalDisclosure,
    Provision,
    ProvisionCustomer,
    Purpose,
    Recipient,
)
from custapp.services import audit, consent, customer_search
from custapp.services.actor import Actor
from custapp.services.customer_input import parse_date
from custapp.services.customers import display_names, survivor
from custapp.services.errors import NotFound, ValidationFailed
from custapp.services.guard import requires
from custapp.services.paging import page_window
from custapp.vocab import ConsentStatus, ProvisionCategory, PurposeCode

# What may be provided or disclosed, as codes (labels: provision.category.<code>).
CATEGORIES = tuple(ProvisionCategory)
# Provision rests on its own consent (PIPL art. 23); abroad, on the cross-border one (art. 39).
# Marketing or analytics consent never covers giving data to another organisation.
PROVISION_PURPOSES = (PurposeCode.THIRD_PARTY, PurposeCode.CROSS_BORDER)
MAX_CUSTOMERS = 10_000  # per provision, listed or by segment
MAX_PERIOD_DAYS = 5 * 366  # a longer period is a typo, or needs a new contract anyway
REFUSAL_SHOWN = 50  # refused customers named in the answer; the rest are counted
MAX_PAGE_SIZE = 100
_CHUNK = 1000  # ids per IN list
_NUMBER_RE = re.compile(r"C[0-9]{11}")
_SEPARATORS = re.compile(r"[\s,，、;；]+")
_NO_LIMIT = date(9999, 12, 31)

LIMITS = {
    "name": 100,
    "contact": 100,
    "nda_reference": 60,
    "oversight_note": 500,
    "contract_reference": 60,
    "authority": 100,
    "legal_basis": 200,
    "document_reference": 60,
    "harm_note": 500,
}


# --- DTOs ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RecipientRow:
    id: int
    name: str
    contact: str
    nda_reference: str
    nda_signed_on: date
    oversight_note: str
    active: bool
    provisions: int
    created_at: datetime


@dataclass(frozen=True)
class ProvisionRow:
    id: int
    recipient_id: int
    recipient_name: str
    purpose: str
    purpose_name: str
    categories: list[str]
    period_from: date
    period_to: date
    contract_reference: str
    by_segment: bool
    customer_count: int
    created_at: datetime
    created_by: str


@dataclass(frozen=True)
class RefusedCustomer:
    number: str
    name: str  # "" when no customer has the number
    reason: str  # i18n key: consent.why.* or provision.why.*
    params: dict[str, str]


@dataclass(frozen=True)
class ProvisionOutcome:
    """A provision saved, or refused with nothing saved and the first refused customers named."""

    provision: ProvisionRow | None
    refused: list[RefusedCustomer]
    refused_total: int


@dataclass(frozen=True)
class ProvidedCustomer:
    customer_id: int
    number: str
    name: str
    consent_event_id: int
    consented_at: datetime


@dataclass(frozen=True)
class DisclosureRow:
    id: int
    customer_id: int
    customer_number: str
    customer_name: str
    authority: str
    legal_basis: str
    document_reference: str
    categories: list[str]
    harm_note: str
    disclosed_on: date
    created_at: datetime
    created_by: str


# --- input rules -----------------------------------------------------------------------------------


def _text(value: object, field: str, errors: dict[str, str], *, required: bool = True) -> str:
    text = unicodedata.normalize("NFKC", str(value or "")).strip()
    if required and not text:
        errors[field] = f"provision.error.{field}_required"
    elif len(text) > LIMITS[field]:
        errors[field] = f"provision.error.too_long_{LIMITS[field]}"
    return text


def _day(value: object, field: str, errors: dict[str, str], *, latest: date) -> date | None:
    """A calendar date typed or picked (YYYY-MM-DD), at most `latest`."""
    if isinstance(value, datetime):
        value = clock.to_local(value).date()
    if isinstance(value, date):
        if value > latest:
            errors[field] = "customer.error.date_range"
        return value
    if not str(value or "").strip():
        errors[field] = f"provision.error.{field}_required"
        return None
    parsed, error = parse_date(str(value), latest)
    if error:
        errors[field] = error
    return parsed


def _categories(value: object, errors: dict[str, str]) -> str:
    chosen = set(value.split(",") if isinstance(value, str) else (value or ()))
    if not chosen or not chosen <= set(CATEGORIES):
        errors["categories"] = "provision.error.categories"
        return ""
    return ",".join(c for c in CATEGORIES if c in chosen)


def parse_numbers(text: str) -> list[str]:
    """Customer numbers typed or pasted: one per line, or separated by commas (any width) or
    spaces; upper-cased, each once, in the order given."""
    normalised = unicodedata.normalize("NFKC", text or "").upper()
    return list(dict.fromkeys(p for p in _SEPARATORS.split(normalised) if p))


def _recipient_input(
    session: Session, recipient_id: int | None, fields: dict[str, object]
) -> dict[str, object]:
    errors: dict[str, str] = {}
    values: dict[str, object] = {
        "name": _text(fields.get("name"), "name", errors),
        "contact": _text(fields.get("contact"), "contact", errors, required=False),
        "nda_reference": _text(fields.get("nda_reference"), "nda_reference", errors),
        "oversight_note": _text(fields.get("oversight_note"), "oversight_note", errors),
        "nda_signed_on": _day(
            fields.get("nda_signed_on"), "nda_signed_on", errors, latest=clock.local_today()
        ),
    }
    if "name" not in errors:
        same = session.exec(
            select(Recipient.id).where(func.lower(Recipient.name) == values["name"].lower())
        ).first()
        if same is not None and same[0] != recipient_id:
            errors["name"] = "provision.error.name_taken"
    if errors:
        raise ValidationFailed(errors)
    return values


# --- recipients (接收方) ------------------------------------------------------------------------


def _recipient_row(recipient: Recipient, provisions: int) -> RecipientRow:
    return RecipientRow(
        id=recipient.id,
        name=recipient.name,
        contact=recipient.contact,
        nda_reference=recipient.nda_reference,
        nda_signed_on=recipient.nda_signed_on,
        oversight_note=recipient.oversight_note,
        active=recipient.active,
        provisions=provisions,
        created_at=recipient.created_at,
    )


@requires("provision.manage")
def add_recipient(
    session: Session,
    *,
    actor: Actor,
    name: str,
    nda_reference: str,
    nda_signed_on: date | str,
    oversight_note: str,
    contact: str = "",
) -> RecipientRow:
    """A new recipient: only with its confidentiality agreement (reference and signing date) and
    how it is overseen (000 CN-09)."""
    values = _recipient_input(
        session,
        None,
        {
            "name": name,
            "contact": contact,
            "nda_reference": nda_reference,
            "nda_signed_on": nda_signed_on,
            "oversight_note": oversight_note,
        },
    )
    recipient = Recipient(**values, created_at=clock.now(), created_by=actor.user_id)
    session.add(recipient)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="provision.add_recipient",
        target_type="recipient",
        target_id=recipient.id,
    )
    return _recipient_row(recipient, 0)


def _get_recipient(session: Session, recipient_id: int) -> Recipient:
    recipient = session.get(Recipient, recipient_id)
    if recipient is None:
        raise NotFound("provision.error.recipient_not_found")
    return recipient


@requires("provision.manage")
def update_recipient(
    session: Session,
    *,
    actor: Actor,
    recipient_id: int,
    name: str,
    nda_reference: str,
    nda_signed_on: date | str,
    oversight_note: str,
    contact: str = "",
) -> RecipientRow:
    """Edit a recipient (a renewed agreement, a new contact); the audit names the fields."""
    recipient = _get_recipient(session, recipient_id)
    values = _recipient_input(
        session,
        recipient.id,
        {
            "name": name,
            "contact": contact,
            "nda_reference": nda_reference,
            "nda_signed_on": nda_signed_on,
            "oversight_note": oversight_note,
        },
    )
    changed = [f for f, v in values.items() if getattr(recipient, f) != v]
    for field in changed:
        setattr(recipient, field, values[field])
    if changed:
        audit.record(
            session,
            actor=actor,
            action="provision.update_recipient",
            target_type="recipient",
            target_id=recipient.id,
            fields=changed,
        )
    return _recipient_row(recipient, _provision_count(session, recipient.id))


@requires("provision.manage")
def set_recipient_active(
    session: Session, *, actor: Actor, recipient_id: int, active: bool
) -> RecipientRow:
    """Deactivate a recipient (it receives nothing more; its provisions stay on record), or
    activate it again."""
    recipient = _get_recipient(session, recipient_id)
    if recipient.active != bool(active):
        recipient.active = bool(active)
        audit.record(
            session,
            actor=actor,
            action="provision.set_recipient_active",
            target_type="recipient",
            target_id=recipient.id,
            detail={"active": recipient.active},
        )
    return _recipient_row(recipient, _provision_count(session, recipient.id))


def _provision_count(session: Session, recipient_id: int) -> int:
    return session.exec(
        select(func.count(Provision.id)).where(Provision.recipient_id == recipient_id)
    ).scalar_one()


@requires("provision.manage", reads=True)
def list_recipients(
    session: Session, *, actor: Actor, page: int = 1, page_size: int = 20
) -> tuple[list[RecipientRow], int]:
    """Active recipients first, by name; one page and the count."""
    window = page_window(page, page_size, max_size=MAX_PAGE_SIZE)
    total = session.exec(select(func.count(Recipient.id))).scalar_one()
    counts = (
        select(Provision.recipient_id, func.count(Provision.id).label("n"))
        .group_by(Provision.recipient_id)
        .subquery()
    )
    found = session.exec(
        select(Recipient, func.coalesce(counts.c.n, 0))
        .outerjoin(counts, counts.c.recipient_id == Recipient.id)
        .order_by(Recipient.active.desc(), Recipient.name, Recipient.id)
        .offset(window.offset)
        .limit(window.limit)
    ).all()
    return [_recipient_row(r, n) for r, n in found], total


RECIPIENT_CHOICES = 200


@requires("provision.manage", reads=True)
def recipient_choices(session: Session, *, actor: Actor) -> list[tuple[int, str]]:
    """The active recipients a provision may name, (id, name) by name."""
    return [
        (row[0], row[1])
        for row in session.exec(
            select(Recipient.id, Recipient.name)
            .where(Recipient.active)
            .order_by(Recipient.name)
            .limit(RECIPIENT_CHOICES)
        ).all()
    ]


@requires("provision.manage", reads=True)
def purpose_choices(
    session: Session, *, actor: Actor, locale: str | None = None
) -> list[tuple[str, str]]:
    """The provision purposes usable now (enabled and named by the current notice)."""
    rows = []
    for code in PROVISION_PURPOSES:
        purpose = session.get(Purpose, code)
        if purpose is not None and consent.purpose_usable(session, code):
            rows.append((code, consent.purpose_name(purpose, locale)))
    return rows


# --- provisions (对外提供) ----------------------------------------------------------------------


def _chunks(values: list, size: int = _CHUNK):  # noqa: ANN202
    for start in range(0, len(values), size):
        yield values[start : start + size]


def _customers_by_number(session: Session, numbers: list[str]) -> dict[str, tuple]:
    found: dict[str, tuple] = {}
    for chunk in _chunks(numbers):
        for row in session.exec(
            select(Customer.id, Customer.number, Customer.name, Customer.merged_into_id).where(
                Customer.number.in_(chunk)
            )
        ).all():
            found[row[1]] = tuple(row)
    return found


def _segment_customers(session: Session, filters: customer_search.CustomerFilter) -> list[tuple]:
    """The live customers of the segment, at most MAX_CUSTOMERS + 1 (one more tells "too many")."""
    live = customer_search.CustomerFilter(**{**asdict(filters), "include_merged": False})
    return [
        tuple(row)
        for row in session.exec(
            select(Customer.id, Customer.number, Customer.name, Customer.merged_into_id)
            .where(*customer_search.filter_conditions(live))
            .order_by(Customer.number)
            .limit(MAX_CUSTOMERS + 1)
        ).all()
    ]


def _consents(session: Session, purpose: str, ids: list[int]) -> dict[int, tuple[str, int]]:
    """{customer id: (state, last event id)} for the purpose, locked until the provision commits
    (a withdrawal at the same moment waits, then takes effect after it)."""
    states: dict[int, tuple[str, int]] = {}
    for chunk in _chunks(ids):
        for customer_id, state, event_id in session.exec(
            select(ConsentState.customer_id, ConsentState.state, ConsentState.last_event_id)
            .where(ConsentState.purpose == purpose, ConsentState.customer_id.in_(chunk))
            .with_for_update()
        ).all():
            states[customer_id] = (state, event_id)
    return states


def _refusals(session: Session, purpose: str, problems: list[tuple]) -> list[RefusedCustomer]:
    """The first REFUSAL_SHOWN refused customers, each with why: (number, row or None)."""
    shown = []
    for number, row in problems[:REFUSAL_SHOWN]:
        if row is None:
            shown.append(RefusedCustomer(number, "", "provision.why.unknown", {}))
        elif row[3] is not None:
            kept, _ = survivor(session, row[0])
            shown.append(
                RefusedCustomer(number, row[2], "provision.why.merged", {"survivor": kept.number})
            )
        else:
            reason = consent.why_not(session, customer_id=row[0], purpose=purpose)
            shown.append(RefusedCustomer(number, row[2], reason, {}))
    return shown


def _check_provision_input(
    session: Session,
    *,
    recipient_id: int | None,
    purpose: str,
    categories: object,
    period_from: object,
    period_to: object,
    contract_reference: str,
    numbers: str,
    segment: customer_search.CustomerFilter | None,
) -> tuple[Recipient | None, dict[str, object]]:
    errors: dict[str, str] = {}
    recipient = session.get(Recipient, recipient_id) if recipient_id else None
    if recipient is None:
        errors["recipient"] = "provision.error.recipient_required"
    elif not recipient.active:
        errors["recipient"] = "provision.error.recipient_inactive"
    elif not (recipient.nda_reference and recipient.nda_signed_on):
        errors["recipient"] = "provision.error.recipient_no_nda"
    if purpose not in PROVISION_PURPOSES:
        errors["purpose"] = "provision.error.purpose"
    elif not consent.purpose_usable(session, purpose):
        errors["purpose"] = "consent.why.purpose_unusable"
    values: dict[str, object] = {
        "categories": _categories(categories, errors),
        "contract_reference": _text(contract_reference, "contract_reference", errors),
    }
    start = _day(period_from, "period_from", errors, latest=_NO_LIMIT)
    end = _day(period_to, "period_to", errors, latest=_NO_LIMIT)
    today = clock.local_today()
    if start is not None and "period_from" not in errors and start < today:
        errors["period_from"] = "provision.error.period_past"
    if start and end and "period_to" not in errors:
        if end < start:
            errors["period_to"] = "provision.error.period_order"
        elif (end - start) > timedelta(days=MAX_PERIOD_DAYS):
            errors["period_to"] = "provision.error.period_long"
    values.update(period_from=start, period_to=end)
    listed = parse_numbers(numbers)
    if segment is None:
        if not listed:
            errors["customers"] = "provision.error.customers_required"
        elif len(listed) > MAX_CUSTOMERS:
            errors["customers"] = "provision.error.too_many"
        elif any(not _NUMBER_RE.fullmatch(n) for n in listed):
            # not echoed: a pasted phone or ID number must not come back to the page
            errors["customers"] = "provision.error.bad_numbers"
    elif listed:
        errors["customers"] = "provision.error.numbers_or_segment"
    values["numbers"] = listed
    if errors:
        raise ValidationFailed(errors)
    return recipient, values


@requires("provision.manage")
def create_provision(
    session: Session,
    *,
    actor: Actor,
    recipient_id: int | None,
    purpose: str,
    categories: list[str] | str,
    period_from: date | str,
    period_to: date | str,
    contract_reference: str,
    numbers: str = "",
    segment: customer_search.CustomerFilter | None = None,
) -> ProvisionOutcome:
    """对外提供 to a recipient, of the customers listed by `numbers` (one per line or separated
    by commas) or of a `segment` of the archive (the customer list's filters).

    Every included customer's current consent must cover `purpose` (`consent.permits`): else
    nothing is saved and the outcome names the refused customers (the first REFUSAL_SHOWN, and
    how many in all). A number of a merged customer is refused with the number it was merged
    into: the provision names the customers exactly as the contract does.
    """
    recipient, values = _check_provision_input(
        session, recipient_id=recipient_id, purpose=purpose, categories=categories,
        period_from=period_from, period_to=period_to, contract_reference=contract_reference,
        numbers=numbers, segment=segment,
    )  # fmt: skip
    listed: list[str] = values.pop("numbers")  # type: ignore[assignment]
    if segment is None:
        by_number = _customers_by_number(session, listed)
        included = [(n, by_number.get(n)) for n in listed]
    else:
        rows = _segment_customers(session, segment)
        if not rows:
            raise ValidationFailed({"customers": "provision.error.segment_empty"})
        if len(rows) > MAX_CUSTOMERS:
            raise ValidationFailed({"customers": "provision.error.too_many"})
        included = [(row[1], row) for row in rows]
    live = [row[0] for _, row in included if row is not None and row[3] is None]
    states = _consents(session, purpose, live)
    problems = [
        (number, row)
        for number, row in included
        if row is None
        or row[3] is not None
        or states.get(row[0], ("",))[0] != ConsentStatus.GRANTED
    ]
    detail = {
        "recipient": recipient.id,
        "purpose": purpose,
        "categories": values["categories"],
        "customers": len(included),
    }
    if problems:
        audit.record(
            session,
            actor=actor,
            action="provision.create",
            outcome="refused",
            target_type="recipient",
            target_id=recipient.id,
            detail={**detail, "refused": len(problems)},
        )
        return ProvisionOutcome(None, _refusals(session, purpose, problems), len(problems))
    provision = Provision(
        recipient_id=recipient.id,
        purpose=purpose,
        segment=_segment_json(segment),
        customer_count=len(included),
        created_at=clock.now(),
        created_by=actor.user_id,
        **values,
    )
    session.add(provision)
    session.flush()
    connection = session.connection()
    for chunk in _chunks(live):
        connection.execute(
            insert(ProvisionCustomer.__table__),
            [
                {"provision_id": provision.id, "customer_id": i, "consent_event_id": states[i][1]}
                for i in chunk
            ],
        )
    audit.record(
        session,
        actor=actor,
        action="provision.create",
        target_type="provision",
        target_id=provision.id,
        detail=detail,
    )
    name = _purpose_names(session, actor.locale).get(purpose, purpose)
    row = _provision_row(provision, recipient.name, name, actor.display_name)
    return ProvisionOutcome(row, [], 0)


def _segment_json(segment: customer_search.CustomerFilter | None) -> str | None:
    if segment is None:
        return None
    used = {k: v for k, v in asdict(segment).items() if v not in (None, "", False)}
    return json.dumps(used, ensure_ascii=False, sort_keys=True)


def _split(categories: str) -> list[str]:
    return [c for c in categories.split(",") if c]


def _purpose_names(session: Session, locale: str | None) -> dict[str, str]:
    return {p.code: consent.purpose_name(p, locale) for p in consent.purposes(session)}


def _provision_row(
    provision: Provision, recipient_name: str, purpose_name: str, created_by: str
) -> ProvisionRow:
    return ProvisionRow(
        id=provision.id,
        recipient_id=provision.recipient_id,
        recipient_name=recipient_name,
        purpose=provision.purpose,
        purpose_name=purpose_name,
        categories=_split(provision.categories),
        period_from=provision.period_from,
        period_to=provision.period_to,
        contract_reference=provision.contract_reference,
        by_segment=provision.segment is not None,
        customer_count=provision.customer_count,
        created_at=provision.created_at,
        created_by=created_by,
    )


@requires("provision.manage", reads=True)
def list_provisions(
    session: Session, *, actor: Actor, page: int = 1, page_size: int = 20, locale: str | None = None
) -> tuple[list[ProvisionRow], int]:
    """Provisions, newest first; one page and the count."""
    window = page_window(page, page_size, max_size=MAX_PAGE_SIZE)
    total = session.exec(select(func.count(Provision.id))).scalar_one()
    found = session.exec(
        select(Provision, Recipient.name)
        .join(Recipient, Recipient.id == Provision.recipient_id)
        .order_by(Provision.id.desc())
        .offset(window.offset)
        .limit(window.limit)
    ).all()
    names = display_names(session, (p.created_by for p, _ in found))
    purposes = _purpose_names(session, locale)
    return [
        _provision_row(p, r, purposes.get(p.purpose, p.purpose), names.get(p.created_by, ""))
        for p, r in found
    ], total


@requires("provision.manage", reads=True)
def provision_customers(
    session: Session, *, actor: Actor, provision_id: int, page: int = 1, page_size: int = 20
) -> tuple[list[ProvidedCustomer], int]:
    """The customers of one provision, by number, each with the consent event relied on."""
    if session.get(Provision, provision_id) is None:
        raise NotFound("provision.error.not_found")
    window = page_window(page, page_size, max_size=MAX_PAGE_SIZE)
    where = ProvisionCustomer.provision_id == provision_id
    total = session.exec(
        select(func.count()).select_from(ProvisionCustomer).where(where)
    ).scalar_one()
    found = session.exec(
        select(
            Customer.id, Customer.number, Customer.name, ConsentEvent.id, ConsentEvent.created_at
        )
        .select_from(ProvisionCustomer)
        .join(Customer, Customer.id == ProvisionCustomer.customer_id)
        .join(ConsentEvent, ConsentEvent.id == ProvisionCustomer.consent_event_id)
        .where(where)
        .order_by(Customer.number)
        .offset(window.offset)
        .limit(window.limit)
    ).all()
    return [ProvidedCustomer(*row) for row in found], total


# --- legally required disclosures (依法披露) ----------------------------------------------------


@requires("provision.manage")
def record_disclosure(
    session: Session,
    *,
    actor: Actor,
    customer_number: str,
    authority: str,
    legal_basis: str,
    document_reference: str,
    categories: list[str] | str,
    disclosed_on: date | str,
    harm_note: str,
) -> DisclosureRow:
    """A disclosure that law or a regulator required (002 CON-16): no consent is asked; the
    authority, the legal basis, the document and what was done to keep the harm to the customer
    small are recorded."""
    errors: dict[str, str] = {}
    number = unicodedata.normalize("NFKC", customer_number or "").strip().upper()
    customer = None
    if not number:
        errors["customer_number"] = "provision.error.customer_number_required"
    elif not _NUMBER_RE.fullmatch(number):
        errors["customer_number"] = "provision.error.customer_number_format"
    else:
        customer = session.exec(
            select(Customer).where(Customer.number == number)
        ).scalar_one_or_none()
        if customer is None:
            errors["customer_number"] = "provision.why.unknown"
        elif customer.merged_into_id is not None:
            errors["customer_number"] = "provision.error.customer_merged"
    values = {
        "authority": _text(authority, "authority", errors),
        "legal_basis": _text(legal_basis, "legal_basis", errors),
        "document_reference": _text(document_reference, "document_reference", errors),
        "harm_note": _text(harm_note, "harm_note", errors),
        "categories": _categories(categories, errors),
        "disclosed_on": _day(disclosed_on, "disclosed_on", errors, latest=clock.local_today()),
    }
    if errors:
        raise ValidationFailed(errors)
    disclosure = LegalDisclosure(
        customer_id=customer.id, created_at=clock.now(), created_by=actor.user_id, **values
    )
    session.add(disclosure)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="provision.record_disclosure",
        customer_id=customer.id,
        detail={"disclosure": disclosure.id, "categories": values["categories"]},
    )
    return _disclosure_row(disclosure, customer.number, customer.name, actor.display_name)


def _disclosure_row(d: LegalDisclosure, number: str, name: str, by: str) -> DisclosureRow:
    return DisclosureRow(
        id=d.id,
        customer_id=d.customer_id,
        customer_number=number,
        customer_name=name,
        authority=d.authority,
        legal_basis=d.legal_basis,
        document_reference=d.document_reference,
        categories=_split(d.categories),
        harm_note=d.harm_note,
        disclosed_on=d.disclosed_on,
        created_at=d.created_at,
        created_by=by,
    )


@requires("provision.manage", reads=True)
def list_disclosures(
    session: Session, *, actor: Actor, page: int = 1, page_size: int = 20
) -> tuple[list[DisclosureRow], int]:
    """Legally required disclosures, the latest disclosed first; one page and the count."""
    window = page_window(page, page_size, max_size=MAX_PAGE_SIZE)
    total = session.exec(select(func.count(LegalDisclosure.id))).scalar_one()
    found = session.exec(
        select(LegalDisclosure, Customer.number, Customer.name)
        .join(Customer, Customer.id == LegalDisclosure.customer_id)
        .order_by(LegalDisclosure.disclosed_on.desc(), LegalDisclosure.id.desc())
        .offset(window.offset)
        .limit(window.limit)
    ).all()
    names = display_names(session, (d.created_by for d, _, _ in found))
    return [_disclosure_row(d, n, c, names.get(d.created_by, "")) for d, n, c in found], total
