"""合规管理 for compliance: the overview (consents by purpose and state, re-confirm needed, rights
requests), the purposes with their lawful basis, and the versioned privacy notice (drafts,
publishing with a confirmation that says who must re-confirm, the change notices queued in the
background afterwards).

Every handler derives the user from the login; the services check `consent.manage`. The dialogs,
with their own vars, are substates (dialogs.py).
"""

from __future__ import annotations

import asyncio
import dataclasses

import reflex as rx

from custapp import clock
from custapp.db import session_scope
from custapp.i18n import t
from custapp.pages.compliance.rows import (
    NOTICE_FIELDS,
    Kpis,
    MatrixRow,
    NoticeRow,
    NoticeText,
    PurposeChoice,
    PurposeRow,
)
from custapp.services import compliance
from custapp.services.errors import DomainError
from custapp.states.off_loop import run_off_loop
from custapp.states.paging import PagedMixin
from custapp.states.session import SessionState
from custapp.vocab import NoticeStatus

PERMISSION = "consent.manage"
TABS = ("overview", "purposes", "notices")
PAGE_SIZE = 10
MAX_TYPED = compliance.BODY_MAX + 100  # what a handler keeps of a typed value


def notice_text(detail: compliance.NoticeDetail) -> NoticeText:
    return NoticeText(**{f: getattr(detail, f) for f in NOTICE_FIELDS})


