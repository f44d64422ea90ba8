"""The 投诉管理 page: the window's KPI cards and weekly trend, then the queue with its filters,
the bulk-assignment bar and a page of rows."""

from __future__ import annotations

import reflex as rx

from custapp.components.complaint_badges import SEVERITY_COLORS
from custapp.components.shell import T, list_section, loading, page, paged_table, two_line
from custapp.pages.complaints_review.state import (
    ANY,
    CATEGORIES,
    SEVERITIES,
    STATUSES,
    ComplaintsReviewState,
)

S = ComplaintsReviewState
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


def _card(key: str, label: str, icon: str) -> rx.Component:
    return rx.card(
        rx.vstack(
            rx.hstack(
                rx.icon(icon, size=16, color=rx.color("gray", 10)),
                rx.text(T(label), size="2", color_scheme="gray"),
                align="center",
                spacing="2",
            ),
            rx.text(getattr(S.kpi, key), size="6", weight="bold", data_testid=f"kpi-{key}"),
            rx.text(
                getattr(S.kpi, f"{key}_sub"),
                size="1",
                color_scheme="gray",
                data_testid=f"kpi-{key}-sub",
            ),
            spacing="1",
        ),
        data_testid="kpi-card",
    )


def _trend_chart() -> rx.Component:
    return rx.card(
        rx.text(T("complaint_review.trend"), weight="medium", size="3"),
        rx.cond(
            S.kpi.received == "0",
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


def _figures() -> rx.Component:
    return rx.cond(
        S.kpi_loaded,
        rx.cond(
            S.kpi.open != "",
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
                rx.foreach(S.handler_options, lambda o: item(o.label, value=o.value)),
            ],
            "assignee",
            "filter-assignee",
        ),  # fmt: skip
        _select(
            S.f_age,
            S.set_age,
            [
                item(T("complaint_review.any_age"), value=ANY),
                rx.foreach(S.age_options, lambda o: item(o.label, value=o.value)),
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
                rx.foreach(S.handler_options, lambda o: rx.select.item(o.label, value=o.value))
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
    href = "/complaints/" + r.id
    return rx.table.row(
        rx.table.cell(
            rx.checkbox(
                checked=S.selected.contains(r.id),
                on_change=lambda checked: S.toggle(r.id, checked),
                data_testid="row-select",
            )
        ),
        rx.table.cell(
            two_line(rx.link(r.number, href=href, weight="medium"), r.channel),
            white_space="nowrap",
        ),
        rx.table.cell(rx.text(r.customer, size="2")),
        rx.table.cell(
            rx.badge(r.category, variant="outline"),
            rx.badge(
                r.severity_label,
                color_scheme=rx.match(r.severity, *SEVERITY_COLORS.items(), "gray"),
                margin_left="4px",
            ),
            white_space="nowrap",
        ),
        rx.table.cell(rx.text(r.status, size="2"), white_space="nowrap"),
        rx.table.cell(
            rx.text(
                r.assignee,
                size="2",
                color_scheme=rx.cond(r.assigned, "gray", "amber"),
                data_testid="row-assignee",
            )
        ),
        rx.table.cell(two_line(r.received, r.age, size="2"), white_space="nowrap"),
        rx.table.cell(
            rx.cond(
                r.overdue,
                rx.badge(T("complaint_review.overdue"), color_scheme="red", data_testid="overdue"),
            ),
            rx.text(r.due, size="1", color_scheme="gray"),
            white_space="nowrap",
        ),
        data_testid="complaint-row",
    )


def complaints_review_page() -> rx.Component:
    return page(
        "nav.complaints",
        rx.hstack(
            rx.cond(S.kpi_loaded, rx.text(S.kpi.hint, size="2", color_scheme="gray")),
            rx.spacer(),
            rx.segmented_control.root(
                rx.foreach(
                    S.window_options, lambda o: rx.segmented_control.item(o.label, value=o.value)
                ),
                value=S.window,
                on_change=S.set_window,
                data_testid="kpi-window",
            ),
            align="center",
            width="100%",
            wrap="wrap",
        ),
        _figures(),
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
