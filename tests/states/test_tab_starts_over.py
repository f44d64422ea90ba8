"""Issue 14 item 1: the next user of a tab receives nothing of the previous user's.

Reflex keys a tab's state tree by a client token that survives a logout, so logout, a login
(also as someone else, over a login still in place) and the forced way back to the login page
reset the whole tree: every var of every state class, walked from the root, not a list of pages.
"""

from __future__ import annotations

import inspect

import pytest
import reflex as rx
from reflex.istate.data import RouterData
from run_async import run
from sqlalchemy import select

from custapp.components.membership import CardSummary
from custapp.db import session_scope
from custapp.demo import accounts as demo_accounts
from custapp.demo.accounts import DEMO_PASSWORD
from custapp.models import User
from custapp.pages.approvals import ApprovalsState
from custapp.pages.customers import CustomersState
from custapp.pages.login import LoginState
from custapp.pages.portal import PortalState
from custapp.pages.users import UsersState
from custapp.services import approvals, auth, customers
from custapp.services.actor import system_actor
from custapp.states.session import SessionState

MEMBER_PHONE = "13800138000"


def _fire(handler, *args):  # noqa: ANN001, ANN002, ANN202 (any handler, whatever it gives)
    """Run an event handler as Reflex would: sync, coroutine or generator alike."""

    async def go():  # noqa: ANN202
        out = handler(*args)
        if inspect.isasyncgen(out):
            return [event async for event in out]
        if inspect.iscoroutine(out):
            return await out
        return list(out) if inspect.isgenerator(out) else out

    return run(go())


def _open(root: rx.State, cls: type[rx.State], path: str) -> rx.State:
    state = root.get_substate(cls.get_full_name().split("."))
    state.router = RouterData.from_router_data(
        {"pathname": path, "asPath": path, "query": {}, "headers": {"origin": "http://localhost"}}
    )
    return state


def _all_classes() -> set[type[rx.State]]:
    found, pending = set(), [rx.State]
    while pending:
        cls = pending.pop()
        found.add(cls)
        pending.extend(cls.get_substates())
    return found


def _not_default(root: rx.State) -> list[str]:
    """Every var (frontend and backend) of every state in the tab's tree that is not its
    default, as "State.var"; Reflex's own vars of its root state (router data, is_hydrated)
    aside. The walk must meet every state class of the app."""
    found, seen, stack = [], set(), [root]
    while stack:
        state = stack.pop()
        cls = type(state)
        seen.add(cls)
        for name, field in cls.get_fields().items():
            if field._owner is not cls or cls is rx.State:
                continue
            if getattr(state, name) != field.default_value():
                found.append(f"{cls.__name__}.{name}")
        stack.extend(state.substates.values())
    assert seen == _all_classes()
    return found


def _login(root: rx.State, login: str, *, member: bool = False) -> list:
    state = _open(root, LoginState, "/login")
    state.mode = "member" if member else "staff"
    return _fire(state.submit, {"login": login, "password": DEMO_PASSWORD})


def _token(root: rx.State) -> str:
    return root.substates[SessionState.get_name()].token


@pytest.fixture
def world(db) -> None:  # noqa: ANN001
    """The demo accounts, the demo member's card, a customer called 陈 and a pending approval."""
    with session_scope() as session:
        demo_accounts.seed_demo_accounts(session, actor=system_actor("test"))
    with session_scope() as session:
        demo_accounts.seed_demo_member(session, actor=system_actor("test"))
    with session_scope() as session:
        login = auth.login_staff(session, username="frontdesk", password=DEMO_PASSWORD, ip="")
        desk = auth.resolve_session(session, token=login.token).actor
        cid = customers.create_customer(
            session,
            actor=desk,
            data=customers.CustomerInput(name="陈一二", phone="13911112222"),
        ).id
        approvals.request_points_adjustment(
            session, actor=desk, customer_id=cid, points=50, reason="补录积分"
        )


def _manager_works(root: rx.State) -> None:
    _login(root, "manager")
    listing = _open(root, CustomersState, "/customers")
    listing.load()
    listing.search({"q": "陈"})
    inbox = _open(root, ApprovalsState, "/approvals")
    inbox.load()
    assert listing.rows and inbox.rows  # the walk below has something to find
    assert _not_default(root)


def test_logout_resets_every_var_of_every_state(world) -> None:  # noqa: ANN001
    root = rx.State(_reflex_internal_init=True)
    _manager_works(root)
    _fire(root.substates[SessionState.get_name()].logout)
    assert _not_default(root) == []

    _login(root, "admin")
    users = _open(root, UsersState, "/users")
    users.load()
    with session_scope() as session:
        desk_id = session.exec(select(User.id).where(User.username == "frontdesk")).scalar_one()
    users.reset_password(str(desk_id), "frontdesk")
    assert users.issued_password and users.rows
    _fire(root.substates[SessionState.get_name()].logout)
    assert _not_default(root) == []

    _login(root, MEMBER_PHONE, member=True)
    portal = _open(root, PortalState, "/portal")
    portal.load()
    assert portal.summary != CardSummary() and portal.rows
    _fire(root.substates[SessionState.get_name()].logout)
    assert _not_default(root) == []


def test_a_login_as_someone_else_starts_from_defaults(world) -> None:  # noqa: ANN001
    root = rx.State(_reflex_internal_init=True)
    _manager_works(root)
    _login(root, MEMBER_PHONE, member=True)  # over the manager's login, without a logout
    assert _token(root)
    assert _not_default(root) == ["SessionState.token"]
    portal = _open(root, PortalState, "/portal")
    portal.load()
    assert portal.summary != CardSummary()  # the new login works


def test_a_session_ended_elsewhere_resets_the_tree_at_the_heartbeat(world) -> None:  # noqa: ANN001
    root = rx.State(_reflex_internal_init=True)
    _manager_works(root)
    session_state = root.substates[SessionState.get_name()]
    with session_scope() as session:
        auth.logout(session, token=session_state.token)
    _fire(session_state.heartbeat)
    assert _not_default(root) == []


def test_a_page_opened_after_the_session_ended_resets_the_tree(world) -> None:  # noqa: ANN001
    root = rx.State(_reflex_internal_init=True)
    _manager_works(root)
    with session_scope() as session:
        auth.logout(session, token=_token(root))
    listing = _open(root, CustomersState, "/customers")
    for event in listing.load():  # the way to the login page, sent back as the browser would
        if isinstance(event, rx.event.EventSpec) and event.handler.state_full_name:
            state = root.get_substate(event.handler.state_full_name.split("."))
            args = [value._var_value for _, value in event.args]
            _fire(getattr(state, event.handler.fn.__name__), *args)
    assert _not_default(root) == []
