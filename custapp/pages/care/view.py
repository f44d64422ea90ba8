"""The 关怀日历 page: the occasions of the next days, the holidays, the greeting dialog and the
progress of the greeting job."""

from __future__ import annotations

import reflex as rx

from custapp.components.job_progress import job_progress
from custapp.components.shell import T, data_table, field_error, form_actions, page, pager
from custapp.pages.care.rows import CalendarRow
from custapp.pages.care.state import DAY_CHOICES, CareState
from custapp.services import care


def _row(r: CalendarRow) -> rx.Component:
    return rx.table.row(
        rx.table.cell(r.on, white_space="nowrap"),
        rx.table.cell(rx.link(r.number, href=r.href)),
        rx.table.cell(r.name, " ", rx.text(r.years, as_="span", color_scheme="gray")),
        rx.table.cell(
            rx.cond(
                r.consented,
                rx.badge(T("care.consented"), color_scheme="green"),
                rx.badge(T("care.not_consented"), color_scheme="gray"),
            )
        ),
        rx.table.cell(rx.cond(r.queued, rx.badge(T("care.greeted"), color_scheme="blue"), "")),
        data_testid="care-row",
    )


def _queue_dialog() -> rx.Component:
    S = CareState
    return rx.dialog.root(
        rx.dialog.content(
            rx.dialog.title(T("care.queue_title")),
            rx.dialog.description(T("care.queue_hint"), size="2"),
            rx.form(
                rx.vstack(
                    rx.text(T("care.day"), size="2", weight="medium"),
                    rx.select.root(
                        rx.select.trigger(data_testid="care-day"),
                        rx.select.content(
                            rx.foreach(
                                S.queue_days, lambda d: rx.select.item(d.label, value=d.value)
                            )
                        ),
                        value=S.queue_day,
                        on_change=S.set_queue_day,
                    ),
                    field_error(S.errors.get("on", "")),
                    rx.text(T("marketing.subject"), size="2", weight="medium"),
                    rx.input(name="subject", id="care-subject", default_value=T("care.subject")),
                    field_error(S.errors.get("subject", "")),
                    rx.text(T("marketing.body"), size="2", weight="medium"),
                    rx.text_area(
                        name="body", id="care-body", default_value=T("care.body"), rows="4"
                    ),
                    field_error(S.errors.get("body", "")),
                    field_error(S.queue_error),
                    form_actions(S.close_queue, "care.queue", "care-queue-submit"),
                    spacing="2",
                    width="100%",
                ),
                on_submit=S.submit_queue,
                reset_on_submit=False,
            ),
            max_width="520px",
        ),
        open=S.queue_open,
        on_open_change=lambda _o: S.close_queue(),
    )


def care_page() -> rx.Component:
    S = CareState
    return page(
        "nav.care",
        rx.vstack(
            rx.hstack(
                rx.segmented_control.root(
                    *[
                        rx.segmented_control.item(T(f"care.occasion.{o}"), value=o)
                        for o in care.OCCASIONS
                    ],
                    value=S.occasion,
                    on_change=S.set_occasion,
                ),
                rx.select.root(
                    rx.select.trigger(width="120px"),
                    rx.select.content(
                        *[rx.select.item(T(f"care.days.{d}"), value=d) for d in DAY_CHOICES]
                    ),
                    value=S.days,
                    on_change=S.set_days,
                ),
                rx.spacer(),
                rx.button(
                    rx.icon("gift", size=14),
                    T("care.queue"),
                    on_click=S.open_queue,
                    loading=S.job_active,
                    data_testid="care-queue",
                ),
                width="100%",
                align="center",
                wrap="wrap",
            ),
            rx.text(T("care.consent_note"), size="2", color_scheme="gray"),
            job_progress(S.job_active, S.job_text, S.job_done, S.job_total, "care-job"),
            rx.cond(
                S.holidays.length() > 0,
                rx.hstack(
                    rx.icon("calendar-heart", size=16),
                    rx.foreach(S.holidays, lambda h: rx.badge(h.on, " ", h.name, variant="soft")),
                    align="center",
                    spacing="2",
                ),
            ),
            rx.cond(
                S.occasion == "holiday",
                rx.callout(T("care.holiday_note"), icon="info", width="100%"),
                rx.vstack(
                    rx.text(S.summary, size="2", data_testid="care-summary"),
                    rx.cond(
                        S.total == 0,
                        rx.callout(
                            T("care.empty"), icon="calendar", color_scheme="gray", width="100%"
                        ),
                        rx.vstack(
                            data_table(
                                (
                                    "care.col.on",
                                    "care.col.number",
                                    "care.col.name",
                                    "care.col.consent",
                                    "care.col.greeted",
                                ),
                                S.rows,
                                _row,
                            ),
                            pager(S.page, S.pages, S.total, S.prev_page, S.next_page),
                            width="100%",
                        ),
                    ),
                    width="100%",
                ),
            ),
            _queue_dialog(),
            spacing="3",
            width="100%",
        ),
    )
