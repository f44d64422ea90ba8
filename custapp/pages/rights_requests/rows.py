"""What the 权利请求 page shows: display text prepared by the state, ids as ints, flags as bools."""

from __future__ import annotations

import dataclasses


@dataclasses.dataclass(frozen=True)
class RequestRow:
    """A request in a list: never what the customer asked."""

    id: int = 0
    number: str = ""
    customer_id: int = 0
    customer: str = ""  # "number name"
    kind: str = ""
    kind_code: str = ""  # RightsKind
    channel: str = ""
    received: str = ""
    due: str = ""  # ISO date
    status: str = ""
    status_code: str = ""  # RightsStatus
    handler: str = ""
    closed: str = ""
    overdue: str = ""  # "N days overdue", "" when not


@dataclasses.dataclass(frozen=True)
class RequestDetail(RequestRow):
    """The one request the detail dialog shows, with what was asked (decrypted for the dialog
    only) and the outcome."""

    detail: str = ""
    outcome: str = ""
    filed_by: str = ""
    active: bool = False  # open or in progress: it may still be handled
