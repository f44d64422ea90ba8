"""Logins, sessions and passwords (SPEC §1 accounts, §8 logins).

Every login reserves its attempt in login_throttles, in a committed transaction holding the
row's lock, before bcrypt runs (outside any transaction), so parallel logins cannot evaluate more
passwords than the rules allow:

- Staff: at most 5 passwords per typed name (a keyed hash of it, so an unknown name locks
  exactly like an existing one), then 15 minutes locked; a success clears the count.
- Members: per address an exponential back-off; per account only a rate (a burst, then one
  evaluation per interval), so a flood from one address never keeps the member out from another
  and nobody can lock a member out. The same message whether or not the phone exists.

bcrypt runs in the bounded pool of security.passwords.
"""

from __future__ import annotations

import hashlib
import math
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache

from sqlalchemy import delete, insert, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from custapp import clock
from custapp.models import LoginSession, LoginThrottle, User, UserRole, UserStore
from custapp.security import crypto, passwords
from custapp.security.keys import get_keys
from custapp.security.validators import text_problem
from custapp.services import audit
from custapp.services.actor import Actor
from custapp.services.errors import DomainError, ValidationFailed
from custapp.settings import get_settings
from custapp.vocab import ActorKind, Role, UserKind

TOUCH_EVERY = timedelta(seconds=60)
ADDRESS_FREE_FAILURES = 3
ADDRESS_MAX_DELAY = timedelta(minutes=5)
ADDRESS_FORGET = timedelta(hours=1)  # an address's failures count until an hour without one
# One member account: 10 evaluations at once, then one per 30 s (2,880 a day at most, however
# many addresses try): a code of 8 digits stays out of reach, and the member waits 30 s at most.
MEMBER_BURST = 10
MEMBER_INTERVAL = timedelta(seconds=30)


@dataclass(frozen=True)
class LoginResult:
    ok: bool
    token: str | None = None
    error: str | None = None  # i18n key
    params: dict | None = None
    must_change_password: bool = False
    kind: str = ActorKind.STAFF


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
    user.last_login_at = now
    return token


def login_hash(username: str) -> str:
    """A keyed hash of a typed staff login name (normalised): the key of its lockout, and, cut
    short, the audit log's name for a failed login, since what was typed may be a phone."""
    name = (username or "").strip().lower()
    # a forged name may hold a lone surrogate, which UTF-8 cannot encode as it stands
    name = name.encode("utf-8", "surrogatepass").decode("utf-8", "replace")
    return crypto.keyed_hash(get_keys().index, f"login\x00{name}")


def _staff_key(username: str) -> str:
    return f"staff:{login_hash(username)}"


def _throttle_row(session: Session, key: str, now: datetime) -> LoginThrottle:
    """The throttle row of ``key``, created if missing (as if untouched for a day), locked until
    the transaction ends: PostgreSQL's row lock, or SQLite's write lock from BEGIN IMMEDIATE."""
    long_ago = now - timedelta(days=1)
    values = {"key": key, "failures": 0, "last_failure_at": long_ago, "next_allowed_at": long_ago}
    dialect = session.get_bind().dialect.name
    if dialect in ("postgresql", "sqlite"):
        upsert = pg_insert if dialect == "postgresql" else sqlite_insert
        session.exec(
            upsert(LoginThrottle).values(values).on_conflict_do_nothing(index_elements=["key"])
        )
    elif session.get(LoginThrottle, key) is None:
        try:
            with session.begin_nested():
                session.exec(insert(LoginThrottle).values(values))
        except IntegrityError:
            pass  # another login created it first
    return session.exec(
        select(LoginThrottle)
        .where(LoginThrottle.key == key)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).scalar_one()


def _seconds(delta: timedelta) -> int:
    return max(1, math.ceil(delta.total_seconds()))


