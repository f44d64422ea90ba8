"""The form of a new provision: recipient, purpose, period, categories, and the customers by
their numbers or by a segment; a refusal names the customers whose consent does not allow it."""

from __future__ import annotations

import reflex as rx

from custapp.components.shell import T, field_error
from custapp.pages.provisions.state import ALL, ProvisionsState
from custapp.pages.provisions.widgets import categories, field
from custapp.services.customer_fields import GRADES, LIFECYCLES, NATURES, VALUE_CLASSES

S = ProvisionsState


def _select(name: str, options: rx.Var, default: rx.Var, testid: str) -> rx.Component:
    return rx.select.root(
        rx.select.trigger(placeholder=T("common.choose"), width="100%", data_testid=testid),
        rx.select.content(rx.foreach(options, lambda o: rx.select.item(o.label, value=o.value))),
        name=name,
        default_value=default,
    )


def _filter(name: str, label: str, options: list[tuple[str, rx.Var | str]]) -> rx.Component:
    return rx.vstack(
        rx.text(T(label), size="1", color_scheme="gray"),
        rx.select.root(
            rx.select.trigger(width="130px"),
            rx.select.content(
                rx.select.item(T("common.all"), value=ALL),
                *[rx.select.item(text, value=v) for v, text in options],
            ),
            name=name,
            default_value=ALL,
        ),
        spacing="1",
    )


def _segment_filters() -> rx.Component:
    return rx.vstack(
        rx.text(T("provision.segment_hint"), size="1", color_scheme="gray"),
        rx.flex(
            _filter(
                "f_lifecycle",
                "customer.lifecycle",
                [(v, T(f"customer.lifecycle.{v}")) for v in LIFECYCLES],
            ),
            _filter("f_grade", "customer.grade", [(g, g) for g in GRADES]),
            _filter(
                "f_value",
                "customer.value_class",
                [(v, T(f"customer.value.{v}")) for v in VALUE_CLASSES],
            ),
            _filter(
                "f_nature",
                "customer.field.nature",
                [(v, T(f"customer.nature.{v}")) for v in NATURES],
            ),
            rx.vstack(
                rx.text(T("customer.tags"), size="1", color_scheme="gray"),
                rx.select.root(
                    rx.select.trigger(width="130px"),
                    rx.select.content(
                        rx.select.item(T("common.all"), value=ALL),
                        rx.foreach(S.tags, lambda tag: rx.select.item(tag, value=tag)),
                    ),
                    name="f_tag",
                    default_value=ALL,
                ),
                spacing="1",
            ),
            wrap="wrap",
            spacing="3",
        ),
        spacing="2",
        width="100%",
    )


def _refused_row(row: rx.Var) -> rx.Component:
    return rx.table.row(
        rx.table.cell(rx.code(row.number, variant="ghost"), white_space="nowrap"),
        rx.table.cell(rx.text(row.name, weight="medium"), white_space="nowrap"),
        rx.table.cell(rx.text(row.reason, color_scheme="red")),
        data_testid="refused-row",
    )


def _refusal() -> rx.Component:
    return rx.cond(
        S.refused_rows.length() > 0,
        rx.callout.root(
            rx.callout.icon(rx.icon("ban")),
            rx.vstack(
                rx.text(T("provision.refused.title"), weight="bold"),
                rx.text(S.refused_body, size="2"),
                rx.box(
                    rx.table.root(
                        rx.table.header(
                            rx.table.row(
                                rx.table.column_header_cell(T("customer.number")),
                                rx.table.column_header_cell(T("customer.field.name")),
                                rx.table.column_header_cell(T("provision.refused.reason")),
                            )
                        ),
                        rx.table.body(rx.foreach(S.refused_rows, _refused_row)),
                        size="1",
                        width="100%",
                    ),
                    max_height="280px",
                    overflow_y="auto",
                    width="100%",
                    background=rx.color("gray", 1),
                    border_radius="6px",
                ),
                rx.cond(S.refused_more != "", rx.text(S.refused_more, size="2", weight="medium")),
                rx.cond(
                    S.mode == "numbers",
                    rx.button(
                        rx.icon("list-x", size=14),
                        T("provision.refused.remove"),
                        type="button",
                        size="1",
                        variant="soft",
                        color_scheme="red",
                        on_click=S.remove_refused,
                        data_testid="refused-remove",
                    ),
                ),
                spacing="2",
                width="100%",
            ),
            color_scheme="red",
            width="100%",
            data_testid="provision-refused",
        ),
    )


