"""投诉管理 for cs_manager (SPEC §5 Manager review): the KPIs of a chosen window (30/90/180/365
days) with the weekly trend by category, and the queue filtered on the server (overdue,
severity, category, assignee or 未分派, age, status), a page at a time, with bulk assignment of
the ticked rows. The services check every permission again; the page lists and forwards."""

from __future__ import annotations

import reflex as rx

from custapp import clock
from custapp.components.shell import T, list_section, loading, page, paged_table, two_line
from custapp.models.complaints import CATEGORIES, SEVERITIES
from custapp.services import complaint_reports, complaints
from custapp.states.paging import PagedMixin
from custapp.states.session import SessionState

PAGE_SIZE = 20
AGES = ("1", "3", "7", "14", "30")
STATUSES = ("open", "closed", "all")
ANY = "all"
SEVERITY_COLOURS = {"low": "gray", "normal": "blue", "high": "orange", "critical": "red"}
CATEGORY_COLOURS = {
    "service": "#e5484d",
    "product": "#f76b15",
    "billing": "#ffc53d",
    "privacy": "#8e4ec6",
    "environment": "#30a46c",
    "other": "#8b8d98",
}
CARDS = (  # key, label, icon
    ("open", "complaint_review.open", "inbox"),
    ("overdue_rate", "complaint_review.overdue_rate", "alarm-clock"),
    ("first_response", "complaint_review.first_response", "reply"),
    ("resolution", "complaint_review.resolution", "circle-check"),
    ("satisfaction", "complaint_review.satisfaction", "smile"),
    ("repeat", "complaint_review.repeat", "repeat"),
)


