"""State event handlers called directly, as a browser could call any public handler with any
arguments (DESIGN "Reflex rules"): the service refuses what the logged-in role may not do, the
handler answers with a message instead of raising, and no state var carries a password hash."""

from __future__ import annotations

import pytest
import reflex as rx
from helpers import _staff, _staff_token, _state_text
from reflex_base.event import EventSpec
from sqlalchemy import select

from custapp.db import session_scope
from custapp.i18n import t
from custapp.models import AuditEntry, LoginSession, User, UserRole
from custapp.pages.users import UsersState
from custapp.states.session import SessionState


def _logged_in(username: str) -> tuple[rx.State, UsersState]:
    """A fresh state tree, as the memory state manager builds one per browser tab."""
    token = _staff_token(username)
    root = rx.State(_reflex_internal_init=True)
    session_state = root.substates[SessionState.get_name()]
    users_state = session_state.substates[UsersState.get_name()]
    assert isinstance(users_state, UsersState)
    session_state.token = token
    session_state.locale = "en"
    return root, users_state


@pytest.fixture
def world(db) -> dict[str, int]:
    return {
        "admin": _staff("root.admin", "sysadmin"),
        "desk": _staff("front.desk", "front_desk"),
        "target": _staff("some.clerk", "front_desk"),
    }


def _snapshot() -> list[tuple]:
    """Everything the users page could change: accounts, roles, sessions."""
    with session_scope() as session:
        people = session.exec(select(User).order_by(User.id)).scalars().all()
        roles = session.exec(select(UserRole.user_id, UserRole.role)).all()
        sessions = session.exec(select(LoginSession.id, LoginSession.ended_at)).all()
        return [
            *[
                (u.id, u.username, u.password_hash, u.is_active, u.must_change_password)
                for u in people
            ],
            *sorted(tuple(r) for r in roles),
            *sorted(tuple(s) for s in sessions),
        ]


def _denials(actor_id: int) -> list[str]:
    with session_scope() as session:
        return list(
            session.exec(
                select(AuditEntry.action)
                .where(AuditEntry.actor_id == actor_id, AuditEntry.outcome == "denied")
                .order_by(AuditEntry.seq)
            ).scalars()
        )


def _events(result) -> list[EventSpec]:
    events = result if isinstance(result, list) else [result]
    assert events and all(isinstance(e, EventSpec) for e in events), result
    return events


def _is_error_toast(event: EventSpec, message: str) -> bool:
    rendered = str(event.args)
    return "__toast" in rendered and '"error"' in rendered and message in rendered


def _refused(result) -> None:
    denied = t("error.permission_denied", "en")
    assert any(_is_error_toast(e, denied) for e in _events(result)), result


def test_front_desk_cannot_reset_a_password_through_the_handler(world):
    _, state = _logged_in("front.desk")
    before = _snapshot()
    result = state.reset_password(str(world["target"]), "some.clerk")
    _refused(result)
    assert state.issued_password == ""
    assert _snapshot() == before
    assert _denials(world["desk"]) == ["users.reset_password"]


def test_front_desk_cannot_create_a_sysadmin_through_the_handler(world):
    _, state = _logged_in("front.desk")
    before = _snapshot()
    state.form_username, state.form_name = "evil.admin", "Evil"
    state.sel_roles = ["sysadmin"]
    _refused(state.save())
    assert _snapshot() == before
    assert _denials(world["desk"]) == ["users.create_user"]


def test_front_desk_cannot_grant_roles_or_disable_users_through_the_handlers(world):
    _, state = _logged_in("front.desk")
    before = _snapshot()
    state.editing_id = world["desk"]
    state.sel_roles = ["sysadmin"]
    _refused(state.save())
    _refused(state.set_active(str(world["target"]), False))
    assert _snapshot() == before
    assert _denials(world["desk"]) == ["users.set_roles", "users.set_active"]


def test_front_desk_opening_the_users_page_is_sent_home(world):
    _, state = _logged_in("front.desk")
    events = _events(state.load())
    page_denied = t("error.page_denied", "en")
    assert any(_is_error_toast(e, page_denied) for e in events)
    redirects = [str(e.args) for e in events if e.handler.fn.__qualname__ == "_redirect"]
    assert len(redirects) == 1 and '"/"' in redirects[0]
    assert state.rows == [] and state.total == 0
    assert [a.startswith("page.open") for a in _denials(world["desk"])] == [True]


def test_a_logged_out_browser_gets_the_login_message_not_the_data(world):
    _, state = _logged_in("front.desk")
    state.parent_state.token = "not-a-real-token"
    before = _snapshot()
    result = state.reset_password(str(world["target"]), "some.clerk")
    assert any(_is_error_toast(e, t("auth.login_required", "en")) for e in _events(result))
    assert _snapshot() == before


def test_no_state_var_holds_a_password_hash_after_the_users_page_loads(world):
    root, state = _logged_in("root.admin")
    assert state.load() is None  # no redirect, no error toast
    assert {row.username for row in state.rows} == {"root.admin", "front.desk", "some.clerk"}
    state.reset_password(str(world["target"]), "some.clerk")
    assert state.issued_password  # shown once, by design; the hash never is
    with session_scope() as session:
        hashes = session.exec(select(User.password_hash)).scalars().all()
    assert len(hashes) == 3 and all(hashes)
    text = _state_text(root)
    assert "some.clerk" in text  # the walk does see the loaded rows
    for hashed in hashes:
        assert hashed not in text
    assert "$2b$" not in text
