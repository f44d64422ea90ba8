"""What the customer form holds, as typed rows: the form's starting values (and the masks shown
for stored sensitive values), the contact persons of an organisation, the duplicate candidates."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping

TEXT_FIELDS = (
    "name", "phone", "phone2", "email", "address", "id_number", "birth_date", "employer",
    "occupation", "uscc", "legal_representative", "registered_capital", "founding_date",
    "industry", "size", "notes",
)  # fmt: skip
CHOICE_FIELDS = ("gender", "nature", "source_channel", "id_type")


@dataclasses.dataclass(frozen=True)
class FieldValues:
    """One text per input of the form, "" for none: the values an edit starts from (`prefill`),
    or the masked stored values shown as placeholders (`placeholders`)."""

    name: str = ""
    phone: str = ""
    phone2: str = ""
    email: str = ""
    address: str = ""
    id_number: str = ""
    birth_date: str = ""
    employer: str = ""
    occupation: str = ""
    uscc: str = ""
    legal_representative: str = ""
    registered_capital: str = ""
    founding_date: str = ""
    industry: str = ""
    size: str = ""
    notes: str = ""
    gender: str = ""
    nature: str = ""
    source_channel: str = ""
    id_type: str = ""
    tags: str = ""  # comma separated, as typed


FIELD_NAMES = frozenset(f.name for f in dataclasses.fields(FieldValues))


def field_values(values: Mapping[str, str]) -> FieldValues:
    """The form's inputs out of a field -> text mapping (fields the form has no input for are
    left out)."""
    return FieldValues(**{k: v for k, v in values.items() if k in FIELD_NAMES and v})


@dataclasses.dataclass(frozen=True)
class ContactRow:
    """A contact person of an organisation on the form. `key` names the row's inputs; `id` is the
    stored contact's (0: a new one), read on the server, never sent back by the browser."""

    key: str = ""
    id: int = 0
    name: str = ""
    title: str = ""
    masked: str = ""  # the stored phone, masked
    error: str = ""


@dataclasses.dataclass(frozen=True)
class DuplicateRow:
    """A stored customer the new one may duplicate, and why."""

    id: int = 0
    number: str = ""
    name: str = ""
    reason: str = ""
