"""The counter's consent step and the profile's 授权同意 tab, their states called directly: a new
customer is saved only with the notice shown and together with the answers (one transaction,
every message at once); the tab shows the state and the events, records and withdraws (a queued
message for the purpose is cancelled); roles without consent.record are refused by every
handler, called anyway; and no state var ever holds the customer's phone."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
import reflex as rx
import run_async
from helpers import _staff, _staff_token, _state_text
from reflex.istate.data import RouterData
from sqlalchemy import func, select

from custapp import clock
from custapp.db import session_scope
from custapp.i18n import t
from custapp.models import (
    ConsentEvent,
    ConsentState,
    Customer,
    NoticeServing,
    OutboxMessage,
    PrivacyNotice,
)
from custapp.pages.customer_form import CustomerFormState
from custapp.pages.customer_profile import ProfileState
from custapp.pages.customer_profile.consents import ConsentTabState
from custapp.services import attachments, consent, customers, outbox
from custapp.services.actor import Actor, system_actor
from custapp.states.session import SessionState

PHONE, NEW_PHONE = "13912345678", "13700001111"
NAME = "同意测试客户"
FORM_NO = "GZ-2026-0001"
USERS = {
    "front.desk": "front_desk",
    "the.compliance": "compliance",
    "the.auditor": "auditor",
    "root.admin": "sysadmin",
}
CHOOSABLE = [
    "marketing_sms",
    "marketing_phone",
    "marketing_email",
    "care",
    "analytics",
    "third_party",
    "sensitive",
]


@pytest.fixture
def world(db) -> dict[str, int]:
    ids = {username: _staff(username, role) for username, role in USERS.items()}
    with session_scope() as session:
        ids["customer"] = customers.create_customer(
            session,
            actor=system_actor("test"),
            data=customers.CustomerInput(name=NAME, phone=PHONE),
        ).id
    return ids


def _router(path: str, **params: str) -> RouterData:
    return RouterData.from_router_data(
        {
            "pathname": path,
            "asPath": path.replace("[cid]", params.get("cid", "")),
            "query": params,
            "headers": {"origin": "http://localhost:3000"},
        }
    )


def _root(username: str) -> rx.State:
    root = rx.State(_reflex_internal_init=True)
    session_state = root.substates[SessionState.get_name()]
    session_state.token, session_state.locale = _staff_token(username), "en"
    return root


def _sub(root: rx.State, cls: type[rx.State]) -> rx.State:
    return root.get_substate(cls.get_full_name().split("."))


def _new_form(username: str = "front.desk") -> tuple[rx.State, CustomerFormState]:
    root = _root(username)
    form = _sub(root, CustomerFormState)
    form.router = _router("/customers/new")
    assert form.load() is None
    return root, form


def _tab(username: str, customer_id: int) -> tuple[rx.State, ProfileState, ConsentTabState]:
    """The profile opened on the customer (for a role without customer.read: as if its state
    had been given the customer anyway), then the tab mounted."""
    root = _root(username)
    profile, tab = _sub(root, ProfileState), _sub(root, ConsentTabState)
    profile.router = _router("/customers/[cid]", cid=str(customer_id))
    profile.load()
    profile.cid = customer_id
    tab.router = profile.router
    return root, profile, tab


def _load(tab: ConsentTabState):  # noqa: ANN202
    return run_async.run(tab.load())


def _counts() -> tuple[int, int, int, int]:
    with session_scope() as session:
        return tuple(
            session.exec(select(func.count()).select_from(table)).scalar_one()
            for table in (Customer, ConsentEvent, NoticeServing, ConsentState)
        )


def _events(customer_id: int) -> list[tuple]:
    with session_scope() as session:
        return [
            (e.purpose, e.action, e.notice_version, e.channel, e.evidence_ref, e.operator_name)
            for e in session.exec(
                select(ConsentEvent)
                .where(ConsentEvent.customer_id == customer_id)
                .order_by(ConsentEvent.id)
            ).scalars()
        ]


def _created(name: str) -> int | None:
    with session_scope() as session:
        return session.exec(select(Customer.id).where(Customer.name == name)).scalar_one_or_none()


def _toasts(result, message: str) -> bool:  # noqa: ANN001
    events = result if isinstance(result, list) else [result]
    return any("__toast" in str(e.args) and message in str(e.args) for e in events)


def _answers(**choices: str) -> dict[str, str]:
    return {f"consent_{purpose}": action for purpose, action in choices.items()}


# --- the create form ------------------------------------------------------------------------


def test_the_create_form_shows_the_current_notice_and_each_purpose(world):
    _, form = _new_form()
    assert form.notice.version == "1"
    assert form.notice.version_zh == "第 1 版" and form.notice.version_en == "v1"
    assert "个人信息保护法" in form.notice.body_zh and form.notice.handler_zh
    # consent-based purposes only, in the notice's order: service rests on the contract
    assert [c.code for c in form.consent_choices] == CHOOSABLE


def test_the_customer_and_the_answers_are_saved_together(world):
    root, form = _new_form()
    result = form.submit(
        {
            "name": "柜台新客户",
            "phone": NEW_PHONE,
            "notice_shown": "on",
            "evidence_ref": FORM_NO,
            **_answers(marketing_sms="grant", care="grant", analytics="refuse"),
        }
    )
    assert form.form_error == "" and form.errors == {} and isinstance(result, list)
    cid = _created("柜台新客户")
    assert cid is not None
    assert _events(cid) == [
        ("analytics", "refuse", 1, "counter", FORM_NO, "front.desk"),
        ("care", "grant", 1, "counter", FORM_NO, "front.desk"),
        ("marketing_sms", "grant", 1, "counter", FORM_NO, "front.desk"),
    ]
    with session_scope() as session:
        serving = session.exec(
            select(NoticeServing).where(NoticeServing.customer_id == cid)
        ).scalar_one()
        assert (serving.notice_version, serving.evidence_ref) == (1, FORM_NO)
        assert consent.permits(session, customer_id=cid, purpose="marketing_sms")
        assert not consent.permits(session, customer_id=cid, purpose="analytics")
        assert not consent.permits(session, customer_id=cid, purpose="marketing_phone")
    assert NEW_PHONE not in _state_text(root)


def test_every_missing_piece_is_named_at_once_and_nothing_is_saved(world):
    _, form = _new_form()
    before = _counts()
    result = form.submit(
        {"name": "", "phone": NEW_PHONE, **_answers(marketing_sms="grant")}  # no name either
    )
    assert result is None
    assert form.form_error == t("form.has_errors", "en")
    assert form.errors == {
        "name": t("validation.required", "en"),
        "notice_shown": t("consent.counter.notice_required", "en"),
        "evidence_ref": t("consent.counter.evidence_required", "en"),
    }
    assert _counts() == before


def test_a_consent_refused_by_the_service_takes_the_new_customer_back_too(world):
    _, form = _new_form()
    before = _counts()
    result = form.submit(
        {
            "name": "回滚测试",
            "phone": NEW_PHONE,
            "notice_shown": "on",
            "evidence_ref": "F" * (consent.EVIDENCE_MAX + 1),
            **_answers(care="grant"),
        }
    )
    assert result is None
    assert form.errors == {"evidence_ref": t("consent.error.evidence_too_long", "en")}
    assert _counts() == before and _created("回滚测试") is None


def test_the_notice_must_have_been_shown_even_when_nothing_is_answered(world):
    _, form = _new_form()
    before = _counts()
    assert form.submit({"name": "未告知", "phone": NEW_PHONE}) is None
    assert form.errors == {"notice_shown": t("consent.counter.notice_required", "en")}
    assert _counts() == before
    # shown, nothing answered, no form number: the customer only, no consent recorded
    assert isinstance(
        form.submit({"name": "未告知", "phone": NEW_PHONE, "notice_shown": "on"}), list
    )
    cid = _created("未告知")
    assert cid is not None and _events(cid) == []
    customers_before, events_before, servings_before, _ = _counts()
    # shown with the signed form but every purpose skipped: the serving is on record, no event
    _, form = _new_form()
    result = form.submit(
        {"name": "只签告知", "phone": "13700002222", "notice_shown": "on", "evidence_ref": FORM_NO}
    )
    assert isinstance(result, list)
    assert _counts()[:3] == (customers_before + 1, events_before, servings_before + 1)


def test_a_notice_published_after_the_form_opened_is_not_taken_as_shown(world):
    _, form = _new_form()
    with session_scope() as session:
        draft = PrivacyNotice(
            version=2,
            handler_zh="本店",
            handler_en="This business",
            body_zh="第二版",
            body_en="Second",
            purposes="service,marketing_sms,care",
            created_at=clock.now(),
        )
        session.add(draft)
        session.flush()
        compliance = Actor(
            user_id=world["the.compliance"],
            name="the.compliance",
            roles=frozenset({"compliance"}),
        )
        consent.publish_notice(session, actor=compliance, notice_id=draft.id)
    before = _counts()
    result = form.submit(
        {
            "name": "旧版告知",
            "phone": NEW_PHONE,
            "notice_shown": "on",
            "evidence_ref": FORM_NO,
            **_answers(care="grant"),
        }
    )
    assert result is None
    assert form.errors == {"notice_shown": t("consent.counter.notice_changed", "en")}
    assert _counts() == before
    # the form now shows the version in force and its purposes
    assert form.notice.version == "2"
    assert [c.code for c in form.consent_choices] == ["marketing_sms", "care"]


def test_the_duplicate_warning_still_comes_first(world):
    _, form = _new_form()
    before = _counts()
    assert form.submit({"name": "重复", "phone": PHONE, "notice_shown": "on"}) is None
    assert [d.name for d in form.duplicates] == [NAME]
    assert _counts() == before


# --- the tab ----------------------------------------------------------------------------------


def _grant(customer_id: int, **choices: str) -> None:
    with session_scope() as session:
        desk = Actor(user_id=None, name="front.desk", roles=frozenset({"front_desk"}))
        consent.record_consents(
            session, actor=desk, customer_id=customer_id, choices=choices, evidence_ref=FORM_NO
        )


def _queue_marketing_sms(customer_id: int) -> int:
    with session_scope() as session:
        customer = session.get(Customer, customer_id)
        return outbox.queue_message(
            session,
            channel="sms",
            purpose="marketing_sms",
            customer_id=customer_id,
            customer_key_id=customer.data_key_id,
            recipient=PHONE,
            subject="春季活动",
            body="本周末会员日",
        )


def _status(message_id: int) -> str:
    with session_scope() as session:
        return session.get(OutboxMessage, message_id).status


def test_the_tab_shows_the_state_per_purpose_and_the_events(world):
    cid = world["customer"]
    clock.set_now(datetime(2026, 5, 1, 2, 0, tzinfo=UTC))
    _grant(cid, marketing_sms="grant", care="grant", analytics="refuse")
    root, _, tab = _tab("front.desk", cid)
    assert _load(tab) is None
    assert tab.loaded and tab.can_record
    states = {s.purpose: (s.state, s.label, s.version) for s in tab.states}
    assert list(states) == CHOOSABLE
    assert states["marketing_sms"] == ("granted", "Granted", "v1")
    assert states["analytics"] == ("refused", "Refused", "v1")
    assert states["marketing_phone"] == ("", "Not asked", "—")
    assert tab.total == 3
    assert [(r.purpose, r.action_label, r.version) for r in tab.rows] == [
        ("Marketing by SMS", "Agree", "v1"),
        ("Care greetings", "Agree", "v1"),
        ("Analytics and profiling", "Refuse", "v1"),
    ]
    row = tab.rows[0]
    assert row.time == "2026-05-01 10:00:00"  # Asia/Shanghai, not UTC
    assert (row.channel, row.evidence, row.operator) == ("Counter", FORM_NO, "front.desk")
    assert PHONE not in _state_text(root)


def test_withdrawing_cancels_the_queued_message_for_that_purpose(world):
    cid = world["customer"]
    _grant(cid, marketing_sms="grant", care="grant")
    message = _queue_marketing_sms(cid)
    root, _, tab = _tab("front.desk", cid)
    _load(tab)
    tab.ask_withdraw("marketing_sms", "Marketing by SMS")
    assert tab.withdraw_open
    assert _toasts(tab.withdraw({"channel": "phone"}), "Withdrawn: Marketing by SMS")
    assert not tab.withdraw_open
    assert _status(message) == "cancelled"
    assert _events(cid)[-1][:4] == ("marketing_sms", "withdraw", 1, "phone")
    assert tab.rows[0].action_label == "Withdraw" and tab.total == 3
    assert {s.purpose: s.state for s in tab.states}["marketing_sms"] == "withdrawn"
    # withdrawing what is no longer granted: the message in the dialog, nothing appended
    tab.ask_withdraw("marketing_sms", "Marketing by SMS")
    assert tab.withdraw({"channel": "counter"}) is None
    assert tab.withdraw_error == t("consent.error.not_granted", "en")
    assert len(_events(cid)) == 3
    assert PHONE not in _state_text(root)


def test_recording_for_an_existing_customer_with_a_scan_as_evidence(world):
    cid = world["customer"]
    with session_scope() as session:
        desk = Actor(
            user_id=world["front.desk"], name="front.desk", roles=frozenset({"front_desk"})
        )
        scan = attachments.add_attachment(
            session,
            actor=desk,
            customer_id=cid,
            category="consent_form",
            paper_location="柜台档案柜 3 号",
        )
        attachments.add_attachment(
            session, actor=desk, customer_id=cid, category="contract", paper_location="柜台"
        )
    _, _, tab = _tab("front.desk", cid)
    _load(tab)
    assert tab.open_record() is None and tab.record_open
    assert tab.notice.version == "1" and [c.code for c in tab.choices] == CHOOSABLE
    assert [s.id for s in tab.scans] == [str(scan.id)]  # consent forms only
    # nothing answered, nothing ticked: refused in the dialog
    assert tab.record({"attachment_id": "none"}) is None
    assert tab.form_error == t("consent.tab.answer_one", "en")
    assert tab.errors == {"notice_shown": t("consent.counter.notice_required", "en")}
    result = tab.record(
        {"notice_shown": "on", "attachment_id": str(scan.id), **_answers(care="refuse")}
    )
    assert _toasts(result, t("consent.tab.recorded", "en"))
    assert not tab.record_open and tab.total == 1
    assert tab.rows[0].evidence == "Scan"
    with session_scope() as session:
        event = session.exec(select(ConsentEvent).where(ConsentEvent.customer_id == cid)).one()[0]
        assert (event.purpose, event.action, event.attachment_id) == ("care", "refuse", scan.id)


# --- roles without consent.record -----------------------------------------------------------


def test_compliance_reads_the_tab_but_every_write_is_refused(world):
    cid = world["customer"]
    _grant(cid, marketing_sms="grant")
    message = _queue_marketing_sms(cid)
    root, _, tab = _tab("the.compliance", cid)
    _load(tab)
    assert not tab.can_record and tab.total == 1  # customer.read: the tab, read-only
    before = _counts()
    denied = t("error.permission_denied", "en")
    tab.ask_withdraw("marketing_sms", "Marketing by SMS")
    assert tab.withdraw({"channel": "counter"}) is None and tab.withdraw_error == denied
    tab.open_record()
    result = tab.record(
        {"notice_shown": "on", "evidence_ref": FORM_NO, **_answers(analytics="grant")}
    )
    assert result is None and tab.form_error == denied
    assert _counts() == before and _status(message) == "queued"
    assert PHONE not in _state_text(root)


@pytest.mark.parametrize("username", ["the.auditor", "root.admin"])
def test_roles_without_customer_data_get_nothing_and_change_nothing(world, username):
    cid = world["customer"]
    _grant(cid, marketing_sms="grant")
    message = _queue_marketing_sms(cid)
    root, _, tab = _tab(username, cid)
    denied = t("error.permission_denied", "en")
    assert _toasts(_load(tab), denied)
    assert tab.states == [] and tab.rows == [] and tab.total == 0 and not tab.can_record
    before = _counts()
    tab.ask_withdraw("marketing_sms", "x")
    assert tab.withdraw({"channel": "counter"}) is None and tab.withdraw_error == denied
    assert tab.open_record() is None  # the notice is public text; the scans are not listed
    assert tab.scans == []
    tab.record({"notice_shown": "on", "evidence_ref": FORM_NO, **_answers(care="grant")})
    assert tab.form_error == denied
    form = _sub(root, CustomerFormState)
    assert form.submit({"name": "新客户", "phone": NEW_PHONE, "notice_shown": "on"}) is None
    assert form.form_error == denied
    assert _counts() == before and _status(message) == "queued"
    text = _state_text(root)
    for value in (PHONE, NAME, "139****5678"):
        assert value not in text
