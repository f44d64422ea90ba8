"""审计日志 for auditors: filter and page the log, and check the chain."""

from __future__ import annotations

import dataclasses
from datetime import datetime, time, timedelta

import reflex as rx

from custapp import clock
from custapp.components.shell import T, data_table, page, pager
from custapp.services import audit, audit_check
from custapp.states.paging import PagedMixin
from custapp.states.session import SessionState

PAGE_SIZE = 50
OUTCOMES = ("ok", "denied", "failed")


@dataclasses.dataclass(frozen=True)
class AuditRow:
    seq: int = 0
    time: str = ""
    actor: str = ""
    action: str = ""
    action_label: str = ""  # the action's Chinese name where the catalogue has one, else ""
    outcome: str = ""  # ok | denied | failed
    outcome_label: str = ""
    target: str = ""
    customer: str = ""  # the customer's id, "" for none
    fields: str = ""
    reason: str = ""
    ip: str = ""


class AuditState(PagedMixin, SessionState):
    def _page_size(self) -> int:
        return PAGE_SIZE

    rows: list[AuditRow] = []
    f_action: str = ""
    f_actor: str = ""
    f_outcome: str = ""
    f_since: str = ""
    f_until: str = ""
    filter_error: str = ""
    verify_text: str = ""
    verify_ok: bool = True

    @rx.event
    def load(self):
        _, redirect = self._enter("audit.read")
        if redirect:
            return redirect
        self.verify_text = ""
        return self._fetch()

    def _day(self, text: str) -> datetime | None:
        text = text.strip()
        if not text:
            return None
        day = datetime.strptime(text, "%Y-%m-%d").date()
        return datetime.combine(day, time.min, tzinfo=clock.zone())

    def _fetch(self):
        try:
            since, until = self._day(self.f_since), self._day(self.f_until)
        except ValueError:
            self.filter_error = self._t("audit.bad_date")
            return None
        self.filter_error = ""
        filters = audit.AuditFilter(
            action=self.f_action.strip(),
            actor=self.f_actor.strip(),
            outcome=self.f_outcome if self.f_outcome in OUTCOMES else "",
            since=since,
            until=until + timedelta(days=1) if until else None,
        )
        result, error = self._call(
            audit.list_entries, filters=filters, page=self.page, page_size=PAGE_SIZE
        )
        if error:
            return rx.toast.error(error)
        rows, self.total = result
        self.rows = [
            AuditRow(
                seq=r.seq,
                time=clock.format_local(r.created_at, "%Y-%m-%d %H:%M:%S"),
                actor=r.actor_name,
                action=r.action,
                action_label=self._action_label(r.action),
                outcome=r.outcome,
                outcome_label=self._t(f"audit.outcome.{r.outcome}"),
                target=r.target,
                customer=str(r.customer_id or ""),
                fields=r.fields,
                reason=r.reason,
                ip=r.ip,
            )
            for r in rows
        ]
        return None

    def _action_label(self, action: str) -> str:
        key = f"audit.action.{action}"
        label = self._t(key)
        return "" if label == key else label

    @rx.event
    def apply_filters(self, form: dict):
        self.f_action = str(form.get("action", ""))[:60]
        self.f_actor = str(form.get("actor", ""))[:60]
        self.f_since = str(form.get("since", ""))[:10]
        self.f_until = str(form.get("until", ""))[:10]
        self.page = 1
        return self._fetch()

    @rx.event
    def set_outcome(self, value: str):
        self.f_outcome = "" if value == "all" else value
        self.page = 1
        return self._fetch()

    @rx.event
    def verify(self):
        result, error = self._call(audit_check.check_chain)
        if error:
            return rx.toast.error(error)
        self.verify_ok = result.ok
        self.verify_text = (
            self._t("audit.verify.ok", count=result.checked)
            if result.ok
            else self._t(result.problem or "audit.verify.altered_row", seq=result.bad_seq)
        )
        return self._fetch()


def _row(row: rx.Var) -> rx.Component:
    color = rx.match(row.outcome, ("denied", "red"), ("failed", "amber"), "green")
    return rx.table.row(
        rx.table.cell(row.seq),
        rx.table.cell(row.time, white_space="nowrap"),
        rx.table.cell(row.actor),
        rx.table.cell(
            rx.cond(
                row.action_label != "",
                rx.vstack(rx.text(row.action_label), rx.code(row.action, size="1"), spacing="1"),
                rx.code(row.action),
            )
        ),
        rx.table.cell(rx.badge(row.outcome_label, color_scheme=color)),
        rx.table.cell(row.target),
        rx.table.cell(row.customer),
        rx.table.cell(row.fields),
        rx.table.cell(row.reason),
        rx.table.cell(row.ip),
    )


def audit_page() -> rx.Component:
    S = AuditState
    return page(
        "nav.audit",
        rx.hstack(
            rx.form(
                rx.hstack(
                    rx.input(name="action", placeholder=T("audit.f.action"), width="160px"),
                    rx.input(name="actor", placeholder=T("audit.f.actor"), width="140px"),
                    rx.input(name="since", type="date", width="150px", aria_label="since"),
                    rx.input(name="until", type="date", width="150px", aria_label="until"),
                    rx.button(T("common.filter"), type="submit", variant="soft"),
                    align="center",
                ),
                on_submit=S.apply_filters,
                width="auto",  # a form is 100% wide by default and pushed the rest to a new line
            ),
            rx.select.root(
                rx.select.trigger(placeholder=T("audit.f.outcome")),
                rx.select.content(
                    rx.select.item(T("common.all"), value="all"),
                    *[rx.select.item(T(f"audit.outcome.{o}"), value=o) for o in OUTCOMES],
                ),
                on_change=S.set_outcome,
            ),
            rx.spacer(),
            rx.button(
                rx.icon("shield-check", size=16),
                T("audit.verify"),
                on_click=S.verify,
                data_testid="audit-verify",
            ),
            width="100%",
            wrap="wrap",
        ),
        rx.cond(S.filter_error != "", rx.text(S.filter_error, color_scheme="red", size="1")),
        rx.cond(
            S.verify_text != "",
            rx.callout(
                S.verify_text,
                icon=rx.cond(S.verify_ok, "shield-check", "shield-alert"),
                color_scheme=rx.cond(S.verify_ok, "green", "red"),
                width="100%",
                data_testid="verify-result",
            ),
        ),
        data_table(
            [
                f"audit.col.{c}"
                for c in (
                    "seq",
                    "time",
                    "actor",
                    "action",
                    "outcome",
                    "target",
                    "customer",
                    "fields",
                    "reason",
                    "ip",
                )
            ],
            S.rows,
            _row,
            size="1",
        ),
        rx.cond(S.total == 0, rx.text(T("common.empty"), color_scheme="gray")),
        pager(S.page, S.pages, S.total, S.prev_page, S.next_page),
    )
