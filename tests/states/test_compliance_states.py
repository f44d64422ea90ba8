"""合规管理 page state called directly, as any browser may call any public handler with any
arguments: compliance sees the figures, edits a purpose and publishes a draft (with the number of
customers to re-confirm before it is published); every other role is sent home, and each handler
called anyway is refused, changes nothing and is audited."""

from __future__ import annotations

import dataclasses

import pytest
import reflex as rx
from helpers import _member, _member_token, _staff, _staff_token
from reflex_base.event import EventSpec
from sqlalchemy import select

from custapp.db import session_scope
from custapp.i18n import t
from custapp.models import AuditEntry, ConsentState, PrivacyNotice, Purpose
from custapp.pages.compliance import (
    ComplianceState,
    Kpis,
    NoticeText,
    NoticeView,
    NoticeViewState,
    PublishConfirmState,
    PurposeDialogState,
    PurposeRow,
)
from custapp.services import compliance, consent, customers
from custapp.services.actor import Actor, system_actor
from custapp.states.session import SessionState

MEMBER_PHONE = "13700000009"
OTHER_ROLES = ("front_desk", "cs_manager", "auditor", "sysadmin", "member")


def _logged_in(login: str, *, member: bool = False) -> tuple[rx.State, ComplianceState]:
    """A fresh state tree, as the memory state manager builds one per browser tab."""
    token = _member_token(login) if member else _staff_token(login)
    root = rx.State(_reflex_internal_init=True)
    session_state = root.substates[SessionState.get_name()]
    state = session_state.substates[ComplianceState.get_name()]
    assert isinstance(state, ComplianceState)
    session_state.token = token
    session_state.locale = "en"
    return root, state


def _dialog(state: ComplianceState, cls: type[rx.State]) -> rx.State:
    """One of the page's dialogs, a substate of its state."""
    return state.substates[cls.get_name()]


@pytest.fixture
def world(db) -> dict[str, int]:
    """Two customers: one agreed to SMS marketing and care, one refused SMS marketing."""
    ids = {"officer": _staff("comp.officer", "compliance")}
    with session_scope() as session:
        for name, phone, choices in (
            ("甲", "13800000001", {"marketing_sms": "grant", "care": "grant"}),
            ("乙", "13800000002", {"marketing_sms": "refuse"}),
        ):
            ref = customers.create_customer(
                session,
                actor=system_actor("test"),
                data=customers.CustomerInput(name=name, phone=phone),
            )
            consent.record_consents(
                session,
                actor=system_actor("test"),
                customer_id=ref.id,
                choices=choices,
                evidence_ref="F-1",
            )
            ids[name] = ref.id
    return ids


def _events(result) -> list:
    return result if isinstance(result, list) else [result]


def _toasts(result, message: str) -> bool:
    return any(
        isinstance(e, EventSpec)
        and "__toast" in str(e.args)
        and '"error"' in str(e.args)
        and message in str(e.args)
        for e in _events(result)
    )


def _opened(state: ComplianceState) -> None:
    assert state.load() == ComplianceState.fetch_all
    state.fetch_all()
    assert state.loaded


def _row(rows: list, code: str):  # noqa: ANN202 (a row of either list)
    return next(r for r in rows if r.code == code)


def test_compliance_sees_the_figures_and_edits_a_purpose(world):
    _, state = _logged_in("comp.officer")
    _opened(state)
    assert state.kpi.notice == "Version 1" and state.kpi.reconfirm == 0
    sms = _row(state.matrix, "marketing_sms")
    assert (sms.granted, sms.refused, sms.withdrawn) == (1, 1, 0)
    assert _row(state.matrix, "service").consent is False
    assert _row(state.matrix, "cross_border").note == "Disabled"
    assert state.notice_rows[0].status_label == "Current"

    purpose = _dialog(state, PurposeDialogState)
    purpose.open_purpose("care")
    assert purpose.is_open and purpose.edit.name_zh == "关怀问候"
    assert [b.value for b in purpose.bases] == ["consent", "separate_consent"]
    form = {
        "name_zh": "",
        "name_en": "Care greetings",
        "description_zh": "生日问候",
        "description_en": "Birthday greetings",
    }
    assert purpose.save_purpose(form) is None
    assert purpose.errors == {"name_zh": "Required"} and purpose.is_open
    purpose.set_purpose_enabled(False)
    purpose.save_purpose({**form, "name_zh": "生日关怀"})
    assert not purpose.is_open
    care = _row(state.purpose_rows, "care")
    assert (care.name, care.enabled) == ("Care greetings", False)
    with session_scope() as session:
        stored = session.get(Purpose, "care")
        assert (stored.name_zh, stored.enabled) == ("生日关怀", False)
        assert not consent.permits(session, customer_id=world["甲"], purpose="care")
    assert _row(state.matrix, "care").note == "Disabled"


