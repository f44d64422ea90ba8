"""How many passwords a login may evaluate (issue 14 items 3, 5, 6, 7): the staff lockout holds
under parallel logins, an unknown name locks like an existing one, a member's account is only
rate-bounded (a flood from one address never keeps the member out from another), and a failed
login audits a keyed hash of what was typed, never the text.

Evaluations are counted by wrapping passwords.verify_password; the wrapper can hold the first
evaluations back, so a test does not depend on how the threads are scheduled."""

from __future__ import annotations

import importlib
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from custapp import clock
from custapp.db import session_scope
from custapp.models import AuditEntry
from custapp.security import passwords
from custapp.services import auth, bootstrap, customers, member_access
from custapp.services.actor import Actor, system_actor
from custapp.services.customers import CustomerInput
from custapp.settings import get_settings

T0 = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)
PASSWORD = "Correct-horse-42"
WRONG = "Wrong-horse-42"
PHONE = "13912345678"
MEMBER_PASSWORD = "Member-pass-2026"


class Evaluations:
    """Counts password evaluations; the first `hold` of them wait until `release` is set."""

    def __init__(self, monkeypatch, hold: int = 0) -> None:  # noqa: ANN001
        self.count = 0
        self.hold = hold
        self.release = threading.Event()
        self._lock = threading.Lock()
        real = passwords.verify_password

        def counting(password: str, hashed: str) -> bool:
            with self._lock:
                self.count += 1
                held = self.count <= self.hold
            if held:
                self.release.wait(60)
            return real(password, hashed)

        monkeypatch.setattr(passwords, "verify_password", counting)


def run_parallel(calls: list[Callable], evaluations: Evaluations) -> list:
    """Run every call in its own thread; release the held evaluations once each call is either
    evaluating a password or answered."""
    with ThreadPoolExecutor(len(calls)) as pool:
        futures = [pool.submit(call) for call in calls]
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            answered = sum(f.done() for f in futures)
            if min(evaluations.count, evaluations.hold) + answered >= len(calls):
                break
            time.sleep(0.01)
        evaluations.release.set()
        return [f.result() for f in futures]


@pytest.fixture
def staff(db) -> int:
    clock.set_now(T0)
    with session_scope() as session:
        return bootstrap.create_staff_user(
            session,
            actor=system_actor("test"),
            username="alice",
            display_name="Alice",
            roles=["front_desk"],
            password=PASSWORD,
        )


@pytest.fixture
def member(db) -> int:
    clock.set_now(T0)
    with session_scope() as session:
        return bootstrap.create_member_login(
            session,
            actor=system_actor("test"),
            phone=PHONE,
            password=MEMBER_PASSWORD,
            display_name="会员",
        )


def login(username: str, password: str, ip: str = "10.0.0.1") -> auth.LoginResult:
    with session_scope() as session:
        return auth.login_staff(session, username=username, password=password, ip=ip)


def member_login(password: str, ip: str, phone: str = PHONE) -> auth.LoginResult:
    with session_scope() as session:
        return auth.login_member(session, phone=phone, password=password, ip=ip)


# --- staff ------------------------------------------------------------------------------------


def test_thirty_parallel_wrong_logins_evaluate_at_most_five_passwords(staff, monkeypatch):
    evaluations = Evaluations(monkeypatch, hold=30)
    results = run_parallel([lambda: login("alice", WRONG)] * 30, evaluations)
    assert evaluations.count <= 5
    assert not any(r.ok for r in results)
    assert {r.error for r in results} == {"auth.invalid", "auth.locked"}
    assert login("alice", PASSWORD).error == "auth.locked"


def test_the_right_password_after_five_reserved_attempts_is_refused(staff, monkeypatch):
    evaluations = Evaluations(monkeypatch, hold=5)
    with ThreadPoolExecutor(5) as pool:
        wrong = [pool.submit(login, "alice", WRONG) for _ in range(5)]
        deadline = time.monotonic() + 60
        while evaluations.count < 5 and time.monotonic() < deadline:
            time.sleep(0.01)
        assert evaluations.count == 5  # five attempts reserved and being evaluated
        right = login("alice", PASSWORD)
        evaluations.release.set()
        answers = sorted(f.result().error for f in wrong)
    assert not right.ok and right.error == "auth.locked"
    assert evaluations.count == 5  # the right password was never evaluated
    assert answers == ["auth.invalid"] * 4 + ["auth.locked"]
    clock.advance(timedelta(minutes=15))
    assert login("alice", PASSWORD).ok


def test_an_unknown_name_answers_exactly_like_an_existing_one(staff):
    existing = [login("alice", WRONG) for _ in range(7)]
    unknown = [login("nobody", WRONG) for _ in range(7)]
    assert [(r.error, r.params) for r in existing] == [(r.error, r.params) for r in unknown]
    assert [r.error for r in unknown] == ["auth.invalid"] * 4 + ["auth.locked"] * 3
    clock.advance(timedelta(minutes=15))
    assert login("alice", PASSWORD).ok
    assert login("nobody", WRONG).error == "auth.invalid"


def test_failed_logins_audit_a_keyed_hash_of_what_was_typed(staff):
    for typed in (PHONE, "alice"):
        for _ in range(5):
            login(typed, WRONG)
    assert login("Alice ", PASSWORD).ok is False  # still locked: the name is normalised
    clock.advance(timedelta(minutes=15))
    assert login("alice", PASSWORD).ok
    with session_scope() as session:
        rows = session.exec(
            select(AuditEntry.action, AuditEntry.outcome, AuditEntry.actor_name).where(
                AuditEntry.action.in_(("auth.login", "auth.lockout"))
            )
        ).all()
    failed = {name for _, outcome, name in rows if outcome == "failed"}
    assert len(failed) == 2
    assert all(name.startswith("login:") and len(name) == 18 for name in failed)
    assert all(PHONE not in name and "alice" not in name for name in failed)
    assert [name for _, outcome, name in rows if outcome == "ok"] == ["alice"]


