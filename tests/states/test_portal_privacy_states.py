"""我的信息与授权 (the member portal's privacy page) called directly, as a browser could call any
public handler with any arguments: the member sees only their own profile, masked; withdraws a
consent into the ledger; files rights requests that always name their own archive; answers a
changed notice; staff are sent away; no state var holds a plaintext phone or ID number."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
import reflex as rx
from helpers import _state_text
from helpers import _tree as tree
from sqlalchemy import func, select

from custapp import clock
from custapp.db import session_scope
from custapp.i18n import t
from custapp.models import AuditEntry, ConsentEvent, ConsentState, PrivacyNotice, RightsRequest
from custapp.pages.portal_privacy import (
    ConsentRow,
    PortalPrivacyState,
    Profile,
    RequestDialogState,
    RequestView,
    WithdrawDialogState,
)
from custapp.security.validators import make_cn_id
from custapp.services import auth, bootstrap, consent, customers, rights
from custapp.services.actor import Actor, system_actor

PASSWORD = "Correct-horse-42"
PHONE = "13912345678"
OTHER_PHONE = "13787654321"
ID_NUMBER = make_cn_id("110105", date(1990, 5, 17), 123)
T0 = datetime(2026, 6, 1, 3, 0, tzinfo=UTC)  # 11:00 in Shanghai


def _staff(username: str, role: str) -> int:
    with session_scope() as session:
        return bootstrap.create_staff_user(
            session,
            actor=system_actor("test"),
            username=username,
            display_name=username,
            roles=[role],
            password=PASSWORD,
        )


@pytest.fixture
def world(db) -> dict:
    clock.set_now(T0)
    ids = {"desk": _staff("front.desk", "front_desk"), "comp": _staff("comp.one", "compliance")}
    with session_scope() as session:
        for name, phone, id_number in (("王会员", PHONE, ID_NUMBER), ("李会员", OTHER_PHONE, "")):
            customer = customers.create_customer(
                session,
                actor=system_actor("test"),
                data=customers.CustomerInput(name=name, phone=phone, id_number=id_number),
            )
            ids[name], ids[f"{name}.number"] = customer.id, customer.number
            consent.record_consents(
                session, actor=system_actor("test"), customer_id=customer.id,
                choices={"care": "grant", "marketing_sms": "refuse"}, evidence_ref="F-1",
            )  # fmt: skip
        bootstrap.create_member_login(
            session, actor=system_actor("test"), phone=PHONE, password=PASSWORD,
            display_name="王会员", customer_id=ids["王会员"],
        )  # fmt: skip
        ids["other_request"] = rights.file_request(
            session, actor=system_actor("test"), customer_id=ids["李会员"], kind="copy",
            channel="counter", detail="李会员要求复制本人资料",
        ).number  # fmt: skip
    return ids


def _tree(token: str, path: str = "/portal/privacy") -> tuple[rx.State, PortalPrivacyState]:
    return tree(token, PortalPrivacyState, path)


def _dialog(state: PortalPrivacyState, cls: type[rx.State]) -> rx.State:
    """One of the page's dialogs, a substate of its state."""
    return state.substates[cls.get_name()]


def _member() -> tuple[rx.State, PortalPrivacyState]:
    with session_scope() as session:
        login = auth.login_member(session, phone=PHONE, password=PASSWORD, ip="10.0.0.6")
    assert login.ok
    root, state = _tree(login.token)
    result = state.load()
    assert result is None or None not in result
    assert state.active_href == "/portal/privacy"  # its menu item alone is lit, not 会员中心 too
    return root, state


def _consent(customer_id: int, purpose: str) -> str:
    with session_scope() as session:
        return session.get(ConsentState, (customer_id, purpose)).state


def test_the_member_sees_their_own_profile_masked(world) -> None:  # noqa: ANN001
    root, state = _member()
    assert state.loaded
    assert state.profile.number == world["王会员.number"]
    assert state.profile.name == "王会员"
    shown = {s.label: s.masked for s in state.sensitive}
    assert shown[t("customer.field.phone", "en")] == "139****5678"
    assert shown[t("customer.field.id_number", "en")] == ID_NUMBER[:3] + "*" * 11 + ID_NUMBER[-4:]
    text = _state_text(root)
    for secret in (PHONE, ID_NUMBER, OTHER_PHONE, world["李会员.number"], "李会员要求复制"):
        assert secret not in text, secret
    with session_scope() as session:
        entry = session.exec(
            select(AuditEntry).where(AuditEntry.action == "member.profile_open")
        ).scalar_one()
    assert entry.customer_id == world["王会员"]


