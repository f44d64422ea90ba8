"""CUSTAPP_* settings (issue 15): parsed by pydantic-settings, every default kept, and a malformed
value stops the start with a message naming the variable."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from custapp.settings import PROJECT_DIR, SettingsError, get_settings


@pytest.fixture
def env(monkeypatch):  # noqa: ANN001, ANN201
    for name in list(os.environ):
        if name.upper().startswith("CUSTAPP_"):
            monkeypatch.delenv(name)
    get_settings.cache_clear()
    yield monkeypatch
    get_settings.cache_clear()


def test_the_defaults(env) -> None:  # noqa: ANN001
    settings = get_settings()
    instance = (PROJECT_DIR / "instance").resolve()
    assert settings.instance_dir == instance
    assert settings.database_url == f"sqlite:///{instance / 'custapp.db'}" and settings.is_sqlite
    assert settings.audit_checkpoint == instance / "audit-head.json"
    assert (settings.master_key, settings.index_key, settings.audit_key) == (None, None, None)
    assert (settings.locale, settings.timezone, settings.environment) == (
        "zh_CN",
        "Asia/Shanghai",
        "production",
    )
    assert settings.bcrypt_rounds == 12 and settings.hash_workers >= 1
    assert (settings.session_idle_minutes, settings.session_absolute_hours) == (30, 12)
    assert (settings.lockout_failures, settings.lockout_minutes) == (5, 15)
    assert settings.trusted_proxy_hops == 0 and settings.redis_url is None
    assert settings.allowed_origins == ("http://localhost:3000", "http://127.0.0.1:3000")
    assert settings.secure_cookies is False
    assert (settings.mail_sender, settings.smtp_host, settings.smtp_port) == ("console", None, 587)
    assert (settings.smtp_user, settings.smtp_password) == (None, None)
    assert settings.smtp_from == "custapp@localhost"
    assert (settings.search_alert_threshold, settings.verification_stale_days) == (30, 365)
    assert settings.grade_thresholds_fen == (5_000_000, 2_000_000, 500_000, 100_000)
    assert (settings.lifecycle_new_days, settings.lifecycle_lost_days) == (90, 365)
    assert settings.rights_due_days == 15
    assert (settings.points_expiry, settings.points_expiry_days) == ("year_end", 365)
    assert (settings.stored_value_cap_fen, settings.topup_max_fen) == (500_000, 200_000)
    assert settings.refund_approval_fen == 50_000
    assert settings.care_holidays == {"01-01": "元旦", "05-01": "劳动节", "10-01": "国庆节"}
    assert settings.complaint_deadlines == {
        "critical": (4, 24),
        "high": (8, 36),
        "normal": (24, 48),
        "low": (24, 72),
    }
    assert settings.complaint_second_level_hours == 24
    assert settings.complaint_business_hours is None
    assert settings.complaint_closed_days == frozenset()


def test_values_are_read_and_an_empty_one_is_unset(env, tmp_path: Path) -> None:  # noqa: ANN001
    env.setenv("CUSTAPP_INSTANCE_DIR", str(tmp_path))
    env.setenv("CUSTAPP_SMTP_PORT", "")
    env.setenv("CUSTAPP_SECURE_COOKIES", "yes")
    env.setenv("CUSTAPP_ALLOWED_ORIGINS", " https://crm.example.com/ , ,https://b.example.com")
    env.setenv("CUSTAPP_COMPLAINT_DEADLINES", "high=6/30, low=48/96")
    env.setenv("CUSTAPP_CARE_HOLIDAYS", "02-14 情人节,12-25")
    env.setenv("CUSTAPP_TOPUP_MAX_YUAN", "1999.99")
    env.setenv("CUSTAPP_ENV", "test")
    settings = get_settings()
    assert settings.database_url == f"sqlite:///{tmp_path.resolve() / 'custapp.db'}"
    assert settings.smtp_port == 587 and settings.secure_cookies is True
    assert settings.allowed_origins == ("https://crm.example.com", "https://b.example.com")
    assert settings.complaint_deadlines == {
        "critical": (4, 24),
        "high": (6, 30),
        "normal": (24, 48),
        "low": (48, 96),
    }
    assert settings.care_holidays == {"02-14": "情人节", "12-25": "12-25"}
    assert settings.topup_max_fen == 199_999 and settings.environment == "test"


@pytest.mark.parametrize(
    ("name", "value", "says"),
    [
        ("CUSTAPP_COMPLAINT_DEADLINES", "high=8", "'high=8' is not severity="),
        ("CUSTAPP_COMPLAINT_DEADLINES", "critical=4/24,hgh=8/36", "unknown severity 'hgh'"),
        ("CUSTAPP_SMTP_PORT", "smtp", "valid integer"),
        ("CUSTAPP_SESSION_IDLE_MINUTES", "30m", "valid integer"),
        ("CUSTAPP_SECURE_COOKIES", "maybe", "valid boolean"),
        ("CUSTAPP_POINTS_EXPIRY", "monthly", "'never', 'days' or 'year_end'"),
        ("CUSTAPP_MAIL_SENDER", "pigeon", "'console' or 'smtp'"),
        ("CUSTAPP_STORED_VALUE_CAP_YUAN", "5千", "not an amount in yuan"),
        ("CUSTAPP_GRADE_A_YUAN", "Infinity", "not an amount in yuan"),
        ("CUSTAPP_CARE_HOLIDAYS", "13-01 元旦", "'13-01' is not MM-DD"),
        ("CUSTAPP_TIMEZONE", "Mars/Olympus", "unknown time zone 'Mars/Olympus'"),
        ("CUSTAPP_COMPLAINT_BUSINESS_HOURS", "weekdays", "no opening times"),
        ("CUSTAPP_BCRYPT_ROUNDS", "4", "allowed only with CUSTAPP_ENV=test"),
        ("CUSTAPP_GRADE_C_YUAN", "30000", "A >= B >= C >= D"),
    ],
)
def test_a_malformed_value_is_refused_naming_the_variable(env, name, value, says) -> None:  # noqa: ANN001
    env.setenv(name, value)
    with pytest.raises(SettingsError) as refused:
        get_settings()
    message = str(refused.value)
    assert message.startswith(name) or message.startswith("CUSTAPP_GRADE_A..D_YUAN"), message
    assert says in message
    assert isinstance(refused.value, ValueError)  # what callers caught before


def test_every_malformed_variable_is_named_at_once(env) -> None:  # noqa: ANN001
    env.setenv("CUSTAPP_SMTP_PORT", "x")
    env.setenv("CUSTAPP_COMPLAINT_DEADLINES", "low=1")
    message = str(pytest.raises(SettingsError, get_settings).value)
    assert message.splitlines()[0].startswith("CUSTAPP_SMTP_PORT: ")
    assert message.splitlines()[1].startswith("CUSTAPP_COMPLAINT_DEADLINES: ")


def test_a_secret_is_never_echoed(env) -> None:  # noqa: ANN001
    env.setenv("CUSTAPP_MASTER_KEY", "1:c2VjcmV0LXNlY3JldC1zZWNyZXQ=")
    env.setenv("CUSTAPP_SMTP_PASSWORD", "hunter2")
    settings = get_settings()
    assert "c2VjcmV0" not in repr(settings) and "hunter2" not in repr(settings)


def _start(**env: str) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items() if not k.upper().startswith("CUSTAPP_")}
    return subprocess.run(
        [sys.executable, "-c", "from custapp.settings import get_settings; get_settings()"],
        env={**clean, **env},
        cwd=PROJECT_DIR,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_a_malformed_value_stops_the_start_naming_the_variable() -> None:
    assert _start().returncode == 0
    started = _start(CUSTAPP_COMPLAINT_DEADLINES="critical=4/24,high=8")
    assert started.returncode != 0
    assert "CUSTAPP_COMPLAINT_DEADLINES: 'high=8'" in started.stderr


def test_the_command_line_says_which_variable_in_one_line() -> None:
    clean = {k: v for k, v in os.environ.items() if not k.upper().startswith("CUSTAPP_")}
    done = subprocess.run(
        [sys.executable, "-m", "custapp.cli", "jobs", "run"],
        env={**clean, "CUSTAPP_SMTP_PORT": "twenty-five"},
        cwd=PROJECT_DIR,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 2
    assert done.stderr.startswith("custapp: CUSTAPP_SMTP_PORT: Input should be a valid integer")
    assert "Traceback" not in done.stderr
