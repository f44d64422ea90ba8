"""The 积分与储值 tab and 会员中心 called directly, as a browser could call any public handler with
any arguments: the front desk issues a card and tops up, but 退卡 and points adjustments are
refused by the services whatever the page shows; the one-time code leaves the state when its
dialog closes and no state holds the phone; a member's portal reads only the member's own card."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
import reflex as rx
from helpers import _member, _member_token, _staff, _staff_token, _state_text, _tree
from sqlalchemy import func, select

from custapp import clock
from custapp.components.membership import CardSummary
from custapp.db import session_scope
from custapp.i18n import t
from custapp.models import ApprovalRequest, MemberCard, PointsEntry, StoredValueEntry, User
from custapp.pages.customer_profile.membership import MembershipTabState
from custapp.pages.portal import PortalState
from custapp.services import customers, membership
from custapp.services.actor import system_actor

PHONE = "13912345678"
OTHER_PHONE = "13787654321"


@pytest.fixture
def world(db) -> dict:
    clock.set_now(datetime(2026, 6, 1, 3, 0, tzinfo=UTC))
    _staff("front.desk", "front_desk")
    ids = {}
    with session_scope() as session:
        for name, phone in (("王会员", PHONE), ("李会员", OTHER_PHONE)):
            ids[name] = customers.create_customer(
                session,
                actor=system_actor("test"),
                data=customers.CustomerInput(name=name, phone=phone),
            ).id
        membership.issue_card(
            session, actor=system_actor("test"), customer_id=ids["李会员"], tier_code="gold",
            application_signed=True, first_topup_fen=60000, topup_method="cash", fee_method="cash",
        )  # fmt: skip
    _member(PHONE, customer_id=ids["王会员"], display_name="王会员")
    return ids


def _desk(customer_id: int) -> tuple[rx.State, MembershipTabState]:
    token = _staff_token("front.desk")
    root, state = _tree(token, MembershipTabState, f"/customers/{customer_id}")
    state._cid = customer_id  # what load() takes from the profile on the server
    state._fetch_all()
    return root, state


def _count(model) -> int:  # noqa: ANN001
    with session_scope() as session:
        return session.exec(select(func.count()).select_from(model)).scalar_one()


def test_front_desk_issues_and_tops_up_but_cannot_close_or_adjust(world) -> None:  # noqa: ANN001
    root, state = _desk(world["王会员"])
    assert state.summary.has_card is False and state.total == 0
    state.open_action("issue")
    assert [tier.code for tier in state.tiers] == ["ordinary", "silver", "gold", "diamond"]
    state.submit_action({"tier": "silver", "amount": "80", "method": "cash", "fee_method": "cash"})
    assert state.errors == {
        "amount": t("membership.error.topup_below_minimum", "en"),
        "confirmed": t("membership.error.application_unsigned", "en"),
    }
    assert _count(MemberCard) == 1  # only 李会员's
    state.submit_action(
        {
            "tier": "silver",
            "amount": "200",
            "method": "cash",
            "fee_method": "cash",
            "confirmed": "on",
        }
    )
    assert state.confirm_text == t(
        "membership.confirm.issue", "en", amount="¥200.00", fee="¥10.00", balance="¥200.00"
    )
    assert _count(MemberCard) == 1  # nothing before 确认
    state.confirm_action()
    assert state.action == "" and state.summary.balance == "¥200.00"
    state.open_action("topup")
    assert state.submit_action({"amount": "50.5", "method": "wechat"}) is None
    result = state.confirm_action()
    assert result and None not in result  # Reflex refuses a handler's list holding None
    assert state.summary.balance == "¥250.50" and state.total == 2

    entries, points = _count(StoredValueEntry), _count(PointsEntry)
    for action, form in (
        ("close", {"method": "cash", "reason": "客户要求退卡"}),
        ("adjust", {"points": "500", "reason": "活动赠送积分"}),
    ):
        state.open_action(action)  # the page hides these buttons; the handler is still there
        state.submit_action(form)
        assert state.action_error == t("error.permission_denied", "en"), action
    assert (_count(StoredValueEntry), _count(PointsEntry)) == (entries, points)
    assert state.summary.has_card is True
    assert PHONE not in _state_text(root)


def test_the_code_leaves_the_state_when_its_dialog_closes(world) -> None:  # noqa: ANN001
    root, state = _desk(world["李会员"])
    state.open_code()
    state.issue_code({})
    assert state.identity_error == t("member.code.identity_required", "en") and state.code == ""
    state.issue_code({"identity_checked": "on"})
    code = state.code
    assert len(code) == 8 and code in _state_text(root)
    assert OTHER_PHONE not in _state_text(root)
    state.close_code()
    assert state.code == "" and code not in _state_text(root)
    assert state.portal.state == t("member.portal.pending", "en")


def test_the_portal_shows_only_the_members_own_card(world) -> None:  # noqa: ANN001
    token = _member_token(PHONE, ip="10.0.0.6")
    with session_scope() as session:
        member_id = session.exec(select(User.id).where(User.kind == "member")).scalar_one()
    assert member_id
    root, state = _tree(token, PortalState, "/portal")
    state.load()
    assert state.summary.has_card is False  # 王会员 has none; 李会员's gold card is not shown
    state.show_ledger("stored_value")
    assert state.rows == [] and state.total == 0
    assert "¥600.00" not in _state_text(root) and OTHER_PHONE not in _state_text(root)


def test_staff_cannot_open_the_portal(world) -> None:  # noqa: ANN001
    token = _staff_token("front.desk")
    _, state = _tree(token, PortalState, "/portal")
    state.load()
    assert state.summary == CardSummary() and state.rows == []


def test_the_front_desk_asks_for_a_points_adjustment_and_cannot_adjust(world) -> None:  # noqa: ANN001
    root, state = _desk(world["李会员"])
    points_before = _count(PointsEntry)
    state.open_action("ask_adjust")
    result = state.submit_action({"points": "+30", "reason": "活动补发积分"})
    assert result and None not in result and state.action == ""
    assert "+30" in state.pending_note and _count(PointsEntry) == points_before
    with session_scope() as session:
        asked = session.exec(select(ApprovalRequest)).scalar_one()
    assert (asked.kind, asked.points, asked.status) == ("points_adjust", 30, "pending")
    # the direct adjustment, called anyway, is refused by the service
    state.open_action("adjust")
    state.submit_action({"points": "30", "reason": "活动补发积分"})
    assert state.action_error == t("error.permission_denied", "en")
    assert _count(PointsEntry) == points_before


def test_a_top_up_is_committed_only_from_its_confirmation(world) -> None:  # noqa: ANN001
    _, state = _desk(world["李会员"])  # gold, ¥600 on the card
    entries = _count(StoredValueEntry)
    state.open_action("topup")
    assert state.limits_hint == t(
        "membership.limits_hint", "en", topup="¥2,000.00", cap="¥5,000.00"
    )
    for typed, key in (
        ("abc", "membership.error.amount"),
        ("99999999999999999", "membership.error.amount"),
        ("99,999,999,999.00", "membership.error.topup_over_limit"),
        ("９９９９９９９９９９９", "membership.error.topup_over_limit"),
        ("2000.01", "membership.error.topup_over_limit"),
    ):
        assert state.submit_action({"amount": typed, "method": "cash"}) is None
        assert state.errors == {"amount": t(key, "en")} and state.confirm_text == "", typed
    assert state.confirm_action() is None and _count(StoredValueEntry) == entries
    # a tired clerk's ways of writing ¥1,000: full-width digits, a comma, the yuan sign
    for typed in ("１,０００", "¥1,000", "1000.00"):
        state.back_action()
        assert state.submit_action({"amount": typed, "method": "cash"}) is None
        assert state.confirm_text == t(
            "membership.confirm.topup", "en", amount="¥1,000.00", balance="¥1,600.00"
        ), typed
    assert _count(StoredValueEntry) == entries  # nothing before 确认
    result = state.confirm_action()
    assert result and None not in result
    assert state.summary.balance == "¥1,600.00" and _count(StoredValueEntry) == entries + 1
    assert state.confirm_action() is None and _count(StoredValueEntry) == entries + 1  # once


def test_the_confirmation_commits_what_the_server_holds_and_checks_it_again(world) -> None:  # noqa: ANN001
    _, state = _desk(world["李会员"])
    state.open_action("topup")
    state.submit_action({"amount": "2,000", "method": "cash"})
    assert "¥2,600.00" in state.confirm_text
    state.back_action()  # 返回修改: nothing is held any more
    assert state.confirm_text == "" and state.confirm_action() is None
    state.submit_action({"amount": "2,000", "method": "cash"})
    # meanwhile another counter tops the card up: the held ¥2,000 would pass the cap now
    with session_scope() as session:
        card = membership.active_card(session, world["李会员"])
        for _ in range(2):
            membership.topup(
                session, actor=system_actor("test"), card_id=card.id, amount_fen=200_000,
                method="cash",
            )  # fmt: skip
    entries = _count(StoredValueEntry)
    assert state.confirm_action() is None
    assert state.errors == {"amount": t("membership.error.balance_over_cap", "en")}
    assert state.confirm_text == "" and state.action == "topup"  # back at the form
    assert _count(StoredValueEntry) == entries
