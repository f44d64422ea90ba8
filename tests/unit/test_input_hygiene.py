"""Garbage in text is refused where it enters the services (issue 14, item 8): a NUL byte, a bidi
override or a name of zero-width characters gets a message next to its field, and nothing of the
call is written, on SQLite and PostgreSQL."""

from __future__ import annotations

import dataclasses
import importlib
import inspect
import pkgutil
from collections.abc import Iterator

import pytest
import sqlalchemy as sa
from sqlmodel import SQLModel

import custapp.services
from custapp.db import get_engine, session_scope
from custapp.models import Customer
from custapp.security.permissions import ALL_ROLES, MEMBER, ROLE_PERMISSIONS
from custapp.security.validators import TEXT_BIDI, TEXT_CONTROL, TEXT_INVISIBLE
from custapp.services import bootstrap, customers, service_log, stores
from custapp.services.actor import Actor, system_actor
from custapp.services.customers import ContactInput, CustomerInput
from custapp.services.errors import ValidationFailed
from custapp.services.guard import OPERATIONS
from tests.unit.test_permissions_table import (
    FACTORIES,
    MEMBER_CUSTOMER,
    SECOND_PERMISSIONS,
    World,
    _function,
    _user,
)

NUL = "张\x00三"
BIDI = "\u202e反转abc"
ZERO_WIDTH = "\u200b\u200c\u200d\ufeff"
# File names come from the user's disk: attachments keep only their printable characters.
CLEANED = {"filename"}


def _rows() -> dict[str, int]:
    """How many rows each table holds: what "nothing was written" compares."""
    with get_engine().connect() as conn:
        return {
            table.name: conn.execute(sa.select(sa.func.count()).select_from(table)).scalar_one()
            for table in SQLModel.metadata.sorted_tables
        }


def _spoiled(kwargs: dict, bad: str) -> Iterator[tuple[str, dict]]:
    """Each way to put `bad` into one text input of a call: (the field named, the kwargs)."""
    for name, value in kwargs.items():
        if name in CLEANED or name == MEMBER_CUSTOMER:
            continue
        if isinstance(value, str):
            yield name, {**kwargs, name: bad}
        elif dataclasses.is_dataclass(value):
            for field in dataclasses.fields(value):
                if isinstance(getattr(value, field.name), str):
                    yield (
                        field.name,
                        {**kwargs, name: dataclasses.replace(value, **{field.name: bad})},
                    )
        elif isinstance(value, dict) and value:
            yield name, {**kwargs, name: {**value, next(iter(value)): bad}}
        elif isinstance(value, list) and value and isinstance(value[0], str):
            yield name, {**kwargs, name: [bad, *value[1:]]}
        elif isinstance(value, list) and value and isinstance(value[0], tuple):
            yield name, {**kwargs, name: [(bad, *value[0][1:]), *value[1:]]}


def _holder(operation: str) -> str:
    needed = {OPERATIONS[operation], SECOND_PERMISSIONS.get(operation, OPERATIONS[operation])}
    return next(role for role in ALL_ROLES if needed <= ROLE_PERMISSIONS[role])


