"""The member portal's way in (issue 5): the front desk issues a one-time code after an identity
check; the member sets a password with it and is logged in; the code works once, for 24 hours,
a newer code voids older ones, a changed phone moves the login, and only the code's hash is
stored."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from custapp import clock
from custapp.db import session_scope
from custapp.models import AuditEntry, MemberCode, User
from custapp.services import auth, bootstrap, customers, member_access
from custapp.services.actor import Actor, system_actor
from custapp.services.customers import CustomerInput
from custapp.services.errors import DomainError, PermissionDenied, ValidationFailed

NOW = datetime(2026, 5, 6, 2, 0, tzinfo=UTC)
PHONE = "13912345678"
PASSWORD = "Member-pass-2026"


def _staff(username: str, role: str) -> Actor:
    with session_scope() as session:
        user_id = bootstrap.create_staff_user(
            session,
            actor=system_actor("test"),
            username=username,
            display_name=username,
            roles=[role],
            password="Correct-horse-42",
        )
    return Actor(user_id=user_id, name=username, roles=frozenset({role}))


@pytest.fixture
def world(db) -> dict:
    clock.set_now(NOW)
    desk = _staff("desk.one", "front_desk")
    with session_scope() as session:
        zhang = customers.create_customer(
            session, actor=desk, data=CustomerInput(name="张三", phone=PHONE)
        ).id
        no_phone = customers.create_customer(
            session, actor=desk, data=CustomerInput(name="李四", email="li@example.com")
        ).id
    return {"desk": desk, "zhang": zhang, "no_phone": no_phone}


def _issue(actor: Actor, customer_id: int, checked: bool = True) -> member_access.IssuedCode:
    with session_scope() as session:
        return member_access.issue_code(
            session, actor=actor, customer_id=customer_id, identity_checked=checked
        )


def _activate(code: str, phone: str = PHONE, password: str = PASSWORD) -> auth.LoginResult:
    with session_scope() as session:
        return member_access.activate(
            session, phone=phone, code=code, password=password, ip="10.0.0.9"
        )


def _login(password: str = PASSWORD, phone: str = PHONE) -> auth.LoginResult:
    with session_scope() as session:
        return auth.login_member(session, phone=phone, password=password, ip="10.0.0.8")


def test_a_code_activates_the_portal_once(world) -> None:  # noqa: ANN001
    issued = _issue(world["desk"], world["zhang"])
    assert issued.first and len(issued.code) == 8 and issued.code.isdigit()
    assert issued.expires_at == NOW + timedelta(hours=24)
    assert PHONE not in issued.phone_masked and issued.phone_masked.endswith("5678")
    assert not _login().ok  # no password yet

    done = _activate(issued.code)
    assert done.ok and done.kind == "member" and done.token
    with session_scope() as session:
        check = auth.resolve_session(session, token=done.token)
        assert check.actor.customer_id == world["zhang"] and check.actor.kind == "member"
    assert _login().ok

    again = _activate(issued.code, password="Another-pass-77")
    assert not again.ok and again.error == "member.activate.invalid"
    assert _login().ok and not _login("Another-pass-77").ok


def test_a_new_password_with_a_code_ends_every_other_session(world) -> None:  # noqa: ANN001
    assert _activate(_issue(world["desk"], world["zhang"]).code).ok
    earlier = [_login().token for _ in range(2)]
    done = _activate(_issue(world["desk"], world["zhang"]).code, password="Another-pass-77")
    assert done.ok
    with session_scope() as session:
        ended = [auth.resolve_session(session, token=token).ended for token in earlier]
        assert auth.resolve_session(session, token=done.token).actor is not None
    assert ended == ["password_change"] * 2


def test_expired_wrong_and_voided_codes_look_the_same(world) -> None:  # noqa: ANN001
    old = _issue(world["desk"], world["zhang"])
    new = _issue(world["desk"], world["zhang"])
    assert not new.first
    assert _activate(old.code).error == "member.activate.invalid"  # voided by the newer one
    wrong = "0" * 8 if new.code != "0" * 8 else "1" * 8
    assert _activate(wrong).error == "member.activate.invalid"
    assert _activate(new.code, phone="13900000000").error == "member.activate.invalid"
    clock.set_now(NOW + timedelta(hours=24, seconds=1))
    assert _activate(new.code).error in ("member.activate.invalid", "auth.member_wait")
    clock.set_now(NOW + timedelta(hours=25))
    assert _activate(new.code).error == "member.activate.invalid"


def test_repeated_failures_back_off(world) -> None:  # noqa: ANN001
    issued = _issue(world["desk"], world["zhang"])
    wrong = "0" * 8 if issued.code != "0" * 8 else "1" * 8
    errors = [_activate(wrong).error for _ in range(5)]
    assert errors[-1] == "auth.member_wait"
    assert _activate(issued.code).error == "auth.member_wait"  # even the right code waits
    clock.set_now(NOW + timedelta(minutes=10))
    assert _activate(issued.code).ok


def test_the_password_rules_apply(world) -> None:  # noqa: ANN001
    issued = _issue(world["desk"], world["zhang"])
    with pytest.raises(ValidationFailed) as refused:
        _activate(issued.code, password="short")
    assert refused.value.errors == {"password": "password.too_short"}
    assert _activate(issued.code).ok  # the refused attempt did not use the code up


def test_a_changed_phone_moves_the_login(world) -> None:  # noqa: ANN001
    assert _activate(_issue(world["desk"], world["zhang"]).code).ok
    with session_scope() as session:
        customers.update_customer(
            session,
            actor=world["desk"],
            customer_id=world["zhang"],
            data=CustomerInput(name="张三", phone="13700001234"),
        )
    issued = _issue(world["desk"], world["zhang"])
    assert not issued.first
    assert _activate(issued.code, phone="13700001234", password="Moved-phone-88").ok
    assert _login("Moved-phone-88", phone="13700001234").ok
    assert not _login("Moved-phone-88").ok  # the old phone no longer logs in


def test_identity_check_phone_and_permission(world) -> None:  # noqa: ANN001
    with pytest.raises(ValidationFailed) as refused:
        _issue(world["desk"], world["zhang"], checked=False)
    assert refused.value.errors == {"identity_checked": "member.code.identity_required"}
    with pytest.raises(DomainError) as no_phone:
        _issue(world["desk"], world["no_phone"])
    assert no_phone.value.key == "member.code.no_phone"
    for role in ("auditor", "sysadmin", "compliance"):
        with pytest.raises(PermissionDenied):
            _issue(_staff(f"x.{role}", role), world["zhang"])
    member = Actor(user_id=None, name="member#1", kind="member", roles=frozenset({"member"}),
                   customer_id=world["zhang"])  # fmt: skip
    with pytest.raises(PermissionDenied):
        _issue(member, world["zhang"])


def test_only_the_hash_is_stored_and_audited_without_the_code(world) -> None:  # noqa: ANN001
    issued = _issue(world["desk"], world["zhang"])
    _activate(issued.code)
    with session_scope() as session:
        hashes = session.exec(select(MemberCode.code_hash)).scalars().all()
        assert hashes and all(issued.code not in h for h in hashes)
        user = session.exec(select(User).where(User.customer_id == world["zhang"])).scalar_one()
        assert user.kind == "member" and user.display_name == "张三"
        entries = session.exec(
            select(AuditEntry.action, AuditEntry.detail).where(
                AuditEntry.action.in_(("member.code_issue", "member.activate"))
            )
        ).all()
    assert sorted(a for a, _ in entries) == ["member.activate", "member.code_issue"]
    assert all(issued.code not in str(detail) for _, detail in entries)
