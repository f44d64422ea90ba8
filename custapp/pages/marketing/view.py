"""The 营销名单 page: the list builder, the built list with its counts, the message and its
confirmation, the progress of the campaign's job, and the campaigns sent."""

from __future__ import annotations

import reflex as rx

from custapp.components.form import confirm_actions
from custapp.components.job_progress import job_progress
from custapp.components.shell import T, data_table, field_error, form_dialog, page, pager
from custapp.pages.marketing.rows import CampaignRow, ListRow, Stat
from custapp.pages.marketing.state import ALL, MarketingState
from custapp.services import marketing
from custapp.services.customer_fields import GRADES, LIFECYCLES

# --- the page -----------------------------------------------------------------------------------


def _labelled(label_key: str, control: rx.Component, error: rx.Var) -> rx.Component:
    return rx.vstack(
        rx.text(T(label_key), size="1", color_scheme="gray"),
        control,
        field_error(error),
        spacing="1",
    )


def _select(name: str, label: str, options: list[tuple[str, rx.Var | str]]) -> rx.Component:
    S = MarketingState
    return _labelled(
        label,
        rx.select.root(
            rx.select.trigger(width="130px", data_testid=f"marketing-{name}"),
            rx.select.content(
                rx.select.item(T("common.all"), value=ALL),
                *[rx.select.item(text, value=v) for v, text in options],
            ),
            value=getattr(S, name),
            on_change=lambda v: S.set_filter(name, v),
        ),
        S.errors.get(name, ""),
    )


def _builder() -> rx.Component:
    S = MarketingState
    return rx.card(
        rx.vstack(
            rx.hstack(
                _select("f_grade", "customer.grade", [(g, g) for g in GRADES]),
                _select(
                    "f_lifecycle",
                    "customer.lifecycle",
                    [(v, T(f"customer.lifecycle.{v}")) for v in LIFECYCLES],
                ),
                _labelled(
                    "customer.tags",
                    rx.select.root(
                        rx.select.trigger(width="130px", data_testid="marketing-f_tag"),
                        rx.select.content(
                            rx.select.item(T("common.all"), value=ALL),
                            rx.foreach(S.tags, lambda tag: rx.select.item(tag, value=tag)),
                        ),
                        value=S.f_tag,
                        on_change=lambda v: S.set_filter("f_tag", v),
                    ),
                    S.errors.get("f_tag", ""),
                ),
                _labelled(
                    "marketing.purpose",
                    rx.select.root(
                        rx.select.trigger(
                            placeholder=T("marketing.choose_purpose"),
                            width="260px",
                            data_testid="marketing-purpose",
                        ),
                        rx.select.content(
                            rx.foreach(S.purposes, lambda p: rx.select.item(p.name, value=p.code))
                        ),
                        value=S.purpose,
                        on_change=lambda v: S.set_filter("purpose", v),
                    ),
                    S.errors.get("purpose", ""),
                ),
                rx.button(
                    rx.icon("list-filter", size=16),
                    T("marketing.build"),
                    on_click=S.build,
                    loading=S.building,
                    data_testid="marketing-build",
                ),
                wrap="wrap",
                align="end",
                spacing="3",
            ),
            rx.text(T("marketing.hint"), size="1", color_scheme="gray"),
            spacing="3",
            width="100%",
        ),
        width="100%",
    )


def _stat(stat: Stat) -> rx.Component:
    return rx.card(
        rx.vstack(
            rx.text(stat.label, size="2", color_scheme="gray"),
            rx.heading(stat.count, size="6"),
            spacing="1",
        ),
        min_width="150px",
    )


def _row(row: ListRow) -> rx.Component:
    return rx.table.row(
        rx.table.cell(rx.link(row.number, href="/customers/" + row.id)),
        rx.table.cell(rx.link(row.name, href="/customers/" + row.id, weight="medium")),
        rx.table.cell(rx.code(row.contact, variant="ghost")),
        rx.table.cell(rx.badge(row.grade, variant="soft")),
        rx.table.cell(row.lifecycle),
        data_testid="marketing-row",
    )


def _list_table() -> rx.Component:
    """data_table's look, with the contact column named after the purpose's channel."""
    S = MarketingState
    return rx.box(
        rx.table.root(
            rx.table.header(
                rx.table.row(
                    rx.table.column_header_cell(T("customer.number")),
                    rx.table.column_header_cell(T("customer.field.name")),
                    rx.table.column_header_cell(S.contact_label),
                    rx.table.column_header_cell(T("customer.grade")),
                    rx.table.column_header_cell(T("customer.lifecycle")),
                )
            ),
            rx.table.body(rx.foreach(S.rows, _row)),
            variant="surface",
            width="100%",
            white_space="nowrap",
        ),
        overflow_x="auto",
        width="100%",
    )


