"""The customer form's input and its validation (SPEC §2, §6: every form validates on the
server; a bad value gets a message key next to its field; nothing is half-saved).

Form values arrive as text. Structured values are normalised (NFKC: full-width digits from
Chinese input methods become ASCII): mobiles to 11 digits, ID numbers and credit codes upper
case, dates to date, registered capital to integer fen through Decimal, never a float.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation

from sqlmodel import Session

from custapp import clock
from custapp.models import User
from custapp.security.validators import (
    REASON_PERSONAL,
    REQUIRED,
    holds_personal_number,
    validate_cn_id,
    validate_mobile,
    validate_uscc,
)
from custapp.services.customer_fields import FIELDS, GENDERS, ID_TYPES, NATURES, SOURCE_CHANNELS
from custapp.services.errors import ValidationFailed
from custapp.vocab import CustomerKind, IdType, Nature, UserKind

KINDS = tuple(CustomerKind)
INPUT_NAMES = {name: name.removesuffix("_fen") for name in FIELDS}
CHOICES = {
    "gender": GENDERS,
    "nature": NATURES,
    "source_channel": SOURCE_CHANNELS,
    "id_type": ID_TYPES,
}
DEFAULT_NATURE = {
    CustomerKind.INDIVIDUAL: Nature.INDIVIDUAL,
    CustomerKind.ORGANISATION: Nature.ENTERPRISE,
}
MAX_LENGTH = {
    "name": 100,
    "legal_representative": 50,
    "industry": 50,
    "size": 20,
    "id_number": 30,  # passports and other documents; a resident ID is checked exactly
    "address": 200,
    "employer": 100,
    "occupation": 50,
    "bank_account": 50,
    "credit_card": 50,
    "notes": 2000,
}
DEFAULT_MAX_LENGTH = 200
# Text stored as typed (stripped): plain general columns and encrypted free text.
FREE_TEXT = (
    "legal_representative",
    "industry",
    "size",
    "address",
    "employer",
    "occupation",
    "income",
    "assets",
    "property",
    "vehicles",
    "bank_account",
    "credit_card",
    "investments",
    "health",
    "notes",
)
MAX_FEN = 10**14  # ¥1 trillion: above any registered capital; far below the BIGINT limit
MAX_TAGS, MAX_TAG_LENGTH, MAX_CONTACTS = 20, 30, 20
CONTACT_TEXT_LENGTH = 50  # a contact person's name and title (the columns' size)
REASON_LENGTH = (2, 200)

_EMAIL_RE = re.compile(r"[^@\s]{1,64}@[^@\s.]+(\.[^@\s.]+)+")
_DATE_RE = re.compile(r"\d{4}-\d{2}-\d{2}")
_MONEY_RE = re.compile(r"\d{1,13}(\.\d{1,2})?")
# Fixed lines with area code (010-12345678, 0755 1234 5678-123) and 400/800 service numbers.
_LANDLINE_RE = re.compile(r"0\d{2,3}-?\d{7,8}(-\d{1,6})?|[48]00-?\d{3}-?\d{4}")


# --- input DTOs -------------------------------------------------------------------------------


@dataclass
class ContactInput:
    """A contact person of an organisation. On update, CustomerInput.contacts is the whole new
    list: `id` names a stored contact to keep or change (`phone=None` keeps its stored phone: the
    page never holds the plaintext), a row without `id` is added, and a stored contact missing
    from the list is removed. Rows left entirely empty are ignored."""

    name: str = ""
    title: str = ""
    phone: str | None = ""
    id: int | None = None


@dataclass
class CustomerInput:
    """The profile form, as text ("" = empty). On update, None means "leave as stored": the edit
    page passes None for the sensitive fields the user did not retype (see input_from_profile).

    Dates are "YYYY-MM-DD"; registered_capital is yuan ("100000.50"), stored as integer fen.
    owner_id: None = keep (create: the creating staff user), 0 = nobody.
    """

    kind: str = CustomerKind.INDIVIDUAL  # (fixed after creation)
    name: str | None = ""
    gender: str | None = ""  # GENDERS
    nature: str | None = ""  # NATURES; "" = individual / enterprise by kind
    source_channel: str | None = ""  # SOURCE_CHANNELS
    id_type: str | None = ""  # ID_TYPES; "" with an ID number = resident_id
    id_number: str | None = ""
    phone: str | None = ""  # mainland mobile
    phone2: str | None = ""  # mobile or fixed line with area code
    email: str | None = ""
    address: str | None = ""
    employer: str | None = ""
    occupation: str | None = ""
    birth_date: str | None = ""  # "" with a resident ID = the ID's birth date
    income: str | None = ""
    assets: str | None = ""
    property: str | None = ""
    vehicles: str | None = ""
    bank_account: str | None = ""
    credit_card: str | None = ""
    investments: str | None = ""
    health: str | None = ""
    notes: str | None = ""
    uscc: str | None = ""
    legal_representative: str | None = ""
    registered_capital: str | None = ""
    founding_date: str | None = ""
    industry: str | None = ""
    size: str | None = ""
    tags: list[str] | None = None  # None = keep (create: none)
    contacts: list[ContactInput] | None = None  # organisations; None = keep (create: none)
    owner_id: int | None = None
    second_contact_id: int | None = None


@dataclass(frozen=True)
class CleanContact:
    """A validated contact person; `id` names the stored contact it changes (None = a new one)."""

    id: int | None
    name: str
    title: str | None
    phone: str | None  # plaintext, normalised; service-internal only

    def shown(self) -> tuple[str, str | None, str | None]:
        """What a change compares and the history records: (name, title, phone)."""
        return (self.name, self.title, self.phone)


@dataclass
class Clean:
    """Validated values: FIELDS name -> stored value (None = empty; sensitive ones in plaintext)."""

    values: dict[str, object]
    tags: list[str]
    contacts: list[CleanContact]
    owner_id: int | None
    second_contact_id: int | None


# --- small parsers: (value, error key) -----------------------------------------------------------


def _nfkc(value: object) -> str:
    return unicodedata.normalize("NFKC", value).strip() if isinstance(value, str) else ""


def any_phone(value: str) -> tuple[str | None, str | None]:
    """A mobile number, or a fixed line with area code (backup phone, contact persons)."""
    mobile = validate_mobile(value)
    if mobile.ok:
        return mobile.value, None
    compact = re.sub(r"\s", "", _nfkc(value))
    if _LANDLINE_RE.fullmatch(compact):
        return compact, None
    return None, "customer.error.phone_format"


def parse_date(value: str, today: date) -> tuple[date | None, str | None]:
    text = _nfkc(value).replace("/", "-")
    if not _DATE_RE.fullmatch(text):
        return None, "customer.error.date_format"
    try:
        parsed = date.fromisoformat(text)
    except ValueError:
        return None, "customer.error.date_format"
    if not date(1900, 1, 1) <= parsed <= today:
        return None, "customer.error.date_range"
    return parsed, None


def parse_fen(value: str) -> tuple[int | None, str | None]:
    """Yuan text ("1,234.50", "¥100") to integer fen, through Decimal (never a float)."""
    text = re.sub(r"[\s,，¥￥]", "", _nfkc(value))
    if not _MONEY_RE.fullmatch(text):
        return None, "customer.error.money_format"
    try:
        fen = int(Decimal(text) * 100)
    except InvalidOperation:
        return None, "customer.error.money_format"
    if fen > MAX_FEN:
        return None, "customer.error.amount_too_large"
    return fen, None


def yuan_text(fen: int | None) -> str:
    """Integer fen as plain yuan text ("100000.50"), the form's format."""
    if fen is None:
        return ""
    return str((Decimal(fen) / 100).quantize(Decimal("0.01")))


