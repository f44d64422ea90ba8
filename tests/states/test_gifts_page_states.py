"""礼品目录 handlers called directly, as any browser may call any public handler with any
arguments: cs_manager adds and edits gifts (errors named next to their fields); the front desk is
sent home by the page, and its save, called anyway, is refused by the service with nothing
written; the table pages on the server past 50 gifts."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
import reflex as rx
from reflex.istate.data import RouterData
from reflex_base.event import EventSpec
from sqlalchemy import func, select

from custapp import clock
from custapp.db import session_scope
from custapp.i18n import t
from custapp.models import AuditEntry, Gift
from custapp.pages.gifts import PAGE_SIZE, GiftForm, GiftsState
from custapp.services import auth, bootstrap, gifts
from custapp.services.actor import system_actor
from custapp.states.session import SessionState

PASSWORD = "Correct-horse-42"
USERS = {"cs_manager": "the.manager", "front_desk": "the.desk"}
FLASK = {
    "name_zh": "保温杯",
    "name_en": "Vacuum flask",
    "points_cost": "300",
    "stock": "50",
    "active_from": "",
    "active_to": "2026-12-31",
    "is_active": "on",
}


@pytest.fixture
def world(db) -> dict[str, int]:
    clock.set_now(datetime(2026, 6, 1, 3, 0, tzinfo=UTC))  # 11:00 in Shanghai
    ids = {}
    for role, username in USERS.items():
        with session_scope() as session:
            ids[role] = bootstrap.create_staff_user(
                session,
                actor=system_actor("test"),
                username=username,
                display_name=username,
                roles=[role],
                password=PASSWORD,
            )
    return ids


def _logged_in(role: str) -> tuple[rx.State, GiftsState]:
    """A fresh state tree, as the state manager builds one per browser tab."""
    with session_scope() as session:
        login = auth.login_staff(session, username=USERS[role], password=PASSWORD, ip=None)
    assert login.ok
    root = rx.State(_reflex_internal_init=True)
    session_state = root.substates[SessionState.get_name()]
    session_state.token, session_state.locale = login.token, "en"
    state = session_state.substates[GiftsState.get_name()]
    state.router = RouterData.from_router_data(
        {"pathname": "/gifts", "asPath": "/gifts", "query": {}, "headers": {}}
    )
    return root, state


def _events(result) -> list[EventSpec]:  # noqa: ANN001
    events = result if isinstance(result, list) else [result]
    assert events and all(isinstance(e, EventSpec) for e in events), result
    return events


def _toast(result, kind: str, message: str) -> bool:  # noqa: ANN001
    return any(
        "__toast" in str(e.args) and f'"{kind}"' in str(e.args) and message in str(e.args)
        for e in _events(result)
    )


def _gifts() -> list[tuple]:
    with session_scope() as session:
        return [
            (g.name_zh, g.name_en, g.points_cost, g.stock, g.active_from, g.active_to, g.is_active)
            for g in session.exec(select(Gift).order_by(Gift.id)).scalars()
        ]


def _audited(action: str) -> int:
    with session_scope() as session:
        return session.exec(
            select(func.count(AuditEntry.id)).where(AuditEntry.action == action)
        ).scalar_one()


def test_manager_adds_and_edits_a_gift(world):
    _, state = _logged_in("cs_manager")
    assert state.load() is None  # no redirect, no error
    assert state.loaded and state.total == 0 and state.rows == []  # the empty state

    state.open_create()
    assert state.dialog_open and state.edit_id == 0 and state.form == GiftForm(is_active=True)
    saved = state.save(FLASK)
    assert _toast(saved, "success", t("gifts.saved", "en"))
    assert not state.dialog_open and state.total == 1
    assert _gifts() == [("保温杯", "Vacuum flask", 300, 50, None, date(2026, 12, 31), True)]
    row = state.rows[0]
    assert (row.name, row.other_name, row.points, row.stock) == (
        "Vacuum flask",
        "保温杯",
        "300",
        50,
    )
    assert row.dates == t("gifts.dates.until", "en", end="2026-12-31")
    assert row.is_active is True and row.available is True

    state.open_edit(row.id)
    assert state.dialog_open and state.edit_id == row.id
    assert state.form == GiftForm(
        name_zh="保温杯", name_en="Vacuum flask", points_cost="300", stock="50",
        active_from="", active_to="2026-12-31", is_active=True,
    )  # fmt: skip
    # stock 0 and unlisted (the switch sends nothing when off): not available today
    edited = {**FLASK, "stock": "0", "active_from": "2026-01-01"}
    del edited["is_active"]
    assert _toast(state.save(edited), "success", t("gifts.saved", "en"))
    assert _gifts() == [
        ("保温杯", "Vacuum flask", 300, 0, date(2026, 1, 1), date(2026, 12, 31), False)
    ]
    row = state.rows[0]
    assert (row.stock, row.is_active, row.available) == (0, False, False)
    assert row.why == t("gifts.why.unlisted", "en")
    assert row.dates == t("gifts.dates.range", "en", start="2026-01-01", end="2026-12-31")
    assert (_audited("gift.create"), _audited("gift.update")) == (1, 1)


def test_bad_input_is_named_next_to_each_field(world):
    _, state = _logged_in("cs_manager")
    state.load()
    state.open_create()
    bad = {
        "name_zh": " ",
        "name_en": "x" * 81,
        "points_cost": "0",
        "stock": "ten",
        "active_from": "2026-07-01",
        "active_to": "2026-06-30",
    }
    assert state.save(bad) is None
    assert state.dialog_open and state.form_error == ""
    assert state.errors == {
        "name_zh": t("gifts.error.name", "en"),
        "name_en": t("gifts.error.name", "en"),
        "points_cost": t("gifts.error.points_cost", "en"),
        "stock": t("gifts.error.stock", "en"),
        "active_to": t("gifts.error.date_order", "en"),
    }
    assert state.save({**FLASK, "points_cost": "", "active_from": "2026-02-30"}) is None
    assert state.errors == {
        "points_cost": t("gifts.error.points_cost", "en"),
        "active_from": t("gifts.error.date", "en"),
    }
    # not a form: refused before the handler runs (issue 14, item 9), nothing written
    assert _toast(state.save("not a form"), "error", t("error.bad_request", "en"))
    assert _gifts() == [] and _audited("gift.create") == 0
    # an unknown gift to edit: refused, nothing written
    assert _toast(state.open_edit("999"), "error", t("gifts.error.not_found", "en"))
    state.edit_id = 999
    assert state.save(FLASK) is None
    assert state.form_error == t("gifts.error.not_found", "en") and _gifts() == []
    state.close_dialog()
    assert not state.dialog_open and state.errors == {} and state.form_error == ""


def test_front_desk_is_sent_home_and_its_save_is_refused(world):
    with session_scope() as session:
        flask = gifts.create_gift(
            session, actor=system_actor("test"), name_zh="保温杯", name_en="Vacuum flask",
            points_cost=300, stock=50,
        ).id  # fmt: skip
    before = _gifts()
    _, state = _logged_in("front_desk")
    events = _events(state.load())
    assert _toast(events, "error", t("error.page_denied", "en"))
    redirects = [str(e.args) for e in events if e.handler.fn.__qualname__ == "_redirect"]
    assert len(redirects) == 1 and '"/"' in redirects[0], redirects
    assert state.rows == [] and not state.loaded

    denied = t("error.permission_denied", "en")
    state.open_create()  # the browser can open the dialog: the service decides
    assert state.save(FLASK) is None and state.form_error == denied
    state.edit_id = flask
    assert state.save({**FLASK, "stock": "0"}) is None and state.form_error == denied
    assert _gifts() == before and (_audited("gift.create"), _audited("gift.update")) == (1, 0)
    with session_scope() as session:
        denials = session.exec(
            select(AuditEntry.action)
            .where(AuditEntry.actor_id == world["front_desk"], AuditEntry.outcome == "denied")
            .order_by(AuditEntry.seq)
        ).scalars()
        assert list(denials) == ["page.open:/gifts", "gifts.create_gift", "gifts.update_gift"]


def test_a_catalogue_past_one_page_is_paged_on_the_server(world):
    with session_scope() as session:
        for i in range(PAGE_SIZE + 3):
            gifts.create_gift(
                session, actor=system_actor("test"), name_zh=f"礼品{i:03d}",
                name_en=f"Gift {i:03d}", points_cost=100 + i, stock=1,
            )  # fmt: skip
    _, state = _logged_in("cs_manager")
    state.load()
    assert state.total == PAGE_SIZE + 3 and len(state.rows) == PAGE_SIZE and state.pages == 2
    state.next_page()
    assert state.page == 2 and [r.name for r in state.rows] == [
        f"Gift {i:03d}" for i in range(PAGE_SIZE, PAGE_SIZE + 3)
    ]
    state.next_page()  # past the end stays on the last page
    assert state.page == 2 and len(state.rows) == 3
    state.prev_page()
    assert state.page == 1 and len(state.rows) == PAGE_SIZE
