"""合规管理 for compliance: the overview (consents by purpose and state, re-confirm needed, rights
requests), the purposes with their lawful basis, and the versioned privacy notice (drafts,
publishing with a confirmation that says who must re-confirm, the change notices queued in the
background afterwards).

Every handler derives the user from the login; the services check `consent.manage`.
"""

from __future__ import annotations

import asyncio

import reflex as rx

from custapp import clock
from custapp.components.shell import (
    T,
    data_table,
    field_error,
    form_dialog,
    loading,
    page,
    paged_table,
    toolbar,
    two_line,
)
from custapp.db import session_scope
from custapp.i18n import t
from custapp.services import compliance
from custapp.services.errors import DomainError
from custapp.states.paging import PagedMixin
from custapp.states.session import SessionState

PERMISSION = "consent.manage"
TABS = ("overview", "purposes", "notices")
PAGE_SIZE = 10
NOTICE_FIELDS = ("handler_zh", "handler_en", "body_zh", "body_en")
MAX_TYPED = compliance.BODY_MAX + 100  # what a handler keeps of a typed value


class ComplianceState(PagedMixin, SessionState):
    tab: str = "overview"
    loaded: bool = False
    # 概览
    kpi: dict[str, str] = {}
    to_queue: int = 0
    overdue: int = 0
    matrix: list[dict[str, str]] = []
    sending: bool = False
    # 使用目的
    purpose_rows: list[dict[str, str]] = []
    purpose_open: bool = False
    purpose_edit: dict[str, str] = {}
    purpose_bases: list[list[str]] = []
    purpose_basis: str = ""
    purpose_enabled: bool = True
    purpose_errors: dict[str, str] = {}
    purpose_error: str = ""
    purpose_key: int = 0
    # 隐私告知: one page of versions (PagedMixin), the draft editor, a version's text
    notice_rows: list[dict[str, str]] = []
    draft_id: int = 0  # the open draft, 0: none
    draft_version: int = 0
    draft_label: str = ""
    current_version: int = 0
    editor_open: bool = False
    draft: dict[str, str] = {}
    draft_purposes: list[str] = []
    purpose_choices: list[dict[str, str]] = []
    draft_errors: dict[str, str] = {}
    draft_error: str = ""
    draft_key: int = 0
    view_open: bool = False
    view: dict[str, str] = {}
    confirm_open: bool = False
    confirm_title: str = ""
    confirm_lines: list[str] = []
    _typed: dict[str, str] = {}  # the editor's fields as last left (on blur), unsaved

    def _page_size(self) -> int:
        return PAGE_SIZE

    def _clear(self) -> None:
        self.loaded = self.sending = False
        self.kpi, self.matrix, self.purpose_rows, self.notice_rows = {}, [], [], []
        self.to_queue = self.overdue = self.total = 0
        self.page = 1
        self.purpose_open = self.editor_open = self.view_open = self.confirm_open = False
        self.draft, self.view, self._typed = {}, {}, {}

    def _en(self) -> bool:
        return self.locale.startswith("en")

    def _name(self, zh: str, en: str) -> str:
        return en if self._en() else zh

    @rx.event
    def load(self):
        _, redirect = self._enter(PERMISSION)
        if redirect:
            return redirect
        self._clear()
        self.tab = self.tab if self.tab in TABS else "overview"
        return ComplianceState.fetch_all

    @rx.event
    def fetch_all(self):
        """A second event after load, so the page shows its loading state first."""
        events = [self._fetch_overview(), self._fetch_purposes(), self._fetch()]
        self.loaded = True
        return [e for e in events if e is not None]

    @rx.event
    def set_tab(self, tab: str | list[str]):
        self.tab = tab if isinstance(tab, str) and tab in TABS else "overview"

    # --- 概览 ----------------------------------------------------------------------------------

    def _fetch_overview(self):
        result, error = self._call(compliance.overview)
        if error:
            self.kpi, self.matrix, self.to_queue, self.overdue = {}, [], 0, 0
            return rx.toast.error(error)
        self.to_queue, self.overdue = result.notices_to_queue, result.rights_overdue
        self.current_version = result.notice_version or 0
        self._set_draft(result.draft_id or 0, result.draft_version or 0)
        self.kpi = {
            "notice": self._t("compliance.version", version=result.notice_version)
            if result.notice_version
            else self._t("compliance.no_notice"),
            "published": self._t(
                "compliance.published_on",
                date=clock.format_local(result.notice_published_at, "%Y-%m-%d"),
            )
            if result.notice_published_at
            else "",
            "draft": self._t("compliance.draft_pending", version=result.draft_version)
            if result.draft_version
            else "",
            "reconfirm": str(result.reconfirm_customers),
            "to_queue": str(result.notices_to_queue),
            "rights_overdue": str(result.rights_overdue),
            "rights_open": self._t("compliance.kpi.rights_open", count=result.rights_open),
        }
        self.matrix = [
            {
                "code": p.code,
                "name": self._name(p.name_zh, p.name_en),
                "basis": self._t(f"compliance.basis.{p.lawful_basis}"),
                "consent": "1" if p.consent_based else "",
                "granted": str(p.granted),
                "refused": str(p.refused),
                "withdrawn": str(p.withdrawn),
                "reconfirm": str(p.reconfirm),
                "note": self._purpose_note(p.enabled, p.in_notice),
            }
            for p in result.purposes
        ]
        return None

    def _purpose_note(self, enabled: bool, in_notice: bool) -> str:
        if not enabled:
            return self._t("compliance.purpose.disabled")
        return "" if in_notice else self._t("compliance.purpose.not_in_notice")

    @rx.event(background=True)
    async def send_notices(self):
        """Queue the change notices to the customers flagged "re-confirm needed" (batches of
        their own transactions, off the event loop) and then show the figures."""
        async with self:
            if self.sending:
                return
            self.sending = True
            actor = self._actor()
            locale = self.locale
        try:
            result = await asyncio.to_thread(
                compliance.send_change_notices, session_scope, actor=actor
            )
            message = t("compliance.notices_queued", locale, queued=result["queued"])
            if result["no_phone"]:
                message += "；" + t("compliance.notices_no_phone", locale, **result)
            failed = ""
        except DomainError as exc:
            message, failed = "", t(exc.key, locale, **exc.params)
        async with self:
            self.sending = False
            if not failed:
                self._fetch_overview()
        yield rx.toast.error(failed) if failed else rx.toast.success(message)

    # --- 使用目的 ------------------------------------------------------------------------------

    def _fetch_purposes(self):
        rows, error = self._call(compliance.list_purposes)
        if error:
            self.purpose_rows = []
            return rx.toast.error(error)
        self.purpose_rows = [
            {
                "code": p.code,
                "name": self._name(p.name_zh, p.name_en),
                "description": self._name(p.description_zh, p.description_en),
                "name_zh": p.name_zh,
                "name_en": p.name_en,
                "description_zh": p.description_zh,
                "description_en": p.description_en,
                "basis_code": p.lawful_basis,
                "basis": self._t(f"compliance.basis.{p.lawful_basis}"),
                "consent": "1" if p.consent_based else "",
                "channel": self._t(f"compliance.channel.{p.channel}") if p.channel else "—",
                "enabled": "1" if p.enabled else "",
                "in_notice": "1" if p.in_notice else "",
                "updated": clock.format_local(p.updated_at, "%Y-%m-%d"),
            }
            for p in rows
        ]
        self.purpose_choices = [
            {
                "code": p.code,
                "label": self._name(p.name_zh, p.name_en),
                "basis": self._t(f"compliance.basis.{p.lawful_basis}"),
                "fixed": "" if p.consent_based else "1",
            }
            for p in rows
            if p.enabled
        ]
        return None

    @rx.event
    def open_purpose(self, code: str):
        row = next((r for r in self.purpose_rows if r["code"] == code), None)
        if row is None:
            return
        self.purpose_edit = dict(row)
        bases = compliance.allowed_bases(bool(row["consent"]))
        self.purpose_bases = [[b, self._t(f"compliance.basis.{b}")] for b in bases]
        self.purpose_basis = row["basis_code"]
        self.purpose_enabled = bool(row["enabled"])
        self.purpose_errors, self.purpose_error = {}, ""
        self.purpose_key += 1
        self.purpose_open = True

    @rx.event
    def close_purpose(self):
        self.purpose_open = False

    @rx.event
    def set_purpose_basis(self, value: str):
        self.purpose_basis = str(value)[:30]

    @rx.event
    def set_purpose_enabled(self, value: bool):
        self.purpose_enabled = bool(value)

    @rx.event
    def save_purpose(self, form: dict):
        code = self.purpose_edit.get("code", "")
        result, error = self._call(
            compliance.update_purpose,
            code=code,
            name_zh=str(form.get("name_zh", ""))[:MAX_TYPED],
            name_en=str(form.get("name_en", ""))[:MAX_TYPED],
            description_zh=str(form.get("description_zh", ""))[:MAX_TYPED],
            description_en=str(form.get("description_en", ""))[:MAX_TYPED],
            lawful_basis=self.purpose_basis,
            enabled=self.purpose_enabled,
        )
        self.purpose_errors = dict(self._field_errors)
        if error:
            self.purpose_error = error
            return None
        self.purpose_open = False
        events = [self._fetch_purposes(), self._fetch_overview()]
        name = self._name(result.name_zh, result.name_en)
        return [
            *[e for e in events if e is not None],
            rx.toast.success(self._t("compliance.purpose.saved", name=name)),
        ]

    # --- 隐私告知 ------------------------------------------------------------------------------

    def _purpose_names(self, codes: list[str]) -> str:
        names = {r["code"]: r["name"] for r in self.purpose_rows}
        return "、".join(names.get(c, c) for c in codes)

    def _fetch(self):
        result, error = self._call(compliance.list_notices, page=self.page, page_size=PAGE_SIZE)
        if error:
            self.notice_rows, self.total = [], 0
            return rx.toast.error(error)
        rows, self.total = result
        self.notice_rows = [
            {
                "id": str(n.id),
                "version": self._t("compliance.version", version=n.version),
                "status": "current" if n.current else n.status,
                "status_label": self._t(
                    "compliance.notice.current" if n.current else f"compliance.notice.{n.status}"
                ),
                "purposes": self._purpose_names(n.purposes),
                "published": clock.format_local(n.published_at) or "—",
                "who": (n.published_by if n.status == "published" else n.created_by) or "—",
            }
            for n in rows
        ]
        return None

    def _set_draft(self, draft_id: int, version: int) -> None:
        self.draft_id, self.draft_version = draft_id, version
        self.draft_label = self._t("compliance.version", version=version) if version else ""
        if not draft_id:
            self.editor_open = False

    def _show_draft(self, detail) -> None:  # noqa: ANN001 (compliance.NoticeDetail)
        self._set_draft(detail.id, detail.version)
        self.draft = {f: getattr(detail, f) for f in NOTICE_FIELDS}
        usable = {c["code"] for c in self.purpose_choices}
        self.draft_purposes = [c for c in detail.purposes if c in usable]
        self.draft_errors, self.draft_error, self._typed = {}, "", {}
        self.draft_key += 1
        self.editor_open = True

    @rx.event
    def new_draft(self):
        detail, error = self._call(compliance.create_draft)
        if error:
            return rx.toast.error(error)
        self.page = 1
        self._show_draft(detail)
        return [e for e in (self._fetch(), self._fetch_overview()) if e is not None]

    @rx.event
    def edit_draft(self):
        detail, error = self._call(compliance.get_notice, notice_id=self.draft_id)
        if error:
            return rx.toast.error(error)
        if detail.status != "draft":
            return rx.toast.error(self._t("compliance.error.published_read_only"))
        self._show_draft(detail)
        return None

    @rx.event
    def close_editor(self):
        self.editor_open, self._typed = False, {}

    @rx.event
    def keep(self, field: str, value: str):
        """An editor field as the user left it: publishing saves what is on the screen."""
        if field in NOTICE_FIELDS:
            self._typed[field] = str(value)[:MAX_TYPED]

    @rx.event
    def toggle_purpose(self, code: str):
        if any(c["code"] == code and c["fixed"] for c in self.purpose_choices):
            return  # service is always in the notice
        self.draft_purposes = (
            [c for c in self.draft_purposes if c != code]
            if code in self.draft_purposes
            else [*self.draft_purposes, code]
        )

    def _save(self, values: dict[str, str]):
        """Save the draft; None when it failed (the errors are next to the fields)."""
        detail, error = self._call(
            compliance.update_draft,
            notice_id=self.draft_id,
            **{f: str(values.get(f, ""))[:MAX_TYPED] for f in NOTICE_FIELDS},
            purposes=list(self.draft_purposes),
        )
        self.draft_errors = dict(self._field_errors)
        self.draft_error = error or ""
        if error:
            return None
        self.draft = {f: getattr(detail, f) for f in NOTICE_FIELDS}
        self._typed = {}
        return detail

    @rx.event
    def save_draft(self, form: dict):
        if self._save(form) is None:
            return None
        return [
            *[e for e in (self._fetch(),) if e is not None],
            rx.toast.success(self._t("compliance.draft_saved", version=self.draft_version)),
        ]

    @rx.event
    def discard_draft(self):
        version, error = self._call(compliance.discard_draft, notice_id=self.draft_id)
        if error:
            return rx.toast.error(error)
        self._set_draft(0, 0)
        events = [self._fetch(), self._fetch_overview()]
        return [
            *[e for e in events if e is not None],
            rx.toast.success(self._t("compliance.draft_discarded", version=version)),
        ]

    @rx.event
    def ask_publish(self):
        """Save what is on the screen, then say what publishing would do before doing it."""
        if self._save({**self.draft, **self._typed}) is None:
            return None
        preview, error = self._call(compliance.publish_preview, notice_id=self.draft_id)
        if error:
            self.draft_errors = dict(self._field_errors)
            self.draft_error = error
            return None
        lines = []
        if preview.added:
            lines.append(
                self._t("compliance.publish.added", names=self._purpose_names(preview.added))
            )
        if preview.removed:
            lines.append(
                self._t("compliance.publish.removed", names=self._purpose_names(preview.removed))
            )
        if preview.changed and self.current_version:
            lines.append(self._t("compliance.publish.reconfirm", count=preview.customers))
        else:
            lines.append(self._t("compliance.publish.unchanged"))
        lines.append(self._t("compliance.publish.final"))
        self.confirm_title = self._t("compliance.publish.title", version=preview.version)
        self.confirm_lines = lines
        self.confirm_open = True
        return None

    @rx.event
    def close_confirm(self):
        self.confirm_open = False

    @rx.event
    def publish(self):
        result, error = self._call(compliance.publish_draft, notice_id=self.draft_id)
        self.confirm_open = False
        if error:
            self.draft_errors = dict(self._field_errors)
            self.draft_error = error
            return rx.toast.error(error)
        self._set_draft(0, 0)
        self.page = 1
        events = [self._fetch(), self._fetch_overview(), self._fetch_purposes()]
        message = (
            self._t("compliance.published_flagged", version=result.version, count=result.flagged)
            if result.flagged
            else self._t("compliance.published", version=result.version)
        )
        return [
            *[e for e in events if e is not None],
            rx.toast.success(message),
            *([ComplianceState.send_notices] if result.flagged else []),
        ]

    @rx.event
    def open_view(self, notice_id: str):
        detail, error = self._call(
            compliance.get_notice, notice_id=int(notice_id) if str(notice_id).isdecimal() else 0
        )
        if error:
            return rx.toast.error(error)
        self.view = {
            "title": self._t("compliance.version", version=detail.version),
            "status": self._t(
                "compliance.notice.current"
                if detail.current
                else f"compliance.notice.{detail.status}"
            ),
            "published": clock.format_local(detail.published_at) or "—",
            "purposes": self._purpose_names(detail.purposes),
            **{f: getattr(detail, f) for f in NOTICE_FIELDS},
        }
        self.view_open = True
        return None

    @rx.event
    def close_view(self):
        self.view_open = False


