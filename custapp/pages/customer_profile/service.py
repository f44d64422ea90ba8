"""The profile's 服务/沟通记录 tab: one page of entries, 添加记录 and 完成跟进.

The tab mounts when chosen and unmounts when another tab is: it loads its page on mount and drops
it on unmount (the content is free text about the customer; SPEC §8 keeps state small and clean).
"""

from __future__ import annotations

import reflex as rx

from custapp import clock
from custapp.components.follow_up import complete_dialog, due_badge, labelled
from custapp.components.shell import T, data_table, form_dialog, pager
from custapp.models.service_log import SERVICE_KINDS
from custapp.pages.customer_profile.rows import ServiceErrors, ServiceRow, errors_for
from custapp.services import service_log
from custapp.states.paging import PagedMixin
from custapp.states.session import SessionState

PAGE_SIZE = 20


class ServiceLogState(PagedMixin, SessionState):
    rows: list[ServiceRow] = []
    loaded: bool = False
    can_write: bool = False
    add_open: bool = False
    errors: ServiceErrors = ServiceErrors()
    form_error: str = ""
    complete_open: bool = False
    complete_error: str = ""
    _cid: int = 0
    _complete_id: int = 0

    def _page_size(self) -> int:
        return PAGE_SIZE

    def _clear(self) -> None:
        self.rows, self.total, self.page, self.loaded = [], 0, 1, False
        self.add_open = self.complete_open = False

    @rx.event
    def load(self):
        self._clear()
        raw = str(self.router.page.params.get("cid", ""))
        actor = self._actor()
        if actor is None or not raw.isdecimal():
            return None
        self._cid, self.can_write = int(raw), actor.can("service_log.write")
        return self._fetch()

    @rx.event
    def leave(self):
        self._clear()

    def _due_label(self, due: str, days: int) -> str:
        if due == "overdue":
            return self._t("service_log.due.overdue", days=days)
        return self._t(f"service_log.due.{'today' if due == 'due' else due}") if due else ""

    def _fetch(self):
        result, error = self._call(
            service_log.list_entries, customer_id=self._cid, page=self.page, page_size=PAGE_SIZE
        )
        self.loaded = True
        if error:
            self.rows, self.total = [], 0
            return rx.toast.error(error)
        self._cid, self.total = result.customer_id, result.total
        self.rows = [
            ServiceRow(
                id=str(r.id),
                time=clock.format_local(r.created_at),
                staff=r.staff_name or "—",
                kind=self._t(f"service_log.kind.{r.kind}"),
                content=r.content,
                outcome=r.outcome,
                follow_up=r.next_follow_up.isoformat() if r.next_follow_up else "",
                due=r.due,
                due_label=self._due_label(r.due, r.overdue_days),
                done=clock.format_local(r.done_at) if r.done_at else "",
                can_complete=bool(r.can_complete),
            )
            for r in result.rows
        ]
        return None

    # --- 添加记录 ------------------------------------------------------------------------------

    @rx.event
    def open_add(self):
        self.errors, self.form_error, self.add_open = ServiceErrors(), "", True

    @rx.event
    def close_dialogs(self):
        self.add_open = self.complete_open = False

    @rx.event
    def add(self, form: dict):
        _, error = self._call(
            service_log.add_entry,
            customer_id=self._cid,
            kind=str(form.get("kind", "")),
            content=str(form.get("content", "")),
            outcome=str(form.get("outcome", "")),
            next_follow_up=str(form.get("next_follow_up", "")).strip() or None,
        )
        if error:
            self.errors = errors = errors_for(ServiceErrors, self._field_errors)
            self.form_error = "" if errors != ServiceErrors() else error
            return None
        self.add_open, self.page = False, 1
        self._fetch()
        return rx.toast.success(self._t("service_log.added"))

    # --- 完成跟进 ------------------------------------------------------------------------------

    @rx.event
    def open_complete(self, entry_id: str):
        self._complete_id = int(entry_id) if str(entry_id).isdecimal() else 0
        self.complete_error, self.complete_open = "", True

    @rx.event
    def complete(self, form: dict):
        _, error = self._call(
            service_log.complete_follow_up,
            entry_id=self._complete_id,
            outcome=str(form.get("outcome", "")),
        )
        if error:
            self.complete_error = self._field_errors.get("outcome", error)
            return None
        self.complete_open = False
        self._fetch()
        return rx.toast.success(self._t("service_log.completed"))


