"""The one source of "now": aware UTC datetimes (stored as UTC); tests move the clock."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from custapp.settings import get_settings

_fixed: datetime | None = None


def now() -> datetime:
    """Current time, aware, in UTC."""
    if _fixed is not None:
        return _fixed
    return datetime.now(UTC)


def set_now(value: datetime | None) -> None:
    """Freeze the clock at `value` (aware), or unfreeze with None. For tests and benches."""
    global _fixed
    _fixed = value.astimezone(UTC) if value is not None else None


def advance(delta: timedelta) -> datetime:
    set_now(now() + delta)
    return now()


def zone() -> ZoneInfo:
    return ZoneInfo(get_settings().timezone)


def to_local(value: datetime) -> datetime:
    return value.astimezone(zone())


def local_today() -> date:
    """Today in the configured zone: every day-based rule uses this, never the UTC day."""
    return to_local(now()).date()


def format_local(value: datetime | None, fmt: str = "%Y-%m-%d %H:%M") -> str:
    return to_local(value).strftime(fmt) if value else ""
