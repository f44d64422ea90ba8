"""营销名单 (cs_manager): a segment and a purpose give the list of consenting customers, how
many were left out and why, one page of it (masked), and a campaign queued through the outbox.

The list shown is the one the campaign goes to: the segment and purpose of the last built list
stay on the server (`_built`), and changing a filter clears the result until it is built again.
The service checks campaign.manage whatever the browser sends; queuing runs in the background
(batches of 500 per transaction) so a large list does not hold up the page.
"""

from __future__ import annotations

import asyncio

import reflex as rx

from custapp import clock
from custapp.components.shell import T, data_table, field_error, form_dialog, page, pager
from custapp.db import session_scope
from custapp.services import customer_search, marketing
from custapp.services.actor import Actor
from custapp.services.customer_fields import GRADES, LIFECYCLES
from custapp.services.errors import DomainError, ValidationFailed
from custapp.states.paging import PagedMixin
from custapp.states.session import SessionState

PAGE_SIZE = 20
HISTORY_PAGE_SIZE = 10
ALL = "all"
FILTERS = ("f_grade", "f_lifecycle", "f_tag", "purpose")


def _queue(actor: Actor, built: dict[str, str], subject: str, body: str):  # noqa: ANN202
    """queue_campaign in its own thread -> (result, message key, params, field errors)."""
    try:
        result = marketing.queue_campaign(
            session_scope,
            actor=actor,
            segment=marketing.Segment(built["grade"], built["lifecycle"], built["tag"]),
            purpose=built["purpose"],
            subject=subject,
            body=body,
        )
    except ValidationFailed as exc:
        return None, exc.key, {}, exc.errors
    except DomainError as exc:
        return None, exc.key, exc.params, {}
    return result, "", {}, {}


