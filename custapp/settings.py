"""All configuration, read from CUSTAPP_* environment variables with working defaults.

Parsed by pydantic-settings: a malformed value stops the start with a SettingsError whose message
names the variable (`CUSTAPP_SMTP_PORT: Input should be a valid integer ...`). An empty variable
counts as unset. This module imports no custapp module: everything it parses lives here.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from contextlib import suppress
from datetime import date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BeforeValidator, Field, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict
from pydantic_settings import SettingsError as _SourceError

PROJECT_DIR = Path(__file__).resolve().parent.parent


def private_dir(path: Path) -> Path:
    """Make `path` a folder for this app's user alone (0700), created or, from an older install,
    tightened. Explicit chmod: the process's umask may be anything."""
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    _tighten(path, 0o700)
    return path


def private_file(path: Path, *, create: bool = False) -> None:
    """Make a file 0600: an existing one (one gone meanwhile is fine), or with create=True a new
    empty one."""
    if create:
        with suppress(FileExistsError):
            os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    with suppress(FileNotFoundError):
        _tighten(path, 0o600)


def _tighten(path: Path, mode: int) -> None:
    info = path.stat()
    if info.st_mode & 0o777 != mode and info.st_uid == os.getuid():
        path.chmod(mode)


_LOCAL_HOSTS = {"", "localhost", "127.0.0.1", "::1"}
_DEFAULT_PORTS = {"postgresql": 5432, "mysql": 3306}


