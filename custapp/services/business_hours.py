"""The optional business-hours calendar for complaint deadlines (SPEC §5 "an optional
business-hours calendar can be set"; issue 6).

Settings (read, parsed and checked at start-up by custapp.settings, where the syntax below is
parsed: parse_week, parse_closed_days):

- `CUSTAPP_COMPLAINT_BUSINESS_HOURS`: empty (the default) = the clocks run round the clock.
  Otherwise weekly opening hours in local time (`CUSTAPP_TIMEZONE`), groups separated by ";":

      mon-fri 09:00-18:00; sat 10:00-16:00
      mon-fri 09:00-12:00,13:30-18:00; sat,sun 10:00-14:00
      mon-sun 22:00-06:00          (an end at or before the start runs past midnight)

  Each group is days then times. Days are mon tue wed thu fri sat sun, single or as a range
  (`mon-fri`, `fri-mon` wraps), separated by commas. Times are `HH:MM-HH:MM` (24-hour clock,
  `24:00` allowed as an end), separated by commas. A day listed in several groups is open for
  the union of its times; a day listed nowhere is closed.
- `CUSTAPP_COMPLAINT_CLOSED_DAYS`: local dates closed all day (holidays), `YYYY-MM-DD` or a range
  `YYYY-MM-DD..YYYY-MM-DD`, separated by commas. Needs a calendar.

Business time is real elapsed time while open: a local day with a DST change has its opening
hours converted to UTC on that day, so an open stretch across the change counts its real length.

`later` and `between` take and give aware datetimes (returned in UTC). Without a calendar they
are plain arithmetic, exactly the round-the-clock behaviour. They walk the calendar a day at a
time (a handful of intervals a day, cached per calendar), so spans of weeks or months are cheap.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

# The syntax is parsed where the settings are read (settings imports no custapp module);
# parse_week and parse_closed_days are re-exported for the callers that know them from here.
from custapp.settings import DAY_MINUTES, Week, get_settings
from custapp.settings import parse_closed_days as parse_closed_days
from custapp.settings import parse_week as parse_week

# --- the calendar --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Calendar:
    week: Week
    closed: frozenset[date] = frozenset()
    zone: str = "Asia/Shanghai"
    _days: dict[date, tuple[tuple[datetime, datetime], ...]] = field(
        default_factory=dict, compare=False, hash=False, repr=False
    )

    def _day(self, day: date) -> tuple[tuple[datetime, datetime], ...]:
        """The open periods of one local date, in UTC."""
        found = self._days.get(day)
        if found is None:
            if len(self._days) > 20_000:
                self._days.clear()
            zone = ZoneInfo(self.zone)

            def instant(minute: int) -> datetime:
                on = day + timedelta(days=minute // DAY_MINUTES)
                at = time(minute % DAY_MINUTES // 60, minute % 60)
                return datetime.combine(on, at, tzinfo=zone).astimezone(UTC)

            spans = () if day in self.closed else self.week[day.weekday()]
            found = tuple((instant(start), instant(end)) for start, end in spans)
            self._days[day] = found
        return found

    def periods(self, since: datetime) -> Iterator[tuple[datetime, datetime]]:
        """Open periods (UTC, ascending, not overlapping) from `since` on, the first one cut
        at `since`. Endless: the caller stops."""
        since = since.astimezone(UTC)
        day = since.astimezone(ZoneInfo(self.zone)).date() - timedelta(days=1)
        last_end = since
        while True:
            for start, end in self._day(day):
                # A DST gap or repeat may map local times out of order: never count twice.
                start = max(start, last_end)
                if end > start:
                    yield start, end
                    last_end = end
            day += timedelta(days=1)

    def later(self, start: datetime, span: timedelta) -> datetime:
        """The moment `span` of business time after `start` (the clock starts at the next
        opening when `start` is outside the hours); `start` itself for a zero span."""
        if span < timedelta(0):
            raise ValueError("business_hours.later: span must not be negative")
        start = start.astimezone(UTC)
        if not span:
            return start
        left = span
        for opened, closes in self.periods(start):
            if closes - opened >= left:
                return opened + left
            left -= closes - opened
        raise AssertionError("unreachable: periods() is endless")

    def between(self, a: datetime, b: datetime) -> timedelta:
        """Business time from `a` to `b`; zero when `b` is not after `a`."""
        a, b = a.astimezone(UTC), b.astimezone(UTC)
        total = timedelta(0)
        if b <= a:
            return total
        for opened, closes in self.periods(a):
            if opened >= b:
                break
            total += min(closes, b) - opened
        return total


@lru_cache(maxsize=8)
def _calendar(week: Week, closed: frozenset[date], zone: str) -> Calendar:
    return Calendar(week=week, closed=closed, zone=zone)


def current() -> Calendar | None:
    """The configured calendar, or None for round the clock."""
    settings = get_settings()
    if settings.complaint_business_hours is None:
        return None
    return _calendar(
        settings.complaint_business_hours, settings.complaint_closed_days, settings.timezone
    )


# --- what the complaints use ---------------------------------------------------------------------


def later(start: datetime, span: timedelta) -> datetime:
    """The moment `span` of business time after `start`; without a calendar start + span."""
    calendar = current()
    return start + span if calendar is None else calendar.later(start, span)


def between(a: datetime, b: datetime) -> timedelta:
    """Business time from `a` to `b` (never negative); without a calendar b - a."""
    calendar = current()
    if calendar is None:
        return max(b - a, timedelta(0))
    return calendar.between(a, b)


def after_hold(deadline: datetime, held_since: datetime, now: datetime) -> datetime:
    """A deadline once a hold from `held_since` ends at `now`: the business time that was left
    when the hold began is left again. Round the clock that is deadline + the hold's length.
    A deadline already passed when the hold began moves on by the hold's length, so it stays
    overdue by as much as before."""
    calendar = current()
    if calendar is None or deadline <= held_since:
        return deadline + (now - held_since)
    return calendar.later(now, calendar.between(held_since, deadline))
