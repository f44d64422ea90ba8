"""会员中心's layout: the card and figures, the ledgers, and the 积分兑换 section."""

from __future__ import annotations

import reflex as rx

from custapp.components.shell import T, data_table, field_error, form_dialog, page, pager
from custapp.pages.portal.gifts import PortalGiftsState
from custapp.pages.portal.state import PortalState
from custapp.states.session import SessionState


def _figure(label: str, value: rx.Var, testid: str) -> rx.Component:
    return rx.card(
        rx.text(T(label), size="2", color_scheme="gray"),
        rx.text(value, size="6", weight="bold", data_testid=testid),
        flex="1",
        min_width="150px",
    )


def _card() -> rx.Component:
    m = PortalState.summary
    return rx.vstack(
        rx.cond(
            m.has_card,
            rx.hstack(
                rx.icon("credit-card", size=20),
                rx.text(m.tier, size="5", weight="bold", data_testid="portal-tier"),
                rx.badge(m.discount, color_scheme="green", size="2"),
                rx.text(T("membership.card_number"), "：", m.number, size="2"),
                align="center",
                spacing="3",
                wrap="wrap",
            ),
            rx.callout(T("portal.no_card"), icon="info", width="100%"),
        ),
        rx.hstack(
            _figure("membership.balance", m.balance, "portal-balance"),
            _figure("membership.points", m.points, "portal-points"),
            _figure("portal.expiring_30", m.expiring_total, "portal-expiring-total"),
            spacing="3",
            width="100%",
            wrap="wrap",
        ),
        rx.cond(m.clawback, rx.callout(m.clawback, icon="undo-2", color_scheme="amber", size="1")),
        rx.cond(
            m.expiring,
            rx.callout(
                m.expiring,
                icon="hourglass",
                color_scheme="amber",
                size="1",
                data_testid="portal-expiring",
            ),
        ),
        rx.cond(
            m.next_tier,
            rx.text(m.next_tier, size="2", color_scheme="gray", data_testid="portal-next"),
        ),
        spacing="3",
        width="100%",
    )


def _ledger() -> rx.Component:
    S = PortalState
    return rx.vstack(
        rx.segmented_control.root(
            rx.segmented_control.item(T("membership.ledger.points"), value="points"),
            rx.segmented_control.item(T("membership.ledger.stored_value"), value="stored_value"),
            value=S.ledger,
            on_change=S.show_ledger,
        ),
        rx.cond(
            S.total == 0,
            rx.callout(
                T("membership.ledger.empty"), icon="info", color_scheme="gray", width="100%"
            ),
            rx.vstack(
                data_table(
                    (
                        "membership.ledger.time",
                        "membership.ledger.kind",
                        "membership.ledger.amount",
                    ),
                    S.rows,
                    lambda r: rx.table.row(
                        rx.table.cell(r.time, white_space="nowrap"),
                        rx.table.cell(r.kind),
                        rx.table.cell(r.amount, white_space="nowrap"),
                        data_testid="ledger-row",
                    ),
                ),
                pager(S.page, S.pages, S.total, S.prev_page, S.next_page),
                width="100%",
            ),
        ),
        spacing="3",
        width="100%",
    )


# --- 积分兑换 ---------------------------------------------------------------------------------

STATUS_COLOURS = {"pending": "amber", "approved": "green", "rejected": "red", "cancelled": "gray"}


def _status_badge(row: rx.Var) -> rx.Component:
    return rx.badge(
        row.status_label,
        color_scheme=rx.match(row.status, *[(k, v) for k, v in STATUS_COLOURS.items()], "gray"),
        data_testid="request-status",
    )


