"""The member portal's way in (SPEC §3 portal, §8 logins): the front desk checks the customer's
identity and hands over a one-time code (8 digits, valid 24 hours, works once); the member enters
their phone, the code and a new password of their own, and is logged in.

- The same code serves first activation, a forgotten password and a changed phone: the account's
  phone is taken from the customer's archive when the code is issued.
- Only the code's bcrypt hash is stored, a newer code voids the older ones, and the code is shown
  to the front desk once (the caller must not keep it in state longer than the dialog).
- Wrong phone, wrong code, a used or an expired code all give the same message, behind the same
  per-account rate and per-address back-off as the member login.
- A new password ends every other session of the account.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlmodel import Session

from custapp import clock
from custapp.models import MemberCode, User
from custapp.security import passwords
from custapp.services import audit, auth, customer_fields
from custapp.services.actor import Actor
from custapp.services.customers import live_customer
from custapp.services.errors import DomainError, ValidationFailed
from custapp.services.guard import requires
from custapp.settings import get_settings
from custapp.vocab import ActorKind, UserKind

CODE_VALID = timedelta(hours=24)


@dataclass(frozen=True)
class IssuedCode:
    code: str  # shown once at the counter
    expires_at: datetime
    phone_masked: str  # the login the member uses with it
    first: bool  # True: the portal account was created now


def member_account(session: Session, customer_id: int) -> User | None:
    return session.exec(
        select(User).where(User.kind == UserKind.MEMBER, User.customer_id == customer_id)
    ).scalar_one_or_none()


@requires("card.issue")
def issue_code(
    session: Session, *, actor: Actor, customer_id: int, identity_checked: bool
) -> IssuedCode:
    """A new one-time code for the customer's portal account (created on the first code)."""
    if not identity_checked:
        raise ValidationFailed({"identity_checked": "member.code.identity_required"})
    customer = live_customer(session, customer_id, lock=True)
    if not customer.phone_bidx:
        raise DomainError("member.code.no_phone")
    now = clock.now()
    holder = session.exec(
        select(User).where(User.login_index == customer.phone_bidx)
    ).scalar_one_or_none()
    if holder is not None and holder.customer_id != customer.id:
        raise DomainError("member.code.phone_taken")
    user = member_account(session, customer.id)
    first = user is None
    if user is None:
        user = User(
            kind=UserKind.MEMBER,
            display_name=customer.name,
            customer_id=customer.id,
            created_at=now,
            updated_at=now,
        )
        session.add(user)
    user.login_index = customer.phone_bidx  # a changed phone moves the login with it
    user.display_name = customer.name
    user.updated_at = now
    session.flush()
    session.exec(
        update(MemberCode)
        .where(MemberCode.user_id == user.id, MemberCode.used_at.is_(None))
        .values(used_at=now)
    )
    code = passwords.generate_one_time_code()
    session.add(
        MemberCode(
            user_id=user.id,
            code_hash=passwords.hash_password(code, rounds=get_settings().bcrypt_rounds),
            issued_by=actor.user_id,
            issued_at=now,
            expires_at=now + CODE_VALID,
        )
    )
    audit.record(
        session,
        actor=actor,
        action="member.code_issue",
        customer_id=customer.id,
        detail={"user_id": user.id, "first": first},
    )
    phone = customer_fields.read(session, customer, "phone")
    masked = customer_fields.masked("phone", phone)
    return IssuedCode(code=code, expires_at=now + CODE_VALID, phone_masked=masked, first=first)


def activate(
    session: Session, *, phone: str, code: str, password: str, ip: str | None
) -> auth.LoginResult:
    """Set the member's password with a valid code and log them in. Password rules come first
    (they reveal nothing about the account); then phone and code are checked together."""
    problems = passwords.password_problems(password or "", username="")
    if problems:
        raise ValidationFailed({"password": problems[0]})
    index = auth.phone_index((phone or "").strip())
    wait = auth.reserve_member_attempt(session, index=index, ip=ip)
    if wait:
        return auth.LoginResult(
            False, error="auth.member_wait", params={"seconds": wait}, kind=ActorKind.MEMBER
        )
    user = session.exec(
        select(User).where(User.login_index == index, User.kind == UserKind.MEMBER)
    ).scalar_one_or_none()
    now = clock.now()
    pending = []
    if user is not None and user.is_active:
        pending = session.exec(
            select(MemberCode.id, MemberCode.code_hash).where(
                MemberCode.user_id == user.id,
                MemberCode.used_at.is_(None),
                MemberCode.expires_at > now,
            )
        ).all()
    user_id = user.id if user else None
    session.rollback()  # bcrypt outside the transaction (see auth.check_password)
    match = next(
        (
            row.id
            for row in pending
            if passwords.verify_password((code or "").strip(), row.code_hash)
        ),
        None,
    )
    if not pending:
        auth.check_password(session, code, None)  # the same time whether or not one exists
    who = Actor(user_id=user_id, name="member", kind=ActorKind.MEMBER, ip=ip)
    if match is None:
        audit.record(session, actor=who, action="member.activate", outcome="failed")
        return auth.LoginResult(False, error="member.activate.invalid", kind=ActorKind.MEMBER)
    claimed = session.exec(
        update(MemberCode)
        .where(MemberCode.id == match, MemberCode.used_at.is_(None))
        .values(used_at=now)
    ).rowcount
    if not claimed:  # the same code used twice at once: only one wins
        audit.record(session, actor=who, action="member.activate", outcome="failed")
        return auth.LoginResult(False, error="member.activate.invalid", kind=ActorKind.MEMBER)
    user = session.get(User, user_id)
    user.password_hash = passwords.hash_password(password, rounds=get_settings().bcrypt_rounds)
    user.must_change_password = False
    user.updated_at = now
    auth.end_sessions(session, user_id=user.id, reason="password_change")
    auth.member_attempt_succeeded(session, ip)
    token = auth.start_session(session, user, ip)
    audit.record(
        session,
        actor=who,
        action="member.activate",
        customer_id=user.customer_id,
        actor_name=f"member#{user.id}",
    )
    return auth.LoginResult(True, token=token, kind=ActorKind.MEMBER)


@dataclass(frozen=True)
class PortalStatus:
    account: bool  # a portal account exists (a code was issued once)
    activated: bool  # the member has set a password
    last_login_at: datetime | None
    code_valid_until: datetime | None  # an unused code is waiting


@requires("customer.read", reads=True)
def portal_status(session: Session, *, actor: Actor, customer_id: int) -> PortalStatus:
    user = member_account(session, customer_id)
    if user is None:
        return PortalStatus(False, False, None, None)
    waiting = session.exec(
        select(MemberCode.expires_at)
        .where(
            MemberCode.user_id == user.id,
            MemberCode.used_at.is_(None),
            MemberCode.expires_at > clock.now(),
        )
        .order_by(MemberCode.expires_at.desc())
    ).first()
    return PortalStatus(
        True, bool(user.password_hash), user.last_login_at, waiting[0] if waiting else None
    )
