"""关怀日历 for cs_manager: birthdays and membership anniversaries in the next days (paged, whether
each customer granted care greetings and whether a greeting is already queued), the configured
holidays, and queuing one day's greetings through the outbox (consenting customers only)."""

from __future__ import annotations

from datetime import timedelta

import reflex as rx

from custapp import clock
from custapp.components.shell import T, data_table, field_error, page, pager
from custapp.services import care
from custapp.states.paging import PagedMixin
from custapp.states.session import SessionState

PAGE_SIZE = 20
DAY_CHOICES = ("3", "7", "14", "31")


class CareState(PagedMixin, SessionState):
    occasion: str = "birthday"
    days: str = "7"
    rows: list[dict[str, str]] = []
    holidays: list[dict[str, str]] = []
    summary: str = ""
    loaded: bool = False
    # 发送关怀问候
    queue_open: bool = False
    queue_day: str = ""
    queue_days: list[list[str]] = []  # [iso date, label]
    errors: dict[str, str] = {}
    queue_error: str = ""

    def _page_size(self) -> int:
        return PAGE_SIZE

    @rx.event
    def load(self):
        _, redirect = self._enter("campaign.manage")
        if redirect:
            return redirect
        self.page, self.queue_open = 1, False
        return self._fetch()

    def _fetch(self):
        found, error = self._call(
            care.care_calendar,
            occasion=self.occasion,
            days=int(self.days),
            page=self.page,
            page_size=PAGE_SIZE,
        )
        self.loaded = True
        if error:
            self.rows, self.total = [], 0
            return rx.toast.error(error)
        self.total = found.total
        self.holidays = [{"on": h.on.isoformat(), "name": h.name} for h in found.holidays]
        self.summary = (
            self._t("care.summary", total=found.total, consenting=found.consenting)
            if self.occasion != "holiday"
            else ""
        )
        self.rows = [
            {
                "on": r.on.isoformat(),
                "number": r.number,
                "name": r.name,
                "years": self._t("care.years", years=r.years) if r.years else "",
                "consented": "1" if r.consented else "",
                "queued": "1" if r.queued else "",
                "href": f"/customers/{r.customer_id}",
            }
            for r in found.rows
        ]
        return None

    @rx.event
    def set_occasion(self, occasion: str | list[str]):
        self.occasion = occasion if occasion in care.OCCASIONS else "birthday"
        self.page = 1
        return self._fetch()

    @rx.event
    def set_days(self, days: str):
        self.days = days if days in DAY_CHOICES else "7"
        self.page = 1
        return self._fetch()

    @rx.event
    def open_queue(self):
        today = clock.local_today()
        window = [today + timedelta(days=i) for i in range(int(self.days))]
        if self.occasion == "holiday":
            window = [h.on for h in care.holidays(window)]
        self.queue_days = [[d.isoformat(), d.isoformat()] for d in window]
        self.queue_day = self.queue_days[0][0] if self.queue_days else ""
        self.errors, self.queue_error = {}, ""
        self.queue_open = True

    @rx.event
    def close_queue(self):
        self.queue_open = False

    @rx.event
    def set_queue_day(self, day: str):
        self.queue_day = day

    @rx.event
    def submit_queue(self, form: dict):
        done, error = self._call(
            care.queue_greetings,
            occasion=self.occasion,
            on=self.queue_day,
            subject=str(form.get("subject", "")),
            body=str(form.get("body", "")),
        )
        self.errors = dict(self._field_errors)
        if error:
            self.queue_error = "" if self.errors else error
            return None
        self.queue_open = False
        message = self._t(
            "care.queued", queued=done.queued, left_out=done.left_out, already=done.already
        )
        fetched = self._fetch()
        return [e for e in (fetched, rx.toast.success(message)) if e is not None]


def _row(r: rx.Var) -> rx.Component:
    return rx.table.row(
        rx.table.cell(r["on"], white_space="nowrap"),
        rx.table.cell(rx.link(r["number"], href=r["href"])),
        rx.table.cell(r["name"], " ", rx.text(r["years"], as_="span", color_scheme="gray")),
        rx.table.cell(
            rx.cond(
                r["consented"],
                rx.badge(T("care.consented"), color_scheme="green"),
                rx.badge(T("care.not_consented"), color_scheme="gray"),
            )
        ),
        rx.table.cell(rx.cond(r["queued"], rx.badge(T("care.greeted"), color_scheme="blue"), "")),
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
                            rx.foreach(S.queue_days, lambda d: rx.select.item(d[1], value=d[0]))
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
                    rx.hstack(
                        rx.button(
                            T("common.cancel"),
                            type="button",
                            variant="soft",
                            color_scheme="gray",
                            on_click=S.close_queue,
                        ),
                        rx.button(T("care.queue"), type="submit", data_testid="care-queue-submit"),
                        justify="end",
                        width="100%",
                    ),
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
                    data_testid="care-queue",
                ),
                width="100%",
                align="center",
                wrap="wrap",
            ),
            rx.text(T("care.consent_note"), size="2", color_scheme="gray"),
            rx.cond(
                S.holidays.length() > 0,
                rx.hstack(
                    rx.icon("calendar-heart", size=16),
                    rx.foreach(
                        S.holidays, lambda h: rx.badge(h["on"], " ", h["name"], variant="soft")
                    ),
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
