"""Staff accounts for sysadmin: create, disable, roles, stores, password reset. All audited.

Separation of duties (SPEC §8): nobody changes their own roles, a sysadmin holds no other role,
and every grant alerts compliance.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, func, or_, select
from sqlmodel import Session

from custapp import clock
from custapp.models import Store, User, UserRole, UserStore
from custapp.security import passwords
from custapp.security.permissions import COMPLIANCE, STAFF_ROLES, role_combination_problem
from custapp.services import audit, auth, outbox
from custapp.services.actor import Actor
from custapp.services.errors import DomainError, NotFound, ValidationFailed
from custapp.services.guard import requires
from custapp.services.paging import page_window
from custapp.settings import get_settings
from custapp.vocab import UserKind

USERNAME = re.compile(r"^[a-z][a-z0-9_.]{2,29}$")


@dataclass(frozen=True)
class UserRow:
    id: int
    username: str
    display_name: str
    roles: list[str]
    store_ids: list[int]
    is_active: bool
    locked: bool
    must_change_password: bool
    last_login_at: datetime | None


@dataclass(frozen=True)
class NewPassword:
    user_id: int
    temporary_password: str  # shown once to the sysadmin, never stored in clear


def _staff(session: Session, user_id: int) -> User:
    user = session.get(User, user_id)
    if user is None or user.kind != UserKind.STAFF:
        raise NotFound("error.not_found")
    return user


def _check_roles(roles: list[str]) -> None:
    problem = role_combination_problem(roles) if roles else "users.error.no_role"
    if problem:
        raise ValidationFailed({"roles": problem})


def _check_stores(session: Session, store_ids: list[int]) -> None:
    if not store_ids:
        return
    found = session.exec(select(func.count(Store.id)).where(Store.id.in_(store_ids))).scalar_one()
    if found != len(set(store_ids)):
        raise ValidationFailed({"stores": "users.error.unknown_store"})


def _grant(session: Session, actor: Actor, user: User, role: str) -> None:
    session.add(
        UserRole(user_id=user.id, role=role, granted_by=actor.user_id, granted_at=clock.now())
    )
    audit.record(
        session,
        actor=actor,
        action="user.role_grant",
        target_type="user",
        target_id=user.id,
        fields=[role],
    )
    outbox.alert_role(
        session,
        role=COMPLIANCE,
        subject_key="alert.role_grant.subject",
        body_key="alert.role_grant.body",
        params={"role": role, "username": user.username, "by": actor.name},
    )


@requires("user.manage", reads=True)
def list_users(
    session: Session, *, actor: Actor, query: str = "", page: int = 1, page_size: int = 20
) -> tuple[list[UserRow], int]:
    window = page_window(page, page_size)
    base = select(User).where(User.kind == UserKind.STAFF)
    if query.strip():
        like = f"%{query.strip().lower()}%"
        base = base.where(or_(User.username.like(like), User.display_name.like(like)))
    total = session.exec(select(func.count()).select_from(base.subquery())).scalar_one()
    users = (
        session.exec(base.order_by(User.username).offset(window.offset).limit(window.limit))
        .scalars()
        .all()
    )
    ids = [u.id for u in users]
    roles: dict[int, list[str]] = {i: [] for i in ids}
    stores: dict[int, list[int]] = {i: [] for i in ids}
    for uid, role in session.exec(
        select(UserRole.user_id, UserRole.role).where(UserRole.user_id.in_(ids))
    ):
        roles[uid].append(role)
    for uid, sid in session.exec(
        select(UserStore.user_id, UserStore.store_id).where(UserStore.user_id.in_(ids))
    ):
        stores[uid].append(sid)
    locked = auth.locked_logins(session, [u.username or "" for u in users])
    return [
        UserRow(
            id=u.id,
            username=u.username or "",
            display_name=u.display_name,
            roles=sorted(roles[u.id], key=STAFF_ROLES.index),
            store_ids=sorted(stores[u.id]),
            is_active=u.is_active,
            locked=(u.username or "") in locked,
            must_change_password=u.must_change_password,
            last_login_at=u.last_login_at,
        )
        for u in users
    ], total


@requires("user.manage")
def create_user(
    session: Session,
    *,
    actor: Actor,
    username: str,
    display_name: str,
    roles: list[str],
    store_ids: list[int],
) -> NewPassword:
    username = (username or "").strip().lower()
    display_name = (display_name or "").strip()
    errors: dict[str, str] = {}
    if not USERNAME.match(username):
        errors["username"] = "users.error.username_format"
    elif session.exec(select(User.id).where(User.username == username)).first():
        errors["username"] = "users.error.username_taken"
    if not display_name or len(display_name) > 100:
        errors["display_name"] = "validation.required"
    if errors:
        raise ValidationFailed(errors)
    _check_roles(roles)
    _check_stores(session, store_ids)
    temporary = passwords.generate_temporary_password()
    now = clock.now()
    user = User(
        kind=UserKind.STAFF,
        username=username,
        display_name=display_name,
        password_hash=passwords.hash_password(temporary, rounds=get_settings().bcrypt_rounds),
        must_change_password=True,
        created_at=now,
        updated_at=now,
    )
    session.add(user)
    session.flush()
    audit.record(session, actor=actor, action="user.create", target_type="user", target_id=user.id)
    for role in sorted(set(roles)):
        _grant(session, actor, user, role)
    for store_id in sorted(set(store_ids)):
        session.add(UserStore(user_id=user.id, store_id=store_id))
    return NewPassword(user.id, temporary)


@requires("user.manage")
def set_roles(session: Session, *, actor: Actor, user_id: int, roles: list[str]) -> None:
    if user_id == actor.user_id:
        raise DomainError("users.error.self_assign")
    user = _staff(session, user_id)
    _check_roles(roles)
    current = set(
        session.exec(select(UserRole.role).where(UserRole.user_id == user_id)).scalars().all()
    )
    wanted = set(roles)
    for role in sorted(current - wanted):
        session.exec(delete(UserRole).where(UserRole.user_id == user_id, UserRole.role == role))
        audit.record(
            session,
            actor=actor,
            action="user.role_revoke",
            target_type="user",
            target_id=user_id,
            fields=[role],
        )
    for role in sorted(wanted - current):
        _grant(session, actor, user, role)
    user.updated_at = clock.now()


@requires("user.manage")
def set_stores(session: Session, *, actor: Actor, user_id: int, store_ids: list[int]) -> None:
    _staff(session, user_id)
    _check_stores(session, store_ids)
    session.exec(delete(UserStore).where(UserStore.user_id == user_id))
    for store_id in sorted(set(store_ids)):
        session.add(UserStore(user_id=user_id, store_id=store_id))
    audit.record(
        session,
        actor=actor,
        action="user.stores",
        target_type="user",
        target_id=user_id,
        detail={"stores": sorted(set(store_ids))},
    )


@requires("user.manage")
def set_active(session: Session, *, actor: Actor, user_id: int, active: bool) -> None:
    if user_id == actor.user_id:
        raise DomainError("users.error.self_disable")
    user = _staff(session, user_id)
    user.is_active = active
    user.updated_at = clock.now()
    if not active:
        auth.end_sessions(session, user_id=user_id, reason="disabled")
    audit.record(
        session,
        actor=actor,
        action="user.enable" if active else "user.disable",
        target_type="user",
        target_id=user_id,
    )


@requires("user.manage")
def reset_password(session: Session, *, actor: Actor, user_id: int) -> NewPassword:
    if user_id == actor.user_id:
        raise DomainError("users.error.self_reset")
    user = _staff(session, user_id)
    temporary = passwords.generate_temporary_password()
    user.password_hash = passwords.hash_password(temporary, rounds=get_settings().bcrypt_rounds)
    user.must_change_password = True
    auth.unlock_login(session, user.username or "")
    user.updated_at = clock.now()
    auth.end_sessions(session, user_id=user_id, reason="password_reset")
    audit.record(
        session, actor=actor, action="user.password_reset", target_type="user", target_id=user_id
    )
    return NewPassword(user_id, temporary)


@requires("user.manage", reads=True)
def list_stores(session: Session, *, actor: Actor) -> list[tuple[int, str]]:
    rows = session.exec(
        select(Store.id, Store.name).where(Store.is_active).order_by(Store.code)
    ).all()
    return [(row[0], row[1]) for row in rows]
