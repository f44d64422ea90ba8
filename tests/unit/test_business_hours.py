"""The business-hours calendar for complaint deadlines (SPEC §5, issue 6): the syntax of
CUSTAPP_COMPLAINT_BUSINESS_HOURS / _CLOSED_DAYS and its checks at start-up, `later` and `between`
across nights, weekends, holidays and DST changes, long spans, and their round trip."""

from __future__ import annotations

import random
import time as timer
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from custapp.services import business_hours
from custapp.services.business_hours import Calendar, parse_closed_days, parse_week
from custapp.settings import get_settings

SHANGHAI = ZoneInfo("Asia/Shanghai")
BERLIN = ZoneInfo("Europe/Berlin")
OFFICE = "mon-fri 09:00-18:00; sat 10:00-16:00"
H = timedelta(hours=1)


def at(zone: ZoneInfo, y: int, mo: int, d: int, h: int = 0, mi: int = 0) -> datetime:
    """A local wall-clock time, as the aware UTC instant the services work with."""
    return datetime(y, mo, d, h, mi, tzinfo=zone).astimezone(UTC)


def cal(text: str = OFFICE, closed: str = "", zone: str = "Asia/Shanghai") -> Calendar:
    return Calendar(week=parse_week(text), closed=parse_closed_days(closed), zone=zone)


@pytest.fixture
def fresh_settings(monkeypatch):  # noqa: ANN001, ANN201
    get_settings.cache_clear()
    yield monkeypatch
    get_settings.cache_clear()


# --- parsing -----------------------------------------------------------------------------------


def test_the_syntax_gives_minutes_per_weekday() -> None:
    week = parse_week("Mon-Fri 09:00-12:00,13:30-18:00; sat, sun 10:00-16:00 ; wed 17:00-20:00")
    assert week[0] == week[1] == week[3] == week[4] == ((540, 720), (810, 1080))
    assert week[2] == ((540, 720), (810, 1200))  # union with the second group, merged
    assert week[5] == week[6] == ((600, 960),)
    assert parse_week("mon-sun 00:00-24:00") == ((((0, 1440),),) * 7)


def test_a_range_may_wrap_and_times_may_run_past_midnight() -> None:
    week = parse_week("fri-mon 22:00-02:00")
    assert week[4] == ((1320, 1440),)  # Friday evening
    assert week[5] == week[6] == ((0, 120), (1320, 1440))
    assert week[0] == ((0, 120), (1320, 1440))  # Monday night
    assert week[1] == ((0, 120),)  # Tuesday morning ends Monday's shift
    assert week[2] == week[3] == ()
    assert parse_week("sun 20:00-00:00")[6] == ((1200, 1440),)


@pytest.mark.parametrize("text", ["", "   ", None])
def test_empty_is_round_the_clock(text) -> None:  # noqa: ANN001
    assert parse_week(text) is None


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("mon-fry 09:00-18:00", "unknown day 'fry'"),
        ("mon 9-18", "'9-18' is not HH:MM-HH:MM"),
        ("mon 09:00-25:00", "25:00 is not a time of day"),
        ("mon 24:00-08:00", "24:00 is not a time of day"),
        ("mon 09:60-18:00", "09:60 is not a time of day"),
        ("09:00-18:00", "no days before the times"),
        ("weekdays", "no opening times"),
        ("mon 09:00-09:00", "opens and closes at the same time"),
        ("mon 09:00-18:00,", "'' is not HH:MM-HH:MM"),
        ("monday 09:00-18:00", "is not a day or a range of days"),
        (";", "no opening hours"),
    ],
)
def test_a_bad_calendar_is_refused_naming_the_setting(text: str, says: str) -> None:
    with pytest.raises(ValueError) as caught:
        parse_week(text)
    assert str(caught.value).startswith("CUSTAPP_COMPLAINT_BUSINESS_HOURS: ")
    assert says in str(caught.value)


