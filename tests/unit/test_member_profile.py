"""customer_profile.member_profile: the member's own archive for 我的信息与授权, masked as staff
see it, always the login's customer, refused to staff, audited."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import select

from custapp.db import session_scope
from custapp.models import AuditEntry
from custapp.security.validators import make_cn_id
from custapp.services import customer_profile, customers, merge
from custapp.services.actor import Actor, system_actor
from custapp.services.customer_input import ContactInput
from custapp.services.errors import DomainError, NotFound, PermissionDenied

PHONE = "13912345678"
ID_NUMBER = make_cn_id("110105", date(1990, 5, 17), 123)
BANK = "6222021234567890123"
INCOME = "年薪三十万"


def _create(**fields) -> int:
    with session_scope() as session:
        return customers.create_customer(
            session, actor=system_actor("test"), data=customers.CustomerInput(**fields)
        ).id


def _member(customer_id: int | None) -> Actor:
    return Actor(
        user_id=None,
        name="member#1",
        kind="member",
        roles=frozenset({"member"}),
        customer_id=customer_id,
    )


def _profile(actor: Actor) -> customer_profile.MemberProfile:
    with session_scope() as session:
        return customer_profile.member_profile(session, actor=actor)


def test_the_member_gets_their_own_profile_masked(db) -> None:  # noqa: ANN001
    own = _create(
        name="王会员", phone=PHONE, id_number=ID_NUMBER, gender="female", income=INCOME,
        bank_account=BANK, health="高血压", notes="老客户，喜欢靠窗座位",
    )  # fmt: skip
    _create(name="李会员", phone="13787654321")
    profile = _profile(_member(own))
    assert (profile.name, profile.kind) == ("王会员", "individual")
    assert profile.general["gender"] == "female"
    shown = {s.field: s for s in profile.sensitive if s.present}
    assert shown["phone"].masked == "139****5678"
    assert shown["id_number"].masked == ID_NUMBER[:3] + "*" * 11 + ID_NUMBER[-4:]
    assert shown["birth_date"].masked == "1990-**-**"
    assert shown["bank_account"].masked == "**** **** **** 0123"
    assert (shown["income"].level, shown["health"].level) == (2, 3)
    text = repr(profile)
    for secret in (PHONE, ID_NUMBER, BANK, INCOME, "高血压", "靠窗", "13787654321", "李会员"):
        assert secret not in text, secret
    with session_scope() as session:
        entry = session.exec(
            select(AuditEntry).where(AuditEntry.action == "member.profile_open")
        ).scalar_one()
    assert (entry.customer_id, entry.outcome, entry.detail) == (own, "ok", None)


def test_an_organisation_member_sees_contacts_masked(db) -> None:  # noqa: ANN001
    own = _create(
        kind="organisation",
        name="示例科技有限公司",
        phone=PHONE,
        contacts=[ContactInput(name="赵经理", title="采购", phone="13600001111")],
    )
    profile = _profile(_member(own))
    assert [(c.name, c.phone_masked) for c in profile.contacts] == [("赵经理", "136****1111")]
    assert "13600001111" not in repr(profile)


def test_staff_are_refused_and_a_member_without_an_archive_gets_not_found(db) -> None:  # noqa: ANN001
    own = _create(name="王会员", phone=PHONE)
    desk = Actor(user_id=None, name="desk", roles=frozenset({"front_desk"}), customer_id=own)
    with pytest.raises(PermissionDenied), session_scope() as session:
        customer_profile.member_profile(session, actor=desk)
    with pytest.raises(NotFound):
        _profile(_member(None))


def test_a_merged_archive_is_not_shown_through_its_old_id(db) -> None:  # noqa: ANN001
    survivor = _create(name="王会员", phone=PHONE)
    merged = _create(name="王会员", phone="13912340000")
    with session_scope() as session:
        merge.merge_customers(
            session, actor=system_actor("test"), survivor_id=survivor, merged_id=merged,
            reason="同一客户重复建档",
        )  # fmt: skip
    with pytest.raises(DomainError):
        _profile(_member(merged))
    assert _profile(_member(survivor)).name == "王会员"
