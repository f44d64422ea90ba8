"""Logins, lockout, member back-off, session expiry and password changes (SPEC §1, §8)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from custapp import clock
from custapp.db import session_scope
from custapp.models import AuditEntry, LoginSession, User
from custapp.services import auth, bootstrap, users
from custapp.services.actor import Actor, system_actor
from custapp.services.errors import ValidationFailed

T0 = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)
PASSWORD = "Correct-horse-42"
MEMBER_PHONE = "13912345678"
MEMBER_PASSWORD = "Member-pass-2026"


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
def admin(staff) -> Actor:
    with session_scope() as session:
        admin_id = bootstrap.create_staff_user(
            session,
            actor=system_actor("test"),
            username="root.admin",
            display_name="Admin",
            roles=["sysadmin"],
            password=PASSWORD,
        )
    return Actor(user_id=admin_id, name="root.admin", roles=frozenset({"sysadmin"}))


@pytest.fixture
def member(db) -> int:
    clock.set_now(T0)
    with session_scope() as session:
        return bootstrap.create_member_login(
            session,
            actor=system_actor("test"),
            phone=MEMBER_PHONE,
            password=MEMBER_PASSWORD,
            display_name="会员",
        )


def login(username: str, password: str, ip: str = "10.0.0.1") -> auth.LoginResult:
    with session_scope() as session:
        return auth.login_staff(session, username=username, password=password, ip=ip)


def member_login(phone: str, password: str, ip: str = "10.0.0.9") -> auth.LoginResult:
    with session_scope() as session:
        return auth.login_member(session, phone=phone, password=password, ip=ip)


def resolve(token: str) -> auth.SessionCheck:
    with session_scope() as session:
        return auth.resolve_session(session, token=token)


def audit_actions(action: str) -> list[AuditEntry]:
    with session_scope() as session:
        return list(
            session.exec(select(AuditEntry).where(AuditEntry.action == action)).scalars().all()
        )


def user_row(user_id: int) -> User:
    with session_scope() as session:
        return session.get(User, user_id)


# --- staff login ------------------------------------------------------------------------------


def test_staff_login_with_right_password_starts_a_session(staff):
    result = login("alice", PASSWORD)
    assert result.ok and result.token
    assert resolve(result.token).actor.user_id == staff


def test_wrong_password_and_unknown_user_get_the_same_message(staff):
    wrong = login("alice", "Wrong-horse-42")
    unknown = login("nobody", PASSWORD)
    assert not wrong.ok and not unknown.ok
    assert wrong.token is None and unknown.token is None
    assert wrong.error == unknown.error == "auth.invalid"
    assert [e.outcome for e in audit_actions("auth.login")] == ["failed", "failed"]


def test_five_failures_lock_even_the_right_password_for_15_minutes(staff):
    for _ in range(4):
        assert login("alice", "Wrong-horse-42").error == "auth.invalid"
    fifth = login("alice", "Wrong-horse-42")
    assert fifth.error == "auth.locked"
    sixth = login("alice", PASSWORD)
    assert not sixth.ok and sixth.error == "auth.locked"
    clock.advance(timedelta(minutes=14, seconds=59))
    assert login("alice", PASSWORD).error == "auth.locked"
    clock.advance(timedelta(seconds=1))
    assert login("alice", PASSWORD).ok


def test_lockout_writes_an_audit_entry(staff):
    for _ in range(5):
        login("alice", "Wrong-horse-42")
    entries = audit_actions("auth.lockout")
    assert len(entries) == 1
    assert entries[0].actor_id == staff


# --- member login -----------------------------------------------------------------------------


def test_member_login_with_phone_and_password(member):
    result = member_login(MEMBER_PHONE, MEMBER_PASSWORD)
    assert result.ok
    actor = resolve(result.token).actor
    assert actor.kind == "member" and actor.user_id == member


def test_member_unknown_phone_and_wrong_password_get_the_same_message(member):
    unknown = member_login("13700000000", MEMBER_PASSWORD, ip="10.0.0.1")
    wrong = member_login(MEMBER_PHONE, "Wrong-pass-2026", ip="10.0.0.2")
    assert not unknown.ok and not wrong.ok
    assert unknown.error == wrong.error == "auth.member_invalid"


def test_member_failures_bring_a_wait_not_a_lock(member):
    for _ in range(3):
        assert member_login(MEMBER_PHONE, "Wrong-pass-2026").error == "auth.member_invalid"
    waiting = member_login(MEMBER_PHONE, MEMBER_PASSWORD)
    assert not waiting.ok and waiting.error == "auth.member_wait"
    assert waiting.params["seconds"] >= 1
    clock.advance(timedelta(seconds=waiting.params["seconds"]))
    assert member_login(MEMBER_PHONE, MEMBER_PASSWORD).ok


def test_member_back_off_is_capped_so_the_member_can_always_log_in_again(member):
    longest = 0
    for _ in range(30):
        result = member_login(MEMBER_PHONE, "Wrong-pass-2026")
        if result.error == "auth.member_wait":
            longest = max(longest, result.params["seconds"])
            clock.advance(timedelta(seconds=result.params["seconds"]))
    assert 60 < longest <= 301
    clock.advance(timedelta(minutes=5, seconds=1))
    assert member_login(MEMBER_PHONE, MEMBER_PASSWORD).ok


def test_member_back_off_also_applies_per_address(member):
    for n in range(3):
        member_login(f"1370000000{n}", "Wrong-pass-2026", ip="10.9.9.9")
    assert member_login(MEMBER_PHONE, MEMBER_PASSWORD, ip="10.9.9.9").error == "auth.member_wait"
    assert member_login(MEMBER_PHONE, MEMBER_PASSWORD, ip="10.1.1.1").ok


# --- session expiry ---------------------------------------------------------------------------


def test_session_ends_after_30_idle_minutes(staff):
    token = login("alice", PASSWORD).token
    clock.advance(timedelta(minutes=30))
    check = resolve(token)
    assert check.actor is None and check.ended == "idle"
    assert resolve(token).actor is None


def test_activity_within_30_minutes_keeps_the_session_alive(staff):
    token = login("alice", PASSWORD).token
    for _ in range(4):
        clock.advance(timedelta(minutes=29))
        assert resolve(token).actor is not None


def test_session_ends_after_12_hours_despite_activity(staff):
    token = login("alice", PASSWORD).token
    for _ in range(35):  # 11 h 40 min of activity every 20 minutes
        clock.advance(timedelta(minutes=20))
        assert resolve(token).actor is not None
    clock.advance(timedelta(minutes=20))
    check = resolve(token)
    assert check.actor is None and check.ended == "expired"


def test_disabling_a_user_ends_their_sessions_at_once(admin, staff):
    token = login("alice", PASSWORD).token
    assert resolve(token).actor is not None
    with session_scope() as session:
        users.set_active(session, actor=admin, user_id=staff, active=False)
    check = resolve(token)
    assert check.actor is None and check.ended == "disabled"
    assert not login("alice", PASSWORD).ok


def test_password_reset_ends_sessions_and_forces_a_change(admin, staff):
    token = login("alice", PASSWORD).token
    with session_scope() as session:
        issued = users.reset_password(session, actor=admin, user_id=staff)
    assert resolve(token).actor is None
    assert not login("alice", PASSWORD).ok
    fresh = login("alice", issued.temporary_password)
    assert fresh.ok and fresh.must_change_password
    assert resolve(fresh.token).actor.must_change_password


def test_password_reset_ends_every_session_of_the_login(admin, staff):
    tokens = [login("alice", PASSWORD, ip=f"10.0.0.{n}").token for n in range(3)]
    other = login("root.admin", PASSWORD).token
    with session_scope() as session:
        users.reset_password(session, actor=admin, user_id=staff)
    assert [resolve(token).ended for token in tokens] == ["password_reset"] * 3
    assert resolve(other).actor is not None


# --- password change --------------------------------------------------------------------------


def test_change_password_ends_every_other_session_of_the_login(admin, staff):
    current, *others = [login("alice", PASSWORD, ip=f"10.0.0.{n}").token for n in range(3)]
    bystander = login("root.admin", PASSWORD).token
    actor = resolve(current).actor
    with session_scope() as session:
        auth.change_password(
            session,
            actor=actor,
            current=PASSWORD,
            new="Brand-new-pass-7",
            confirm="Brand-new-pass-7",
        )
    assert resolve(current).actor.user_id == staff
    assert [resolve(token).ended for token in others] == ["password_change"] * 2
    assert resolve(bystander).actor is not None


RULE_BREAKS = [
    # (current, new, confirm) -> the field and message key the form shows
    (
        ("Wrong-horse-42", "Brand-new-pass-7", "Brand-new-pass-7"),
        "current",
        "password.wrong_current",
    ),
    ((PASSWORD, "Sh0rt!", "Sh0rt!"), "new", "password.too_short"),
    ((PASSWORD, "alice-2026-x", "alice-2026-x"), "new", "password.is_username"),
    ((PASSWORD, "password123", "password123"), "new", "password.too_common"),
    ((PASSWORD, PASSWORD, PASSWORD), "new", "password.same_as_old"),
    ((PASSWORD, "Brand-new-pass-7", "Brand-new-pass-8"), "confirm", "password.mismatch"),
]


def test_change_password_enforces_the_rules(staff):
    actor = resolve(login("alice", PASSWORD).token).actor
    before = user_row(staff).password_hash
    for (current, new, confirm), field, key in RULE_BREAKS:
        with pytest.raises(ValidationFailed) as refused, session_scope() as session:
            auth.change_password(session, actor=actor, current=current, new=new, confirm=confirm)
        assert refused.value.errors.get(field) == key, (new, refused.value.errors)
    assert user_row(staff).password_hash == before
    assert login("alice", PASSWORD).ok


def test_change_password_clears_the_forced_change(admin, staff):
    with session_scope() as session:
        temporary = users.reset_password(session, actor=admin, user_id=staff).temporary_password
    actor = resolve(login("alice", temporary).token).actor
    assert actor.must_change_password
    with session_scope() as session:
        auth.change_password(
            session,
            actor=actor,
            current=temporary,
            new="Brand-new-pass-7",
            confirm="Brand-new-pass-7",
        )
    assert not user_row(staff).must_change_password
    assert not login("alice", temporary).ok
    assert login("alice", "Brand-new-pass-7").ok
    assert len(audit_actions("auth.password_change")) == 1


# --- tokens -----------------------------------------------------------------------------------


def test_session_tokens_are_stored_only_as_hashes(staff):
    token = login("alice", PASSWORD).token
    with session_scope() as session:
        rows = session.exec(select(LoginSession)).scalars().all()
        audit_rows = session.exec(select(AuditEntry)).scalars().all()
    assert len(rows) == 1
    assert rows[0].token_hash == auth.hash_token(token)
    stored = [str(v) for row in [*rows, *audit_rows] for v in row.model_dump().values()]
    assert not any(token in value for value in stored)
    assert resolve(token).actor is not None
    assert resolve(rows[0].token_hash).actor is None
