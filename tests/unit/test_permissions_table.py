"""Every service operation × every role: refused (and audited) exactly when the role lacks the
permission (SPEC §1: every check happens on the server, in the service layer).

A new @requires operation without an entry in FACTORIES fails test_every_operation_has_a_factory,
so no operation can skip this table.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable
from dataclasses import dataclass

import pytest
from sqlalchemy import func, select
from sqlmodel import Session

import custapp.services
from custapp import clock
from custapp.db import session_scope
from custapp.models import AuditEntry, Store, User, UserRole
from custapp.security.permissions import ALL_ROLES, MEMBER, ROLE_PERMISSIONS
from custapp.services import audit, customer_search, customers, outbox
from custapp.services.actor import Actor, system_actor
from custapp.services.errors import PermissionDenied
from custapp.services.guard import OPERATIONS

SERVICE_MODULES = {
    name: importlib.import_module(f"custapp.services.{name}")
    for _, name, _ in pkgutil.iter_modules(custapp.services.__path__)
}


@dataclass(frozen=True)
class World:
    """What the operations act on: a target staff user, a store, the acting user."""

    target_id: int
    store_id: int
    actor_id: int
    role: str


# operation -> kwargs for a valid call (besides session and actor); may add rows it needs
FACTORIES: dict[str, Callable[[Session, World], dict]] = {
    "users.list_users": lambda s, w: {"query": "", "page": 1},
    "users.create_user": lambda s, w: {
        "username": f"new.{w.role}",
        "display_name": "New",
        "roles": ["front_desk"],
        "store_ids": [w.store_id],
    },
    "users.set_roles": lambda s, w: {"user_id": w.target_id, "roles": ["cs_manager"]},
    "users.set_stores": lambda s, w: {"user_id": w.target_id, "store_ids": [w.store_id]},
    "users.set_active": lambda s, w: {"user_id": w.target_id, "active": False},
    "users.reset_password": lambda s, w: {"user_id": w.target_id},
    "users.list_stores": lambda s, w: {},
    "stores.create_store": lambda s, w: {"code": f"S-{w.role.upper()[:8]}", "name": "分店"},
    "audit.check_chain": lambda s, w: {},
    "audit.list_entries": lambda s, w: {"filters": audit.AuditFilter(), "page": 1},
    "outbox.list_inbox": lambda s, w: {"page": 1},
    "outbox.mark_read": lambda s, w: {
        "message_id": outbox.queue_message(
            s,
            channel="in_app",
            purpose="staff_alert",
            subject="hello",
            body="world",
            user_id=w.actor_id,
        )
    },
    "customer_search.search_customers": lambda s, w: {
        "query": "13800138000",
        "filters": customer_search.CustomerFilter(),
    },
    "customer_search.list_tags": lambda s, w: {},
    "customer_search.duplicate_groups": lambda s, w: {"page": 1},
    "customers.create_customer": lambda s, w: {"data": _new_customer()},
    "customers.find_duplicates": lambda s, w: {"data": _new_customer()},
    "customers.update_customer": lambda s, w: {
        "customer_id": _customer(s),
        "data": customers.CustomerInput(name="李四", phone="13800138001"),
    },
    "customers.set_verification": lambda s, w: {
        "customer_id": _customer(s),
        "status": "verified",
        "method": "id_card_at_counter",
    },
    "customers.override_grade": lambda s, w: {
        "customer_id": _customer(s),
        "grade": "A",
        "reason": "年度大客户",
    },
    "customer_profile.get_profile": lambda s, w: {"customer_id": _customer(s)},
    "customer_profile.reveal_field": lambda s, w: {
        "customer_id": _customer(s),
        "field": "phone",
        "reason": "回电确认预订",
    },
    "customer_profile.change_history": lambda s, w: {"customer_id": _customer(s)},
    "customer_profile.list_stale_verification": lambda s, w: {"page": 1},
    # --- orders and classification ---
    "orders.post_purchase": lambda s, w: {
        "customer_id": _customer(s),
        "lines": [("美式咖啡", 2, 1800)],
        "payments": [("wechat", 3600)],
    },
    "orders.post_refund": lambda s, w: {
        "order_id": SERVICE_MODULES["orders"]
        .post_purchase(
            s,
            actor=system_actor("test"),
            customer_id=_customer(s),
            lines=[("美式咖啡", 1, 1800)],
            payments=[("cash", 1800)],
        )
        .id,
        "amount_fen": 800,
        "payments": [("cash", 800)],
        "reason": "商品退货",
    },
    "orders.list_orders": lambda s, w: {"customer_id": _customer(s), "page": 1},
    "classification.reclassify_now": lambda s, w: {},
    # --- service log and follow-ups ---
    "service_log.add_entry": lambda s, w: {
        "customer_id": _customer(s),
        "kind": "call",
        "content": "电话回访，客户对服务满意",
    },
    "service_log.list_entries": lambda s, w: {"customer_id": _customer(s)},
    "service_log.complete_follow_up": lambda s, w: {
        # the acting user's own follow-up: only the permission decides
        "entry_id": SERVICE_MODULES["service_log"].add_entry(
            s,
            actor=Actor(user_id=w.actor_id, name="owner", roles=frozenset({"front_desk"})),
            customer_id=_customer(s),
            kind="call",
            content="约定下周回访",
            next_follow_up=clock.local_today(),
        )
    },
    "service_log.my_follow_ups": lambda s, w: {"page": 1},
    # --- attachments ---
    "attachments.add_attachment": lambda s, w: {
        "customer_id": _customer(s),
        "category": "contract",
        "paper_location": "档案室 1 号柜",
    },
    "attachments.list_attachments": lambda s, w: {"customer_id": _customer(s)},
    "attachments.open_attachment": lambda s, w: {
        "attachment_id": SERVICE_MODULES["attachments"]
        .add_attachment(
            s,
            actor=system_actor("test"),
            customer_id=_customer(s),
            category="id_copy",
            filename="id.png",
            content=b"\x89PNG\r\n\x1a\n" + bytes(24),
        )
        .id,
        "reason": "核实客户身份",
    },
    # --- merge and data quality ---
    "merge.merge_customers": lambda s, w: {
        "survivor_id": _customer(s),
        "merged_id": _customer(s),
        "reason": "同一客户重复建档",
    },
    "merge.merge_preview": lambda s, w: {"survivor_id": _customer(s), "merged_id": _customer(s)},
    "merge.duplicate_review": lambda s, w: {"page": 1},
}

# Operations that check a second permission once the first passed (which one may depend on the
# arguments: reveal_field needs customer.reveal.l<level> of the field the factory names).
SECOND_PERMISSIONS: dict[str, str] = {
    "customer_profile.reveal_field": "customer.reveal.l1",
}


def _new_customer() -> customers.CustomerInput:
    return customers.CustomerInput(name="张三", phone="13800138000")


def _customer(session: Session) -> int:
    return customers.create_customer(session, actor=system_actor("test"), data=_new_customer()).id


def _function(operation: str) -> Callable:
    module, name = operation.split(".", 1)
    return getattr(SERVICE_MODULES[module], name)


def test_registry_holds_the_operations_of_every_service_module():
    assert {"users", "audit", "outbox", "stores"} <= {op.split(".")[0] for op in OPERATIONS}
    for operation, permission in OPERATIONS.items():
        assert _function(operation).permission == permission


def test_every_operation_has_a_factory():
    missing = sorted(set(OPERATIONS) - set(FACTORIES))
    assert not missing, f"add these operations to FACTORIES: {missing}"
    stale = sorted(set(FACTORIES) - set(OPERATIONS))
    assert not stale, f"FACTORIES names operations that no longer exist: {stale}"


def _user(session: Session, username: str, role: str | None) -> int:
    now = clock.now()
    user = User(
        kind="member" if role == MEMBER else "staff",
        username=username,
        display_name=username,
        created_at=now,
        updated_at=now,
    )
    session.add(user)
    session.flush()
    if role and role != MEMBER:
        session.add(UserRole(user_id=user.id, role=role, granted_at=now))
    return user.id


def _audit_rows(session: Session) -> int:
    return session.exec(select(func.count(AuditEntry.id))).scalar_one()


@pytest.mark.parametrize("operation", sorted(OPERATIONS))
def test_operation_is_refused_exactly_for_roles_without_its_permission(db, operation):
    permission = OPERATIONS[operation]
    call = _function(operation)
    factory = FACTORIES.get(operation)
    if factory is None:
        pytest.fail(f"{operation} has no entry in FACTORIES")
    needed = [
        permission,
        *([SECOND_PERMISSIONS[operation]] if operation in SECOND_PERMISSIONS else []),
    ]
    holders = [role for role in ALL_ROLES if set(needed) <= ROLE_PERMISSIONS[role]]
    assert holders, f"no role holds {needed}: nobody could ever call {operation}"

    with session_scope() as session:
        store = Store(code="HQ", name="总店", created_at=clock.now())
        session.add(store)
        session.flush()
        store_id = store.id
        target_id = _user(session, "target.user", "front_desk")

    for role in ALL_ROLES:
        with session_scope() as session:
            actor_id = _user(session, f"actor.{role}", role)
            kwargs = factory(session, World(target_id, store_id, actor_id, role))
        actor = Actor(
            user_id=actor_id,
            name=f"actor.{role}",
            kind="member" if role == MEMBER else "staff",
            roles=frozenset({role}),
        )
        with session_scope() as session:
            before = _audit_rows(session)
        if role in holders:
            with session_scope() as session:
                call(session, actor=actor, **kwargs)
            continue
        with pytest.raises(PermissionDenied), session_scope() as session:
            call(session, actor=actor, **kwargs)
        with session_scope() as session:
            assert _audit_rows(session) == before + 1, (operation, role)
            entry = session.exec(
                select(AuditEntry).order_by(AuditEntry.seq.desc()).limit(1)
            ).scalar_one()
        missing = next(p for p in needed if p not in ROLE_PERMISSIONS[role])
        assert (entry.outcome, entry.action, entry.actor_id, entry.reason) == (
            "denied",
            operation,
            actor_id,
            missing,
        ), role


def test_a_call_without_any_actor_is_refused_and_audited(db):
    with pytest.raises(PermissionDenied), session_scope() as session:
        audit.list_entries(session, actor=None, filters=audit.AuditFilter())
    with session_scope() as session:
        entry = session.exec(select(AuditEntry)).scalar_one()
    assert (entry.outcome, entry.action, entry.actor_name) == (
        "denied",
        "audit.list_entries",
        "anonymous",
    )