class ComplaintsReviewState(PagedMixin, SessionState):
    window: str = "90"
    kpi: dict[str, str] = {}
    trend: list[dict[str, int | str]] = []
    kpi_loaded: bool = False
    rows: list[dict[str, str]] = []
    loaded: bool = False
    f_overdue: bool = False
    f_severity: str = ANY
    f_category: str = ANY
    f_assignee: str = ANY
    f_age: str = ANY
    f_status: str = "open"
    selected: list[str] = []
    handler_options: list[list[str]] = []
    age_options: list[list[str]] = []
    window_options: list[list[str]] = []
    assign_to: str = ""

    def _page_size(self) -> int:
        return PAGE_SIZE

    @rx.var
    def selected_label(self) -> str:
        return self._t("complaint_review.selected", count=len(self.selected))

    @rx.event
    def load(self):
        _, redirect = self._enter("complaint.assign")
        if redirect:
            return redirect
        self.page, self.selected, self.assign_to = 1, [], ""
        self.loaded = self.kpi_loaded = False
        self.age_options = [[a, self._t("complaint_review.age_days", days=a)] for a in AGES]
        self.window_options = [
            [str(d), self._t("complaint_review.window_days", days=d)]
            for d in complaint_reports.WINDOWS
        ]
        found, error = self._call(complaints.handlers)
        self.handler_options = [[str(i), name] for i, name in found or []]
        self._kpis()
        toast = self._fetch()
        return [rx.toast.error(error)] if error else toast

    # --- the figures ----------------------------------------------------------------------

    def _hours(self, value: float | None) -> str:
        if value is None:
            return self._t("complaint_review.no_value")
        return self._t("complaint_review.hours", hours=f"{value:.1f}")

    def _kpis(self) -> None:
        days = int(self.window) if self.window.isdecimal() else 90
        k, error = self._call(complaint_reports.kpis, days=days)
        self.kpi_loaded = True
        if error or k is None:
            self.kpi, self.trend = {}, []
            return
        none = self._t("complaint_review.no_value")
        self.kpi = {
            "hint": self._t(
                "complaint_review.hint", days=k.days, since=clock.format_local(k.since, "%Y-%m-%d")
            ),
            "received": str(k.received),
            "open": str(k.open),
            "open_sub": self._t("complaint_review.open_sub", count=k.received),
            "overdue_rate": none if k.overdue_rate is None else f"{k.overdue_rate:.0%}",
            "overdue_rate_sub": self._t("complaint_review.overdue_sub", count=k.overdue),
            "overdue": str(k.overdue),
            "first_response": self._hours(k.median_first_response_hours),
            "first_response_sub": self._t(
                "complaint_review.median_sub", count=k.first_response_count
            ),
            "resolution": self._hours(k.median_resolution_hours),
            "resolution_sub": self._t("complaint_review.median_sub", count=k.resolution_count),
            "satisfaction": none
            if k.satisfaction_avg is None
            else self._t("complaint_review.satisfaction_value", score=f"{k.satisfaction_avg:.1f}"),
            "satisfaction_sub": self._t(
                "complaint_review.satisfaction_sub", count=k.satisfaction_count
            ),
            "repeat": str(k.repeat_complainants),
            "repeat_sub": self._t("complaint_review.repeat_sub"),
        }
        self.trend = [{"week": w.week.strftime("%m-%d"), **w.counts} for w in k.trend]

    @rx.event
    def set_window(self, days: str | list[str]):
        self.window = days if days in [str(d) for d in complaint_reports.WINDOWS] else "90"
        self._kpis()

    # --- the queue ------------------------------------------------------------------------

    def _filters(self) -> complaints.QueueFilter:
        assignee = None
        if self.f_assignee == "0":
            assignee = 0
        elif self.f_assignee.isdecimal():
            assignee = int(self.f_assignee)
        return complaints.QueueFilter(
            overdue=self.f_overdue,
            severity=self.f_severity if self.f_severity in SEVERITIES else "",
            category=self.f_category if self.f_category in CATEGORIES else "",
            assignee_id=assignee,
            older_than_days=int(self.f_age) if self.f_age in AGES else None,
            status=self.f_status if self.f_status in STATUSES else "open",
        )

    def _row(self, r: complaints.ComplaintRow) -> dict[str, str]:
        days = (clock.local_today() - clock.to_local(r.created_at).date()).days
        dues = [d for d in (r.response_by, r.resolution_by) if d is not None]
        due = min(dues) if dues and r.status not in ("closed", "on_hold") else None
        return {
            "id": str(r.id),
            "number": r.number,
            "customer": f"{r.customer_number} {r.customer_name}"
            if r.customer_id
            else self._t("complaint_review.anonymous"),
            "category": self._t(f"complaint.category.{r.category}"),
            "severity": r.severity,
            "severity_label": self._t(f"complaint.severity.{r.severity}"),
            "status": self._t(f"complaint.status.{r.status}"),
            "channel": self._t(f"complaint.channel.{r.channel}"),
            "assignee": r.assignee_name or self._t("complaint_review.unassigned"),
            "assigned": "1" if r.assignee_id else "",
            "received": clock.format_local(r.created_at),
            "age": self._t("complaint_review.age_cell", days=days)
            if days
            else self._t("complaint_review.today"),
            "due": self._t("complaint_review.due", time=clock.format_local(due)) if due else "",
            "overdue": "1" if r.overdue else "",
        }

    def _fetch(self):
        found, error = self._call(
            complaints.queue, filters=self._filters(), page=self.page, page_size=PAGE_SIZE
        )
        self.loaded, self.selected = True, []
        if error:
            self.rows, self.total = [], 0
            return rx.toast.error(error)
        rows, self.total = found
        self.rows = [self._row(r) for r in rows]
        return None

    def _refilter(self):
        self.page = 1
        return self._fetch()

    @rx.event
    def set_overdue(self, value: bool):
        self.f_overdue = value is True
        return self._refilter()

    @rx.event
    def set_severity(self, value: str):
        self.f_severity = value if value in SEVERITIES else ANY
        return self._refilter()

    @rx.event
    def set_category(self, value: str):
        self.f_category = value if value in CATEGORIES else ANY
        return self._refilter()

    @rx.event
    def set_assignee(self, value: str):
        self.f_assignee = value if isinstance(value, str) and value.isdecimal() else ANY
        return self._refilter()

    @rx.event
    def set_age(self, value: str):
        self.f_age = value if value in AGES else ANY
        return self._refilter()

    @rx.event
    def set_status(self, value: str):
        self.f_status = value if value in STATUSES else "open"
        return self._refilter()

    @rx.event
    def clear_filters(self):
        self.f_overdue, self.f_status = False, "open"
        self.f_severity = self.f_category = self.f_assignee = self.f_age = ANY
        return self._refilter()

    # --- bulk assignment ------------------------------------------------------------------

    @rx.event
    def toggle(self, complaint_id: str, checked: bool):
        on_page = {r["id"] for r in self.rows}
        rest = [i for i in self.selected if i != complaint_id]
        self.selected = (
            [*rest, complaint_id] if checked is True and complaint_id in on_page else rest
        )

    @rx.event
    def toggle_page(self, checked: bool):
        self.selected = [r["id"] for r in self.rows] if checked is True else []

    @rx.event
    def set_assign_to(self, value: str):
        self.assign_to = value if isinstance(value, str) and value.isdecimal() else ""

    @rx.event
    def assign_selected(self):
        ids = [int(i) for i in self.selected if i.isdecimal()]
        if not ids:
            return rx.toast.error(self._t("complaint_review.pick_some"))
        if not self.assign_to.isdecimal():
            return rx.toast.error(self._t("complaint_review.pick_handler"))
        done, error = self._call(
            complaints.assign, complaint_ids=ids, assignee_id=int(self.assign_to)
        )
        if error:
            return rx.toast.error(self._field_errors.get("assignee", error))
        self._fetch()
        return rx.toast.success(self._t("complaint_review.assigned", count=done))