def _result() -> rx.Component:
    S = MarketingState
    return rx.cond(
        S.built,
        rx.vstack(
            rx.hstack(rx.foreach(S.stats, _stat), spacing="3", wrap="wrap"),
            rx.callout(
                S.summary,
                icon="users",
                color_scheme="blue",
                width="100%",
                data_testid="marketing-summary",
            ),
            rx.cond(
                S.reconfirm_note != "",
                rx.text(S.reconfirm_note, size="2", color_scheme="amber"),
            ),
            rx.cond(
                ~S.sendable,
                rx.callout(
                    T("marketing.call_list_note"), icon="phone", color_scheme="gray", width="100%"
                ),
            ),
            rx.cond(
                S.total == 0,
                rx.callout(
                    T("marketing.empty"),
                    icon="user-x",
                    color_scheme="gray",
                    width="100%",
                    data_testid="marketing-empty",
                ),
                rx.vstack(
                    rx.cond(
                        S.sendable,
                        rx.hstack(
                            rx.spacer(),
                            rx.button(
                                rx.icon("send", size=16),
                                T("marketing.compose"),
                                on_click=S.open_compose,
                                loading=S.queuing,
                                data_testid="marketing-compose",
                            ),
                            width="100%",
                        ),
                    ),
                    _list_table(),
                    pager(S.page, S.pages, S.total, S.prev_page, S.next_page),
                    spacing="3",
                    width="100%",
                ),
            ),
            spacing="3",
            width="100%",
        ),
        rx.callout(
            T("marketing.not_built"),
            icon="list-filter",
            color_scheme="gray",
            width="100%",
            data_testid="marketing-not-built",
        ),
    )


def _compose_dialog() -> rx.Component:
    S = MarketingState
    return form_dialog(
        rx.vstack(
            rx.text(T("marketing.subject"), size="2", weight="medium"),
            rx.input(
                name="subject",
                id="marketing-subject",
                default_value=S.subject,
                placeholder=T("marketing.subject_hint"),
                max_length=marketing.SUBJECT_MAX,
                width="100%",
            ),
            field_error(S.msg_errors.get("subject", "")),
            spacing="1",
            width="100%",
        ),
        rx.vstack(
            rx.text(T("marketing.body"), size="2", weight="medium"),
            rx.text_area(
                name="body",
                id="marketing-body",
                default_value=S.body,
                placeholder=T("marketing.body_hint"),
                max_length=marketing.BODY_MAX,
                rows="6",
                width="100%",
            ),
            field_error(S.msg_errors.get("body", "")),
            spacing="1",
            width="100%",
        ),
        title=T("marketing.compose"),
        description="marketing.compose_note",
        is_open=S.compose_open,
        on_close=S.close_dialogs,
        on_submit=S.compose,
        error=S.form_error,
        submit_label="marketing.queue",
        submit_testid="marketing-queue",
    )


def _confirm_dialog() -> rx.Component:
    S = MarketingState
    return rx.alert_dialog.root(
        rx.alert_dialog.content(
            rx.alert_dialog.title(T("marketing.confirm_title")),
            rx.alert_dialog.description(S.confirm_text, data_testid="marketing-confirm-text"),
            confirm_actions(
                S.close_dialogs,
                "marketing.queue",
                S.queue,
                "marketing-confirm",
                confirm_icon="send",
                spacing="3",
                margin_top="16px",
            ),
        ),
        open=S.confirm_open,
    )


def _campaign_row(row: CampaignRow) -> rx.Component:
    return rx.table.row(
        rx.table.cell(row.time),
        rx.table.cell(row.purpose),
        rx.table.cell(row.segment),
        rx.table.cell(row.subject),
        rx.table.cell(row.queued),
        rx.table.cell(row.left_out),
        rx.table.cell(row.created_by),
        data_testid="campaign-row",
    )


def _history() -> rx.Component:
    S = MarketingState
    return rx.vstack(
        rx.heading(T("marketing.history"), size="4"),
        rx.cond(
            S.camp_loaded & (S.camp_total == 0),
            rx.callout(
                T("marketing.history_empty"),
                icon="megaphone",
                color_scheme="gray",
                width="100%",
                data_testid="campaigns-empty",
            ),
            rx.vstack(
                data_table(
                    (
                        "marketing.col.time",
                        "marketing.col.purpose",
                        "marketing.col.segment",
                        "marketing.col.subject",
                        "marketing.col.queued",
                        "marketing.col.left_out",
                        "marketing.col.created_by",
                    ),
                    S.campaigns,
                    _campaign_row,
                    white_space="nowrap",
                ),
                pager(S.camp_page, S.camp_pages, S.camp_total, S.camp_prev, S.camp_next),
                spacing="3",
                width="100%",
            ),
        ),
        spacing="3",
        width="100%",
        padding_top="12px",
    )


def marketing_page() -> rx.Component:
    S = MarketingState
    return page(
        "nav.marketing",
        _builder(),
        job_progress(S.job_active, S.job_text, S.job_done, S.job_total, "marketing-job"),
        _result(),
        _history(),
        _compose_dialog(),
        _confirm_dialog(),
    )
