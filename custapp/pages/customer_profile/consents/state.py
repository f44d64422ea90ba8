"""The state of the profile's 授权同意 tab.

The tab shows the customer's current state per purpose (the replay of the consent events) and the
events themselves, one page at a time; a user with consent.record may withdraw a granted purpose
and record the customer's answers to the current notice (paper form number or an uploaded scan of
the signed form as the written evidence). The notice and the choices are one component, used here
and on the create form: each purpose its own choice, nothing preselected (000 CN-06).
"""

from __future__ import annotations

import reflex as rx

from custapp import clock
from custapp.components.consent import (
    ConsentChoice,
    NoticeView,
    answer_errors,
    notice_rows,
    read_answers,
)
from custapp.pages.customer_profile.base import profile_cid
from custapp.pages.customer_profile.consents.rows import (
    ConsentEventRow,
    ConsentStateRow,
    ScanOption,
)
from custapp.services import attachments, consent
from custapp.services.errors import ValidationFailed
from custapp.states.off_loop import run_off_loop
from custapp.states.paging import PagedMixin
from custapp.states.session import SessionState

PAGE_SIZE = 20
WITHDRAW_CHANNELS = ("counter", "phone")


class ConsentTabState(PagedMixin, SessionState):
    loaded: bool = False
    can_record: bool = False
    states: list[ConsentStateRow] = []
    rows: list[ConsentEventRow] = []
    # 记录告知同意
    record_open: bool = False
    notice: NoticeView = NoticeView()
    choices: list[ConsentChoice] = []
    scans: list[ScanOption] = []  # the customer's consent forms
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
        shows the survivor, so the profile's resolved id, held on the server, is used). The
        database work runs off the event loop."""
        return await run_off_loop(self._load, await profile_cid(self))

    def _load(self, cid: int):
        self._clear()
        actor = self._actor()
        if actor is None or not cid:
            return None
        self._cid, self.can_record = cid, actor.can("consent.record")
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
            ConsentStateRow(
                purpose=s.purpose,
                name=s.purpose_name,
                state=s.state,
                label=self._t(f"consent.state.{s.state or 'none'}"),
                version=self._version(s.notice_version),
                time=clock.format_local(s.updated_at) or "—",
                reconfirm=bool(s.reconfirm_needed),
            )
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
            ConsentEventRow(
                time=clock.format_local(e.created_at, "%Y-%m-%d %H:%M:%S"),
                purpose=e.purpose_name,
                state=consent.STATES[e.action],
                action_label=self._t(f"consent.action.{e.action}"),
                version=self._version(e.notice_version),
                channel=self._t(f"consent.channel.{e.channel}"),
                evidence=" · ".join(
                    part
                    for part in (
                        e.evidence_ref,
                        self._t("consent.tab.scan") if e.has_attachment else "",
                        e.note,
                    )
                    if part
                )
                or "—",
                operator=e.operator_name or "—",
            )
            for e in rows
        ]
        return None

    # --- 记录告知同意 -----------------------------------------------------------------------------

    @rx.event
    def open_record(self):
        text, error = self._call(lambda session, actor: consent.notice_text(session))
        if error:
            return rx.toast.error(error)
        self.notice, self.choices = notice_rows(text)
        self._notice_version = text.version if text else 0
        found, error = self._call(
            attachments.list_attachments,
            customer_id=self._cid,
            page=1,
            page_size=attachments.MAX_PAGE_SIZE,
        )
        self.scans = [
            ScanOption(
                str(a.id), f"{a.archive_number} · {clock.format_local(a.created_at, '%Y-%m-%d')}"
            )
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
