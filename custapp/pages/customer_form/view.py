"""The customer form's layout: the sections of fields, the contact persons, the duplicates
found and the counter's consent step."""

from __future__ import annotations

import reflex as rx

from custapp.components.consent import (
    consent_choices,
    evidence_field,
    notice_panel,
    notice_shown_field,
)
from custapp.components.shell import T, page
from custapp.pages.customer_form.state import CustomerFormState
from custapp.services.customer_fields import GENDERS, ID_TYPES, NATURES, SOURCE_CHANNELS
from custapp.services.customer_input import MAX_CONTACTS


def _hint(name: str) -> rx.Component:
    return rx.text(T(f"customer.why.{name}"), size="1", color_scheme="gray")


def _error(message: rx.Var, name: str) -> rx.Component:
    """The message next to its field (SPEC §6); `error-<field>` names it for tests and readers."""
    return rx.cond(
        message != "",
        rx.text(
            message,
            color_scheme="red",
            size="1",
            id=f"error-{name}",
            role="alert",
            data_testid="field-error",
        ),
    )


def _placeholder(name: str, placeholder: str) -> rx.Var | str:
    """The stored value, masked, when there is one; else the field's own placeholder."""
    masked = getattr(CustomerFormState.placeholders, name)
    return rx.cond(masked != "", masked, placeholder) if placeholder else masked


def _field(
    name: str, *, required: bool = False, type_: str = "text", placeholder: str = ""
) -> rx.Component:
    message = CustomerFormState.errors.get(name, "")
    return rx.vstack(
        rx.text(
            T(f"customer.field.{name}"),
            rx.cond(required, rx.text.span(" *", color="red")),
            size="2",
            weight="medium",
        ),
        rx.input(
            name=name,
            id=f"f-{name}",
            type=type_,
            default_value=getattr(CustomerFormState.prefill, name),
            placeholder=_placeholder(name, placeholder),
            aria_invalid=rx.cond(message != "", "true", "false"),
            aria_describedby=f"error-{name}",
            width="100%",
        ),
        _error(message, name),
        rx.cond(not required, _hint(name)),
        spacing="1",
        width="100%",
        data_testid=f"field-{name}",
    )


def _choice(name: str, options: tuple[str, ...]) -> rx.Component:
    return rx.vstack(
        rx.text(T(f"customer.field.{name}"), size="2", weight="medium"),
        rx.select.root(
            rx.select.trigger(placeholder=T("common.choose"), width="100%"),
            rx.select.content(
                *[rx.select.item(T(f"customer.{name}.{o}"), value=o) for o in options]
            ),
            name=name,
            default_value=getattr(CustomerFormState.prefill, name),
        ),
        _error(CustomerFormState.errors.get(name, ""), name),
        _hint(name),
        spacing="1",
        width="100%",
        data_testid=f"field-{name}",
    )


def _section(title: str, *children: rx.Component) -> rx.Component:
    return rx.card(
        rx.vstack(
            rx.heading(T(title), size="3"),
            rx.grid(*children, columns="3", spacing="4", width="100%"),
            spacing="3",
        ),
        width="100%",
    )


def _contact_row(row: rx.Var) -> rx.Component:
    key = row.key
    stored = row.id != 0
    return rx.vstack(
        rx.hstack(
            rx.input(
                name="contact_name_" + key,
                default_value=row.name,
                placeholder=T("customer.contact.name"),
                aria_label=T("customer.contact.name"),
            ),
            rx.input(
                name="contact_title_" + key,
                default_value=row.title,
                placeholder=T("customer.contact.title"),
                aria_label=T("customer.contact.title"),
            ),
            rx.input(
                name="contact_phone_" + key,
                placeholder=rx.cond(row.masked != "", row.masked, T("customer.contact.phone")),
                aria_label=T("customer.contact.phone"),
            ),
            rx.icon_button(
                rx.icon("trash-2", size=14),
                type="button",
                variant="soft",
                color_scheme="gray",
                aria_label=T("customer.contact.remove"),
                title=T("customer.contact.remove"),
                on_click=CustomerFormState.remove_contact(key),
                data_testid="contact-remove",
            ),
            spacing="2",
            align="center",
        ),
        rx.cond(
            row.error != "",
            rx.text(
                row.error, color_scheme="red", size="1", role="alert", data_testid="field-error"
            ),
        ),
        spacing="1",
        key=key,
        data_testid=rx.cond(stored, "contact-row-stored", "contact-row-new"),
    )


def _contacts() -> rx.Component:
    S = CustomerFormState
    return rx.card(
        rx.vstack(
            rx.heading(T("customer.section.contacts"), size="3"),
            rx.cond(
                S.editing_id != 0,
                rx.text(T("customer.contact.keep_phone"), size="1", color_scheme="gray"),
            ),
            rx.foreach(S.contact_rows, _contact_row),
            _error(S.errors.get("contacts", ""), "contacts"),
            rx.button(
                rx.icon("plus", size=14),
                T("customer.contact.add"),
                type="button",
                variant="soft",
                size="1",
                on_click=S.add_contact,
                disabled=S.contact_rows.length() >= MAX_CONTACTS,
                data_testid="contact-add",
            ),
            spacing="2",
        ),
        width="100%",
        data_testid="field-contacts",
    )