# --- the tab ------------------------------------------------------------------------------------


def _add_dialog() -> rx.Component:
    S = ServiceLogState
    return form_dialog(
        labelled(
            "service_log.kind",
            rx.select.root(
                rx.select.trigger(width="100%", id="sl-kind"),
                rx.select.content(
                    *[rx.select.item(T(f"service_log.kind.{k}"), value=k) for k in SERVICE_KINDS]
                ),
                name="kind",
                default_value=SERVICE_KINDS[0],
            ),
            S.errors.kind,
        ),
        labelled(
            "service_log.content",
            rx.text_area(
                name="content",
                placeholder=T("service_log.content_hint"),
                rows="5",
                width="100%",
                id="sl-content",
            ),
            S.errors.content,
        ),
        labelled(
            "service_log.outcome",
            rx.text_area(
                name="outcome",
                placeholder=T("service_log.outcome_hint"),
                rows="2",
                width="100%",
                id="sl-outcome",
            ),
            S.errors.outcome,
        ),
        labelled(
            "service_log.next_follow_up",
            rx.vstack(
                rx.input(type="date", name="next_follow_up", id="sl-follow-up", width="200px"),
                rx.text(T("service_log.follow_up_hint"), size="1", color_scheme="gray"),
                spacing="1",
            ),
            S.errors.next_follow_up,
        ),
        title=T("service_log.add_title"),
        description="service_log.encrypted_note",
        is_open=S.add_open,
        on_close=S.close_dialogs,
        on_submit=S.add,
        error=S.form_error,
        submit_testid="service-save",
    )


def _status(row: rx.Var) -> rx.Component:
    S = ServiceLogState
    return rx.cond(
        row.done != "",
        rx.badge(T("service_log.done"), " ", row.done, color_scheme="green", variant="soft"),
        rx.hstack(
            due_badge(row.due, row.due_label),
            rx.cond(
                row.can_complete,
                rx.button(
                    rx.icon("check", size=14),
                    T("service_log.complete"),
                    size="1",
                    variant="soft",
                    on_click=S.open_complete(row.id),
                    data_testid="service-complete",
                ),
            ),
            align="center",
            wrap="wrap",
        ),
    )


def _row(row: rx.Var) -> rx.Component:
    return rx.table.row(
        rx.table.cell(row.time, white_space="nowrap"),
        rx.table.cell(row.staff),
        rx.table.cell(rx.badge(row.kind, variant="outline")),
        rx.table.cell(rx.text(row.content, white_space="pre-wrap", size="2"), min_width="240px"),
        rx.table.cell(rx.text(row.outcome, white_space="pre-wrap", size="2")),
        rx.table.cell(row.follow_up, white_space="nowrap"),
        rx.table.cell(_status(row)),
        data_testid="service-row",
    )


def service_tab() -> rx.Component:
    S = ServiceLogState
    return rx.vstack(
        rx.cond(
            S.can_write,
            rx.hstack(
                rx.spacer(),
                rx.button(
                    rx.icon("plus", size=14),
                    T("service_log.add"),
                    on_click=S.open_add,
                    data_testid="service-add",
                ),
                width="100%",
            ),
        ),
        rx.cond(
            S.loaded,
            rx.cond(
                S.total == 0,
                rx.callout(
                    T("service_log.empty"),
                    icon="message-square",
                    color_scheme="gray",
                    width="100%",
                    data_testid="service-empty",
                ),
                rx.vstack(
                    data_table(
                        (
                            "service_log.time",
                            "service_log.staff",
                            "service_log.kind",
                            "service_log.content",
                            "service_log.outcome",
                            "service_log.next_follow_up",
                            "service_log.status",
                        ),
                        S.rows,
                        _row,
                    ),
                    pager(S.page, S.pages, S.total, S.prev_page, S.next_page),
                    width="100%",
                ),
            ),
            rx.center(rx.spinner(size="3"), padding="40px", width="100%"),
        ),
        _add_dialog(),
        complete_dialog(S),
        on_mount=S.load,
        on_unmount=S.leave,
        width="100%",
    )
