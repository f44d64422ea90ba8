"""The customer pages' states called directly: a loaded profile holds only masked values, a reveal
puts the one value in `revealed_value` alone and leaving the page clears it (SPEC §8); the grade
override handler refuses a role without customer.grade_override."""

from __future__ import annotations

from datetime import date

import pytest
import reflex as rx
from helpers import _staff, _staff_token
from reflex.istate.data import RouterData
from sqlalchemy import select

from custapp.db import session_scope
from custapp.i18n import t
from custapp.models import AuditEntry, Customer, CustomerChange
from custapp.pages.customer_profile import ProfileState
from custapp.pages.customers import CustomersState
from custapp.security.validators import make_cn_id
from custapp.services import customer_search, customers
from custapp.services.actor import system_actor
from custapp.states.session import SessionState

PHONE = "13912345678"
ID_NUMBER = make_cn_id("110105", date(1990, 5, 17), 123)
ADDRESS = "北京市朝阳区建国路八十八号院三号楼"


def _customer() -> int:
    with session_scope() as session:
        ref = customers.create_customer(
            session,
            actor=system_actor("test"),
            data=customers.CustomerInput(
                name="测试客户", phone=PHONE, id_number=ID_NUMBER, address=ADDRESS
            ),
        )
    return ref.id


def _router(path: str, **params: str) -> RouterData:
    return RouterData.from_router_data(
        {
            "pathname": path,
            "asPath": path.replace("[cid]", params.get("cid", "")),
            "query": params,
            "headers": {"origin": "http://localhost:3000"},
        }
    )


def _logged_in(username: str) -> tuple[rx.State, ProfileState, CustomersState]:
    """A fresh state tree, as the memory state manager builds one per browser tab."""
    token = _staff_token(username)
    root = rx.State(_reflex_internal_init=True)
    session_state = root.substates[SessionState.get_name()]
    profile = root.get_substate(ProfileState.get_full_name().split("."))
    listing = session_state.substates[CustomersState.get_name()]
    assert isinstance(profile, ProfileState) and isinstance(listing, CustomersState)
    session_state.token = token
    session_state.locale = "en"
    return root, profile, listing


def _open_profile(profile: ProfileState, cid: int) -> None:
    profile.router = _router("/customers/[cid]", cid=str(cid))
    assert profile.load() is None  # no redirect, no error toast
    assert profile.cid == cid and profile.name == "测试客户"


def _holders(root: rx.State, secret: str) -> list[str]:
    """Every var (frontend, computed and backend) of every state in the tree whose value holds
    `secret`, as "State.var"."""
    found, stack = [], [root]
    while stack:
        state = stack.pop()
        cls = type(state)
        names = {*cls.get_fields(), *cls.computed_vars}
        for name in sorted(names):
            if name in ("substates", "parent_state"):
                continue
            try:
                value = getattr(state, name)
            except Exception as exc:  # a computed var that cannot run here is no holder
                value = f"<{exc!r}>"
            if secret in repr(value):
                found.append(f"{cls.__name__}.{name}")
        stack.extend(state.substates.values())
    return found


@pytest.fixture
def world(db) -> dict[str, int]:
    return {
        "desk": _staff("front.desk", "front_desk"),
        "customer": _customer(),
    }


def test_a_loaded_profile_and_list_hold_no_plaintext(world):
    root, profile, listing = _logged_in("front.desk")
    assert listing.load() is None
    assert [row.name for row in listing.rows] == ["测试客户"]
    _open_profile(profile, world["customer"])
    shown = {s.field: s.masked for s in profile.sensitive}
    assert shown["phone"] == "139****5678"
    assert shown["id_number"].startswith("110") and "*" in shown["id_number"]
    assert shown["address"].endswith("****")
    assert _holders(root, "139****5678")  # the walk does see the loaded values
    for secret in (PHONE, ID_NUMBER, ADDRESS):
        assert _holders(root, secret) == [], secret


