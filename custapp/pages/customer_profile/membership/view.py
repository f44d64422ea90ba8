"""The profile's 积分与储值 tab: the membership card with its actions, stored value and points
with their ledgers (paged), the customer's requests waiting in 审批, and the member page account
(会员中心)."""

from __future__ import annotations

import reflex as rx

from custapp.components.receipt_link import receipt_link
from custapp.components.shell import T, data_table, pager
from custapp.pages.customer_profile.membership.dialogs import action_dialog, code_dialog
from custapp.pages.customer_profile.membership.state import MembershipTabState


def _figure(label: str, value: rx.Var, testid: str) -> rx.Component:
    return rx.vstack(
        rx.text(T(label), size="1", color_scheme="gray"),
        rx.text(value, size="5", weight="bold", data_testid=testid),
        spacing="0",
    )


def _action_button(action: str, icon: str, allowed: rx.Var, **props) -> rx.Component:  # noqa: ANN003
    return rx.cond(
        allowed,
        rx.button(
            rx.icon(icon, size=14),
            T(f"membership.action.{action}"),
            size="2",
            on_click=MembershipTabState.open_action(action),
            data_testid=f"membership-{action}",
            **props,
        ),
    )


def _card_panel() -> rx.Component:
    S = MembershipTabState
    m = S.summary
    member = rx.vstack(
        rx.hstack(
            rx.icon("credit-card", size=18),
            rx.text(m.tier, weight="bold", size="4", data_testid="card-tier"),
            rx.badge(m.discount, color_scheme="green"),
            rx.badge(m.member_class, variant="soft"),
            rx.text(
                T("membership.card_number"), "：", m.number, size="2", data_testid="card-number"
            ),
            rx.text(T("membership.issued_on"), "：", m.issued, size="2", color_scheme="gray"),
            align="center",
            spacing="3",
            wrap="wrap",
        ),
        rx.hstack(
            _figure("membership.balance", m.balance, "card-balance"),
            _figure("membership.points", m.points, "card-points"),
            spacing="8",
        ),
        rx.cond(m.clawback, rx.text(m.clawback, size="2", color_scheme="amber")),
        rx.cond(
            m.expiring,
            rx.text(m.expiring, size="2", color_scheme="amber", data_testid="card-expiring"),
        ),
        rx.cond(m.next_tier, rx.text(m.next_tier, size="2", color_scheme="gray")),
        rx.hstack(
            _action_button("topup", "wallet", S.can_topup),
            _action_button(
                "upgrade", "circle-arrow-up", S.can_issue & (m.next_tier != ""), variant="soft"
            ),
            _action_button("replace", "refresh-cw", S.can_issue, variant="soft"),
            _action_button("adjust", "sliders-horizontal", S.can_adjust, variant="soft"),
            _action_button("ask_adjust", "sliders-horizontal", S.can_ask_adjust, variant="soft"),
            _action_button("close", "circle-x", S.can_close, variant="soft", color_scheme="red"),
            spacing="2",
            wrap="wrap",
        ),
        spacing="3",
        width="100%",
    )
    non_member = rx.hstack(
        rx.vstack(
            rx.text(T("membership.class.non_member"), weight="bold", data_testid="card-tier"),
            rx.text(T("membership.no_card"), size="2", color_scheme="gray"),
            rx.hstack(
                _figure("membership.balance", m.balance, "card-balance"),
                _figure("membership.points", m.points, "card-points"),
                spacing="8",
            ),
            spacing="2",
        ),
        rx.spacer(),
        _action_button("issue", "credit-card", S.can_issue),
        _action_button("adjust", "sliders-horizontal", S.can_adjust, variant="soft"),
        _action_button("ask_adjust", "sliders-horizontal", S.can_ask_adjust, variant="soft"),
        align="center",
        width="100%",
    )
    return rx.card(rx.cond(m.has_card, member, non_member), width="100%")


def _ledger() -> rx.Component:
    S = MembershipTabState
    return rx.vstack(
        rx.segmented_control.root(
            rx.segmented_control.item(T("membership.ledger.stored_value"), value="stored_value"),
            rx.segmented_control.item(T("membership.ledger.points"), value="points"),
            value=S.ledger,
            on_change=S.show_ledger,
            data_testid="ledger-switch",
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
                        "membership.ledger.detail",
                    ),
                    S.rows,
                    lambda r: rx.table.row(
                        rx.table.cell(r.time, white_space="nowrap"),
                        rx.table.cell(r.kind),
                        rx.table.cell(
                            rx.text(r.amount, color_scheme=rx.cond(r.negative, "red", "green")),
                            white_space="nowrap",
                        ),
                        rx.table.cell(
                            rx.hstack(
                                rx.text(r.detail),
                                rx.cond(
                                    r.receipt != "",
                                    receipt_link(r.receipt, "receipt.short", "ledger-receipt"),
                                ),
                                spacing="3",
                                align="center",
                                wrap="wrap",
                            )
                        ),
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


def _portal_card() -> rx.Component:
    S = MembershipTabState
    return rx.card(
        rx.hstack(
            rx.vstack(
                rx.hstack(
                    rx.icon("smartphone", size=16),
                    rx.text(T("member.portal.title"), weight="bold"),
                    rx.badge(
                        S.portal.state,
                        color_scheme=rx.cond(S.portal.activated, "green", "gray"),
                        data_testid="portal-state",
                    ),
                    align="center",
                    spacing="2",
                ),
                rx.text(
                    T("member.portal.last_login"),
                    "：",
                    S.portal.last_login,
                    size="2",
                    color_scheme="gray",
                ),
                rx.cond(
                    S.portal.code_valid_until,
                    rx.text(
                        T("member.portal.code_waiting"),
                        S.portal.code_valid_until,
                        size="2",
                        color_scheme="amber",
                    ),
                ),
                spacing="1",
            ),
            rx.spacer(),
            rx.cond(
                S.can_issue,
                rx.button(
                    rx.icon("key-round", size=14),
                    T("member.code.button"),
                    variant="soft",
                    on_click=S.open_code,
                    data_testid="member-code-open",
                ),
            ),
            align="center",
            width="100%",
        ),
        width="100%",
    )


def membership_tab() -> rx.Component:
    S = MembershipTabState
    return rx.vstack(
        rx.cond(
            S.loaded,
            rx.vstack(
                _card_panel(),
                rx.cond(
                    S.pending_note != "",
                    rx.callout(
                        S.pending_note,
                        icon="hourglass",
                        color_scheme="amber",
                        size="1",
                        width="100%",
                        data_testid="approval-pending",
                    ),  # fmt: skip
                ),
                rx.cond(
                    S.topup_href != "",
                    rx.callout(
                        rx.hstack(
                            rx.text(S.topup_note),
                            receipt_link(S.topup_href, "receipt.open", "topup-receipt"),
                            spacing="3",
                            align="center",
                            wrap="wrap",
                        ),
                        icon="circle-check",
                        color_scheme="green",
                        size="1",
                        width="100%",
                    ),
                ),
                _ledger(),
                _portal_card(),
                spacing="4",
                width="100%",
            ),
            rx.spinner(),
        ),
        action_dialog(),
        code_dialog(),
        on_mount=S.load,
        on_unmount=S.leave,
        spacing="4",
        width="100%",
    )