def same_database(first: str, second: str) -> bool:
    """Whether two SQLAlchemy URLs name the same database, whatever the spelling: the backend
    family (any driver), host (local names alike), port (the default filled in) and database;
    for SQLite the resolved file path (issue 16: the key store must not be the app database)."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    try:
        a, b = make_url(first), make_url(second)
    except ArgumentError:
        return first == second
    family = a.get_backend_name()
    if family != b.get_backend_name():
        return False
    if family == "sqlite":
        paths = [u.database or "" for u in (a, b)]
        if any(p in ("", ":memory:") or p.startswith("file:") for p in paths):
            return paths[0] == paths[1]
        return Path(paths[0]).expanduser().resolve() == Path(paths[1]).expanduser().resolve()

    def place(url) -> tuple:  # noqa: ANN001
        socket = url.query.get("host")
        host = (url.host or (socket if isinstance(socket, str) else "") or "").lower()
        host = "localhost" if host in _LOCAL_HOSTS or host.startswith("/") else host
        return host, url.port or _DEFAULT_PORTS.get(family), url.database

    return place(a) == place(b)


class SettingsError(ValueError):
    """A CUSTAPP_* variable the app cannot start with; the message names the variable."""


# --- the business-hours calendar syntax (used by custapp/services/business_hours.py) ------------

HOURS_SETTING = "CUSTAPP_COMPLAINT_BUSINESS_HOURS"
CLOSED_SETTING = "CUSTAPP_COMPLAINT_CLOSED_DAYS"
HOURS_EXAMPLE = "mon-fri 09:00-18:00; sat 10:00-16:00"
DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
DAY_MINUTES = 24 * 60
MAX_CLOSED_RANGE_DAYS = 366

# Opening hours per weekday (Monday first): sorted, merged (start, end) minutes after local
# midnight, 0 <= start < end <= 1440.
Week = tuple[tuple[tuple[int, int], ...], ...]

_TIME_RANGE = re.compile(r"^(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})$")
_DAY_RANGE = re.compile(r"^([a-z]{3})(?:\s*-\s*([a-z]{3}))?$")


def _bad_hours(group: str, why: str) -> ValueError:
    return ValueError(
        f"{HOURS_SETTING}: {group.strip()!r}: {why} (expected e.g. {HOURS_EXAMPLE!r})"
    )


def _weekday(name: str, group: str) -> int:
    if name not in DAYS:
        raise _bad_hours(group, f"unknown day {name!r}, use {', '.join(DAYS)}")
    return DAYS.index(name)


def _minute(hours: str, minutes: str, group: str, *, end: bool) -> int:
    h, m = int(hours), int(minutes)
    if m > 59 or h > 24 or (h == 24 and (m or not end)):
        raise _bad_hours(group, f"{hours}:{minutes} is not a time of day")
    return h * 60 + m


def _merge(spans: list[tuple[int, int]]) -> tuple[tuple[int, int], ...]:
    merged: list[tuple[int, int]] = []
    for start, end in sorted(spans):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return tuple(merged)


def parse_week(text: str | None) -> Week | None:
    """`CUSTAPP_COMPLAINT_BUSINESS_HOURS` as a Week; None when empty (round the clock).
    Raises ValueError naming the setting on anything it cannot read."""
    text = (text or "").strip()
    if not text:
        return None
    days: list[list[tuple[int, int]]] = [[] for _ in DAYS]
    for group in text.split(";"):
        if not group.strip():
            continue
        digit = re.search(r"\d", group)
        if digit is None:
            raise _bad_hours(group, "no opening times")
        day_part, time_part = group[: digit.start()].strip(), group[digit.start() :].strip()
        if not day_part:
            raise _bad_hours(group, "no days before the times")
        weekdays: list[int] = []
        for item in day_part.split(","):
            found = _DAY_RANGE.match(item.strip().lower())
            if found is None:
                raise _bad_hours(group, f"{item.strip()!r} is not a day or a range of days")
            first = _weekday(found.group(1), group)
            last = _weekday(found.group(2), group) if found.group(2) else first
            weekdays += [(first + i) % 7 for i in range((last - first) % 7 + 1)]
        for item in time_part.split(","):
            found = _TIME_RANGE.match(item.strip())
            if found is None:
                raise _bad_hours(group, f"{item.strip()!r} is not HH:MM-HH:MM")
            start = _minute(found.group(1), found.group(2), group, end=False)
            end = _minute(found.group(3), found.group(4), group, end=True)
            if end == start:
                raise _bad_hours(group, f"{item.strip()!r} opens and closes at the same time")
            for weekday in weekdays:
                if end > start:
                    days[weekday].append((start, end))
                else:  # past midnight: the rest of the day, then the next morning
                    days[weekday].append((start, DAY_MINUTES))
                    if end:
                        days[(weekday + 1) % 7].append((0, end))
    week = tuple(_merge(spans) for spans in days)
    if not any(week):
        raise _bad_hours(text, "no opening hours")
    return week


def parse_closed_days(text: str | None) -> frozenset[date]:
    """`CUSTAPP_COMPLAINT_CLOSED_DAYS`: local dates closed all day."""
    closed: set[date] = set()
    for item in (text or "").split(","):
        item = item.strip()
        if not item:
            continue
        first_text, _, last_text = item.partition("..")
        try:
            first = date.fromisoformat(first_text.strip())
            last = date.fromisoformat(last_text.strip()) if last_text else first
        except ValueError as exc:
            raise ValueError(
                f"{CLOSED_SETTING}: {item!r} is not YYYY-MM-DD or YYYY-MM-DD..YYYY-MM-DD"
            ) from exc
        if not 0 <= (last - first).days < MAX_CLOSED_RANGE_DAYS:
            raise ValueError(
                f"{CLOSED_SETTING}: {item!r} must run forwards and span under "
                f"{MAX_CLOSED_RANGE_DAYS} days"
            )
        closed.update(first + timedelta(days=i) for i in range((last - first).days + 1))
    return frozenset(closed)


def check_zone(name: str) -> None:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError(f"CUSTAPP_TIMEZONE: unknown time zone {name!r}") from exc


# --- the other settings with a syntax of their own ----------------------------------------------

DEFAULT_HOLIDAYS = "01-01 元旦, 05-01 劳动节, 10-01 国庆节"


DEFAULT_COMPLAINT_DEADLINES = "critical=4/24,high=8/36,normal=24/48,low=24/72"


def _deadline_items(text: str) -> dict[str, tuple[int, int]]:
    found: dict[str, tuple[int, int]] = {}
    for item in text.split(","):
        if not item.strip():
            continue
        severity, _, hours = item.strip().partition("=")
        response, _, resolution = hours.partition("/")
        if not (severity and response.isdecimal() and resolution.isdecimal()):
            raise ValueError(
                f"{item.strip()!r} is not severity=response hours/resolution hours "
                "(e.g. 'high=8/36')"
            )
        found[severity] = (int(response), int(resolution))
    return found


def _complaint_deadlines(text: Any) -> Any:
    """CUSTAPP_COMPLAINT_DEADLINES: "severity=first response hours/resolution hours", comma
    separated (SPEC §8 defaults); a severity left out keeps its default."""
    if not isinstance(text, str):
        return text
    defaults = _deadline_items(DEFAULT_COMPLAINT_DEADLINES)
    given = _deadline_items(text)
    unknown = sorted(set(given) - set(defaults))
    if unknown:
        raise ValueError(f"unknown severity {unknown[0]!r}, use {', '.join(defaults)}")
    return defaults | given


def _holidays(text: Any) -> Any:
    """CUSTAPP_CARE_HOLIDAYS: "MM-DD 名称" separated by commas (fixed-date holidays)."""
    if not isinstance(text, str):
        return text
    found = {}
    for item in text.split(","):
        day, _, name = item.strip().partition(" ")
        if not day:
            continue
        try:
            datetime.strptime(f"2024-{day}", "%Y-%m-%d")
        except ValueError as exc:
            raise ValueError(f"{day!r} is not MM-DD") from exc
        found[day] = name.strip() or day
    return found


def _origins(text: Any) -> Any:
    if not isinstance(text, str):
        return text
    return tuple(o.strip().rstrip("/") for o in text.split(",") if o.strip())


def _yuan_as_fen(value: Any) -> Any:
    """A money setting given in yuan ("50000", "4999.50"), as integer fen (never a float)."""
    if not isinstance(value, str):
        return value
    try:
        return int(Decimal(value.strip()) * 100)
    except (InvalidOperation, ValueError, OverflowError) as exc:  # "abc", "NaN", "Infinity"
        raise ValueError(f"{value!r} is not an amount in yuan (e.g. '5000' or '4999.50')") from exc


def _text_or(parse: Callable[[str], Any]) -> BeforeValidator:
    """Parse a variable's text; a value given already parsed (Settings(...) in code) passes."""
    return BeforeValidator(lambda value: parse(value) if isinstance(value, str) else value)


