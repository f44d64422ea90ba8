"""The 合规管理 page: the overview, the purposes and the privacy notice's versions, one tab each,
and their dialogs."""

from __future__ import annotations

import reflex as rx

from custapp.components.shell import T, data_table, loading, page, paged_table, toolbar, two_line
from custapp.pages.compliance.dialogs import (
    NoticeViewState,
    PurposeDialogState,
    confirm_dialog,
    purpose_dialog,
    view_dialog,
)
from custapp.pages.compliance.editor import editor
from custapp.pages.compliance.state import ComplianceState
from custapp.vocab import NoticeStatus

S = ComplianceState

# --- 概览 ----------------------------------------------------------------------------------------


def _kpi(
    icon: str, label: str, value: rx.Var, note: rx.Component, testid: str, color: rx.Var | str
) -> rx.Component:
    return rx.card(
        rx.vstack(
            rx.hstack(
                rx.icon(icon, size=16, color=rx.color("gray", 10)),
                rx.text(T(label), size="2", color_scheme="gray"),
                align="center",
                spacing="2",
            ),
            rx.text(value, size="7", weight="bold", color_scheme=color, data_testid=testid),
            note,
            spacing="1",
        ),
        flex="1",
        min_width="200px",
    )


def _note(text: rx.Var | str) -> rx.Component:
    return rx.text(text, size="1", color_scheme="gray")


def _kpis() -> rx.Component:
    return rx.flex(
        _kpi(
            "scroll-text",
            "compliance.kpi.notice",
            S.kpi.notice,
            rx.vstack(
                _note(S.kpi.published),
                rx.cond(
                    S.kpi.draft != "",
                    rx.badge(S.kpi.draft, color_scheme="amber", variant="soft"),
                ),
                spacing="0",
            ),
            "kpi-notice",
            "gray",
        ),
        _kpi(
            "refresh-cw",
            "compliance.kpi.reconfirm",
            S.kpi.reconfirm,
            _note(T("compliance.kpi.reconfirm_hint")),
            "kpi-reconfirm",
            rx.cond(S.kpi.reconfirm != 0, "amber", "gray"),
        ),
        _kpi(
            "send",
            "compliance.kpi.to_queue",
            S.kpi.to_queue,
            rx.cond(
                S.to_queue > 0,
                rx.button(
                    rx.cond(S.sending, rx.spinner(size="1"), rx.icon("send", size=14)),
                    T("compliance.send_now"),
                    size="1",
                    variant="soft",
                    disabled=S.sending,
                    on_click=S.send_notices,
                    data_testid="send-notices",
                ),
                _note(T("compliance.kpi.to_queue_hint")),
            ),
            "kpi-to-queue",
            rx.cond(S.to_queue > 0, "amber", "gray"),
        ),
        _kpi(
            "alarm-clock",
            "compliance.kpi.rights_overdue",
            S.kpi.rights_overdue,
            rx.hstack(
                _note(S.kpi.rights_open),
                rx.link(T("compliance.kpi.rights_link"), href="/rights-requests", size="1"),
                spacing="2",
                wrap="wrap",
            ),
            "kpi-overdue",
            rx.cond(S.overdue > 0, "red", "gray"),
        ),
        wrap="wrap",
        spacing="3",
        width="100%",
    )


def _count(value: rx.Var, consent: rx.Var, color: str = "") -> rx.Component:
    """A count of a consent-based purpose ("—" for service: nobody is asked)."""
    shade = rx.color(color, 11) if color else rx.color("gray", 12)
    return rx.table.cell(
        rx.cond(
            consent,
            rx.text(
                value,
                color=rx.cond(value != 0, shade, rx.color("gray", 9)),
                weight=rx.cond(value != 0, "medium", "regular"),
            ),
            rx.text("—", color=rx.color("gray", 9)),
        ),
        text_align="right",
    )


def _matrix_row(row: rx.Var) -> rx.Component:
    return rx.table.row(
        rx.table.cell(
            rx.hstack(
                rx.text(row.name, weight="medium"),
                rx.cond(row.note != "", rx.badge(row.note, color_scheme="gray", variant="soft")),
                spacing="2",
                align="center",
            )
        ),
        rx.table.cell(rx.text(row.basis, size="2", color_scheme="gray")),
        _count(row.granted, row.consent, "green"),
        _count(row.refused, row.consent),
        _count(row.withdrawn, row.consent),
        _count(row.reconfirm, row.consent, "amber"),
        data_testid="matrix-row",
    )


def _overview() -> rx.Component:
    return rx.vstack(
        _kpis(),
        rx.heading(T("compliance.matrix.title"), size="3", padding_top="8px"),
        rx.text(T("compliance.matrix.hint"), size="2", color_scheme="gray"),
        rx.box(
            rx.table.root(
                rx.table.header(
                    rx.table.row(
                        rx.table.column_header_cell(T("compliance.purpose")),
                        rx.table.column_header_cell(T("compliance.lawful_basis")),
                        *[
                            rx.table.column_header_cell(T(key), text_align="right")
                            for key in (
                                "consent.state.granted",
                                "consent.state.refused",
                                "consent.state.withdrawn",
                                "compliance.reconfirm",
                            )
                        ],
                    )
                ),
                rx.table.body(rx.foreach(S.matrix, _matrix_row)),
                variant="surface",
                width="100%",
                data_testid="matrix",
            ),
            overflow_x="auto",
            width="100%",
        ),
        spacing="3",
        width="100%",
    )


