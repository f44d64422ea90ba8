"""The typed rows of the profile page and of its 服务 and 附件 tabs (frozen dataclasses; flags are
bool). The 授权同意 tab's rows are in consents/rows.py; the 投诉 tab shows
components.complaint_badges.ComplaintListRow."""

from __future__ import annotations

import dataclasses
from typing import TypeVar


@dataclasses.dataclass(frozen=True)
class Pair:
    """A label and its value (the overview's general fields and classification facts)."""

    label: str = ""
    value: str = ""


@dataclasses.dataclass(frozen=True)
class Badges:
    """The header's badges: texts in the reader's language, and the verification's code."""

    grade: str = ""
    lifecycle: str = ""
    value: str = ""
    verify: str = ""
    verify_code: str = ""
    override: str = ""


@dataclasses.dataclass(frozen=True)
class SensitiveRow:
    """A sensitive field the customer has: masked; `level` "1"/"2"/"3" as the permissions say."""

    field: str = ""
    label: str = ""
    masked: str = ""
    level: str = ""


@dataclasses.dataclass(frozen=True)
class ContactRow:
    name: str = ""
    title: str = ""
    phone: str = ""


@dataclasses.dataclass(frozen=True)
class HistoryRow:
    """A change of a field, as the 变更记录 tab shows it."""

    time: str = ""
    actor: str = ""
    field: str = ""
    old: str = ""
    new: str = ""


@dataclasses.dataclass(frozen=True)
class AttachmentRow:
    """A document of the 附件 tab; `file` is the masked file name."""

    id: str = ""
    number: str = ""
    category: str = ""
    location: str = ""
    file: str = ""
    size: str = ""
    has_file: bool = False
    uploader: str = ""
    time: str = ""


@dataclasses.dataclass(frozen=True)
class ServiceRow:
    """An entry of the 服务/沟通记录 tab."""

    id: str = ""
    time: str = ""
    staff: str = ""
    kind: str = ""
    content: str = ""
    outcome: str = ""
    follow_up: str = ""
    due: str = ""
    due_label: str = ""
    done: str = ""
    can_complete: bool = False


@dataclasses.dataclass(frozen=True)
class AttachmentErrors:
    """附件's add dialog: each field's error."""

    category: str = ""
    archive_number: str = ""
    paper_location: str = ""
    file: str = ""


@dataclasses.dataclass(frozen=True)
class ServiceErrors:
    """添加记录's field errors."""

    kind: str = ""
    content: str = ""
    outcome: str = ""
    next_follow_up: str = ""


Errors = TypeVar("Errors")


def errors_for(cls: type[Errors], found: dict[str, str]) -> Errors:
    """The field errors of a service call (`SessionState._field_errors`) that the form `cls`
    has a place for; `cls()` when none of its fields is in error."""
    names = {f.name for f in dataclasses.fields(cls)}  # type: ignore[arg-type]
    return cls(**{name: message for name, message in found.items() if name in names})