def too_long(limit: int) -> str:
    """The message key for text over `limit` characters: it names the limit."""
    return f"customer.error.max_length_{limit}"


MAX_ROW_ID = 2**31 - 1  # the id columns are 32-bit integers on PostgreSQL


def is_row_id(value: object) -> bool:
    """Whether `value` can name a row: a whole number the id columns hold. Anything else a
    browser sends (text, a bool, a phone number as a number) finds nothing, on every backend."""
    return isinstance(value, int) and not isinstance(value, bool) and 0 < value <= MAX_ROW_ID


def row_id(value: object) -> int:
    """An id a browser sent as text or a number, as the int it names; 0 when it names no row
    (other text, "²", a number past the id columns)."""
    text = str(value).strip()
    number = int(text) if text.isdecimal() and len(text) < 19 else 0
    return number if is_row_id(number) else 0


def check_reason(reason: object) -> str:
    """A reason for a reveal or an override: 2..200 characters once stripped, and no mobile,
    ID or card number in it (the audit log stores it)."""
    text = reason.strip() if isinstance(reason, str) else ""
    if not REASON_LENGTH[0] <= len(text) <= REASON_LENGTH[1]:
        raise ValidationFailed({"reason": "customer.error.reason_required"})
    if holds_personal_number(text):
        raise ValidationFailed({"reason": REASON_PERSONAL})
    return text


def as_text(name: str, value: object) -> str:
    """A stored value as form text: the representation changes compare and history records."""
    if value is None:
        return ""
    if name == "registered_capital_fen":
        return yuan_text(value)  # type: ignore[arg-type]
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


# --- validation --------------------------------------------------------------------------------