def provision_form() -> rx.Component:
    no_recipients = S.recipient_options.length() == 0
    return rx.card(
        rx.form(
            rx.vstack(
                rx.hstack(
                    rx.heading(T("provision.new"), size="4"),
                    rx.spacer(),
                    rx.icon_button(
                        rx.icon("x", size=16),
                        type="button",
                        variant="ghost",
                        color_scheme="gray",
                        on_click=S.close_form,
                        aria_label="close",
                    ),
                    width="100%",
                ),
                rx.cond(
                    no_recipients,
                    rx.callout(
                        T("provision.no_recipients"), icon="triangle-alert", color_scheme="amber"
                    ),
                ),
                rx.cond(
                    S.purpose_options.length() == 0,
                    rx.callout(
                        T("provision.no_purposes"), icon="triangle-alert", color_scheme="amber"
                    ),
                ),
                rx.grid(
                    field(
                        "provision.field.recipient",
                        _select(
                            "recipient",
                            S.recipient_options,
                            S.default_recipient,
                            "provision-recipient",
                        ),
                        S.prov_errors.get("recipient", ""),
                    ),
                    field(
                        "provision.field.purpose",
                        _select(
                            "purpose", S.purpose_options, S.default_purpose, "provision-purpose"
                        ),
                        S.prov_errors.get("purpose", ""),
                    ),
                    field(
                        "provision.field.contract_reference",
                        rx.input(name="contract_reference", id="prov-contract", width="100%"),
                        S.prov_errors.get("contract_reference", ""),
                    ),
                    field(
                        "provision.field.period_from",
                        rx.input(
                            name="period_from",
                            id="prov-from",
                            type="date",
                            min=S.today,
                            default_value=S.today,
                            width="100%",
                        ),
                        S.prov_errors.get("period_from", ""),
                    ),
                    field(
                        "provision.field.period_to",
                        rx.input(
                            name="period_to", id="prov-to", type="date", min=S.today, width="100%"
                        ),
                        S.prov_errors.get("period_to", ""),
                    ),
                    columns=rx.breakpoints(initial="1", md="3"),
                    spacing="3",
                    width="100%",
                ),
                field(
                    "provision.field.categories",
                    categories(S.sel_categories, S.toggle_category, "prov-cat"),
                    S.prov_errors.get("categories", ""),
                ),
                field(
                    "provision.field.customers",
                    rx.vstack(
                        rx.segmented_control.root(
                            rx.segmented_control.item(T("provision.mode.numbers"), value="numbers"),
                            rx.segmented_control.item(T("provision.mode.segment"), value="segment"),
                            value=S.mode,
                            on_change=S.set_mode,
                            data_testid="provision-mode",
                        ),
                        rx.box(
                            rx.text_area(
                                name="numbers",
                                id="prov-numbers",
                                placeholder=T("provision.numbers_hint"),
                                rows="4",
                                width="100%",
                                font_family="monospace",
                            ),
                            display=rx.cond(S.mode == "numbers", "block", "none"),
                            width="100%",
                        ),
                        rx.box(
                            _segment_filters(),
                            display=rx.cond(S.mode == "segment", "block", "none"),
                            width="100%",
                        ),
                        spacing="2",
                        width="100%",
                    ),
                    S.prov_errors.get("customers", ""),
                ),
                _refusal(),
                field_error(S.prov_error),
                rx.hstack(
                    rx.text(T("provision.check_note"), size="1", color_scheme="gray"),
                    rx.spacer(),
                    rx.button(
                        T("common.cancel"),
                        type="button",
                        variant="soft",
                        color_scheme="gray",
                        on_click=S.close_form,
                    ),
                    rx.button(
                        rx.icon("shield-check", size=16),
                        T("provision.submit"),
                        type="submit",
                        loading=S.saving,
                        disabled=no_recipients,
                        data_testid="provision-submit",
                    ),
                    align="center",
                    width="100%",
                    spacing="3",
                ),
                spacing="4",
                width="100%",
            ),
            on_submit=S.create,
            reset_on_submit=False,
        ),
        width="100%",
        data_testid="provision-form",
    )
