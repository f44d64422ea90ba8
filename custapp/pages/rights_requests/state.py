"""The state of 权利请求: who may do what, compliance's list with its filters, and the front desk's
own filed requests. The dialogs, with their own vars, are substates (dialogs.py, detail.py)."""

from __future__ import annotations

import reflex as rx

from custapp import clock
from custapp.pages.rights_requests.rows import RequestRow
from custapp.services import rights
from custapp.settings import get_settings
from custapp.states.paging import PagedMixin
from custapp.states.session import SessionState

PAGE_SIZE = 20
FILED_PAGE_SIZE = 10
STATUS_CHOICES = ("active", "all", *rights.STATUSES)


class RightsState(PagedMixin, SessionState):
    can_file: bool = False
    can_manage: bool = False
    hint: str = ""
    loaded: bool = False
    # compliance: the list (PagedMixin)
    rows: list[RequestRow] = []
    f_status: str = "active"
    f_kind: str = "all"
    f_overdue: bool = False
    # front desk: the requests they filed
    filed_rows: list[RequestRow] = []
    filed_total: int = 0
    filed_page: int = 1

    def _page_size(self) -> int:
        return PAGE_SIZE

    @rx.var
    def filed_pages(self) -> int:
        return max(1, -(-self.filed_total // FILED_PAGE_SIZE))

    def _clear(self) -> None:
        self.rows, self.filed_rows, self.total, self.filed_total = [], [], 0, 0
        self.page = self.filed_page = 1
        self.loaded = False
        for dialog in self.substates.values():  # loaded with this state, also with Redis
            dialog._clear()

    @rx.event
    def load(self):
        actor, redirect = self._enter("rights.file")
        if redirect:
            return redirect
        self._clear()
        self.can_file = actor.can("rights.file")
        self.can_manage = actor.can("rights.manage")
        self.hint = self._t("rights.hint", days=get_settings().rights_due_days)
        return RightsState.fetch_all

    @rx.event
    def fetch_all(self):
        """A second event after load, so the page shows its loading state first."""
        event = self._refresh()
        self.loaded = True
        return event

    # --- rows -----------------------------------------------------------------------------------

    def _row_fields(self, r: rights.RequestRow) -> dict:
        """A request's display values, for a list row or the detail dialog."""
        return {
            "id": r.id,
            "number": r.number,
            "customer_id": r.customer_id,
            "customer": f"{r.customer_number} {r.customer_name}",
            "kind": self._t(f"rights.kind.{r.kind}"),
            "kind_code": r.kind,
            "channel": self._t(f"rights.channel.{r.channel}"),
            "received": clock.format_local(r.received_at),
            "due": r.due_on.isoformat(),
            "status": self._t(f"rights.status.{r.status}"),
            "status_code": r.status,
            "handler": r.handler_name or self._t("rights.unassigned"),
            "closed": clock.format_local(r.closed_at),
            "overdue": self._t("rights.overdue", days=r.overdue_days) if r.overdue_days else "",
        }

    def _fetch(self):
        result, error = self._call(
            rights.list_requests,
            status="" if self.f_status == "all" else self.f_status,
            kind="" if self.f_kind == "all" else self.f_kind,
            overdue_only=self.f_overdue,
            page=self.page,
            page_size=PAGE_SIZE,
        )
        if error:
            self.rows, self.total = [], 0
            return rx.toast.error(error)
        rows, self.total = result
        self.rows = [RequestRow(**self._row_fields(r)) for r in rows]
        return None

    def _fetch_filed(self):
        result, error = self._call(
            rights.list_filed, page=self.filed_page, page_size=FILED_PAGE_SIZE
        )
        if error:
            self.filed_rows, self.filed_total = [], 0
            return rx.toast.error(error)
        rows, self.filed_total = result
        self.filed_rows = [RequestRow(**self._row_fields(r)) for r in rows]
        return None

    def _refresh(self):
        """The list this user sees, read again: compliance's, else the requests they filed."""
        return self._fetch() if self.can_manage else self._fetch_filed()

    @rx.event
    def set_f_status(self, value: str):
        self.f_status, self.page = (value if value in STATUS_CHOICES else "active"), 1
        return self._fetch()

    @rx.event
    def set_f_kind(self, value: str):
        self.f_kind, self.page = (value if value in rights.KINDS else "all"), 1
        return self._fetch()

    @rx.event
    def set_f_overdue(self, value: bool):
        self.f_overdue, self.page = bool(value), 1
        return self._fetch()

    @rx.event
    def filed_prev(self):
        self.filed_page = max(1, self.filed_page - 1)
        return self._fetch_filed()

    @rx.event
    def filed_next(self):
        self.filed_page = min(self.filed_pages, self.filed_page + 1)
        return self._fetch_filed()
