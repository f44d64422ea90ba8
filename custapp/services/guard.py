"""Permission checks for service operations, the registry the permission test walks, and the
check every operation's text inputs pass before any work (issue 14: no control or bidi characters,
no invisible-only values stored, encrypted or not)."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from functools import wraps
from typing import TypeVar

from sqlalchemy import event
from sqlalchemy.engine import Engine

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


class WroteInARead(RuntimeError):
    """A service declared `reads=True` wrote: its declaration is wrong (a programming error)."""


_READING = "custapp_reading"  # Connection.info key: the read-declared operation running on it
_WRITES = ("INSERT", "UPDATE", "DELETE", "LOCK", "MERGE")


@event.listens_for(Engine, "before_cursor_execute")
def _no_write_in_a_read(conn, _cursor, statement, _params, _context, _many) -> None:  # noqa: ANN001
    reading = conn.info.get(_READING)
    if reading and (statement.lstrip().upper().startswith(_WRITES) or "FOR UPDATE" in statement):
        raise WroteInARead(reading)


def writes(fn: Callable) -> bool:
    """Whether a service call needs a write transaction: every service but those declared
    `@requires(..., reads=True)` (an audited read writes its audit entry)."""
    return not getattr(fn, "reads", False)


def requires(permission: str, *, reads: bool = False) -> Callable[[F], F]:
    """Decorate a service function `fn(session, *, actor, ...)`: the permission check, then the
    text check, run before any work. reads=True declares it writes nothing, not even an audit
    entry: the pages call it in a read-only transaction, which takes no lock on SQLite and in
    which any write is an error (custapp/db.py)."""

    def decorate(fn: F) -> F:
        name = f"{fn.__module__.rsplit('.', 1)[-1]}.{fn.__name__}"
        OPERATIONS[name] = permission

        @wraps(fn)
        def wrapper(session, *args, actor: Actor, **kwargs):  # noqa: ANN001, ANN202
            ensure(actor, permission, action=name)
            refuse_unsafe_text(kwargs)
            if not reads:
                return fn(session, *args, actor=actor, **kwargs)
            # A read-declared operation is checked in any transaction, the tests' write ones
            # too: a statement that writes raises WroteInARead instead of passing until
            # production's read-only transaction refuses it.
            marks = session.connection().info
            if marks.get(_READING):  # called by another read-declared operation
                return fn(session, *args, actor=actor, **kwargs)
            marks[_READING] = name
            try:
                return fn(session, *args, actor=actor, **kwargs)
            finally:
                marks.pop(_READING, None)

        wrapper.permission = permission  # type: ignore[attr-defined]
        wrapper.reads = reads  # type: ignore[attr-defined]
        wrapper.operation = name  # type: ignore[attr-defined]
        return wrapper  # type: ignore[return-value]

    return decorate
