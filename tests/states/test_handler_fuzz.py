"""Every registered event handler of every custapp state, called the way a browser's event
reaches it (Reflex's own payload handling, then the handler), once with each wrong argument type
for each parameter, logged out and as a rotating sample of roles (issue 14, item 9): no exception
escapes, and the tab keeps working afterwards (the page's next_page or load still runs, and every
var still holds its declared type)."""

from __future__ import annotations

import importlib
import inspect
import pkgutil
from typing import Any, get_args

import pytest
import reflex as rx
import run_async
from helpers import _member_login, _staff_login, _tree
from reflex_base.event import Event, EventHandler
from reflex_base.event.context import EventContext
from reflex_base.event.processor.base_state_processor import process_event
from reflex_base.utils.types import _isinstance

import custapp.pages
from custapp.i18n import t
from custapp.security.permissions import (
    AUDITOR,
    COMPLIANCE,
    CS_MANAGER,
    FRONT_DESK,
    MEMBER,
    SYSADMIN,
)
from custapp.states.session import SessionState

WRONG = ("abc", "a\x00\u202e\ud800", {"x": 1}, None, 10**30, [1, "a"], -1, float("nan"))
ROLES = (None, FRONT_DESK, CS_MANAGER, MEMBER, SYSADMIN, COMPLIANCE, AUDITOR)
CHAIN_DEPTH = 3


def _custapp_states() -> list[type[rx.State]]:
    for module in pkgutil.walk_packages(custapp.pages.__path__, "custapp.pages."):
        importlib.import_module(module.name)
    found, stack = [], [rx.State]
    while stack:
        cls = stack.pop()
        stack.extend(cls.get_substates())
        if cls.__module__.startswith("custapp."):
            found.append(cls)
    return sorted(found, key=lambda c: c.get_full_name())


def _handlers() -> list[tuple[type[rx.State], str]]:
    return [(cls, name) for cls in _custapp_states() for name in sorted(cls.event_handlers)]


def _params(handler: EventHandler) -> list[str]:
    return list(inspect.signature(handler.fn).parameters)[1:]


def _legit(hint: Any) -> Any:  # noqa: ANN401 (a value of whatever type the hint names)
    """A value of the declared type, for the parameters not under test."""
    options = get_args(hint) or (hint,)
    for option in options:
        if option is bool:
            return True
        if option is int:
            return 1
        if option is dict or getattr(option, "__origin__", None) is dict:
            return {}
    return "1"


def _payloads(handler: EventHandler) -> list[dict[str, Any]]:
    params = _params(handler)
    if not params:
        return [{"unexpected": "abc"}]
    hints = handler._get_type_hints()
    legit = {p: _legit(hints.get(p, str)) for p in params}
    return [{**legit, p: wrong} for p in params for wrong in WRONG]


async def _process(root: rx.State, state: rx.State, name: str, payload: dict) -> list[Event]:
    """One event as the event processor runs it, then the backend events it chains; the events
    sent to the browser are returned."""
    sent: list[Event] = []
    queued: list[Event] = []

    async def enqueue(_token: str, *events: Event) -> None:
        queued.extend(events)

    async def emit_event(_token: str, *events: Event) -> None:
        sent.extend(events)

    async def emit_delta(_token: str, _delta: object) -> None:
        return None

    context = EventContext(
        token="fuzz",
        state_manager=None,  # type: ignore[arg-type]  (no handler here reaches for it)
        enqueue_impl=enqueue,
        emit_event_impl=emit_event,
        emit_delta_impl=emit_delta,
    )
    reset = EventContext.set(context)
    try:
        handler = type(state).event_handlers[name]
        await _run(handler, payload, state, root)
        for _ in range(CHAIN_DEPTH):
            chained, queued[:] = list(queued), []
            for event in chained:
                path, _, handler_name = event.name.rpartition(".")
                target = root.get_substate(path.split("."))
                await _run(type(target).event_handlers[handler_name], event.payload, target, root)
    finally:
        EventContext.reset(reset)
    return sent


async def _run(handler: EventHandler, payload: dict, state: rx.State, root: rx.State) -> None:
    # a background task runs without the lock; on a plain state `async with self` is a no-op
    await process_event(
        handler=handler,
        payload=payload,
        state=state,
        root_state=None if handler.is_background else root,
    )


