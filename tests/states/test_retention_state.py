"""The 保存期限 page's state called directly, as a browser could call any public handler with any
arguments: compliance sees the rules and proposes a change (a message per field for a bad one),
cannot decide it itself, and a cs_manager approves it in another tab; the front desk is sent
home by the page, and each handler it calls anyway is refused, changes nothing and is
audited."""

from __future__ import annotations

import pytest
from helpers import _staff, _staff_token, _tree
from reflex_base.event import EventSpec
from sqlalchemy import select

from custapp.db import session_scope
from custapp.i18n import t
from custapp.models import AuditEntry, RetentionChange, RetentionRule
from custapp.pages.retention import (
    ChangeRow,
    DecideDialogState,
    ProposeDialogState,
    RetentionState,
)

PATH = "/retention"


@pytest.fixture
def world(db) -> None:  # noqa: ANN001
    _staff("comp.one", "compliance")
    _staff("cs.manager", "cs_manager")
    _staff("desk.one", "front_desk")


def _page(username: str) -> RetentionState:
    _, state = _tree(_staff_token(username), RetentionState, PATH)
    return state


def _opened(username: str) -> RetentionState:
    state = _page(username)
    assert state.load() == RetentionState.fetch_all
    state.fetch_all()
    assert state.loaded
    return state


def _events(result) -> list:  # noqa: ANN001
    return result if isinstance(result, list) else [result]


def _toast(result, kind: str, message: str) -> bool:  # noqa: ANN001
    return any(
        isinstance(e, EventSpec) and f'"{kind}"' in str(e.args) and message in str(e.args)
        for e in _events(result)
    )


def _rule(category: str) -> RetentionRule:
    with session_scope() as session:
        return session.exec(
            select(RetentionRule).where(RetentionRule.category == category)
        ).scalar_one()


def _propose_dialog(state: RetentionState) -> ProposeDialogState:
    return state.substates[ProposeDialogState.get_name()]


def _decide_dialog(state: RetentionState) -> DecideDialogState:
    return state.substates[DecideDialogState.get_name()]


def test_compliance_proposes_and_a_cs_manager_approves(world):
    officer = _opened("comp.one")
    assert officer.can_manage and officer.can_approve
    assert [r.category for r in officer.rules][:2] == ["customer_archive", "orders_ledgers"]
    archive = officer.rules[0]
    assert (archive.name, archive.period, archive.action) == (
        "Customer archive",
        "36 months (3 years)",
        "Destroy",
    )
    assert officer.pending == [] and officer.total == 0

    dialog = _propose_dialog(officer)
    dialog.open_propose("orders_ledgers")
    assert dialog.is_open and [a.value for a in dialog.actions] == ["anonymise"]
    dialog.open_propose("customer_archive")
    assert dialog.months == "36" and dialog.action == "destroy"
    assert [a.value for a in dialog.actions] == ["destroy", "anonymise"]
    assert dialog.save_propose({"period_months": "0", "basis": " "}) is None
    assert dialog.errors == {
        "period_months": t("retention.error.period_range", "en"),
        "basis": t("retention.error.basis_required", "en"),
    }
    assert dialog.is_open
    result = dialog.save_propose({"period_months": "24", "basis": "两年足以处理售后", "reason": ""})
    assert _toast(result, "success", t("retention.proposed", "en"))
    assert not dialog.is_open and officer.rules[0].pending
    [mine] = officer.pending
    assert mine.mine and "36 months (3 years), then destroyed" in mine.change
    assert "24 months (2 years), then destroyed" in mine.change

    # the proposer's own tab cannot decide it, whatever it sends
    decide = _decide_dialog(officer)
    decide.open_decide(mine.id)
    decide.approve()
    assert decide.error == t("retention.error.own_change", "en")
    assert _rule("customer_archive").period_months == 36

    manager = _opened("cs.manager")
    assert not manager.can_manage and manager.can_approve
    [theirs] = manager.pending
    assert not theirs.mine
    decide = _decide_dialog(manager)
    decide.open_decide(theirs.id)
    assert decide.is_open and decide.change.id == theirs.id
    decide.reject()  # a rejection needs its reason
    assert decide.note_error == t("retention.error.note_required", "en") and decide.is_open
    result = decide.approve()
    assert _toast(result, "success", "Approved and applied")
    assert not decide.is_open and manager.pending == []
    assert manager.rules[0].period == "24 months (2 years)" and manager.total == 1
    assert manager.history[0].status_code == "approved"
    assert manager.history[0].notice.startswith("Draft notice version")
    assert _rule("customer_archive").period_months == 24


def test_the_front_desk_is_refused_everywhere(world):
    officer = _opened("comp.one")
    dialog = _propose_dialog(officer)
    dialog.open_propose("service_log")
    dialog.save_propose({"period_months": "12", "basis": "一年足够"})
    with session_scope() as session:
        change_id = session.exec(select(RetentionChange.id)).scalar_one()

    desk = _page("desk.one")
    result = desk.load()
    assert _toast(result, "error", t("error.page_denied", "en"))
    assert desk.rules == [] and not desk.can_manage and not desk.can_approve

    propose = _propose_dialog(desk)
    propose.category, propose.action = "complaints", "destroy"
    propose.save_propose({"period_months": "1", "basis": "随便"})
    denied = t("error.permission_denied", "en")
    assert propose.error == denied
    decide = _decide_dialog(desk)
    decide.change = ChangeRow(id=change_id)
    decide.approve()
    assert decide.error == denied
    desk.fetch_all()
    assert desk.rules == [] and desk.pending == [] and desk.history == []

    assert _rule("complaints").period_months == 36
    assert _rule("service_log").period_months == 36
    with session_scope() as session:
        assert session.get(RetentionChange, change_id).status == "pending"
        denials = session.exec(
            select(AuditEntry.action).where(AuditEntry.outcome == "denied")
        ).scalars()
        actions = set(denials)
    assert {
        "page.open:/retention",
        "retention.propose_change",
        "retention.decide_change",
        "retention.list_rules",
    } <= actions