# --- the page ---------------------------------------------------------------------------------

S = ComplaintsReviewState


def _card(key: str, label: str, icon: str) -> rx.Component:
    return rx.card(
        rx.vstack(
            rx.hstack(
                rx.icon(icon, size=16, color=rx.color("gray", 10)),
                rx.text(T(label), size="2", color_scheme="gray"),
                align="center",
                spacing="2",
            ),
            rx.text(S.kpi[key], size="6", weight="bold", data_testid=f"kpi-{key}"),
            rx.text(
                S.kpi[f"{key}_sub"], size="1", color_scheme="gray", data_testid=f"kpi-{key}-sub"
            ),
            spacing="1",
        ),
        data_testid="kpi-card",
    )


def _trend_chart() -> rx.Component:
    return rx.card(
        rx.text(T("complaint_review.trend"), weight="medium", size="3"),
        rx.cond(
            S.kpi["received"] == "0",
            rx.center(
                rx.text(T("complaint_review.trend_empty"), color_scheme="gray", size="2"),
                height="120px",
            ),
            rx.recharts.bar_chart(
                rx.recharts.cartesian_grid(stroke_dasharray="3 3", vertical=False),
                rx.recharts.x_axis(data_key="week"),
                rx.recharts.y_axis(allow_decimals=False, width=40),
                rx.recharts.graphing_tooltip(),
                rx.recharts.legend(),
                *[
                    rx.recharts.bar(
                        data_key=c,
                        stack_id="week",
                        fill=CATEGORY_COLOURS[c],
                        name=T(f"complaint.category.{c}"),
                        is_animation_active=False,
                    )
                    for c in CATEGORIES
                ],
                data=S.trend,
                width="100%",
                height=200,
            ),
        ),
        width="100%",
        data_testid="kpi-trend",
    )


def _select(value: rx.Var, on_change, items: list, label: str, testid: str) -> rx.Component:  # noqa: ANN001
    return rx.select.root(
        rx.select.trigger(aria_label=label, data_testid=testid),
        rx.select.content(*items),
        value=value,
        on_change=on_change,
        size="2",
    )


def _filters() -> rx.Component:
    item = rx.select.item
    return rx.flex(
        rx.hstack(
            rx.switch(checked=S.f_overdue, on_change=S.set_overdue, data_testid="filter-overdue"),
            rx.text(T("complaint_review.overdue_only"), size="2"),
            align="center",
            spacing="2",
        ),
        _select(
            S.f_status,
            S.set_status,
            [item(T(f"complaint_review.status.{s}"), value=s) for s in STATUSES],
            "status",
            "filter-status",
        ),  # fmt: skip
        _select(
            S.f_severity,
            S.set_severity,
            [item(T("complaint_review.any_severity"), value=ANY)]
            + [item(T(f"complaint.severity.{s}"), value=s) for s in SEVERITIES],
            "severity",
            "filter-severity",
        ),  # fmt: skip
        _select(
            S.f_category,
            S.set_category,
            [item(T("complaint_review.any_category"), value=ANY)]
            + [item(T(f"complaint.category.{c}"), value=c) for c in CATEGORIES],
            "category",
            "filter-category",
        ),  # fmt: skip
        _select(
            S.f_assignee,
            S.set_assignee,
            [
                item(T("complaint_review.any_assignee"), value=ANY),
                item(T("complaint_review.unassigned"), value="0"),
                rx.foreach(S.handler_options, lambda o: item(o[1], value=o[0])),
            ],
            "assignee",
            "filter-assignee",
        ),  # fmt: skip
        _select(
            S.f_age,
            S.set_age,
            [
                item(T("complaint_review.any_age"), value=ANY),
                rx.foreach(S.age_options, lambda o: item(o[1], value=o[0])),
            ],
            "age",
            "filter-age",
        ),  # fmt: skip
        rx.button(
            rx.icon("x", size=14),
            T("complaint_review.clear_filters"),
            on_click=S.clear_filters,
            variant="ghost",
            size="2",
        ),
        wrap="wrap",
        spacing="3",
        align="center",
        width="100%",
    )


