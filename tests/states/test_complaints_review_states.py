"""投诉管理 handlers called directly, as any browser may call any public handler with any
arguments: the manager's load shows the KPIs and the queue, the filters narrow it on the server
(bad values fall back to "all"), two ticked complaints are assigned at once; the front desk is
sent home, and its assignment, called anyway, is refused by the service with nothing written."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import reflex as rx
from helpers import _staff, _staff_token
from helpers import _tree as tree
from reflex_base.event import EventSpec
from sqlalchemy import func, select

from custapp import clock
from custapp.db import session_scope
from custapp.i18n import t
from custapp.models import AuditEntry, Complaint
from custapp.pages.complaints_review import PAGE_SIZE, ComplaintsReviewState, KpiFigures
from custapp.services import auth, complaints, customers
from custapp.services.actor import system_actor

T0 = datetime(2026, 6, 3, 4, 0, tzinfo=UTC)  # Wednesday 12:00 in Shanghai


def _actor(token: str):  # noqa: ANN202
    with session_scope() as session:
        return auth.resolve_session(session, token=token, ip="10.0.0.5").actor


@pytest.fixture
def world(db) -> dict:  # noqa: ANN001
    clock.set_now(T0)
    ids = {
        "desk": _staff("desk.one", "front_desk"),
        "boss": _staff("boss.one", "cs_manager"),
    }
    with session_scope() as session:
        cid = customers.create_customer(
            session, actor=system_actor("test"),
            data=customers.CustomerInput(name="王投诉", phone="13912345678"),
        ).id  # fmt: skip
    desk = _actor(_staff_token("desk.one"))
    plan = [  # received how long ago, severity, category
        (timedelta(days=5), "normal", "service"),
        (timedelta(days=3), "critical", "billing"),
        (timedelta(hours=2), "low", "environment"),
        (timedelta(hours=1), "normal", "product"),
    ]
    ids["complaints"] = []
    for ago, severity, category in plan:
        clock.set_now(T0 - ago)
        with session_scope() as session:
            ids["complaints"].append(
                complaints.file_complaint(
                    session, actor=desk, customer_id=cid, channel="counter", category=category,
                    severity=severity, description="投诉内容",
                ).id
            )  # fmt: skip
    clock.set_now(T0)
    return ids


def _page(username: str) -> tuple[rx.State, ComplaintsReviewState]:
    return tree(_staff_token(username), ComplaintsReviewState, "/complaints")


def _events(result) -> list[EventSpec]:  # noqa: ANN001
    events = result if isinstance(result, list) else [result]
    assert events and all(isinstance(e, EventSpec) for e in events), result
    return events


def _toast(result, kind: str, message: str) -> bool:  # noqa: ANN001
    return any(
        "__toast" in str(e.args) and f'"{kind}"' in str(e.args) and message in str(e.args)
        for e in _events(result)
    )


def _numbers(state: ComplaintsReviewState) -> list[str]:
    return [r.number for r in state.rows]


def test_the_managers_load_and_filters(world) -> None:  # noqa: ANN001
    _, state = _page("boss.one")
    assert state.load() is None
    assert state.kpi_loaded and state.loaded
    assert (state.kpi.open, state.kpi.received, state.kpi.repeat) == ("4", "4", "1")
    assert state.kpi.overdue_rate == "50%"  # the 5- and 3-day-old ones
    assert len(state.trend) == 14 and sum(w["service"] for w in state.trend) == 1
    assert state.total == 4 and len(state.rows) == 4
    assert [r.id for r in state.rows] == [str(i) for i in world["complaints"]]  # oldest first
    first = state.rows[0]
    assert first.assignee == t("complaint_review.unassigned", "en") and first.overdue is True
    assert first.age == t("complaint_review.age_cell", "en", days=5)
    assert sorted((o.label for o in state.handler_options), reverse=True) == [
        "desk.one",
        "boss.one",
    ]

    state.set_overdue(True)
    assert state.total == 2 and all(r.overdue is True for r in state.rows)
    state.set_severity("critical")
    assert state.total == 1 and state.rows[0].severity == "critical"
    state.clear_filters()
    state.set_category("environment")
    assert state.total == 1
    state.set_category("nonsense")  # any value from a browser: back to all
    assert state.f_category == "all" and state.total == 4
    state.set_age("3")
    assert state.total == 2
    state.set_age("9999")
    assert state.f_age == "all" and state.total == 4
    state.set_assignee("0")
    assert state.total == 4
    state.set_assignee(str(world["desk"]))
    assert state.total == 0 and state.rows == []
    state.clear_filters()
    state.set_status("closed")
    assert state.total == 0
    state.set_status("all")
    assert state.total == 4

    state.set_window("30")
    assert state.window == "30" and len(state.trend) == 5
    state.set_window("7")  # not a window offered: the default
    assert state.window == "90"


def test_bulk_assign(world) -> None:  # noqa: ANN001
    _, state = _page("boss.one")
    state.load()
    assert _toast(state.assign_selected(), "error", t("complaint_review.pick_some", "en"))
    first, second = state.rows[0].id, state.rows[1].id
    state.toggle(first, True)
    state.toggle(second, True)
    state.toggle("999999", True)  # not on the page: ignored
    assert state.selected == [first, second]
    assert state.selected_label == t("complaint_review.selected", "en", count=2)
    assert _toast(state.assign_selected(), "error", t("complaint_review.pick_handler", "en"))
    state.set_assign_to(str(world["desk"]))
    done = state.assign_selected()
    assert _toast(done, "success", t("complaint_review.assigned", "en", count=2))
    assert state.selected == []
    assert [r.assignee for r in state.rows[:3]] == ["desk.one", "desk.one", "Unassigned"]
    with session_scope() as session:
        assigned = session.exec(
            select(Complaint.id)
            .where(Complaint.assignee_id == world["desk"])
            .order_by(Complaint.id)
        ).all()
    assert [str(i) for (i,) in assigned] == [first, second]
    state.set_assignee("0")
    assert state.total == 2

    state.toggle_page(True)
    assert len(state.selected) == 2
    state.toggle_page(False)
    assert state.selected == []
    assert PAGE_SIZE == 20


def test_front_desk_is_sent_home_and_its_assign_refused(world) -> None:  # noqa: ANN001
    _, state = _page("desk.one")
    events = _events(state.load())
    assert _toast(events, "error", t("error.page_denied", "en"))
    redirects = [str(e.args) for e in events if e.handler.fn.__qualname__ == "_redirect"]
    assert len(redirects) == 1 and '"/"' in redirects[0]
    assert state.rows == [] and state.kpi == KpiFigures()

    # a browser calls the handlers anyway
    state.selected = [str(i) for i in world["complaints"]]
    state.set_assign_to(str(world["desk"]))
    refused = state.assign_selected()
    assert _toast(refused, "error", t("error.permission_denied", "en"))
    state.set_window("30")
    assert state.kpi == KpiFigures()
    with session_scope() as session:
        assert (
            session.exec(
                select(func.count()).where(Complaint.assignee_id.is_not(None))
            ).scalar_one()
            == 0
        )
        denied = session.exec(
            select(func.count()).where(
                AuditEntry.action == "complaints.assign", AuditEntry.outcome == "denied"
            )
        ).scalar_one()
    assert denied == 1