YuanAsFen = Annotated[int, BeforeValidator(_yuan_as_fen)]


def _yuan(name: str, default_yuan: int) -> Any:
    return Field(default_yuan * 100, validation_alias=f"CUSTAPP_{name}_YUAN")


# --- backup rotation (issue 16, BP) --------------------------------------------------------------

KEEP_SETTING = "CUSTAPP_BACKUP_KEEP"
DEFAULT_BACKUP_KEEP = "7d,4w,12m"
KEEP_UNITS = {"d": "days", "w": "weeks", "m": "months"}
KEEP_MAX = 1000


def parse_backup_keep(text: str) -> dict[str, int]:
    """`CUSTAPP_BACKUP_KEEP` ("7d,4w,12m": the newest backup of each of the last 7 local days,
    4 ISO weeks, 12 months) -> {"days": 7, "weeks": 4, "months": 12}; a unit left out keeps 0.
    Raises ValueError naming the setting on anything it cannot read."""
    found = {"days": 0, "weeks": 0, "months": 0}
    seen: set[str] = set()
    for item in (text or "").split(","):
        item = item.strip().lower()
        if not item:
            continue
        number, unit = item[:-1].strip(), item[-1:]
        if unit not in KEEP_UNITS or not number.isdecimal() or int(number) > KEEP_MAX:
            raise ValueError(
                f"{KEEP_SETTING}: {item!r} is not a count and d, w or m "
                f"(e.g. {DEFAULT_BACKUP_KEEP!r}, each count at most {KEEP_MAX})"
            )
        if unit in seen:
            raise ValueError(f"{KEEP_SETTING}: {unit!r} is given twice")
        seen.add(unit)
        found[KEEP_UNITS[unit]] = int(number)
    if not any(found.values()):
        raise ValueError(f"{KEEP_SETTING}: keeps no backup at all (e.g. {DEFAULT_BACKUP_KEEP!r})")
    return found