def _wrong_vars(state: rx.State) -> list[str]:
    """The vars of the state and of the states above it (a dialog's page, the login state) not
    holding their declared type."""
    wrong = []
    for target in _above(state):
        owner = type(target)
        for name, field in owner.__fields__.items():
            held = vars(target)  # as stored, not through a proxy; a default not yet read is absent
            if field._owner not in type(target).__mro__ or name not in held:
                continue
            value = held[name]
            if not _isinstance(value, field.outer_type_, nested=1):
                wrong.append(f"{name}={value!r} is not {field.outer_type_}")
    return wrong


def _above(state: rx.State) -> list[rx.State]:
    """The state and the states above it, up to the login state."""
    found = [state]
    while type(found[-1]) is not SessionState:
        found.append(found[-1].parent_state)
    return found


def _tokens() -> dict[str | None, str]:
    tokens: dict[str | None, str] = {None: ""}
    for role in ROLES[1:]:
        tokens[role] = (
            _member_login("13900000001") if role == MEMBER else _staff_login(f"fuzz.{role}", role)
        )
    return tokens


def _after(state: rx.State) -> tuple[rx.State, str] | None:
    """The normal event that shows the tab still works: the next page, else the page load; for
    a dialog (a substate with neither) that of the page it belongs to."""
    target = state
    while type(target) is not SessionState:
        name = next((n for n in ("next_page", "load") if n in type(target).event_handlers), None)
        if name:
            return target, name
        target = target.parent_state
    return None


async def _fuzz(root: rx.State, state: rx.State, name: str, who: str) -> list[str]:
    """Every wrong call of one handler on one tab, then the normal event on that tab."""
    problems = []
    for payload in _payloads(type(state).event_handlers[name]):
        where = f"{type(state).__name__}.{name}({payload!r}) as {who}"
        try:
            await _process(root, state, name, payload)
        except Exception as exc:  # noqa: BLE001 (each one is reported)
            problems.append(f"{where} raised {type(exc).__name__}: {exc}")
    follow_up = _after(state)
    if follow_up:
        page, after = follow_up
        try:
            await _process(root, page, after, {})
        except Exception as exc:  # noqa: BLE001
            problems.append(f"{name} as {who}, then {after} raised {type(exc).__name__}: {exc}")
    return problems + [f"{name} as {who} left {wrong}" for wrong in _wrong_vars(state)]


def test_every_handler_survives_wrong_argument_types(db):
    tokens = _tokens()
    problems: list[str] = []
    handlers = _handlers()
    for index, (cls, name) in enumerate(handlers):
        role = ROLES[index % len(ROLES)]  # rotated: every role meets every kind of handler
        root, state = _tree(tokens[role], cls, "/fuzz")
        problems += run_async.run(_fuzz(root, state, name, role or "logged out"))
    assert len(handlers) > 300
    if problems:
        pytest.fail(f"{len(problems)} problems:\n" + "\n".join(problems), pytrace=False)


def test_a_handler_refuses_a_wrong_type_with_a_message(db):
    """The refusal is a toast in the user's language, and the state is left as it was."""
    from custapp.pages.users import UsersState

    root, state = _tree(_staff_login("fuzz.admin", SYSADMIN), UsersState, "/users")
    before = state.dict()
    sent = run_async.run(_process(root, state, "set_active", {"user_id": "abc"}))
    assert any("__toast" in str(e) for e in sent), sent
    assert state.dict() == before


def test_the_walk_finds_every_kind_of_handler():
    """Login, page, mixin, upload and background handlers are all in the walk."""
    found = {(cls.__name__, name) for cls, name in _handlers()}
    for expected in [
        ("SessionState", "logout"),
        ("LoginState", "submit"),
        ("CustomersState", "next_page"),
        ("PortalComplaintsState", "add_file"),
        ("ProfileState", "expire_reveal"),
        ("UsersState", "setvar"),
    ]:
        assert expected in found


def test_an_unknown_sort_or_filter_is_refused_and_the_list_keeps_paging(db):
    """A value of the right type but not one the page offers: refused with a message, the list
    as it was, and every later page turn still works."""
    from custapp.pages.customers import CustomersState

    root, state = _tree(_staff_login("fuzz.desk", FRONT_DESK), CustomersState, "/customers")
    run_async.run(_process(root, state, "load", {}))
    before = state.dict()
    for name in ("sort", "f_lifecycle", "f_grade", "f_value", "f_nature", "page", "token"):
        sent = run_async.run(_process(root, state, "set_filter", {"name": name, "value": "bogus"}))
        assert any(t("error.bad_request", "en") in str(e) for e in sent), (name, sent)
        run_async.run(_process(root, state, "next_page", {}))
        run_async.run(_process(root, state, "prev_page", {}))
    assert state.dict() == before
