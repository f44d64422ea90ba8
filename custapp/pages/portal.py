"""会员中心, the member's own page: card, tier and discount, stored value, points and what expires
in the next 30 days, what the next tier offers, and the paged ledgers. The customer comes from the
login on the server; nothing the browser sends chooses whose data is shown."""

from __future__ import annotations

import reflex as rx

from custapp.components.shell import T, data_table, page, pager
from custapp.pages.portal_gifts import redemption_section
from custapp.pages.profile_membership import PAGE_SIZE, ledger_row, summary_vars
from custapp.services import membership
from custapp.states.paging import PagedMixin
from custapp.states.session import SessionState


class PortalState(PagedMixin, SessionState):
    summary: dict[str, str] = {}
    ledger: str = "points"  # points | stored_value
    rows: list[dict[str, str]] = []
    loaded: bool = False

    def _page_size(self) -> int:
        return PAGE_SIZE

    @rx.event
    def load(self):
        _, redirect = self._enter("member.self")
        if redirect:
            return redirect
        self.page, self.ledger, self.loaded = 1, "points", False
        summary, error = self._call(membership.member_summary)
        if error:
            self.summary = {}
            return rx.toast.error(error)
        self.summary = summary_vars(summary, self._t, self.locale)
        self.summary["expiring_total"] = f"{sum(e.points for e in summary.expiring):,}"
        return self._fetch()

    def _fetch(self):
        fetch = (
            membership.member_points_ledger
            if self.ledger == "points"
            else membership.member_stored_value_ledger
        )
        result, error = self._call(fetch, page=self.page, page_size=PAGE_SIZE)
        self.loaded = True
        if error:
            self.rows, self.total = [], 0
            return rx.toast.error(error)
        rows, self.total = result
        self.rows = [ledger_row(r, self.ledger, self._t) for r in rows]
        return None

    @rx.event
    def show_ledger(self, ledger: str | list[str]):
        self.ledger = "stored_value" if ledger == "stored_value" else "points"
        self.page = 1
        return self._fetch()


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
            m["has_card"],
            rx.hstack(
                rx.icon("credit-card", size=20),
                rx.text(m["tier"], size="5", weight="bold", data_testid="portal-tier"),
                rx.badge(m["discount"], color_scheme="green", size="2"),
                rx.text(T("membership.card_number"), "：", m["number"], size="2"),
                align="center",
                spacing="3",
                wrap="wrap",
            ),
            rx.callout(T("portal.no_card"), icon="info", width="100%"),
        ),
        rx.hstack(
            _figure("membership.balance", m["balance"], "portal-balance"),
            _figure("membership.points", m["points"], "portal-points"),
            _figure("portal.expiring_30", m["expiring_total"], "portal-expiring-total"),
            spacing="3",
            width="100%",
            wrap="wrap",
        ),
        rx.cond(
            m["clawback"], rx.callout(m["clawback"], icon="undo-2", color_scheme="amber", size="1")
        ),
        rx.cond(
            m["expiring"],
            rx.callout(
                m["expiring"],
                icon="hourglass",
                color_scheme="amber",
                size="1",
                data_testid="portal-expiring",
            ),
        ),
        rx.cond(
            m["next_tier"],
            rx.text(m["next_tier"], size="2", color_scheme="gray", data_testid="portal-next"),
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
                        rx.table.cell(r["time"], white_space="nowrap"),
                        rx.table.cell(r["kind"]),
                        rx.table.cell(r["amount"], white_space="nowrap"),
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
