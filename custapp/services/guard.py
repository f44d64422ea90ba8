"""Permission checks for service operations, the registry the permission test walks, and the
check every operation's text inputs pass before any work (issue 14: no control or bidi characters,
no invisible-only values stored, encrypted or not)."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from functools import wraps
from typing import TypeVar

from custapp.security.validators import text_problem
from custapp.services.actor import Actor
from custapp.services.errors import PermissionDenied, ValidationFailed

F = TypeVar("F", bound=Callable)

# operation name → permission, filled by @requires at import time
OPERATIONS: dict[str, str] = {}

# Inputs typed into a text area: line feeds and tabs are theirs to keep. Every other text input
# (names, codes, single-line fields) is one line.
MULTILINE_INPUTS = frozenset(
    {
        "body", "body_en", "body_zh", "content", "description", "description_en",
        "description_zh", "desired", "detail", "harm_note", "no_score_reason", "note", "notes",
        "numbers", "outcome", "oversight_note", "reason", "root_cause", "solution",
    }
)  # fmt: skip
# File names come from the user's disk: attachments keep only their printable characters.
CLEANED_INPUTS = frozenset({"filename"})


def ensure(actor: Actor | None, permission: str, *, action: str, **target: object) -> Actor:
    """Raise PermissionDenied (audited by db.session_scope) unless the actor holds permission."""
    if actor is None or not actor.can(permission):
        raise PermissionDenied(action=action, permission=permission, actor=actor, **target)
    return actor


def _text_problem(value: object, multiline: bool) -> str | None:
    """The first problem of any text in `value`, looking into lists, dicts and input dataclasses."""
    if isinstance(value, str):
        return text_problem(value, multiline=multiline)
    if isinstance(value, dict):
        items = [*value.keys(), *value.values()]
    elif isinstance(value, list | tuple | set | frozenset):
        items = list(value)
    elif dataclasses.is_dataclass(value) and not isinstance(value, type):
        items = [getattr(value, field.name) for field in dataclasses.fields(value)]
    else:
        return None
    return next((p for item in items if (p := _text_problem(item, multiline))), None)


def refuse_unsafe_text(inputs: dict[str, object]) -> None:
    """Raise ValidationFailed naming each input (or field of an input dataclass, such as
    CustomerInput) whose text must not be stored; nothing has been written yet."""
    fields: dict[str, object] = {}
    for name, value in inputs.items():
        if dataclasses.is_dataclass(value) and not isinstance(value, type):
            fields.update((f.name, getattr(value, f.name)) for f in dataclasses.fields(value))
        else:
            fields[name] = value
    errors = {
        name: problem
        for name, value in fields.items()
        if name not in CLEANED_INPUTS
        and (problem := _text_problem(value, name in MULTILINE_INPUTS))
    }
    if errors:
        raise ValidationFailed(errors)


def requires(permission: str) -> Callable[[F], F]:
    """Decorate a service function `fn(session, *, actor, ...)`: the permission check, then the
    text check, run before any work."""

    def decorate(fn: F) -> F:
        name = f"{fn.__module__.rsplit('.', 1)[-1]}.{fn.__name__}"
        OPERATIONS[name] = permission

        @wraps(fn)
        def wrapper(session, *args, actor: Actor, **kwargs):  # noqa: ANN001, ANN202
            ensure(actor, permission, action=name)
            refuse_unsafe_text(kwargs)
            return fn(session, *args, actor=actor, **kwargs)

        wrapper.permission = permission  # type: ignore[attr-defined]
        wrapper.operation = name  # type: ignore[attr-defined]
        return wrapper  # type: ignore[return-value]

    return decorate
