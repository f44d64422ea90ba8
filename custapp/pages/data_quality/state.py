"""The state of 数据质量: one page of duplicate groups, and one page of customers whose real-name
verification is missing, failed or stale. The merge dialog, with its own vars, is a substate
(dialogs.py)."""

from __future__ import annotations

import reflex as rx

from custapp import clock
from custapp.pages.data_quality.rows import GroupRow, MemberRow, StaleRow
from custapp.services import customer_profile, merge
from custapp.states.paging import PagedMixin
from custapp.states.session import SessionState

PAGE_SIZE = 10  # duplicate groups per page (each holds two or more customers)
STALE_PAGE_SIZE = 20
TABS = ("duplicates", "verification")


class DataQualityState(PagedMixin, SessionState):
    tab: str = "duplicates"
    can_merge: bool = False
    # 重复客户: one page of groups (PagedMixin); members[i] are the customers of groups[i]
    groups: list[GroupRow] = []
    members: list[list[MemberRow]] = []
    dup_loaded: bool = False
    # 实名核验待复核
    stale_rows: list[StaleRow] = []
    stale_total: int = 0
    stale_page: int = 1
    stale_loaded: bool = False

    def _page_size(self) -> int:
        return PAGE_SIZE

    @rx.var
    def stale_pages(self) -> int:
        return max(1, -(-self.stale_total // STALE_PAGE_SIZE))

    def _clear(self) -> None:
        self.groups, self.members, self.stale_rows = [], [], []
        self.total = self.stale_total = 0
        self.page = self.stale_page = 1
        self.dup_loaded = self.stale_loaded = False
        for dialog in self.substates.values():  # loaded with this state, also with Redis
            dialog._clear()

    @rx.event
    def load(self):
        actor, redirect = self._enter("customer.read")
        if redirect:
            return redirect
        self._clear()
        self.can_merge = actor.can("customer.merge")
        self.tab = self.tab if self.tab in TABS else "duplicates"
        return DataQualityState.fetch_all

    @rx.event
    def fetch_all(self):
        """A second event after load, so the page shows its loading state first."""
        return [e for e in (self._fetch(), self._fetch_stale()) if e is not None]

    @rx.event
    def set_tab(self, tab: str | list[str]):
        self.tab = tab if isinstance(tab, str) and tab in TABS else "duplicates"

    # --- 重复客户 ------------------------------------------------------------------------------

    def _fetch(self):
        result, error = self._call(merge.duplicate_review, page=self.page, page_size=PAGE_SIZE)
        self.dup_loaded = True
        if error:
            self.groups, self.members, self.total = [], [], 0
            return rx.toast.error(error)
        groups, self.total = result
        self.groups = [
            GroupRow(reason="、".join(self._t(r) for r in g.reasons), index=i)
            for i, g in enumerate(groups)
        ]
        self.members = [
            [
                MemberRow(
                    id=m.id,
                    number=m.number,
                    name=m.name,
                    phone=m.phone_masked or "—",
                    created=clock.format_local(m.created_at, "%Y-%m-%d"),
                )
                for m in g.members
            ]
            for g in groups
        ]
        return None

    # --- 实名核验待复核 --------------------------------------------------------------------------

    def _fetch_stale(self):
        result, error = self._call(
            customer_profile.list_stale_verification,
            page=self.stale_page,
            page_size=STALE_PAGE_SIZE,
        )
        self.stale_loaded = True
        if error:
            self.stale_rows, self.stale_total = [], 0
            return rx.toast.error(error)
        rows, self.stale_total = result
        self.stale_rows = [
            StaleRow(
                id=r.id,
                number=r.number,
                name=r.name,
                kind=self._t(f"customer.kind.{r.kind}"),
                status=self._t(f"customer.verify.{r.verify_status}"),
                status_code=r.verify_status,
                verified_at=clock.format_local(r.verified_at, "%Y-%m-%d") or "—",
                owner=r.owner_name or "—",
            )
            for r in rows
        ]
        return None

    @rx.event
    def stale_prev(self):
        self.stale_page = max(1, self.stale_page - 1)
        return self._fetch_stale()

    @rx.event
    def stale_next(self):
        self.stale_page = min(self.stale_pages, self.stale_page + 1)
        return self._fetch_stale()
