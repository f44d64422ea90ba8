"""我的信息与授权, the member's second portal page (SPEC §3 member portal, §4): the member's own
profile, masked as staff see it; their consents per purpose, with a withdraw button per granted
one and, when the privacy notice changed or a purpose was never answered, the form to answer it;
their personal-information rights requests (查阅复制、更正补充、删除、撤回同意、解释说明), filed here
and listed one page at a time; and the current privacy notice.

The customer always comes from the login on the server: no handler takes one. What a request
asked and its outcome are decrypted only for the one request the member opens, and dropped when
its dialog closes.
"""

from __future__ import annotations

import reflex as rx

from custapp import clock
from custapp.components.shell import T, field_error, form_dialog, page, pager
from custapp.pages.profile_consents import (
    STATE_COLORS,
    consent_choices,
    notice_panel,
    notice_vars,
    read_answers,
)
from custapp.pages.rights_requests import STATUS_COLORS
from custapp.services import consent, customer_profile, rights
from custapp.services.errors import ValidationFailed
from custapp.settings import get_settings
from custapp.states.paging import PagedMixin
from custapp.states.session import SessionState

PAGE_SIZE = 10
CHOICE_FIELDS = {"gender", "nature", "source_channel", "id_type"}
REQUEST_FORM = "privacy-request"
DETAIL_INPUT = "privacy-detail"