def test_closed_days_are_dates_and_ranges() -> None:
    assert parse_closed_days("2026-10-01..2026-10-03, 2027-01-01,") == {
        date(2026, 10, 1),
        date(2026, 10, 2),
        date(2026, 10, 3),
        date(2027, 1, 1),
    }
    assert parse_closed_days("") == frozenset()
    for bad in ("10-01", "2026-10-07..2026-10-01", "2026-01-01..2027-12-31", "2026-02-30"):
        with pytest.raises(ValueError, match="CUSTAPP_COMPLAINT_CLOSED_DAYS"):
            parse_closed_days(bad)


def test_settings_read_the_calendar_and_refuse_bad_values_at_start(fresh_settings) -> None:  # noqa: ANN001
    env = fresh_settings
    settings = get_settings()
    assert settings.complaint_business_hours is None
    assert settings.complaint_closed_days == frozenset()
    assert business_hours.current() is None

    env.setenv("CUSTAPP_COMPLAINT_BUSINESS_HOURS", OFFICE)
    env.setenv("CUSTAPP_COMPLAINT_CLOSED_DAYS", "2026-10-01..2026-10-07")
    get_settings.cache_clear()
    settings = get_settings()
    assert settings.complaint_business_hours == parse_week(OFFICE)
    assert len(settings.complaint_closed_days) == 7
    assert business_hours.current() == cal(OFFICE, "2026-10-01..2026-10-07")

    env.setenv("CUSTAPP_COMPLAINT_BUSINESS_HOURS", "mon-fri 9:00-18:00pm")
    get_settings.cache_clear()
    with pytest.raises(ValueError, match="^CUSTAPP_COMPLAINT_BUSINESS_HOURS: "):
        get_settings()

    env.setenv("CUSTAPP_COMPLAINT_BUSINESS_HOURS", OFFICE)
    env.setenv("CUSTAPP_TIMEZONE", "Mars/Olympus")
    get_settings.cache_clear()
    with pytest.raises(ValueError, match="^CUSTAPP_TIMEZONE: unknown time zone 'Mars/Olympus'"):
        get_settings()

    env.delenv("CUSTAPP_TIMEZONE")
    env.delenv("CUSTAPP_COMPLAINT_BUSINESS_HOURS")
    get_settings.cache_clear()
    with pytest.raises(ValueError, match="^CUSTAPP_COMPLAINT_CLOSED_DAYS needs "):
        get_settings()


# --- later and between ---------------------------------------------------------------------------


def test_without_a_calendar_it_is_plain_arithmetic(fresh_settings) -> None:  # noqa: ANN001
    a = at(SHANGHAI, 2026, 3, 6, 20)  # a Friday evening
    assert business_hours.later(a, 24 * H) == a + 24 * H
    assert business_hours.between(a, a + 30 * H) == 30 * H
    assert business_hours.between(a + H, a) == timedelta(0)
    held, now = a + 2 * H, a + 50 * H
    assert business_hours.after_hold(a + 24 * H, held, now) == a + 72 * H
    assert business_hours.after_hold(a + H, held, now) == a + 49 * H  # already overdue


def test_the_module_functions_follow_the_setting(fresh_settings) -> None:  # noqa: ANN001
    fresh_settings.setenv("CUSTAPP_COMPLAINT_BUSINESS_HOURS", OFFICE)
    get_settings.cache_clear()
    friday = at(SHANGHAI, 2026, 3, 6, 17)
    assert business_hours.later(friday, 2 * H) == at(SHANGHAI, 2026, 3, 7, 11)
    assert business_hours.between(friday, at(SHANGHAI, 2026, 3, 9, 10)) == 8 * H
    # a hold from Friday 17:00 to Sunday: the 2 h left are left again, from Monday's opening
    deadline = at(SHANGHAI, 2026, 3, 7, 11)
    assert business_hours.after_hold(deadline, friday, at(SHANGHAI, 2026, 3, 8, 12)) == at(
        SHANGHAI, 2026, 3, 9, 11
    )


def test_later_within_a_day_and_up_to_the_closing_time() -> None:
    c = cal()
    monday = at(SHANGHAI, 2026, 3, 2, 10)
    assert c.later(monday, 3 * H) == at(SHANGHAI, 2026, 3, 2, 13)
    assert c.later(monday, 8 * H) == at(SHANGHAI, 2026, 3, 2, 18)  # the closing time itself
    assert c.later(monday, 8 * H + timedelta(minutes=1)) == at(SHANGHAI, 2026, 3, 3, 9, 1)
    assert c.later(monday, timedelta(0)) == monday
    with pytest.raises(ValueError):
        c.later(monday, -H)


