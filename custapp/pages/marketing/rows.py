"""What the 营销名单 page shows: display text prepared by the state, flags as bools."""

from __future__ import annotations

import dataclasses


@dataclasses.dataclass(frozen=True)
class PurposeChoice:
    code: str = ""
    name: str = ""  # with "(not usable)" appended when the purpose cannot be used now
    channel: str = ""  # sms | phone | email
    sendable: bool = False  # the outbox can send it (phone: a call list only)


@dataclasses.dataclass(frozen=True)
class Stat:
    label: str = ""
    count: str = ""  # formatted: "1,234"


@dataclasses.dataclass(frozen=True)
class ListRow:
    """A customer of the built list, the contact masked."""

    id: str = ""
    number: str = ""
    name: str = ""
    contact: str = ""
    grade: str = ""
    lifecycle: str = ""  # in the user's language


@dataclasses.dataclass(frozen=True)
class CampaignRow:
    time: str = ""
    purpose: str = ""
    segment: str = ""
    subject: str = ""
    queued: str = ""  # formatted counts
    left_out: str = ""
    created_by: str = ""


@dataclasses.dataclass(frozen=True)
class BuiltList:
    """The segment and purpose of the list last built: what a campaign goes to."""

    grade: str = ""
    lifecycle: str = ""
    tag: str = ""
    purpose: str = ""