class PortalPrivacyState(PagedMixin, SessionState):
    loaded: bool = False
    # 我的个人信息 (masked)
    profile: dict[str, str] = {}
    general: list[list[str]] = []  # [label, text]
    sensitive: list[list[str]] = []  # [label, masked value]
    contacts: list[dict[str, str]] = []
    # 我的授权同意
    consents: list[dict[str, str]] = []
    reconfirm: bool = False  # the notice changed since a purpose was granted
    unanswered: bool = False  # a purpose of the notice was never answered
    answer_open: bool = False
    notice: dict[str, str] = {}
    choices: list[dict[str, str]] = []
    answer_errors: dict[str, str] = {}
    answer_error: str = ""
    withdraw_open: bool = False
    withdraw_title: str = ""
    withdraw_error: str = ""
    _withdraw_purpose: str = ""
    _notice_version: int = 0
    # 我的权利请求 (one page)
    rows: list[dict[str, str]] = []
    request_kind: str = "correction"
    request_errors: dict[str, str] = {}
    request_error: str = ""
    due_hint: str = ""
    # the one request opened
    detail_open: bool = False
    d: dict[str, str] = {}

    def _page_size(self) -> int:
        return PAGE_SIZE

    def _clear(self) -> None:
        self.loaded = self.answer_open = self.withdraw_open = self.detail_open = False
        self.profile, self.general, self.sensitive, self.contacts = {}, [], [], []
        self.consents, self.notice, self.choices, self.rows, self.d = [], {}, [], [], {}
        self.reconfirm = self.unanswered = False
        self.answer_errors, self.request_errors = {}, {}
        self.answer_error = self.request_error = self.withdraw_error = ""
        self._withdraw_purpose, self._notice_version = "", 0
        self.page, self.total, self.request_kind = 1, 0, "correction"

    @rx.event
    def load(self):
        _, redirect = self._enter("member.self")
        if redirect:
            return redirect
        self._clear()
        self.due_hint = self._t("portal_privacy.due_hint", days=get_settings().rights_due_days)
        errors = [self._fetch_profile(), self._fetch_consents(), self._fetch_rows()]
        self.loaded = True
        shown = list(dict.fromkeys(e for e in errors if e))
        return [rx.toast.error(e) for e in shown] or None

    # --- the profile -----------------------------------------------------------------------------

    def _fetch_profile(self) -> str | None:
        p, error = self._call(customer_profile.member_profile)
        if error:
            return error
        self.profile = {
            "number": p.number,
            "name": p.name,
            "kind": self._t(f"customer.kind.{p.kind}"),
            "verify": self._t(f"customer.verify.{p.verify_status}"),
            "updated": clock.format_local(p.updated_at, "%Y-%m-%d"),
        }
        self.general = [
            [
                self._t(f"customer.field.{k}"),
                self._t(f"customer.{k}.{v}") if k in CHOICE_FIELDS else v,
            ]
            for k, v in p.general.items()
            if k != "name" and v
        ]
        self.sensitive = [
            [self._t(f"customer.field.{s.field}"), s.masked, s.field]
            for s in p.sensitive
            if s.present
        ]
        self.contacts = [
            {"name": c.name, "title": c.title, "phone": c.phone_masked} for c in p.contacts
        ]
        return None

    # --- consents ----------------------------------------------------------------------------------

    def _fetch_consents(self) -> str | None:
        text, error = self._call(lambda session, actor: consent.notice_text(session))
        if error:
            return error
        self.notice, self.choices = notice_vars(text)
        self._notice_version = text.version if text else 0
        states, error = self._call(consent.member_consent_states, locale=self.locale)
        if error:
            self.consents = []
            return error
        described = {
            c["code"]: c["description_en" if self.locale == "en" else "description_zh"]
            for c in self.choices
        }
        self.consents = [
            {
                "purpose": s.purpose,
                "name": s.purpose_name,
                "description": described.get(s.purpose, ""),
                "state": s.state,
                "label": self._t(
                    f"consent.state.{s.state}" if s.state else "portal_privacy.state_none"
                ),
                "since": (
                    self._t("portal_privacy.since", time=clock.format_local(s.updated_at))
                    if s.updated_at
                    else ""
                ),
                "reconfirm": "1" if s.reconfirm_needed else "",
            }
            for s in states
        ]
        offered = set(described)
        self.reconfirm = any(s.reconfirm_needed for s in states)
        self.unanswered = any(s.state == "" and s.purpose in offered for s in states)
        self.answer_open = self.reconfirm
        return None

    @rx.event
    def toggle_answers(self):
        self.answer_open = not self.answer_open
        self.answer_errors, self.answer_error = {}, ""

    @rx.event
    def save_choices(self, form: dict):
        answers = read_answers(form, self.choices)
        errors = {}
        if not form.get("notice_read"):
            errors["notice_read"] = self._t("portal_privacy.read_required")
        if errors or not answers:
            self.answer_errors = errors
            self.answer_error = self._t(
                "portal_privacy.answer_one" if not answers else "form.has_errors"
            )
            return None
        _, error = self._call(self._record_read, answers=answers)
        if error:
            self.answer_errors, self.answer_error = dict(self._field_errors), error
            return None
        self.answer_errors, self.answer_error = {}, ""
        problem = self._fetch_consents()
        self.answer_open = False
        if problem:
            return rx.toast.error(problem)
        return rx.toast.success(self._t("portal_privacy.saved"))

    def _record_read(self, session, *, actor, answers):  # noqa: ANN001, ANN202
        """The answers to the notice this page showed: a newer version published meanwhile was
        not read."""
        current = consent.current_notice(session)
        if current is None or current.version != self._notice_version:
            raise ValidationFailed({"notice_read": "portal_privacy.notice_changed"})
        return consent.member_record_consents(session, actor=actor, choices=answers)

    @rx.event
    def ask_withdraw(self, purpose: str):
        """Only a purpose this page lists as granted (the list is the server's own)."""
        row = next(
            (c for c in self.consents if c["purpose"] == purpose and c["state"] == "granted"),
            None,
        )
        if row is None:
            return rx.toast.error(self._t("consent.error.not_granted"))
        self._withdraw_purpose = row["purpose"]
        self.withdraw_title = self._t("consent.tab.withdraw_title", purpose=row["name"])
        self.withdraw_error, self.withdraw_open = "", True
        return None

    @rx.event
    def close_withdraw(self):
        self.withdraw_open, self._withdraw_purpose, self.withdraw_error = False, "", ""

    @rx.event
    def withdraw(self, form: dict):
        purpose = self._withdraw_purpose
        name = next((c["name"] for c in self.consents if c["purpose"] == purpose), purpose)
        _, error = self._call(consent.member_withdraw_consent, purpose=purpose)
        if error:
            self.withdraw_error = next(iter(self._field_errors.values()), error)
            return None
        self.withdraw_open, self._withdraw_purpose = False, ""
        problem = self._fetch_consents()
        if problem:
            return rx.toast.error(problem)
        return rx.toast.success(self._t("consent.tab.withdrawn", purpose=name))

    # --- rights requests ---------------------------------------------------------------------------

    def _request_rows(self) -> tuple[list[rights.MemberRequestRow] | None, str | None]:
        result, error = self._call(rights.member_list_requests, page=self.page, page_size=PAGE_SIZE)
        if error:
            return None, error
        rows, self.total = result
        return rows, None

    def _fetch(self):
        error = self._fetch_rows()
        return rx.toast.error(error) if error else None

    def _fetch_rows(self) -> str | None:
        rows, error = self._request_rows()
        if error:
            self.rows, self.total = [], 0
            return error
        self.rows = [
            {
                "number": r.number,
                "kind": self._t(f"rights.kind.{r.kind}"),
                "channel": self._t(f"rights.channel.{r.channel}"),
                "received": clock.format_local(r.received_at),
                "due": r.due_on.isoformat(),
                "status": self._t(f"rights.status.{r.status}"),
                "status_code": r.status,
                "closed": clock.format_local(r.closed_at),
            }
            for r in rows
        ]
        return None

    @rx.event
    def choose_kind(self, kind: str):
        self.request_kind = kind if kind in rights.KINDS else "correction"
        self.request_errors = {k: v for k, v in self.request_errors.items() if k != "kind"}

    @rx.event
    def file_request(self, form: dict):
        ref, error = self._call(
            rights.member_file_request,
            kind=self.request_kind,
            detail=str(form.get("detail", "") or ""),
        )
        if error:
            self.request_errors, self.request_error = dict(self._field_errors), error
            return None
        self.request_errors, self.request_error, self.page = {}, "", 1
        problem = self._fetch_rows()
        return [
            rx.set_value(DETAIL_INPUT, ""),
            rx.toast.success(
                self._t("portal_privacy.filed", number=ref.number, due=ref.due_on.isoformat())
            ),
            *([rx.toast.error(problem)] if problem else []),
        ]

    @rx.event
    def open_request(self, number: str):
        """One of the member's own requests on the shown page, with what was asked and the
        outcome (decrypted for this dialog only)."""
        rows, error = self._request_rows()
        found = next((r for r in rows or [] if r.number == number), None)
        if found is None:
            return rx.toast.error(error or self._t("rights.error.not_found"))
        self.d = {
            "number": found.number,
            "kind": self._t(f"rights.kind.{found.kind}"),
            "status": self._t(f"rights.status.{found.status}"),
            "status_code": found.status,
            "received": clock.format_local(found.received_at),
            "due": found.due_on.isoformat(),
            "closed": clock.format_local(found.closed_at),
            "detail": found.detail,
            "outcome": found.outcome,
        }
        self.detail_open = True
        return None

    @rx.event
    def close_request(self):
        self.detail_open, self.d = False, {}


