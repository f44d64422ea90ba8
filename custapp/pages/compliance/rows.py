"""What the 合规管理 page shows: display text prepared by the state, counts as ints, flags as
bools."""

from __future__ import annotations

import dataclasses


@dataclasses.dataclass(frozen=True)
class Kpis:
    notice: str = ""  # the current version, or that there is none
    published: str = ""
    draft: str = ""  # the draft waiting, "" when none
    reconfirm: int = 0
    to_queue: int = 0
    rights_overdue: int = 0
    rights_open: str = ""


@dataclasses.dataclass(frozen=True)
class MatrixRow:
    """A purpose and its customers' consents by state."""

    code: str = ""
    name: str = ""
    basis: str = ""
    consent: bool = False  # consent-based (service is not: nobody is asked)
    granted: int = 0
    refused: int = 0
    withdrawn: int = 0
    reconfirm: int = 0
    note: str = ""  # disabled / not in the notice


@dataclasses.dataclass(frozen=True)
class PurposeRow:
    code: str = ""
    name: str = ""  # in the user's language
    description: str = ""
    name_zh: str = ""
    name_en: str = ""
    description_zh: str = ""
    description_en: str = ""
    basis_code: str = ""
    basis: str = ""
    consent: bool = False
    channel: str = ""
    enabled: bool = False
    in_notice: bool = False
    updated: str = ""


@dataclasses.dataclass(frozen=True)
class PurposeChoice:
    """An enabled purpose the draft can name; a fixed one (not consent-based) is always in."""

    code: str = ""
    label: str = ""
    basis: str = ""
    fixed: bool = False


@dataclasses.dataclass(frozen=True)
class NoticeRow:
    id: int = 0
    version: str = ""
    status: str = ""  # "current", or the notice's own status
    status_label: str = ""
    purposes: str = ""
    published: str = ""
    who: str = ""


@dataclasses.dataclass(frozen=True)
class NoticeText:
    """The texts of a notice, as the editor's fields hold them."""

    handler_zh: str = ""
    handler_en: str = ""
    body_zh: str = ""
    body_en: str = ""


NOTICE_FIELDS = tuple(f.name for f in dataclasses.fields(NoticeText))


@dataclasses.dataclass(frozen=True)
class NoticeView:
    """One version, read only."""

    title: str = ""
    status: str = ""
    published: str = ""
    purposes: str = ""
    handler_zh: str = ""
    handler_en: str = ""
    body_zh: str = ""
    body_en: str = ""