class ComplianceState(PagedMixin, SessionState):
    tab: str = "overview"
    loaded: bool = False
    # 概览
    kpi: Kpis = Kpis()
    to_queue: int = 0
    overdue: int = 0
    matrix: list[MatrixRow] = []
    sending: bool = False
    # 使用目的
    purpose_rows: list[PurposeRow] = []
    # 隐私告知: one page of versions (PagedMixin), the draft editor
    notice_rows: list[NoticeRow] = []
    draft_id: int = 0  # the open draft, 0: none
    draft_version: int = 0
    draft_label: str = ""
    current_version: int = 0
    editor_open: bool = False
    draft: NoticeText = NoticeText()  # as saved
    draft_purposes: list[str] = []
    purpose_choices: list[PurposeChoice] = []
    draft_errors: dict[str, str] = {}
    draft_error: str = ""
    draft_key: int = 0
    _typed: NoticeText = NoticeText()  # the editor's fields as last left (on blur), unsaved

    def _page_size(self) -> int:
        return PAGE_SIZE

    def _clear(self) -> None:
        self.loaded = self.sending = False
        self.kpi, self.matrix, self.purpose_rows, self.notice_rows = Kpis(), [], [], []
        self.to_queue = self.overdue = self.total = 0
        self.page = 1
        self.editor_open = False
        self.draft = self._typed = NoticeText()
        for dialog in self.substates.values():  # loaded with this state, also with Redis
            dialog._clear()

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
            self.kpi, self.matrix, self.to_queue, self.overdue = Kpis(), [], 0, 0
            return rx.toast.error(error)
        self.to_queue, self.overdue = result.notices_to_queue, result.rights_overdue
        self.current_version = result.notice_version or 0
        self._set_draft(result.draft_id or 0, result.draft_version or 0)
        self.kpi = Kpis(
            notice=self._t("compliance.version", version=result.notice_version)
            if result.notice_version
            else self._t("compliance.no_notice"),
            published=self._t(
                "compliance.published_on",
                date=clock.format_local(result.notice_published_at, "%Y-%m-%d"),
            )
            if result.notice_published_at
            else "",
            draft=self._t("compliance.draft_pending", version=result.draft_version)
            if result.draft_version
            else "",
            reconfirm=result.reconfirm_customers,
            to_queue=result.notices_to_queue,
            rights_overdue=result.rights_overdue,
            rights_open=self._t("compliance.kpi.rights_open", count=result.rights_open),
        )
        self.matrix = [
            MatrixRow(
                code=p.code,
                name=self._name(p.name_zh, p.name_en),
                basis=self._t(f"compliance.basis.{p.lawful_basis}"),
                consent=p.consent_based,
                granted=p.granted,
                refused=p.refused,
                withdrawn=p.withdrawn,
                reconfirm=p.reconfirm,
                note=self._purpose_note(p.enabled, p.in_notice),
            )
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
            actor = await run_off_loop(self._actor)
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
                await run_off_loop(self._fetch_overview)
        yield rx.toast.error(failed) if failed else rx.toast.success(message)

    # --- 使用目的 ------------------------------------------------------------------------------

    def _fetch_purposes(self):
        rows, error = self._call(compliance.list_purposes)
        if error:
            self.purpose_rows = []
            return rx.toast.error(error)
        self.purpose_rows = [
            PurposeRow(
                code=p.code,
                name=self._name(p.name_zh, p.name_en),
                description=self._name(p.description_zh, p.description_en),
                name_zh=p.name_zh,
                name_en=p.name_en,
                description_zh=p.description_zh,
                description_en=p.description_en,
                basis_code=p.lawful_basis,
                basis=self._t(f"compliance.basis.{p.lawful_basis}"),
                consent=p.consent_based,
                channel=self._t(f"compliance.channel.{p.channel}") if p.channel else "—",
                enabled=p.enabled,
                in_notice=p.in_notice,
                updated=clock.format_local(p.updated_at, "%Y-%m-%d"),
            )
            for p in rows
        ]
        self.purpose_choices = [
            PurposeChoice(
                code=p.code,
                label=self._name(p.name_zh, p.name_en),
                basis=self._t(f"compliance.basis.{p.lawful_basis}"),
                fixed=not p.consent_based,
            )
            for p in rows
            if p.enabled
        ]
        return None

    # --- 隐私告知 ------------------------------------------------------------------------------

    def _purpose_names(self, codes: list[str]) -> str:
        names = {r.code: r.name for r in self.purpose_rows}
        return "、".join(names.get(c, c) for c in codes)

    def _fetch(self):
        result, error = self._call(compliance.list_notices, page=self.page, page_size=PAGE_SIZE)
        if error:
            self.notice_rows, self.total = [], 0
            return rx.toast.error(error)
        rows, self.total = result
        self.notice_rows = [
            NoticeRow(
                id=n.id,
                version=self._t("compliance.version", version=n.version),
                status="current" if n.current else n.status,
                status_label=self._t(
                    "compliance.notice.current" if n.current else f"compliance.notice.{n.status}"
                ),
                purposes=self._purpose_names(n.purposes),
                published=clock.format_local(n.published_at) or "—",
                who=(n.published_by if n.status == NoticeStatus.PUBLISHED else n.created_by) or "—",
            )
            for n in rows
        ]
        return None

    def _set_draft(self, draft_id: int, version: int) -> None:
        self.draft_id, self.draft_version = draft_id, version
        self.draft_label = self._t("compliance.version", version=version) if version else ""
        if not draft_id:
            self.editor_open = False

    def _show_draft(self, detail: compliance.NoticeDetail) -> None:
        self._set_draft(detail.id, detail.version)
        self.draft = self._typed = notice_text(detail)
        usable = {c.code for c in self.purpose_choices}
        self.draft_purposes = [c for c in detail.purposes if c in usable]
        self.draft_errors, self.draft_error = {}, ""
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
        if detail.status != NoticeStatus.DRAFT:
            return rx.toast.error(self._t("compliance.error.published_read_only"))
        self._show_draft(detail)
        return None

    @rx.event
    def close_editor(self):
        self.editor_open, self._typed = False, self.draft

    @rx.event
    def keep(self, field: str, value: str):
        """An editor field as the user left it: publishing saves what is on the screen."""
        if field in NOTICE_FIELDS:
            self._typed = dataclasses.replace(self._typed, **{field: str(value)[:MAX_TYPED]})

    @rx.event
    def toggle_purpose(self, code: str):
        if any(c.code == code and c.fixed for c in self.purpose_choices):
            return  # service is always in the notice
        self.draft_purposes = (
            [c for c in self.draft_purposes if c != code]
            if code in self.draft_purposes
            else [*self.draft_purposes, code]
        )

    def _save(self, values: dict):
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
        self.draft = self._typed = notice_text(detail)
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
