"""对外提供 page handlers called directly, as a browser could call any public handler with any
arguments: compliance adds a recipient (field errors first), a provision with a non-consenting
customer is refused naming them with nothing saved, a disclosure is recorded; every other role is
sent home from the page and refused by each handler, with nothing saved."""

from __future__ import annotations

import pytest
import reflex as rx
from helpers import PASSWORD, _member, _member_token, _staff_token, _state_text
from reflex_base.event import EventSpec
from sqlalchemy import func, select

from custapp import clock
from custapp.db import session_scope
from custapp.i18n import t
from custapp.models import AuditEntry, LegalDisclosure, Provision, ProvisionCustomer, Recipient
from custapp.pages.provisions import (
    DisclosureDialogState,
    ProvisionCustomersState,
    ProvisionsState,
    RecipientDialogState,
    RefusedRow,
)
from custapp.security.permissions import COMPLIANCE, MEMBER, STAFF_ROLES
from custapp.services import bootstrap, consent, customers
from custapp.services.actor import system_actor
from custapp.services.customer_input import CustomerInput
from custapp.states.options import Option
from custapp.states.session import SessionState

MEMBER_PHONE = "13700001111"
AGREED_PHONE = "13912345678"
REFUSER_PHONE = "13887654321"
OTHER_ROLES = [r for r in STAFF_ROLES if r != COMPLIANCE] + [MEMBER]


def _customer(name: str, phone: str, third_party: str | None) -> tuple[int, str]:
    with session_scope() as session:
        ref = customers.create_customer(
            session, actor=system_actor("test"), data=CustomerInput(name=name, phone=phone)
        )
        if third_party:
            consent.record_consents(
                session,
                actor=system_actor("test"),
                customer_id=ref.id,
                choices={"third_party": third_party},
                evidence_ref="F-7",
            )
    return ref.id, ref.number


@pytest.fixture
def world(db) -> dict[str, object]:
    ids: dict[str, object] = {}
    with session_scope() as session:
        for role in STAFF_ROLES:
            ids[role] = bootstrap.create_staff_user(
                session, actor=system_actor("test"), username=f"the.{role}",
                display_name=f"{role} 用户", roles=[role], password=PASSWORD,
            )  # fmt: skip
    ids["agreed"], ids["agreed_number"] = _customer("钱同意", AGREED_PHONE, "grant")
    ids["refuser"], ids["refuser_number"] = _customer("李拒绝", REFUSER_PHONE, "refuse")
    ids[MEMBER] = _member(MEMBER_PHONE, customer_id=ids["agreed"])
    return ids


def _logged_in(role: str) -> tuple[rx.State, ProvisionsState]:
    """A fresh state tree, as the memory state manager builds one per browser tab."""
    token = _member_token(MEMBER_PHONE) if role == MEMBER else _staff_token(f"the.{role}")
    root = rx.State(_reflex_internal_init=True)
    session_state = root.substates[SessionState.get_name()]
    session_state.token = token
    session_state.locale = "en"
    state = session_state.substates[ProvisionsState.get_name()]
    assert isinstance(state, ProvisionsState)
    return root, state


def _dialog(state: ProvisionsState, cls: type[rx.State]) -> rx.State:
    """One of the page's dialogs, a substate of its state."""
    return state.substates[cls.get_name()]


def _events(result) -> list[EventSpec]:
    if result is None:
        return []
    if not isinstance(result, list):
        result = list(result) if hasattr(result, "__next__") else [result]
    flat = []
    for item in result:
        flat.extend(item if isinstance(item, list) else [item])
    return [e for e in flat if e is not None]


def _toasts(result, kind: str, message: str) -> bool:
    rendered = [str(getattr(e, "args", "")) for e in _events(result)]
    return any("__toast" in r and f'"{kind}"' in r and message in r for r in rendered)


def _counts() -> tuple[int, ...]:
    with session_scope(write=False) as session:
        return tuple(
            session.exec(select(func.count()).select_from(m)).scalar_one()
            for m in (Recipient, Provision, ProvisionCustomer, LegalDisclosure)
        )


