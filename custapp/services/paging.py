"""One page of a list: the page number and size a browser asked for, made safe for a query.

Every paged service call passes its `page` and `page_size` through `page_window()`. Whatever a
browser sends (text, a bool, zero, a negative number, a page past any list, a size of a million)
becomes a window a query can take: the page is a whole number from 1 to MAX_PAGE (text of ASCII
digits counts as its number, anything else is page 1), the size is a whole number from 1 to the
service's maximum (a size that is not a positive number is the service's default)."""

from __future__ import annotations

import dataclasses

DEFAULT_PAGE_SIZE = 20
MAX_PAGE_SIZE = 100
# Past any real list, and small enough that offset = (MAX_PAGE - 1) * size fits the 64-bit
# integers SQLite and PostgreSQL take for OFFSET (a bigger page asks for an empty page).
MAX_PAGE = 2**31 - 1


@dataclasses.dataclass(frozen=True)
class Page:
    number: int  # 1-based
    size: int

    @property
    def offset(self) -> int:
        return (self.number - 1) * self.size

    @property
    def limit(self) -> int:
        return self.size

    @property
    def end(self) -> int:
        """The index after the page's last row, for slicing a list already in memory."""
        return self.offset + self.size


def _whole(value: object) -> int | None:
    """`value` as the whole number it names, or None: an int (not a bool) or ASCII digits."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str):
        text = value.strip()
        if text.isascii() and text.isdigit():
            return int(text) if len(text) <= 18 else 10**18  # more digits: past any list
    return None


def page_window(
    page: object,
    page_size: object,
    *,
    default_size: int = DEFAULT_PAGE_SIZE,
    max_size: int = MAX_PAGE_SIZE,
) -> Page:
    """The page to fetch for what the caller sent (see the module's docstring)."""
    number = _whole(page)
    size = _whole(page_size)
    if size is None or size < 1:
        size = default_size
    return Page(
        number=1 if number is None or number < 1 else min(number, MAX_PAGE),
        size=max(1, min(size, max_size)),
    )
