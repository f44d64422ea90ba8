"""All configuration, read from CUSTAPP_* environment variables with working defaults."""

from __future__ import annotations

import os
from contextlib import suppress
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from custapp.services.business_hours import Week

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


def _env(name: str, default: str | None = None) -> str | None:
    value = os.environ.get(f"CUSTAPP_{name}")
    return value if value not in (None, "") else default


def _int(name: str, default: int) -> int:
    return int(_env(name, str(default)))


def _yuan_as_fen(name: str, default_yuan: int) -> int:
    """A money setting given in yuan ("50000", "4999.50"), as integer fen (never a float)."""
    return int(Decimal(_env(name, str(default_yuan))) * 100)


def _grade_thresholds() -> tuple[int, int, int, int]:
    """Minimum trailing-12-month spend in fen for grades A, B, C, D (below D: E)."""
    thresholds = tuple(
        _yuan_as_fen(f"GRADE_{grade}_YUAN", default)
        for grade, default in (("A", 50_000), ("B", 20_000), ("C", 5_000), ("D", 1_000))
    )
    if any(t < 0 for t in thresholds) or list(thresholds) != sorted(thresholds, reverse=True):
        raise ValueError("CUSTAPP_GRADE_A..D_YUAN must be >= 0 and A >= B >= C >= D")
    return thresholds  # type: ignore[return-value]


def _points_expiry() -> str:
    policy = _env("POINTS_EXPIRY", "year_end")
    if policy not in ("never", "days", "year_end"):
        raise ValueError("CUSTAPP_POINTS_EXPIRY must be never, days or year_end")
    if policy == "days" and _int("POINTS_EXPIRY_DAYS", 365) < 1:
        raise ValueError("CUSTAPP_POINTS_EXPIRY_DAYS must be at least 1")
    return policy


DEFAULT_HOLIDAYS = "01-01 元旦, 05-01 劳动节, 10-01 国庆节"


DEFAULT_COMPLAINT_DEADLINES = "critical=4/24,high=8/36,normal=24/48,low=24/72"


def _complaint_deadlines() -> dict[str, tuple[int, int]]:
    """CUSTAPP_COMPLAINT_DEADLINES: "severity=first response hours/resolution hours", comma
    separated (SPEC §8 defaults); a severity left out keeps its default."""
    found: dict[str, tuple[int, int]] = {}
    for text in (DEFAULT_COMPLAINT_DEADLINES, _env("COMPLAINT_DEADLINES", "") or ""):
        for item in text.split(","):
            severity, _, hours = item.strip().partition("=")
            response, _, resolution = hours.partition("/")
            if severity and response.isdecimal() and resolution.isdecimal():
                found[severity] = (int(response), int(resolution))
    return found


def _complaint_calendar(timezone: str) -> tuple[Week | None, frozenset[date]]:
    """CUSTAPP_COMPLAINT_BUSINESS_HOURS ("mon-fri 09:00-18:00; sat 10:00-16:00"; empty: round
    the clock) and CUSTAPP_COMPLAINT_CLOSED_DAYS ("2026-10-01..2026-10-07,2027-01-01"); the
    syntax is in custapp/services/business_hours.py. A bad value stops the start."""
    from custapp.services import business_hours

    week = business_hours.parse_week(_env("COMPLAINT_BUSINESS_HOURS", "") or "")
    closed = business_hours.parse_closed_days(_env("COMPLAINT_CLOSED_DAYS", "") or "")
    if week is None and closed:
        raise ValueError(
            "CUSTAPP_COMPLAINT_CLOSED_DAYS needs CUSTAPP_COMPLAINT_BUSINESS_HOURS "
            "(for round the clock except those days: 'mon-sun 00:00-24:00')"
        )
    if week is not None:
        business_hours.check_zone(timezone)
    return week, closed


def _holidays() -> dict[str, str]:
    """CUSTAPP_CARE_HOLIDAYS: "MM-DD 名称" separated by commas (fixed-date holidays)."""
    found = {}
    for item in (_env("CARE_HOLIDAYS", DEFAULT_HOLIDAYS) or "").split(","):
        day, _, name = item.strip().partition(" ")
        if not day:
            continue
        try:
            datetime.strptime(f"2024-{day}", "%Y-%m-%d")
        except ValueError as exc:
            raise ValueError(f"CUSTAPP_CARE_HOLIDAYS: {day!r} is not MM-DD") from exc
        found[day] = name.strip() or day
    return found


