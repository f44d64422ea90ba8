"""The profile's 授权同意 tab, and the counter's consent step it shares with 新建客户.

The tab shows the customer's current state per purpose (the replay of the consent events) and the
events themselves, one page at a time; a user with consent.record may withdraw a granted purpose
and record the customer's answers to the current notice (paper form number or an uploaded scan of
the signed form as the written evidence). The notice and the choices are one component, used here
and on the create form: each purpose its own choice, nothing preselected (000 CN-06).
"""

from __future__ import annotations

import reflex as rx

from custapp import clock
from custapp.components.shell import T, data_table, field_error, form_dialog, pager
from custapp.i18n import t
from custapp.services import attachments, consent
from custapp.services.errors import ValidationFailed
from custapp.states.paging import PagedMixin
from custapp.states.session import SessionState

PAGE_SIZE = 20
STATE_COLORS = {"granted": "green", "refused": "gray", "withdrawn": "orange", "": "gray"}
WITHDRAW_CHANNELS = ("counter", "phone")
NO_SCAN = "none"  # a select item needs a value: "no scan chosen"


# --- the notice and the choices (shared with the create form) -------------------------------------


def notice_vars(notice: consent.NoticeText | None) -> tuple[dict[str, str], list[dict[str, str]]]:
    """The notice and its choices as state values, in both languages (the page picks by the
    user's language, so switching language needs no reload)."""
    if notice is None:
        return {}, []
    text = {
        "version": str(notice.version),
        "version_zh": t("consent.tab.version", "zh_CN", version=notice.version),
        "version_en": t("consent.tab.version", "en", version=notice.version),
        "handler_zh": notice.handler_zh,
        "handler_en": notice.handler_en,
        "body_zh": notice.body_zh,
        "body_en": notice.body_en,
    }
    choices = [
        {
            "code": c.code,
            "name_zh": c.name_zh,
            "name_en": c.name_en,
            "description_zh": c.description_zh,
            "description_en": c.description_en,
        }
        for c in notice.choices
    ]
    return text, choices


def read_answers(form: dict, choices: list[dict[str, str]]) -> dict[str, str]:
    """{purpose: "grant" | "refuse"} for the purposes the customer answered; one left unanswered
    records nothing. Only the purposes the page offered are read; any other value of an offered
    one is passed on for the service to refuse."""
    answers = {}
    for choice in choices:
        value = str(form.get(f"consent_{choice['code']}", "") or "")
        if value:
            answers[choice["code"]] = value
    return answers


def answer_errors(form: dict, answers: dict[str, str], *, scan: bool = False) -> dict[str, str]:
    """What the page checks before saving, so every message shows at once: the notice was shown
    (002 CON-01), and an answer needs written evidence (the service checks it too)."""
    errors = {}
    if not form.get("notice_shown"):
        errors["notice_shown"] = "consent.counter.notice_required"
    if answers and not str(form.get("evidence_ref", "")).strip() and not scan:
        errors["evidence_ref"] = "consent.counter.evidence_required"
    return errors


def _pick(values: rx.Var, name: str) -> rx.Var:
    return rx.cond(SessionState.locale == "en", values[f"{name}_en"], values[f"{name}_zh"])


def notice_panel(notice: rx.Var) -> rx.Component:
    """The current privacy notice: version, handler, and the text in a scrolling box."""
    return rx.cond(
        notice["version"],
        rx.box(
            rx.hstack(
                rx.icon("scroll-text", size=16),
                rx.text(T("consent.counter.notice_title"), weight="bold", size="2"),
                rx.badge(_pick(notice, "version"), variant="soft", data_testid="notice-version"),
                align="center",
                spacing="2",
            ),
            rx.text(
                T("consent.counter.handler"),
                "：",
                _pick(notice, "handler"),
                size="2",
                margin_top="6px",
            ),
            rx.scroll_area(
                rx.text(_pick(notice, "body"), size="2", white_space="pre-wrap"),
                type="auto",
                scrollbars="vertical",
                max_height="150px",
                margin_top="6px",
                padding_right="12px",
            ),
            padding="12px",
            border=f"1px solid {rx.color('gray', 6)}",
            border_radius="8px",
            background=rx.color("gray", 2),
            width="100%",
            data_testid="notice-panel",
        ),
        rx.callout(
            T("consent.error.no_notice"), icon="triangle-alert", color_scheme="red", width="100%"
        ),
    )


def _choice_row(choice: rx.Var, errors: rx.Var) -> rx.Component:
    code = choice["code"].to(str)
    message = errors.get("purpose." + code, "")
    return rx.box(
        rx.hstack(
            rx.vstack(
                rx.text(_pick(choice, "name"), weight="medium", size="2"),
                rx.text(_pick(choice, "description"), size="1", color_scheme="gray"),
                spacing="0",
                flex="1",
            ),
            rx.radio_group.root(
                rx.hstack(
                    rx.radio_group.item(T("consent.counter.choice.grant"), value="grant"),
                    rx.radio_group.item(T("consent.counter.choice.refuse"), value="refuse"),
                    spacing="5",
                ),
                name="consent_" + code,
                aria_label=_pick(choice, "name"),
            ),
            align="center",
            spacing="4",
            width="100%",
        ),
        field_error(message),
        padding_y="8px",
        border_bottom=f"1px solid {rx.color('gray', 4)}",
        width="100%",
        data_testid="consent-choice-" + code,
    )


