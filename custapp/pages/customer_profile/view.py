"""客户档案 profile: the header, the overview (general fields, masked sensitive values,
classification), the change history, and the tabs of the linked records."""

from __future__ import annotations

from collections.abc import Callable

import reflex as rx

from custapp.components.shell import T, data_table, page, pager
from custapp.pages.customer_profile.attachments import attachments_tab
from custapp.pages.customer_profile.complaints import complaints_tab
from custapp.pages.customer_profile.consents import consents_tab
from custapp.pages.customer_profile.dialogs import grade_dialog, reveal_dialog, verify_dialog
from custapp.pages.customer_profile.membership import membership_tab
from custapp.pages.customer_profile.orders import orders_tab
from custapp.pages.customer_profile.service import service_tab
from custapp.pages.customer_profile.state import TAB_NAMES, ProfileState


def _badge(text: rx.Var, color: str = "gray") -> rx.Component:
    return rx.badge(text, color_scheme=color, variant="soft", size="2")


def _header() -> rx.Component:
    S = ProfileState
    return rx.vstack(
        rx.cond(
            S.redirected_from != "",
            rx.callout(
                T("customer.redirected") + " " + S.redirected_from, icon="merge", width="100%"
            ),
        ),
        rx.hstack(
            rx.heading(S.name, size="6", data_testid="customer-name"),
            rx.code(S.number),
            _badge(S.kind),
            _badge(T("customer.grade") + " " + S.badges.grade, "teal"),
            _badge(S.badges.lifecycle, "blue"),
            _badge(S.badges.value, "violet"),
            _badge(S.badges.verify, rx.cond(S.badges.verify_code == "verified", "green", "amber")),
            rx.cond(
                S.stale & (S.badges.verify_code == "verified"),
                _badge(T("customer.stale"), "red"),
            ),
            rx.spacer(),
            rx.cond(
                S.can_update,
                rx.link(
                    rx.button(rx.icon("pencil", size=14), T("customer.edit"), variant="soft"),
                    href="/customers/" + S.cid.to_string() + "/edit",
                ),
            ),
            align="center",
            wrap="wrap",
            width="100%",
        ),
        rx.hstack(
            rx.text(T("customer.completeness"), size="2", color_scheme="gray"),
            rx.progress(value=S.completeness, max=100, width="160px"),
            rx.text(S.completeness, "%", size="2"),
            align="center",
        ),
        width="100%",
    )


def _sensitive_row(item: rx.Var) -> rx.Component:
    S = ProfileState
    shown = S.revealed_field == item.field
    return rx.table.row(
        rx.table.cell(item.label),
        rx.table.cell(
            rx.cond(
                shown,
                rx.code(S.revealed_value, color_scheme="amber", data_testid="revealed-value"),
                rx.code(item.masked, variant="ghost", data_testid="masked-value"),
            )
        ),
        rx.table.cell(rx.badge(T("customer.level"), " ", item.level, variant="outline")),
        rx.table.cell(
            rx.cond(
                item.level == "3",
                rx.text(T("customer.l3_hint"), size="1", color_scheme="gray"),
                rx.cond(
                    ~S.reveal_levels.contains(item.level),
                    rx.text(T("customer.no_reveal_permission"), size="1", color_scheme="gray"),
                    rx.cond(
                        shown,
                        rx.button(
                            rx.icon("eye-off", size=14),
                            T("customer.hide"),
                            size="1",
                            variant="soft",
                            on_click=S.leave,
                        ),
                        rx.button(
                            rx.icon("eye", size=14),
                            T("customer.reveal"),
                            size="1",
                            variant="soft",
                            on_click=S.ask_reveal(item.field, item.label),
                            data_testid="reveal-" + item.field,
                        ),
                    ),
                ),
            )
        ),
    )


def _pairs(rows: rx.Var) -> rx.Component:
    return rx.data_list.root(
        rx.foreach(
            rows,
            lambda r: rx.data_list.item(rx.data_list.label(r.label), rx.data_list.value(r.value)),
        ),
        size="2",
    )


