"""The 权利请求 page's state called directly, as a browser could call any public handler with any
arguments: the front desk files and sees its own requests but every compliance handler refuses
it; compliance opens, takes, closes and produces the copy (the file goes to the browser, the
password to a separate dialog); nothing decrypted stays in state once a dialog closes."""

from __future__ import annotations

import base64
import io
import json
import re
from datetime import UTC, datetime, timedelta

import pytest
import pyzipper
import reflex as rx
from helpers import _staff, _staff_token, _state_text
from reflex.istate.data import RouterData
from reflex_base.event import EventSpec
from sqlalchemy import select

from custapp import clock
from custapp.db import session_scope
from custapp.i18n import t
from custapp.models import AuditEntry, RightsRequest
from custapp.pages.rights_requests import (
    FileDialogState,
    RequestDetail,
    RequestDetailState,
    RightsState,
)
from custapp.services import consent, customers, rights
from custapp.services.actor import system_actor
from custapp.states.session import SessionState

PHONE = "13912345678"
DETAIL = "客户来信要求提供本人资料副本，回电13912345678"
T0 = datetime(2026, 3, 1, 17, 0, tzinfo=UTC)


@pytest.fixture
def world(db) -> dict:
    clock.set_now(T0)
    ids = {
        name: _staff(name, role)
        for name, role in (
            ("front.desk", "front_desk"),
            ("comp.one", "compliance"),
            ("the.auditor", "auditor"),
            ("root.admin", "sysadmin"),
        )
    }
    with session_scope() as session:
        ref = customers.create_customer(
            session,
            actor=system_actor("test"),
            data=customers.CustomerInput(name="王保密", phone=PHONE),
        )
        consent.record_consents(
            session,
            actor=system_actor("test"),
            customer_id=ref.id,
            choices={"marketing_sms": "grant", "care": "grant"},
            evidence_ref="F-9",
        )
    ids["customer"], ids["number"] = ref.id, ref.number
    return ids


def _logged_in(username: str) -> tuple[rx.State, RightsState]:
    """A fresh state tree, as the memory state manager builds one per browser tab."""
    token = _staff_token(username)
    root = rx.State(_reflex_internal_init=True)
    session_state = root.substates[SessionState.get_name()]
    state = session_state.substates[RightsState.get_name()]
    assert isinstance(state, RightsState)
    session_state.token = token
    session_state.locale = "en"
    state.router = RouterData.from_router_data(
        {"pathname": "/rights-requests", "asPath": "/rights-requests", "query": {},
         "headers": {"origin": "http://localhost:3000"}}
    )  # fmt: skip
    return root, state


def _dialog(state: RightsState, cls: type[rx.State]) -> rx.State:
    """One of the page's dialogs, a substate of its state."""
    return state.substates[cls.get_name()]


def _opened(state: RightsState) -> None:
    assert state.load() is RightsState.fetch_all  # no redirect, no error
    assert state.fetch_all() is None


def _file(customer_id: int, kind: str = "copy") -> rights.RequestRef:
    with session_scope() as session:
        return rights.file_request(
            session, actor=system_actor("test"), customer_id=customer_id, kind=kind,
            channel="letter", detail=DETAIL,
        )  # fmt: skip


def _requests() -> list[tuple]:
    with session_scope() as session:
        rows = session.exec(select(RightsRequest).order_by(RightsRequest.id)).scalars().all()
        return [(r.id, r.status, r.handler_id, r.outcome_enc, r.created_by) for r in rows]


def _denials(actor_id: int) -> list[str]:
    with session_scope() as session:
        return list(
            session.exec(
                select(AuditEntry.action)
                .where(AuditEntry.actor_id == actor_id, AuditEntry.outcome == "denied")
                .order_by(AuditEntry.seq)
            ).scalars()
        )


def _events(result) -> list[EventSpec]:
    events = result if isinstance(result, list) else [result]
    assert events and all(isinstance(e, EventSpec) for e in events), result
    return events


