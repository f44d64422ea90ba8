"""What the complaint page shows, as typed rows: display text the state prepares (times in the
configured zone, labels in the reader's language), flags as bools. The view reads `row.field`;
a test reads the same. Field errors are rows too: one str per field of the form, "" for none."""

from __future__ import annotations

import dataclasses
from typing import TypeVar


@dataclasses.dataclass(frozen=True)
class ComplaintHeader:
    """The header card: the complaint's facts and its two deadlines."""

    number: str = ""
    status: str = ""  # a vocab.ComplaintStatus value
    status_label: str = ""
    severity: str = ""
    severity_label: str = ""
    channel: str = ""
    category: str = ""
    overdue: bool = False
    customer: str = ""  # "" for an anonymous walk-in (the contact is shown instead)
    customer_href: str = ""
    assignee: str = ""
    created: str = ""
    response_by: str = ""  # "" once the clock stopped
    response_mark: str = ""  # 还剩 n 小时 / 已逾期 / 已暂停
    response_color: str = ""
    resolution_by: str = ""
    resolution_mark: str = ""
    resolution_color: str = ""
    first_response: str = ""
    informed: str = ""
    closed: str = ""
    zone: str = ""
    reopened: str = ""  # how many times, "" for never
    satisfaction: str = ""


@dataclasses.dataclass(frozen=True)
class ClosingFact:
    """One line of the closing record (root cause, solution, how the customer was told, score)."""

    label: str = ""
    value: str = ""


@dataclasses.dataclass(frozen=True)
class TimelineRow:
    time: str = ""
    who: str = ""
    kind: str = ""  # a vocab.ComplaintEventKind value
    kind_label: str = ""
    change: str = ""  # "received → investigating" in words, "" for no status change
    body: str = ""
    detail: str = ""
    visible: bool = False  # 客户可见: the member sees it in the portal


@dataclasses.dataclass(frozen=True)
class AttachmentRow:
    id: int = 0
    file: str = ""  # the name, masked
    type: str = ""  # JPG, PDF ...
    size: str = ""
    who: str = ""
    by_member: bool = False
    time: str = ""


@dataclasses.dataclass(frozen=True)
class CloseErrors:
    """结案's field errors."""

    root_cause: str = ""
    solution: str = ""
    informed_on: str = ""
    informed_via: str = ""
    satisfaction: str = ""
    no_score_reason: str = ""


@dataclasses.dataclass(frozen=True)
class CompensationErrors:
    """申请补偿's field errors."""

    form: str = ""
    points: str = ""
    amount: str = ""
    gift: str = ""
    reason: str = ""


Errors = TypeVar("Errors")


def errors_for(cls: type[Errors], found: dict[str, str]) -> Errors:
    """The field errors of a service call (`SessionState._field_errors`) that `cls` has a place
    for; a form without a field in error is `cls()`."""
    names = {f.name for f in dataclasses.fields(cls)}  # type: ignore[arg-type]
    return cls(**{name: message for name, message in found.items() if name in names})