class MarketingState(PagedMixin, SessionState):
    # the list builder
    purposes: list[dict[str, str]] = []  # code, name, channel, sendable ("1" / "")
    tags: list[str] = []
    f_grade: str = ALL
    f_lifecycle: str = ALL
    f_tag: str = ALL
    purpose: str = ""
    errors: dict[str, str] = {}
    building: bool = False
    # the last built list (total, page: PagedMixin; total = the included customers)
    built: bool = False
    sendable: bool = False
    contact_label: str = ""
    summary: str = ""
    reconfirm_note: str = ""
    stats: list[list[str]] = []  # [label, count]
    rows: list[dict[str, str]] = []
    _built: dict[str, str] = {}
    # the message and its confirmation
    compose_open: bool = False
    confirm_open: bool = False
    confirm_text: str = ""
    subject: str = ""
    body: str = ""
    msg_errors: dict[str, str] = {}
    form_error: str = ""
    queuing: bool = False
    # the campaigns
    campaigns: list[dict[str, str]] = []
    camp_total: int = 0
    camp_page: int = 1
    camp_loaded: bool = False

    def _page_size(self) -> int:
        return PAGE_SIZE

    @rx.var
    def camp_pages(self) -> int:
        return max(1, -(-self.camp_total // HISTORY_PAGE_SIZE))

    def _clear_list(self) -> None:
        self.built, self.rows, self.stats, self._built = False, [], [], {}
        self.summary = self.reconfirm_note = ""
        self.total, self.page = 0, 1
        self.compose_open = self.confirm_open = False

    def _clear(self) -> None:
        """A full page load sends the whole state tree to the new page: not this list."""
        self._clear_list()
        self.campaigns, self.camp_loaded = [], False

    @rx.event
    def load(self):
        _, redirect = self._enter("campaign.manage")
        if redirect:
            return redirect
        self._clear_list()
        self.errors, self.camp_page, self.camp_loaded = {}, 1, False
        options, error = self._call(marketing.list_purposes, locale=self.locale)
        if error:
            return rx.toast.error(error)
        unusable = self._t("marketing.purpose_unusable")
        self.purposes = [
            {
                "code": p.code,
                "name": p.name + ("" if p.usable else unusable),
                "channel": p.channel,
                "sendable": "1" if p.sendable else "",
            }
            for p in options
        ]
        if self.purpose not in [p.code for p in options]:
            self.purpose = next((p.code for p in options if p.usable and p.sendable), "")
        tags, _ = self._call(customer_search.list_tags)
        self.tags = tags or []
        return self._fetch_campaigns()

    @rx.event
    def set_filter(self, name: str, value: str):
        if name in FILTERS:
            setattr(self, name, str(value)[: marketing.TAG_MAX + 1])
            self.errors = {}
            self._clear_list()

    # --- the list ---------------------------------------------------------------------------

    def _segment(self) -> dict[str, str]:
        def value(v: str) -> str:
            return "" if v == ALL else v

        return {
            "grade": value(self.f_grade),
            "lifecycle": value(self.f_lifecycle),
            "tag": value(self.f_tag),
            "purpose": self.purpose,
        }

    @rx.event
    def build(self):
        self._clear_list()
        self._built, self.building = self._segment(), True
        return MarketingState.fetch_built

    @rx.event
    def fetch_built(self):
        """A second event after build, so the button shows that the list is being counted."""
        self.building = False
        return self._fetch(with_counts=True)

    def _fetch(self, *, with_counts: bool = False):
        """One page of the built list; with_counts on building it (paging keeps the counts)."""
        if not self._built:
            return None
        b = self._built
        result, error = self._call(
            marketing.build_list,
            segment=marketing.Segment(b["grade"], b["lifecycle"], b["tag"]),
            purpose=b["purpose"],
            page=self.page,
            page_size=PAGE_SIZE,
            with_counts=with_counts,
        )
        if error:
            self.errors = {
                ("f_" + f if f != "purpose" else f): m for f, m in self._field_errors.items()
            }
            self._clear_list()
            return None if self.errors else rx.toast.error(error)
        self._show(result)
        return None

    def _show(self, result: marketing.MarketingList) -> None:
        self.rows = [
            {
                "id": str(r.id),
                "number": r.number,
                "name": r.name,
                "contact": r.contact_masked or "—",
                "grade": r.grade,
                "lifecycle": self._t(f"customer.lifecycle.{r.lifecycle}"),
            }
            for r in result.rows
        ]
        c = result.counts
        if c is None:
            return
        chosen = next((p for p in self.purposes if p["code"] == self._built["purpose"]), {})
        self.sendable = chosen.get("sendable") == "1"
        field = marketing.CONTACT_FIELDS.get(chosen.get("channel", ""), "phone")
        self.contact_label = self._t(f"customer.field.{field}")
        self.built, self.total = True, c.included
        counts = {**c.as_dict(), "left_out": c.left_out}
        if c.purpose_unusable:
            self.summary = self._t("marketing.summary_unusable", **counts)
        else:
            key = "marketing.summary" if self.sendable else "marketing.summary_call"
            self.summary = self._t(key, **counts)
        self.reconfirm_note = (
            self._t("marketing.reconfirm_note", count=c.reconfirm) if c.reconfirm else ""
        )
        included = "marketing.stat.included" if self.sendable else "marketing.stat.included_call"
        self.stats = [
            [self._t(label), f"{n:,}"]
            for label, n in (
                ("marketing.stat.segment", c.segment),
                (included, c.included),
                ("marketing.stat.left_out", c.left_out),
            )
        ]

    # --- the message --------------------------------------------------------------------------

    @rx.event
    def open_compose(self):
        if self.built and self.sendable and self.total > 0:
            self.msg_errors, self.form_error, self.compose_open = {}, "", True

    @rx.event
    def close_dialogs(self):
        self.compose_open = self.confirm_open = False

    @rx.event
    def compose(self, form: dict):
        self.subject = str(form.get("subject", ""))[:1000]
        self.body = str(form.get("body", ""))[:2000]
        errors = marketing.message_errors(self.subject, self.body)
        self.msg_errors = {f: self._t(k) for f, k in errors.items()}
        if errors:
            return
        purpose = next((p["name"] for p in self.purposes if p["code"] == self.purpose), "")
        self.confirm_text = self._t(
            "marketing.confirm_text",
            purpose=purpose,
            count=f"{self.total:,}",
            subject=self.subject.strip(),
        )
        self.compose_open, self.confirm_open = False, True

    @rx.event(background=True)
    async def queue(self):
        """加入发送队列: the campaign, queued in batches off the event loop."""
        async with self:
            if self.queuing or not self._built:
                return
            self.confirm_open = False
            actor = self._actor()
            if actor is not None:
                self.queuing = True
            built, subject, body = dict(self._built), self.subject, self.body
            refused = self._t("auth.login_required")
        if actor is None:
            yield rx.toast.error(refused)
            return
        result, key, params, errors = await asyncio.to_thread(_queue, actor, built, subject, body)
        async with self:
            self.queuing = False
            if errors:
                self.msg_errors = {f: self._t(k) for f, k in errors.items()}
                self.form_error = "" if set(errors) <= {"subject", "body"} else self._t(key)
                self.compose_open = True
            elif key:
                failure = self._t(key, **params)
            else:
                self.subject = self.body = ""
                self.camp_page = 1
                self._fetch_campaigns()
                done = self._t("marketing.queued", queued=result.queued, left_out=result.left_out)
        if errors:
            return
        yield rx.toast.error(failure) if key else rx.toast.success(done)

    # --- the campaigns ------------------------------------------------------------------------

    def _segment_text(self, segment: dict[str, str]) -> str:
        parts = []
        if segment.get("grade"):
            parts.append(self._t("marketing.segment.grade", value=segment["grade"]))
        if segment.get("lifecycle"):
            parts.append(self._t(f"customer.lifecycle.{segment['lifecycle']}"))
        if segment.get("tag"):
            parts.append(self._t("marketing.segment.tag", value=segment["tag"]))
        return " · ".join(parts) or self._t("marketing.segment.all")

    def _fetch_campaigns(self):
        result, error = self._call(
            marketing.list_campaigns,
            page=self.camp_page,
            page_size=HISTORY_PAGE_SIZE,
            locale=self.locale,
        )
        self.camp_loaded = True
        if error:
            self.campaigns, self.camp_total = [], 0
            return rx.toast.error(error)
        rows, self.camp_total = result
        self.campaigns = [
            {
                "time": clock.format_local(r.created_at),
                "purpose": r.purpose_name,
                "segment": self._segment_text(r.segment),
                "subject": r.subject,
                "queued": f"{r.queued:,}",
                "left_out": f"{r.left_out:,}",
                "created_by": r.created_by or "—",
            }
            for r in rows
        ]
        return None

    @rx.event
    def camp_prev(self):
        self.camp_page = max(1, self.camp_page - 1)
        return self._fetch_campaigns()

    @rx.event
    def camp_next(self):
        self.camp_page = min(self.camp_pages, self.camp_page + 1)
        return self._fetch_campaigns()


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
                            rx.foreach(
                                S.purposes, lambda p: rx.select.item(p["name"], value=p["code"])
                            )
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


def _stat(stat: rx.Var) -> rx.Component:
    return rx.card(
        rx.vstack(
            rx.text(stat[0], size="2", color_scheme="gray"),
            rx.heading(stat[1], size="6"),
            spacing="1",
        ),
        min_width="150px",
    )


def _row(row: rx.Var) -> rx.Component:
    return rx.table.row(
        rx.table.cell(rx.link(row["number"], href="/customers/" + row["id"])),
        rx.table.cell(rx.link(row["name"], href="/customers/" + row["id"], weight="medium")),
        rx.table.cell(rx.code(row["contact"], variant="ghost")),
        rx.table.cell(rx.badge(row["grade"], variant="soft")),
        rx.table.cell(row["lifecycle"]),
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
            rx.hstack(
                rx.alert_dialog.cancel(
                    rx.button(
                        T("common.cancel"),
                        variant="soft",
                        color_scheme="gray",
                        on_click=S.close_dialogs,
                    )
                ),
                rx.alert_dialog.action(
                    rx.button(
                        rx.icon("send", size=14),
                        T("marketing.queue"),
                        on_click=S.queue,
                        data_testid="marketing-confirm",
                    )
                ),
                justify="end",
                spacing="3",
                margin_top="16px",
            ),
        ),
        open=S.confirm_open,
    )


def _campaign_row(row: rx.Var) -> rx.Component:
    return rx.table.row(
        rx.table.cell(row["time"]),
        rx.table.cell(row["purpose"]),
        rx.table.cell(row["segment"]),
        rx.table.cell(row["subject"]),
        rx.table.cell(row["queued"]),
        rx.table.cell(row["left_out"]),
        rx.table.cell(row["created_by"]),
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
    return page(
        "nav.marketing",
        _builder(),
        _result(),
        _history(),
        _compose_dialog(),
        _confirm_dialog(),
    )
