"""The profile's 授权同意 tab: the current state per purpose, the consent events one page at a
time, 记录告知同意 (the notice and the choices of components/consent.py, shared with 新建客户) and
撤回."""

from __future__ import annotations

import reflex as rx

from custapp.components.consent import (
    STATE_COLORS,
    consent_choices,
    evidence_field,
    notice_panel,
    notice_shown_field,
)
from custapp.components.shell import T, data_table, field_error, form_actions, form_dialog, pager
from custapp.pages.customer_profile.consents.state import WITHDRAW_CHANNELS, ConsentTabState

NO_SCAN = "none"  # a select item needs a value: "no scan chosen"


def _state_badge(state: rx.Var, label: rx.Var) -> rx.Component:
    return rx.match(
        state,
        *[
            (code, rx.badge(label, color_scheme=color, variant="soft", data_testid="consent-state"))
            for code, color in STATE_COLORS.items()
            if code
        ],
        rx.badge(label, color_scheme="gray", variant="outline", data_testid="consent-state"),
    )


def _state_row(row: rx.Var) -> rx.Component:
    S = ConsentTabState
    return rx.table.row(
        rx.table.cell(rx.text(row.name, weight="medium")),
        rx.table.cell(
            rx.hstack(
                _state_badge(row.state, row.label),
                rx.cond(
                    row.reconfirm,
                    rx.badge(
                        T("consent.tab.reconfirm"),
                        color_scheme="amber",
                        variant="solid",
                        data_testid="consent-reconfirm",
                    ),
                ),
                spacing="2",
            )
        ),
        rx.table.cell(row.version, white_space="nowrap"),
        rx.table.cell(row.time, white_space="nowrap"),
        rx.table.cell(
            rx.cond(
                S.can_record & (row.state == "granted"),
                rx.button(
                    rx.icon("undo-2", size=14),
                    T("consent.tab.withdraw"),
                    size="1",
                    variant="soft",
                    color_scheme="red",
                    on_click=S.ask_withdraw(row.purpose, row.name),
                    data_testid="consent-withdraw",
                ),
            )
        ),
        data_testid="consent-state-" + row.purpose,
    )


def _event_row(row: rx.Var) -> rx.Component:
    return rx.table.row(
        rx.table.cell(row.time, white_space="nowrap"),
        rx.table.cell(row.purpose),
        rx.table.cell(
            _state_badge(row.state, row.action_label),
        ),
        rx.table.cell(row.version, white_space="nowrap"),
        rx.table.cell(row.channel, white_space="nowrap"),
        rx.table.cell(row.evidence),
        rx.table.cell(row.operator),
        data_testid="consent-event",
    )


def _record_dialog() -> rx.Component:
    S = ConsentTabState
    return rx.dialog.root(
        rx.dialog.content(
            rx.dialog.title(T("consent.tab.record")),
            rx.dialog.description(T("consent.counter.intro"), size="2", color_scheme="gray"),
            rx.form(
                rx.vstack(
                    notice_panel(S.notice),
                    consent_choices(S.choices, S.errors),
                    rx.grid(
                        evidence_field(S.errors, "consent.tab.evidence_hint"),
                        rx.vstack(
                            rx.text(T("consent.tab.scan_choice"), size="2", weight="medium"),
                            rx.select.root(
                                rx.select.trigger(width="100%", id="consent-scan"),
                                rx.select.content(
                                    rx.select.item(T("consent.tab.no_scan"), value=NO_SCAN),
                                    rx.foreach(
                                        S.scans, lambda s: rx.select.item(s.label, value=s.id)
                                    ),
                                ),
                                name="attachment_id",
                                default_value=NO_SCAN,
                                disabled=S.scans.length() == 0,
                            ),
                            rx.text(
                                rx.cond(
                                    S.scans.length() == 0,
                                    T("consent.tab.no_scans"),
                                    T("consent.tab.scan_hint"),
                                ),
                                size="1",
                                color_scheme="gray",
                            ),
                            spacing="1",
                            width="100%",
                        ),
                        columns=rx.breakpoints(initial="1", sm="2"),
                        spacing="4",
                        width="100%",
                    ),
                    notice_shown_field(S.errors),
                    field_error(S.form_error),
                    form_actions(S.close_dialogs, "common.save", "consent-save"),
                    spacing="3",
                ),
                on_submit=S.record,
            ),
            max_width="720px",
        ),
        open=S.record_open,
        on_open_change=lambda _o: S.close_dialogs(),
    )


def _withdraw_dialog() -> rx.Component:
    S = ConsentTabState
    return form_dialog(
        rx.vstack(
            rx.text(T("consent.tab.withdraw_channel"), size="2", weight="medium"),
            rx.radio_group.root(
                rx.hstack(
                    *[
                        rx.radio_group.item(T(f"consent.channel.{c}"), value=c)
                        for c in WITHDRAW_CHANNELS
                    ],
                    spacing="5",
                ),
                name="channel",
                default_value=WITHDRAW_CHANNELS[0],
            ),
            spacing="1",
            padding_top="8px",
        ),
        title=S.withdraw_title,
        description="consent.tab.withdraw_notice",
        is_open=S.withdraw_open,
        on_close=S.close_dialogs,
        on_submit=S.withdraw,
        error=S.withdraw_error,
        submit_label="consent.tab.withdraw",
        submit_testid="consent-withdraw-confirm",
    )


def consents_tab() -> rx.Component:
    S = ConsentTabState
    return rx.vstack(
        rx.hstack(
            rx.heading(T("consent.tab.current"), size="3"),
            rx.spacer(),
            rx.cond(
                S.can_record,
                rx.button(
                    rx.icon("signature", size=14),
                    T("consent.tab.record"),
                    on_click=S.open_record,
                    data_testid="consent-record",
                ),
            ),
            align="center",
            width="100%",
        ),
        rx.cond(
            S.loaded,
            rx.vstack(
                rx.cond(
                    S.states.length() == 0,
                    rx.callout(
                        T("consent.counter.no_purposes"),
                        icon="info",
                        color_scheme="gray",
                        width="100%",
                    ),
                    data_table(
                        (
                            "consent.tab.col.purpose",
                            "consent.tab.col.state",
                            "consent.tab.col.version",
                            "consent.tab.col.updated",
                            "",
                        ),
                        S.states,
                        _state_row,
                        size="1",
                    ),
                ),
                rx.heading(T("consent.tab.events"), size="3", margin_top="12px"),
                rx.cond(
                    S.total == 0,
                    rx.callout(
                        rx.cond(
                            S.can_record,
                            T("consent.tab.no_events_record"),
                            T("consent.tab.no_events"),
                        ),
                        icon="signature",
                        color_scheme="gray",
                        width="100%",
                        data_testid="consent-empty",
                    ),
                    rx.vstack(
                        data_table(
                            (
                                "consent.tab.col.time",
                                "consent.tab.col.purpose",
                                "consent.tab.col.action",
                                "consent.tab.col.version",
                                "consent.tab.col.channel",
                                "consent.tab.col.evidence",
                                "consent.tab.col.operator",
                            ),
                            S.rows,
                            _event_row,
                            size="1",
                        ),
                        pager(S.page, S.pages, S.total, S.prev_page, S.next_page),
                        width="100%",
                    ),
                ),
                width="100%",
                spacing="3",
            ),
            rx.center(rx.spinner(size="3"), padding="40px", width="100%"),
        ),
        _record_dialog(),
        _withdraw_dialog(),
        on_mount=S.load,
        on_unmount=S.leave,
        width="100%",
    )
