"""我的待跟进: the signed-in staff user's service-log entries whose follow-up date is due."""

from __future__ import annotations

import dataclasses

import reflex as rx

from custapp.components.follow_up import complete_dialog, due_badge
from custapp.components.shell import T, data_table, page, pager
from custapp.services import service_log
from custapp.states.paging import PagedMixin
from custapp.states.session import SessionState

PAGE_SIZE = 20
UPCOMING_DAYS = 7


@dataclasses.dataclass(frozen=True)
class DueRow:
    id: int = 0
    customer_id: int = 0
    number: str = ""
    name: str = ""
    kind: str = ""
    date: str = ""
    due: str = ""  # overdue | due | upcoming
    due_label: str = ""
    summary: str = ""


class FollowUpsState(PagedMixin, SessionState):
    rows: list[DueRow] = []
    loading: bool = True
    count_label: str = ""
    show_upcoming: bool = False
    complete_open: bool = False
    complete_error: str = ""
    _complete_id: int = 0

    def _page_size(self) -> int:
        return PAGE_SIZE

    def _clear(self) -> None:
        """A full page load sends the whole state tree to the new page: not these summaries."""
        self.rows, self.total, self.loading = [], 0, True

    @rx.event
    def load(self):
        _, redirect = self._enter("service_log.write")
        if redirect:
            return redirect
        self.page, self.complete_open = 1, False
        return self._fetch()

    def _due(self, days: int) -> tuple[str, str]:
        if days > 0:
            return "overdue", self._t("service_log.due.overdue", days=days)
        if days == 0:
            return "due", self._t("service_log.due.today")
        return "upcoming", self._t("follow_ups.in_days", days=-days)

    def _fetch(self):
        result, error = self._call(
            service_log.my_follow_ups,
            page=self.page,
            page_size=PAGE_SIZE,
            include_upcoming_days=UPCOMING_DAYS if self.show_upcoming else 0,
        )
        self.loading = False
        if error:
            self.rows, self.total = [], 0
            return rx.toast.error(error)
        rows, self.total = result
        self.count_label = self._t("follow_ups.count", count=self.total)
        self.rows = [self._row(r) for r in rows]
        return None

    def _row(self, r: service_log.FollowUpRow) -> DueRow:
        due, label = self._due(r.overdue_days)
        return DueRow(
            id=r.id,
            customer_id=r.customer_id,
            number=r.customer_number,
            name=r.customer_name,
            kind=self._t(f"service_log.kind.{r.kind}"),
            date=r.next_follow_up.isoformat(),
            due=due,
            due_label=label,
            summary=r.summary,
        )

    @rx.event
    def set_show_upcoming(self, value: bool):
        self.show_upcoming, self.page = bool(value), 1
        return self._fetch()

    @rx.event
    def open_complete(self, entry_id: str):
        self._complete_id = int(entry_id) if str(entry_id).isdecimal() else 0
        self.complete_error, self.complete_open = "", True

    @rx.event
    def close_dialogs(self):
        self.complete_open = False

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
        if self.page > 1 and len(self.rows) == 1:
            self.page -= 1  # the last row of the last page is gone
        self._fetch()
        return rx.toast.success(self._t("service_log.completed"))


def _row(row: rx.Var) -> rx.Component:
    href = "/customers/" + row.customer_id.to(str)
    return rx.table.row(
        rx.table.cell(row.date, white_space="nowrap"),
        rx.table.cell(due_badge(row.due, row.due_label)),
        rx.table.cell(
            rx.hstack(
                rx.link(row.number, href=href),
                rx.link(row.name, href=href, weight="medium"),
                spacing="2",
            ),
            white_space="nowrap",
        ),
        rx.table.cell(rx.badge(row.kind, variant="outline")),
        rx.table.cell(rx.text(row.summary, size="2")),
        rx.table.cell(
            rx.button(
                rx.icon("check", size=14),
                T("common.done"),
                size="1",
                variant="soft",
                on_click=FollowUpsState.open_complete(row.id),
                data_testid="follow-up-complete",
            )
        ),
        data_testid="follow-up-row",
    )


def follow_ups_page() -> rx.Component:
    S = FollowUpsState
    return page(
        "nav.follow_ups",
        rx.hstack(
            rx.cond(
                S.loading,
                rx.fragment(),
                rx.badge(
                    S.count_label,
                    color_scheme=rx.cond(S.total > 0, "amber", "gray"),
                    size="2",
                    data_testid="follow-ups-count",
                ),
            ),
            rx.spacer(),
            rx.text(T("follow_ups.show_upcoming"), size="2"),
            rx.switch(checked=S.show_upcoming, on_change=S.set_show_upcoming),
            align="center",
            width="100%",
        ),
        rx.cond(
            S.loading,
            rx.center(rx.spinner(size="3"), padding="40px", width="100%"),
            rx.cond(
                S.total == 0,
                rx.callout(
                    T("follow_ups.empty"),
                    icon="calendar-check",
                    color_scheme="green",
                    width="100%",
                    data_testid="follow-ups-empty",
                ),
                rx.vstack(
                    data_table(
                        (
                            "service_log.next_follow_up",
                            "service_log.status",
                            "follow_ups.customer",
                            "service_log.kind",
                            "follow_ups.summary",
                            "common.actions",
                        ),
                        S.rows,
                        _row,
                    ),
                    pager(S.page, S.pages, S.total, S.prev_page, S.next_page),
                    width="100%",
                ),
            ),
        ),
        complete_dialog(S),
    )
