"""sysadmin and auditor see no customer data at all (SPEC §1, 002 ACC-05): opening the customer
pages sends them home, and every handler of those pages called anyway, as any browser may call
any public handler with any arguments, answers with a refusal, changes nothing and leaves no
customer value in any state var."""

from __future__ import annotations

import pytest
import reflex as rx
from helpers import _staff, _staff_token, _state_text
from reflex.istate.data import RouterData
from reflex_base.event import EventSpec
from sqlalchemy import func, select

from custapp.db import session_scope
from custapp.i18n import t
from custapp.models import AuditEntry, Customer, CustomerChange, CustomerContact
from custapp.pages.customer_form import ContactRow, CustomerFormState, FieldValues
from custapp.pages.customer_profile import ProfileState
from custapp.pages.customers import CustomersState
from custapp.services import customers
from custapp.services.actor import system_actor
from custapp.states.session import SessionState

NAME = "保密贸易有限公司"
PHONE = "13912345678"
CONTACT_PHONE = "13687654321"
CONTACT_NAME = "保密联系人"
ROLES = {"root.admin": "sysadmin", "the.auditor": "auditor"}


def _router(path: str, **params: str) -> RouterData:
    as_path = path.replace("[cid]", params.get("cid", ""))
    return RouterData.from_router_data(
        {
            "pathname": path,
            "asPath": as_path,
            "query": params,
            "headers": {"origin": "http://localhost:3000"},
        }
    )


@pytest.fixture
def world(db) -> dict[str, object]:
    ids: dict[str, object] = {name: _staff(name, role) for name, role in ROLES.items()}
    with session_scope() as session:
        ref = customers.create_customer(
            session,
            actor=system_actor("test"),
            data=customers.CustomerInput(
                kind="organisation",
                name=NAME,
                phone=PHONE,
                tags=["保密标签"],
                contacts=[customers.ContactInput(CONTACT_NAME, "经理", CONTACT_PHONE)],
            ),
        )
    ids["customer"], ids["number"] = ref.id, ref.number
    return ids


def _logged_in(username: str) -> tuple[rx.State, CustomersState, ProfileState, CustomerFormState]:
    """A fresh state tree, as the memory state manager builds one per browser tab."""
    token = _staff_token(username)
    root = rx.State(_reflex_internal_init=True)
    session_state = root.substates[SessionState.get_name()]
    session_state.token = token
    session_state.locale = "en"
    states = [
        root.get_substate(cls.get_full_name().split("."))
        for cls in (CustomersState, ProfileState, CustomerFormState)
    ]
    return root, *states


def _events(result) -> list[EventSpec]:
    events = result if isinstance(result, list) else [result]
    assert events and all(isinstance(e, EventSpec) for e in events), result
    return events


def _toasts(result, message: str) -> bool:
    return any(
        "__toast" in str(e.args) and '"error"' in str(e.args) and message in str(e.args)
        for e in _events(result)
    )


def _sent_home(result) -> None:
    events = _events(result)
    assert _toasts(events, t("error.page_denied", "en")), events
    redirects = [str(e.args) for e in events if e.handler.fn.__qualname__ == "_redirect"]
    assert len(redirects) == 1 and '"/"' in redirects[0], redirects


def _customer_values(world) -> tuple[str, ...]:  # noqa: ANN001
    return (
        NAME,
        str(world["number"]),
        PHONE,
        CONTACT_PHONE,
        CONTACT_NAME,
        "139****5678",
        "136****4321",
        "保密标签",
    )


def _snapshot() -> tuple:
    with session_scope() as session:
        rows = session.exec(select(Customer)).scalars().all()
        customers_now = [(c.id, c.name, c.phone_enc, c.updated_at, c.grade_override) for c in rows]
        contacts = session.exec(
            select(CustomerContact.id, CustomerContact.name, CustomerContact.phone_enc)
        ).all()
        changes = session.exec(select(func.count(CustomerChange.id))).scalar_one()
    return customers_now, sorted(tuple(c) for c in contacts), changes


def _denials(actor_id: int) -> list[str]:
    with session_scope() as session:
        return list(
            session.exec(
                select(AuditEntry.action)
                .where(AuditEntry.actor_id == actor_id, AuditEntry.outcome == "denied")
                .order_by(AuditEntry.seq)
            ).scalars()
        )


@pytest.mark.parametrize("username", ROLES)
def test_opening_a_customer_page_sends_them_home_with_nothing_loaded(world, username):
    root, listing, profile, form = _logged_in(username)
    cid = str(world["customer"])
    _sent_home(listing.load())
    profile.router = _router("/customers/[cid]", cid=cid)
    _sent_home(profile.load())
    form.router = _router("/customers/new")
    _sent_home(form.load())
    form.router = _router("/customers/[cid]/edit", cid=cid)
    _sent_home(form.load())
    assert listing.rows == [] and listing.total == 0 and listing.tags == []
    assert profile.name == profile.number == "" and profile.contacts == []
    assert (
        form.prefill == FieldValues()
        and form.placeholders == FieldValues()
        and form.contact_rows == []
    )
    text = _state_text(root)
    for value in _customer_values(world):
        assert value not in text, value
    denied = _denials(world[username])
    assert len(denied) == 4 and all(a.startswith("page.open:") for a in denied), denied


@pytest.mark.parametrize("username", ROLES)
def test_every_customer_handler_called_anyway_is_refused(world, username):
    root, listing, profile, form = _logged_in(username)
    denied = t("error.permission_denied", "en")
    before = _snapshot()

    # 客户查询: the search box and the filters
    assert _toasts(listing.search({"q": PHONE}), denied)
    assert _toasts(listing.search({"q": NAME[:2]}), denied)
    assert _toasts(listing.set_filter("f_grade", "E"), denied)
    assert _toasts(listing.clear(), denied)
    assert listing.rows == [] and listing.total == 0

    # the profile, as if a browser had put a customer id into the page's state
    profile.cid = int(world["customer"])
    assert _toasts(profile.set_tab("history"), denied)
    assert _toasts(profile.history_next(), denied)
    assert profile.history == [] and profile.history_total == 0
    profile.ask_reveal("phone", "Mobile")
    assert profile.reveal({"reason_choice": "serve_customer", "reason_text": ""}) is None
    assert profile.reveal_error == denied and profile.revealed_value == ""
    assert profile.save_verification({"status": "verified", "method": "other"}) is None
    assert profile.dialog_error == denied
    assert profile.save_grade({"grade": "A", "reason": "VIP of a partner company"}) is None
    assert profile.dialog_error == denied

    # the form: create, and edit a customer the page never loaded
    assert form.submit({"name": "新客户", "phone": "13700001111"}) is None
    assert form.form_error == denied
    form.editing_id, form.kind = int(world["customer"]), "organisation"
    form.contact_rows = [ContactRow(key="r1")]
    assert form.submit({"name": "改名", "contact_name_r1": "某人"}) is None
    assert form.form_error == denied and form.prefill == FieldValues()

    assert _snapshot() == before
    text = _state_text(root)
    for value in _customer_values(world):
        assert value not in text, value
    assert _denials(world[username]) == [
        "customer_search.search_customers",
        "customer_search.search_customers",
        "customer_search.search_customers",
        "customer_search.search_customers",
        "customer_profile.change_history",
        "customer_profile.change_history",
        "customer_profile.reveal_field",
        "customers.set_verification",
        "customers.override_grade",
        "customers.find_duplicates",
        "customers.create_customer",
        "customers.update_customer",
    ]