# --- 使用目的 ------------------------------------------------------------------------------------


def _purpose_row(row: rx.Var) -> rx.Component:
    return rx.table.row(
        rx.table.cell(two_line(row.name, row.description, weight="medium"), max_width="360px"),
        rx.table.cell(
            rx.badge(
                row.basis,
                color_scheme=rx.cond(row.consent, "teal", "blue"),
                variant="soft",
            ),
            white_space="nowrap",
        ),
        rx.table.cell(row.channel, white_space="nowrap"),
        rx.table.cell(
            rx.cond(
                row.in_notice,
                rx.icon("check", size=16, color=rx.color("green", 10)),
                rx.text("—", color_scheme="gray"),
            )
        ),
        rx.table.cell(
            rx.cond(
                row.enabled,
                rx.badge(T("compliance.purpose.enabled"), color_scheme="green", variant="soft"),
                rx.badge(T("compliance.purpose.disabled"), color_scheme="gray", variant="soft"),
            ),
            white_space="nowrap",
        ),
        rx.table.cell(
            rx.button(
                rx.icon("pencil", size=14),
                T("compliance.edit"),
                size="1",
                variant="soft",
                on_click=PurposeDialogState.open_purpose(row.code),
                data_testid="purpose-edit",
            )
        ),
        data_testid="purpose-row",
    )


def _purposes() -> rx.Component:
    return rx.vstack(
        rx.callout(T("compliance.purposes.hint"), icon="info", width="100%"),
        data_table(
            (
                "compliance.purpose",
                "compliance.lawful_basis",
                "compliance.channel",
                "compliance.in_notice",
                "compliance.status",
                "common.actions",
            ),
            S.purpose_rows,
            _purpose_row,
        ),
        spacing="3",
        width="100%",
    )


# --- 隐私告知 ------------------------------------------------------------------------------------


def _notice_row(row: rx.Var) -> rx.Component:
    return rx.table.row(
        rx.table.cell(rx.text(row.version, weight="medium"), white_space="nowrap"),
        rx.table.cell(
            rx.badge(
                row.status_label,
                color_scheme=rx.match(
                    row.status, ("current", "green"), (NoticeStatus.DRAFT, "amber"), "gray"
                ),
                variant="soft",
            ),
            white_space="nowrap",
        ),
        rx.table.cell(rx.text(row.purposes, size="2"), max_width="420px"),
        rx.table.cell(row.published, white_space="nowrap"),
        rx.table.cell(row.who, white_space="nowrap"),
        rx.table.cell(
            rx.cond(
                row.status == NoticeStatus.DRAFT,
                rx.button(
                    rx.icon("pencil", size=14),
                    T("compliance.edit"),
                    size="1",
                    variant="soft",
                    on_click=S.edit_draft,
                    data_testid="notice-edit",
                ),
                rx.button(
                    rx.icon("eye", size=14),
                    T("compliance.view"),
                    size="1",
                    variant="soft",
                    color_scheme="gray",
                    on_click=NoticeViewState.open_view(row.id),
                    data_testid="notice-view",
                ),
            )
        ),
        data_testid="notice-row",
    )


def _notices() -> rx.Component:
    return rx.vstack(
        rx.cond(
            S.editor_open,
            editor(),
            toolbar(
                T("compliance.notices.hint"),
                rx.cond(
                    S.draft_id != 0,
                    rx.button(
                        rx.icon("pencil", size=14),
                        T("compliance.draft.continue"),
                        on_click=S.edit_draft,
                        data_testid="draft-open",
                    ),
                    rx.button(
                        rx.icon("file-plus", size=14),
                        T("compliance.draft.new"),
                        on_click=S.new_draft,
                        data_testid="draft-new",
                    ),
                ),
            ),
        ),
        rx.cond(
            S.total == 0,
            rx.callout(T("compliance.notices.empty"), icon="info", width="100%"),
            paged_table(
                (
                    "compliance.version_col",
                    "compliance.status",
                    "compliance.purposes",
                    "compliance.published_at",
                    "compliance.by",
                    "common.actions",
                ),
                S.notice_rows,
                _notice_row,
                S.page,
                S.pages,
                S.total,
                S.prev_page,
                S.next_page,
            ),
        ),
        spacing="3",
        width="100%",
    )


def compliance_page() -> rx.Component:
    return page(
        "nav.compliance",
        rx.cond(
            ~S.loaded,
            loading(),
            rx.tabs.root(
                rx.tabs.list(
                    rx.tabs.trigger(
                        T("compliance.tab.overview"), value="overview", data_testid="tab-overview"
                    ),
                    rx.tabs.trigger(
                        T("compliance.tab.purposes"), value="purposes", data_testid="tab-purposes"
                    ),
                    rx.tabs.trigger(
                        T("compliance.tab.notices"), value="notices", data_testid="tab-notices"
                    ),
                ),
                rx.tabs.content(_overview(), value="overview", padding_top="16px"),
                rx.tabs.content(_purposes(), value="purposes", padding_top="16px"),
                rx.tabs.content(_notices(), value="notices", padding_top="16px"),
                value=S.tab,
                on_change=S.set_tab,
                width="100%",
            ),
        ),
        purpose_dialog(),
        view_dialog(),
        confirm_dialog(),
    )
