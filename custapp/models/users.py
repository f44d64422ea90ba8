from datetime import datetime

from sqlmodel import Field, SQLModel

from custapp.vocab import UserKind


class User(SQLModel, table=True):
    """A personal account: staff log in by username, members by phone (blind index)."""

    __tablename__ = "users"

    id: int | None = Field(default=None, primary_key=True)
    kind: str = Field(default=UserKind.STAFF, max_length=10, index=True)
    username: str | None = Field(default=None, max_length=50, unique=True)
    login_index: str | None = Field(default=None, max_length=64, unique=True)
    display_name: str = Field(max_length=100)
    password_hash: str | None = Field(default=None, max_length=100)
    is_active: bool = True
    must_change_password: bool = False
    last_login_at: datetime | None = None
    locale: str | None = Field(default=None, max_length=10)
    customer_id: int | None = Field(default=None, index=True)
    created_at: datetime
    updated_at: datetime


class UserRole(SQLModel, table=True):
    __tablename__ = "user_roles"

    user_id: int = Field(foreign_key="users.id", primary_key=True)
    role: str = Field(max_length=20, primary_key=True)
    granted_by: int | None = Field(default=None, foreign_key="users.id")
    granted_at: datetime


class UserStore(SQLModel, table=True):
    __tablename__ = "user_stores"

    user_id: int = Field(foreign_key="users.id", primary_key=True)
    store_id: int = Field(foreign_key="stores.id", primary_key=True)


class LoginSession(SQLModel, table=True):
    """A login. Only the SHA-256 of the token is stored; the browser holds the token itself."""

    __tablename__ = "login_sessions"

    id: int | None = Field(default=None, primary_key=True)
    token_hash: str = Field(max_length=64, unique=True)
    user_id: int = Field(foreign_key="users.id", index=True)
    store_id: int | None = Field(default=None, foreign_key="stores.id")
    created_at: datetime
    last_seen_at: datetime
    expires_at: datetime
    ended_at: datetime | None = None
    end_reason: str | None = Field(default=None, max_length=20)
    ip: str | None = Field(default=None, max_length=64)


class LoginThrottle(SQLModel, table=True):
    """What limits login attempts (SPEC §8), one row per key (services.auth):

    - ``staff:<keyed hash of the typed name>``: failures counts the attempts since the last
      success; the 5th sets next_allowed_at 15 minutes ahead (the lock).
    - ``ip:<address>``: member logins and codes from an address; failures grows the back-off.
    - ``member:<phone index>``: a member account's evaluation rate; only next_allowed_at counts.
    """

    __tablename__ = "login_throttles"

    key: str = Field(primary_key=True, max_length=100)
    failures: int = 0
    last_failure_at: datetime
    next_allowed_at: datetime


class MemberCode(SQLModel, table=True):
    """A one-time code the front desk hands a member (SPEC §3 portal, §8 logins): it activates the
    portal account or sets a new password after a forgotten password or a changed phone. Only
    its bcrypt hash is stored; it works once, for 24 hours, and a newer code voids older ones."""

    __tablename__ = "member_codes"

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="users.id", index=True)
    code_hash: str = Field(max_length=100)
    issued_by: int = Field(foreign_key="users.id")
    issued_at: datetime
    expires_at: datetime
    used_at: datetime | None = None