def consent_choices(choices: rx.Var, errors: rx.Var) -> rx.Component:
    """Each consent-based purpose of the notice as its own choice, 同意 / 不同意, none chosen."""
    return rx.cond(
        choices.length() > 0,
        rx.vstack(
            rx.foreach(choices, lambda c: _choice_row(c, errors)),
            spacing="0",
            width="100%",
            max_width="760px",  # the choices stay near the purpose they answer
            data_testid="consent-choices",
        ),
        rx.text(T("consent.counter.no_purposes"), size="2", color_scheme="gray"),
    )


def evidence_field(errors: rx.Var, hint: str) -> rx.Component:
    message = errors.get("evidence_ref", "")
    return rx.vstack(
        rx.text(T("consent.counter.evidence"), size="2", weight="medium"),
        rx.input(
            name="evidence_ref",
            id="consent-evidence",
            max_length=consent.EVIDENCE_MAX,
            aria_invalid=rx.cond(message != "", "true", "false"),
            width="100%",
        ),
        field_error(message),
        rx.text(T(hint), size="1", color_scheme="gray"),
        spacing="1",
        width="100%",
        data_testid="field-evidence_ref",
    )


def notice_shown_field(errors: rx.Var) -> rx.Component:
    return rx.vstack(
        rx.checkbox(
            T("consent.counter.notice_shown"),
            name="notice_shown",
            size="2",
            data_testid="notice-shown",
        ),
        field_error(errors.get("notice_shown", "")),
        spacing="1",
        data_testid="field-notice_shown",
    )


# --- the tab's state ------------------------------------------------------------------------------


