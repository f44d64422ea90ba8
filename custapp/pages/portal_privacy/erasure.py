"""删除我的信息 on 我的信息与授权 (删除权, issue 16): what deletion means and what the member must
settle first (stored value, points, open complaints, the card), read from their own data; a
confirm dialog that files a deletion rights request (channel portal, through
rights.member_file_request); and the progress of their newest deletion request
(已提交 → 处理中 → 已完成 / 已拒绝 with the reason). A substate of PortalPrivacyState with its card
and dialog beside it. The customer always comes from the login on the server.
"""

from __future__ import annotations

import reflex as rx

from custapp import clock
from custapp.components.shell import T, form_dialog
from custapp.pages.portal_privacy.rows import ErasureProgress
from custapp.pages.portal_privacy.state import PortalPrivacyState
from custapp.pages.portal_privacy.widgets import section
from custapp.services import erasure, rights, rights_erasure
from custapp.services.customer_input import yuan_text
from custapp.settings import get_settings
from custapp.vocab import RightsKind, RightsStatus

NOTE_INPUT = "erase-note"
STAGES = {
    RightsStatus.OPEN: 0,
    RightsStatus.IN_PROGRESS: 1,
    RightsStatus.DONE: 2,
    RightsStatus.REFUSED: 2,
}


class EraseMyDataState(PortalPrivacyState):
    settle: list[str] = []  # what must be settled first, in the member's language
    progress: ErasureProgress = ErasureProgress()
    pending: bool = False  # a deletion request is open: no second one
    process: str = ""
    confirm_open: bool = False
    confirm_error: str = ""

    def _clear(self) -> None:
        self.settle, self.progress, self.pending = [], ErasureProgress(), False
        self.process, self.confirm_open, self.confirm_error = "", False, ""

    def _part_loaded(self) -> str | None:
        overview, error = self._call(erasure.member_overview)
        if error:
            self.settle, self.progress, self.pending = [], ErasureProgress(), False
            return error
        self.process = self._t("portal_privacy.erase.process", days=get_settings().rights_due_days)
        settle = []
        if overview.balance_fen > 0:
            settle.append(
                self._t("portal_privacy.erase.balance", amount=yuan_text(overview.balance_fen))
            )
        elif overview.card_active:
            settle.append(self._t("portal_privacy.erase.card"))
        if overview.points > 0:
            settle.append(self._t("portal_privacy.erase.points", points=overview.points))
        if overview.clawback > 0:
            settle.append(self._t("portal_privacy.erase.clawback", points=overview.clawback))
        if overview.open_complaints:
            settle.append(
                self._t("portal_privacy.erase.complaints", count=overview.open_complaints)
            )
        self.settle = settle
        r = overview.request
        self.progress = (
            ErasureProgress(
                number=r.number,
                title=self._t("portal_privacy.erase.progress", number=r.number),
                received=clock.format_local(r.received_at),
                stage=STAGES.get(r.status, 0),
                refused=r.status == RightsStatus.REFUSED,
                reason=rights_erasure.refusal_text(r.refusal_reason, r.outcome, self.locale),
                done=self._t("portal_privacy.erase.done", number=r.outcome_ref)
                if r.outcome_ref
                else "",
            )
            if r
            else ErasureProgress()
        )
        self.pending = r is not None and r.status in rights.OPEN_STATUSES
        return None

    @rx.event
    def ask_erase(self):
        if self.pending:
            return rx.toast.error(self._t("portal_privacy.erase.pending"))
        self.confirm_error, self.confirm_open = "", True
        return None

    @rx.event
    def close_erase(self):
        self.confirm_open, self.confirm_error = False, ""

    @rx.event
    def erase(self, form: dict):
        if not form.get("understand"):
            self.confirm_error = self._t("portal_privacy.erase.must_understand")
            return None
        note = str(form.get("note", "") or "").strip()
        ref, error = self._call(
            rights.member_file_request,
            kind=RightsKind.DELETION,
            detail=note or self._t("portal_privacy.erase.default_detail"),
        )
        if error:
            fields = self._field_errors
            self.confirm_error = fields.get("detail") or fields.get("kind") or error
            return None
        self.confirm_open, self.confirm_error, self.page = False, "", 1
        problems = [self._part_loaded(), self._fetch_rows()]
        return [
            rx.toast.success(
                self._t("portal_privacy.erase.filed", number=ref.number, due=ref.due_on.isoformat())
            ),
            *[rx.toast.error(problem) for problem in dict.fromkeys(problems) if problem],
        ]


