"""The 我的信息与授权 page: the member's profile (masked), their consents with the form to answer
the current notice, their rights requests (requests.py) and the notice itself."""

from __future__ import annotations

import reflex as rx

from custapp.components.consent import STATE_COLORS, consent_choices, notice_panel
from custapp.components.shell import T, field_error, page
from custapp.pages.portal_privacy.dialogs import (
    WithdrawDialogState,
    request_dialog,
    withdraw_dialog,
)
from custapp.pages.portal_privacy.erasure import erasure_dialog, erasure_section
from custapp.pages.portal_privacy.requests import requests_section
from custapp.pages.portal_privacy.state import REQUEST_FORM, PortalPrivacyState
from custapp.pages.portal_privacy.widgets import pair, section
from custapp.states.session import SessionState
from custapp.vocab import ConsentStatus, RightsKind

S = PortalPrivacyState


def _profile() -> rx.Component:
    p = S.profile
    return section(
        "user-round",
        "portal_privacy.profile",
        rx.data_list.root(
            pair(T("customer.number"), rx.code(p.number, variant="ghost")),
            pair(T("customer.field.name"), p.name),
            rx.foreach(S.general, lambda r: pair(r.label, r.text)),
            rx.foreach(
                S.sensitive,
                lambda r: pair(
                    r.label, rx.code(r.masked, variant="ghost", data_testid="masked-" + r.field)
                ),
            ),
            rx.foreach(
                S.contacts,
                lambda c: pair(
                    T("customer.section.contacts"),
                    rx.text(c.name, " ", c.title, " ", c.phone),
                ),
            ),
            pair(T("customer.field.verify_status"), p.verify),
            pair(T("portal_privacy.updated"), p.updated),
            size="2",
            width="100%",
            data_testid="privacy-profile",
        ),
        rx.callout(
            rx.vstack(
                rx.text(T("portal_privacy.masked_hint"), size="2"),
                rx.button(
                    rx.icon("pencil", size=14),
                    T("portal_privacy.correct"),
                    size="2",
                    variant="soft",
                    on_click=[S.choose_kind(RightsKind.CORRECTION), rx.scroll_to(REQUEST_FORM)],
                    data_testid="privacy-correct",
                ),
                spacing="2",
                align="start",
            ),
            icon="eye-off",
            color_scheme="gray",
            width="100%",
        ),
    )


def _state_badge(row: rx.Var) -> rx.Component:
    return rx.badge(
        row.label,
        color_scheme=rx.match(row.state, *[(k, v) for k, v in STATE_COLORS.items() if k], "gray"),
        variant=rx.cond(row.state == "", "outline", "soft"),
        size="2",
        data_testid="consent-state",
    )


def _consent_row(row: rx.Var) -> rx.Component:
    return rx.flex(
        rx.vstack(
            rx.text(row.name, weight="medium", size="3"),
            rx.cond(
                row.description != "",
                rx.text(row.description, size="1", color_scheme="gray"),
            ),
            rx.cond(row.since != "", rx.text(row.since, size="1", color_scheme="gray")),
            spacing="1",
            flex="1",
            min_width="200px",
        ),
        rx.hstack(
            _state_badge(row),
            rx.cond(
                row.reconfirm,
                rx.badge(T("consent.tab.reconfirm"), color_scheme="amber", variant="solid"),
            ),
            rx.cond(
                row.state == ConsentStatus.GRANTED,
                rx.button(
                    rx.icon("undo-2", size=14),
                    T("consent.tab.withdraw"),
                    size="1",
                    variant="soft",
                    color_scheme="red",
                    on_click=WithdrawDialogState.ask_withdraw(row.purpose),
                    data_testid="consent-withdraw",
                ),
            ),
            align="center",
            spacing="2",
            wrap="wrap",
        ),
        align="center",
        justify="between",
        gap="8px",
        wrap="wrap",
        padding_y="10px",
        border_bottom=f"1px solid {rx.color('gray', 4)}",
        width="100%",
        data_testid="consent-row-" + row.purpose,
    )


