from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from custapp.security.validators import (
    Validation,
    make_cn_id,
    make_uscc,
    validate_cn_id,
    validate_mobile,
    validate_uscc,
)

TODAY = date(2026, 6, 1)
PROVINCES = [11, 12, 13, 14, 15, 21, 22, 23, 31, 32, 33, 34, 35, 36, 37, 41, 42, 43, 44, 45]
PROVINCES += [46, 50, 51, 52, 53, 54, 61, 62, 63, 64, 65, 71, 81, 82, 83, 91]
USCC_CHARS = "0123456789ABCDEFGHJKLMNPQRTUWXY"

regions = st.builds(
    lambda province, rest: f"{province}{rest:04d}",
    st.sampled_from(PROVINCES),
    st.integers(0, 9999),
)
births = st.dates(min_value=date(1900, 1, 1), max_value=TODAY)
valid_ids = st.builds(make_cn_id, regions, births, st.integers(0, 999))
valid_usccs = st.builds(make_uscc, st.text(alphabet=USCC_CHARS, min_size=17, max_size=17))
valid_mobiles = st.builds(
    lambda second, rest: f"1{second}{rest:09d}",
    st.sampled_from("3456789"),
    st.integers(0, 10**9 - 1),
)


def reference_id_check(body17: str) -> str:
    """ISO 7064 MOD 11-2 in its recursive form: an oracle independent of the weight table."""
    p = 0
    for ch in body17:
        p = (p + int(ch)) * 2 % 11
    return "0123456789X"[(12 - p) % 11]


def reference_uscc_check(body17: str) -> str:
    total = sum(USCC_CHARS.index(ch) * pow(3, i, 31) for i, ch in enumerate(body17))
    return USCC_CHARS[(31 - total % 31) % 31]


# --- 居民身份证 --------------------------------------------------------------------------------


def test_known_id_number_is_accepted_with_birth_date():
    result = validate_cn_id("11010519491231002X", today=TODAY)
    assert result == Validation(True, "11010519491231002X", None, date(1949, 12, 31))


def test_id_number_lower_x_and_spaces_are_normalised():
    result = validate_cn_id(" 110105 19491231 002x ", today=TODAY)
    assert result.ok and result.value == "11010519491231002X"


def test_id_number_full_width_digits_are_accepted():
    result = validate_cn_id("１１０１０５１９４９１２３１００２Ｘ", today=TODAY)
    assert result.ok and result.value == "11010519491231002X"


@pytest.mark.parametrize(
    ("value", "error"),
    [
        ("", "validation.required"),
        ("   ", "validation.required"),
        (None, "validation.required"),
        ("11010519491231002", "validation.id_number.length"),
        ("110105194912310021X", "validation.id_number.length"),
        ("110105194912310A2X", "validation.id_number.format"),
        ("11010519491231002Y", "validation.id_number.format"),
        ("01010519491231002X", "validation.id_number.region"),
        ("99010519491231002X", "validation.id_number.region"),
        ("110105194902300020", "validation.id_number.birth_date"),
        ("110105189912310020", "validation.id_number.birth_date"),
        ("110105194912310021", "validation.id_number.checksum"),
    ],
)
def test_id_number_errors(value, error):
    result = validate_cn_id(value, today=TODAY)
    assert not result.ok and result.error == error and result.birth_date is None


def test_id_number_birth_date_must_not_be_in_the_future():
    tomorrow = make_cn_id("110105", date(2026, 6, 2), 1)
    assert validate_cn_id(tomorrow, today=TODAY).error == "validation.id_number.birth_date"
    assert validate_cn_id(tomorrow, today=date(2026, 6, 2)).ok


def test_make_cn_id_handles_check_value_ten_as_x():
    ids = [make_cn_id("110105", date(1990, 1, 1), seq) for seq in range(100)]
    assert any(i.endswith("X") for i in ids)
    assert all(validate_cn_id(i, today=TODAY).ok for i in ids)


def test_make_cn_id_rejects_bad_arguments():
    with pytest.raises(ValueError):
        make_cn_id("11010", date(1990, 1, 1), 1)
    with pytest.raises(ValueError):
        make_cn_id("110105", date(1990, 1, 1), 1000)


@given(regions, births, st.integers(0, 999))
def test_ids_with_the_reference_check_character_are_accepted(region, birth, seq):
    body = f"{region}{birth:%Y%m%d}{seq:03d}"
    assert validate_cn_id(body + reference_id_check(body), today=TODAY).ok


@given(valid_ids)
def test_generated_id_numbers_are_accepted(id_number):
    result = validate_cn_id(id_number, today=TODAY)
    assert result.ok and result.value == id_number
    assert f"{result.birth_date:%Y%m%d}" == id_number[6:14]


@given(valid_ids, st.integers(0, 17), st.sampled_from("0123456789X"))
def test_changing_any_single_id_character_is_rejected(id_number, position, replacement):
    if id_number[position] == replacement:
        replacement = "1" if replacement != "1" else "2"
    mutated = id_number[:position] + replacement + id_number[position + 1 :]
    result = validate_cn_id(mutated, today=TODAY)
    assert not result.ok
    assert result.error.startswith("validation.id_number.")


