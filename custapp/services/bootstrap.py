"""First start: the accounts a new installation needs (the demo data of `make run` is in
custapp/demo/accounts.py).

Command-line only (the caller is the operator at the machine); audited as the system actor.
"""

from __future__ import annotations

from sqlalchemy import func, select
from sqlmodel import Session

from custapp import clock
from custapp.models import User, UserRole, UserStore
from custapp.security import passwords
from custapp.security.permissions import role_combination_problem
from custapp.security.validators import text_problem
from custapp.services import audit, auth
from custapp.services.actor import Actor
from custapp.services.errors import ValidationFailed
from custapp.services.users import USERNAME
from custapp.settings import get_settings
from custapp.vocab import UserKind


def create_staff_user(
    session: Session,
    *,
    actor: Actor,
    username: str,
    display_name: str,
    roles: list[str],
    password: str,
    store_ids: list[int] = (),
    must_change: bool = False,
) -> int:
    """The operator's path (CLI): a staff account with a password chosen at the machine."""
    username = username.strip().lower()
    errors = {}
    if not USERNAME.match(username):
        errors["username"] = "users.error.username_format"
    elif session.exec(select(User.id).where(User.username == username)).first():
        errors["username"] = "users.error.username_taken"
    if problem := text_problem(display_name):
        errors["display_name"] = problem
    problems = passwords.password_problems(password, username=username)
    if problems:
        errors["password"] = problems[0]
    problem = role_combination_problem(roles) if roles else "users.error.no_role"
    if problem:
        errors["roles"] = problem
    if errors:
        raise ValidationFailed(errors)
    now = clock.now()
    user = User(
        kind=UserKind.STAFF,
        username=username,
        display_name=display_name,
        password_hash=passwords.hash_password(password, rounds=get_settings().bcrypt_rounds),
        must_change_password=must_change,
        created_at=now,
        updated_at=now,
    )
    session.add(user)
    session.flush()
    for role in sorted(set(roles)):
        session.add(UserRole(user_id=user.id, role=role, granted_by=None, granted_at=now))
    for store_id in store_ids:
        session.add(UserStore(user_id=user.id, store_id=store_id))
    audit.record(
        session,
        actor=actor,
        action="user.create",
        target_type="user",
        target_id=user.id,
        fields=sorted(roles),
    )
    return user.id


def create_member_login(
    session: Session,
    *,
    actor: Actor,
    phone: str,
    password: str,
    display_name: str,
    customer_id: int | None = None,
) -> int:
    now = clock.now()
    user = User(
        kind=UserKind.MEMBER,
        login_index=auth.phone_index(phone),
        display_name=display_name,
        password_hash=passwords.hash_password(password, rounds=get_settings().bcrypt_rounds),
        customer_id=customer_id,
        created_at=now,
        updated_at=now,
    )
    session.add(user)
    session.flush()
    audit.record(
        session, actor=actor, action="member.account_create", target_type="user", target_id=user.id
    )
    return user.id


def is_empty(session: Session) -> bool:
    return session.exec(select(func.count(User.id))).scalar_one() == 0