def _answer_form() -> rx.Component:
    return rx.form(
        rx.vstack(
            rx.text(T("portal_privacy.answer_title"), weight="bold", size="3"),
            notice_panel(S.notice),
            consent_choices(S.choices, S.answer_errors),
            rx.vstack(
                rx.checkbox(
                    T("portal_privacy.read_notice"),
                    name="notice_read",
                    size="2",
                    data_testid="notice-read",
                ),
                field_error(S.answer_errors.get("notice_read", "")),
                spacing="1",
                data_testid="field-notice_read",
            ),
            field_error(S.answer_error),
            rx.hstack(
                rx.cond(
                    ~S.reconfirm,
                    rx.button(
                        T("common.cancel"),
                        type="button",
                        variant="soft",
                        color_scheme="gray",
                        on_click=S.toggle_answers,
                    ),
                ),
                rx.button(
                    rx.icon("check", size=14),
                    T("portal_privacy.save_choices"),
                    type="submit",
                    data_testid="consent-save",
                ),
                justify="end",
                width="100%",
            ),
            spacing="3",
            width="100%",
        ),
        on_submit=S.save_choices,
        width="100%",
        padding="12px",
        border=f"1px solid {rx.color('accent', 6)}",
        border_radius="8px",
        data_testid="consent-answer-form",
    )


def _consents() -> rx.Component:
    return section(
        "shield-user",
        "portal_privacy.consents",
        rx.text(T("portal_privacy.consents_intro"), size="2", color_scheme="gray"),
        rx.cond(
            S.reconfirm,
            rx.callout(
                rx.vstack(
                    rx.text(T("portal_privacy.reconfirm_title"), weight="bold"),
                    rx.text(T("portal_privacy.reconfirm")),
                    spacing="1",
                ),
                icon="bell-ring",
                color_scheme="amber",
                width="100%",
                data_testid="consent-reconfirm",
            ),
            rx.cond(
                S.unanswered,
                rx.callout(
                    T("portal_privacy.unanswered"),
                    icon="info",
                    color_scheme="blue",
                    width="100%",
                    data_testid="consent-unanswered",
                ),
            ),
        ),
        rx.cond(
            S.consents.length() > 0,
            rx.vstack(rx.foreach(S.consents, _consent_row), spacing="0", width="100%"),
            rx.text(T("portal_privacy.no_consents"), size="2", color_scheme="gray"),
        ),
        rx.cond(
            S.answer_open,
            _answer_form(),
            rx.cond(
                S.choices.length() > 0,
                rx.button(
                    rx.icon("list-checks", size=14),
                    rx.cond(S.unanswered, T("portal_privacy.answer"), T("portal_privacy.change")),
                    variant="soft",
                    on_click=S.toggle_answers,
                    data_testid="consent-change",
                ),
            ),
        ),
    )


def _pick(values: rx.Var, name: str) -> rx.Var:
    """The notice's text `name` in the user's language."""
    return rx.cond(SessionState.locale == "en", values[f"{name}_en"], values[f"{name}_zh"])


def _notice() -> rx.Component:
    n = S.notice
    return section(
        "scroll-text",
        "consent.counter.notice_title",
        rx.cond(
            n.version != "",
            rx.accordion.root(
                rx.accordion.item(
                    header=rx.hstack(
                        rx.text(T("portal_privacy.notice_read")),
                        rx.badge(_pick(n, "version"), variant="soft"),
                        align="center",
                        spacing="2",
                    ),
                    content=rx.vstack(
                        rx.text(T("consent.counter.handler"), "：", _pick(n, "handler"), size="2"),
                        rx.text(
                            _pick(n, "body"),
                            size="2",
                            white_space="pre-wrap",
                            data_testid="notice-body",
                        ),
                        spacing="2",
                        color=rx.color("gray", 12),
                        width="100%",
                    ),
                    value="notice",
                ),
                collapsible=True,
                type="single",
                variant="ghost",
                width="100%",
                data_testid="notice-accordion",
            ),
            rx.text(T("consent.error.no_notice"), size="2", color_scheme="gray"),
        ),
    )


def portal_privacy_page() -> rx.Component:
    return page(
        "nav.portal_privacy",
        rx.vstack(
            rx.link(
                rx.hstack(rx.icon("arrow-left", size=14), T("portal_privacy.back"), align="center"),
                href="/portal",
                size="2",
                data_testid="privacy-back",
            ),
            rx.text(T("portal_privacy.intro"), size="2", color_scheme="gray"),
            rx.cond(
                S.loaded,
                rx.vstack(
                    _profile(),
                    _consents(),
                    requests_section(),
                    erasure_section(),
                    _notice(),
                    spacing="4",
                    width="100%",
                ),
                rx.center(rx.spinner(size="3"), padding="40px", width="100%"),
            ),
            request_dialog(),
            withdraw_dialog(),
            erasure_dialog(),
            spacing="4",
            width="100%",
            max_width="860px",
        ),
    )
