"""The member's 我的投诉 page: the form to file a complaint, the number of the one just filed,
the member's complaints a page at a time, and the dialog of the one opened (dialogs.py)."""

from __future__ import annotations

import reflex as rx

from custapp.components.complaint_badges import status_badge
from custapp.components.shell import T, field_error, list_section, page, paged_table, two_line
from custapp.pages.portal_complaints.dialogs import complaint_dialog
from custapp.pages.portal_complaints.state import (
    CATEGORIES,
    DESCRIPTION_INPUT,
    DESIRED_INPUT,
    PortalComplaintsState,
)
from custapp.services import complaints

S = PortalComplaintsState


def _section(icon: str, title: str, *children: rx.Component, **props) -> rx.Component:
    return rx.card(
        rx.vstack(
            rx.hstack(
                rx.icon(icon, size=18, color=rx.color("accent", 10)),
                rx.heading(T(title), size="4"),
                align="center",
                spacing="2",
            ),
            *children,
            spacing="3",
            width="100%",
        ),
        width="100%",
        **props,
    )


def _field(label: str, *children: rx.Component, testid: str) -> rx.Component:
    return rx.vstack(
        rx.text(T(label), size="2", weight="medium"),
        *children,
        spacing="1",
        width="100%",
        data_testid=testid,
    )


def _invalid(field: str) -> rx.Var:
    return rx.cond(getattr(S.errors, field) != "", "true", "false")


def _text_field(field: str, input_id: str, rows: str) -> rx.Component:
    return _field(
        f"portal_complaints.{field}",
        rx.text_area(
            name=field,
            id=input_id,
            max_length=complaints.MAX_TEXT,
            rows=rows,
            placeholder=T(f"portal_complaints.{field}_hint"),
            aria_invalid=_invalid(field),
            width="100%",
        ),
        field_error(getattr(S.errors, field)),
        testid=f"field-{field}",
    )


def _form() -> rx.Component:
    return rx.form(
        rx.vstack(
            _field(
                "portal_complaints.category",
                rx.select.root(
                    rx.select.trigger(
                        placeholder=T("portal_complaints.category_placeholder"),
                        width="100%",
                        data_testid="complaint-category",
                    ),
                    rx.select.content(
                        *[rx.select.item(T(f"complaint.category.{c}"), value=c) for c in CATEGORIES]
                    ),
                    value=S.category,
                    on_change=S.choose_category,
                ),
                field_error(S.errors.category),
                testid="field-category",
            ),
            _text_field("description", DESCRIPTION_INPUT, "4"),
            _text_field("desired", DESIRED_INPUT, "2"),
            field_error(S.error),
            rx.flex(
                rx.text(
                    S.response_hint, size="1", color_scheme="gray", flex="1", min_width="200px"
                ),
                rx.button(
                    rx.icon("send", size=14),
                    T("portal_complaints.submit"),
                    type="submit",
                    data_testid="complaint-submit",
                ),
                align="center",
                gap="8px",
                wrap="wrap",
                width="100%",
            ),
            spacing="3",
            width="100%",
        ),
        on_submit=S.file_complaint,
        width="100%",
    )


def _filed() -> rx.Component:
    return rx.cond(
        S.filed != "",
        rx.callout(
            rx.vstack(
                rx.text(T("portal_complaints.filed_title"), weight="bold"),
                rx.hstack(
                    rx.text(T("portal_complaints.your_number")),
                    rx.code(S.filed, size="3", data_testid="complaint-filed-number"),
                    align="center",
                    spacing="2",
                    wrap="wrap",
                ),
                rx.text(T("portal_complaints.keep_number"), size="1"),
                spacing="1",
            ),
            icon="circle-check",
            color_scheme="green",
            width="100%",
            data_testid="complaint-filed",
        ),
    )


def _row(r: rx.Var) -> rx.Component:
    return rx.table.row(
        rx.table.cell(
            two_line(r.number, r.time, size="2", weight="medium", white_space="nowrap"),
            data_testid="complaint-number",
        ),
        rx.table.cell(
            rx.vstack(
                status_badge(r.status, r.status_label),
                rx.text(r.category, size="1", color_scheme="gray"),
                spacing="1",
                align="start",
            )
        ),
        rx.table.cell(
            rx.button(
                T("portal_complaints.open"),
                size="1",
                variant="soft",
                on_click=S.open_complaint(r.id),
                white_space="nowrap",
                data_testid="complaint-open",
            ),
            text_align="right",
        ),
        align="center",
        data_testid="complaint-row",
    )


def _list() -> rx.Component:
    return list_section(
        rx.fragment(),
        S.loaded,
        S.total,
        rx.text(T("portal_complaints.empty"), size="2", color_scheme="gray"),
        paged_table(
            ("portal_complaints.number", "portal_complaints.status", ""),
            S.rows,
            _row,
            S.page,
            S.pages,
            S.total,
            S.prev_page,
            S.next_page,
            size="1",
        ),
    )


def portal_complaints_page() -> rx.Component:
    return page(
        "nav.portal_complaints",
        rx.vstack(
            rx.link(
                rx.hstack(
                    rx.icon("arrow-left", size=14), T("portal_complaints.back"), align="center"
                ),
                href="/portal",
                size="2",
                data_testid="complaints-back",
            ),
            rx.text(T("portal_complaints.intro"), size="2", color_scheme="gray"),
            _section(
                "message-circle-warning",
                "portal_complaints.new",
                _filed(),
                _form(),
                data_testid="complaint-form",
            ),
            _section("list", "portal_complaints.mine", _list()),
            complaint_dialog(),
            spacing="4",
            width="100%",
            max_width="860px",
            on_unmount=S.close_complaint,
        ),
    )