RECIPIENT = {
    "name": "顺达物流有限公司",
    "contact": "021-55550000",
    "nda_reference": "NDA-2026-007",
    "nda_signed_on": "2026-01-15",
    "oversight_note": "每季度检查接收方的数据使用情况",
}


def _provision_form(state: ProvisionsState, recipient_id: int, numbers: str) -> dict[str, str]:
    state.sel_categories = ["basic", "contact"]
    today = clock.local_today().isoformat()
    return {
        "recipient": str(recipient_id),
        "purpose": "third_party",
        "period_from": today,
        "period_to": today,
        "contract_reference": "HT-2026-031",
        "numbers": numbers,
    }


def test_compliance_adds_a_recipient_is_refused_a_provision_and_records_a_disclosure(world):
    root, state = _logged_in(COMPLIANCE)
    assert state.load() == ProvisionsState.fetch_all  # the lists load in a second event
    assert not _toasts(state.fetch_all(), "error", "")
    assert state.rec_loaded and state.rec_total == 0 and state.prov_total == 0

    # a recipient without its confidentiality agreement: the fields say what is missing
    recipient = _dialog(state, RecipientDialogState)
    recipient.open_add_recipient()
    assert recipient.save_recipient({**RECIPIENT, "nda_reference": "", "nda_signed_on": ""}) is None
    assert recipient.is_open and set(recipient.errors) == {"nda_reference", "nda_signed_on"}
    assert recipient.errors["nda_reference"] == t("provision.error.nda_reference_required", "en")
    assert _toasts(
        recipient.save_recipient(RECIPIENT), "success", t("provision.recipient.saved", "en")
    )
    assert not recipient.is_open and [r.name for r in state.rec_rows] == [RECIPIENT["name"]]
    recipient_id = int(state.rec_rows[0].id)

    # a provision including one customer who refused: refused, naming them, nothing saved
    assert state.open_form() is None
    assert state.recipient_options == [Option(str(recipient_id), RECIPIENT["name"])]
    assert [o.value for o in state.purpose_options] == ["third_party"]
    numbers = f"{world['agreed_number']}\n{world['refuser_number']}"
    _events(state.create(_provision_form(state, recipient_id, numbers)))
    assert state.refused_rows == [
        RefusedRow(
            number=world["refuser_number"],
            name="李拒绝",
            reason=t("consent.why.refused", "en"),
        )
    ]
    assert "1" in state.refused_body and state.refused_more == "" and state.form_open
    script = str(state.remove_refused().args)  # takes them out of the list in the browser
    assert str(world["refuser_number"]) in script and str(world["agreed_number"]) not in script
    assert state.refused_rows == [] and state.refused_body == ""
    assert _counts() == (1, 0, 0, 0)

    # without them it is recorded, with the consent relied on
    result = state.create(_provision_form(state, recipient_id, str(world["agreed_number"])))
    assert _toasts(result, "success", t("provision.saved", "en", count="1"))
    assert state.refused_rows == [] and not state.form_open
    assert [r.count for r in state.prov_rows] == ["1"]
    assert _counts() == (1, 1, 1, 0)
    provided = _dialog(state, ProvisionCustomersState)
    provided.open_customers(state.prov_rows[0].id)
    assert [r.number for r in provided.rows] == [world["agreed_number"]]

    # a legally required disclosure of the customer who refused: recorded without consent
    disclosing = _dialog(state, DisclosureDialogState)
    disclosing.open_disclosure()
    disclosing.toggle_disc_category("basic")
    disclosure = {
        "customer_number": str(world["refuser_number"]),
        "authority": "上海市公安局浦东分局",
        "legal_basis": "《刑事诉讼法》第五十四条",
        "document_reference": "沪公浦（调）字〔2026〕118号",
        "disclosed_on": clock.local_today().isoformat(),
        "harm_note": "",
    }
    assert disclosing.save_disclosure(disclosure) is None
    assert disclosing.errors == {
        "harm_note": t("provision.error.harm_note_required", "en"),
    }
    result = disclosing.save_disclosure({**disclosure, "harm_note": "仅提供所列信息"})
    assert _toasts(result, "success", t("provision.disclosure.saved", "en"))
    assert [r.number for r in state.disc_rows] == [world["refuser_number"]]
    assert _counts() == (1, 1, 1, 1)

    # deactivated: no longer offered, and refused by the service if sent anyway
    _events(state.set_recipient_active(str(recipient_id), False))
    assert state.recipient_options == []
    _events(state.create(_provision_form(state, recipient_id, str(world["agreed_number"]))))
    assert state.prov_errors == {"recipient": t("provision.error.recipient_inactive", "en")}

    text = _state_text(root)
    for phone in (AGREED_PHONE, REFUSER_PHONE, "139****5678"):
        assert phone not in text


