"""What 数据质量 shows: masked values only, display text prepared by the state, ids as ints."""

from __future__ import annotations

import dataclasses


@dataclasses.dataclass(frozen=True)
class GroupRow:
    """A group of duplicate candidates: why they look alike; its customers are `members[index]`."""

    reason: str = ""
    index: int = 0


@dataclasses.dataclass(frozen=True)
class MemberRow:
    """A customer of a duplicate group."""

    id: int = 0
    number: str = ""
    name: str = ""
    phone: str = ""  # masked
    created: str = ""


@dataclasses.dataclass(frozen=True)
class StaleRow:
    """A customer whose real-name verification is missing, failed or stale."""

    id: int = 0
    number: str = ""
    name: str = ""
    kind: str = ""
    status: str = ""
    status_code: str = ""  # VerifyStatus
    verified_at: str = ""
    owner: str = ""


@dataclasses.dataclass(frozen=True)
class PreviewRow:
    """A field of the merge preview: its label, the survivor's value and the merged customer's."""

    label: str = ""
    survivor: str = ""
    merged: str = ""
