"""我的权利请求 on 我的信息与授权: the form to file a request (the kind, with a hint of what it
means, and what the member asks) and the member's requests one page at a time."""

from __future__ import annotations

import reflex as rx

from custapp.components.shell import T, field_error, pager
from custapp.pages.portal_privacy.dialogs import RequestDialogState
from custapp.pages.portal_privacy.state import DETAIL_INPUT, REQUEST_FORM, PortalPrivacyState
from custapp.pages.portal_privacy.widgets import section, status_badge
from custapp.services import rights
from custapp.vocab import RightsKind

S = PortalPrivacyState


def _request_row(row: rx.Var) -> rx.Component:
    return rx.flex(
        rx.vstack(
            rx.hstack(
                rx.badge(row.kind, variant="outline", size="2", data_testid="request-kind"),
                status_badge(row.status, row.status_code),
                rx.code(row.number, variant="ghost", size="1"),
                align="center",
                spacing="2",
                wrap="wrap",
            ),
            rx.text(
                T("rights.received"),
                "：",
                row.received,
                " · ",
                T("rights.due_on"),
                "：",
                rx.text.strong(row.due, data_testid="request-due"),
                size="1",
                color_scheme="gray",
            ),
            spacing="1",
            flex="1",
            min_width="220px",
        ),
        rx.button(
            rx.icon("folder-open", size=14),
            T("rights.open"),
            size="1",
            variant="soft",
            on_click=RequestDialogState.open_request(row.number),
            data_testid="request-open",
        ),
        align="center",
        justify="between",
        gap="8px",
        wrap="wrap",
        padding_y="10px",
        border_bottom=f"1px solid {rx.color('gray', 4)}",
        width="100%",
        data_testid="request-row",
    )


def _kind() -> rx.Component:
    return rx.vstack(
        rx.text(T("rights.kind"), size="2", weight="medium"),
        rx.select.root(
            rx.select.trigger(width="100%", data_testid="request-kind-select"),
            rx.select.content(
                *[rx.select.item(T(f"rights.kind.{k}"), value=k) for k in rights.KINDS]
            ),
            value=S.request_kind,
            on_change=S.choose_kind,
        ),
        field_error(S.request_errors.get("kind", "")),
        rx.callout(
            rx.match(
                S.request_kind,
                *[(k, T(f"portal_privacy.hint.{k}")) for k in rights.KINDS],
                T(f"portal_privacy.hint.{RightsKind.CORRECTION}"),
            ),
            icon="info",
            size="1",
            color_scheme="blue",
            width="100%",
            data_testid="request-hint",
        ),
        spacing="1",
        width="100%",
    )


def _request_form() -> rx.Component:
    return rx.form(
        rx.vstack(
            rx.text(T("portal_privacy.new_request"), weight="bold", size="3"),
            _kind(),
            rx.vstack(
                rx.text(T("portal_privacy.detail"), size="2", weight="medium"),
                rx.text_area(
                    name="detail",
                    id=DETAIL_INPUT,
                    max_length=rights.MAX_DETAIL,
                    rows="4",
                    placeholder=T("portal_privacy.detail_hint"),
                    aria_invalid=rx.cond(S.request_errors.get("detail", "") != "", "true", "false"),
                    width="100%",
                ),
                field_error(S.request_errors.get("detail", "")),
                spacing="1",
                width="100%",
                data_testid="field-detail",
            ),
            field_error(S.request_error),
            rx.flex(
                rx.text(S.due_hint, size="1", color_scheme="gray", flex="1", min_width="200px"),
                rx.button(
                    rx.icon("send", size=14),
                    T("portal_privacy.submit"),
                    type="submit",
                    data_testid="request-submit",
                ),
                align="center",
                gap="8px",
                wrap="wrap",
                width="100%",
            ),
            spacing="3",
            width="100%",
        ),
        on_submit=S.file_request,
        id=REQUEST_FORM,
        width="100%",
        padding="12px",
        border=f"1px solid {rx.color('gray', 6)}",
        border_radius="8px",
    )


def requests_section() -> rx.Component:
    return section(
        "file-question",
        "portal_privacy.requests",
        rx.text(T("portal_privacy.requests_intro"), size="2", color_scheme="gray"),
        _request_form(),
        rx.cond(
            S.total == 0,
            rx.text(T("portal_privacy.no_requests"), size="2", color_scheme="gray"),
            rx.vstack(
                rx.vstack(rx.foreach(S.rows, _request_row), spacing="0", width="100%"),
                pager(S.page, S.pages, S.total, S.prev_page, S.next_page),
                spacing="2",
                width="100%",
            ),
        ),
    )