def test_every_text_input_of_every_operation_refuses_garbage_and_writes_nothing(db):
    with session_scope() as session:
        store_id = stores.create_store(session, actor=system_actor("test"), code="HQ", name="总店")
        target_id = _user(session, "target.user", "front_desk")
    checked = set()
    for number, operation in enumerate(sorted(OPERATIONS)):
        role = _holder(operation)
        with session_scope() as session:
            actor_id = _user(session, f"actor.{number}", role)
            # the factories name what they create after World.role: one name per operation here
            world = World(target_id, store_id, actor_id, f"op{number}")
            kwargs = FACTORIES[operation](session, world)
        actor = Actor(
            user_id=actor_id,
            name=f"actor.{role}",
            kind="member" if role == MEMBER else "staff",
            roles=frozenset({role}),
            customer_id=kwargs.pop(MEMBER_CUSTOMER, None),
        )
        before = _rows()
        for bad, key in ((NUL, TEXT_CONTROL), (BIDI, TEXT_BIDI)):
            for field, spoiled in _spoiled(kwargs, bad):
                with pytest.raises(ValidationFailed) as refused, session_scope() as session:
                    _function(operation)(session, actor=actor, **spoiled)
                assert refused.value.errors == {field: key}, (operation, field)
                checked.add(f"{operation}:{field}")
        assert _rows() == before, operation
    # the walk reached the free text of every area, not only codes
    assert {
        "customers.create_customer:name",
        "customers.update_customer:notes",
        "service_log.add_entry:content",
        "complaints.file_complaint:description",
        "complaints.member_file_complaint:description",
        "complaints.add_note:body",
        "complaints.close:root_cause",
        "users.create_user:display_name",
        "stores.create_store:name",
        "gifts.create_gift:name_zh",
        "membership.update_tier:name_zh",
        "marketing.start_campaign:subject",
        "compliance.update_draft:body_zh",
        "compliance.update_purpose:description_zh",
        "rights.member_file_request:detail",
        "approvals.request_compensation:reason",
        "attachments.add_attachment:paper_location",
        "provision.add_recipient:oversight_note",
        "orders.post_purchase:lines",
        "consent.record_consents:evidence_ref",
    } <= checked


@pytest.fixture
def desk(db) -> Actor:
    with session_scope() as session:
        store_id = stores.create_store(session, actor=system_actor("test"), code="HQ", name="总店")
        user_id = _user(session, "desk.one", "front_desk")
    return Actor(
        user_id=user_id,
        name="desk.one",
        roles=frozenset({"front_desk"}),
        store_ids=(store_id,),
        store_id=store_id,
    )


def _create_errors(desk: Actor, data: CustomerInput) -> dict[str, str]:
    before = _rows()
    with pytest.raises(ValidationFailed) as refused, session_scope() as session:
        customers.create_customer(session, actor=desk, data=data)
    assert _rows() == before
    return refused.value.errors


def test_a_new_customer_with_garbage_is_refused_field_by_field(desk):
    data = CustomerInput(
        name=ZERO_WIDTH,
        phone="13912345678",
        address="上海市\u202e路100号",
        employer="公司\x00",
        notes="备注",
        tags=["VIP", "\u2066老客户"],
    )
    assert _create_errors(desk, data) == {
        "name": TEXT_INVISIBLE,
        "address": TEXT_BIDI,
        "employer": TEXT_CONTROL,
        "tags": TEXT_BIDI,
    }
    assert _create_errors(desk, CustomerInput(name="\u3164", phone="13912345678")) == {
        "name": TEXT_INVISIBLE
    }
    organisation = CustomerInput(
        kind="organisation",
        name="某某有限公司",
        contacts=[ContactInput(name="王经理\u200f", phone="13912345678")],
    )
    assert _create_errors(desk, organisation) == {"contacts": TEXT_BIDI}


def test_line_breaks_are_kept_in_notes_and_refused_in_a_name(desk):
    assert _create_errors(desk, CustomerInput(name="张\n三", phone="13912345678")) == {
        "name": TEXT_CONTROL
    }
    with session_scope() as session:
        created = customers.create_customer(
            session,
            actor=desk,
            data=CustomerInput(name="张三 🙂", phone="13912345678", notes="第一行\n\t第二行"),
        )
        service_log.add_entry(
            session, actor=desk, customer_id=created.id, kind="call", content="来电\n已回复"
        )
    with session_scope() as session:
        assert session.get(Customer, created.id).name == "张三 🙂"


def test_an_edit_with_garbage_leaves_the_stored_customer_as_it_was(desk):
    with session_scope() as session:
        created = customers.create_customer(
            session, actor=desk, data=CustomerInput(name="反转abc", phone="13912345678")
        )
    before = _rows()
    with pytest.raises(ValidationFailed) as refused, session_scope() as session:
        customers.update_customer(
            session,
            actor=desk,
            customer_id=created.id,
            data=CustomerInput(name="\u202e反转abc", phone="13912345678", address="新地址"),
        )
    assert refused.value.errors == {"name": TEXT_BIDI}
    assert _rows() == before
    with session_scope() as session:
        assert session.get(Customer, created.id).name == "反转abc"


