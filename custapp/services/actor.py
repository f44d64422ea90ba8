"""The acting user, always derived on the server from the login session."""

from __future__ import annotations

from dataclasses import dataclass, field

from custapp.security.permissions import permissions_for
from custapp.vocab import ActorKind


@dataclass(frozen=True)
class Actor:
    user_id: int | None
    name: str  # username for staff, "member#<id>" for members, "system" for jobs
    kind: str = ActorKind.STAFF
    roles: frozenset[str] = frozenset()
    store_ids: tuple[int, ...] = ()
    store_id: int | None = None
    session_id: int | None = None
    customer_id: int | None = None
    ip: str | None = None
    display_name: str = ""
    locale: str | None = None
    must_change_password: bool = False
    permissions: frozenset[str] = field(default=frozenset(), init=False)

    def __post_init__(self) -> None:
        if self.kind == ActorKind.SYSTEM:
            object.__setattr__(self, "permissions", frozenset({"*"}))
        else:
            object.__setattr__(self, "permissions", permissions_for(self.roles))

    def can(self, permission: str) -> bool:
        return "*" in self.permissions or permission in self.permissions


SYSTEM = Actor(user_id=None, name="system", kind=ActorKind.SYSTEM)


def system_actor(name: str = "system") -> Actor:
    """For the command line and daily jobs: everything they do is audited under this name."""
    return Actor(user_id=None, name=name, kind=ActorKind.SYSTEM)