def test_the_clock_starts_at_the_next_opening() -> None:
    c = cal()
    assert c.later(at(SHANGHAI, 2026, 3, 2, 6), H) == at(SHANGHAI, 2026, 3, 2, 10)  # before
    assert c.later(at(SHANGHAI, 2026, 3, 2, 21), H) == at(SHANGHAI, 2026, 3, 3, 10)  # after
    assert c.later(at(SHANGHAI, 2026, 3, 2, 18), H) == at(SHANGHAI, 2026, 3, 3, 10)  # at closing
    assert c.between(at(SHANGHAI, 2026, 3, 2, 18), at(SHANGHAI, 2026, 3, 3, 9)) == timedelta(0)


def test_a_weekend_and_a_day_without_hours_are_skipped() -> None:
    c = cal()
    friday_evening = at(SHANGHAI, 2026, 3, 6, 20)
    # Saturday 10-16 (6 h), Sunday closed, Monday 09:00 on
    assert c.later(friday_evening, 6 * H) == at(SHANGHAI, 2026, 3, 7, 16)
    assert c.later(friday_evening, 7 * H) == at(SHANGHAI, 2026, 3, 9, 10)
    assert c.between(friday_evening, at(SHANGHAI, 2026, 3, 10, 9)) == 15 * H
    weekdays = cal("mon-fri 09:00-18:00")
    assert weekdays.later(friday_evening, 24 * H) == at(SHANGHAI, 2026, 3, 11, 15)


def test_a_lunch_break_and_a_night_shift() -> None:
    lunch = cal("mon-fri 09:00-12:00,13:00-18:00")
    assert lunch.later(at(SHANGHAI, 2026, 3, 2, 11), 2 * H) == at(SHANGHAI, 2026, 3, 2, 14)
    nights = cal("mon-fri 22:00-06:00")  # Monday 22:00 to Saturday 06:00, nights only
    assert nights.later(at(SHANGHAI, 2026, 3, 2, 23), 4 * H) == at(SHANGHAI, 2026, 3, 3, 3)
    assert nights.later(at(SHANGHAI, 2026, 3, 3, 5), 3 * H) == at(SHANGHAI, 2026, 3, 4, 0)
    assert nights.later(at(SHANGHAI, 2026, 3, 7, 5), 2 * H) == at(SHANGHAI, 2026, 3, 9, 23)
    assert nights.between(at(SHANGHAI, 2026, 3, 2, 12), at(SHANGHAI, 2026, 3, 3, 12)) == 8 * H


def test_closed_days_are_skipped() -> None:
    c = cal("mon-sun 09:00-18:00", "2026-10-01..2026-10-07")
    eve = at(SHANGHAI, 2026, 9, 30, 17)
    assert c.later(eve, 2 * H) == at(SHANGHAI, 2026, 10, 8, 10)
    assert c.between(eve, at(SHANGHAI, 2026, 10, 8, 18)) == 10 * H
    inside = at(SHANGHAI, 2026, 10, 3, 12)  # filed during the holiday
    assert c.later(inside, H) == at(SHANGHAI, 2026, 10, 8, 10)


def test_dst_round_the_clock_counts_real_hours() -> None:
    """Europe/Berlin springs forward on 2026-03-29 (02:00 -> 03:00) and falls back on
    2026-10-25 (03:00 -> 02:00): open all day, business time is elapsed time."""
    c = cal("mon-sun 00:00-24:00", zone="Europe/Berlin")
    spring = at(BERLIN, 2026, 3, 28, 12)
    for span in (H, 12 * H, 23 * H, 47 * H, 200 * H):
        assert c.later(spring, span) == spring + span
    assert c.between(at(BERLIN, 2026, 3, 29), at(BERLIN, 2026, 3, 30)) == 23 * H
    assert c.between(at(BERLIN, 2026, 10, 25), at(BERLIN, 2026, 10, 26)) == 25 * H
    fall = at(BERLIN, 2026, 10, 24, 12)
    assert c.later(fall, 36 * H) == fall + 36 * H


