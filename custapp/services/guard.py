"""Permission checks for service operations, and the registry the permission test walks."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import TypeVar

from custapp.services.actor import Actor
from custapp.services.errors import PermissionDenied

F = TypeVar("F", bound=Callable)

# operation name → permission, filled by @requires at import time
OPERATIONS: dict[str, str] = {}


def ensure(actor: Actor | None, permission: str, *, action: str, **target: object) -> Actor:
    """Raise PermissionDenied (audited by db.session_scope) unless the actor holds permission."""
    if actor is None or not actor.can(permission):
        raise PermissionDenied(action=action, permission=permission, actor=actor, **target)
    return actor


def requires(permission: str) -> Callable[[F], F]:
    """Decorate a service function `fn(session, *, actor, ...)`: the check runs before any work."""

    def decorate(fn: F) -> F:
        name = f"{fn.__module__.rsplit('.', 1)[-1]}.{fn.__name__}"
        OPERATIONS[name] = permission

        @wraps(fn)
        def wrapper(session, *args, actor: Actor, **kwargs):  # noqa: ANN001, ANN202
            ensure(actor, permission, action=name)
            return fn(session, *args, actor=actor, **kwargs)

        wrapper.permission = permission  # type: ignore[attr-defined]
        wrapper.operation = name  # type: ignore[attr-defined]
        return wrapper  # type: ignore[return-value]

    return decorate
