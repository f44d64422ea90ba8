"""The 审计日志 page names the issue-16 actions (sealing, re-anchoring, destruction, backups,
retention, legal holds) in the reader's language; other actions show their code only."""

from __future__ import annotations

from datetime import timedelta

from helpers import _staff_login, _tree

from custapp import clock
from custapp.db import session_scope
from custapp.pages.audit import AuditState
from custapp.services import audit, audit_anchors
from custapp.services.actor import system_actor
from custapp.states.session import SessionState


def _labels(locale: str) -> dict[str, str]:
    root, state = _tree(_staff_login(f"auditor.{locale.lower()}", "auditor"), AuditState, "/audit")
    root.substates[SessionState.get_name()].locale = locale
    assert state.load() is None
    return {row.action: row.action_label for row in state.rows}


def test_sealing_and_issue_16_actions_have_labels_other_actions_none(db):
    clock.set_now(clock.now() - timedelta(days=400))
    with session_scope() as session:
        audit.record(session, actor=system_actor("test"), action="test.event")
        audit.record(session, actor=system_actor("test"), action="customer.destroy")
    clock.set_now(None)
    assert audit_anchors.seal_before(session_scope, clock.now()) == 2
    with session_scope() as session:
        audit.record(session, actor=system_actor("test"), action="legal_hold.set")
        audit.record(session, actor=system_actor("test"), action="test.event")
    zh = _labels("zh_CN")
    assert zh["audit.seal"] == "审计日志分段封存"
    assert zh["legal_hold.set"] == "设置诉讼保留"
    assert zh["test.event"] == ""
    assert _labels("en")["audit.seal"] == "Audit log segment sealed"
