"""Which customer field is how sensitive, how it is masked, indexed and explained (SPEC §2).

The one table every customer service reads: add a field here and in the model, nothing else.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlmodel import Session

from custapp.models import Customer
from custapp.security import crypto, masking
from custapp.security.keys import get_keys
from custapp.services import datakeys
from custapp.vocab import (
    CustomerKind,
    Gender,
    Grade,
    IdType,
    Lifecycle,
    Nature,
    SourceChannel,
    ValueClass,
    VerifyStatus,
)


@dataclass(frozen=True)
class FieldSpec:
    name: str
    level: int  # 0 general, 1-3 sensitive (customer.reveal.l1..l3), 9 free text (staff notes)
    mask_kind: str = "generic"  # security.masking kind
    index_kind: str | None = None  # blind index kind: phone | id_number | email
    kinds: tuple[str, ...] = tuple(CustomerKind)

    @property
    def encrypted(self) -> bool:
        return self.level > 0

    @property
    def column(self) -> str:
        return f"{self.name}_enc" if self.encrypted else self.name

    @property
    def label_key(self) -> str:
        return f"customer.field.{self.name}"

    @property
    def why_key(self) -> str:
        """Minimum collection (CON-11): the form says why each optional field is asked."""
        return f"customer.why.{self.name}"


_IND = (CustomerKind.INDIVIDUAL,)
_ORG = (CustomerKind.ORGANISATION,)

FIELDS: dict[str, FieldSpec] = {
    spec.name: spec
    for spec in (
        FieldSpec("name", 0),
        FieldSpec("gender", 0, kinds=_IND),
        FieldSpec("nature", 0),
        FieldSpec("source_channel", 0),
        FieldSpec("id_type", 0, kinds=_IND),
        FieldSpec("id_number", 1, "id_number", "id_number", kinds=_IND),
        FieldSpec("phone", 1, "phone", "phone"),
        FieldSpec("phone2", 1, "phone", "phone"),
        FieldSpec("email", 1, "email", "email"),
        FieldSpec("address", 1, "address"),
        FieldSpec("employer", 1, kinds=_IND),
        FieldSpec("occupation", 1, kinds=_IND),
        FieldSpec("birth_date", 1, "birth_date", kinds=_IND),
        FieldSpec("income", 2, kinds=_IND),
        FieldSpec("assets", 2),
        FieldSpec("property", 2),
        FieldSpec("vehicles", 2),
        FieldSpec("bank_account", 3, "bank_account"),
        FieldSpec("credit_card", 3, "bank_account", kinds=_IND),
        FieldSpec("investments", 3),
        FieldSpec("health", 3, kinds=_IND),
        FieldSpec("notes", 9),
        FieldSpec("uscc", 0, kinds=_ORG),
        FieldSpec("legal_representative", 0, kinds=_ORG),
        FieldSpec("registered_capital_fen", 0, kinds=_ORG),
        FieldSpec("founding_date", 0, kinds=_ORG),
        FieldSpec("industry", 0, kinds=_ORG),
        FieldSpec("size", 0, kinds=_ORG),
    )
}

SENSITIVE = tuple(f for f in FIELDS.values() if 1 <= f.level <= 3)
NATURES = tuple(Nature)
SOURCE_CHANNELS = tuple(SourceChannel)
GENDERS = tuple(Gender)
ID_TYPES = tuple(IdType)
LIFECYCLES = tuple(Lifecycle)
GRADES = tuple(Grade)
VALUE_CLASSES = tuple(ValueClass)
VERIFY_STATUSES = tuple(VerifyStatus)


def context(field: str) -> str:
    """AAD for a customer field: a ciphertext cannot be moved to another column."""
    return f"customer.{field}"


def blind_index(kind: str, value: str) -> str:
    return crypto.blind_index(get_keys().index, kind, value)


def birthday_index(birth: object) -> str:
    """The keyed index of a birth date's month and day ("1990-05-06" → index of "05-06"): the care
    calendar looks birthdays up by it. It tells only who shares a birthday, never the date."""
    return blind_index("birth_md", str(birth)[5:10])


def read(session: Session, customer: Customer, field: str) -> str:
    """The plaintext of one field (general fields as text). Only inside a service call."""
    spec = FIELDS[field]
    raw = getattr(customer, spec.column)
    if not spec.encrypted:
        return "" if raw is None else str(raw)
    return datakeys.decrypt(session, customer.data_key_id, raw, context=context(field))


def write(session: Session, customer: Customer, field: str, value: str | None) -> None:
    """Store one sensitive field encrypted, with its blind index when it has one."""
    spec = FIELDS[field]
    value = (value or "").strip() or None
    setattr(
        customer,
        spec.column,
        datakeys.encrypt(session, customer.data_key_id, value, context=context(field)),
    )
    if spec.index_kind:
        setattr(customer, f"{field}_bidx", blind_index(spec.index_kind, value) if value else None)


def masked(field: str, plaintext: str) -> str:
    spec = FIELDS[field]
    if not plaintext:
        return ""
    return masking.mask(spec.mask_kind, plaintext) if 1 <= spec.level <= 3 else plaintext
