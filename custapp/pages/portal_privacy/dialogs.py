"""The dialogs of 我的信息与授权, each a substate of PortalPrivacyState holding its own vars, with
its view beside it: withdrawing a granted consent, and one of the member's requests opened.

What a request asked and its outcome are decrypted only for the one request the member opens, and
dropped when its dialog closes."""

from __future__ import annotations

import reflex as rx

from custapp import clock
from custapp.components.shell import T, form_dialog
from custapp.pages.portal_privacy.rows import RequestView
from custapp.pages.portal_privacy.state import PortalPrivacyState
from custapp.pages.portal_privacy.widgets import pair, status_badge
from custapp.services import consent, rights, rights_erasure
from custapp.vocab import ConsentStatus


class WithdrawDialogState(PortalPrivacyState):
    is_open: bool = False
    title: str = ""
    error: str = ""
    _purpose: str = ""

    def _clear(self) -> None:
        self.is_open, self._purpose, self.error = False, "", ""

    @rx.event
    def ask_withdraw(self, purpose: str):
        """Only a purpose this page lists as granted (the list is the server's own)."""
        row = next(
            (c for c in self.consents if c.purpose == purpose and c.state == ConsentStatus.GRANTED),
            None,
        )
        if row is None:
            return rx.toast.error(self._t("consent.error.not_granted"))
        self._purpose = row.purpose
        self.title = self._t("consent.tab.withdraw_title", purpose=row.name)
        self.error, self.is_open = "", True
        return None

    @rx.event
    def close_withdraw(self):
        self._clear()

    @rx.event
    def withdraw(self, form: dict):
        purpose = self._purpose
        name = next((c.name for c in self.consents if c.purpose == purpose), purpose)
        _, error = self._call(consent.member_withdraw_consent, purpose=purpose)
        if error:
            self.error = next(iter(self._field_errors.values()), error)
            return None
        self.is_open, self._purpose = False, ""
        problem = self._fetch_consents()
        if problem:
            return rx.toast.error(problem)
        return rx.toast.success(self._t("consent.tab.withdrawn", purpose=name))


class RequestDialogState(PortalPrivacyState):
    is_open: bool = False
    request: RequestView = RequestView()

    def _clear(self) -> None:
        self.is_open, self.request = False, RequestView()

    @rx.event
    def open_request(self, number: str):
        """One of the member's own requests on the shown page, with what was asked and the
        outcome (decrypted for this dialog only)."""
        rows, error = self._request_rows()
        found = next((r for r in rows or [] if r.number == number), None)
        if found is None:
            return rx.toast.error(error or self._t("rights.error.not_found"))
        self.request = RequestView(
            number=found.number,
            kind=self._t(f"rights.kind.{found.kind}"),
            status=self._t(f"rights.status.{found.status}"),
            status_code=found.status,
            received=clock.format_local(found.received_at),
            due=found.due_on.isoformat(),
            closed=clock.format_local(found.closed_at),
            detail=found.detail,
            outcome=self._outcome(found),
        )
        self.is_open = True
        return None

    def _outcome(self, found: rights.MemberRequestRow) -> str:
        """A refused deletion's legal reason, or the destruction that did it (issue 16)."""
        if found.refusal_reason:
            return rights_erasure.refusal_text(found.refusal_reason, found.outcome, self.locale)
        if found.outcome_ref:
            return self._t("portal_privacy.erase.done", number=found.outcome_ref)
        return found.outcome

    @rx.event
    def close_request(self):
        self._clear()


# --- the dialogs ----------------------------------------------------------------------------------


def request_dialog() -> rx.Component:
    S = RequestDialogState
    r = S.request
    return rx.dialog.root(
        rx.dialog.content(
            rx.dialog.title(
                rx.hstack(
                    rx.text(r.kind),
                    status_badge(r.status, r.status_code),
                    align="center",
                    spacing="2",
                    wrap="wrap",
                )
            ),
            rx.vstack(
                rx.data_list.root(
                    pair(T("rights.number"), rx.code(r.number, variant="ghost")),
                    pair(T("rights.received"), r.received),
                    pair(T("rights.due_on"), r.due),
                    rx.cond(r.closed != "", pair(T("rights.closed_at"), r.closed)),
                    size="2",
                ),
                rx.text(T("portal_privacy.your_detail"), size="2", weight="medium"),
                rx.box(
                    rx.text(r.detail, size="2", white_space="pre-wrap"),
                    padding="8px 12px",
                    border_radius="6px",
                    background=rx.color("gray", 3),
                    width="100%",
                ),
                rx.text(T("portal_privacy.outcome"), size="2", weight="medium"),
                rx.cond(
                    r.outcome != "",
                    rx.text(r.outcome, size="2", white_space="pre-wrap"),
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
        open=S.is_open,
        on_open_change=lambda _o: S.close_request(),
    )


def withdraw_dialog() -> rx.Component:
    S = WithdrawDialogState
    return form_dialog(
        title=S.title,
        description="portal_privacy.withdraw_notice",
        is_open=S.is_open,
        on_close=S.close_withdraw,
        on_submit=S.withdraw,
        error=S.error,
        submit_label="consent.tab.withdraw",
        submit_testid="consent-withdraw-confirm",
    )
