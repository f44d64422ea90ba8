"""The state of 保存期限: the rules, the changes waiting for a second person, the history.

Compliance (retention.manage) proposes; compliance or cs_manager (retention.approve) decides
another person's proposal. Every handler derives the user from the login and the services check
the permissions; the dialogs, with their own vars, are substates (dialogs.py).
"""

from __future__ import annotations

import reflex as rx

from custapp import clock
from custapp.pages.retention.rows import ChangeRow, RuleRow
from custapp.services import retention
from custapp.services.retention_notice import period_text
from custapp.states.paging import PagedMixin
from custapp.states.session import SessionState
from custapp.vocab import RetentionChangeStatus

PERMISSION = "retention.read"
HISTORY_PAGE_SIZE = 10
PENDING_MAX = len(retention.CATEGORIES)  # one pending change per category


class RetentionState(PagedMixin, SessionState):
    loaded: bool = False
    can_manage: bool = False
    can_approve: bool = False
    rules: list[RuleRow] = []
    pending: list[ChangeRow] = []
    history: list[ChangeRow] = []  # one page (PagedMixin)
    _me: int = 0  # the user looking: their own proposals are marked, someone else decides

    def _page_size(self) -> int:
        return HISTORY_PAGE_SIZE

    def _clear(self) -> None:
        self.loaded = self.can_manage = self.can_approve = False
        self.rules, self.pending, self.history = [], [], []
        self.total, self.page, self._me = 0, 1, 0
        for dialog in self.substates.values():  # loaded with this state, also with Redis
            dialog._clear()

    @rx.event
    def load(self):
        actor, redirect = self._enter(PERMISSION)
        if redirect:
            return redirect
        self._clear()
        self.can_manage = actor.can("retention.manage")
        self.can_approve = actor.can("retention.approve")
        self._me = actor.user_id or 0
        return RetentionState.fetch_all

    @rx.event
    def fetch_all(self):
        """A second event after load, so the page shows its loading state first."""
        events = self._refresh()
        self.loaded = True
        return events

    def _refresh(self) -> list:
        """The rules, the pending changes and the history page, read again."""
        events = [self._fetch_rules(), self._fetch_pending(), self._fetch()]
        return [e for e in events if e is not None]

    # --- rows -----------------------------------------------------------------------------------

    def _period(self, months: int) -> str:
        return period_text(months, self.locale)

    def _fetch_rules(self):
        rules, error = self._call(retention.list_rules)
        if error:
            self.rules = []
            return rx.toast.error(error)
        self.rules = [
            RuleRow(
                category=r.category,
                name=self._t(f"retention.category.{r.category}"),
                start=self._t(f"retention.start.{r.category}"),
                period=self._period(r.period_months),
                months=r.period_months,
                action=self._t(f"retention.action.{r.action}"),
                action_code=r.action,
                basis=r.basis,
                updated=(
                    f"{clock.format_local(r.updated_at, '%Y-%m-%d')} · {r.updated_by}"
                    if r.updated_by
                    else self._t("retention.seeded")
                ),
                pending=r.pending_change_id is not None,
            )
            for r in rules
        ]
        return None

    def _change_row(self, c: retention.ChangeRow) -> ChangeRow:
        action = self._t(f"retention.notice.action.{c.action}")
        return ChangeRow(
            id=c.id,
            category=c.category,
            name=self._t(f"retention.category.{c.category}"),
            change=self._t(
                "retention.change_text",
                old_period=self._period(c.old_period_months),
                old_action=self._t(f"retention.notice.action.{c.old_action}"),
                period=self._period(c.period_months),
                action=action,
            ),
            basis=c.basis,
            reason=c.reason,
            proposer=c.proposed_by,
            proposed=clock.format_local(c.proposed_at),
            status=self._t(f"retention.status.{c.status}"),
            status_code=c.status,
            decider=c.decided_by,
            decided=clock.format_local(c.decided_at),
            note=c.decision_note,
            notice=self._t("retention.notice_draft", version=c.notice_version)
            if c.notice_version
            else "",
            mine=bool(self._me) and c.proposed_by_id == self._me,
        )

    def _fetch_pending(self):
        result, error = self._call(
            retention.list_changes,
            status=RetentionChangeStatus.PENDING,
            page=1,
            page_size=PENDING_MAX,
        )
        if error:
            self.pending = []
            return rx.toast.error(error)
        rows, _ = result
        self.pending = [self._change_row(c) for c in rows]
        return None

    def _fetch(self):
        """The history page (every change, newest first)."""
        result, error = self._call(
            retention.list_changes, page=self.page, page_size=HISTORY_PAGE_SIZE
        )
        if error:
            self.history, self.total = [], 0
            return rx.toast.error(error)
        rows, self.total = result
        self.history = [self._change_row(c) for c in rows]
        return None
