"""PortalState: the member's card, tier and discount, stored value, points and the paged
ledgers. The customer comes from the login on the server."""

from __future__ import annotations

import reflex as rx

from custapp.components.membership import (
    LEDGER_PAGE_SIZE,
    CardSummary,
    LedgerEntry,
    ledger_row,
    summary_vars,
)
from custapp.services import membership
from custapp.states.paging import PagedMixin
from custapp.states.session import SessionState

PAGE_SIZE = LEDGER_PAGE_SIZE


class PortalState(PagedMixin, SessionState):
    summary: CardSummary = CardSummary()
    ledger: str = "points"  # points | stored_value
    rows: list[LedgerEntry] = []
    loaded: bool = False

    def _page_size(self) -> int:
        return PAGE_SIZE

    @rx.event
    def load(self):
        _, redirect = self._enter("member.self")
        if redirect:
            return redirect
        self.page, self.ledger, self.loaded = 1, "points", False
        summary, error = self._call(membership.member_summary)
        if error:
            self.summary = CardSummary()
            return rx.toast.error(error)
        self.summary = summary_vars(summary, self._t, self.locale)
        return self._fetch()

    def _fetch(self):
        fetch = (
            membership.member_points_ledger
            if self.ledger == "points"
            else membership.member_stored_value_ledger
        )
        result, error = self._call(fetch, page=self.page, page_size=PAGE_SIZE)
        self.loaded = True
        if error:
            self.rows, self.total = [], 0
            return rx.toast.error(error)
        rows, self.total = result
        self.rows = [ledger_row(r, self.ledger, self._t) for r in rows]
        return None

    @rx.event
    def show_ledger(self, ledger: str | list[str]):
        self.ledger = "stored_value" if ledger == "stored_value" else "points"
        self.page = 1
        return self._fetch()