# --- the page ------------------------------------------------------------------------------------


def _section(icon: str, title: str, *children: rx.Component, **props) -> rx.Component:
    return rx.card(
        rx.vstack(
            rx.hstack(
                rx.icon(icon, size=18, color=rx.color("accent", 10)),
                rx.heading(T(title), size="4"),
                align="center",
                spacing="2",
            ),
            *children,
            spacing="3",
            width="100%",
        ),
        width="100%",
        **props,
    )


def _pair(label: rx.Var, value: rx.Component | rx.Var) -> rx.Component:
    return rx.data_list.item(
        rx.data_list.label(label, min_width="84px"),
        rx.data_list.value(value),
    )


def _profile() -> rx.Component:
    S = PortalPrivacyState
    p = S.profile
    return _section(
        "user-round",
        "portal_privacy.profile",
        rx.data_list.root(
            _pair(T("customer.number"), rx.code(p["number"], variant="ghost")),
            _pair(T("customer.field.name"), p["name"]),
            rx.foreach(S.general, lambda r: _pair(r[0], r[1])),
            rx.foreach(
                S.sensitive,
                lambda r: _pair(
                    r[0],
                    rx.code(r[1], variant="ghost", data_testid="masked-" + r[2].to(str)),
                ),
            ),
            rx.foreach(
                S.contacts,
                lambda c: _pair(
                    T("customer.section.contacts"),
                    rx.text(c["name"], " ", c["title"], " ", c["phone"]),
                ),
            ),
            _pair(T("customer.field.verify_status"), p["verify"]),
            _pair(T("portal_privacy.updated"), p["updated"]),
            size="2",
            width="100%",
            data_testid="privacy-profile",
        ),
        rx.callout(
            rx.vstack(
                rx.text(T("portal_privacy.masked_hint"), size="2"),
                rx.button(
                    rx.icon("pencil", size=14),
                    T("portal_privacy.correct"),
                    size="2",
                    variant="soft",
                    on_click=[S.choose_kind("correction"), rx.scroll_to(REQUEST_FORM)],
                    data_testid="privacy-correct",
                ),
                spacing="2",
                align="start",
            ),
            icon="eye-off",
            color_scheme="gray",
            width="100%",
        ),
    )