def _toast(result, kind: str, message: str) -> bool:
    return any(
        "__toast" in str(e.args) and f'"{kind}"' in str(e.args) and message in str(e.args)
        for e in _events(result)
    )


# --- the front desk --------------------------------------------------------------------------------


def test_the_front_desk_finds_the_customer_files_and_sees_its_request(world):
    _, state = _logged_in("front.desk")
    _opened(state)
    assert (state.can_file, state.can_manage, state.filed_rows, state.rows) == (True, False, [], [])
    filing = _dialog(state, FileDialogState)
    filing.open_file()
    filing.file({"kind": "copy", "channel": "counter", "detail": DETAIL})
    assert filing.errors == {"customer": t("rights.error.customer_required", "en")}
    filing.set_lookup_text("王保密")
    filing.lookup()
    assert filing.errors["customer"] == t("rights.error.lookup_format", "en")
    filing.set_lookup_text("C20269999999")
    filing.lookup()
    assert filing.errors["customer"] == t("rights.error.no_customer", "en")
    filing.set_lookup_text(world["number"].lower())
    filing.lookup()
    assert filing.customer_label == f"{world['number']} 王保密" and "customer" not in filing.errors
    filing.file({"kind": "copy", "channel": "counter", "detail": "  "})
    assert filing.errors == {"detail": t("rights.error.detail_required", "en")}
    assert _requests() == []
    result = filing.file({"kind": "copy", "channel": "counter", "detail": DETAIL})
    assert _toast(result, "success", "due 2026-03-17")
    assert filing.is_open is False
    (row,) = state.filed_rows
    assert (row.customer, row.due, row.status_code) == (
        f"{world['number']} 王保密", "2026-03-17", "open",
    )  # fmt: skip
    assert not hasattr(row, "detail")
    ((_, status, _, _, created_by),) = _requests()
    assert (status, created_by) == ("open", world["front.desk"])
    assert DETAIL not in _state_text(state)


def test_every_compliance_handler_refuses_the_front_desk(world):
    ref = _file(world["customer"])
    _, state = _logged_in("front.desk")
    _opened(state)
    before = _requests()
    denied = t("error.permission_denied", "en")
    detail = _dialog(state, RequestDetailState)
    assert _toast(detail.open_detail(str(ref.id)), "error", denied)
    assert detail.is_open is False and detail.request == RequestDetail()
    detail._detail_id = ref.id  # as if the browser had sent it
    for call in (
        lambda: detail.assign(True),
        lambda: detail.close_request("done"),
        lambda: detail.make_copy(),
    ):
        assert call() is None
        assert detail.error == denied
    assert _toast(state.set_f_overdue(True), "error", denied)
    assert state.rows == [] and detail.copy_password == "" and detail.password_open is False
    assert _requests() == before
    assert _denials(world["front.desk"]) == [
        "rights.get_request",
        "rights.assign",
        "rights.close_request",
        "copy_bundle.build_copy",
        "rights.list_requests",
    ]


@pytest.mark.parametrize("username", ["the.auditor", "root.admin"])
def test_roles_without_rights_are_sent_home_and_cannot_file(world, username):
    _, state = _logged_in(username)
    events = _events(state.load())
    assert _toast(events, "error", t("error.page_denied", "en"))
    redirects = [str(e.args) for e in events if e.handler.fn.__qualname__ == "_redirect"]
    assert len(redirects) == 1 and '"/"' in redirects[0]
    filing = _dialog(state, FileDialogState)
    filing._file_cid = world["customer"]  # as if a lookup had been forged
    filing.file({"kind": "copy", "channel": "counter", "detail": DETAIL})
    assert filing.error == t("error.permission_denied", "en")
    assert _requests() == []
    assert _denials(world[username]) == ["page.open:/rights-requests", "rights.file_request"]


# --- compliance --------------------------------------------------------------------------------------


