"""The one paging helper: whatever a browser sends becomes a window a query can take."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from custapp.services.paging import (
    DEFAULT_PAGE_SIZE,
    MAX_PAGE,
    MAX_PAGE_SIZE,
    Page,
    page_window,
)

INT64 = 2**63 - 1
JUNK = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(allow_nan=True),
    st.text(max_size=30),
    st.lists(st.integers(), max_size=3),
    st.dictionaries(st.text(max_size=3), st.integers(), max_size=2),
)


def test_a_page_is_an_offset_and_a_limit() -> None:
    assert page_window(1, 20) == Page(number=1, size=20)
    window = page_window(3, 25)
    assert (window.offset, window.limit, window.end) == (50, 25, 75)
    assert list(range(100))[window.offset : window.end] == list(range(50, 75))


@pytest.mark.parametrize(
    ("page", "page_size", "expected"),
    [
        (0, 20, (1, 20)),  # zero and negative pages are the first
        (-5, 20, (1, 20)),
        (True, 20, (1, 20)),  # a bool is not a number here
        (None, 20, (1, 20)),
        ("2", 20, (2, 20)),  # digits a browser sent as text count
        (" 7 ", "30", (7, 30)),
        ("2.5", 20, (1, 20)),
        ("²", 20, (1, 20)),  # a digit to str.isdigit, not a page number
        ("٣", 20, (1, 20)),  # Arabic-Indic three: ASCII digits only
        (2.0, 20, (1, 20)),  # a float is not a page number
        (10**30, 20, (MAX_PAGE, 20)),  # past every list: an empty page, never an overflow
        ("9" * 5000, "9" * 40, (MAX_PAGE, MAX_PAGE_SIZE)),
        (1, 0, (1, DEFAULT_PAGE_SIZE)),  # a size that is not a positive number is the default
        (1, -3, (1, DEFAULT_PAGE_SIZE)),
        (1, False, (1, DEFAULT_PAGE_SIZE)),
        (1, "lots", (1, DEFAULT_PAGE_SIZE)),
        (1, 10_000, (1, MAX_PAGE_SIZE)),  # capped
        (1, 1, (1, 1)),
    ],
)
def test_junk_becomes_a_usable_window(page: object, page_size: object, expected: tuple) -> None:
    window = page_window(page, page_size)
    assert (window.number, window.size) == expected


def test_each_service_sets_its_default_and_its_cap() -> None:
    assert page_window(1, None, default_size=10, max_size=10).size == 10
    assert page_window(1, 50, default_size=10, max_size=10).size == 10
    assert page_window(1, 0, default_size=50, max_size=200).size == 50
    assert page_window(1, 150, default_size=50, max_size=200).size == 150
    assert page_window(1, 500, default_size=50, max_size=200).size == 200


@given(page=JUNK, page_size=JUNK, max_size=st.integers(1, 1000), default=st.integers(1, 1000))
def test_any_input_gives_a_window_the_database_takes(
    page: object, page_size: object, max_size: int, default: int
) -> None:
    window = page_window(page, page_size, default_size=default, max_size=max_size)
    assert type(window.number) is int and type(window.size) is int
    assert 1 <= window.number <= MAX_PAGE
    assert 1 <= window.size <= max_size
    assert 0 <= window.offset < window.end <= INT64  # OFFSET is a 64-bit integer on both backends


@given(page=st.integers(1, MAX_PAGE), page_size=st.integers(1, MAX_PAGE_SIZE))
def test_a_sane_request_is_kept(page: int, page_size: int) -> None:
    window = page_window(page, page_size)
    assert (window.number, window.size) == (page, page_size)
    assert window.offset == (page - 1) * page_size


@given(page_size=st.integers(1, MAX_PAGE_SIZE), pages=st.integers(1, 30))
def test_consecutive_pages_tile_the_list(page_size: int, pages: int) -> None:
    rows = list(range(page_size * pages - 1))
    windows = [page_window(n, page_size) for n in range(1, pages + 1)]
    assert [r for w in windows for r in rows[w.offset : w.end]] == rows