def _state_badge(row: rx.Var) -> rx.Component:
    return rx.badge(
        row["label"],
        color_scheme=rx.match(
            row["state"], *[(k, v) for k, v in STATE_COLORS.items() if k], "gray"
        ),
        variant=rx.cond(row["state"] == "", "outline", "soft"),
        size="2",
        data_testid="consent-state",
    )


def _consent_row(row: rx.Var) -> rx.Component:
    S = PortalPrivacyState
    return rx.flex(
        rx.vstack(
            rx.text(row["name"], weight="medium", size="3"),
            rx.cond(
                row["description"] != "",
                rx.text(row["description"], size="1", color_scheme="gray"),
            ),
            rx.cond(row["since"] != "", rx.text(row["since"], size="1", color_scheme="gray")),
            spacing="1",
            flex="1",
            min_width="200px",
        ),
        rx.hstack(
            _state_badge(row),
            rx.cond(
                row["reconfirm"] != "",
                rx.badge(T("consent.tab.reconfirm"), color_scheme="amber", variant="solid"),
            ),
            rx.cond(
                row["state"] == "granted",
                rx.button(
                    rx.icon("undo-2", size=14),
                    T("consent.tab.withdraw"),
                    size="1",
                    variant="soft",
                    color_scheme="red",
                    on_click=S.ask_withdraw(row["purpose"]),
                    data_testid="consent-withdraw",
                ),
            ),
            align="center",
            spacing="2",
            wrap="wrap",
        ),
        align="center",
        justify="between",
        gap="8px",
        wrap="wrap",
        padding_y="10px",
        border_bottom=f"1px solid {rx.color('gray', 4)}",
        width="100%",
        data_testid="consent-row-" + row["purpose"].to(str),
    )


def _answer_form() -> rx.Component:
    S = PortalPrivacyState
    return rx.form(
        rx.vstack(
            rx.text(T("portal_privacy.answer_title"), weight="bold", size="3"),
            notice_panel(S.notice),
            consent_choices(S.choices, S.answer_errors),
            rx.vstack(
                rx.checkbox(
                    T("portal_privacy.read_notice"),
                    name="notice_read",
                    size="2",
                    data_testid="notice-read",
                ),
                field_error(S.answer_errors.get("notice_read", "")),
                spacing="1",
                data_testid="field-notice_read",
            ),
            field_error(S.answer_error),
            rx.hstack(
                rx.cond(
                    ~S.reconfirm,
                    rx.button(
                        T("common.cancel"),
                        type="button",
                        variant="soft",
                        color_scheme="gray",
                        on_click=S.toggle_answers,
                    ),
                ),
                rx.button(
                    rx.icon("check", size=14),
                    T("portal_privacy.save_choices"),
                    type="submit",
                    data_testid="consent-save",
                ),
                justify="end",
                width="100%",
            ),
            spacing="3",
            width="100%",
        ),
        on_submit=S.save_choices,
        width="100%",
        padding="12px",
        border=f"1px solid {rx.color('accent', 6)}",
        border_radius="8px",
        data_testid="consent-answer-form",
    )


def _consents() -> rx.Component:
    S = PortalPrivacyState
    return _section(
        "shield-user",
        "portal_privacy.consents",
        rx.text(T("portal_privacy.consents_intro"), size="2", color_scheme="gray"),
        rx.cond(
            S.reconfirm,
            rx.callout(
                rx.vstack(
                    rx.text(T("portal_privacy.reconfirm_title"), weight="bold"),
                    rx.text(T("portal_privacy.reconfirm")),
                    spacing="1",
                ),
                icon="bell-ring",
                color_scheme="amber",
                width="100%",
                data_testid="consent-reconfirm",
            ),
            rx.cond(
                S.unanswered,
                rx.callout(
                    T("portal_privacy.unanswered"),
                    icon="info",
                    color_scheme="blue",
                    width="100%",
                    data_testid="consent-unanswered",
                ),
            ),
        ),
        rx.cond(
            S.consents.length() > 0,
            rx.vstack(rx.foreach(S.consents, _consent_row), spacing="0", width="100%"),
            rx.text(T("portal_privacy.no_consents"), size="2", color_scheme="gray"),
        ),
        rx.cond(
            S.answer_open,
            _answer_form(),
            rx.cond(
                S.choices.length() > 0,
                rx.button(
                    rx.icon("list-checks", size=14),
                    rx.cond(S.unanswered, T("portal_privacy.answer"), T("portal_privacy.change")),
                    variant="soft",
                    on_click=S.toggle_answers,
                    data_testid="consent-change",
                ),
            ),
        ),
    )


