"""营销名单 handlers called directly, as any browser may call any public handler: cs_manager builds
a list (masked, nothing plain in state) and queues a campaign; every other role is sent home by
the page, and each handler called anyway is refused by the service, audited, and changes
nothing."""

from __future__ import annotations

import pytest
import reflex as rx
import run_async
from helpers import _member, _member_token, _staff, _staff_token, _state_text
from reflex.istate.data import RouterData
from reflex_base.event import EventSpec
from sqlalchemy import func, select

from custapp import job_runner
from custapp.db import session_scope
from custapp.i18n import t
from custapp.models import AuditEntry, Campaign, OutboxMessage
from custapp.pages.marketing import BuiltList, MarketingState
from custapp.security.permissions import MEMBER
from custapp.services import consent, customers
from custapp.services.actor import system_actor
from custapp.services.customer_input import CustomerInput
from custapp.states.session import SessionState

MEMBER_PHONE = "13700002222"
PHONES = {"营销甲": "13911112222", "营销乙": "13933334444", "拒绝丙": "13955556666"}
SUBJECT = "春季新品品鉴会"
BODY = "本周六春季新品品鉴会，会员到店可免费品尝。回复T退订"
OTHER_ROLES = ["front_desk", "compliance", "auditor", "sysadmin", MEMBER]


@pytest.fixture
def world(db) -> dict[str, int]:
    ids = {"cs_manager": _staff("the.manager", "cs_manager")}
    for role in OTHER_ROLES[:-1]:
        ids[role] = _staff(f"the.{role}", role)
    system = system_actor("test")
    with session_scope() as session:
        for name, phone in PHONES.items():
            ref = customers.create_customer(
                session, actor=system, data=CustomerInput(name=name, phone=phone)
            )
            consent.record_consents(
                session,
                actor=system,
                customer_id=ref.id,
                choices={"marketing_sms": "refuse" if name == "拒绝丙" else "grant"},
                evidence_ref="F-001",
            )
    ids[MEMBER] = _member(MEMBER_PHONE, customer_id=ref.id)
    return ids


def _logged_in(role: str) -> tuple[rx.State, MarketingState]:
    """A fresh state tree, as the memory state manager builds one per browser tab."""
    if role == MEMBER:
        token = _member_token(MEMBER_PHONE, ip=None)
    else:
        token = _staff_token("the.manager" if role == "cs_manager" else f"the.{role}", ip=None)
    root = rx.State(_reflex_internal_init=True)
    session_state = root.substates[SessionState.get_name()]
    session_state.token = token
    session_state.locale = "en"
    state = session_state.substates[MarketingState.get_name()]
    state.router = RouterData.from_router_data(
        {"pathname": "/marketing", "asPath": "/marketing", "query": {}, "headers": {}}
    )
    return root, state


def _events(result) -> list[EventSpec]:
    events = result if isinstance(result, list) else [result]
    assert events and all(isinstance(e, EventSpec) for e in events), result
    return events


def _toast(result, kind: str, message: str) -> bool:
    return any(
        "__toast" in str(e.args) and f'"{kind}"' in str(e.args) and message in str(e.args)
        for e in _events(result)
    )


def _queue(state: MarketingState) -> list:
    """The background handler 加入发送队列, run to its end (`async with self` is a no-op on a
    state outside Reflex's task runner), then the job runner, as the app's lifespan task would
    run it, and the page's watch of the job (the event 加入发送队列 chains); their events."""

    async def collect() -> list:
        events = [event async for event in MarketingState.queue.fn(state)]
        job_runner.work(once=True)
        return events + [event async for event in MarketingState.watch_job.fn(state)]

    return run_async.run(collect())


