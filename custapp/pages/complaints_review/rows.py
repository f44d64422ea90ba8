"""What the 投诉管理 page shows: the figures of the chosen window and the queue's rows, display
text prepared by the state, flags as bools."""

from __future__ import annotations

import dataclasses


@dataclasses.dataclass(frozen=True)
class KpiFigures:
    """The cards' figures, each with the line under it ("" until the figures are loaded)."""

    hint: str = ""
    received: str = ""
    open: str = ""
    open_sub: str = ""
    overdue: str = ""
    overdue_rate: str = ""
    overdue_rate_sub: str = ""
    first_response: str = ""
    first_response_sub: str = ""
    resolution: str = ""
    resolution_sub: str = ""
    satisfaction: str = ""
    satisfaction_sub: str = ""
    repeat: str = ""
    repeat_sub: str = ""


@dataclasses.dataclass(frozen=True)
class QueueRow:
    """A complaint in the queue (no text of it)."""

    id: str = ""  # as the tick boxes send it back
    number: str = ""
    customer: str = ""
    category: str = ""
    severity: str = ""  # the code, for the badge's colour
    severity_label: str = ""
    status: str = ""
    channel: str = ""
    assignee: str = ""
    assigned: bool = False
    received: str = ""
    age: str = ""
    due: str = ""
    overdue: bool = False