def _catalogue() -> rx.Component:
    S = PortalGiftsState
    return rx.cond(
        S.catalogue.length() > 0,
        rx.grid(
            rx.foreach(
                S.catalogue,
                lambda g: rx.card(
                    rx.hstack(
                        rx.icon("gift", size=18),
                        rx.text(g.name, weight="bold"),
                        rx.spacer(),
                        rx.text(g.cost, size="2", color_scheme="gray"),
                        align="center",
                        width="100%",
                    ),
                    rx.button(
                        T("redemption.request"),
                        size="1",
                        variant="soft",
                        margin_top="8px",
                        on_click=S.open_request(g.id),
                        data_testid="gift-request",
                    ),
                    data_testid="gift-card",
                ),
            ),
            columns=rx.breakpoints(initial="1", sm="2"),
            spacing="3",
            width="100%",
        ),
        rx.callout(T("redemption.none_available"), icon="info", color_scheme="gray", width="100%"),
    )


def _requests() -> rx.Component:
    S = PortalGiftsState
    return rx.cond(
        S.total == 0,
        rx.text(T("redemption.empty"), size="2", color_scheme="gray"),
        rx.vstack(
            data_table(
                (
                    "redemption.number",
                    "redemption.gift",
                    "redemption.points_total",
                    "redemption.status",
                    "",
                ),
                S.requests,
                lambda r: rx.table.row(
                    rx.table.cell(r.number, rx.text(r.time, size="1", color_scheme="gray")),
                    rx.table.cell(r.gift, " × ", r.quantity),
                    rx.table.cell(r.points),
                    rx.table.cell(
                        _status_badge(r),
                        rx.cond(r.reason != "", rx.text(r.reason, size="1")),
                    ),
                    rx.table.cell(
                        rx.cond(
                            r.pending,
                            rx.button(
                                T("redemption.cancel"),
                                size="1",
                                variant="ghost",
                                color_scheme="gray",
                                on_click=S.cancel(r.id),
                                data_testid="request-cancel",
                            ),
                        )
                    ),
                    data_testid="request-row",
                ),
            ),  # fmt: skip
            pager(S.page, S.pages, S.total, S.prev_page, S.next_page),
            width="100%",
        ),
    )


def redemption_section() -> rx.Component:
    S = PortalGiftsState
    return rx.vstack(
        rx.heading(T("redemption.title"), size="4"),
        rx.text(T("redemption.no_reservation"), size="2", color_scheme="gray"),
        _catalogue(),
        rx.heading(T("redemption.my_requests"), size="3", margin_top="8px"),
        _requests(),
        form_dialog(
            rx.text(S.gift_label, weight="bold", data_testid="request-gift"),
            rx.text(T("redemption.quantity"), size="2"),
            rx.input(
                name="quantity",
                default_value="1",
                type="number",
                min=1,
                max=10,
                id="request-quantity",
            ),  # fmt: skip
            field_error(S.errors.get("quantity", "")),
            field_error(S.errors.get("gift", "")),
            title=T("redemption.request"),
            is_open=S.dialog_open,
            on_close=S.close_request,
            on_submit=S.submit_request,
            error=S.errors.get("_", ""),
            submit_label="redemption.request",
            submit_testid="request-submit",
            reset_on_submit=True,
        ),
        spacing="3",
        width="100%",
        data_testid="portal-redemption",
    )


def portal_page() -> rx.Component:
    S = SessionState
    return page(
        "nav.portal",
        rx.vstack(
            rx.text(T("portal.hello"), S.user_display, size="5", weight="bold"),
            rx.cond(
                PortalState.loaded,
                rx.vstack(_card(), _ledger(), redemption_section(), spacing="5", width="100%"),
            ),
            rx.link(
                rx.hstack(rx.icon("shield-user", size=16), T("nav.portal_privacy"), align="center"),
                href="/portal/privacy",
                size="2",
                data_testid="portal-privacy-link",
            ),
            rx.link(
                rx.hstack(
                    rx.icon("message-circle-warning", size=16),
                    T("nav.portal_complaints"),
                    align="center",
                ),
                href="/portal/complaints",
                size="2",
                data_testid="portal-complaints-link",
            ),
            rx.link(T("nav.account"), href="/account", size="2"),
            spacing="4",
            width="100%",
            max_width="860px",
        ),
    )