def test_withdrawing_a_consent_lands_in_the_ledger(world) -> None:  # noqa: ANN001
    _, state = _member()
    rows = {c.purpose: c.state for c in state.consents}
    assert rows["care"] == "granted" and rows["marketing_sms"] == "refused"
    assert not state.reconfirm and state.unanswered  # the other purposes were never asked

    withdraw = _dialog(state, WithdrawDialogState)
    assert withdraw.ask_withdraw("marketing_sms") is not None  # not granted: refused at once
    assert not withdraw.is_open
    withdraw.ask_withdraw("care")
    name = next(c.name for c in state.consents if c.purpose == "care")
    assert withdraw.is_open
    assert withdraw.title == t("consent.tab.withdraw_title", "en", purpose=name)
    result = withdraw.withdraw({"customer_id": world["李会员"], "purpose": "marketing_sms"})
    assert result is not None and not isinstance(result, list)
    assert not withdraw.is_open
    assert {c.purpose: c.state for c in state.consents}["care"] == "withdrawn"
    assert _consent(world["王会员"], "care") == "withdrawn"
    assert _consent(world["李会员"], "care") == "granted"  # whatever the browser sent
    with session_scope() as session:
        event = session.exec(
            select(ConsentEvent)
            .where(ConsentEvent.customer_id == world["王会员"])
            .order_by(ConsentEvent.id.desc())
            .limit(1)
        ).scalar_one()
    assert (event.purpose, event.action, event.channel) == ("care", "withdraw", "portal")

    withdraw.withdraw({})  # a second call without asking first withdraws nothing
    assert withdraw.error == t("consent.error.not_granted", "en")


def test_a_request_is_filed_for_the_members_own_archive_only(world) -> None:  # noqa: ANN001
    root, state = _member()
    assert state.total == 0 and state.rows == []

    state.file_request({"detail": "  "})
    assert state.request_errors == {"detail": t("rights.error.detail_required", "en")}

    state.choose_kind("no-such-kind")
    assert state.request_kind == "correction"
    detail = f"我的地址写错了，正确的是北京市海淀区，电话{PHONE}"
    result = state.file_request(
        {"detail": detail, "customer_id": world["李会员"], "kind": "deletion", "channel": "letter"}
    )
    assert isinstance(result, list) and None not in result
    assert state.request_errors == {} and state.request_error == ""
    with session_scope() as session:
        filed = session.exec(
            select(RightsRequest).where(RightsRequest.customer_id != world["李会员"])
        ).scalar_one()
        others = session.exec(
            select(func.count(RightsRequest.id)).where(RightsRequest.customer_id == world["李会员"])
        ).scalar_one()
    assert (filed.customer_id, filed.kind, filed.channel) == (
        world["王会员"],
        "correction",
        "portal",
    )
    assert filed.due_on == date(2026, 6, 1) + timedelta(days=15)
    assert others == 1
    assert state.total == 1
    (row,) = state.rows
    assert (row.number, row.due) == (filed.number, "2026-06-16")
    assert row.kind == t("rights.kind.correction", "en")
    assert row.status == t("rights.status.open", "en")
    assert PHONE not in _state_text(root)  # what was asked stays out of the list

    state.choose_kind("explanation")
    state.file_request({"detail": "请解释会员积分数据的用途"})
    assert [r.kind for r in state.rows] == [
        t("rights.kind.explanation", "en"),
        t("rights.kind.correction", "en"),
    ]

    opened = _dialog(state, RequestDialogState)
    opened.open_request(filed.number)
    assert opened.is_open and opened.request.detail == detail
    opened.close_request()
    assert not opened.is_open and opened.request == RequestView()
    assert PHONE not in _state_text(root)

    assert opened.open_request(world["other_request"]) is not None  # another customer's
    assert not opened.is_open and opened.request == RequestView()


def test_requests_are_paged_on_the_server(world) -> None:  # noqa: ANN001
    _, state = _member()
    for n in range(12):
        state.file_request({"detail": f"第 {n} 个请求"})
    assert state.total == 12 and len(state.rows) == 10 and state.pages == 2
    state.next_page()
    assert state.page == 2 and len(state.rows) == 2