def _counts() -> tuple[int, int]:
    with session_scope() as session:
        return (
            session.exec(select(func.count()).select_from(Campaign)).scalar_one(),
            session.exec(select(func.count()).select_from(OutboxMessage)).scalar_one(),
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


def test_a_manager_builds_a_list_and_queues_a_campaign(world):
    root, state = _logged_in("cs_manager")
    assert state.load() is None
    assert [p.code for p in state.purposes] == [
        "marketing_sms",
        "marketing_phone",
        "marketing_email",
        "care",
    ]
    assert state.purpose == "marketing_sms" and state.campaigns == []
    assert state.build() is MarketingState.fetch_built
    assert state.fetch_built() is None
    assert state.built and state.sendable and state.total == 2
    assert state.summary == t(
        "marketing.summary",
        "en",
        segment=3,
        included=2,
        left_out=1,
        refused=1,
        withdrawn=0,
        not_asked=0,
        no_contact=0,
    )
    assert [r.name for r in state.rows] == ["营销甲", "营销乙"]
    assert [r.contact for r in state.rows] == ["139****2222", "139****4444"]
    text = _state_text(root)
    for phone in PHONES.values():
        assert phone not in text

    state.open_compose()
    assert state.compose_open
    state.compose({"subject": "", "body": "字" * 501})
    assert state.compose_open and not state.confirm_open
    assert state.msg_errors == {
        "subject": t("marketing.error.subject_required", "en"),
        "body": t("marketing.error.body_too_long", "en"),
    }
    state.compose({"subject": SUBJECT, "body": BODY})
    assert state.confirm_open and not state.compose_open
    assert "2 customers" in state.confirm_text and SUBJECT in state.confirm_text

    events = _queue(state)
    assert _toast(events, "success", t("marketing.queued", "en", queued=2, left_out=1))
    assert not state.queuing and not state.confirm_open
    assert _counts() == (1, 2)
    assert [(c.subject, c.queued, c.left_out) for c in state.campaigns] == [(SUBJECT, "2", "1")]


def test_changing_a_filter_clears_the_list_until_it_is_built_again(world):
    _, state = _logged_in("cs_manager")
    state.load()
    state.build()
    state.fetch_built()
    assert state.built
    state.set_filter("purpose", "marketing_phone")
    assert not state.built and state.rows == [] and state.total == 0
    state.build()
    state.fetch_built()
    assert state.built and not state.sendable and state.total == 0
    state.open_compose()  # a call list is never a campaign
    assert not state.compose_open


def test_a_tampered_filter_is_named_next_to_its_field(world):
    _, state = _logged_in("cs_manager")
    state.load()
    state.set_filter("f_grade", "Z")
    state.build()
    assert state.fetch_built() is None
    assert state.errors == {"f_grade": t("marketing.error.grade", "en")}
    assert not state.built


@pytest.mark.parametrize("role", OTHER_ROLES)
def test_other_roles_are_sent_home_and_every_handler_is_refused(world, role):
    root, state = _logged_in(role)
    events = _events(state.load())
    assert _toast(events, "error", t("error.page_denied", "en"))
    home = "/portal" if role == MEMBER else "/"
    redirects = [str(e.args) for e in events if e.handler.fn.__qualname__ == "_redirect"]
    assert len(redirects) == 1 and f'"{home}"' in redirects[0], redirects
    assert state.purposes == [] and state.campaigns == []

    denied = t("error.permission_denied", "en")
    state.build()
    assert _toast(state.fetch_built(), "error", denied)
    assert not state.built and state.rows == [] and state.summary == ""
    # as if the list had been built: the campaign is refused all the same
    state._built = BuiltList(grade="", lifecycle="", tag="", purpose="marketing_sms")
    state.subject, state.body = SUBJECT, BODY
    assert _toast(_queue(state), "error", denied)
    assert _toast(state.camp_next(), "error", denied)
    assert state.campaigns == [] and not state.queuing
    assert _counts() == (0, 0)
    text = _state_text(root)
    for value in (*PHONES.values(), *PHONES):
        assert value not in text
    assert _denials(world[role]) == [
        "page.open:/marketing",
        "marketing.build_list",
        "marketing.start_campaign",
        "marketing.list_campaigns",
    ]
