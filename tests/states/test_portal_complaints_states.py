"""我的投诉 (the member portal's complaints page) called directly, as a browser could call any
public handler with any arguments: a member files a complaint and sees only their own; another
member's complaint id is refused and shows nothing; the timeline holds only what the customer may
see; a score is refused before the outcome was told and taken after it; the decrypted text is
dropped when the complaint is closed; staff are sent away."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
import reflex as rx
from helpers import _member_login, _staff, _staff_login, _staff_token, _state_text
from helpers import _tree as tree
from reflex_base.event import EventSpec
from sqlalchemy import func, select

from custapp import clock
from custapp.db import session_scope
from custapp.i18n import t
from custapp.models import Complaint
from custapp.pages.portal_complaints import ComplaintDetail, FilingErrors, PortalComplaintsState
from custapp.services import auth, complaints, customers
from custapp.services.actor import system_actor

T0 = datetime(2026, 6, 1, 3, 0, tzinfo=UTC)  # 11:00 in Shanghai
PHONE, OTHER_PHONE = "13912345678", "13787654321"
MINE = "结账时收银员多收了十元，态度也很差"
THEIRS = "李会员的投诉：停车场没有照明"
INTERNAL = "内部备注：收银员当天是新人，需要培训"
REPLY = "已核实多收的十元，今日退回您的会员卡"


def _customer(name: str, phone: str) -> int:
    with session_scope() as session:
        return customers.create_customer(
            session,
            actor=system_actor("test"),
            data=customers.CustomerInput(name=name, phone=phone),
        ).id


def _actor(token: str):  # noqa: ANN202
    with session_scope() as session:
        return auth.resolve_session(session, token=token, ip="10.0.0.5").actor


@pytest.fixture
def world(db) -> dict:  # noqa: ANN001
    clock.set_now(T0)
    mine, theirs = _customer("王会员", PHONE), _customer("李会员", OTHER_PHONE)
    _staff("desk.one", "front_desk")
    ids = {
        "mine": mine,
        "me": _member_login(PHONE, customer_id=mine, display_name="王会员"),
        "other": _member_login(OTHER_PHONE, customer_id=theirs, display_name="李会员"),
        "desk": _actor(_staff_token("desk.one")),
    }
    with session_scope() as session:
        ids["theirs"] = complaints.member_file_complaint(
            session, actor=_actor(ids["other"]), category="environment", description=THEIRS
        ).id
    return ids


def _page(token: str) -> tuple[rx.State, PortalComplaintsState]:
    root, state = tree(token, PortalComplaintsState, "/portal/complaints")
    result = state.load()
    assert result is None or (isinstance(result, list) and None not in result)
    return root, state


def _handle(world: dict, complaint_id: int, fn, **kw) -> None:  # noqa: ANN001
    with session_scope() as session:
        fn(session, actor=world["desk"], complaint_id=complaint_id, **kw)


def _file(state: PortalComplaintsState) -> int:
    state.choose_category("billing")
    result = state.file_complaint({"description": MINE, "desired": "退还多收的钱"})
    assert isinstance(result, list) and None not in result
    with session_scope() as session:
        return session.exec(
            select(Complaint.id).where(Complaint.number == state.filed)
        ).scalar_one()


def test_a_member_files_a_complaint_and_sees_only_their_own(world) -> None:  # noqa: ANN001
    root, state = _page(world["me"])
    assert state.loaded and state.total == 0 and state.rows == []
    assert state.active_href == "/portal/complaints"

    assert state.file_complaint({"description": "  "}) is None
    assert state.errors == FilingErrors(
        category=t("complaint.error.category", "en"),
        description=t("complaint.error.description_required", "en"),
    )
    assert state.filed == ""
    state.choose_category("no-such-category")
    assert state.category == ""

    complaint_id = _file(state)
    assert state.filed.startswith("T20260601") and len(state.filed) == 13
    assert state.errors == FilingErrors() and state.category == ""
    assert state.total == 1
    (row,) = state.rows
    assert (row.number, row.status) == (state.filed, "received")
    assert row.category == t("complaint.category.billing", "en")
    assert row.status_label == t("complaint.status.received", "en")
    assert row.time == "2026-06-01 11:00"
    with session_scope() as session:
        filed = session.get(Complaint, complaint_id)
        assert (filed.customer_id, filed.channel) == (world["mine"], "portal")

    text = _state_text(root)
    for secret in (MINE, "退还多收", THEIRS, PHONE):
        assert secret not in text, secret


def test_another_members_complaint_is_refused_and_shows_nothing(world) -> None:  # noqa: ANN001
    root, state = _page(world["me"])
    for sent in (world["theirs"], str(world["theirs"]), "1 OR 1=1", -1, None, "9" * 30):
        assert state.open_complaint(sent) is not None  # an error toast
        assert not state.detail_open and state.d == ComplaintDetail() and state.timeline == []
    assert THEIRS not in _state_text(root)
    assert state.rate("5") is not None  # nothing open: nothing to score
    with session_scope() as session:
        assert session.get(Complaint, world["theirs"]).satisfaction is None


def test_the_timeline_shows_only_what_the_customer_may_see(world) -> None:  # noqa: ANN001
    root, state = _page(world["me"])
    complaint_id = _file(state)
    _handle(world, complaint_id, complaints.add_note, body=INTERNAL, visible=False)
    _handle(world, complaint_id, complaints.move, to_status="investigating")

    assert state.open_complaint(state.rows[0].id) is None
    assert state.detail_open
    assert state.d.description == MINE and state.d.desired == "退还多收的钱"
    assert state.d.outcome == "" and state.d.can_rate is False
    assert [e.kind for e in state.timeline] == ["filed", "status"]
    assert INTERNAL not in _state_text(root)
    assert "desk.one" not in repr(state.timeline) and "desk.one" not in repr(state.d)

    state.close_complaint()
    assert not state.detail_open and state.d == ComplaintDetail() and state.timeline == []
    for secret in (MINE, "退还多收"):
        assert secret not in _state_text(root), secret


def test_a_score_only_after_the_outcome_was_told(world) -> None:  # noqa: ANN001
    root, state = _page(world["me"])
    complaint_id = _file(state)
    state.open_complaint(str(complaint_id))
    assert state.rate("5") is None
    assert state.rate_error == t("complaint.error.not_informed", "en")
    with session_scope() as session:
        assert session.get(Complaint, complaint_id).satisfaction is None

    _handle(world, complaint_id, complaints.move, to_status="investigating")
    _handle(world, complaint_id, complaints.move, to_status="solution_proposed")
    _handle(world, complaint_id, complaints.move, to_status="customer_informed", outcome=REPLY)
    state.close_complaint()
    state.open_complaint(str(complaint_id))
    assert state.d.status == "customer_informed" and state.d.can_rate is True
    assert state.d.outcome == REPLY
    assert REPLY in [e.body for e in state.timeline]

    assert state.rate("9") is None  # not a score
    assert state.rate_error == t("complaint.error.satisfaction", "en")
    assert state.rate("5") is not None  # a toast
    assert state.rate_error == ""
    assert state.d.score == "5"
    assert state.d.rated == t("portal_complaints.rated", "en", score=5)
    assert state.timeline[-1].kind == "score"
    assert state.rows[0].score == "5"
    with session_scope() as session:
        assert session.get(Complaint, complaint_id).satisfaction == 5

    # whatever id the browser names, the score goes to the complaint the server opened
    state.close_complaint()
    assert state.rate("4") is not None
    with session_scope() as session:
        assert session.get(Complaint, complaint_id).satisfaction == 5
    assert REPLY not in _state_text(root)


def test_staff_are_sent_away(world) -> None:  # noqa: ANN001
    token = _staff_login("mgr.one", "cs_manager")
    _, state = tree(token, PortalComplaintsState, "/portal/complaints")
    result = state.load()
    assert isinstance(result, list) and None not in result
    redirects = [
        str(e.args)
        for e in result
        if isinstance(e, EventSpec) and e.handler.fn.__qualname__ == "_redirect"
    ]
    assert len(redirects) == 1 and "'/'" in redirects[0]
    assert state.rows == [] and not state.loaded
    state.choose_category("service")
    assert state.file_complaint({"description": "员工代填"}) is None
    assert state.error == t("error.permission_denied", "en") and state.filed == ""
    assert state.open_complaint(str(world["theirs"])) is not None and state.d == ComplaintDetail()
    with session_scope() as session:
        assert session.exec(select(func.count(Complaint.id))).scalar_one() == 1