def test_numbers_that_are_not_customer_numbers_are_not_kept_in_state(world):
    root, state = _logged_in(COMPLIANCE)
    state.load()
    recipient = _dialog(state, RecipientDialogState)
    recipient.open_add_recipient()
    recipient.save_recipient(RECIPIENT)
    recipient_id = int(state.rec_rows[0].id)
    state.open_form()
    _events(state.create(_provision_form(state, recipient_id, f"{AGREED_PHONE}")))
    assert state.prov_errors == {"customers": t("provision.error.bad_numbers", "en")}
    assert AGREED_PHONE not in _state_text(root)


def _denials(user_id: int) -> list[str]:
    with session_scope(write=False) as session:
        return list(
            session.exec(
                select(AuditEntry.action)
                .where(AuditEntry.actor_id == user_id, AuditEntry.outcome == "denied")
                .order_by(AuditEntry.seq)
            ).scalars()
        )


@pytest.mark.parametrize("role", OTHER_ROLES)
def test_every_other_role_is_sent_home_and_refused_by_every_handler(world, role):
    # a recipient to aim at, made by compliance
    _, officer = _logged_in(COMPLIANCE)
    officer.load()
    _dialog(officer, RecipientDialogState).open_add_recipient()
    _dialog(officer, RecipientDialogState).save_recipient(RECIPIENT)
    recipient_id = officer.rec_rows[0].id
    before = _counts()

    root, state = _logged_in(role)
    events = _events(state.load())
    assert _toasts(events, "error", t("error.page_denied", "en"))
    denied = t("error.permission_denied", "en")
    assert _toasts(state.fetch_all(), "error", denied)
    assert state.rec_rows == state.prov_rows == state.disc_rows == []

    recipient = _dialog(state, RecipientDialogState)
    recipient.editing = 0
    assert recipient.save_recipient({**RECIPIENT, "name": "另一家公司"}) is None
    assert recipient.error == denied
    recipient.editing = int(recipient_id)
    recipient.save_recipient({**RECIPIENT, "name": "改名"})
    assert recipient.error == denied
    assert _toasts(state.set_recipient_active(recipient_id, False), "error", denied)
    assert _toasts(state.open_form(), "error", denied)
    _events(state.create(_provision_form(state, int(recipient_id), str(world["agreed_number"]))))
    assert state.prov_error == denied and state.refused_rows == []
    provided = _dialog(state, ProvisionCustomersState)
    provided._provision_id = 1
    assert _toasts(provided.next_page(), "error", denied)
    disclosing = _dialog(state, DisclosureDialogState)
    disclosing.toggle_disc_category("basic")
    disclosing.save_disclosure(
        {
            "customer_number": str(world["agreed_number"]),
            "authority": "某机关",
            "legal_basis": "某法",
            "document_reference": "D-1",
            "disclosed_on": clock.local_today().isoformat(),
            "harm_note": "最小化",
        }
    )
    assert disclosing.error == denied

    assert _counts() == before
    with session_scope(write=False) as session:
        (kept,) = session.exec(select(Recipient)).scalars().all()
        assert (kept.name, kept.active) == (RECIPIENT["name"], True)
    actions = _denials(int(world[role]))
    assert actions[0].startswith("page.open:")
    assert {
        "provision.list_recipients",
        "provision.add_recipient",
        "provision.update_recipient",
        "provision.set_recipient_active",
        "provision.recipient_choices",
        "provision.create_provision",
        "provision.provision_customers",
        "provision.record_disclosure",
    } <= set(actions)
    assert "李拒绝" not in _state_text(root)
