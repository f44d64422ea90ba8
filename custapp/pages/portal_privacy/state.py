"""The state of 我的信息与授权: the member's own profile (masked), their consents with the form to
answer the current notice, and their rights requests a page at a time. The dialogs, with their
own vars, are substates (dialogs.py).

The customer always comes from the login on the server: no handler takes one."""

from __future__ import annotations

import dataclasses

import reflex as rx

from custapp import clock
from custapp.components.consent import notice_vars, read_answers
from custapp.pages.portal_privacy.rows import (
    ConsentRow,
    ContactRow,
    Fact,
    MaskedFact,
    Notice,
    NoticeChoice,
    Profile,
    RequestRow,
)
from custapp.services import consent, customer_profile, rights
from custapp.services.errors import ValidationFailed
from custapp.settings import get_settings
from custapp.states.paging import PagedMixin
from custapp.states.session import SessionState
from custapp.vocab import RightsKind

PAGE_SIZE = 10
CHOICE_FIELDS = {"gender", "nature", "source_channel", "id_type"}
REQUEST_FORM = "privacy-request"
DETAIL_INPUT = "privacy-detail"


class PortalPrivacyState(PagedMixin, SessionState):
    loaded: bool = False
    # 我的个人信息 (masked)
    profile: Profile = Profile()
    general: list[Fact] = []
    sensitive: list[MaskedFact] = []
    contacts: list[ContactRow] = []
    # 我的授权同意
    consents: list[ConsentRow] = []
    reconfirm: bool = False  # the notice changed since a purpose was granted
    unanswered: bool = False  # a purpose of the notice was never answered
    answer_open: bool = False
    notice: Notice = Notice()
    choices: list[NoticeChoice] = []
    answer_errors: dict[str, str] = {}
    answer_error: str = ""
    _notice_version: int = 0
    # 我的权利请求 (one page, PagedMixin)
    rows: list[RequestRow] = []
    request_kind: str = RightsKind.CORRECTION
    request_errors: dict[str, str] = {}
    request_error: str = ""
    due_hint: str = ""

    def _page_size(self) -> int:
        return PAGE_SIZE

    def _clear(self) -> None:
        self.loaded = self.answer_open = False
        self.profile, self.general, self.sensitive, self.contacts = Profile(), [], [], []
        self.consents, self.notice, self.choices, self.rows = [], Notice(), [], []
        self.reconfirm = self.unanswered = False
        self.answer_errors, self.request_errors = {}, {}
        self.answer_error = self.request_error = ""
        self._notice_version = 0
        self.page, self.total, self.request_kind = 1, 0, RightsKind.CORRECTION
        for dialog in self.substates.values():  # loaded with this state, also with Redis
            dialog._clear()

    @rx.event
    def load(self):
        _, redirect = self._enter("member.self")
        if redirect:
            return redirect
        self._clear()
        self.due_hint = self._t("portal_privacy.due_hint", days=get_settings().rights_due_days)
        errors = [
            self._fetch_profile(),
            self._fetch_consents(),
            self._fetch_rows(),
            *self._parts_loaded(),
        ]
        self.loaded = True
        shown = list(dict.fromkeys(e for e in errors if e))
        return [rx.toast.error(e) for e in shown] or None

    def _part_loaded(self) -> str | None:
        """A substate's own reading when the page loads or a request is filed (the 删除我的信息
        card, erasure.py); the dialogs have none. -> an error message or None."""
        return None

    def _parts_loaded(self) -> list[str | None]:
        return [part._part_loaded() for part in self.substates.values()]

    # --- the profile -----------------------------------------------------------------------------

    def _fetch_profile(self) -> str | None:
        p, error = self._call(customer_profile.member_profile)
        if error:
            return error
        self.profile = Profile(
            number=p.number,
            name=p.name,
            kind=self._t(f"customer.kind.{p.kind}"),
            verify=self._t(f"customer.verify.{p.verify_status}"),
            updated=clock.format_local(p.updated_at, "%Y-%m-%d"),
        )
        self.general = [
            Fact(
                self._t(f"customer.field.{k}"),
                self._t(f"customer.{k}.{v}") if k in CHOICE_FIELDS else v,
            )
            for k, v in p.general.items()
            if k != "name" and v
        ]
        self.sensitive = [
            MaskedFact(self._t(f"customer.field.{s.field}"), s.masked, s.field)
            for s in p.sensitive
            if s.present
        ]
        self.contacts = [ContactRow(c.name, c.title, c.phone_masked) for c in p.contacts]
        return None

    # --- consents ----------------------------------------------------------------------------------

    def _fetch_consents(self) -> str | None:
        text, error = self._call(lambda session, actor: consent.notice_text(session))
        if error:
            return error
        notice, choices = notice_vars(text)
        self.notice = Notice(**notice) if notice else Notice()
        self.choices = [NoticeChoice(**c) for c in choices]
        self._notice_version = text.version if text else 0
        states, error = self._call(consent.member_consent_states, locale=self.locale)
        if error:
            self.consents = []
            return error
        described = {
            c.code: c.description_en if self.locale == "en" else c.description_zh
            for c in self.choices
        }
        self.consents = [
            ConsentRow(
                purpose=s.purpose,
                name=s.purpose_name,
                description=described.get(s.purpose, ""),
                state=s.state,
                label=self._t(
                    f"consent.state.{s.state}" if s.state else "portal_privacy.state_none"
                ),
                since=(
                    self._t("portal_privacy.since", time=clock.format_local(s.updated_at))
                    if s.updated_at
                    else ""
                ),
                reconfirm=bool(s.reconfirm_needed),
            )
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
        answers = read_answers(form, [dataclasses.asdict(c) for c in self.choices])
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
            RequestRow(
                number=r.number,
                kind=self._t(f"rights.kind.{r.kind}"),
                channel=self._t(f"rights.channel.{r.channel}"),
                received=clock.format_local(r.received_at),
                due=r.due_on.isoformat(),
                status=self._t(f"rights.status.{r.status}"),
                status_code=r.status,
                closed=clock.format_local(r.closed_at),
            )
            for r in rows
        ]
        return None

    @rx.event
    def choose_kind(self, kind: str):
        self.request_kind = kind if kind in rights.KINDS else RightsKind.CORRECTION
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
        problems = [self._fetch_rows(), *self._parts_loaded()]
        return [
            rx.set_value(DETAIL_INPUT, ""),
            rx.toast.success(
                self._t("portal_privacy.filed", number=ref.number, due=ref.due_on.isoformat())
            ),
            *[rx.toast.error(problem) for problem in dict.fromkeys(problems) if problem],
        ]