def validate(
    session: Session,
    *,
    kind: str,
    values: dict[str, str],
    tags: Iterable[str],
    contacts: Iterable[ContactInput],
    owner_id: int | None,
    second_contact_id: int | None,
    current_staff: Iterable[int | None] = (),
) -> Clean:
    """Check every field; raise ValidationFailed with one message key per bad form field."""
    errors: dict[str, str] = {}
    out: dict[str, object] = dict.fromkeys(FIELDS)
    today = clock.local_today()
    applicable = {name for name, spec in FIELDS.items() if kind in spec.kinds}

    def text(name: str) -> str:
        return str(values.get(name) or "").strip() if name in applicable else ""

    def put(name: str, value: object, error: str | None) -> None:
        if error:
            errors[INPUT_NAMES[name]] = error
        else:
            out[name] = value

    name = text("name")
    put("name", name, None if name else REQUIRED)
    for choice, allowed in CHOICES.items():
        chosen = text(choice)
        bad = chosen and chosen not in allowed
        put(choice, chosen or None, "customer.error.invalid_choice" if bad else None)
    if not out["nature"] and "nature" not in errors:
        out["nature"] = DEFAULT_NATURE.get(kind, "individual")
    for field_name in FREE_TEXT:
        put(field_name, text(field_name) or None, None)
    for field_name in ("name", *FREE_TEXT):
        limit = MAX_LENGTH.get(field_name, DEFAULT_MAX_LENGTH)
        if len(text(field_name)) > limit:
            errors[INPUT_NAMES[field_name]] = too_long(limit)

    if phone := text("phone"):
        mobile = validate_mobile(phone)
        put("phone", mobile.value, mobile.error)
    if phone2 := text("phone2"):
        put("phone2", *any_phone(phone2))
    if email := _nfkc(text("email")):
        ok = len(email) <= 254 and _EMAIL_RE.fullmatch(email)
        put("email", email, None if ok else "customer.error.email_format")
    if uscc := text("uscc"):
        checked = validate_uscc(uscc)
        put("uscc", checked.value, checked.error)
    if capital := text("registered_capital_fen"):
        put("registered_capital_fen", *parse_fen(capital))
    if founded := text("founding_date"):
        put("founding_date", *parse_date(founded, today))

    id_birth = None
    if id_number := text("id_number"):
        if out["id_type"] is None and "id_type" not in errors:
            out["id_type"] = IdType.RESIDENT_ID
        if out["id_type"] == IdType.RESIDENT_ID:
            checked = validate_cn_id(id_number, today=today)
            put("id_number", checked.value, checked.error)
            id_birth = checked.birth_date
        else:
            other = "".join(_nfkc(id_number).split()).upper()
            limit = MAX_LENGTH["id_number"]
            put("id_number", other, too_long(limit) if len(other) > limit else None)
    birth = None
    if birth_text := text("birth_date"):
        birth, error = parse_date(birth_text, today)
        if error:
            errors["birth_date"] = error
        elif id_birth and birth != id_birth:
            errors["birth_date"] = "customer.error.birth_mismatch"
    birth = birth or id_birth
    out["birth_date"] = birth.isoformat() if birth and "birth_date" not in errors else None

    clean_contacts: list[CleanContact] = []
    for row, contact in enumerate(contacts if kind == CustomerKind.ORGANISATION else ()):
        # errors go to the contact's row (contact_<position in `contacts`>)
        c_name, c_title = (contact.name or "").strip(), (contact.title or "").strip()
        c_phone = (contact.phone or "").strip()
        if not (c_name or c_title or c_phone):
            continue  # an empty row of the form
        error = None
        phone_value = None
        if c_phone:
            phone_value, error = any_phone(c_phone)
        if not c_name:
            error = "customer.error.contact_name_required"
        elif max(len(c_name), len(c_title)) > CONTACT_TEXT_LENGTH:
            error = too_long(CONTACT_TEXT_LENGTH)
        if error:
            errors[f"contact_{row}"] = error
        clean_contacts.append(CleanContact(contact.id, c_name, c_title or None, phone_value))
    if len(clean_contacts) > MAX_CONTACTS:
        errors["contacts"] = "customer.error.too_many"

    # a contact method typed wrongly already has its own message
    tried = {"phone", "phone2", "email"} & errors.keys() or any(
        key.startswith("contact_") for key in errors
    )
    if not tried and not (
        out["phone"] or out["phone2"] or out["email"] or any(c.phone for c in clean_contacts)
    ):
        errors.setdefault("phone", "customer.error.contact_required")
        if (
            kind == CustomerKind.ORGANISATION
        ):  # shown where the last contact person was removed, too
            errors.setdefault("contacts", "customer.error.contact_required")

    clean_tags: list[str] = []
    for tag in tags:
        tag = _nfkc(tag)
        if not tag:
            continue
        if len(tag) > MAX_TAG_LENGTH:
            errors["tags"] = "customer.error.tag_too_long"
        elif tag not in clean_tags:
            clean_tags.append(tag)
    if len(clean_tags) > MAX_TAGS:
        errors["tags"] = "customer.error.too_many"

    unchanged = set(current_staff)
    for key, user_id in (("owner_id", owner_id), ("second_contact_id", second_contact_id)):
        if user_id is not None and user_id not in unchanged and not _active_staff(session, user_id):
            errors[key] = "customer.error.unknown_user"

    if errors:
        raise ValidationFailed(errors)
    return Clean(out, clean_tags, clean_contacts, owner_id, second_contact_id)


def _active_staff(session: Session, user_id: int) -> bool:
    user = session.get(User, user_id)
    return user is not None and user.kind == UserKind.STAFF and user.is_active
