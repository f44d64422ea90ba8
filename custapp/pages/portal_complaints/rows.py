"""What the member's 我的投诉 page shows: display text prepared by the state, flags as bools.
Only the complaint the member opens carries its text (ComplaintDetail), and only while its
dialog is open."""

from __future__ import annotations

import dataclasses


@dataclasses.dataclass(frozen=True)
class FilingErrors:
    """我要投诉's field errors ("" for a field without one)."""

    category: str = ""
    description: str = ""
    desired: str = ""

    @classmethod
    def of(cls, found: dict[str, str]) -> FilingErrors:
        """The field errors of a service call (`SessionState._field_errors`) the form shows."""
        return cls(**{f.name: found.get(f.name, "") for f in dataclasses.fields(cls)})


@dataclasses.dataclass(frozen=True)
class MemberComplaintRow:
    """One of the member's complaints in the list (no text of it)."""

    id: str = ""
    number: str = ""
    time: str = ""
    category: str = ""
    status: str = ""  # the code, for the badge's colour
    status_label: str = ""
    score: str = ""  # the satisfaction score given, "" for none


@dataclasses.dataclass(frozen=True)
class ComplaintDetail:
    """The complaint open in the dialog, as the customer may see it."""

    number: str = ""
    time: str = ""
    category: str = ""
    status: str = ""
    status_label: str = ""
    description: str = ""
    desired: str = ""
    outcome: str = ""  # the solution, else the last outcome told
    informed: str = ""  # when and how the member was told the outcome
    can_rate: bool = False
    score: str = ""
    rated: str = ""  # "您的评分：5 分" once given


@dataclasses.dataclass(frozen=True)
class TimelineRow:
    """A customer-visible entry of the open complaint's timeline."""

    time: str = ""
    what: str = ""
    body: str = ""
    kind: str = ""


@dataclasses.dataclass(frozen=True)
class FileRow:
    """A file the member added to the open complaint (name masked)."""

    id: str = ""
    file: str = ""
    size: str = ""
    time: str = ""
