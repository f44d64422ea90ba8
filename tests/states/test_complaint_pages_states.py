"""The staff complaint pages (issue 6) called directly, as a browser could call any public handler
with any arguments: front desk files a complaint from the profile's 投诉 tab (the draft kept on
the server as typed, errors next to their fields); the complaint page loads the whole timeline
and moves, notes and replies; front desk's 结案 and 分派 are refused by the service and change
nothing; a member is sent away; the list states hold no complaint text, and the complaint page
drops it on leaving."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
import reflex as rx
import run_async
from helpers import _member_login, _staff, _staff_token, _state_text
from reflex.istate.data import RouterData
from reflex_base.event import EventSpec
from sqlalchemy import select

from custapp import clock
from custapp.components.complaint_badges import compensation_text
from custapp.db import session_scope
from custapp.i18n import t
from custapp.models import ApprovalRequest, Complaint, ComplaintEvent
from custapp.pages.complaint import (
    ActionDialog,
    AssignDialog,
    CloseComplaintDialog,
    CompensationDialog,
    ComplaintState,
)
from custapp.pages.complaint.rows import CloseErrors, CompensationErrors
from custapp.pages.complaint_intake import ComplaintNewState
from custapp.pages.customer_profile import ProfileState
from custapp.pages.customer_profile.complaints import ProfileComplaintsState
from custapp.pages.my_complaints import MyComplaintsState
from custapp.services import approvals, complaints, customers, stores
from custapp.services.actor import system_actor
from custapp.states.complaint_intake import IntakeDraft
from custapp.states.options import Option
from custapp.states.session import SessionState

T0 = datetime(2026, 6, 1, 3, 0, tzinfo=UTC)  # 11:00 in Shanghai
PHONE = "13912345678"
NAME = "投诉测试客户"
DESCRIPTION = "收银员态度恶劣，还多收了二十元"
DESIRED = "退还多收的钱并道歉"
NOTE = "内部：已调取监控，收银员当班"
REPLY = "已核实，多收的二十元今日退回"


@pytest.fixture
def world(db) -> dict:  # noqa: ANN001
    clock.set_now(T0)
    with session_scope() as session:
        store = stores.create_store(session, actor=system_actor("test"), code="S01", name="一店")
    ids = {
        "store": store,
        "desk": _staff("desk.one", "front_desk", store_ids=[store]),
        "mgr": _staff("mgr.one", "cs_manager", store_ids=[store]),
    }
    with session_scope() as session:
        ids["customer"] = customers.create_customer(
            session,
            actor=system_actor("test"),
            data=customers.CustomerInput(name=NAME, phone=PHONE),
        ).id
    return ids


def _router(path: str, **params: str) -> RouterData:
    as_path = path
    for key, value in params.items():
        as_path = as_path.replace(f"[{key}]", value)
    return RouterData.from_router_data(
        {
            "pathname": path,
            "asPath": as_path,
            "query": params,
            "headers": {"origin": "http://localhost:3000"},
        }
    )


def _root(token: str) -> rx.State:
    root = rx.State(_reflex_internal_init=True)
    session_state = root.substates[SessionState.get_name()]
    session_state.token, session_state.locale = token, "en"
    return root


def _sub(root: rx.State, cls: type[rx.State]) -> rx.State:
    return root.get_substate(cls.get_full_name().split("."))


def _ok(result) -> None:  # noqa: ANN001
    assert result is None or isinstance(result, EventSpec) or None not in result


def _tab(token: str, customer_id: int) -> tuple[rx.State, ProfileComplaintsState]:
    """The profile opened on the customer, then its 投诉 tab mounted."""
    root = _root(token)
    profile, tab = _sub(root, ProfileState), _sub(root, ProfileComplaintsState)
    profile.router = _router("/customers/[cid]", cid=str(customer_id))
    _ok(profile.load())
    assert profile.cid == customer_id
    tab.router = profile.router
    _ok(run_async.run(tab.load()))
    return root, tab


def _complaint_page(token: str, complaint_id: int) -> tuple[rx.State, ComplaintState]:
    root = _root(token)
    state = _sub(root, ComplaintState)
    state.router = _router("/complaints/[id]", id=str(complaint_id))
    _ok(state.load())
    return root, state


def _dialog(page: ComplaintState, cls: type[rx.State]) -> rx.State:
    """A dialog of the complaint page: a substate of its state."""
    return page.substates[cls.get_name()]


def _type(state: rx.State, **fields: str) -> None:
    for field, value in fields.items():
        state.set_intake(field, value)


def _row(number: str) -> Complaint:
    with session_scope() as session:
        complaint = session.exec(select(Complaint).where(Complaint.number == number)).scalar_one()
        session.expunge(complaint)
        return complaint


def _events(complaint_id: int) -> list[tuple]:
    with session_scope() as session:
        return [
            (e.kind, e.from_status, e.to_status, e.visible)
            for e in session.exec(
                select(ComplaintEvent)
                .where(ComplaintEvent.complaint_id == complaint_id)
                .order_by(ComplaintEvent.id)
            ).scalars()
        ]


def _file_on_profile(
    world: dict, severity: str = "normal"
) -> tuple[rx.State, ProfileComplaintsState, Complaint]:
    root, tab = _tab(_staff_token("desk.one"), world["customer"])
    tab.open_intake()
    _type(tab, channel="counter", category="service", description=DESCRIPTION, desired=DESIRED)
    tab.set_intake("severity", severity)
    result = tab.file({})
    assert isinstance(result, list) and None not in result
    return root, tab, _row(tab.rows[0].number)  # newest first


def test_front_desk_files_a_complaint_from_the_profile_tab(world) -> None:  # noqa: ANN001
    root, tab = _tab(_staff_token("desk.one"), world["customer"])
    assert tab.loaded and tab.can_view and tab.can_file and tab.total == 0
    tab.open_intake()
    assert tab.intake_open and tab.intake.severity == "normal"

    # nothing chosen, nothing written: the errors stand by their fields, nothing is filed
    assert tab.file({}) is None
    assert tab.intake_errors == {
        "channel": t("complaint.error.channel", "en"),
        "category": t("complaint.error.category", "en"),
        "description": t("complaint.error.description_required", "en"),
    }
    assert tab.intake_open and tab.total == 0

    # any browser may send anything: no portal channel, no unknown field
    tab.set_intake("channel", "portal")
    tab.set_intake("secret_field", "x")
    assert tab.intake.channel == "" and not hasattr(tab.intake, "secret_field")
    _type(tab, channel="counter", category="service", severity="high")
    _type(tab, description=DESCRIPTION, desired=DESIRED)
    assert "channel" not in tab.intake_errors and "description" not in tab.intake_errors

    # the draft is on the server: a reload (hydrate) empties the browser's copy only, and the
    # form opens again with it when the tab mounts
    tab._reset_client_storage()
    assert tab.intake.description == "" and DESCRIPTION not in repr(root.dict())
    _ok(run_async.run(tab.load()))
    assert tab.intake_open and tab.intake.description == DESCRIPTION

    result = tab.file({})
    assert isinstance(result, list) and None not in result
    assert not tab.intake_open and tab.intake.description == "" and tab._draft == IntakeDraft()
    assert tab.total == 1
    (row,) = tab.rows
    assert row.number.startswith("T20260601") and len(row.number) == 13
    assert (row.status, row.severity) == ("received", "high")
    assert row.status_label == t("complaint.status.received", "en")
    assert row.href.startswith("/complaints/")
    assert t("complaint_pages.filed", "en", number=row.number) in repr(result)
    filed = _row(row.number)
    assert (filed.customer_id, filed.channel, filed.category) == (
        world["customer"],
        "counter",
        "service",
    )
    # the list holds no complaint text
    for secret in (DESCRIPTION, "多收", DESIRED):
        assert secret not in _state_text(root), secret


def test_the_complaint_page_loads_the_timeline_and_handles(world) -> None:  # noqa: ANN001
    _, _, filed = _file_on_profile(world)
    root, page = _complaint_page(_staff_token("desk.one"), filed.id)
    assert page.loaded and page.h.number == filed.number
    assert page.description == DESCRIPTION and page.desired == DESIRED
    assert page.h.customer_href == f"/customers/{world['customer']}"
    assert page.h.response_mark == t("complaint_pages.hours_left", "en", hours=24)
    assert page.moves == [Option("investigating", t("complaint.status.investigating", "en"))]
    assert not page.can_assign and not page.can_close
    assert [e.kind for e in page.timeline] == ["filed"]

    # a move the status does not allow is not even offered
    action = _dialog(page, ActionDialog)
    action.open_action("move", "closed")
    assert not action.action_open
    action.open_action("move", "investigating")
    _ok(action.submit_action({"text": NOTE}))  # 客户可见 not ticked: an internal note
    assert not action.action_open and page.h.status == "investigating"
    assert page.h.response_by == ""  # the first-response clock stopped

    action.open_action("reply")
    assert action.action_visible
    assert action.submit_action({"text": "  "}) is None  # a reply needs text
    assert action.action_field_error == t("complaint.error.body_required", "en")
    _ok(action.submit_action({"text": REPLY}))
    assert [e.kind for e in page.timeline] == ["reply", "note", "status", "filed"]
    newest = page.timeline[0]
    assert (newest.body, newest.visible, newest.who) == (REPLY, True, "desk.one")
    assert page.timeline[2].change == (
        f"{t('complaint.status.received', 'en')} → {t('complaint.status.investigating', 'en')}"
    )
    assert _events(filed.id) == [
        ("filed", None, "received", True),
        ("status", "received", "investigating", True),
        ("note", None, None, False),
        ("reply", None, None, True),
    ]

    # hold and resume; reopen only when closed
    action.open_action("hold")
    _ok(action.submit_action({"text": "等客户提供小票"}))
    assert page.h.status == "on_hold" and page.moves == []
    _ok(page.resume())
    assert page.h.status == "investigating"
    action.open_action("reopen")
    assert action.submit_action({"text": "客户再次反映"}) is None
    assert action.action_error == t("complaint.error.move", "en")

    # leaving the page drops the decrypted text
    page.leave()
    for secret in (DESCRIPTION, DESIRED, NOTE, REPLY):
        assert secret not in _state_text(root), secret


def test_a_note_is_internal_unless_ticked_and_written_once(world) -> None:  # noqa: ANN001
    """Issue 14 item 12: every note dialog opens with 客户可见 unticked (only 回复客户 is for the
    customer by choice); a submit without the tick, or with a forged form field, writes an
    internal note; clicks queued while the first submit ran write the note once."""
    _, _, filed = _file_on_profile(world)
    _, page = _complaint_page(_staff_token("desk.one"), filed.id)
    dialog = _dialog(page, ActionDialog)
    for action, to in (("move", "investigating"), ("note", ""), ("hold", "")):
        dialog.open_action(action, to)
        assert dialog.action_open and not dialog.action_visible and not dialog.action_locked, action
    dialog.open_action("reply")
    assert dialog.action_visible and dialog.action_locked
    dialog.set_action_visible(False)
    assert dialog.action_visible  # a reply is always the customer's

    dialog.open_action("move", "investigating")
    for _ in range(3):  # three clicks on 确定 before the first answer came back
        _ok(dialog.submit_action({"text": NOTE, "visible": "on"}))
    dialog.open_action("note")
    dialog.set_action_visible(True)
    assert dialog.action_visible
    for _ in range(3):
        _ok(dialog.submit_action({"text": REPLY}))
    assert _events(filed.id) == [
        ("filed", None, "received", True),
        ("status", "received", "investigating", True),
        ("note", None, None, False),
        ("reply", None, None, True),
    ]
    assert [(e.body, e.visible) for e in page.timeline[:2]] == [(REPLY, True), (NOTE, False)]

    comp = _dialog(page, CompensationDialog)
    comp.open_compensation()
    for _ in range(3):
        _ok(comp.request_compensation({"points": "50", "reason": "多收款致歉"}))
    with session_scope() as session:
        asked = session.exec(
            select(ApprovalRequest).where(ApprovalRequest.complaint_id == filed.id)
        ).all()
    assert len(asked) == 1


def test_front_desk_may_not_close_or_assign(world) -> None:  # noqa: ANN001
    _, _, filed = _file_on_profile(world)
    with session_scope() as session:
        for step in ("investigating", "solution_proposed", "customer_informed", "return_visit"):
            complaints.move(
                session, actor=system_actor("test"), complaint_id=filed.id, to_status=step
            )
    _, page = _complaint_page(_staff_token("desk.one"), filed.id)
    assert page.h.status == "return_visit"
    # the buttons are hidden, but a browser calls the handlers anyway
    close, assign = _dialog(page, CloseComplaintDialog), _dialog(page, AssignDialog)
    close.open_close()
    close.set_close_score("5")
    assert (
        close.close_complaint(
            {
                "root_cause": "收银失误",
                "solution": "退款致歉",
                "informed_on": "2026-06-01",
                "informed_via": "phone",
            }
        )
        is None
    )
    assert close.close_error == t("error.permission_denied", "en")
    assert assign.open_assign() is not None  # an error toast
    assert assign.handlers == [] and not assign.assign_open
    assign.assign_to = str(world["desk"])
    assert assign.assign() is None and assign.assign_error
    after = _row(filed.number)
    assert (after.status, after.closed_at, after.assignee_id) == ("return_visit", None, None)


def test_the_manager_assigns_and_closes(world) -> None:  # noqa: ANN001
    _, _, filed = _file_on_profile(world)
    _, page = _complaint_page(_staff_token("mgr.one"), filed.id)
    assert page.can_assign and page.can_close
    close, assign = _dialog(page, CloseComplaintDialog), _dialog(page, AssignDialog)
    _ok(assign.open_assign())
    assert Option(str(world["desk"]), "desk.one") in assign.handlers
    assign.set_assign_to("99999")  # not offered: ignored
    assert assign.assign_to == ""
    assign.set_assign_to(str(world["desk"]))
    _ok(assign.assign({}))
    assert page.h.assignee == "desk.one" and page.timeline[0].kind == "assign"

    # without a root cause, and from the wrong status: each error where it belongs
    close.open_close()
    close.set_close_score("none")
    form = {"solution": "退款致歉", "informed_on": "2026-06-01", "informed_via": "sms"}
    assert close.close_complaint(form) is None
    assert close.close_errors == CloseErrors(
        root_cause=t("complaint.error.root_cause_required", "en"),
        satisfaction=t("complaint.error.satisfaction", "en"),
    )
    assert (
        close.close_complaint({**form, "root_cause": "收银失误", "no_score_reason": "联系不上"})
        is None
    )
    assert close.close_errors == CloseErrors()
    assert close.close_error == t("complaint.error.close_before_visit", "en")

    with session_scope() as session:
        for step in ("investigating", "solution_proposed", "customer_informed", "return_visit"):
            complaints.move(
                session, actor=system_actor("test"), complaint_id=filed.id, to_status=step
            )
    close.set_close_score("4")
    _ok(close.close_complaint({**form, "root_cause": "收银失误"}))
    assert not close.close_open and page.h.status == "closed"
    assert page.h.satisfaction == "4"
    assert [c.value for c in page.closing][:2] == ["收银失误", "退款致歉"]


def test_the_handler_asks_for_compensation_and_the_manager_decides_it(world) -> None:  # noqa: ANN001
    _, _, filed = _file_on_profile(world)
    _, page = _complaint_page(_staff_token("desk.one"), filed.id)
    comp = _dialog(page, CompensationDialog)
    _ok(comp.open_compensation())
    assert comp.comp_open and comp.comp_form == "points"
    assert comp.request_compensation({"points": "-5", "reason": ""}) is None
    assert comp.comp_errors == CompensationErrors(
        points=t("approval.error.compensation_points", "en"),
        reason=t("customer.error.reason_required", "en"),
    )
    # digits int() cannot read ("²" is a digit to str.isdigit) are refused, not a crash
    assert comp.request_compensation({"points": "²", "reason": "多收二十元"}) is None
    assert comp.comp_errors == CompensationErrors(
        points=t("approval.error.compensation_points", "en")
    )
    _, elsewhere = _complaint_page(_staff_token("desk.one"), filed.id)
    elsewhere.router = _router("/complaints/[id]", id="²")
    assert elsewhere.load() is not None and not elsewhere.loaded  # sent back to the list
    comp.set_comp_form("cash")  # not a form: ignored
    comp.set_comp_form("money")
    assert comp.comp_form == "money" and comp.comp_errors == CompensationErrors()
    assert comp.request_compensation({"amount": "abc", "reason": "多收二十元"}) is None
    assert comp.comp_errors == CompensationErrors(
        amount=t("approval.error.compensation_amount", "en")
    )
    _ok(comp.request_compensation({"amount": "20.00", "reason": "多收二十元"}))
    assert not comp.comp_open
    with session_scope() as session:
        asked = session.exec(
            select(ApprovalRequest).where(ApprovalRequest.complaint_id == filed.id)
        ).scalar_one()
        assert (asked.kind, asked.amount_fen, asked.status) == ("compensation", 2000, "pending")
        approvals.approve(session, actor=system_actor("test"), request_id=asked.id)
    # the timeline says what was given in words, never the stored "money:2000:counter"
    _ok(page.load())
    given = next(e for e in page.timeline if e.kind == "compensation")
    assert given.detail == "¥20.00, paid at the counter" and given.visible is True
    assert compensation_text(page, "points:1200", {}) == "1,200 points"
    assert compensation_text(page, "gift:7", {7: ("保温杯", "Flask")}) == "Gift: Flask"
    page.locale = "zh_CN"
    assert compensation_text(page, "gift:7", {7: ("保温杯", "Flask")}) == "礼品：保温杯"


def test_the_intake_page_for_a_found_customer_or_an_anonymous_walk_in(world) -> None:  # noqa: ANN001
    root = _root(_staff_token("desk.one"))
    state = _sub(root, ComplaintNewState)
    state.router = _router("/complaints/new")
    _ok(state.load())
    _type(state, channel="phone", category="product", description=DESCRIPTION)
    assert state.submit({}) is None
    assert state.customer_error == t("complaint_pages.error.customer_required", "en")
    state.set_lookup_text("张三")
    assert state.lookup() is None
    assert state.customer_error == t("complaint_pages.error.lookup_format", "en")
    state.set_lookup_text("13900000000")
    state.lookup()
    assert state.customer_error == t("complaint_pages.error.no_customer", "en")
    state.set_lookup_text(PHONE)
    state.lookup()
    assert state.customer_error == "" and NAME in state.customer_label

    # a reload keeps the draft (the on_load shows it again)
    state._reset_client_storage()
    assert state.intake.description == "" and state.customer_label == ""
    _ok(state.load())
    assert state.intake.description == DESCRIPTION and NAME in state.customer_label
    result = state.submit({})
    assert isinstance(result, list) and None not in result
    with session_scope() as session:
        filed = session.exec(select(Complaint).order_by(Complaint.id.desc())).scalars().first()
        assert (filed.customer_id, filed.channel) == (world["customer"], "phone")
    assert f"/complaints/{filed.id}" in repr(result)

    # an anonymous walk-in needs a contact
    state.set_who("anonymous")
    _type(state, channel="counter", category="environment", description="门口积水没人管")
    assert state.submit({}) is None
    assert state.intake_errors == {"contact": t("complaint.error.contact_required", "en")}
    _type(state, contact="王女士 13800001111")
    _ok(state.submit({}))
    with session_scope() as session:
        anon = session.exec(select(Complaint).order_by(Complaint.id.desc())).scalars().first()
        assert anon.customer_id is None and anon.contact_enc
    _, page = _complaint_page(_staff_token("desk.one"), anon.id)
    assert page.h.customer_href == "" and page.contact == "王女士 13800001111"


def test_my_complaints_lists_mine_and_the_unassigned_overdue_first(world) -> None:  # noqa: ANN001
    _, _, first = _file_on_profile(world)
    clock.set_now(T0.replace(hour=4))
    _, _, second = _file_on_profile(world, "critical")  # 4 h to the first response
    clock.set_now(T0.replace(hour=9))  # the critical one is overdue, the first one is not
    root = _root(_staff_token("desk.one"))
    state = _sub(root, MyComplaintsState)
    state.router = _router("/my-complaints")
    _ok(state.load())
    assert state.total == 2
    assert [r.number for r in state.rows] == [second.number, first.number]
    assert [r.overdue for r in state.rows] == [True, False]

    # assigned to someone else: no longer in my list; another store's unassigned one neither
    with session_scope() as session:
        complaints.assign(
            session, actor=system_actor("test"), complaint_ids=[second.id], assignee_id=world["mgr"]
        )
        other = stores.create_store(session, actor=system_actor("test"), code="S02", name="二店")
        session.get(Complaint, first.id).store_id = other
    _ok(state.load())
    assert state.total == 0 and state.rows == []
    for secret in (DESCRIPTION, DESIRED):
        assert secret not in _state_text(root), secret


@pytest.mark.parametrize(
    "cls,path",
    [
        (ComplaintState, "/complaints/[id]"),
        (MyComplaintsState, "/my-complaints"),
        (ComplaintNewState, "/complaints/new"),
    ],
)
def test_a_member_is_sent_away(world, cls, path: str) -> None:  # noqa: ANN001
    _, _, filed = _file_on_profile(world)
    root = _root(_member_login("13787654321", customer_id=world["customer"]))
    state = _sub(root, cls)
    state.router = _router(path, id=str(filed.id)) if "[id]" in path else _router(path)
    result = state.load()
    assert isinstance(result, list) and None not in result
    redirects = [
        str(e.args)
        for e in result
        if isinstance(e, EventSpec) and e.handler.fn.__qualname__ == "_redirect"
    ]
    assert len(redirects) == 1 and "'/portal'" in redirects[0]
    assert DESCRIPTION not in _state_text(root)
    # the handlers, called anyway, are refused by the service
    if cls is ComplaintState:
        state._id = filed.id
        dialog = _dialog(state, ActionDialog)
        dialog.action, dialog.action_to = "move", "investigating"
        assert dialog.submit_action({"text": "x"}) is None
        assert _row(filed.number).status == "received"
