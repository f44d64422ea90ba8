"""The state of 销毁: who may do what, the tab shown and its one page of rows. The dialogs, with
their own vars, are substates (dialogs.py)."""

from __future__ import annotations

import reflex as rx

from custapp import clock
from custapp.pages.destruction.rows import CandidateView, HoldView
from custapp.services import destruction, destruction_views
from custapp.states.paging import PagedMixin
from custapp.states.session import SessionState

PAGE_SIZE = 20
# tab -> the queue status it lists (the register and the holds have their own lists)
QUEUE_TABS = {"queued": "queued", "approval": "approval"}
TABS = (*QUEUE_TABS, "register", "holds")


class DestructionState(PagedMixin, SessionState):
    tab: str = "queued"
    can_queue: bool = False  # sees the queue (compliance, cs_manager)
    can_appraise: bool = False
    can_approve: bool = False
    can_hold: bool = False
    loaded: bool = False
    rows: list[CandidateView] = []
    hold_rows: list[HoldView] = []
    register_text: str = ""  # the register file's count and integrity
    register_ok: bool = True
    _user_id: int = 0

    def _page_size(self) -> int:
        return PAGE_SIZE

    def _clear(self) -> None:
        self.rows, self.hold_rows, self.total, self.page = [], [], 0, 1
        self.register_text, self.register_ok, self.loaded = "", True, False
        for dialog in self.substates.values():  # loaded with this state, also with Redis
            dialog._clear()

    def _tabs(self) -> tuple[str, ...]:
        shown = (*QUEUE_TABS,) if self.can_queue else ()
        return (*shown, "register", *(("holds",) if self.can_hold else ()))

    @rx.event
    def load(self):
        actor, redirect = self._enter("destruction.read")
        if redirect:
            return redirect
        self._clear()
        self._user_id = actor.user_id or 0
        self.can_queue = actor.can("destruction.queue")
        self.can_appraise = actor.can("destruction.appraise")
        self.can_approve = actor.can("destruction.approve")
        self.can_hold = actor.can("legal_hold.manage")
        self.tab = "queued" if self.can_queue else "register"
        return DestructionState.fetch_all

    @rx.event
    def fetch_all(self):
        """A second event after load, so the page shows its loading state first."""
        event = self._fetch()
        self.loaded = True
        return event

    @rx.event
    def set_tab(self, value: str):
        self.tab = value if value in self._tabs() else self._tabs()[0]
        self.page = 1
        return self._fetch()

    # --- rows ---------------------------------------------------------------------------------

    def _why(self, row: destruction_views.CandidateRow) -> str:
        if row.reason_kind == "rule":
            category = self._t(f"retention.category.{row.rule_category}")
            return self._t("destruction.why.rule", category=category)
        if row.reason_kind == "request":
            return self._t("destruction.why.request", number=row.request_number)
        return self._t("destruction.why.manual")

    def _view(self, row: destruction_views.CandidateRow) -> CandidateView:
        what = row.category or "customer"
        mine = bool(self._user_id) and row.appraised_by_id == self._user_id
        return CandidateView(
            id=row.id,
            number=row.number,
            customer_id=row.customer_id,
            customer_number=row.customer_number,
            what=self._t(f"destruction.what.{what}"),
            why=self._why(row),
            note=row.note,
            status=self._t(f"destruction.status.{row.status}"),
            status_code=row.status,
            blockers="、".join(self._t(key) for key in row.blockers),
            created=clock.format_local(row.created_at),
            proposed_by=row.proposed_by or self._t("destruction.by_system"),
            appraised_by=row.appraised_by,
            appraisal_note=row.appraisal_note,
            approved_by=row.approved_by,
            done=clock.format_local(row.done_at),
            method=self._t(f"destruction.method.{row.method}") if row.method else "",
            may_appraise=self.can_appraise and row.status == "queued",
            may_approve=self.can_approve and row.status == "appraised" and not mine,
            may_reject=self.can_approve and row.status in ("queued", "appraised", "approved"),
            own_appraisal=mine and row.status == "appraised",
        )

    def _fetch_register(self):
        result, error = self._call(
            destruction_views.list_register, page=self.page, page_size=PAGE_SIZE
        )
        if error:
            return error
        rows, self.total = result
        self.rows = [self._view(r) for r in rows]
        status, error = self._call(destruction_views.register_status)
        if error:
            return error
        self.register_ok = status.ok
        self.register_text = (
            self._t("destruction.register.verified", count=status.count)
            if status.ok
            else self._t(status.problem)
        )
        return None

    def _fetch_holds(self):
        result, error = self._call(
            destruction_views.list_holds, page=self.page, page_size=PAGE_SIZE
        )
        if error:
            return error
        holds, self.total = result
        self.hold_rows = [
            HoldView(
                id=h.id,
                customer_number=h.customer_number,
                reason=h.reason,
                set_by=h.set_by,
                set_at=clock.format_local(h.set_at),
            )
            for h in holds
        ]
        return None

    def _fetch(self):
        self.rows, self.hold_rows = [], []
        if self.tab == "register":
            error = self._fetch_register()
        elif self.tab == "holds":
            error = self._fetch_holds()
        else:
            result, error = self._call(
                destruction_views.list_queue,
                status=QUEUE_TABS.get(self.tab, "queued"),
                page=self.page,
                page_size=PAGE_SIZE,
            )
            if not error:
                rows, self.total = result
                self.rows = [self._view(r) for r in rows]
        if error:
            self.total = 0
            return rx.toast.error(error)
        return None

    @rx.var
    def approvable(self) -> int:
        """The rows on this page this user may approve (批准本页全部)."""
        return sum(1 for r in self.rows if r.may_approve)

    @rx.event
    def approve_page(self):
        """批准本页全部: every candidate on the page this user may approve, destroyed by a
        `destruction.run` job; each is checked by the service as a single approval is."""
        ids = [r.id for r in self.rows if r.may_approve]
        if not ids:
            return rx.toast.info(self._t("destruction.none_to_approve"))
        result, error = self._call(destruction.approve_many, candidate_ids=ids)
        if error:
            return rx.toast.error(error)
        refresh = self._fetch()
        toast = rx.toast.success(
            self._t("destruction.approved_many", count=len(result.approved))
            + (
                self._t("destruction.refused_many", count=len(result.refused))
                if result.refused
                else ""
            )
        )
        return [e for e in (refresh, toast) if e is not None]
