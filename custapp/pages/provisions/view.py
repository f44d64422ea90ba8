"""The 对外提供 page: three tabs of paged lists (接收方, 提供记录, 依法披露) and their dialogs."""

from __future__ import annotations

import reflex as rx

from custapp.components.shell import T, list_section, page, paged_table, toolbar, two_line
from custapp.pages.provisions.dialogs import (
    DisclosureDialogState,
    ProvisionCustomersState,
    RecipientDialogState,
    customers_dialog,
    disclosure_dialog,
    recipient_dialog,
)
from custapp.pages.provisions.form import provision_form
from custapp.pages.provisions.state import ProvisionsState

S = ProvisionsState


def _empty(key: str, testid: str) -> rx.Component:
    return rx.callout(T(key), icon="info", color_scheme="gray", width="100%", data_testid=testid)


def _add_button(icon: str, label: str, on_click, testid: str) -> rx.Component:  # noqa: ANN001
    """The button at the right of a tab's toolbar that starts a new entry."""
    return rx.button(
        rx.icon(icon, size=16),
        T(label),
        on_click=on_click,
        white_space="nowrap",
        data_testid=testid,
    )


def _tab_list(
    key: str,
    head: rx.Component,
    empty: tuple[str, str],
    columns: tuple[str, ...],
    row,  # noqa: ANN001
) -> rx.Component:
    """A tab's paged list; its vars are `<key>_loaded`, `<key>_rows`, `<key>_page`, … and
    `S.turn(key, ±1)` pages it."""

    def var(name: str) -> rx.Var:
        return getattr(S, f"{key}_{name}")

    return list_section(
        head,
        var("loaded"),
        var("total"),
        _empty(*empty),
        paged_table(
            columns,
            var("rows"),
            row,
            var("page"),
            var("pages"),
            var("total"),
            S.turn(key, -1),
            S.turn(key, 1),
        ),
    )


# 接收方


def _recipient_row(row: rx.Var) -> rx.Component:
    active = row.active
    return rx.table.row(
        rx.table.cell(rx.text(row.name, weight="medium")),
        rx.table.cell(row.contact, white_space="nowrap"),
        rx.table.cell(rx.code(row.nda_reference, variant="ghost"), white_space="nowrap"),
        rx.table.cell(row.nda_signed_on, white_space="nowrap"),
        rx.table.cell(rx.text(row.oversight_note, size="2"), max_width="320px"),
        rx.table.cell(
            rx.badge(row.status, color_scheme=rx.cond(active, "green", "gray"), variant="soft")
        ),
        rx.table.cell(row.provisions),
        rx.table.cell(
            rx.hstack(
                rx.button(
                    rx.icon("pencil", size=14),
                    T("provision.recipient.edit"),
                    size="1",
                    variant="soft",
                    on_click=RecipientDialogState.open_edit_recipient(row.id),
                    data_testid="recipient-edit",
                ),
                rx.button(
                    rx.cond(
                        active,
                        T("provision.recipient.deactivate"),
                        T("provision.recipient.activate"),
                    ),
                    size="1",
                    variant="soft",
                    color_scheme=rx.cond(active, "red", "green"),
                    on_click=S.set_recipient_active(row.id, ~active),
                    data_testid="recipient-toggle",
                ),
                spacing="2",
            ),
            white_space="nowrap",
        ),
        data_testid="recipient-row",
    )


def _recipients() -> rx.Component:
    return _tab_list(
        "rec",
        toolbar(
            T("provision.recipient.hint"),
            _add_button(
                "plus",
                "provision.recipient.add",
                RecipientDialogState.open_add_recipient,
                "recipient-add",
            ),
        ),
        ("provision.recipient.empty", "recipients-empty"),
        (
            "provision.recipient.name",
            "provision.recipient.contact",
            "provision.recipient.nda_reference",
            "provision.recipient.nda_signed_on",
            "provision.recipient.oversight_note",
            "provision.recipient.status",
            "provision.recipient.provisions",
            "common.actions",
        ),
        _recipient_row,
    )