def _status_badge(label: rx.Var, code: rx.Var) -> rx.Component:
    return rx.badge(
        label,
        color_scheme=rx.match(code, *[(k, v) for k, v in STATUS_COLORS.items()], "gray"),
        variant="soft",
        data_testid="request-status",
    )


def _request_row(row: rx.Var) -> rx.Component:
    S = PortalPrivacyState
    return rx.flex(
        rx.vstack(
            rx.hstack(
                rx.badge(row["kind"], variant="outline", size="2", data_testid="request-kind"),
                _status_badge(row["status"], row["status_code"]),
                rx.code(row["number"], variant="ghost", size="1"),
                align="center",
                spacing="2",
                wrap="wrap",
            ),
            rx.text(
                T("rights.received"),
                "：",
                row["received"],
                " · ",
                T("rights.due_on"),
                "：",
                rx.text.strong(row["due"], data_testid="request-due"),
                size="1",
                color_scheme="gray",
            ),
            spacing="1",
            flex="1",
            min_width="220px",
        ),
        rx.button(
            rx.icon("folder-open", size=14),
            T("rights.open"),
            size="1",
            variant="soft",
            on_click=S.open_request(row["number"]),
            data_testid="request-open",
        ),
        align="center",
        justify="between",
        gap="8px",
        wrap="wrap",
        padding_y="10px",
        border_bottom=f"1px solid {rx.color('gray', 4)}",
        width="100%",
        data_testid="request-row",
    )


def _request_form() -> rx.Component:
    S = PortalPrivacyState
    return rx.form(
        rx.vstack(
            rx.text(T("portal_privacy.new_request"), weight="bold", size="3"),
            rx.vstack(
                rx.text(T("rights.kind"), size="2", weight="medium"),
                rx.select.root(
                    rx.select.trigger(width="100%", data_testid="request-kind-select"),
                    rx.select.content(
                        *[rx.select.item(T(f"rights.kind.{k}"), value=k) for k in rights.KINDS]
                    ),
                    value=S.request_kind,
                    on_change=S.choose_kind,
                ),
                field_error(S.request_errors.get("kind", "")),
                rx.callout(
                    rx.match(
                        S.request_kind,
                        *[(k, T(f"portal_privacy.hint.{k}")) for k in rights.KINDS],
                        T("portal_privacy.hint.correction"),
                    ),
                    icon="info",
                    size="1",
                    color_scheme="blue",
                    width="100%",
                    data_testid="request-hint",
                ),
                spacing="1",
                width="100%",
            ),
            rx.vstack(
                rx.text(T("portal_privacy.detail"), size="2", weight="medium"),
                rx.text_area(
                    name="detail",
                    id=DETAIL_INPUT,
                    max_length=rights.MAX_DETAIL,
                    rows="4",
                    placeholder=T("portal_privacy.detail_hint"),
                    aria_invalid=rx.cond(S.request_errors.get("detail", "") != "", "true", "false"),
                    width="100%",
                ),
                field_error(S.request_errors.get("detail", "")),
                spacing="1",
                width="100%",
                data_testid="field-detail",
            ),
            field_error(S.request_error),
            rx.flex(
                rx.text(S.due_hint, size="1", color_scheme="gray", flex="1", min_width="200px"),
                rx.button(
                    rx.icon("send", size=14),
                    T("portal_privacy.submit"),
                    type="submit",
                    data_testid="request-submit",
                ),
                align="center",
                gap="8px",
                wrap="wrap",
                width="100%",
            ),
            spacing="3",
            width="100%",
        ),
        on_submit=S.file_request,
        id=REQUEST_FORM,
        width="100%",
        padding="12px",
        border=f"1px solid {rx.color('gray', 6)}",
        border_radius="8px",
    )


def _requests() -> rx.Component:
    S = PortalPrivacyState
    return _section(
        "file-question",
        "portal_privacy.requests",
        rx.text(T("portal_privacy.requests_intro"), size="2", color_scheme="gray"),
        _request_form(),
        rx.cond(
            S.total == 0,
            rx.text(T("portal_privacy.no_requests"), size="2", color_scheme="gray"),
            rx.vstack(
                rx.vstack(rx.foreach(S.rows, _request_row), spacing="0", width="100%"),
                pager(S.page, S.pages, S.total, S.prev_page, S.next_page),
                spacing="2",
                width="100%",
            ),
        ),
    )


