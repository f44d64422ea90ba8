"""Validators for 居民身份证 numbers, unified social credit codes, mainland mobile numbers, and
the characters free text may hold.

Each returns a Validation and never raises, whatever it is given: form handlers pass raw input
straight in. ``error`` is an i18n message key, ``value`` the normalised input.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import date

REQUIRED = "validation.required"

ID_LENGTH = "validation.id_number.length"
ID_FORMAT = "validation.id_number.format"
ID_REGION = "validation.id_number.region"
ID_BIRTH_DATE = "validation.id_number.birth_date"
ID_CHECKSUM = "validation.id_number.checksum"

USCC_FORMAT = "validation.uscc.format"
USCC_CHECKSUM = "validation.uscc.checksum"

MOBILE_FORMAT = "validation.mobile.format"

REASON_PERSONAL = "validation.reason.personal_number"

TEXT_CONTROL = "validation.text.control"
TEXT_BIDI = "validation.text.bidi"
TEXT_INVISIBLE = "validation.text.invisible"

# GB 11643-1999: ISO 7064 MOD 11-2 weights and the check character for each sum mod 11.
_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK_CHARS = "10X98765432"
_ID_RE = re.compile(r"[0-9]{17}[0-9X]")
# Province-level codes (GB/T 2260) plus 71 Taiwan, 81/82 Hong Kong/Macao, 83 and 91 as issued
# to residents of Taiwan and to foreigners with permanent residence.
_PROVINCE_CODES = frozenset(
    [11, 12, 13, 14, 15, 21, 22, 23, 31, 32, 33, 34, 35, 36, 37, 41, 42, 43, 44, 45, 46]
    + [50, 51, 52, 53, 54, 61, 62, 63, 64, 65, 71, 81, 82, 83, 91]
)
_EARLIEST_BIRTH = date(1900, 1, 1)

# GB 32100-2015: 31 characters (no I, O, Z, S, V) and weights 3**i mod 31.
_USCC_CHARS = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_USCC_VALUES = {ch: i for i, ch in enumerate(_USCC_CHARS)}
_USCC_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)

_MOBILE_RE = re.compile(r"1[3-9][0-9]{9}")
_MOBILE_SEPARATORS = re.compile(r"[\s\-]")

# UAX #9 explicit formatting: embeddings and overrides, isolates, and the three direction marks.
# Stored, they make a name read backwards wherever it is shown ("反转abc" as "cba转反").
_BIDI_CONTROLS = frozenset(
    "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u200e\u200f\u061c"
)
_MULTILINE_CONTROLS = frozenset("\n\t")
# Letters and symbols that draw nothing: Hangul fillers and the blank braille pattern.
_BLANK_LETTERS = frozenset("\u115f\u1160\u3164\uffa0\u2800")
# Format characters (zero-width space and joiners, U+2060, U+FEFF), separators, combining marks.
_INVISIBLE_CATEGORIES = frozenset({"Cc", "Cf", "Zs", "Zl", "Zp", "Mn", "Me"})


@dataclass(frozen=True)
class Validation:
    ok: bool
    value: str
    error: str | None
    birth_date: date | None = None


def _clean(value: object) -> str:
    """NFKC (full-width digits from Chinese input methods -> ASCII), then strip."""
    if not isinstance(value, str):
        return ""
    return unicodedata.normalize("NFKC", value).strip()


def _fail(value: str, error: str) -> Validation:
    return Validation(ok=False, value=value, error=error)


def _id_check_char(body17: str) -> str:
    total = sum(int(ch) * weight for ch, weight in zip(body17, _ID_WEIGHTS, strict=True))
    return _ID_CHECK_CHARS[total % 11]


def _birth_date(text: str) -> date | None:
    try:
        return date(int(text[0:4]), int(text[4:6]), int(text[6:8]))
    except ValueError:
        return None


def validate_cn_id(value: object, *, today: date | None = None) -> Validation:
    """18-character 居民身份证 number per GB 11643-1999.

    ``today`` bounds the birth date; callers pass the date in the configured zone (SPEC §8).
    """
    text = "".join(_clean(value).split()).upper()
    if not text:
        return _fail(text, REQUIRED)
    if len(text) != 18:
        return _fail(text, ID_LENGTH)
    if not _ID_RE.fullmatch(text):
        return _fail(text, ID_FORMAT)
    # Region and birth date come before the checksum: a typo there gets the more useful message.
    if int(text[:2]) not in _PROVINCE_CODES:
        return _fail(text, ID_REGION)
    birth = _birth_date(text[6:14])
    if birth is None or not _EARLIEST_BIRTH <= birth <= (today or date.today()):
        return _fail(text, ID_BIRTH_DATE)
    if _id_check_char(text[:17]) != text[17]:
        return _fail(text, ID_CHECKSUM)
    return Validation(ok=True, value=text, error=None, birth_date=birth)


def _uscc_check_char(body17: str) -> str:
    total = sum(_USCC_VALUES[ch] * weight for ch, weight in zip(body17, _USCC_WEIGHTS, strict=True))
    return _USCC_CHARS[(31 - total % 31) % 31]


def validate_uscc(value: object) -> Validation:
    """18-character unified social credit code per GB 32100-2015."""
    text = "".join(_clean(value).split()).upper()
    if not text:
        return _fail(text, REQUIRED)
    if len(text) != 18 or any(ch not in _USCC_VALUES for ch in text):
        return _fail(text, USCC_FORMAT)
    if _uscc_check_char(text[:17]) != text[17]:
        return _fail(text, USCC_CHECKSUM)
    return Validation(ok=True, value=text, error=None)


def validate_mobile(value: object) -> Validation:
    """Mainland mobile number; optional +86/86/0086 prefix, spaces and dashes ignored."""
    text = _MOBILE_SEPARATORS.sub("", _clean(value))
    if not text:
        return _fail(text, REQUIRED)
    for prefix in ("+86", "0086"):
        if text.startswith(prefix):
            text = text[len(prefix) :]
            break
    else:
        if len(text) == 13 and text.startswith("86"):
            text = text[2:]
    if not _MOBILE_RE.fullmatch(text):
        return _fail(text, MOBILE_FORMAT)
    return Validation(ok=True, value=text, error=None)


def _invisible(ch: str) -> bool:
    return ch in _BLANK_LETTERS or unicodedata.category(ch) in _INVISIBLE_CATEGORIES


def text_problem(value: object, *, multiline: bool = False) -> str | None:
    """Why free text must not be stored, as a message key; None when it may be.

    Refused: bidi controls; control characters (C0, DEL, C1) and lone surrogates, except line
    feed and tab in text typed in several lines; and text of invisible characters only. Blank
    text (white space only, tabs too) is left to the field's own "required" rule: the services
    strip it to nothing. Only text is judged: other values pass.
    """
    if not isinstance(value, str) or not value.strip():
        return None
    if any(ch in _BIDI_CONTROLS for ch in value):
        return TEXT_BIDI
    for ch in value:
        if unicodedata.category(ch) in ("Cc", "Cs") and not (
            multiline and ch in _MULTILINE_CONTROLS
        ):
            return TEXT_CONTROL
    if all(_invisible(ch) for ch in value):
        return TEXT_INVISIBLE
    return None


def make_cn_id(region: str, birth: date, seq: int) -> str:
    """A valid ID number (tests, demo seeding): 6-digit region, birth date, 3-digit sequence."""
    if not re.fullmatch(r"[0-9]{6}", region):
        raise ValueError("region must be 6 digits")
    if not 0 <= seq <= 999:
        raise ValueError("seq must be 0..999")
    body = f"{region}{birth.year:04d}{birth.month:02d}{birth.day:02d}{seq:03d}"
    return body + _id_check_char(body)


def make_uscc(body17: str) -> str:
    """Append the GB 32100 check character to a 17-character body (tests, demo seeding)."""
    body = body17.upper()
    if len(body) != 17 or any(ch not in _USCC_VALUES for ch in body):
        raise ValueError("body must be 17 characters from the USCC alphabet")
    return body + _uscc_check_char(body)


# --- personal numbers in free text ------------------------------------------------------------

# A reason may cite the app's own numbers: orders S/R and top-ups D (+16 digits), complaints T
# (+12), customers C (+11). Their digits alone would read as a card or a mobile.
_DOCUMENT_NUMBERS = {"S": 16, "R": 16, "D": 16, "T": 12, "C": 11}
_MOBILE_RUN = re.compile(r"(?:86)?1[3-9][0-9]{9}")


def _digit_runs(text: str) -> list[tuple[int, str]]:
    """The runs of digits in `text` and where each starts. Groups of three or more digits joined
    by one space or hyphen (134 0810 2203, a card in fours, an ID as 6-8-4) are one run; a date
    (2026-01-05) stays three."""
    runs: list[tuple[int, str]] = []
    last_end, last_group = -2, ""
    for match in re.finditer(r"[0-9]+", text):
        group = match.group()
        if (
            runs
            and match.start() == last_end + 1
            and text[last_end] in " -"
            and len(group) >= 3
            and len(last_group) >= 3
        ):
            runs[-1] = (runs[-1][0], runs[-1][1] + group)
        else:
            runs.append((match.start(), group))
        last_end, last_group = match.end(), group
    return runs


def holds_personal_number(value: object) -> bool:
    """Whether free text holds a mobile (also +86), an ID number (15 or 18 characters), a
    membership card number (88 + 10 digits) or a bank-card-like run of 16-19 digits: what a
    reason, stored in the audit log, must never hold (SPEC §8). Only text is judged."""
    if not isinstance(value, str):
        return False
    text = unicodedata.normalize("NFKC", value)  # full-width digits from Chinese input methods
    for start, digits in _digit_runs(text):
        prefix = text[start - 1].upper() if start else ""
        if _DOCUMENT_NUMBERS.get(prefix) == len(digits):
            continue
        if len(digits) >= 15 or (len(digits) == 12 and digits.startswith("88")):
            return True
        if _MOBILE_RUN.fullmatch(digits):
            return True
    return False