def _reserve_staff_attempt(session: Session, key: str, now: datetime) -> datetime | int:
    """Count one attempt before its password is evaluated, and commit, so a parallel login sees
    it: its number (the last allowed one sets the lock), or the lock's end if none may run."""
    settings = get_settings()
    lockout = timedelta(minutes=settings.lockout_minutes)
    row = _throttle_row(session, key, now)
    if row.next_allowed_at > now:
        return row.next_allowed_at
    if row.failures >= settings.lockout_failures or row.last_failure_at <= now - lockout:
        row.failures = 0  # a lock that has passed, or failures too old to count
    row.failures += 1
    row.last_failure_at = now
    if row.failures >= settings.lockout_failures:
        row.next_allowed_at = now + lockout
    attempt = row.failures
    session.commit()
    return attempt


def login_staff(session: Session, *, username: str, password: str, ip: str | None) -> LoginResult:
    """Username + password. Unknown, disabled and existing names get the same answers."""
    settings = get_settings()
    now = clock.now()
    key = _staff_key(username)
    attempt = _reserve_staff_attempt(session, key, now)
    username = (username or "").strip().lower()
    # a name no account can have (a NUL, a lone surrogate: PostgreSQL refuses such a query
    # parameter) is an unknown name, not an error
    storable = text_problem(username) is None
    user = (
        session.exec(
            select(User).where(User.username == username, User.kind == UserKind.STAFF)
        ).scalar_one_or_none()
        if storable
        else None
    )
    user_id = user.id if user else None
    who = Actor(user_id=user_id, name=f"login:{key[6:18]}", ip=ip)
    if isinstance(attempt, datetime):
        audit.record(session, actor=who, action="auth.login", outcome="failed", reason="locked")
        minutes = math.ceil(_seconds(attempt - now) / 60)
        return LoginResult(False, error="auth.locked", params={"minutes": minutes})
    valid = check_password(session, password, user.password_hash if user else None)
    user = session.get(User, user_id) if user_id else None  # re-read in the new transaction
    if user is None or not valid or not user.is_active or not user.password_hash:
        if attempt >= settings.lockout_failures:
            audit.record(session, actor=who, action="auth.lockout", outcome="failed")
            return LoginResult(
                False, error="auth.locked", params={"minutes": settings.lockout_minutes}
            )
        audit.record(session, actor=who, action="auth.login", outcome="failed")
        return LoginResult(False, error="auth.invalid")
    session.exec(
        update(LoginThrottle)
        .where(LoginThrottle.key == key)
        .values(failures=0, next_allowed_at=now)
    )
    token = start_session(session, user, ip)
    audit.record(session, actor=Actor(user_id=user.id, name=username, ip=ip), action="auth.login")
    return LoginResult(True, token=token, must_change_password=user.must_change_password)


def locked_logins(session: Session, usernames: list[str]) -> set[str]:
    """Which of these staff login names are locked now."""
    keys = {_staff_key(name): name for name in usernames}
    locked = session.exec(
        select(LoginThrottle.key).where(
            LoginThrottle.key.in_(keys), LoginThrottle.next_allowed_at > clock.now()
        )
    ).scalars()
    return {keys[key] for key in locked}


def unlock_login(session: Session, username: str) -> None:
    session.exec(delete(LoginThrottle).where(LoginThrottle.key == _staff_key(username)))


def _address_delay(failures: int) -> timedelta:
    extra = failures - ADDRESS_FREE_FAILURES
    if extra < 0:
        return timedelta(0)
    return min(timedelta(seconds=2 ** min(extra, 16)), ADDRESS_MAX_DELAY)


def reserve_member_attempt(session: Session, *, index: str, ip: str | None) -> int:
    """Reserve one evaluation (a password or a code) for the member account of phone ``index``
    from address ``ip`` and commit it: 0, or the seconds to wait. A waiting address takes
    nothing from the account. The attempt counts as a failure of the address until
    member_attempt_succeeded takes it back."""
    now = clock.now()
    address = _throttle_row(session, f"ip:{ip}", now) if ip else None
    if address is not None and address.next_allowed_at > now:
        return _seconds(address.next_allowed_at - now)
    account = _throttle_row(session, f"member:{index}", now)
    if account.next_allowed_at > now:
        return _seconds(account.next_allowed_at - now)
    # A rate, not a count: a burst, then one per interval (next_allowed_at is the generic cell
    # rate algorithm's arrival time less the burst).
    earliest = now - (MEMBER_BURST - 1) * MEMBER_INTERVAL
    account.next_allowed_at = max(account.next_allowed_at, earliest) + MEMBER_INTERVAL
    if address is not None:
        if address.last_failure_at <= now - ADDRESS_FORGET:
            address.failures = 0
        address.failures += 1
        address.last_failure_at = now
        address.next_allowed_at = now + _address_delay(address.failures)
    session.commit()
    return 0