def test_compliance_sees_overdue_requests_in_red_and_soonest_due_first(world):
    late = _file(world["customer"], "explanation")
    clock.advance(timedelta(days=10))
    fresh = _file(world["customer"], "deletion")
    clock.set_now(datetime(2026, 3, 19, 2, 0, tzinfo=UTC))  # 2 days past the first's due date
    _, state = _logged_in("comp.one")
    _opened(state)
    assert [r.id for r in state.rows] == [late.id, fresh.id]
    assert state.rows[0].overdue == t("rights.overdue", "en", days=2)
    assert state.rows[1].overdue == ""
    state.set_f_overdue(True)
    assert [r.id for r in state.rows] == [late.id] and state.total == 1
    state.set_f_kind("deletion")
    assert state.rows == []
    state.set_f_overdue(False)
    assert [r.id for r in state.rows] == [fresh.id]


def test_compliance_makes_the_copy_and_the_password_shows_apart(world):
    ref = _file(world["customer"])
    root, state = _logged_in("comp.one")
    _opened(state)
    detail = _dialog(state, RequestDetailState)
    assert detail.open_detail(str(ref.id)) is None
    assert detail.request.detail == DETAIL and detail.request.kind_code == "copy"
    download = _events(detail.make_copy())[0]
    assert download.handler.fn.__qualname__ == "_download"
    data_url = re.search(r"data:application/zip;base64,([A-Za-z0-9+/=]+)", str(download.args))
    content = base64.b64decode(data_url.group(1))
    assert detail.password_open and len(detail.copy_password) == 12
    assert ref.number in detail.copy_notice
    with pyzipper.AESZipFile(io.BytesIO(content)) as archive:
        archive.setpassword(detail.copy_password.encode())
        data = json.loads(archive.read("data.json"))
    profile = {row["field"]: row["value"] for row in data["sections"]["profile"]}
    assert (profile["name"], profile["phone"]) == ("王保密", PHONE)
    # taken on by whoever produced it; the password is not in the file's event
    assert detail.request.status_code == "in_progress" and detail.request.handler == "comp.one"
    password = detail.copy_password
    assert password not in str(download.args)
    detail.close_password()
    detail.close_detail()
    text = _state_text(root)
    assert password not in text and DETAIL not in text and PHONE not in text


def test_compliance_closes_a_refusal_only_with_its_reason(world):
    # a deletion is refused with its legal reason instead (tests/states/test_erasure_states.py)
    ref = _file(world["customer"], "correction")
    _, state = _logged_in("comp.one")
    _opened(state)
    detail = _dialog(state, RequestDetailState)
    detail.open_detail(str(ref.id))
    assert detail.close_request("refused") is None
    assert detail.error == t("rights.error.outcome_required", "en")
    detail.keep_outcome("经核实原记录无误，不予更正")
    result = detail.close_request("refused")
    assert _toast(result, "success", ref.number)
    assert detail.is_open is False and detail.request == RequestDetail()
    assert state.rows == []  # the list shows requests not yet closed by default
    state.set_f_status("refused")
    assert [(r.id, r.status_code) for r in state.rows] == [(ref.id, "refused")]
    ((_, status, handler, outcome_enc, _),) = _requests()
    assert (status, handler) == ("refused", world["comp.one"]) and outcome_enc


def test_a_withdrawal_withdraws_what_stays_ticked(world):
    ref = _file(world["customer"], "withdrawal")
    _, state = _logged_in("comp.one")
    _opened(state)
    detail = _dialog(state, RequestDetailState)
    detail.open_detail(str(ref.id))
    assert [p.value for p in detail.purposes] == ["care", "marketing_sms"]
    assert detail.chosen == ["care", "marketing_sms"]  # what the customer asked, as written
    detail.toggle_purpose("care", False)
    detail.toggle_purpose("not-a-purpose", True)
    assert detail.chosen == ["marketing_sms"]
    result = detail.close_request("done")
    assert _toast(result, "info", t("rights.withdrawn", "en", purposes="")[:10])
    with session_scope() as session:
        assert consent.granted_purposes(session, world["customer"]) == ["care"]