def _request_dialog() -> rx.Component:
    S = PortalPrivacyState
    d = S.d
    return rx.dialog.root(
        rx.dialog.content(
            rx.dialog.title(
                rx.hstack(
                    rx.text(d["kind"]),
                    _status_badge(d["status"], d["status_code"]),
                    align="center",
                    spacing="2",
                    wrap="wrap",
                )
            ),
            rx.vstack(
                rx.data_list.root(
                    _pair(T("rights.number"), rx.code(d["number"], variant="ghost")),
                    _pair(T("rights.received"), d["received"]),
                    _pair(T("rights.due_on"), d["due"]),
                    rx.cond(d["closed"] != "", _pair(T("rights.closed_at"), d["closed"])),
                    size="2",
                ),
                rx.text(T("portal_privacy.your_detail"), size="2", weight="medium"),
                rx.box(
                    rx.text(d["detail"], size="2", white_space="pre-wrap"),
                    padding="8px 12px",
                    border_radius="6px",
                    background=rx.color("gray", 3),
                    width="100%",
                ),
                rx.text(T("portal_privacy.outcome"), size="2", weight="medium"),
                rx.cond(
                    d["outcome"] != "",
                    rx.text(d["outcome"], size="2", white_space="pre-wrap"),
                    rx.text(T("portal_privacy.no_outcome"), size="2", color_scheme="gray"),
                ),
                rx.hstack(
                    rx.button(T("common.done"), variant="soft", on_click=S.close_request),
                    justify="end",
                    width="100%",
                ),
                spacing="2",
                margin_top="8px",
                width="100%",
            ),
            max_width="560px",
        ),
        open=S.detail_open,
        on_open_change=lambda _o: S.close_request(),
    )


def _withdraw_dialog() -> rx.Component:
    S = PortalPrivacyState
    return form_dialog(
        title=S.withdraw_title,
        description="portal_privacy.withdraw_notice",
        is_open=S.withdraw_open,
        on_close=S.close_withdraw,
        on_submit=S.withdraw,
        error=S.withdraw_error,
        submit_label="consent.tab.withdraw",
        submit_testid="consent-withdraw-confirm",
    )


def _pick(values: rx.Var, name: str) -> rx.Var:
    return rx.cond(SessionState.locale == "en", values[f"{name}_en"], values[f"{name}_zh"])


def _notice() -> rx.Component:
    n = PortalPrivacyState.notice
    return _section(
        "scroll-text",
        "consent.counter.notice_title",
        rx.cond(
            n["version"],
            rx.accordion.root(
                rx.accordion.item(
                    header=rx.hstack(
                        rx.text(T("portal_privacy.notice_read")),
                        rx.badge(_pick(n, "version"), variant="soft"),
                        align="center",
                        spacing="2",
                    ),
                    content=rx.vstack(
                        rx.text(T("consent.counter.handler"), "：", _pick(n, "handler"), size="2"),
                        rx.text(
                            _pick(n, "body"),
                            size="2",
                            white_space="pre-wrap",
                            data_testid="notice-body",
                        ),
                        spacing="2",
                        color=rx.color("gray", 12),
                        width="100%",
                    ),
                    value="notice",
                ),
                collapsible=True,
                type="single",
                variant="ghost",
                width="100%",
                data_testid="notice-accordion",
            ),
            rx.text(T("consent.error.no_notice"), size="2", color_scheme="gray"),
        ),
    )


def portal_privacy_page() -> rx.Component:
    S = PortalPrivacyState
    return page(
        "nav.portal_privacy",
        rx.vstack(
            rx.link(
                rx.hstack(rx.icon("arrow-left", size=14), T("portal_privacy.back"), align="center"),
                href="/portal",
                size="2",
                data_testid="privacy-back",
            ),
            rx.text(T("portal_privacy.intro"), size="2", color_scheme="gray"),
            rx.cond(
                S.loaded,
                rx.vstack(
                    _profile(),
                    _consents(),
                    _requests(),
                    _notice(),
                    spacing="4",
                    width="100%",
                ),
                rx.center(rx.spinner(size="3"), padding="40px", width="100%"),
            ),
            _request_dialog(),
            _withdraw_dialog(),
            spacing="4",
            width="100%",
            max_width="860px",
        ),
    )