# --- the card and its dialog ----------------------------------------------------------------------

E = EraseMyDataState


def _step(label: rx.Component, reached: rx.Var, color: str = "blue") -> rx.Component:
    return rx.badge(
        label,
        color_scheme=rx.cond(reached, color, "gray"),
        variant=rx.cond(reached, "solid", "outline"),
        size="2",
    )


def _progress() -> rx.Component:
    p = E.progress
    arrow = rx.icon("chevron-right", size=14, color=rx.color("gray", 9))
    return rx.vstack(
        rx.hstack(
            rx.text(p.title, size="2", weight="medium"),
            rx.text(T("rights.received"), "：", p.received, size="1", color_scheme="gray"),
            align="baseline",
            spacing="3",
            wrap="wrap",
        ),
        rx.hstack(
            _step(T("portal_privacy.erase.step.submitted"), p.stage >= 0),
            arrow,
            _step(T("portal_privacy.erase.step.in_progress"), p.stage >= 1),
            arrow,
            rx.cond(
                p.refused,
                _step(T("portal_privacy.erase.step.refused"), p.stage >= 2, "gray"),
                _step(T("portal_privacy.erase.step.finished"), p.stage >= 2, "green"),
            ),
            align="center",
            spacing="2",
            wrap="wrap",
            data_testid="erase-progress",
        ),
        rx.cond(
            p.refused & (p.reason != ""),
            rx.text(
                T("portal_privacy.erase.reason_label"),
                p.reason,
                size="2",
                data_testid="erase-reason",
            ),
        ),
        rx.cond(p.done != "", rx.text(p.done, size="2", color_scheme="green")),
        spacing="2",
        padding="10px 12px",
        border_radius="8px",
        background=rx.color("gray", 2),
        width="100%",
    )


def _settle() -> rx.Component:
    return rx.cond(
        E.settle.length() > 0,
        rx.callout(
            rx.vstack(
                rx.text(T("portal_privacy.erase.settle"), weight="medium"),
                rx.unordered_list(
                    rx.foreach(
                        E.settle, lambda item: rx.list_item(item, data_testid="erase-settle")
                    ),
                ),
                spacing="1",
            ),
            icon="wallet",
            color_scheme="amber",
            width="100%",
        ),
        rx.text(T("portal_privacy.erase.nothing"), size="2", color_scheme="gray"),
    )


def erasure_section() -> rx.Component:
    return section(
        "shredder",
        "portal_privacy.erase.title",
        rx.text(T("portal_privacy.erase.intro"), size="2"),
        rx.text(T("portal_privacy.erase.what"), size="2", color_scheme="gray"),
        _settle(),
        rx.text(E.process, size="1", color_scheme="gray"),
        rx.cond(E.progress.number != "", _progress()),
        rx.cond(
            E.pending,
            rx.text(T("portal_privacy.erase.pending"), size="2", color_scheme="blue"),
            rx.button(
                rx.icon("trash-2", size=14),
                T("portal_privacy.erase.start"),
                color_scheme="red",
                variant="soft",
                on_click=E.ask_erase,
                data_testid="erase-start",
            ),
        ),
        data_testid="erase-card",
    )


def erasure_dialog() -> rx.Component:
    return form_dialog(
        rx.callout(
            T("portal_privacy.erase.confirm_text"), icon="triangle-alert", color_scheme="red"
        ),
        rx.vstack(
            rx.text(T("portal_privacy.erase.note"), size="2", weight="medium"),
            rx.text_area(
                name="note",
                id=NOTE_INPUT,
                max_length=rights.MAX_DETAIL,
                rows="3",
                width="100%",
            ),
            spacing="1",
            width="100%",
        ),
        rx.checkbox(
            T("portal_privacy.erase.understand"),
            name="understand",
            size="2",
            data_testid="erase-understand",
        ),
        title=T("portal_privacy.erase.confirm_title"),
        is_open=E.confirm_open,
        on_close=E.close_erase,
        on_submit=E.erase,
        error=E.confirm_error,
        submit_label="portal_privacy.erase.submit",
        submit_testid="erase-confirm",
        reset_on_submit=True,
    )