def _assign_bar() -> rx.Component:
    return rx.hstack(
        rx.checkbox(
            T("complaint_review.select_page"),
            checked=(S.selected.length() == S.rows.length()) & (S.rows.length() > 0),
            on_change=S.toggle_page,
            data_testid="select-page",
        ),
        rx.text(
            S.selected_label,
            size="2",
            color_scheme="gray",
            data_testid="selected-count",
        ),
        rx.spacer(),
        rx.select.root(
            rx.select.trigger(
                placeholder=T("complaint_review.assign_to"),
                aria_label="assign-to",
                data_testid="assign-to",
                min_width="160px",
            ),
            rx.select.content(
                rx.foreach(S.handler_options, lambda o: rx.select.item(o[1], value=o[0]))
            ),
            value=S.assign_to,
            on_change=S.set_assign_to,
        ),
        rx.button(
            rx.icon("user-check", size=14),
            T("complaint_review.assign"),
            on_click=S.assign_selected,
            disabled=S.selected.length() == 0,
            data_testid="assign-submit",
        ),
        align="center",
        width="100%",
        spacing="3",
    )


def _row(r: rx.Var) -> rx.Component:
    href = "/complaints/" + r["id"]
    return rx.table.row(
        rx.table.cell(
            rx.checkbox(
                checked=S.selected.contains(r["id"]),
                on_change=lambda checked: S.toggle(r["id"], checked),
                data_testid="row-select",
            )
        ),
        rx.table.cell(
            two_line(rx.link(r["number"], href=href, weight="medium"), r["channel"]),
            white_space="nowrap",
        ),
        rx.table.cell(rx.text(r["customer"], size="2")),
        rx.table.cell(
            rx.badge(r["category"], variant="outline"),
            rx.badge(
                r["severity_label"],
                color_scheme=rx.match(r["severity"], *SEVERITY_COLOURS.items(), "gray"),
                margin_left="4px",
            ),
            white_space="nowrap",
        ),
        rx.table.cell(rx.text(r["status"], size="2"), white_space="nowrap"),
        rx.table.cell(
            rx.text(
                r["assignee"],
                size="2",
                color_scheme=rx.cond(r["assigned"] == "1", "gray", "amber"),
                data_testid="row-assignee",
            )
        ),
        rx.table.cell(two_line(r["received"], r["age"], size="2"), white_space="nowrap"),
        rx.table.cell(
            rx.cond(
                r["overdue"] == "1",
                rx.badge(T("complaint_review.overdue"), color_scheme="red", data_testid="overdue"),
            ),
            rx.text(r["due"], size="1", color_scheme="gray"),
            white_space="nowrap",
        ),
        data_testid="complaint-row",
    )


def complaints_review_page() -> rx.Component:
    return page(
        "nav.complaints",
        rx.hstack(
            rx.cond(S.kpi_loaded, rx.text(S.kpi["hint"], size="2", color_scheme="gray")),
            rx.spacer(),
            rx.segmented_control.root(
                rx.foreach(S.window_options, lambda o: rx.segmented_control.item(o[1], value=o[0])),
                value=S.window,
                on_change=S.set_window,
                data_testid="kpi-window",
            ),
            align="center",
            width="100%",
            wrap="wrap",
        ),
        rx.cond(
            S.kpi_loaded,
            rx.cond(
                S.kpi.contains("open"),
                rx.vstack(
                    rx.grid(
                        *[_card(*c) for c in CARDS],
                        columns=rx.breakpoints(initial="2", md="3", lg="6"),
                        spacing="3",
                        width="100%",
                    ),
                    _trend_chart(),
                    spacing="3",
                    width="100%",
                ),
            ),
            loading(),
        ),
        rx.heading(T("complaint_review.queue"), size="4", padding_top="8px"),
        _filters(),
        list_section(
            _assign_bar(),
            S.loaded,
            S.total,
            rx.callout(
                T("complaint_review.empty"),
                icon="circle-check",
                color_scheme="green",
                width="100%",
                data_testid="complaints-empty",
            ),
            paged_table(
                (
                    "",
                    "complaint_review.number",
                    "complaint_review.customer",
                    "complaint_review.category",
                    "complaint_review.status",
                    "complaint_review.assignee",
                    "complaint_review.received",
                    "complaint_review.deadline",
                ),
                S.rows,
                _row,
                S.page,
                S.pages,
                S.total,
                S.prev_page,
                S.next_page,
            ),
        ),
    )