def test_a_changed_notice_asks_the_member_to_confirm_again(world) -> None:  # noqa: ANN001
    compliance = Actor(user_id=world["comp"], name="comp.one", roles=frozenset({"compliance"}))
    with session_scope() as session:
        draft = PrivacyNotice(
            version=2, handler_zh="本店", handler_en="This business", body_zh="第二版告知",
            body_en="Second notice", purposes="service,marketing_sms,care", created_at=clock.now(),
        )  # fmt: skip
        session.add(draft)
        session.flush()
        consent.publish_notice(session, actor=compliance, notice_id=draft.id)
    _, state = _member()
    assert state.reconfirm and state.answer_open
    assert state.notice.version == "2"
    assert [c.code for c in state.choices] == ["marketing_sms", "care"]
    assert {c.purpose: c.reconfirm for c in state.consents}["care"] is True

    state.save_choices({"consent_care": "grant"})
    assert state.answer_errors == {"notice_read": t("portal_privacy.read_required", "en")}
    state.save_choices({"notice_read": "on"})
    assert state.answer_error == t("portal_privacy.answer_one", "en")
    events = _events(world["王会员"])

    result = state.save_choices(
        {"notice_read": "on", "consent_care": "grant", "consent_marketing_sms": "refuse"}
    )
    assert result is not None and not isinstance(result, list)
    assert not state.reconfirm and not state.answer_open and state.answer_errors == {}
    assert _events(world["王会员"]) == events + 2
    assert _consent(world["王会员"], "care") == "granted"
    with session_scope() as session:
        other = session.get(ConsentState, (world["李会员"], "care"))
        assert other.reconfirm_needed  # only the member's own answers were recorded


def test_answers_to_a_notice_replaced_meanwhile_are_not_recorded(world) -> None:  # noqa: ANN001
    _, state = _member()
    assert state.unanswered and not state.answer_open and state.notice.version == "1"
    compliance = Actor(user_id=world["comp"], name="comp.one", roles=frozenset({"compliance"}))
    with session_scope() as session:
        draft = PrivacyNotice(
            version=2, handler_zh="本店", handler_en="This business", body_zh="第二版告知",
            body_en="Second notice", purposes="service,care", created_at=clock.now(),
        )  # fmt: skip
        session.add(draft)
        session.flush()
        consent.publish_notice(session, actor=compliance, notice_id=draft.id)
    events = _events(world["王会员"])
    state.save_choices({"notice_read": "on", "consent_care": "grant"})
    assert state.answer_errors == {"notice_read": t("portal_privacy.notice_changed", "en")}
    assert _events(world["王会员"]) == events


def _events(customer_id: int) -> int:
    with session_scope() as session:
        return session.exec(
            select(func.count(ConsentEvent.id)).where(ConsentEvent.customer_id == customer_id)
        ).scalar_one()


def test_staff_are_sent_away_and_refused(world) -> None:  # noqa: ANN001
    with session_scope() as session:
        login = auth.login_staff(session, username="front.desk", password=PASSWORD, ip="10.0.0.5")
    root, state = _tree(login.token)
    result = state.load()
    assert isinstance(result, list) and None not in result
    assert state.profile == Profile() and state.consents == [] and state.rows == []
    with session_scope() as session:
        requests = session.exec(select(func.count(RightsRequest.id))).scalar_one()
    state.file_request({"detail": "员工代填"})
    assert state.request_error == t("error.permission_denied", "en")
    state.consents = [ConsentRow(purpose="care", name="care", state="granted")]
    withdraw = _dialog(state, WithdrawDialogState)
    withdraw.ask_withdraw("care")
    withdraw.withdraw({})
    assert withdraw.error == t("error.permission_denied", "en")
    with session_scope() as session:
        assert session.exec(select(func.count(RightsRequest.id))).scalar_one() == requests
    assert _consent(world["王会员"], "care") == "granted"
    assert PHONE not in _state_text(root) and OTHER_PHONE not in _state_text(root)


def test_nobody_logged_in_gets_the_login_page(world) -> None:  # noqa: ANN001
    _, state = _tree("")
    result = state.load()
    assert isinstance(result, list) and None not in result
    assert state.profile == Profile() and not state.loaded
