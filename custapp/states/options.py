"""One choice of a select in a page state: the value sent back and the label shown."""

from __future__ import annotations

import dataclasses


@dataclasses.dataclass(frozen=True)
class Option:
    value: str = ""
    label: str = ""