def test_dst_opening_hours_follow_the_local_clock() -> None:
    c = cal("mon-fri 09:00-18:00; sun 01:00-04:00", zone="Europe/Berlin")
    # Friday 17:00 CET + 2 h: Sunday 01:00-04:00 is 2 real hours on the spring day (no 02:xx)
    friday = at(BERLIN, 2026, 3, 27, 17)
    assert c.between(at(BERLIN, 2026, 3, 29), at(BERLIN, 2026, 3, 30)) == 2 * H
    assert c.later(friday, 3 * H) == at(BERLIN, 2026, 3, 29, 4)
    assert c.later(friday, 4 * H) == at(BERLIN, 2026, 3, 30, 10)  # Monday 10:00 CEST
    assert at(BERLIN, 2026, 3, 30, 10) == datetime(2026, 3, 30, 8, tzinfo=UTC)
    # and 4 real hours on the autumn Sunday (02:xx twice)
    assert c.between(at(BERLIN, 2026, 10, 25), at(BERLIN, 2026, 10, 26)) == 4 * H
    autumn_friday = at(BERLIN, 2026, 10, 23, 17)
    assert c.later(autumn_friday, 5 * H) == at(BERLIN, 2026, 10, 25, 4)
    assert c.later(autumn_friday, 6 * H) == at(BERLIN, 2026, 10, 26, 10)  # Monday 10:00 CET


def test_long_spans_walk_days_not_minutes() -> None:
    monday = at(SHANGHAI, 2026, 3, 2, 9)
    plain = cal("mon-fri 09:00-18:00")
    assert plain.later(monday, 45 * H * 10) == at(SHANGHAI, 2026, 5, 8, 18)  # 10 weeks of 45 h
    assert plain.later(monday, 45 * H * 20) == at(SHANGHAI, 2026, 7, 17, 18)  # 20 weeks
    # three closed weekdays (Fri 1, Mon 4, Tue 5 May) push it on by 27 hours
    c = cal("mon-fri 09:00-18:00", "2026-05-01..2026-05-05")
    assert c.later(monday, 45 * H * 20) == at(SHANGHAI, 2026, 7, 22, 18)
    assert c.between(monday, at(SHANGHAI, 2026, 7, 17, 18)) == 45 * H * 20 - 27 * H
    started = timer.perf_counter()
    for i in range(300):
        c.later(monday + timedelta(minutes=37 * i), timedelta(weeks=4))
    assert timer.perf_counter() - started < 2  # about 1 ms each


@pytest.mark.parametrize(
    ("text", "closed", "zone"),
    [
        (OFFICE, "", "Asia/Shanghai"),
        ("mon-fri 09:00-12:00,13:30-18:00", "2026-10-01..2026-10-07", "Asia/Shanghai"),
        ("mon-fri 08:00-20:00; sun 00:30-03:30", "2026-12-25", "Europe/Berlin"),
        ("tue-sat 22:00-06:00", "", "America/New_York"),
        ("mon-sun 00:00-24:00", "", "Europe/Berlin"),
    ],
)
def test_later_and_between_round_trip(text: str, closed: str, zone: str) -> None:
    c = cal(text, closed, zone)
    rng = random.Random(f"{text}|{zone}")
    origin = datetime(2026, 1, 1, tzinfo=UTC)
    for _ in range(400):
        a = origin + timedelta(seconds=rng.randrange(366 * 86_400))
        span = timedelta(seconds=rng.randrange(1, 21 * 86_400))
        end = c.later(a, span)
        assert end > a
        assert c.between(a, end) == span
        b = a + timedelta(seconds=rng.randrange(40 * 86_400))
        gone = c.between(a, b)
        assert gone <= b - a
        back = c.later(a, gone)
        assert back <= b and c.between(a, back) == gone
        middle = a + (b - a) / 3
        assert c.between(a, middle) + c.between(middle, b) == gone