def test_compliance_drafts_and_publishes_a_version_through_the_handlers(world):
    _, state = _logged_in("comp.officer")
    _opened(state)
    state.new_draft()
    assert state.editor_open and state.draft_version == 2 and state.draft_label == "Version 2"
    assert "analytics" in state.draft_purposes
    state.toggle_purpose("service")  # always in the notice: nothing to untick
    state.toggle_purpose("analytics")
    assert "analytics" not in state.draft_purposes

    # what is on the screen is saved before publishing: a bad value stops there
    state.keep("body_en", "We process your data.")
    confirm = _dialog(state, PublishConfirmState)
    assert confirm.ask_publish() is None
    assert not confirm.is_open
    assert state.draft_errors == {"body_en": t("compliance.error.withdraw_missing_en", "en")}

    state.keep("body_en", "You may withdraw consent at any time.")
    state.keep("handler_en", "Example Shop, 1 Main Street, Beijing")
    confirm.ask_publish()
    assert confirm.is_open and confirm.title == "Publish version 2 of the privacy notice?"
    lines = " ".join(confirm.lines)
    assert "Purposes taken out: Analytics and profiling" in lines
    assert "1 customers who agreed before" in lines
    with session_scope() as session:
        draft = session.get(PrivacyNotice, state.draft_id)
        assert draft.status == "draft" and draft.handler_en.startswith("Example Shop")
        assert "analytics" not in consent.notice_purposes(draft)

    events = _events(confirm.publish())
    assert ComplianceState.send_notices in events  # the change notices, in the background
    assert not confirm.is_open and not state.editor_open and state.draft_id == 0
    assert state.kpi.notice == "Version 2" and state.kpi.reconfirm == 1
    assert state.kpi.to_queue == 1 and state.to_queue == 1
    with session_scope() as session:
        assert consent.current_notice(session).version == 2
        flagged = session.exec(
            select(ConsentState.customer_id).where(ConsentState.reconfirm_needed).distinct()
        ).scalars()
        assert list(flagged) == [world["甲"]]


def test_a_draft_can_be_continued_and_discarded(world):
    _, state = _logged_in("comp.officer")
    _opened(state)
    state.new_draft()
    state.save_draft({**dataclasses.asdict(state.draft), "handler_zh": "某某店（北京）"})
    state.close_editor()
    _opened(state)  # a later visit finds the draft
    assert state.draft_id and not state.editor_open
    assert state.notice_rows[0].status == "draft"
    state.edit_draft()
    assert state.editor_open and state.draft.handler_zh == "某某店（北京）"
    state.discard_draft()
    assert state.draft_id == 0 and not state.editor_open
    with session_scope() as session:
        assert session.exec(select(PrivacyNotice.status)).scalars().all() == ["published"]


def _snapshot() -> tuple:
    with session_scope() as session:
        purposes = session.exec(select(Purpose)).scalars().all()
        notices = session.exec(select(PrivacyNotice)).scalars().all()
        return (
            sorted((p.code, p.name_zh, p.lawful_basis, p.enabled) for p in purposes),
            sorted((n.id, n.version, n.status, n.handler_zh, n.purposes) for n in notices),
        )


def _denials(user_id: int) -> list[str]:
    with session_scope() as session:
        return list(
            session.exec(
                select(AuditEntry.action)
                .where(AuditEntry.actor_id == user_id, AuditEntry.outcome == "denied")
                .order_by(AuditEntry.seq)
            ).scalars()
        )


@pytest.mark.parametrize("role", OTHER_ROLES)
def test_other_roles_are_sent_home_and_every_handler_refuses(world, role):
    officer = Actor(user_id=world["officer"], name="comp.officer", roles=frozenset({"compliance"}))
    with session_scope() as session:
        draft = compliance.create_draft(session, actor=officer)
    if role == "member":
        user_id = _member(MEMBER_PHONE)
        _, state = _logged_in(MEMBER_PHONE, member=True)
    else:
        user_id = _staff(f"someone.{role}", role)
        _, state = _logged_in(f"someone.{role}")
    before = _snapshot()
    denied = t("error.permission_denied", "en")

    events = _events(state.load())
    assert _toasts(events, t("error.page_denied", "en"))
    home = "/portal" if role == "member" else "/"
    redirects = [str(e.args) for e in events if e.handler.fn.__qualname__ == "_redirect"]
    assert len(redirects) == 1 and f'"{home}"' in redirects[0], redirects

    # called anyway, with whatever a browser could put into the page's state
    assert _toasts(state.fetch_all(), denied)
    assert state.kpi == Kpis() and state.matrix == [] and state.notice_rows == []
    purpose = _dialog(state, PurposeDialogState)
    purpose.edit, purpose.basis, purpose.enabled = (
        PurposeRow(code="marketing_sms"),
        "consent",
        False,
    )
    purpose.save_purpose({"name_zh": "x", "name_en": "x"})
    assert purpose.error == denied
    assert _toasts(state.new_draft(), denied)
    state.draft_id, state.draft = draft.id, NoticeText(handler_zh="x", body_zh="撤回")
    state.save_draft({"handler_zh": "x", "handler_en": "x", "body_zh": "撤回", "body_en": "x"})
    assert state.draft_error == denied
    assert _toasts(_dialog(state, PublishConfirmState).publish(), denied)
    assert _toasts(state.discard_draft(), denied)
    viewer = _dialog(state, NoticeViewState)
    assert _toasts(viewer.open_view(str(draft.id)), denied)
    assert viewer.notice == NoticeView()

    assert _snapshot() == before
    opened, *refused = _denials(user_id)
    assert opened.startswith("page.open:")
    assert refused == [
        "compliance.overview",
        "compliance.list_purposes",
        "compliance.list_notices",
        "compliance.update_purpose",
        "compliance.create_draft",
        "compliance.update_draft",
        "compliance.publish_draft",
        "compliance.discard_draft",
        "compliance.get_notice",
    ]