def member_attempt_succeeded(session: Session, ip: str | None) -> None:
    """Take the reserved attempt back from the address, and its wait with it: members logging
    in at once behind one address (a carrier's NAT) must not leave it waiting."""
    if not ip:
        return
    address = _throttle_row(session, f"ip:{ip}", clock.now())
    if address.failures > 0:
        address.failures -= 1
        address.next_allowed_at = min(
            address.next_allowed_at, address.last_failure_at + _address_delay(address.failures)
        )


def login_member(session: Session, *, phone: str, password: str, ip: str | None) -> LoginResult:
    """Phone + password. Unknown phone, wrong password and inactive account look the same."""
    index = phone_index(phone or "")
    # Without a known address, only the account's rate applies: one shared "unknown" key
    # would let anyone slow every member down.
    wait = reserve_member_attempt(session, index=index, ip=ip)
    if wait:
        return LoginResult(
            False, error="auth.member_wait", params={"seconds": wait}, kind=ActorKind.MEMBER
        )
    user = session.exec(
        select(User).where(User.login_index == index, User.kind == UserKind.MEMBER)
    ).scalar_one_or_none()
    user_id = user.id if user else None
    valid = check_password(session, password, user.password_hash if user else None)
    user = session.get(User, user_id) if user_id else None
    who = Actor(user_id=user.id if user else None, name="member", kind=ActorKind.MEMBER, ip=ip)
    if user is None or not valid or not user.is_active or not user.password_hash:
        audit.record(session, actor=who, action="auth.member_login", outcome="failed")
        return LoginResult(False, error="auth.member_invalid", kind=ActorKind.MEMBER)
    member_attempt_succeeded(session, ip)
    token = start_session(session, user, ip)
    audit.record(session, actor=who, action="auth.member_login", actor_name=f"member#{user.id}")
    return LoginResult(True, token=token, kind=ActorKind.MEMBER)


@dataclass(frozen=True)
class SessionCheck:
    actor: Actor | None
    ended: str | None = None  # idle | expired | disabled | None (no such session)
    # read_only=True found something to write (the end of the session, the idle clock's touch):
    # ask again in a write transaction
    must_write: bool = False


def resolve_session(
    session: Session,
    *,
    token: str,
    ip: str | None = None,
    touch: bool = True,
    read_only: bool = False,
) -> SessionCheck:
    """The actor behind a browser's token, or why there is none.

    A user's own events touch the idle clock; the page's background check (touch=False) does not,
    so an open but unused page still expires after the idle time. With read_only=True nothing is
    written: a check that must write (a session ending now, a touch due, at most once a minute)
    comes back with must_write."""
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
    if read_only and (reason or (touch and now - row.last_seen_at >= TOUCH_EVERY)):
        return SessionCheck(None, must_write=True)
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
    return user.username if user.kind == UserKind.STAFF else f"member#{user.id}"


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
        roles=frozenset(roles) | ({Role.MEMBER} if user.kind == UserKind.MEMBER else set()),
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


def end_sessions(session: Session, *, user_id: int, reason: str, keep: int | None = None) -> int:
    """End every open session of a user at once (disable, password reset or change), but the
    session ``keep`` (the one changing its own password)."""
    query = update(LoginSession).where(
        LoginSession.user_id == user_id, LoginSession.ended_at.is_(None)
    )
    if keep is not None:
        query = query.where(LoginSession.id != keep)
    result = session.exec(query.values(ended_at=clock.now(), end_reason=reason))
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
    end_sessions(session, user_id=user.id, reason="password_change", keep=actor.session_id)
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