def _duplicates() -> rx.Component:
    S = CustomerFormState
    return rx.cond(
        S.duplicates.length() > 0,
        rx.callout(
            rx.vstack(
                rx.text(T("customer.dup.found")),
                rx.foreach(
                    S.duplicates,
                    lambda d: rx.hstack(
                        rx.link(
                            d.number,
                            " ",
                            d.name,
                            href="/customers/" + d.id.to(str),
                            is_external=False,
                        ),
                        rx.badge(d.reason, color_scheme="amber"),
                    ),
                ),
                rx.checkbox(
                    T("customer.dup.confirm"),
                    name="confirm_duplicates",
                    data_testid="confirm-duplicates",
                ),
                spacing="1",
            ),
            icon="users",
            color_scheme="amber",
            width="100%",
            data_testid="duplicates",
        ),
    )


def _consent_step() -> rx.Component:
    S = CustomerFormState
    return rx.card(
        rx.vstack(
            rx.heading(T("consent.counter.section"), size="3"),
            rx.text(T("consent.counter.intro"), size="2", color_scheme="gray"),
            notice_panel(S.notice),
            consent_choices(S.consent_choices, S.errors),
            rx.grid(
                evidence_field(S.errors, "consent.counter.evidence_hint"),
                rx.box(
                    notice_shown_field(S.errors),
                    padding_top=rx.breakpoints(initial="0", md="26px"),
                ),
                columns=rx.breakpoints(initial="1", md="2"),
                spacing="5",
                width="100%",
            ),
            spacing="3",
            width="100%",
        ),
        width="100%",
        data_testid="consent-step",
    )


def customer_form_page() -> rx.Component:
    S = CustomerFormState
    individual = S.kind == "individual"
    return page(
        "customers.form",
        rx.form(
            rx.vstack(
                rx.cond(
                    S.editing_id == 0,
                    rx.segmented_control.root(
                        rx.segmented_control.item(
                            T("customer.kind.individual"), value="individual"
                        ),
                        rx.segmented_control.item(
                            T("customer.kind.organisation"), value="organisation"
                        ),
                        value=S.kind,
                        on_change=S.set_kind,
                    ),
                    rx.callout(
                        T("customer.edit_hint") + " " + S.editing_number,
                        icon="pencil",
                        width="100%",
                    ),
                ),
                rx.text(T("customer.minimum_collection"), size="2", color_scheme="gray"),
                _section(
                    "customer.section.basic",
                    _field("name", required=True),
                    rx.cond(individual, _choice("gender", GENDERS)),
                    _choice("nature", NATURES),
                    _choice("source_channel", SOURCE_CHANNELS),
                    rx.vstack(
                        rx.text(T("customer.tags"), size="2", weight="medium"),
                        rx.input(
                            name="tags",
                            default_value=CustomerFormState.prefill.tags,
                            placeholder=T("customer.tags_hint"),
                            width="100%",
                        ),
                        _error(CustomerFormState.errors.get("tags", ""), "tags"),
                        spacing="1",
                        width="100%",
                        data_testid="field-tags",
                    ),
                ),
                _section(
                    "customer.section.contact",
                    _field("phone"),
                    _field("phone2"),
                    _field("email", type_="email"),
                    _field("address"),
                ),
                rx.cond(
                    individual,
                    _section(
                        "customer.section.identity",
                        _choice("id_type", ID_TYPES),
                        _field("id_number"),
                        _field("birth_date", type_="date"),
                        _field("employer"),
                        _field("occupation"),
                    ),
                    rx.fragment(
                        _section(
                            "customer.section.organisation",
                            _field("uscc"),
                            _field("legal_representative"),
                            _field("registered_capital", placeholder="100000.00"),
                            _field("founding_date", type_="date"),
                            _field("industry"),
                            _field("size"),
                        ),
                        _contacts(),
                    ),
                ),
                rx.card(
                    rx.vstack(
                        rx.text(T("customer.field.notes"), size="2", weight="medium"),
                        rx.text_area(
                            name="notes",
                            default_value=CustomerFormState.prefill.notes,
                            width="100%",
                            rows="3",
                        ),
                        _hint("notes"),
                        spacing="1",
                    ),
                    width="100%",
                ),
                rx.cond(S.editing_id == 0, _consent_step()),
                _duplicates(),
                rx.cond(
                    S.form_error != "",
                    rx.text(S.form_error, color_scheme="red", data_testid="form-error"),
                ),
                rx.hstack(
                    rx.link(
                        rx.button(
                            T("common.cancel"), variant="soft", color_scheme="gray", type="button"
                        ),
                        href="/customers",
                    ),
                    rx.button(
                        T("customer.save"), type="submit", size="3", data_testid="customer-save"
                    ),
                    justify="end",
                    width="100%",
                ),
                spacing="4",
                width="100%",
            ),
            on_submit=S.submit,
            reset_on_submit=False,
            custom_attrs={"method": "post"},
            key=S.form_key,
        ),
    )