class ConsentTabState(PagedMixin, SessionState):
    loaded: bool = False
    can_record: bool = False
    states: list[dict[str, str]] = []
    rows: list[dict[str, str]] = []
    # 记录告知同意
    record_open: bool = False
    notice: dict[str, str] = {}
    choices: list[dict[str, str]] = []
    scans: list[list[str]] = []  # [attachment id, label] of the customer's consent forms
    errors: dict[str, str] = {}
    form_error: str = ""
    # 撤回
    withdraw_open: bool = False
    withdraw_name: str = ""
    withdraw_title: str = ""
    withdraw_error: str = ""
    _withdraw_purpose: str = ""
    _cid: int = 0
    _notice_version: int = 0

    def _page_size(self) -> int:
        return PAGE_SIZE

    def _clear(self) -> None:
        self.states, self.rows, self.total, self.page, self.loaded = [], [], 0, 1, False
        self.record_open = self.withdraw_open = False
        self.scans, self.errors = [], {}

    @rx.event
    async def load(self):
        """On mount of the tab: the customer the profile shows (a merged customer's address
        shows the survivor, so the profile's resolved id, held on the server, is used)."""
        from custapp.pages.customer_profile import ProfileState  # the profile imports this tab

        self._clear()
        actor = self._actor()
        profile = await self.get_state(ProfileState)
        if actor is None or not profile.cid:
            return None
        self._cid, self.can_record = profile.cid, actor.can("consent.record")
        return self._fetch_all()

    @rx.event
    def leave(self):
        self._clear()

    def _fetch_all(self):
        states, error = self._call(
            consent.consent_states, customer_id=self._cid, locale=self.locale
        )
        if error:
            self.loaded = True
            return rx.toast.error(error)
        self.states = [
            {
                "purpose": s.purpose,
                "name": s.purpose_name,
                "state": s.state,
                "label": self._t(f"consent.state.{s.state or 'none'}"),
                "version": self._version(s.notice_version),
                "time": clock.format_local(s.updated_at) or "—",
                "reconfirm": "1" if s.reconfirm_needed else "",
            }
            for s in states
        ]
        return self._fetch()

    def _version(self, version: int | None) -> str:
        return self._t("consent.tab.version", version=version) if version else "—"

    def _fetch(self):
        result, error = self._call(
            consent.consent_events,
            customer_id=self._cid,
            page=self.page,
            page_size=PAGE_SIZE,
            locale=self.locale,
        )
        self.loaded = True
        if error:
            self.rows, self.total = [], 0
            return rx.toast.error(error)
        rows, self.total = result
        self.rows = [
            {
                "time": clock.format_local(e.created_at, "%Y-%m-%d %H:%M:%S"),
                "purpose": e.purpose_name,
                "state": consent.STATES[e.action],
                "action_label": self._t(f"consent.action.{e.action}"),
                "version": self._version(e.notice_version),
                "channel": self._t(f"consent.channel.{e.channel}"),
                "evidence": " · ".join(
                    part
                    for part in (
                        e.evidence_ref,
                        self._t("consent.tab.scan") if e.has_attachment else "",
                        e.note,
                    )
                    if part
                )
                or "—",
                "operator": e.operator_name or "—",
            }
            for e in rows
        ]
        return None

    # --- 记录告知同意 -----------------------------------------------------------------------------

    @rx.event
    def open_record(self):
        text, error = self._call(lambda session, actor: consent.notice_text(session))
        if error:
            return rx.toast.error(error)
        self.notice, self.choices = notice_vars(text)
        self._notice_version = text.version if text else 0
        found, error = self._call(
            attachments.list_attachments,
            customer_id=self._cid,
            page=1,
            page_size=attachments.MAX_PAGE_SIZE,
        )
        self.scans = [
            [str(a.id), f"{a.archive_number} · {clock.format_local(a.created_at, '%Y-%m-%d')}"]
            for a in (found.rows if found else [])
            if a.category == "consent_form"
        ]
        self.errors, self.form_error, self.record_open = {}, "", True
        return None

    @rx.event
    def close_dialogs(self):
        self.record_open = self.withdraw_open = False

    @rx.event
    def record(self, form: dict):
        answers = read_answers(form, self.choices)
        scan = str(form.get("attachment_id", ""))
        scan_id = int(scan) if scan.isdecimal() else None
        errors = answer_errors(form, answers, scan=scan_id is not None)
        if errors or not answers:
            self.errors = {f: self._t(k) for f, k in errors.items()}
            self.form_error = self._t(
                "consent.tab.answer_one" if not answers else "form.has_errors"
            )
            return None
        _, error = self._call(self._record_shown, answers=answers, form=form, scan_id=scan_id)
        if error:
            self.errors, self.form_error = dict(self._field_errors), error
            return None
        self.record_open, self.page = False, 1
        self._fetch_all()
        return rx.toast.success(self._t("consent.tab.recorded"))

    def _record_shown(self, session, *, actor, answers, form, scan_id):  # noqa: ANN001, ANN202
        """The answers to the notice this dialog showed: a newer version published meanwhile
        was not shown to the customer."""
        current = consent.current_notice(session)
        if current is None or current.version != self._notice_version:
            raise ValidationFailed({"notice_shown": "consent.counter.notice_changed"})
        return consent.record_consents(
            session,
            actor=actor,
            customer_id=self._cid,
            choices=answers,
            channel="counter",
            evidence_ref=str(form.get("evidence_ref", "")),
            attachment_id=scan_id,
        )

    # --- 撤回 -----------------------------------------------------------------------------------

    @rx.event
    def ask_withdraw(self, purpose: str, name: str):
        self._withdraw_purpose, self.withdraw_name = str(purpose)[:30], str(name)[:60]
        self.withdraw_title = self._t("consent.tab.withdraw_title", purpose=self.withdraw_name)
        self.withdraw_error, self.withdraw_open = "", True

    @rx.event
    def withdraw(self, form: dict):
        channel = str(form.get("channel", "") or "counter")
        _, error = self._call(
            consent.withdraw_consent,
            customer_id=self._cid,
            purpose=self._withdraw_purpose,
            channel=channel if channel in WITHDRAW_CHANNELS else "counter",
        )
        if error:
            self.withdraw_error = next(iter(self._field_errors.values()), error)
            return None
        self.withdraw_open, self.page = False, 1
        self._fetch_all()
        return rx.toast.success(self._t("consent.tab.withdrawn", purpose=self.withdraw_name))


# --- the tab --------------------------------------------------------------------------------------


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
        rx.table.cell(rx.text(row["name"], weight="medium")),
        rx.table.cell(
            rx.hstack(
                _state_badge(row["state"], row["label"]),
                rx.cond(
                    row["reconfirm"] != "",
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
        rx.table.cell(row["version"], white_space="nowrap"),
        rx.table.cell(row["time"], white_space="nowrap"),
        rx.table.cell(
            rx.cond(
                S.can_record & (row["state"] == "granted"),
                rx.button(
                    rx.icon("undo-2", size=14),
                    T("consent.tab.withdraw"),
                    size="1",
                    variant="soft",
                    color_scheme="red",
                    on_click=S.ask_withdraw(row["purpose"], row["name"]),
                    data_testid="consent-withdraw",
                ),
            )
        ),
        data_testid="consent-state-" + row["purpose"].to(str),
    )


def _event_row(row: rx.Var) -> rx.Component:
    return rx.table.row(
        rx.table.cell(row["time"], white_space="nowrap"),
        rx.table.cell(row["purpose"]),
        rx.table.cell(
            _state_badge(row["state"], row["action_label"]),
        ),
        rx.table.cell(row["version"], white_space="nowrap"),
        rx.table.cell(row["channel"], white_space="nowrap"),
        rx.table.cell(row["evidence"]),
        rx.table.cell(row["operator"]),
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
                                    rx.foreach(S.scans, lambda s: rx.select.item(s[1], value=s[0])),
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
                    rx.hstack(
                        rx.button(
                            T("common.cancel"),
                            type="button",
                            variant="soft",
                            color_scheme="gray",
                            on_click=S.close_dialogs,
                        ),
                        rx.button(T("common.save"), type="submit", data_testid="consent-save"),
                        justify="end",
                        width="100%",
                    ),
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
