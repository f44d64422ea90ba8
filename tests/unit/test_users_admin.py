"""User administration by sysadmin: temporary passwords, separation of duties, alerts, audit."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from custapp import clock
from custapp.db import session_scope
from custapp.models import AuditEntry, OutboxMessage, Store, User, UserRole
from custapp.security.permissions import (
    ALL_ROLES,
    ROLE_PERMISSIONS,
    SYSADMIN,
    is_customer_data_permission,
)
from custapp.services import auth, bootstrap, users
from custapp.services.actor import Actor, system_actor
from custapp.services.errors import DomainError, ValidationFailed

PASSWORD = "Correct-horse-42"


def _create(username: str, roles: list[str], *, active: bool = True) -> int:
    with session_scope() as session:
        user_id = bootstrap.create_staff_user(
            session,
            actor=system_actor("test"),
            username=username,
            display_name=username,
            roles=roles,
            password=PASSWORD,
        )
        session.get(User, user_id).is_active = active
    return user_id


@pytest.fixture
def admin(db) -> Actor:
    user_id = _create("root.admin", [SYSADMIN])
    return Actor(user_id=user_id, name="root.admin", roles=frozenset({SYSADMIN}))


@pytest.fixture
def compliance_ids(admin) -> list[int]:
    return [_create("comp.one", ["compliance"]), _create("comp.two", ["compliance"])]


def _audit(action: str) -> list[AuditEntry]:
    with session_scope() as session:
        return list(
            session.exec(
                select(AuditEntry).where(AuditEntry.action == action).order_by(AuditEntry.seq)
            ).scalars()
        )


def _alerts() -> list[OutboxMessage]:
    with session_scope() as session:
        return list(
            session.exec(
                select(OutboxMessage).where(OutboxMessage.purpose == "staff_alert")
            ).scalars()
        )


def _roles(user_id: int) -> set[str]:
    with session_scope() as session:
        return set(session.exec(select(UserRole.role).where(UserRole.user_id == user_id)).scalars())


def _create_user(admin: Actor, username: str, roles: list[str], store_ids=()):
    with session_scope() as session:
        return users.create_user(
            session,
            actor=admin,
            username=username,
            display_name=username,
            roles=roles,
            store_ids=list(store_ids),
        )


def test_created_user_logs_in_with_the_temporary_password_and_must_change_it(admin):
    issued = _create_user(admin, "new.clerk", ["front_desk"])
    with session_scope() as session:
        result = auth.login_staff(
            session, username="new.clerk", password=issued.temporary_password, ip=None
        )
    assert result.ok
    assert result.must_change_password
    with session_scope() as session:
        stored = session.get(User, issued.user_id).password_hash
    assert stored and issued.temporary_password not in stored


def test_sysadmin_cannot_change_own_roles(admin):
    with pytest.raises(DomainError) as refused, session_scope() as session:
        users.set_roles(session, actor=admin, user_id=admin.user_id, roles=["auditor"])
    assert refused.value.key == "users.error.self_assign"
    assert _roles(admin.user_id) == {SYSADMIN}
    assert _audit("user.role_grant") == []


def test_sysadmin_role_cannot_be_combined_with_another(admin):
    for other in ["front_desk", "cs_manager", "compliance", "auditor"]:
        with pytest.raises(ValidationFailed) as refused, session_scope() as session:
            users.create_user(
                session,
                actor=admin,
                username="mixed.user",
                display_name="mixed",
                roles=[SYSADMIN, other],
                store_ids=[],
            )
        assert refused.value.errors["roles"] == "users.error.sysadmin_exclusive", other
    with session_scope() as session:
        assert session.exec(select(User).where(User.username == "mixed.user")).first() is None


def test_existing_user_cannot_be_given_sysadmin_beside_another_role(admin):
    clerk = _create_user(admin, "some.clerk", ["front_desk"]).user_id
    with pytest.raises(ValidationFailed) as refused, session_scope() as session:
        users.set_roles(session, actor=admin, user_id=clerk, roles=["front_desk", SYSADMIN])
    assert refused.value.errors["roles"] == "users.error.sysadmin_exclusive"
    assert _roles(clerk) == {"front_desk"}


def test_sysadmin_holds_no_customer_data_permission():
    granted = ROLE_PERMISSIONS[SYSADMIN]
    assert "user.manage" in granted
    assert [p for p in granted if is_customer_data_permission(p)] == []
    # the predicate itself must recognise customer data, or the check above proves nothing
    customer_data = {p for role in ALL_ROLES for p in ROLE_PERMISSIONS[role]} - granted
    assert {"customer.read", "purchase.post", "points.adjust"} <= {
        p for p in customer_data if is_customer_data_permission(p)
    }


def test_every_role_grant_alerts_each_compliance_user(admin, compliance_ids):
    issued = _create_user(admin, "two.roles", ["front_desk", "cs_manager"])
    alerts = _alerts()
    assert sorted(a.user_id for a in alerts) == sorted(compliance_ids * 2)
    assert all(a.channel == "in_app" for a in alerts)
    grants = _audit("user.role_grant")
    assert sorted(g.fields for g in grants) == ["cs_manager", "front_desk"]
    assert {g.target_id for g in grants} == {str(issued.user_id)}
    assert {g.actor_id for g in grants} == {admin.user_id}

    with session_scope() as session:
        users.set_roles(session, actor=admin, user_id=issued.user_id, roles=["auditor"])
    assert len(_alerts()) == len(alerts) + len(compliance_ids)
    assert [g.fields for g in _audit("user.role_grant")][-1] == "auditor"
    assert sorted(r.fields for r in _audit("user.role_revoke")) == ["cs_manager", "front_desk"]


def test_disabled_compliance_users_get_no_alert(admin, compliance_ids):
    gone = _create("comp.gone", ["compliance"], active=False)
    _create_user(admin, "one.role", ["front_desk"])
    recipients = {a.user_id for a in _alerts()}
    assert recipients == set(compliance_ids)
    assert gone not in recipients


def test_every_admin_action_is_audited(admin):
    with session_scope() as session:
        store = Store(code="HQ", name="总店", created_at=clock.now())
        session.add(store)
        session.flush()
        store_id = store.id
    target = _create_user(admin, "audited.one", ["front_desk"]).user_id
    with session_scope() as session:
        users.set_roles(session, actor=admin, user_id=target, roles=["cs_manager"])
    with session_scope() as session:
        users.set_stores(session, actor=admin, user_id=target, store_ids=[store_id])
    with session_scope() as session:
        users.set_active(session, actor=admin, user_id=target, active=False)
    with session_scope() as session:
        users.set_active(session, actor=admin, user_id=target, active=True)
    with session_scope() as session:
        users.reset_password(session, actor=admin, user_id=target)

    with session_scope() as session:
        entries = list(
            session.exec(
                select(AuditEntry)
                .where(AuditEntry.actor_id == admin.user_id)
                .order_by(AuditEntry.seq)
            ).scalars()
        )
    assert [e.action for e in entries] == [
        "user.create",
        "user.role_grant",
        "user.role_revoke",
        "user.role_grant",
        "user.stores",
        "user.disable",
        "user.enable",
        "user.password_reset",
    ]
    assert all(e.target_id == str(target) and e.outcome == "ok" for e in entries)


def test_a_locked_login_shows_in_the_list_and_a_reset_unlocks_it(admin):  # noqa: ANN001
    _create("li.desk", ["front_desk"])

    def login(password: str) -> auth.LoginResult:
        with session_scope() as session:
            return auth.login_staff(session, username="li.desk", password=password, ip="10.0.0.5")

    def row() -> users.UserRow:
        with session_scope() as session:
            rows, _ = users.list_users(session, actor=admin, query="li.desk")
        return rows[0]

    assert row().locked is False
    for _ in range(5):
        login("Wrong-horse-42")
    assert login(PASSWORD).error == "auth.locked"
    assert row().locked is True
    with session_scope() as session:
        temporary = users.reset_password(session, actor=admin, user_id=row().id).temporary_password
    assert row().locked is False
    assert login(temporary).ok
