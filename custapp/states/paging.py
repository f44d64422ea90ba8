"""Server-side paging shared by the list pages: one page of rows in state, a separate count."""

from __future__ import annotations

import reflex as rx


class PagedMixin(rx.State, mixin=True):
    """Mixed into a page state that defines `_fetch()` (loads `self.page`) and may override
    `_page_size()`."""

    page: int = 1
    total: int = 0

    def _page_size(self) -> int:
        return 20

    @rx.var
    def pages(self) -> int:
        return max(1, -(-self.total // self._page_size()))

    @rx.event
    def prev_page(self):
        self.page = max(1, self.page - 1)
        return self._fetch()

    @rx.event
    def next_page(self):
        self.page = min(self.pages, self.page + 1)
        return self._fetch()