def test_a_reveal_puts_the_one_value_in_revealed_value_and_leave_clears_it(world):
    root, profile, _ = _logged_in("front.desk")
    _open_profile(profile, world["customer"])
    profile.ask_reveal("phone", "Mobile")
    assert profile.reveal_open
    after = profile.reveal({"reason_choice": "", "reason_text": "customer asked for a callback"})
    assert after is ProfileState.expire_reveal  # the 60-second timer, nothing else
    assert profile.reveal_error == "" and not profile.reveal_open
    assert (profile.revealed_field, profile.revealed_value) == ("phone", PHONE)
    assert _holders(root, PHONE) == ["ProfileState.revealed_value"]
    for secret in (ID_NUMBER, ADDRESS):
        assert _holders(root, secret) == [], secret
    with session_scope() as session:
        entry = session.exec(
            select(AuditEntry).where(AuditEntry.action == "customer.reveal")
        ).scalar_one()
    assert entry.actor_id == world["desk"] and entry.customer_id == world["customer"]
    assert "phone" in (entry.fields or "") and PHONE not in repr(entry.__dict__)

    profile.leave()
    assert (profile.revealed_field, profile.revealed_value) == ("", "")
    assert _holders(root, PHONE) == []


def test_a_reveal_without_a_reason_shows_nothing(world):
    root, profile, _ = _logged_in("front.desk")
    _open_profile(profile, world["customer"])
    profile.ask_reveal("id_number", "ID")
    assert profile.reveal({"reason_choice": "", "reason_text": ""}) is None
    assert profile.reveal_error == t("customer.error.reason_required", "en")
    assert profile.revealed_value == ""
    assert _holders(root, ID_NUMBER) == []


def test_reopening_a_profile_clears_an_earlier_reveal(world):
    root, profile, _ = _logged_in("front.desk")
    _open_profile(profile, world["customer"])
    profile.ask_reveal("address", "Address")
    profile.reveal({"reason_choice": "correct_record", "reason_text": ""})
    assert profile.revealed_value == ADDRESS
    _open_profile(profile, world["customer"])
    assert profile.revealed_value == "" and _holders(root, ADDRESS) == []


def test_a_new_page_load_of_the_tab_clears_a_reveal(world):
    """A full page load runs no unmount; the hydrate that sends the whole tree to the new page
    resets client storage first, and the profile clears its reveal there."""
    root, profile, _ = _logged_in("front.desk")
    _open_profile(profile, world["customer"])
    profile.ask_reveal("phone", "Mobile")
    profile.reveal({"reason_choice": "serve_customer", "reason_text": ""})
    assert profile.revealed_value == PHONE
    root._reset_client_storage()  # what Reflex's hydrate runs before root.dict()
    assert profile.revealed_value == "" and _holders(root, PHONE) == []


def _grade_snapshot(cid: int) -> tuple:
    with session_scope() as session:
        customer = session.get(Customer, cid)
        changes = session.exec(
            select(CustomerChange.id).where(CustomerChange.customer_id == cid)
        ).all()
        return (
            customer.grade_override,
            customer.grade_override_reason,
            customer.updated_at,
            len(changes),
        )


def test_front_desk_cannot_override_the_grade_through_the_handler(world):
    _, profile, _ = _logged_in("front.desk")
    _open_profile(profile, world["customer"])
    assert profile.can_override is False  # the page hides the button ...
    before = _grade_snapshot(world["customer"])
    # ... and the handler, called anyway, refuses
    result = profile.save_grade({"grade": "A", "reason": "VIP of a partner company"})
    assert result is None
    assert profile.dialog_error == t("error.permission_denied", "en")
    assert _grade_snapshot(world["customer"]) == before
    with session_scope() as session:
        denied = session.exec(
            select(AuditEntry.action).where(
                AuditEntry.actor_id == world["desk"], AuditEntry.outcome == "denied"
            )
        ).all()
    assert [tuple(row) for row in denied] == [("customers.override_grade",)]


def test_a_count_past_the_cap_shows_as_cap_plus(world, monkeypatch):
    for _ in range(3):
        _customer()
    root, _, listing = _logged_in("front.desk")
    assert listing.load() is None
    assert (listing.total, listing.total_text) == (4, "4")
    monkeypatch.setattr(customer_search, "COUNT_CAP", 2)
    listing.page = 1
    listing._fetch()
    assert listing.total_text == "2+"