def _overview() -> rx.Component:
    S = ProfileState
    return rx.grid(
        rx.card(
            rx.vstack(
                rx.heading(T("customer.section.general"), size="3"),
                _pairs(S.general),
                rx.cond(S.tags != "", rx.text(T("customer.tags"), ": ", S.tags, size="2")),
                rx.cond(
                    S.notes != "",
                    rx.box(
                        rx.text(T("customer.field.notes"), weight="medium", size="2"),
                        rx.text(S.notes, size="2", white_space="pre-wrap"),
                    ),
                ),
                rx.cond(
                    S.contacts.length() > 0,
                    rx.vstack(
                        rx.text(T("customer.section.contacts"), weight="medium", size="2"),
                        rx.foreach(
                            S.contacts,
                            lambda c: rx.text(c.name, " · ", c.title, " · ", c.phone, size="2"),
                        ),
                        spacing="1",
                    ),
                ),
                spacing="3",
            ),
        ),
        rx.card(
            rx.vstack(
                rx.hstack(
                    rx.heading(T("customer.section.sensitive"), size="3"),
                    rx.spacer(),
                    rx.text(T("customer.masked_hint"), size="1", color_scheme="gray"),
                    width="100%",
                ),
                rx.cond(
                    S.sensitive.length() > 0,
                    rx.table.root(
                        rx.table.body(rx.foreach(S.sensitive, _sensitive_row)),
                        size="1",
                        width="100%",
                    ),
                    rx.text(T("customer.no_sensitive"), size="2", color_scheme="gray"),
                ),
                spacing="3",
                width="100%",
            ),
        ),
        rx.card(
            rx.vstack(
                rx.heading(T("customer.section.classification"), size="3"),
                _pairs(S.facts),
                rx.hstack(
                    rx.cond(
                        S.can_update,
                        rx.button(
                            rx.icon("badge-check", size=14),
                            T("customer.verify_action"),
                            size="1",
                            variant="soft",
                            on_click=S.open_verify,
                            data_testid="verify-open",
                        ),
                    ),
                    rx.cond(
                        S.can_override,
                        rx.button(
                            rx.icon("award", size=14),
                            T("customer.grade_override"),
                            size="1",
                            variant="soft",
                            on_click=S.open_grade,
                        ),
                    ),
                ),
                spacing="3",
            ),
        ),
        columns=rx.breakpoints(initial="1", md="2"),
        spacing="4",
        width="100%",
    )


def _history() -> rx.Component:
    S = ProfileState
    return rx.vstack(
        data_table(
            (
                "audit.col.time",
                "audit.col.actor",
                "customer.history.field",
                "customer.history.old",
                "customer.history.new",
            ),
            S.history,
            lambda r: rx.table.row(
                rx.table.cell(r.time, white_space="nowrap"),
                rx.table.cell(r.actor),
                rx.table.cell(r.field),
                rx.table.cell(r.old),
                rx.table.cell(r.new),
            ),
        ),
        rx.cond(S.history_total == 0, rx.text(T("common.empty"), color_scheme="gray")),
        pager(S.history_page, S.history_pages, S.history_total, S.history_prev, S.history_next),
        width="100%",
    )


# tab value -> its content; each linked-record tab loads its own page when it mounts
TABS: dict[str, Callable[[], rx.Component]] = {
    "overview": _overview,
    "transactions": orders_tab,
    "service": service_tab,
    "points": membership_tab,
    "consents": consents_tab,
    "complaints": complaints_tab,
    "attachments": attachments_tab,
    "history": _history,
}
assert tuple(TABS) == TAB_NAMES, "state.TAB_NAMES lists the tabs of the view, in order"


def customer_profile_page() -> rx.Component:
    S = ProfileState
    return page(
        "customer.profile",
        rx.box(
            _header(),
            rx.tabs.root(
                rx.tabs.list(
                    *[
                        rx.tabs.trigger(
                            T(f"customer.tab.{tab}"), value=tab, data_testid=f"tab-{tab}"
                        )
                        for tab in TABS
                    ],
                    overflow_x="auto",
                ),
                *[
                    rx.tabs.content(content(), value=tab, padding_top="16px")
                    for tab, content in TABS.items()
                ],
                value=S.tab,
                on_change=S.set_tab,
                width="100%",
                margin_top="16px",
            ),
            reveal_dialog(),
            verify_dialog(),
            grade_dialog(),
            on_unmount=S.leave,
            width="100%",
        ),
    )
