"""The typed rows of the 授权同意 tab (frozen dataclasses; flags are bool)."""

from __future__ import annotations

import dataclasses


@dataclasses.dataclass(frozen=True)
class ConsentStateRow:
    """The current state of one purpose (the replay of its events)."""

    purpose: str = ""
    name: str = ""
    state: str = ""
    label: str = ""
    version: str = ""
    time: str = ""
    reconfirm: bool = False


@dataclasses.dataclass(frozen=True)
class ConsentEventRow:
    """One consent event; `state` is the state the action leads to (its badge's colour)."""

    time: str = ""
    purpose: str = ""
    state: str = ""
    action_label: str = ""
    version: str = ""
    channel: str = ""
    evidence: str = ""
    operator: str = ""


@dataclasses.dataclass(frozen=True)
class ScanOption:
    """A scan of a signed consent form among the customer's attachments."""

    id: str = ""
    label: str = ""