def _backup_keep(text: Any) -> Any:
    if isinstance(text, str):
        parse_backup_keep(text)
        return text.strip()
    return text


# --- the backup key (issue 16, BK) ---------------------------------------------------------------


def _backup_key(text: Any) -> Any:
    """CUSTAPP_BACKUP_KEY: 32 bytes in urlsafe base64 (never echoed back in a message)."""
    if not isinstance(text, str):
        return text
    import base64
    import binascii

    stripped = text.strip().rstrip("=")
    try:
        raw = base64.urlsafe_b64decode(stripped + "=" * (-len(stripped) % 4))
    except (binascii.Error, ValueError):
        raw = b""
    if len(raw) != 32:
        raise ValueError(
            "CUSTAPP_BACKUP_KEY: must be 32 bytes in urlsafe base64 "
            "(e.g. python -c 'import base64,os; print(base64.urlsafe_b64encode(os.urandom(32))"
            ".decode())')"
        )
    return text.strip()


# --- the settings --------------------------------------------------------------------------------


class Settings(BaseSettings):
    """Every CUSTAPP_* variable. The variable of a field is CUSTAPP_ + its name in capitals, unless
    the field names another (validation_alias)."""

    model_config = SettingsConfigDict(
        env_prefix="CUSTAPP_",
        env_ignore_empty=True,  # CUSTAPP_X= is unset, as a shell's `export X=` intends
        extra="ignore",  # CUSTAPP_TEST_PG_URL, CUSTAPP_KEYS_PASSPHRASE... are read elsewhere
        frozen=True,
        validate_default=False,
    )

    instance_dir: Path = PROJECT_DIR / "instance"
    database_url: str = Field(
        default_factory=lambda data: f"sqlite:///{data['instance_dir'] / 'custapp.db'}"
    )
    # a key ring "1:<b64>,2:<b64>"; else the instance key file
    master_key: str | None = Field(None, repr=False)
    index_key: str | None = Field(None, repr=False)
    audit_key: str | None = Field(None, repr=False)
    audit_checkpoint: Path = Field(
        default_factory=lambda data: data["instance_dir"] / "audit-head.json"
    )
    locale: str = "zh_CN"
    timezone: str = "Asia/Shanghai"
    bcrypt_rounds: int = 12
    # bcrypt is CPU-bound: leave a core for page events (SPEC §8 bounded pool)
    hash_workers: int = Field(default_factory=lambda: max(1, (os.cpu_count() or 2) - 1))
    session_idle_minutes: int = 30
    session_absolute_hours: int = 12
    lockout_failures: int = 5
    lockout_minutes: int = 15
    trusted_proxy_hops: int = 0  # reverse proxies in front that append X-Forwarded-For (0: none)
    redis_url: str | None = None
    # pages of these origins may use /_event and the API
    allowed_origins: Annotated[tuple[str, ...], NoDecode, BeforeValidator(_origins)] = (
        "http://localhost:3000",
        "http://127.0.0.1:3000",
    )
    secure_cookies: bool = False  # served over HTTPS: the session cookie only travels encrypted
    mail_sender: Literal["console", "smtp"] = "console"
    smtp_host: str | None = None
    smtp_port: int = 587
    smtp_user: str | None = None
    smtp_password: str | None = Field(None, repr=False)
    smtp_from: str = "custapp@localhost"
    search_alert_threshold: int = 30
    verification_stale_days: int = 365  # real-name verification older than this is flagged (§2)
    # 12-month spend for grades A, B, C, D (SPEC §2; below D: E): grade_thresholds_fen
    grade_a_fen: YuanAsFen = _yuan("GRADE_A", 50_000)
    grade_b_fen: YuanAsFen = _yuan("GRADE_B", 20_000)
    grade_c_fen: YuanAsFen = _yuan("GRADE_C", 5_000)
    grade_d_fen: YuanAsFen = _yuan("GRADE_D", 1_000)
    lifecycle_new_days: int = 90  # "new" while the first purchase is fewer days ago than this
    lifecycle_lost_days: int = 365  # "lost" once the last purchase is at least this many days ago
    rights_due_days: int = 15  # a rights request is due this many local calendar days after receipt
    # never | days | year_end (end of the following calendar year, SPEC §3)
    points_expiry: Literal["never", "days", "year_end"] = "year_end"
    points_expiry_days: int = 365  # with "days": points last this many local days, day earned first
    stored_value_cap_fen: YuanAsFen = _yuan("STORED_VALUE_CAP", 5000)  # a card's balance cap
    topup_max_fen: YuanAsFen = _yuan("TOPUP_MAX", 2000)  # one top-up may not exceed this
    refund_approval_fen: YuanAsFen = _yuan("REFUND_APPROVAL", 500)  # cash refund above: 审批
    care_holidays: Annotated[dict[str, str], NoDecode, BeforeValidator(_holidays)] = Field(
        default_factory=lambda: _holidays(DEFAULT_HOLIDAYS)
    )  # MM-DD -> name
    # severity -> (response h, resolution h)
    complaint_deadlines: Annotated[
        dict[str, tuple[int, int]], NoDecode, BeforeValidator(_complaint_deadlines)
    ] = Field(default_factory=lambda: _complaint_deadlines(""))
    complaint_second_level_hours: int = 24  # after a breach, escalate again this many hours later
    # local opening hours per weekday (syntax above); None: round the clock
    complaint_business_hours: Annotated[Week | None, NoDecode, _text_or(parse_week)] = None
    # local dates closed all day (with a calendar only)
    complaint_closed_days: Annotated[frozenset[date], NoDecode, _text_or(parse_closed_days)] = (
        frozenset()
    )
    # durable jobs (issue 15): the app's own runner (a lifespan task; off where `custapp jobs
    # work` runs elsewhere), how long a claim lasts without a heartbeat, how often an idle runner
    # looks for work
    job_runner: bool = True
    job_lease_seconds: int = Field(120, ge=10)
    job_poll_seconds: float = Field(2.0, gt=0)
    # the scheduler (issue 17): the app's runner and `custapp jobs work` queue each step's due
    # slots (custapp/jobs.py SCHEDULE) as jobs; false where only `custapp jobs tick` (cron) does
    scheduler: bool = True
    environment: str = Field("production", validation_alias="CUSTAPP_ENV")
    # backups (issue 16, BK): where backup files, key-store copies (keystore/) and register
    # copies (register/) go; the backup key (else <instance_dir>/backup.key, made on first use)
    backup_dir: Path = Field(default_factory=lambda data: data["instance_dir"] / "backups")
    backup_key: Annotated[str | None, BeforeValidator(_backup_key)] = Field(None, repr=False)
    # data lifecycle, key store (issue 16, KS): the wrapped data keys live outside the app
    # database; a PostgreSQL URL must name a separate database. Copies older than
    # keystore_copy_days are deleted (destroyed keys must not outlive them).
    keystore_url: str = Field(
        default_factory=lambda data: (
            f"sqlite:///{data['instance_dir'] / 'keystore' / 'keystore.db'}"
        )
    )
    keystore_copy_days: int = Field(35, ge=1)
    # backup rotation (issue 16, BP): the daily/weekly/monthly set kept (parse_backup_keep)
    backup_keep: Annotated[str, BeforeValidator(_backup_keep)] = DEFAULT_BACKUP_KEEP
    # keys for several workers (issue 17): the folder of the key files (master.keyring, index.key,
    # audit.key, backup.key), e.g. a mounted secret or a share every host reads; default the
    # instance folder. A CUSTAPP_*_KEY variable wins over its file (security/keys.py).
    keys_dir: Path = Field(default_factory=lambda data: data["instance_dir"])

    @field_validator("instance_dir", "backup_dir", "keys_dir")
    @classmethod
    def _absolute(cls, path: Path) -> Path:
        return path.resolve()

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, name: str) -> str:
        check_zone(name)
        return name

    @model_validator(mode="after")
    def _consistent(self) -> Settings:
        if self.bcrypt_rounds < 12 and self.environment != "test":
            # A low cost is for the test suite only (SPEC §1: cost >= 12).
            raise ValueError("CUSTAPP_BCRYPT_ROUNDS below 12 is allowed only with CUSTAPP_ENV=test")
        thresholds = self.grade_thresholds_fen
        if any(t < 0 for t in thresholds) or list(thresholds) != sorted(thresholds, reverse=True):
            raise ValueError("CUSTAPP_GRADE_A..D_YUAN must be >= 0 and A >= B >= C >= D")
        if self.points_expiry == "days" and self.points_expiry_days < 1:
            raise ValueError("CUSTAPP_POINTS_EXPIRY_DAYS must be at least 1")
        if same_database(self.keystore_url, self.database_url):
            raise ValueError(
                "CUSTAPP_KEYSTORE_URL must not be the app database (CUSTAPP_DATABASE_URL)"
            )
        if self.complaint_business_hours is None and self.complaint_closed_days:
            raise ValueError(
                "CUSTAPP_COMPLAINT_CLOSED_DAYS needs CUSTAPP_COMPLAINT_BUSINESS_HOURS "
                "(for round the clock except those days: 'mon-sun 00:00-24:00')"
            )
        return self

    @property
    def grade_thresholds_fen(self) -> tuple[int, int, int, int]:
        """Minimum trailing-12-month spend in fen for grades A, B, C, D (below D: E)."""
        return (self.grade_a_fen, self.grade_b_fen, self.grade_c_fen, self.grade_d_fen)

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    @property
    def keystore_dir(self) -> Path:
        """The folder of the key store file and of the destruction register (issue 16)."""
        return self.instance_dir / "keystore"


