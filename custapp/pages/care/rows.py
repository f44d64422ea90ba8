"""What the 关怀日历 page shows: display text prepared by the state, flags as bools."""

from __future__ import annotations

import dataclasses


@dataclasses.dataclass(frozen=True)
class CalendarRow:
    """A customer with a birthday or a membership anniversary in the window."""

    on: str = ""  # the day, ISO
    number: str = ""
    name: str = ""
    years: str = ""  # "（入会 3 周年）" for an anniversary
    consented: bool = False  # granted care greetings
    queued: bool = False  # greeted for this occasion already
    href: str = ""


@dataclasses.dataclass(frozen=True)
class HolidayRow:
    on: str = ""
    name: str = ""
