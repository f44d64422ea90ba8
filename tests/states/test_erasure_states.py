"""删除权 on the pages (issue 16, ER), their handlers called directly as a browser could call them:
compliance sees what blocks a destruction, accepts a deletion request into the 销毁 queue or
refuses it with a legal reason; the front desk is refused; the member reads what to settle first,
files 删除我的信息 after confirming, cannot file a second while one is open, and follows its
progress; nothing of another customer and no plaintext phone stays in any state."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
import reflex as rx
from helpers import _member_login, _member_token, _staff, _staff_token, _state_text, _tree
from reflex_base.event import EventSpec
from sqlalchemy import select

from custapp import clock
from custapp.db import session_scope
from custapp.i18n import t
from custapp.models import DestructionCandidate, RightsRequest
from custapp.pages.portal_privacy import EraseMyDataState, PortalPrivacyState
from custapp.pages.rights_requests import DeletionReviewState, RequestDetailState, RightsState
from custapp.services import customers, membership, points, rights
from custapp.services.actor import Actor, system_actor

PHONE = "13912345678"
OTHER_PHONE = "13787654321"
T0 = datetime(2026, 6, 1, 3, 0, tzinfo=UTC)


@pytest.fixture
def world(db) -> dict:
    clock.set_now(T0)
    ids = {"desk": _staff("front.desk", "front_desk"), "comp": _staff("comp.one", "compliance")}
    with session_scope() as session:
        for key, name, phone in (("wang", "王会员", PHONE), ("li", "李会员", OTHER_PHONE)):
            ids[key] = customers.create_customer(
                session,
                actor=system_actor("test"),
                data=customers.CustomerInput(name=name, phone=phone),
            ).id
        membership.issue_card(
            session, actor=system_actor("test"), customer_id=ids["wang"], tier_code="silver",
            application_signed=True, first_topup_fen=12345, topup_method="cash",
            fee_method="cash",
        )  # fmt: skip
        points.adjust_points(
            session, actor=system_actor("test"), customer_id=ids["wang"], points=80,
            reason="活动赠送积分",
        )  # fmt: skip
    return ids


def _events(result) -> list[EventSpec]:
    events = result if isinstance(result, list) else [result]
    assert events and all(isinstance(e, EventSpec) for e in events), result
    return events


def _toast(result, kind: str, message: str) -> bool:
    return any(
        "__toast" in str(e.args) and f'"{kind}"' in str(e.args) and message in str(e.args)
        for e in _events(result)
    )


def _file(customer_id: int, kind: str = "deletion") -> rights.RequestRef:
    with session_scope() as session:
        return rights.file_request(
            session, actor=system_actor("test"), customer_id=customer_id, kind=kind,
            channel="letter", detail="来信要求删除本人全部个人信息",
        )  # fmt: skip


def _request(request_id: int) -> RightsRequest:
    with session_scope(write=False) as session:
        row = session.get(RightsRequest, request_id)
        session.expunge(row)
        return row


def _candidates() -> list[tuple[str, int | None, str]]:
    with session_scope(write=False) as session:
        return [
            tuple(r)
            for r in session.exec(
                select(
                    DestructionCandidate.number,
                    DestructionCandidate.rights_request_id,
                    DestructionCandidate.reason_kind,
                )
            ).all()
        ]


# --- 权利请求: compliance ------------------------------------------------------------------------


def _rights_page(
    username: str,
) -> tuple[rx.State, RightsState, RequestDetailState, DeletionReviewState]:
    root, state = _tree(_staff_token(username), RightsState, "/rights-requests")
    state.load()
    state.fetch_all()
    detail = state.substates[RequestDetailState.get_name()]
    return root, state, detail, detail.substates[DeletionReviewState.get_name()]


def test_compliance_sees_the_blockers_then_accepts_into_the_queue(world):
    ref = _file(world["wang"])
    root, _, detail, panel = _rights_page("comp.one")
    assert detail.open_detail(str(ref.id)) is None
    # the card and its stored value block a destruction: shown before accepting
    assert panel.blockers and panel.candidate == "" and panel.waiting is False
    assert all(not b.startswith("destruction.blocked.") for b in panel.blockers)  # translated
    result = panel.accept()
    ((number, request_id, reason),) = _candidates()
    assert (request_id, reason) == (ref.id, "request")
    assert _toast(result, "success", number)
    assert detail.is_open and detail.request.status_code == "in_progress"
    assert panel.candidate.startswith(number) and panel.waiting is True
    assert _request(ref.id).handler_id == world["comp"]
    detail.close_detail()
    assert (panel.blockers, panel.candidate, panel.waiting) == ([], "", False)
    assert PHONE not in _state_text(root)


def test_compliance_refuses_only_with_a_legal_reason(world):
    ref = _file(world["li"])
    _, state, detail, panel = _rights_page("comp.one")
    detail.open_detail(str(ref.id))
    assert panel.refuse() is None
    assert panel.erasure_error == t("rights.error.refusal", "en")
    panel.set_refusal("no-such-reason")
    assert panel.refusal == ""
    panel.set_refusal("other")
    assert panel.refuse() is None
    assert panel.erasure_error == t("rights.error.outcome_required", "en")
    panel.set_refusal("litigation_hold")
    result = panel.refuse()
    assert _toast(result, "success", ref.number)
    assert detail.is_open is False and panel.refusal == ""
    row = _request(ref.id)
    assert (row.status, row.refusal_reason) == ("refused", "litigation_hold")
    state.set_f_status("refused")
    detail.open_detail(str(state.rows[0].id))
    assert detail.request.outcome == t("rights.refusal.litigation_hold", "en")
    assert _candidates() == []


def test_the_front_desk_cannot_accept_or_refuse_a_deletion(world):
    ref = _file(world["wang"])
    _, _, detail, panel = _rights_page("front.desk")
    detail._detail_id = ref.id  # as if the browser had sent it
    denied = t("error.permission_denied", "en")
    assert panel.accept() is None and panel.erasure_error == denied
    panel.set_refusal("other")
    detail.keep_outcome("不删")
    assert panel.refuse() is None and panel.erasure_error == denied
    assert _candidates() == [] and _request(ref.id).status == "open"


# --- 我的信息与授权: the member ----------------------------------------------------------------------


def _portal() -> tuple[rx.State, PortalPrivacyState, EraseMyDataState]:
    root, state = _tree(_member_token(PHONE), PortalPrivacyState, "/portal/privacy")
    result = state.load()
    assert result is None or None not in result
    return root, state, state.substates[EraseMyDataState.get_name()]


def test_the_member_files_delete_my_information_once_and_follows_it(world):
    _member_login(PHONE, customer_id=world["wang"], display_name="王会员")
    _file(world["li"])  # another customer's request: never on this member's page
    root, state, card = _portal()
    assert card.settle == [
        t("portal_privacy.erase.balance", "en", amount="123.45"),
        t("portal_privacy.erase.points", "en", points=80),
    ]
    assert card.progress.number == "" and card.pending is False
    assert card.ask_erase() is None and card.confirm_open
    assert card.erase({"note": ""}) is None  # not ticked
    assert card.confirm_error == t("portal_privacy.erase.must_understand", "en")
    result = card.erase({"understand": "on", "note": ""})
    (row,) = state.rows
    assert _toast(result, "success", row.number)
    assert card.confirm_open is False and card.pending is True
    assert (card.progress.number, card.progress.stage, card.progress.refused) == (
        row.number, 0, False,
    )  # fmt: skip
    with session_scope(write=False) as session:
        filed_id, kind, channel = session.exec(
            select(RightsRequest.id, RightsRequest.kind, RightsRequest.channel).where(
                RightsRequest.number == row.number
            )
        ).one()
    assert (kind, channel) == ("deletion", "portal")
    # a second one: refused by the page and, forged past it, by the service
    assert _toast(card.ask_erase(), "error", t("portal_privacy.erase.pending", "en"))
    assert card.erase({"understand": "on", "note": "再删一次"}) is None
    assert card.confirm_error == t("rights.error.deletion_open", "en")
    assert len(state.rows) == 1
    # compliance refuses it: the member sees the reason
    with session_scope() as session:
        rights.close_request(
            session, actor=_comp(world), request_id=filed_id, status="refused",
            refusal="open_business", outcome="请先办理退卡",
        )  # fmt: skip
    root, state, card = _portal()
    assert (card.progress.stage, card.progress.refused, card.pending) == (2, True, False)
    assert card.progress.reason == f"{t('rights.refusal.open_business', 'en')}：请先办理退卡"
    text = _state_text(root)
    assert PHONE not in text and OTHER_PHONE not in text and "李会员" not in text


def _comp(world: dict) -> Actor:
    return Actor(user_id=world["comp"], name="comp.one", roles=frozenset({"compliance"}))


def test_staff_cannot_use_the_members_card(world):
    root, state = _tree(_staff_token("front.desk"), PortalPrivacyState, "/portal/privacy")
    card = state.substates[EraseMyDataState.get_name()]
    result = card.erase({"understand": "on", "note": ""})
    assert result is None and card.confirm_error == t("error.permission_denied", "en")
    with session_scope(write=False) as session:
        assert session.exec(select(RightsRequest)).first() is None