_SECRET = {
    "master_key",
    "index_key",
    "audit_key",
    "smtp_password",
    "database_url",
    "redis_url",
    "keystore_url",
    "backup_key",
}


def _variable(field: str) -> str:
    info = Settings.model_fields.get(field)
    alias = info.validation_alias if info is not None else None
    return alias if isinstance(alias, str) else f"CUSTAPP_{field.upper()}"


def _describe(error: ValidationError) -> str:
    """One line per bad variable, each starting with its name."""
    lines = []
    for item in error.errors():
        message = item["msg"].removeprefix("Value error, ")
        if message.startswith("CUSTAPP_") or not item["loc"]:
            lines.append(message)
            continue
        field = str(item["loc"][0])
        name = field if field.startswith("CUSTAPP_") else _variable(field)
        if message.startswith(f"{name}: "):
            lines.append(message)
            continue
        shown = "" if field.lower() in _SECRET else f" (got {item.get('input')!r})"
        lines.append(f"{name}: {message}{shown if item['type'] != 'value_error' else ''}")
    return "\n".join(lines)


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The settings, read once (tests call get_settings.cache_clear() after changing the
    environment). Raises SettingsError naming each malformed variable."""
    try:
        return Settings()
    except ValidationError as exc:
        raise SettingsError(_describe(exc)) from None
    except _SourceError as exc:  # a value the source could not even decode
        raise SettingsError(str(exc)) from None
