"""The one checker for free text (issue 14, item 8): control and bidi characters and text of
invisible characters only are refused; ordinary Chinese and English text is kept."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from custapp.security.validators import TEXT_BIDI, TEXT_CONTROL, TEXT_INVISIBLE, text_problem

BIDI = [chr(c) for c in (*range(0x202A, 0x202F), *range(0x2066, 0x206A), 0x200E, 0x200F, 0x061C)]
INVISIBLE = ["\u200b", "\u200c", "\u200d", "\u2060", "\ufeff", "\u3164", "\u115f", "\u2800"]
GOOD = [
    "张三",
    "反转abc",
    "O'Brien-Smith, Jr.",
    "上海市浦东新区世纪大道 100 号（B 座）8F",
    "客户说：“价格太贵了！”——下次再来？",
    "生日快乐🎂🎉 👨\u200d👩\u200d👧",
    "Café Müller & Söhne GmbH",
    "ＡＢＣ１２３",
    "",
    "   ",
    " \t \n",  # blank: the field's "required" rule speaks
]


@pytest.mark.parametrize("mark", BIDI, ids=lambda c: f"U+{ord(c):04X}")
def test_each_bidi_control_is_refused_anywhere_in_the_text(mark):
    for text in (f"{mark}反转abc", f"反转{mark}abc", f"反转abc{mark}", mark):
        assert text_problem(text) == TEXT_BIDI
        assert text_problem(text, multiline=True) == TEXT_BIDI


@pytest.mark.parametrize(
    "code", [*range(0x00, 0x20), 0x7F, *range(0x80, 0xA0)], ids=lambda c: f"U+{c:04X}"
)
def test_control_characters_are_refused(code):
    text = f"张{chr(code)}三"
    assert text_problem(text) == TEXT_CONTROL
    allowed_in_several_lines = chr(code) in "\n\t"
    assert text_problem(text, multiline=True) == (
        None if allowed_in_several_lines else TEXT_CONTROL
    )


def test_a_lone_surrogate_is_refused():
    assert text_problem("张\ud800三") == TEXT_CONTROL


def test_line_breaks_and_tabs_only_in_text_of_several_lines():
    note = "第一行\n\t第二行"
    assert text_problem(note, multiline=True) is None
    assert text_problem(note) == TEXT_CONTROL
    assert text_problem("第一行\r\n第二行", multiline=True) == TEXT_CONTROL


@pytest.mark.parametrize("mark", INVISIBLE, ids=lambda c: f"U+{ord(c):04X}")
def test_text_of_invisible_characters_only_is_refused(mark):
    assert text_problem(mark * 3) == TEXT_INVISIBLE
    assert text_problem(f" {mark} \u3000{mark}", multiline=True) == TEXT_INVISIBLE
    assert text_problem(f"张{mark}三") is None  # inside visible text they do no harm


@pytest.mark.parametrize("text", GOOD)
def test_ordinary_text_is_kept(text):
    assert text_problem(text) is None
    assert text_problem(text, multiline=True) is None


@pytest.mark.parametrize("value", [None, 0, b"\x00", ["\x00"], object()])
def test_only_text_is_judged(value):
    assert text_problem(value) is None


# letters and symbols that draw nothing are visible to Unicode, not to a reader
BLANK = "\u115f\u1160\u3164\uffa0\u2800"


@given(
    st.text(st.characters(categories=("L", "N", "P", "S"), exclude_characters=BLANK), min_size=1)
)
def test_visible_text_always_passes(text):
    assert text_problem(text) is None


@given(
    st.text(st.characters(categories=("L", "N", "P", "S", "Zs"))),
    st.sampled_from(BIDI + ["\x00", "\x1b", "\x7f", "\x85"]),
    st.text(st.characters(categories=("L", "N", "P", "S", "Zs"))),
)
def test_one_bad_character_anywhere_is_enough(before, bad, after):
    problem = text_problem(f"字{before}{bad}{after}", multiline=True)
    assert problem == (TEXT_BIDI if bad in BIDI else TEXT_CONTROL)


@given(st.text(st.sampled_from(INVISIBLE + [" ", "\u3000", "\t", "\n"]), min_size=1))
def test_invisible_only_text_is_refused_unless_blank(text):
    expected = None if not text.strip() else TEXT_INVISIBLE
    assert text_problem(text, multiline=True) == expected
