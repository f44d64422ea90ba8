"""What the state tests share: accounts and their logins, a state tree as the memory state
manager builds one per browser tab, and every value held anywhere in that tree.

Imported as a plain module (`from helpers import ...`), as run_async is: pytest puts this folder
on sys.path for the tests in it."""

from __future__ import annotations

import reflex as rx
from reflex.istate.data import RouterData

from custapp.db import session_scope
from custapp.services import auth, bootstrap
from custapp.services.actor import system_actor
from custapp.states.session import SessionState

PASSWORD = "Correct-horse-42"
IP = "10.0.0.5"


def _staff(username: str, role: str, *, store_ids: list[int] | None = None) -> int:
    """A staff account holding one role; its user id."""
    more = {"store_ids": store_ids} if store_ids else {}
    with session_scope() as session:
        return bootstrap.create_staff_user(
            session,
            actor=system_actor("test"),
            username=username,
            display_name=username,
            roles=[role],
            password=PASSWORD,
            **more,
        )


def _staff_token(username: str, *, ip: str | None = IP) -> str:
    """A staff login's session token (the cookie a browser would hold)."""
    with session_scope() as session:
        login = auth.login_staff(session, username=username, password=PASSWORD, ip=ip)
    assert login.ok, username
    return login.token


def _staff_login(username: str, role: str) -> str:
    """A new staff account with one role, logged in: its token."""
    _staff(username, role)
    return _staff_token(username)


def _member(phone: str, *, customer_id: int | None = None, display_name: str = "会员") -> int:
    """A member login (the portal's account, by phone); its user id."""
    with session_scope() as session:
        return bootstrap.create_member_login(
            session,
            actor=system_actor("test"),
            phone=phone,
            password=PASSWORD,
            display_name=display_name,
            customer_id=customer_id,
        )


def _member_token(phone: str, *, ip: str | None = IP) -> str:
    with session_scope() as session:
        login = auth.login_member(session, phone=phone, password=PASSWORD, ip=ip)
    assert login.ok, phone
    return login.token


def _member_login(phone: str, *, customer_id: int | None = None, display_name: str = "会员") -> str:
    """A new member login, logged in: its token."""
    _member(phone, customer_id=customer_id, display_name=display_name)
    return _member_token(phone)


def _tree(token: str, state_cls: type[rx.State], path: str) -> tuple[rx.State, rx.State]:
    """A fresh state tree logged in with `token` (locale en), and `state_cls`'s state in it with
    the router at `path`."""
    root = rx.State(_reflex_internal_init=True)
    session_state = root.substates[SessionState.get_name()]
    state = root.get_substate(state_cls.get_full_name().split("."))  # a page state's own too
    session_state.token, session_state.locale = token, "en"
    state.router = RouterData.from_router_data(
        {"pathname": path, "asPath": path, "query": {}, "headers": {"origin": "http://localhost"}}
    )
    return root, state


def _state_text(root: rx.State) -> str:
    """Every value held by every state in the tree, frontend and backend vars alike."""
    parts, stack = [repr(root.dict())], [root]
    while stack:
        state = stack.pop()
        parts.append(repr(vars(state)))
        stack.extend(state.substates.values())
    return "\n".join(parts)