# --- 统一社会信用代码 ------------------------------------------------------------------------


def test_known_uscc_is_accepted_and_lower_case_normalised():
    assert validate_uscc("91350100M000100Y43").ok
    result = validate_uscc(" 91350100m000100y43 ")
    assert result.ok and result.value == "91350100M000100Y43"


@pytest.mark.parametrize(
    ("value", "error"),
    [
        ("", "validation.required"),
        (None, "validation.required"),
        ("91350100M000100Y4", "validation.uscc.format"),
        ("91350100M000100Y433", "validation.uscc.format"),
        ("91350100I000100Y43", "validation.uscc.format"),
        ("91350100O000100Y43", "validation.uscc.format"),
        ("9135010-M000100Y43", "validation.uscc.format"),
        ("91350100M000100Y44", "validation.uscc.checksum"),
    ],
)
def test_uscc_errors(value, error):
    result = validate_uscc(value)
    assert not result.ok and result.error == error


def test_uscc_check_value_thirty_one_maps_to_zero():
    # Body with weighted sum ≡ 0 (mod 31): 31 - 0 = 31 -> check value 0.
    assert make_uscc("0" * 17) == "0" * 18
    assert validate_uscc("0" * 18).ok


def test_make_uscc_rejects_bad_bodies():
    for body in ["0" * 16, "I" + "0" * 16, "0" * 18]:
        with pytest.raises(ValueError):
            make_uscc(body)


@given(st.text(alphabet=USCC_CHARS, min_size=17, max_size=17))
def test_usccs_with_the_reference_check_character_are_accepted(body):
    assert validate_uscc(body + reference_uscc_check(body)).ok


@given(valid_usccs)
def test_generated_usccs_are_accepted(code):
    assert validate_uscc(code) == Validation(True, code, None)
    assert validate_uscc(code.lower()).value == code


@given(valid_usccs, st.integers(0, 17), st.sampled_from(USCC_CHARS + "IOZSV"))
def test_changing_any_single_uscc_character_is_rejected(code, position, replacement):
    if code[position] == replacement:
        replacement = "I"
    mutated = code[:position] + replacement + code[position + 1 :]
    result = validate_uscc(mutated)
    assert not result.ok
    assert result.error in {"validation.uscc.format", "validation.uscc.checksum"}


# --- mobile ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "value",
    [
        "13812345678",
        " 138 1234 5678 ",
        "138-1234-5678",
        "+86 138 1234 5678",
        "+8613812345678",
        "8613812345678",
        "0086 13812345678",
        "１３８１２３４５６７８",
    ],
)
def test_mobile_forms_normalise_to_eleven_digits(value):
    assert validate_mobile(value) == Validation(True, "13812345678", None)


@pytest.mark.parametrize(
    ("value", "error"),
    [
        ("", "validation.required"),
        (" - ", "validation.required"),
        (None, "validation.required"),
        ("1381234567", "validation.mobile.format"),
        ("138123456789", "validation.mobile.format"),
        ("12812345678", "validation.mobile.format"),
        ("23812345678", "validation.mobile.format"),
        ("1381234567a", "validation.mobile.format"),
        ("010-65123456", "validation.mobile.format"),
        ("+85213812345678", "validation.mobile.format"),
        ("١٣٨١٢٣٤٥٦٧٨", "validation.mobile.format"),
    ],
)
def test_mobile_errors(value, error):
    result = validate_mobile(value)
    assert not result.ok and result.error == error


@given(valid_mobiles)
def test_generated_mobiles_are_accepted(mobile):
    assert validate_mobile(mobile).value == mobile
    assert validate_mobile(f"+86 {mobile[:3]} {mobile[3:7]} {mobile[7:]}").value == mobile


@given(valid_mobiles, st.sampled_from("0123456789"), st.sampled_from("012"))
def test_mobiles_with_a_bad_prefix_or_length_are_rejected(mobile, digit, bad_second):
    assert not validate_mobile(mobile + digit).ok
    assert not validate_mobile(mobile[:-1]).ok
    assert not validate_mobile(f"1{bad_second}{mobile[2:]}").ok
    assert not validate_mobile(f"{digit if digit != '1' else '2'}{mobile[1:]}").ok


# --- robustness -----------------------------------------------------------------------------


@given(st.text())
def test_arbitrary_text_never_raises(text):
    for result in (validate_cn_id(text, today=TODAY), validate_uscc(text), validate_mobile(text)):
        assert isinstance(result, Validation)
        assert result.ok == (result.error is None)
        assert result.error is None or result.error.startswith("validation.")


@pytest.mark.parametrize(
    "value", [None, 13812345678, b"13812345678", object(), ["x"], "\x00", "\ud800"]
)
def test_non_text_input_never_raises(value):
    for validate in (validate_cn_id, validate_uscc, validate_mobile):
        result = validate(value)
        assert not result.ok and result.error is not None
