"""The 数据质量 page: duplicate candidates to review (and, for cs_manager, merge: dialogs.py) and
customers whose real-name verification is missing, failed or stale."""

from __future__ import annotations

import reflex as rx

from custapp.components.shell import T, list_section, page, paged_table, pager
from custapp.pages.data_quality.dialogs import MergeDialogState, merge_dialog
from custapp.pages.data_quality.state import DataQualityState
from custapp.vocab import VerifyStatus

S = DataQualityState

MEMBER_COLUMNS = (
    "customer.number",
    "customer.field.name",
    "customer.field.phone",
    "customer.created_at",
)
STALE_COLUMNS = (
    "customer.number",
    "customer.field.name",
    "customer.kind",
    "customer.verify_status",
    "dq.verified_at",
    "customer.field.owner",
    "common.actions",
)


def _empty(key: str, testid: str) -> rx.Component:
    return rx.callout(T(key), icon="circle-check", color_scheme="green", data_testid=testid)


def _profile_href(customer_id: rx.Var) -> rx.Var:
    return "/customers/" + customer_id.to_string()


def _member(m: rx.Var) -> rx.Component:
    return rx.table.row(
        rx.table.cell(rx.link(m.number, href=_profile_href(m.id))),
        rx.table.cell(rx.link(m.name, href=_profile_href(m.id), weight="medium")),
        rx.table.cell(rx.code(m.phone, variant="ghost")),
        rx.table.cell(m.created),
    )


def _group(group: rx.Var, index: rx.Var) -> rx.Component:
    return rx.card(
        rx.vstack(
            rx.hstack(
                rx.badge(group.reason, color_scheme="amber", variant="soft", size="2"),
                rx.spacer(),
                rx.cond(
                    S.can_merge,
                    rx.button(
                        rx.icon("merge", size=14),
                        T("merge.action"),
                        size="1",
                        variant="soft",
                        on_click=MergeDialogState.open_merge(index),
                        data_testid="merge-open",
                    ),
                ),
                align="center",
                width="100%",
            ),
            rx.table.root(
                rx.table.header(
                    rx.table.row(*[rx.table.column_header_cell(T(k)) for k in MEMBER_COLUMNS])
                ),
                rx.table.body(rx.foreach(S.members[index], _member)),
                size="1",
                width="100%",
            ),
            spacing="2",
            width="100%",
        ),
        width="100%",
        data_testid="dup-group",
    )


def _duplicates() -> rx.Component:
    return list_section(
        rx.text(T("dq.duplicates.hint"), size="2", color_scheme="gray"),
        S.dup_loaded,
        S.total,
        _empty("dq.duplicates.empty", "dup-empty"),
        rx.vstack(
            rx.foreach(S.groups, _group),
            pager(S.page, S.pages, S.total, S.prev_page, S.next_page),
            spacing="3",
            width="100%",
        ),
    )


def _stale_row(row: rx.Var) -> rx.Component:
    return rx.table.row(
        rx.table.cell(rx.link(row.number, href=_profile_href(row.id))),
        rx.table.cell(rx.link(row.name, href=_profile_href(row.id), weight="medium")),
        rx.table.cell(row.kind),
        rx.table.cell(
            rx.badge(
                row.status,
                color_scheme=rx.match(
                    row.status_code,
                    (VerifyStatus.FAILED, "red"),
                    (VerifyStatus.VERIFIED, "amber"),
                    "gray",
                ),
                variant="soft",
            )
        ),
        rx.table.cell(row.verified_at),
        rx.table.cell(row.owner),
        rx.table.cell(
            rx.link(
                rx.button(T("dq.open_profile"), size="1", variant="soft"),
                href=_profile_href(row.id),
            )
        ),
    )


def _verification() -> rx.Component:
    return list_section(
        rx.text(T("dq.verification.hint"), size="2", color_scheme="gray"),
        S.stale_loaded,
        S.stale_total,
        _empty("dq.verification.empty", "stale-empty"),
        paged_table(
            STALE_COLUMNS,
            S.stale_rows,
            _stale_row,
            S.stale_page,
            S.stale_pages,
            S.stale_total,
            S.stale_prev,
            S.stale_next,
            white_space="nowrap",
        ),
    )


def data_quality_page() -> rx.Component:
    return page(
        "nav.data_quality",
        rx.tabs.root(
            rx.tabs.list(
                rx.tabs.trigger(
                    T("dq.tab.duplicates"), value="duplicates", data_testid="tab-duplicates"
                ),
                rx.tabs.trigger(
                    T("dq.tab.verification"), value="verification", data_testid="tab-verification"
                ),
            ),
            rx.tabs.content(_duplicates(), value="duplicates", padding_top="16px"),
            rx.tabs.content(_verification(), value="verification", padding_top="16px"),
            value=S.tab,
            on_change=S.set_tab,
            width="100%",
        ),
        merge_dialog(),
    )
