"""Free-text reasons hold no personal numbers (SPEC §8, §9): a reason with a mobile, an ID
number or a card number in it is refused at the field, by the services and, as the last line,
by the audit writer itself."""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import select

from custapp.db import session_scope
from custapp.models import AuditEntry
from custapp.security.validators import REASON_PERSONAL, holds_personal_number, make_cn_id
from custapp.services import audit, bootstrap, customer_profile, customers
from custapp.services.actor import Actor, system_actor
from custapp.services.customers import CustomerInput
from custapp.services.errors import ValidationFailed

CANARY = "客户来电13408102203要求核对身份证430103199001010624"

words = st.text(
    alphabet="客户来电要求核对身份证退款重复录入见编号积分元次年月日，。、 ", max_size=12
)
mobiles = st.builds(
    lambda second, rest: f"1{second}{rest:09d}",
    st.sampled_from("3456789"),
    st.integers(0, 10**9 - 1),
)
ids = st.builds(
    make_cn_id,
    st.sampled_from(["110105", "430103", "440305", "650102"]),
    st.dates(min_value=date(1900, 1, 1), max_value=date(2026, 1, 1)),
    st.integers(0, 999),
)
old_ids = st.integers(10**14, 10**15 - 1).map(str)
bank_cards = st.integers(16, 19).flatmap(lambda n: st.integers(10 ** (n - 1), 10**n - 1).map(str))
member_cards = st.integers(0, 10**10 - 1).map(lambda n: f"88{n:010d}")
numbers = st.one_of(mobiles, ids, old_ids, bank_cards, member_cards)


@given(before=words, number=numbers, after=words)
def test_a_personal_number_anywhere_in_a_reason_is_found(before, number, after):
    assert holds_personal_number(f"{before}{number}{after}")


@given(number=mobiles)
def test_a_mobile_written_the_usual_ways_is_found(number):
    for written in (
        f"{number[:3]} {number[3:7]} {number[7:]}",
        f"{number[:3]}-{number[3:7]}-{number[7:]}",
        f"+86 {number}",
        f"+86-{number}",
        f"86{number}",
        f"0086{number}",
        number.translate(str.maketrans("0123456789", "０１２３４５６７８９")),  # full width
    ):
        assert holds_personal_number(f"电话{written}号"), written


@given(number=ids)
def test_an_id_number_in_groups_or_with_a_small_x_is_found(number):
    assert holds_personal_number(f"证件 {number[:6]} {number[6:14]} {number[14:]}")
    assert holds_personal_number(f"证件{number[:-1]}x")


@given(card=st.integers(10**15, 10**19 - 1).map(str))
def test_a_card_number_in_groups_of_four_is_found(card):
    grouped = " ".join(card[i : i + 4] for i in range(0, len(card), 4))
    assert holds_personal_number(f"卡号 {grouped}")


@given(
    parts=st.lists(
        st.one_of(words, st.integers(0, 10**8 - 1).map(str)), min_size=1, max_size=6
    ).map("，".join)
)
def test_text_with_only_short_numbers_is_accepted(parts):
    assert not holds_personal_number(parts)


@pytest.mark.parametrize(
    "reason",
    [
        "核实客户身份",
        "重复录入，见 S2026010500000012",
        "退款单 R2026010500000013 金额有误",
        "充值单D2026010500000014重复",
        "投诉T202601050001补偿",
        "客户 C20260000123 来电",
        "2026-01-05 至 2026-02-05 期间的消费",
        "2026-01-05 2026-02-05",
        "退 100 元，补 2000 积分",
        "",
    ],
)
def test_everyday_reasons_are_accepted(reason):
    assert not holds_personal_number(reason)


@pytest.mark.parametrize("value", [None, 13408102203, ["13408102203"], b"13408102203"])
def test_only_text_is_judged(value):
    assert not holds_personal_number(value)


# --- services ---------------------------------------------------------------------------------


def _staff(username: str, role: str) -> Actor:
    with session_scope() as session:
        user_id = bootstrap.create_staff_user(
            session, actor=system_actor("test"), username=username, display_name=username,
            roles=[role], password="Correct-horse-42",
        )  # fmt: skip
    return Actor(user_id=user_id, name=username, roles=frozenset({role}))


@pytest.fixture
def people(db) -> tuple[Actor, Actor, int]:
    desk, manager = _staff("desk.one", "front_desk"), _staff("cs.manager", "cs_manager")
    with session_scope() as session:
        ref = customers.create_customer(
            session,
            actor=desk,
            data=CustomerInput(name="张三", gender="male", phone="13912345678"),
        )
    return desk, manager, ref.id


def _reasons() -> list[str]:
    with session_scope() as session:
        return [r for r in session.exec(select(AuditEntry.reason)).scalars() if r]


def test_a_reveal_reason_with_a_phone_and_an_id_number_is_refused_at_the_field(people):
    desk, _manager, customer_id = people
    with pytest.raises(ValidationFailed) as refused, session_scope() as session:
        customer_profile.reveal_field(
            session, actor=desk, customer_id=customer_id, field="phone", reason=CANARY
        )
    assert refused.value.errors == {"reason": REASON_PERSONAL}
    with session_scope() as session:
        assert customer_profile.reveal_field(
            session, actor=desk, customer_id=customer_id, field="phone", reason="客户来电核对身份"
        ) == "13912345678"  # fmt: skip
    assert "13408102203" not in "".join(_reasons())


def test_a_grade_override_reason_with_a_card_number_is_refused(people):
    _desk, manager, customer_id = people
    with pytest.raises(ValidationFailed) as refused, session_scope() as session:
        customers.override_grade(
            session, actor=manager, customer_id=customer_id, grade="A",
            reason="持卡 6222 0212 3456 7890 123 的大客户",
        )  # fmt: skip
    assert refused.value.errors == {"reason": REASON_PERSONAL}


def test_the_audit_writer_refuses_a_reason_holding_a_personal_number(db):
    with pytest.raises(ValidationFailed) as refused, session_scope() as session:
        audit.record(session, actor=system_actor("test"), action="test.event", reason=CANARY)
    assert refused.value.errors == {"reason": REASON_PERSONAL}
    with pytest.raises(ValidationFailed), session_scope() as session:
        audit.record_many(
            session, [{"actor": None, "action": "test.batch", "reason": "卡号881234567890"}]
        )
    assert _reasons() == []
