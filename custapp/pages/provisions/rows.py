"""The rows the 对外提供 page shows: display text prepared by the state, flags as bools."""

from __future__ import annotations

import dataclasses


@dataclasses.dataclass(frozen=True)
class RecipientRow:
    id: int = 0
    name: str = ""
    contact: str = ""
    nda_reference: str = ""
    nda_signed_on: str = ""  # ISO date, as the date input takes it
    oversight_note: str = ""
    active: bool = False
    status: str = ""
    provisions: int = 0


@dataclasses.dataclass(frozen=True)
class ProvisionRow:
    id: int = 0
    created_at: str = ""
    recipient: str = ""
    purpose: str = ""
    categories: str = ""
    period: str = ""
    contract: str = ""
    count: str = ""  # with thousands separators
    by_segment: bool = False
    by: str = ""


@dataclasses.dataclass(frozen=True)
class RefusedRow:
    """A customer whose consent does not allow the provision, and why."""

    number: str = ""
    name: str = ""
    reason: str = ""


@dataclasses.dataclass(frozen=True)
class ProvidedCustomerRow:
    id: int = 0
    number: str = ""
    name: str = ""
    event: str = ""  # the consent event relied on, "#<id>"
    consented_at: str = ""


@dataclasses.dataclass(frozen=True)
class DisclosureRow:
    customer_id: int = 0
    number: str = ""
    name: str = ""
    authority: str = ""
    legal_basis: str = ""
    document: str = ""
    categories: str = ""
    disclosed_on: str = ""
    harm_note: str = ""
    by: str = ""
