"""The 销毁 page's state called directly, as a browser could call any public handler with any
arguments: compliance proposes and appraises, the appraiser sees no approve button and is
refused anyway, a second person approves and the register tab shows the destruction; the
auditor reads the register only; the front desk and members reach nothing; no value of the
customer is ever held in state."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
import reflex as rx
from helpers import _member_login, _staff, _staff_token, _state_text, _tree
from reflex.istate.data import RouterData
from reflex_base.event import EventSpec
from sqlalchemy import select

from custapp import clock
from custapp.db import session_scope
from custapp.i18n import t
from custapp.models import AuditEntry, Customer, DestructionCandidate
from custapp.pages.customer_profile import ProfileState
from custapp.pages.destruction import (
    DecisionDialogState,
    DestructionState,
    HoldDialogState,
    ProposeDialogState,
)
from custapp.services import customers
from custapp.services.actor import system_actor

T0 = datetime(2026, 4, 10, 2, 0, tzinfo=UTC)
NAME, PHONE = "欧阳销毁", "13912345678"


@pytest.fixture
def world(db) -> dict:  # noqa: ANN001
    clock.set_now(T0)
    ids = {
        name: _staff(name, role)
        for name, role in (
            ("comp.a", "compliance"),
            ("comp.b", "compliance"),
            ("boss.one", "cs_manager"),
            ("desk.one", "front_desk"),
            ("the.auditor", "auditor"),
            ("root.admin", "sysadmin"),
        )
    }
    with session_scope() as session:
        ref = customers.create_customer(
            session,
            actor=system_actor("test"),
            data=customers.CustomerInput(name=NAME, phone=PHONE),
        )
    ids["customer"], ids["number"] = ref.id, ref.number
    return ids


def _page(username: str) -> tuple[rx.State, DestructionState]:
    return _tree(_staff_token(username), DestructionState, "/destruction")


def _opened(state: DestructionState) -> None:
    assert state.load() is DestructionState.fetch_all  # no redirect, no error
    assert state.fetch_all() is None


def _dialog(state: DestructionState, cls: type[rx.State]) -> rx.State:
    return state.substates[cls.get_name()]


def _events(result) -> list[EventSpec]:  # noqa: ANN001
    events = result if isinstance(result, list) else [result]
    assert events and all(isinstance(e, EventSpec) for e in events), result
    return events


def _toast(result, kind: str, message: str) -> bool:  # noqa: ANN001
    return any(
        "__toast" in str(e.args) and f'"{kind}"' in str(e.args) and message in str(e.args)
        for e in _events(result)
    )


def _candidates() -> list[tuple[str, int | None, int | None]]:
    with session_scope() as session:
        rows = session.exec(
            select(
                DestructionCandidate.status,
                DestructionCandidate.appraised_by,
                DestructionCandidate.approved_by,
            ).order_by(DestructionCandidate.id)
        ).all()
    return [tuple(r) for r in rows]


def _denials(actor_id: int) -> list[str]:
    with session_scope() as session:
        return list(
            session.exec(
                select(AuditEntry.action)
                .where(AuditEntry.actor_id == actor_id, AuditEntry.outcome == "denied")
                .order_by(AuditEntry.seq)
            ).scalars()
        )


def test_two_compliance_users_destroy_a_customer_through_the_page(world):  # noqa: ANN001
    root_a, a = _page("comp.a")
    _opened(a)
    assert (a.can_queue, a.can_appraise, a.can_approve, a.can_hold, a.tab) == (
        True, True, True, True, "queued",
    )  # fmt: skip
    propose = _dialog(a, ProposeDialogState)
    propose.open_propose()
    propose.propose({"customer_number": "C20269999999", "category": "customer", "note": "无价值"})
    assert propose.propose_errors == {
        "customer_number": t("destruction.error.customer_not_found", "en")
    }
    propose.propose({"customer_number": world["number"], "category": "customer", "note": ""})
    assert propose.propose_errors == {"note": t("destruction.error.note_required", "en")}
    result = propose.propose(
        {"customer_number": world["number"], "category": "customer", "note": "合作终止，已无价值"}
    )
    assert _toast(result, "success", t("destruction.proposed_toast", "en"))
    (row,) = a.rows
    assert (row.customer_number, row.may_appraise, row.may_approve) == (
        world["number"], True, False,
    )  # fmt: skip
    decision = _dialog(a, DecisionDialogState)
    decision.open_decision(row.id, "appraise")
    assert decision.decision_open and decision.subject == f"{row.number} · {world['number']}"
    result = decision.decide({"decision": "destroy", "note": "已核实无保存价值"})
    assert _toast(result, "success", row.number)
    a.set_tab("approval")
    (mine,) = a.rows
    assert (mine.status_code, mine.own_appraisal, mine.may_approve) == ("appraised", True, False)
    # the appraiser's browser sends the approval anyway: the service refuses it
    decision.open_decision(mine.id, "approve")
    decision.decide({})
    assert decision.decision_error == t("destruction.error.same_person", "en")
    assert _candidates() == [("appraised", world["comp.a"], None)]

    root_b, b = _page("comp.b")
    _opened(b)
    b.set_tab("approval")
    (theirs,) = b.rows
    assert (theirs.may_approve, theirs.own_appraisal) == (True, False)
    approval = _dialog(b, DecisionDialogState)
    approval.open_decision(theirs.id, "approve")
    result = approval.decide({})
    assert _toast(result, "success", t("destruction.done_toast", "en", number=theirs.number))
    assert _candidates() == [("done", world["comp.a"], world["comp.b"])]
    b.set_tab("register")
    (line,) = b.rows
    with session_scope() as session:
        tombstone = session.get(Customer, world["customer"])
        assert tombstone.destroyed_at is not None
    # the register names the tombstone's number: the customer's own is on paper forms and cards
    assert tombstone.number != world["number"] and tombstone.number.startswith("X")
    assert (line.number, line.customer_number, line.status_code) == (
        theirs.number, tombstone.number, "done",
    )  # fmt: skip
    assert b.register_ok and "1" in b.register_text
    for root in (root_a, root_b):
        text = _state_text(root)
        assert NAME not in text and PHONE not in text
    # the front desk opening the profile is sent back to the list: 该客户信息已销毁
    _, profile = _tree(_staff_token("desk.one"), ProfileState, "/customers/[cid]")
    profile.router = RouterData.from_router_data(
        {"pathname": "/customers/[cid]", "asPath": f"/customers/{world['customer']}",
         "query": {"cid": str(world["customer"])}, "headers": {"origin": "http://localhost"}}
    )  # fmt: skip
    gone = profile.load()
    assert _toast(gone, "error", t("customer.error.destroyed", "en"))
    assert profile.name == ""


def test_the_cs_manager_approves_and_the_auditor_reads_the_register(world):  # noqa: ANN001
    _, a = _page("comp.a")
    _opened(a)
    _dialog(a, ProposeDialogState).propose(
        {"customer_number": world["number"], "category": "attachments", "note": "附件已过期"}
    )
    decision = _dialog(a, DecisionDialogState)
    decision.open_decision(a.rows[0].id, "appraise")
    decision.decide({"decision": "destroy", "note": ""})

    _, boss = _page("boss.one")
    _opened(boss)
    assert (boss.can_queue, boss.can_appraise, boss.can_approve, boss.can_hold) == (
        True, False, True, False,
    )  # fmt: skip
    refused = _dialog(boss, ProposeDialogState)
    refused.propose({"customer_number": world["number"], "category": "customer", "note": "无价值"})
    assert refused.propose_error == t("error.permission_denied", "en")
    boss.set_tab("approval")
    approval = _dialog(boss, DecisionDialogState)
    approval.open_decision(boss.rows[0].id, "approve")
    approval.decide({})
    assert _candidates() == [("done", world["comp.a"], world["boss.one"])]

    _, auditor = _page("the.auditor")
    _opened(auditor)
    assert (auditor.tab, auditor.can_queue, auditor.can_approve) == ("register", False, False)
    assert [r.what for r in auditor.rows] == [t("destruction.what.attachments", "en")]
    auditor.set_tab("queued")  # not one of the auditor's tabs
    assert auditor.tab == "register"
    decision = _dialog(auditor, DecisionDialogState)
    decision._decision_id, decision.mode = 1, "reject"  # as if the browser had sent it
    decision.decide({"note": "不同意"})
    assert decision.decision_error == t("error.permission_denied", "en")
    hold = _dialog(auditor, HoldDialogState)
    hold.save_hold({"customer_number": world["number"], "reason": "案件"})
    assert hold.hold_error == t("error.permission_denied", "en")
    assert _denials(world["the.auditor"]) == ["destruction.reject", "destruction.set_hold"]


def test_compliance_sets_and_releases_a_legal_hold(world):  # noqa: ANN001
    _, a = _page("comp.a")
    _opened(a)
    hold = _dialog(a, HoldDialogState)
    hold.open_hold()
    hold.save_hold({"customer_number": world["number"], "reason": ""})
    assert hold.hold_errors == {"reason": t("destruction.error.note_required", "en")}
    result = hold.save_hold({"customer_number": world["number"], "reason": "（2026）沪01民初1号"})
    assert _toast(result, "success", t("destruction.hold.set_toast", "en"))
    assert a.tab == "holds"
    (held,) = a.hold_rows
    assert held.customer_number == world["number"]
    hold.open_release(held.id)
    assert hold.releasing == world["number"]
    hold.save_hold({"reason": "案件已结"})
    assert a.hold_rows == []


@pytest.mark.parametrize("who", ["desk.one", "root.admin", "member"])
def test_the_front_desk_sysadmin_and_members_reach_nothing(world, who):  # noqa: ANN001
    if who == "member":
        _, state = _tree(
            _member_login("13700000001", customer_id=world["customer"]),
            DestructionState,
            "/destruction",
        )
    else:
        _, state = _page(who)
    redirect = state.load()
    assert redirect is not DestructionState.fetch_all  # sent home with a message
    assert state.rows == [] and not state.can_queue
    before = _candidates()
    assert _toast(state.set_tab("register"), "error", t("error.permission_denied", "en"))
    propose = _dialog(state, ProposeDialogState)
    propose.propose({"customer_number": world["number"], "category": "customer", "note": "无价值"})
    assert propose.propose_error == t("error.permission_denied", "en")
    decision = _dialog(state, DecisionDialogState)
    decision._decision_id, decision.mode = 1, "approve"
    decision.decide({})
    assert decision.decision_error == t("error.permission_denied", "en")
    hold = _dialog(state, HoldDialogState)
    hold._hold_id = 1
    hold.save_hold({"reason": "案件已结"})
    assert hold.hold_error == t("error.permission_denied", "en")
    assert _candidates() == before == []


def test_a_second_person_approves_a_whole_page_through_the_job(world):  # noqa: ANN001
    from custapp.job_runner import Runner
    from custapp.services import destruction
    from custapp.vocab import JobKind

    _, a = _page("comp.a")
    _opened(a)
    for i in range(3):
        with session_scope() as session:
            number = customers.create_customer(
                session,
                actor=system_actor("test"),
                data=customers.CustomerInput(name=f"批量{i}", phone=f"1370000020{i}"),
            ).number
        _dialog(a, ProposeDialogState).propose(
            {"customer_number": number, "category": "customer", "note": "合作终止"}
        )
    decision = _dialog(a, DecisionDialogState)
    for row in list(a.rows):
        decision.open_decision(row.id, "appraise")
        decision.decide({"decision": "destroy"})
    a.set_tab("approval")
    assert a.approvable == 0  # all of them appraised by comp.a
    assert _toast(a.approve_page(), "info", t("destruction.none_to_approve", "en"))

    _, b = _page("comp.b")
    _opened(b)
    b.set_tab("approval")
    assert b.approvable == 3
    result = b.approve_page()
    assert _toast(result, "success", t("destruction.approved_many", "en", count=3))
    assert [r.status_code for r in b.rows] == ["approved"] * 3
    runner = Runner(handlers={JobKind.DESTRUCTION_RUN: destruction.run_job})
    assert runner.run_until_empty() == 1
    b.set_tab("register")
    assert b.total == 3