def _provision_row(row: rx.Var) -> rx.Component:
    return rx.table.row(
        rx.table.cell(
            two_line(row.created_at, row.by, size="2"),
            white_space="nowrap",
        ),
        rx.table.cell(rx.text(row.recipient, weight="medium")),
        rx.table.cell(rx.badge(row.purpose, variant="soft")),
        rx.table.cell(rx.text(row.categories, size="2")),
        rx.table.cell(row.period, white_space="nowrap"),
        rx.table.cell(rx.code(row.contract, variant="ghost"), white_space="nowrap"),
        rx.table.cell(
            rx.hstack(
                rx.text(row.count),
                rx.cond(
                    row.by_segment,
                    rx.badge(T("provision.list.by_segment"), variant="outline", size="1"),
                ),
                spacing="2",
                align="center",
            ),
            white_space="nowrap",
        ),
        rx.table.cell(
            rx.button(
                rx.icon("users", size=14),
                T("provision.view_customers"),
                size="1",
                variant="soft",
                on_click=ProvisionCustomersState.open_customers(row.id),
                data_testid="provision-customers",
            ),
            white_space="nowrap",
        ),
        data_testid="provision-row",
    )


def _provisions() -> rx.Component:
    return _tab_list(
        "prov",
        rx.cond(
            S.form_open,
            provision_form(),
            toolbar(
                T("provision.check_note"),
                _add_button("share-2", "provision.new", S.open_form, "provision-new"),
            ),
        ),
        ("provision.empty", "provisions-empty"),
        (
            "provision.list.created_at",
            "provision.field.recipient",
            "provision.field.purpose",
            "provision.field.categories",
            "provision.list.period",
            "provision.field.contract_reference",
            "provision.list.customers",
            "common.actions",
        ),
        _provision_row,
    )


# 依法披露


def _disclosure_row(row: rx.Var) -> rx.Component:
    href = f"/customers/{row.customer_id}"
    return rx.table.row(
        rx.table.cell(row.disclosed_on, white_space="nowrap"),
        rx.table.cell(
            rx.vstack(
                rx.link(row.number, href=href, size="2"),
                rx.text(row.name, size="2", weight="medium"),
                spacing="0",
            ),
            white_space="nowrap",
        ),
        rx.table.cell(rx.text(row.authority, size="2")),
        rx.table.cell(rx.text(row.legal_basis, size="2")),
        rx.table.cell(rx.code(row.document, variant="ghost")),
        rx.table.cell(rx.text(row.categories, size="2")),
        rx.table.cell(rx.text(row.harm_note, size="2"), max_width="260px"),
        rx.table.cell(row.by, white_space="nowrap"),
        data_testid="disclosure-row",
    )


def _disclosures() -> rx.Component:
    return _tab_list(
        "disc",
        toolbar(
            T("provision.disclosure.hint"),
            _add_button(
                "landmark",
                "provision.disclosure.add",
                DisclosureDialogState.open_disclosure,
                "disclosure-add",
            ),
        ),
        ("provision.disclosure.empty", "disclosures-empty"),
        (
            "provision.disclosure.disclosed_on",
            "provision.disclosure.customer",
            "provision.disclosure.authority",
            "provision.disclosure.legal_basis",
            "provision.disclosure.document_reference",
            "provision.disclosure.categories",
            "provision.disclosure.harm_note",
            "provision.list.by",
        ),
        _disclosure_row,
    )


def provisions_page() -> rx.Component:
    return page(
        "nav.provisions",
        rx.callout(T("provision.intro"), icon="shield", color_scheme="blue", width="100%"),
        rx.tabs.root(
            rx.tabs.list(
                rx.tabs.trigger(
                    T("provision.tab.recipients"), value="recipients", data_testid="tab-recipients"
                ),
                rx.tabs.trigger(
                    T("provision.tab.provisions"), value="provisions", data_testid="tab-provisions"
                ),
                rx.tabs.trigger(
                    T("provision.tab.disclosures"),
                    value="disclosures",
                    data_testid="tab-disclosures",
                ),
            ),
            rx.tabs.content(_recipients(), value="recipients", padding_top="16px"),
            rx.tabs.content(_provisions(), value="provisions", padding_top="16px"),
            rx.tabs.content(_disclosures(), value="disclosures", padding_top="16px"),
            value=S.tab,
            on_change=S.set_tab,
            width="100%",
        ),
        recipient_dialog(),
        customers_dialog(),
        disclosure_dialog(),
    )
