"""Logins, sessions and passwords (SPEC §1 accounts, §8 logins).

Staff lock for 15 minutes after 5 failures. Members get an exponential back-off per phone and
per address instead (nobody can lock a member out), and the same message whether or not the
phone exists. bcrypt runs in the bounded pool of security.passwords.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import timedelta
from functools import lru_cache

from sqlalchemy import select, update
from sqlmodel import Session

from custapp import clock
from custapp.models import LoginSession, LoginThrottle, User, UserRole, UserStore
from custapp.security import crypto, passwords
from custapp.security.keys import get_keys
from custapp.services import audit
from custapp.services.actor import Actor
from custapp.services.errors import DomainError, ValidationFailed
from custapp.settings import get_settings

TOUCH_EVERY = timedelta(seconds=60)
MEMBER_FREE_FAILURES = 3
MEMBER_MAX_DELAY = timedelta(minutes=5)


@dataclass(frozen=True)
class LoginResult:
    ok: bool
    token: str | None = None
    error: str | None = None  # i18n key
    params: dict | None = None
    must_change_password: bool = False
    kind: str = "staff"


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def phone_index(phone: str) -> str:
    return crypto.blind_index(get_keys().index, "phone", phone)


def check_password(session: Session, password: str, hashed: str | None) -> bool:
    """bcrypt outside any transaction: a login must not hold SQLite's write lock (or row locks)
    for the quarter second the hash takes, or every page event waits behind it."""
    session.rollback()
    return passwords.verify_password(password or "", hashed or _dummy_hash())


@lru_cache(maxsize=1)
def _dummy_hash() -> str:
    """Checked when the account does not exist, at the configured cost, so an unknown name
    takes as long as a wrong password."""
    return passwords.hash_password(secrets.token_urlsafe(16), rounds=get_settings().bcrypt_rounds)


def start_session(session: Session, user: User, ip: str | None) -> str:
    settings = get_settings()
    now = clock.now()
    token = secrets.token_urlsafe(32)
    store = session.exec(
        select(UserStore.store_id).where(UserStore.user_id == user.id).order_by(UserStore.store_id)
    ).first()
    session.add(
        LoginSession(
            token_hash=hash_token(token),
            user_id=user.id,
            store_id=store[0] if store else None,
            created_at=now,
            last_seen_at=now,
            expires_at=now + timedelta(hours=settings.session_absolute_hours),
            ip=ip,
        )
    )
    user.failed_logins = 0
    user.locked_until = None
    user.last_login_at = now
    return token


def login_staff(session: Session, *, username: str, password: str, ip: str | None) -> LoginResult:
    settings = get_settings()
    now = clock.now()
    username = (username or "").strip().lower()
    user = session.exec(
        select(User).where(User.username == username, User.kind == "staff")
    ).scalar_one_or_none()
    who = Actor(user_id=user.id if user else None, name=username[:60] or "?", ip=ip)
    if user is not None and user.locked_until and user.locked_until > now:
        minutes = max(1, int((user.locked_until - now).total_seconds() // 60) + 1)
        audit.record(session, actor=who, action="auth.login", outcome="failed", reason="locked")
        return LoginResult(False, error="auth.locked", params={"minutes": minutes})
    user_id = user.id if user else None
    valid = check_password(session, password, user.password_hash if user else None)
    user = session.get(User, user_id) if user_id else None  # re-read in the new transaction
    if user is None or not valid or not user.is_active or not user.password_hash:
        if user is not None and user.is_active:
            user.failed_logins += 1
            if user.failed_logins >= settings.lockout_failures:
                user.failed_logins = 0
                user.locked_until = now + timedelta(minutes=settings.lockout_minutes)
                audit.record(session, actor=who, action="auth.lockout", outcome="failed")
                return LoginResult(
                    False, error="auth.locked", params={"minutes": settings.lockout_minutes}
                )
        audit.record(session, actor=who, action="auth.login", outcome="failed")
        return LoginResult(False, error="auth.invalid")
    token = start_session(session, user, ip)
    audit.record(session, actor=who, action="auth.login")
    return LoginResult(True, token=token, must_change_password=user.must_change_password)


def throttle_wait(session: Session, keys: list[str], now) -> int:  # noqa: ANN001
    rows = session.exec(select(LoginThrottle).where(LoginThrottle.key.in_(keys))).scalars().all()
    waits = [(row.next_allowed_at - now).total_seconds() for row in rows]
    return max([0, *[int(w) + 1 for w in waits if w > 0]])


def throttle_fail(session: Session, keys: list[str], now) -> None:  # noqa: ANN001
    for key in keys:
        row = session.get(LoginThrottle, key) or LoginThrottle(
            key=key, failures=0, last_failure_at=now, next_allowed_at=now
        )
        row.failures += 1
        row.last_failure_at = now
        extra = row.failures - MEMBER_FREE_FAILURES
        delay = timedelta(seconds=2**extra) if extra >= 0 else timedelta(0)
        row.next_allowed_at = now + min(delay, MEMBER_MAX_DELAY)
        session.add(row)


def login_member(session: Session, *, phone: str, password: str, ip: str | None) -> LoginResult:
    """Phone + password. Unknown phone, wrong password and inactive account look the same."""
    now = clock.now()
    index = phone_index(phone or "")
    # Without a known address, only the per-phone back-off applies: one shared "unknown" key
    # would let anyone slow every member down.
    keys = [f"member:{index}"] + ([f"ip:{ip}"] if ip else [])
    wait = throttle_wait(session, keys, now)
    if wait:
        return LoginResult(False, error="auth.member_wait", params={"seconds": wait}, kind="member")
    user = session.exec(
        select(User).where(User.login_index == index, User.kind == "member")
    ).scalar_one_or_none()
    user_id = user.id if user else None
    valid = check_password(session, password, user.password_hash if user else None)
    user = session.get(User, user_id) if user_id else None
    who = Actor(user_id=user.id if user else None, name="member", kind="member", ip=ip)
    if user is None or not valid or not user.is_active or not user.password_hash:
        throttle_fail(session, keys, now)
        audit.record(session, actor=who, action="auth.member_login", outcome="failed")
        return LoginResult(False, error="auth.member_invalid", kind="member")
    session.exec(update(LoginThrottle).where(LoginThrottle.key == keys[0]).values(failures=0))
    token = start_session(session, user, ip)
    audit.record(session, actor=who, action="auth.member_login", actor_name=f"member#{user.id}")
    return LoginResult(True, token=token, kind="member")


@dataclass(frozen=True)
class SessionCheck:
    actor: Actor | None
    ended: str | None = None  # idle | expired | disabled | None (no such session)


def resolve_session(
    session: Session, *, token: str, ip: str | None = None, touch: bool = True
) -> SessionCheck:
    """The actor behind a browser's token, or why there is none.

    A user's own events touch the idle clock; the page's background check (touch=False) does not,
    so an open but unused page still expires after the idle time."""
    if not token:
        return SessionCheck(None)
    settings = get_settings()
    now = clock.now()
    row = session.exec(
        select(LoginSession).where(LoginSession.token_hash == hash_token(token))
    ).scalar_one_or_none()
    if row is None or row.ended_at is not None:
        return SessionCheck(None, row.end_reason if row else None)
    user = session.get(User, row.user_id)
    reason = None
    if user is None or not user.is_active:
        reason = "disabled"
    elif now >= row.expires_at:
        reason = "expired"
    elif now - row.last_seen_at >= timedelta(minutes=settings.session_idle_minutes):
        reason = "idle"
    if reason:
        row.ended_at, row.end_reason = now, reason
        audit.record(
            session,
            actor=Actor(user_id=row.user_id, name=_actor_name(user), ip=ip),
            action="auth.session_end",
            reason=reason,
        )
        return SessionCheck(None, reason)
    if touch and now - row.last_seen_at >= TOUCH_EVERY:
        row.last_seen_at = now
    return SessionCheck(_actor(session, user, row, ip))


def _actor_name(user: User | None) -> str:
    if user is None:
        return "?"
    return user.username if user.kind == "staff" else f"member#{user.id}"


def _actor(session: Session, user: User, row: LoginSession, ip: str | None) -> Actor:
    roles = session.exec(select(UserRole.role).where(UserRole.user_id == user.id)).scalars().all()
    stores = (
        session.exec(
            select(UserStore.store_id)
            .where(UserStore.user_id == user.id)
            .order_by(UserStore.store_id)
        )
        .scalars()
        .all()
    )
    return Actor(
        user_id=user.id,
        name=_actor_name(user),
        kind=user.kind,
        roles=frozenset(roles) | ({"member"} if user.kind == "member" else set()),
        store_ids=tuple(stores),
        store_id=row.store_id,
        session_id=row.id,
        customer_id=user.customer_id,
        ip=ip,
        display_name=user.display_name,
        locale=user.locale,
        must_change_password=user.must_change_password,
    )


def logout(session: Session, *, token: str, ip: str | None = None) -> None:
    row = session.exec(
        select(LoginSession).where(LoginSession.token_hash == hash_token(token or ""))
    ).scalar_one_or_none()
    if row is None or row.ended_at is not None:
        return
    row.ended_at, row.end_reason = clock.now(), "logout"
    user = session.get(User, row.user_id)
    audit.record(
        session,
        actor=Actor(user_id=row.user_id, name=_actor_name(user), ip=ip),
        action="auth.logout",
    )


def end_sessions(session: Session, *, user_id: int, reason: str) -> int:
    """End every open session of a user at once (disable, password reset)."""
    result = session.exec(
        update(LoginSession)
        .where(LoginSession.user_id == user_id, LoginSession.ended_at.is_(None))
        .values(ended_at=clock.now(), end_reason=reason)
    )
    return result.rowcount or 0


def change_password(
    session: Session, *, actor: Actor, current: str, new: str, confirm: str
) -> None:
    user = session.get(User, actor.user_id) if actor.user_id else None
    if user is None:
        raise DomainError("error.not_found")
    errors: dict[str, str] = {}
    if not check_password(session, current, user.password_hash):
        errors["current"] = "password.wrong_current"
    user = session.get(User, actor.user_id)
    problems = passwords.password_problems(new or "", username=user.username or "")
    if problems:
        errors["new"] = problems[0]
    elif new == current:
        errors["new"] = "password.same_as_old"
    if (new or "") != (confirm or ""):
        errors["confirm"] = "password.mismatch"
    if errors:
        raise ValidationFailed(errors)
    user.password_hash = passwords.hash_password(new, rounds=get_settings().bcrypt_rounds)
    user.must_change_password = False
    user.updated_at = clock.now()
    audit.record(
        session, actor=actor, action="auth.password_change", target_type="user", target_id=user.id
    )


def set_locale(session: Session, *, actor: Actor, locale: str) -> None:
    user = session.get(User, actor.user_id) if actor.user_id else None
    if user is not None:
        user.locale = locale


def switch_store(session: Session, *, actor: Actor, store_id: int) -> None:
    if store_id not in actor.store_ids:
        raise DomainError("error.permission_denied")
    row = session.get(LoginSession, actor.session_id)
    if row is not None:
        row.store_id = store_id
