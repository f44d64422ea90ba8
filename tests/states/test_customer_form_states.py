"""The customer form's state called directly: an organisation's contact persons are listed with
masked phones (a stored phone never enters any state var), changed, added and removed through
the form, and a bad row gets its message on that row with nothing saved."""

from __future__ import annotations

import pytest
import reflex as rx
from helpers import _staff, _staff_token, _state_text
from reflex.istate.data import RouterData
from sqlalchemy import func, select

from custapp.db import session_scope
from custapp.i18n import t
from custapp.models import Customer, CustomerChange, CustomerContact
from custapp.pages.customer_form import CustomerFormState
from custapp.services import customer_fields, customers, datakeys
from custapp.services.actor import system_actor
from custapp.states.session import SessionState

PHONE_1, PHONE_2, PHONE_3 = "13912345678", "13687654321", "13700001111"


@pytest.fixture
def world(db) -> dict[str, int]:
    desk = _staff("front.desk", "front_desk")
    with session_scope() as session:
        ref = customers.create_customer(
            session,
            actor=system_actor("test"),
            data=customers.CustomerInput(
                kind="organisation",
                name="某某贸易有限公司",
                contacts=[
                    customers.ContactInput("王经理", "采购", PHONE_1),
                    customers.ContactInput("李会计", "", PHONE_2),
                ],
            ),
        )
    return {"desk": desk, "customer": ref.id}


def _form(path: str, **params: str) -> tuple[rx.State, CustomerFormState]:
    token = _staff_token("front.desk")
    root = rx.State(_reflex_internal_init=True)
    session_state = root.substates[SessionState.get_name()]
    session_state.token, session_state.locale = token, "en"
    form = session_state.substates[CustomerFormState.get_name()]
    form.router = RouterData.from_router_data(
        {
            "pathname": path,
            "asPath": path.replace("[cid]", params.get("cid", "")),
            "query": params,
            "headers": {"origin": "http://localhost:3000"},
        }
    )
    assert form.load() is None
    return root, form


def _contacts(customer_id: int) -> list[tuple[int, str, str | None, str]]:
    with session_scope() as session:
        customer = session.get(Customer, customer_id)
        return [
            (
                c.id,
                c.name,
                c.title,
                datakeys.decrypt(
                    session,
                    customer.data_key_id,
                    c.phone_enc,
                    context=customers.CONTACT_PHONE_CONTEXT,
                ),
            )
            for c in session.exec(
                select(CustomerContact)
                .where(CustomerContact.customer_id == customer_id)
                .order_by(CustomerContact.id)
            ).scalars()
        ]


def _change_count() -> int:
    with session_scope() as session:
        return session.exec(select(func.count(CustomerChange.id))).scalar_one()


def _edit_form(world) -> tuple[rx.State, CustomerFormState]:  # noqa: ANN001
    return _form("/customers/[cid]/edit", cid=str(world["customer"]))


def test_the_edit_form_lists_contacts_with_masked_phones_only(world):
    root, form = _edit_form(world)
    assert [(r.name, r.title, r.masked) for r in form.contact_rows] == [
        ("王经理", "采购", "139****5678"),
        ("李会计", "", "136****4321"),
    ]
    assert all(r.id > 0 for r in form.contact_rows)
    text = _state_text(root)
    assert "139****5678" in text  # the walk sees the rows
    for phone in (PHONE_1, PHONE_2):
        assert phone not in text


def test_contacts_are_changed_added_and_removed_through_the_form(world):
    root, form = _edit_form(world)
    wang, li = form.contact_rows
    form.remove_contact(li.key)
    form.add_contact()
    new = form.contact_rows[-1]
    assert new.id == 0 and len(form.contact_rows) == 2
    result = form.submit(
        {
            "name": "某某贸易有限公司",
            f"contact_name_{wang.key}": "王经理",
            f"contact_title_{wang.key}": "采购总监",
            f"contact_phone_{wang.key}": "",  # keep the stored phone
            f"contact_name_{new.key}": "孙工",
            f"contact_title_{new.key}": "",
            f"contact_phone_{new.key}": PHONE_3,
        }
    )
    assert form.form_error == "" and isinstance(result, list)  # toast and redirect
    stored = _contacts(world["customer"])
    assert [(c[1], c[2], c[3]) for c in stored] == [
        ("王经理", "采购总监", PHONE_1),
        ("孙工", None, PHONE_3),
    ]
    assert stored[0][0] == wang.id  # changed in place
    with session_scope() as session:
        bidx = customer_fields.blind_index("phone", PHONE_3)
        assert session.exec(
            select(CustomerContact.customer_id).where(CustomerContact.phone_bidx == bidx)
        ).all() == [(world["customer"],)]
    assert PHONE_3 not in _state_text(root) and PHONE_1 not in _state_text(root)


def test_a_bad_contact_row_gets_its_message_and_nothing_is_saved(world):
    _, form = _edit_form(world)
    form.add_contact()
    wang, li, new = form.contact_rows
    before = (_contacts(world["customer"]), _change_count())
    result = form.submit(
        {
            "name": "某某贸易有限公司",
            f"contact_name_{wang.key}": "王经理",
            f"contact_title_{wang.key}": "采购总监",
            f"contact_name_{li.key}": "李会计",
            f"contact_name_{new.key}": "",
            f"contact_phone_{new.key}": "123",
        }
    )
    assert result is None
    assert form.form_error == t("form.has_errors", "en")
    assert [r.error for r in form.contact_rows] == [
        "",
        "",
        t("customer.error.contact_name_required", "en"),
    ]
    assert (_contacts(world["customer"]), _change_count()) == before


def test_removing_the_last_contact_method_is_refused_on_the_form(world):
    _, form = _edit_form(world)
    for row in list(form.contact_rows):
        form.remove_contact(row.key)
    before = (_contacts(world["customer"]), _change_count())
    assert form.submit({"name": "某某贸易有限公司"}) is None
    required = t("customer.error.contact_required", "en")
    assert form.errors == {"phone": required, "contacts": required}
    assert (_contacts(world["customer"]), _change_count()) == before


def test_a_new_organisation_gets_several_contacts(world):
    _, form = _form("/customers/new")
    form.set_kind("organisation")
    form.add_contact()
    first, second = form.contact_rows
    result = form.submit(
        {
            "name": "新建有限公司",
            "confirm_duplicates": "on",
            "notice_shown": "on",
            f"contact_name_{first.key}": "甲",
            f"contact_phone_{first.key}": PHONE_3,
            f"contact_name_{second.key}": "乙",
            f"contact_title_{second.key}": "经理",
            f"contact_phone_{second.key}": "010-65521234",
        }
    )
    assert form.form_error == "" and isinstance(result, list)
    with session_scope() as session:
        cid = session.exec(select(Customer.id).where(Customer.name == "新建有限公司")).scalar_one()
    assert [(c[1], c[2], c[3]) for c in _contacts(cid)] == [
        ("甲", None, PHONE_3),
        ("乙", "经理", "010-65521234"),
    ]
