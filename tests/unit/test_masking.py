from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from custapp.security.masking import (
    mask,
    mask_address,
    mask_bank_card,
    mask_date,
    mask_email,
    mask_generic,
    mask_id_number,
    mask_phone,
)


def test_spec_examples():
    assert mask_phone("13812345678") == "138****5678"
    assert mask_id_number("11010519491231002X") == "110***********002X"
    assert mask_address("北京市朝阳区建国路88号") == "北京市朝阳区****"


def test_phone_variants():
    assert mask_phone("+86 138-1234-5678") == "138****5678"
    assert mask_phone("010-65123456") == "010******456"
    assert mask_phone("12345") == "1***5"


def test_id_number_keeps_length_and_hides_most_of_short_numbers():
    assert mask_id_number("110105 19491231 002X") == "110***********002X"
    assert mask_id_number("E12345678") == "E1*****78"
    assert mask_id_number("123") == "***"


def test_short_addresses_keep_at_most_two_characters():
    assert mask_address("上海市浦东新区") == "上海****"
    assert mask_address("北京") == "北****"
    assert mask_address("  北京市朝阳区建国路88号 ") == "北京市朝阳区****"


def test_email():
    assert mask_email("zhang.san@example.com") == "z***@example.com"
    # no local part: showing the domain would show the whole value
    assert "example.com" not in mask_email("@example.com")
    assert mask_email("not-an-email") == "n***"


def test_generic():
    assert mask_generic("张三丰") == "张***"
    assert mask_generic("x") == "***"
    assert mask_generic("") == "***"


def test_date():
    assert mask_date("1990-05-17") == "1990-**-**"
    assert mask_date(date(1990, 5, 17)) == "1990-**-**"
    assert mask_date("19900517") == "1990-**-**"
    assert mask_date("1990年5月17日") == "1990-**-**"
    assert mask_date("sometime") == "s***"


def test_bank_card():
    assert mask_bank_card("6222 0212 3456 1234") == "**** **** **** 1234"
    assert mask_bank_card("6222021234561234567") == "**** **** **** 4567"
    assert mask_bank_card("1234") == "****"


@pytest.mark.parametrize(
    ("kind", "value", "masked"),
    [
        ("phone", "13812345678", "138****5678"),
        ("id_number", "11010519491231002X", "110***********002X"),
        ("address", "北京市朝阳区建国路88号", "北京市朝阳区****"),
        ("email", "zhang.san@example.com", "z***@example.com"),
        ("birth_date", "1990-05-17", "1990-**-**"),
        ("birth_date", date(1990, 5, 17), "1990-**-**"),
        ("bank_account", "6222021234561234", "**** **** **** 1234"),
        ("generic", "某某公司", "某***"),
        ("no_such_kind", "some secret", "s***"),
        ("phone", None, ""),
        ("phone", "", ""),
        ("address", "   ", ""),
    ],
)
def test_dispatcher(kind, value, masked):
    assert mask(kind, value) == masked


KINDS = ["phone", "id_number", "address", "email", "birth_date", "bank_account", "generic"]


@given(st.sampled_from(KINDS), st.text(st.characters(blacklist_characters="*"), min_size=6))
def test_masked_value_never_reveals_the_whole_value(kind, value):
    masked = mask(kind, value)
    if value.strip():
        assert "*" in masked
        assert value.strip() not in masked