# --- members ----------------------------------------------------------------------------------


def test_parallel_member_logins_for_one_phone_are_rate_bounded(member, monkeypatch):
    evaluations = Evaluations(monkeypatch, hold=30)
    calls = [lambda n=n: member_login("Wrong-pass-2026", ip=f"10.1.0.{n}") for n in range(30)]
    results = run_parallel(calls, evaluations)
    assert evaluations.count <= auth.MEMBER_BURST
    waits = [r.params["seconds"] for r in results if r.error == "auth.member_wait"]
    assert waits and max(waits) <= auth.MEMBER_INTERVAL.total_seconds()
    clock.advance(auth.MEMBER_INTERVAL)
    assert member_login(MEMBER_PASSWORD, ip="10.2.0.1").ok  # a wait, never a lock


def test_a_flood_from_one_address_does_not_delay_the_member_elsewhere(member, monkeypatch):
    evaluations = Evaluations(monkeypatch)
    while evaluations.count < 14:
        result = member_login("Wrong-pass-2026", ip="10.6.6.6")
        if result.error == "auth.member_wait":
            clock.advance(timedelta(seconds=result.params["seconds"]))
    for _ in range(20):  # and hammering without waiting
        assert member_login("Wrong-pass-2026", ip="10.6.6.6").error == "auth.member_wait"
    assert evaluations.count == 14
    assert member_login(MEMBER_PASSWORD, ip="10.7.7.7").ok


@pytest.fixture
def customer(db) -> tuple[Actor, int]:
    clock.set_now(T0)
    with session_scope() as session:
        desk_id = bootstrap.create_staff_user(
            session,
            actor=system_actor("test"),
            username="desk.one",
            display_name="desk",
            roles=["front_desk"],
            password=PASSWORD,
        )
    desk = Actor(user_id=desk_id, name="desk.one", roles=frozenset({"front_desk"}))
    with session_scope() as session:
        customer_id = customers.create_customer(
            session, actor=desk, data=CustomerInput(name="张三", phone=PHONE)
        ).id
    return desk, customer_id


def issue_code(customer: tuple[Actor, int]) -> str:
    with session_scope() as session:
        return member_access.issue_code(
            session, actor=customer[0], customer_id=customer[1], identity_checked=True
        ).code


def activate(code: str, ip: str) -> auth.LoginResult:
    with session_scope() as session:
        return member_access.activate(
            session, phone=PHONE, code=code, password=MEMBER_PASSWORD, ip=ip
        )


def test_parallel_activations_for_one_phone_are_rate_bounded(customer, monkeypatch):
    code = issue_code(customer)
    wrong = "0" * 8 if code != "0" * 8 else "1" * 8
    evaluations = Evaluations(monkeypatch, hold=30)
    results = run_parallel(
        [lambda n=n: activate(wrong, f"10.3.0.{n}") for n in range(30)], evaluations
    )
    assert evaluations.count <= auth.MEMBER_BURST
    assert not any(r.ok for r in results)
    clock.advance(auth.MEMBER_INTERVAL)
    assert activate(code, "10.4.0.1").ok


def test_an_activation_flood_from_one_address_does_not_delay_the_member(customer, monkeypatch):
    code = issue_code(customer)
    wrong = "0" * 8 if code != "0" * 8 else "1" * 8
    evaluations = Evaluations(monkeypatch)
    while evaluations.count < 14:
        result = activate(wrong, "10.6.6.6")
        if result.error == "auth.member_wait":
            clock.advance(timedelta(seconds=result.params["seconds"]))
    assert activate(code, "10.7.7.7").ok


def test_trusted_proxy_hops_is_a_setting_reflex_uses(monkeypatch):
    """Behind a reverse proxy every client is the proxy's address unless Reflex reads the client
    from X-Forwarded-For: the per-address back-off needs CUSTAPP_TRUSTED_PROXY_HOPS."""
    import rxconfig

    try:
        for hops in ("1", None):
            if hops:
                monkeypatch.setenv("CUSTAPP_TRUSTED_PROXY_HOPS", hops)
            else:
                monkeypatch.delenv("CUSTAPP_TRUSTED_PROXY_HOPS")
            get_settings.cache_clear()
            importlib.reload(rxconfig)
            assert get_settings().trusted_proxy_hops == int(hops or 0)
            assert rxconfig.config.trusted_proxy_hops == int(hops or 0)
    finally:
        get_settings.cache_clear()


def test_a_name_postgresql_cannot_store_is_an_unknown_name(staff):  # noqa: ANN001
    """A forged login with a NUL or a lone surrogate in the name answers like any unknown name
    (PostgreSQL refuses such text in a query parameter; that must not escape as an error)."""
    for typed in ("alice\x00", "\x00", "\ud800alice"):
        assert login(typed, "wrong-password").error == "auth.invalid"
    assert login("alice", PASSWORD).ok


def test_members_logging_in_at_once_behind_one_address_leave_it_open(member, monkeypatch):
    """Behind a shared address (a carrier's NAT), logins in progress count as failures until
    they succeed; once they have, the address waits no longer than its real failures say."""
    evaluations = Evaluations(monkeypatch, hold=auth.ADDRESS_FREE_FAILURES)
    calls = [lambda: member_login(MEMBER_PASSWORD, ip="10.9.9.9")] * auth.ADDRESS_FREE_FAILURES
    assert all(r.ok for r in run_parallel(calls, evaluations))
    assert member_login(MEMBER_PASSWORD, ip="10.9.9.9").ok