@dataclass(frozen=True)
class Settings:
    instance_dir: Path
    database_url: str
    master_key: str | None  # a key ring "1:<b64>,2:<b64>"; else the instance key file
    index_key: str | None
    audit_key: str | None
    audit_checkpoint: Path
    locale: str
    timezone: str
    bcrypt_rounds: int
    hash_workers: int
    session_idle_minutes: int
    session_absolute_hours: int
    lockout_failures: int
    lockout_minutes: int
    trusted_proxy_hops: int  # reverse proxies in front that append X-Forwarded-For (0: none)
    redis_url: str | None
    allowed_origins: tuple[str, ...]  # pages of these origins may use /_event and the API
    secure_cookies: bool  # served over HTTPS: the session cookie only travels encrypted
    mail_sender: str  # "console" or "smtp"
    smtp_host: str | None
    smtp_port: int
    smtp_user: str | None
    smtp_password: str | None
    smtp_from: str
    search_alert_threshold: int
    verification_stale_days: int  # real-name verification older than this is flagged (SPEC §2)
    grade_thresholds_fen: tuple[int, int, int, int]  # 12-month spend for A, B, C, D (SPEC §2)
    lifecycle_new_days: int  # "new" while the first purchase is fewer days ago than this
    lifecycle_lost_days: int  # "lost" once the last purchase is at least this many days ago
    rights_due_days: int  # a rights request is due this many local calendar days after receipt
    points_expiry: str  # never | days | year_end (end of the following calendar year, SPEC §3)
    points_expiry_days: int  # with "days": points last this many local days, the day earned first
    stored_value_cap_fen: int  # a card's stored-value balance may not exceed this (issue 14)
    topup_max_fen: int  # one top-up may not exceed this
    refund_approval_fen: int  # cash refunded on one purchase above this goes to 审批
    care_holidays: dict[str, str]  # MM-DD -> name
    complaint_deadlines: dict[str, tuple[int, int]]  # severity -> (response h, resolution h)
    complaint_second_level_hours: int  # after a breach, escalate again this many hours later
    complaint_business_hours: Week | None  # local opening hours per weekday; None: round the clock
    complaint_closed_days: frozenset[date]  # local dates closed all day (with a calendar only)
    environment: str

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    instance = Path(_env("INSTANCE_DIR", str(PROJECT_DIR / "instance"))).resolve()
    environment = _env("ENV", "production")
    rounds = _int("BCRYPT_ROUNDS", 12)
    if rounds < 12 and environment != "test":
        # A low cost is for the test suite only (SPEC §1: cost >= 12).
        raise ValueError("CUSTAPP_BCRYPT_ROUNDS below 12 is allowed only with CUSTAPP_ENV=test")
    timezone = _env("TIMEZONE", "Asia/Shanghai")
    business_hours, closed_days = _complaint_calendar(timezone)
    return Settings(
        instance_dir=instance,
        database_url=_env("DATABASE_URL", f"sqlite:///{instance / 'custapp.db'}"),
        master_key=_env("MASTER_KEY"),
        index_key=_env("INDEX_KEY"),
        audit_key=_env("AUDIT_KEY"),
        audit_checkpoint=Path(_env("AUDIT_CHECKPOINT", str(instance / "audit-head.json"))),
        locale=_env("LOCALE", "zh_CN"),
        timezone=timezone,
        bcrypt_rounds=rounds,
        # bcrypt is CPU-bound: leave a core for page events (SPEC §8 bounded pool)
        hash_workers=_int("HASH_WORKERS", max(1, (os.cpu_count() or 2) - 1)),
        session_idle_minutes=_int("SESSION_IDLE_MINUTES", 30),
        session_absolute_hours=_int("SESSION_ABSOLUTE_HOURS", 12),
        lockout_failures=_int("LOCKOUT_FAILURES", 5),
        lockout_minutes=_int("LOCKOUT_MINUTES", 15),
        trusted_proxy_hops=_int("TRUSTED_PROXY_HOPS", 0),
        redis_url=_env("REDIS_URL"),
        allowed_origins=tuple(
            o.strip().rstrip("/")
            for o in (
                _env("ALLOWED_ORIGINS", "http://localhost:3000,http://127.0.0.1:3000") or ""
            ).split(",")
            if o.strip()
        ),
        secure_cookies=_env("SECURE_COOKIES", "false").lower() in ("1", "true", "yes", "on"),
        mail_sender=_env("MAIL_SENDER", "console"),
        smtp_host=_env("SMTP_HOST"),
        smtp_port=_int("SMTP_PORT", 587),
        smtp_user=_env("SMTP_USER"),
        smtp_password=_env("SMTP_PASSWORD"),
        smtp_from=_env("SMTP_FROM", "custapp@localhost"),
        search_alert_threshold=_int("SEARCH_ALERT_THRESHOLD", 30),
        verification_stale_days=_int("VERIFICATION_STALE_DAYS", 365),
        grade_thresholds_fen=_grade_thresholds(),
        lifecycle_new_days=_int("LIFECYCLE_NEW_DAYS", 90),
        lifecycle_lost_days=_int("LIFECYCLE_LOST_DAYS", 365),
        rights_due_days=_int("RIGHTS_DUE_DAYS", 15),
        points_expiry=_points_expiry(),
        points_expiry_days=_int("POINTS_EXPIRY_DAYS", 365),
        stored_value_cap_fen=_yuan_as_fen("STORED_VALUE_CAP_YUAN", 5000),
        topup_max_fen=_yuan_as_fen("TOPUP_MAX_YUAN", 2000),
        refund_approval_fen=_yuan_as_fen("REFUND_APPROVAL_YUAN", 500),
        care_holidays=_holidays(),
        complaint_deadlines=_complaint_deadlines(),
        complaint_second_level_hours=_int("COMPLAINT_SECOND_LEVEL_HOURS", 24),
        complaint_business_hours=business_hours,
        complaint_closed_days=closed_days,
        environment=environment,
    )