def test_the_command_line_refuses_a_garbage_display_name(db):
    before = _rows()
    with pytest.raises(ValidationFailed) as refused, session_scope() as session:
        bootstrap.create_staff_user(
            session,
            actor=system_actor("cli"),
            username="new.admin",
            display_name="管理员\u202e",
            roles=["sysadmin"],
            password="Correct-horse-42",
        )
    assert refused.value.errors == {"display_name": TEXT_BIDI}
    assert _rows() == before


# Public service functions that take text but are no @requires operation: each is internal (its
# text comes from code, or from an operation that checked it) or checks its input itself.
UNGUARDED = {
    "audit.record": "internal",
    "auth.login_staff": "a login: nothing typed is stored (a keyed hash at most)",
    "auth.login_member": "a login: nothing typed is stored (a keyed hash at most)",
    "auth.reserve_member_attempt": "a login throttle: keys of no typed text",
    "auth.resolve_session": "internal",
    "auth.logout": "internal",
    "auth.end_sessions": "internal",
    "auth.change_password": "a password is hashed, never stored as text",
    "auth.set_locale": "one of the catalogue's locales",
    "bootstrap.create_staff_user": "checks its display name (test above); username by pattern",
    "bootstrap.create_member_login": "internal: demo data and tests",
    "consent.withdraw_by_request": "internal: rights.close_request",
    "consent_rules.permits": "internal",
    "consent_rules.why_not": "internal",
    "consent.merge_states": "internal: merge.merge_customers",
    "customer_input.validate": "internal: customers.create_customer / update_customer",
    "datakeys.create_data_key": "internal",
    "datakeys.encrypt": "internal",
    "datakeys.decrypt": "internal",
    "member_access.activate": "phone, one-time code and password: none stored as text",
    "membership.record_stored_value": "internal",
    "outbox.purpose_allowed": "internal",
    "outbox.queue_message": "internal: campaigns and greetings checked theirs",
    "outbox.role_holders": "internal",
    "outbox.alert_users": "internal: message keys",
    "outbox.alert_role": "internal: message keys",
    "outbox.cancel_for_purpose": "internal",
    "points.redeem": "internal: gifts",
    "job_queue.enqueue": "internal: ids and settings from an operation that checked its input",
    "job_queue.latest": "internal: a job kind",
    "job_queue.list_jobs": "internal: a job kind",
    "job_queue.claimable": "internal: the runner (job kinds)",
    "job_queue.claim_next": "internal: the runner (its owner name, job kinds)",
    "job_queue.claim": "internal: the runner (its owner name)",
    "job_queue.hold": "internal: the runner (its owner name)",
    "job_queue.heartbeat": "internal: the runner (its owner name, the handler's checkpoint)",
    "job_queue.complete": "internal: the runner (its owner name, the handler's result)",
    "job_queue.fail": "internal: the runner (its owner name, a message key)",
    "job_queue.release": "internal: the runner (its owner name)",
    "rights_notices.tell_customer": "internal: message keys (rights.close_request, the hooks)",
    "audit_anchors.reanchor_after_restore": "internal: the restore (a MAC from the manifest)",
    "destruction_run.blockers": "internal: the queue and the erasure panel (a scope name)",
    "destruction_run.audit_destruction": "internal: the run (its own register entry)",
    "backup_jobs.record_backup": "internal: `custapp backup create` (a manifest, a message key)",
}


def _takes_text(fn) -> bool:  # noqa: ANN001
    return any(
        p.kind == p.KEYWORD_ONLY and any(w in str(p.annotation) for w in ("str", "Input", "dict"))
        for p in inspect.signature(inspect.unwrap(fn)).parameters.values()
    )


def test_every_service_taking_text_is_a_checked_operation_or_known_internal():
    found = set()
    for _, name, _ in pkgutil.iter_modules(custapp.services.__path__):
        module = importlib.import_module(f"custapp.services.{name}")
        for attr, fn in vars(module).items():
            if (
                attr.startswith("_")
                or not inspect.isfunction(fn)
                or fn.__module__ != module.__name__
            ):
                continue
            params = inspect.signature(inspect.unwrap(fn)).parameters
            if "session" in params and not hasattr(fn, "permission") and _takes_text(fn):
                found.add(f"{name}.{attr}")
    assert found == set(UNGUARDED)