# --- the page: 概览 ------------------------------------------------------------------------------

S = ComplianceState


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
            S.kpi["notice"],
            rx.vstack(
                _note(S.kpi["published"]),
                rx.cond(
                    S.kpi["draft"] != "",
                    rx.badge(S.kpi["draft"], color_scheme="amber", variant="soft"),
                ),
                spacing="0",
            ),
            "kpi-notice",
            "gray",
        ),
        _kpi(
            "refresh-cw",
            "compliance.kpi.reconfirm",
            S.kpi["reconfirm"],
            _note(T("compliance.kpi.reconfirm_hint")),
            "kpi-reconfirm",
            rx.cond(S.kpi["reconfirm"] != "0", "amber", "gray"),
        ),
        _kpi(
            "send",
            "compliance.kpi.to_queue",
            S.kpi["to_queue"],
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
            S.kpi["rights_overdue"],
            rx.hstack(
                _note(S.kpi["rights_open"]),
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
            consent != "",
            rx.text(
                value,
                color=rx.cond(value != "0", shade, rx.color("gray", 9)),
                weight=rx.cond(value != "0", "medium", "regular"),
            ),
            rx.text("—", color=rx.color("gray", 9)),
        ),
        text_align="right",
    )


def _matrix_row(row: rx.Var) -> rx.Component:
    return rx.table.row(
        rx.table.cell(
            rx.hstack(
                rx.text(row["name"], weight="medium"),
                rx.cond(
                    row["note"] != "", rx.badge(row["note"], color_scheme="gray", variant="soft")
                ),
                spacing="2",
                align="center",
            )
        ),
        rx.table.cell(rx.text(row["basis"], size="2", color_scheme="gray")),
        _count(row["granted"], row["consent"], "green"),
        _count(row["refused"], row["consent"]),
        _count(row["withdrawn"], row["consent"]),
        _count(row["reconfirm"], row["consent"], "amber"),
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
        rx.table.cell(
            two_line(row["name"], row["description"], weight="medium"), max_width="360px"
        ),
        rx.table.cell(
            rx.badge(
                row["basis"],
                color_scheme=rx.cond(row["consent"] != "", "teal", "blue"),
                variant="soft",
            ),
            white_space="nowrap",
        ),
        rx.table.cell(row["channel"], white_space="nowrap"),
        rx.table.cell(
            rx.cond(
                row["in_notice"] != "",
                rx.icon("check", size=16, color=rx.color("green", 10)),
                rx.text("—", color_scheme="gray"),
            )
        ),
        rx.table.cell(
            rx.cond(
                row["enabled"] != "",
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
                on_click=S.open_purpose(row["code"]),
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


def _labelled(label: str, control: rx.Component, error: rx.Var) -> rx.Component:
    return rx.vstack(
        rx.text(T(label), size="2", weight="medium"),
        control,
        field_error(error),
        spacing="1",
        width="100%",
    )


def _purpose_text(field: str, control, **props: object) -> rx.Component:  # noqa: ANN001
    """One of the purpose's names or descriptions: `control` (input or text area) labelled."""
    return _labelled(
        f"compliance.{field}",
        control(name=field, default_value=S.purpose_edit[field], width="100%", **props),
        S.purpose_errors.get(field, ""),
    )


def _purpose_dialog() -> rx.Component:
    E, errors = S.purpose_edit, S.purpose_errors
    return form_dialog(
        rx.grid(
            _purpose_text("name_zh", rx.input, id="p-name-zh"),
            _purpose_text("name_en", rx.input, id="p-name-en"),
            _purpose_text("description_zh", rx.text_area, rows="3"),
            _purpose_text("description_en", rx.text_area, rows="3"),
            columns="2",
            spacing="3",
            width="100%",
        ),
        _labelled(
            "compliance.lawful_basis",
            rx.select.root(
                rx.select.trigger(width="100%", data_testid="p-basis"),
                rx.select.content(
                    rx.foreach(S.purpose_bases, lambda b: rx.select.item(b[1], value=b[0]))
                ),
                value=S.purpose_basis,
                on_change=S.set_purpose_basis,
            ),
            errors.get("lawful_basis", ""),
        ),
        rx.text(
            rx.cond(
                E["consent"] != "",
                T("compliance.purpose.consent_fixed"),
                T("compliance.purpose.not_consent_fixed"),
            ),
            size="1",
            color_scheme="gray",
        ),
        rx.hstack(
            rx.switch(
                checked=S.purpose_enabled,
                on_change=S.set_purpose_enabled,
                disabled=E["consent"] == "",
                data_testid="p-enabled",
            ),
            rx.text(T("compliance.purpose.enabled_label"), size="2"),
            align="center",
            spacing="2",
        ),
        rx.text(
            rx.cond(
                E["consent"] != "",
                T("compliance.purpose.disable_hint"),
                T("compliance.purpose.keep_enabled_hint"),
            ),
            size="1",
            color_scheme="gray",
        ),
        field_error(errors.get("enabled", "")),
        title=rx.fragment(T("compliance.purpose.edit_title"), " · ", E["name"]),
        is_open=S.purpose_open,
        on_close=S.close_purpose,
        on_submit=S.save_purpose,
        error=rx.cond(errors.length() > 0, "", S.purpose_error),
        submit_testid="purpose-save",
        max_width="640px",
        form_props={"key": S.purpose_key},
        stack_props={"width": "100%"},
    )


# --- 隐私告知 ------------------------------------------------------------------------------------


def _notice_row(row: rx.Var) -> rx.Component:
    return rx.table.row(
        rx.table.cell(rx.text(row["version"], weight="medium"), white_space="nowrap"),
        rx.table.cell(
            rx.badge(
                row["status_label"],
                color_scheme=rx.match(
                    row["status"], ("current", "green"), ("draft", "amber"), "gray"
                ),
                variant="soft",
            ),
            white_space="nowrap",
        ),
        rx.table.cell(rx.text(row["purposes"], size="2"), max_width="420px"),
        rx.table.cell(row["published"], white_space="nowrap"),
        rx.table.cell(row["who"], white_space="nowrap"),
        rx.table.cell(
            rx.cond(
                row["status"] == "draft",
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
                    on_click=S.open_view(row["id"]),
                    data_testid="notice-view",
                ),
            )
        ),
        data_testid="notice-row",
    )


def _purpose_choice(choice: rx.Var) -> rx.Component:
    fixed = choice["fixed"] != ""
    return rx.checkbox(
        rx.text(
            choice["label"],
            rx.text.span(" · ", choice["basis"], color_scheme="gray", size="1"),
            size="2",
        ),
        checked=fixed | S.draft_purposes.contains(choice["code"]),
        disabled=fixed,
        on_change=lambda _v: S.toggle_purpose(choice["code"]),
        data_testid="draft-purpose",
    )


def _text_field(field: str, area: bool) -> rx.Component:
    common = {
        "name": field,
        "id": f"draft-{field.replace('_', '-')}",
        "default_value": S.draft[field],
        "on_blur": lambda v: S.keep(field, v),
        "width": "100%",
    }
    control = rx.text_area(rows="12", **common) if area else rx.input(**common)
    return _labelled(f"compliance.field.{field}", control, S.draft_errors.get(field, ""))


def _editor() -> rx.Component:
    return rx.card(
        rx.form(
            rx.vstack(
                rx.hstack(
                    rx.heading(T("compliance.editor.title"), " · ", S.draft_label, size="4"),
                    rx.badge(T("compliance.notice.draft"), color_scheme="amber", variant="soft"),
                    align="center",
                    spacing="2",
                ),
                rx.callout(T("compliance.editor.checklist"), icon="list-checks", width="100%"),
                rx.grid(
                    _text_field("handler_zh", False),
                    _text_field("handler_en", False),
                    _text_field("body_zh", True),
                    _text_field("body_en", True),
                    columns=rx.breakpoints(initial="1", md="2"),
                    spacing="3",
                    width="100%",
                ),
                rx.vstack(
                    rx.text(T("compliance.editor.purposes"), size="2", weight="medium"),
                    rx.text(T("compliance.editor.purposes_hint"), size="1", color_scheme="gray"),
                    rx.flex(
                        rx.foreach(S.purpose_choices, _purpose_choice),
                        wrap="wrap",
                        spacing="4",
                    ),
                    field_error(S.draft_errors.get("purposes", "")),
                    spacing="2",
                    width="100%",
                ),
                field_error(rx.cond(S.draft_errors.length() > 0, "", S.draft_error)),
                rx.hstack(
                    rx.button(
                        rx.icon("trash-2", size=14),
                        T("compliance.draft.discard"),
                        type="button",
                        variant="soft",
                        color_scheme="red",
                        on_click=S.discard_draft,
                        data_testid="draft-discard",
                    ),
                    rx.spacer(),
                    rx.button(
                        T("compliance.close"),
                        type="button",
                        variant="soft",
                        color_scheme="gray",
                        on_click=S.close_editor,
                    ),
                    rx.button(
                        rx.icon("save", size=14),
                        T("compliance.draft.save"),
                        type="submit",
                        variant="soft",
                        data_testid="draft-save",
                    ),
                    rx.button(
                        rx.icon("send", size=14),
                        T("compliance.draft.publish"),
                        type="button",
                        on_click=S.ask_publish,
                        data_testid="draft-publish",
                    ),
                    width="100%",
                    align="center",
                ),
                spacing="3",
                width="100%",
            ),
            on_submit=S.save_draft,
            reset_on_submit=False,
            key=S.draft_key,
        ),
        width="100%",
        data_testid="draft-editor",
    )


def _notices() -> rx.Component:
    return rx.vstack(
        rx.cond(
            S.editor_open,
            _editor(),
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


def _text_box(label: str, text: rx.Var) -> rx.Component:
    return rx.vstack(
        rx.text(T(label), size="2", weight="medium"),
        rx.scroll_area(
            rx.text(text, size="2", white_space="pre-wrap"),
            type="auto",
            scrollbars="vertical",
            max_height="300px",
            padding_right="12px",
        ),
        spacing="1",
        padding="12px",
        border=f"1px solid {rx.color('gray', 6)}",
        border_radius="8px",
        background=rx.color("gray", 2),
        width="100%",
    )


def _view_dialog() -> rx.Component:
    V = S.view
    return rx.dialog.root(
        rx.dialog.content(
            rx.dialog.title(T("compliance.view_title"), " · ", V["title"]),
            rx.vstack(
                rx.hstack(
                    rx.badge(V["status"], variant="soft"),
                    rx.text(T("compliance.published_at"), "：", V["published"], size="2"),
                    align="center",
                    spacing="3",
                ),
                rx.text(T("compliance.purposes"), "：", V["purposes"], size="2"),
                rx.grid(
                    _text_box("compliance.field.handler_zh", V["handler_zh"]),
                    _text_box("compliance.field.handler_en", V["handler_en"]),
                    _text_box("compliance.field.body_zh", V["body_zh"]),
                    _text_box("compliance.field.body_en", V["body_en"]),
                    columns="2",
                    spacing="3",
                    width="100%",
                ),
                rx.text(T("compliance.view.read_only"), size="1", color_scheme="gray"),
                rx.hstack(
                    rx.button(T("compliance.close"), variant="soft", on_click=S.close_view),
                    justify="end",
                    width="100%",
                ),
                spacing="3",
                width="100%",
                data_testid="notice-view-dialog",
            ),
            max_width="900px",
        ),
        open=S.view_open,
        on_open_change=lambda _o: S.close_view(),
    )


def _confirm_dialog() -> rx.Component:
    return rx.alert_dialog.root(
        rx.alert_dialog.content(
            rx.alert_dialog.title(S.confirm_title),
            rx.vstack(
                rx.foreach(
                    S.confirm_lines,
                    lambda line: rx.text(line, size="2", data_testid="confirm-line"),
                ),
                spacing="2",
                padding_y="8px",
            ),
            rx.hstack(
                rx.alert_dialog.cancel(
                    rx.button(
                        T("common.cancel"),
                        variant="soft",
                        color_scheme="gray",
                        on_click=S.close_confirm,
                    )
                ),
                rx.alert_dialog.action(
                    rx.button(
                        rx.icon("send", size=14),
                        T("compliance.publish.confirm"),
                        on_click=S.publish,
                        data_testid="publish-confirm",
                    )
                ),
                justify="end",
                spacing="2",
                width="100%",
            ),
            max_width="520px",
        ),
        open=S.confirm_open,
        on_open_change=lambda _o: S.close_confirm(),
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
        _purpose_dialog(),
        _view_dialog(),
        _confirm_dialog(),
    )
