"""Masked display forms of sensitive values (SPEC §2 "Sensitivity": lists, profiles, history).

A masked value must never let the full value be rebuilt, so for unexpected shapes every
function falls back to hiding more, not less.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date

from custapp.security.validators import validate_mobile

_DATE_RE = re.compile(r"(\d{4})[-/.年]?\d{1,2}[-/.月]?\d{1,2}日?")


def _keep_ends(text: str, head: int, tail: int) -> str:
    """Star the middle, preserving length; at most a quarter of the value shows at each end."""
    head, tail = min(head, len(text) // 4), min(tail, len(text) // 4)
    return text[:head] + "*" * (len(text) - head - tail) + text[len(text) - tail :]


def mask_generic(value: str) -> str:
    text = value.strip()
    return text[0] + "***" if len(text) >= 2 else "***"


def mask_phone(value: str) -> str:
    """Mobile numbers as 138****5678 (prefixes and separators dropped); others star the middle."""
    mobile = validate_mobile(value)
    if mobile.ok:
        return f"{mobile.value[:3]}****{mobile.value[-4:]}"
    return _keep_ends(value.strip(), 3, 4)


def mask_id_number(value: str) -> str:
    """110***********002X: first 3 and last 4 of an 18-character number, length preserved."""
    return _keep_ends("".join(value.split()), 3, 4)


def mask_address(value: str) -> str:
    """北京市朝阳区****: the first 6 characters (about province and district) of a long address."""
    text = value.strip()
    keep = 6 if len(text) >= 10 else min(2, len(text) // 2)
    return text[:keep] + "****"


def mask_email(value: str) -> str:
    local, at, domain = value.strip().rpartition("@")
    if not at or not domain or not local:
        return mask_generic(value)
    return f"{local[:1]}***@{domain}"


def mask_date(value: str | date) -> str:
    """1990-**-**: the year stays (age band), month and day go."""
    text = value.isoformat() if isinstance(value, date) else value.strip()
    match = _DATE_RE.fullmatch(text)
    return f"{match.group(1)}-**-**" if match else mask_generic(text)


def mask_bank_card(value: str) -> str:
    digits = "".join(ch for ch in value if ch.isdigit())
    return f"**** **** **** {digits[-4:]}" if len(digits) >= 8 else "****"


_MASKERS: dict[str, Callable[[str], str]] = {
    "phone": mask_phone,
    "id_number": mask_id_number,
    "address": mask_address,
    "email": mask_email,
    "birth_date": mask_date,
    "bank_account": mask_bank_card,
    "generic": mask_generic,
}


def mask(kind: str, value: str | date | None) -> str:
    """Mask ``value`` as ``kind``; unknown kinds get the generic (most hiding) mask."""
    if value is None:
        return ""
    if isinstance(value, date):
        return mask_date(value)
    if not value.strip():
        return ""
    return _MASKERS.get(kind, mask_generic)(value)
