"""A deletion request opened on 权利请求 (删除权, issue 16): what blocks destroying the customer,
受理并提交销毁 (the customer goes into the 销毁 queue with the request as the reason), and 拒绝删除
with a legal reason chosen from a list (the customer is told through the outbox). A substate of
the detail dialog's state, with its panel beside it; view.py hands the panel to detail_dialog.
"""

from __future__ import annotations

import reflex as rx

from custapp.components.shell import T, field_error
from custapp.pages.rights_requests.detail import RequestDetailState
from custapp.services import erasure, rights
from custapp.vocab import RightsKind, RightsStatus


class DeletionReviewState(RequestDetailState):
    blockers: list[str] = []  # what blocks a destruction now, in the user's language
    candidate: str = ""  # "XH... · stage" once accepted
    waiting: bool = False  # an open candidate: the request closes itself when it is done
    refusal: str = ""  # ErasureRefusal chosen
    erasure_error: str = ""

    def _clear(self) -> None:
        self.blockers, self.candidate, self.waiting = [], "", False
        self.refusal = self.erasure_error = ""

    def _close(self) -> None:
        """Closing the dialog from this panel: the parent's reset, and this panel's."""
        super()._close()
        self._clear()

    def _opened(self) -> None:
        self._clear()
        if self.request.kind_code != RightsKind.DELETION:
            return
        review, error = self._call(erasure.deletion_review, request_id=self._detail_id)
        if error:
            self.erasure_error = error
            return
        self.blockers = [self._t(key) for key in review.blockers]
        if review.candidate is not None:
            stage = self._t(f"rights.erasure.stage.{review.candidate.status}")
            self.candidate = f"{review.candidate.number} · {stage}"
            self.waiting = review.candidate.status in ("queued", "appraised", "approved")

    @rx.event
    def set_refusal(self, value: str):
        self.refusal = str(value) if str(value) in rights.REFUSALS else ""

    @rx.event
    def accept(self):
        number = self.request.number
        result, error = self._call(erasure.accept_deletion, request_id=self._detail_id)
        if error:
            self.erasure_error = error
            return None
        problem = self._load_detail()  # the request, now in progress, and this panel again
        self._fetch()
        if problem:
            self._close()
        return rx.toast.success(
            self._t("rights.erasure.accepted", number=number, candidate=result.number)
        )

    @rx.event
    def refuse(self):
        number = self.request.number
        _, error = self._call(
            rights.close_request,
            request_id=self._detail_id,
            status=RightsStatus.REFUSED,
            outcome=self.outcome,
            refusal=self.refusal,
        )
        if error:
            fields = self._field_errors
            self.erasure_error = fields.get("refusal") or fields.get("outcome") or error
            return None
        self._close()
        self._fetch()
        return rx.toast.success(self._t("rights.erasure.refused", number=number))


# --- the panel ----------------------------------------------------------------------------------

E = DeletionReviewState


def _blockers() -> rx.Component:
    return rx.cond(
        E.blockers.length() > 0,
        rx.vstack(
            rx.text(T("rights.erasure.blockers"), size="2", weight="medium"),
            rx.unordered_list(
                rx.foreach(E.blockers, lambda b: rx.list_item(b, data_testid="erasure-blocker")),
                size="2",
            ),
            spacing="1",
            width="100%",
        ),
        rx.text(T("rights.erasure.no_blockers"), size="2", color_scheme="green"),
    )


def _refusal() -> rx.Component:
    return rx.hstack(
        rx.select.root(
            rx.select.trigger(
                placeholder=T("rights.choose_refusal"), data_testid="erasure-refusal"
            ),
            rx.select.content(
                *[
                    rx.select.item(T(f"rights.refusal.{code}"), value=code)
                    for code in rights.REFUSALS
                ]
            ),
            value=E.refusal,
            on_change=E.set_refusal,
        ),
        rx.button(
            rx.icon("ban", size=14),
            T("rights.erasure.refuse"),
            color_scheme="red",
            variant="soft",
            on_click=E.refuse,
            data_testid="erasure-refuse",
        ),
        align="center",
        spacing="2",
        wrap="wrap",
    )


def _deciding() -> rx.Component:
    return rx.vstack(
        _blockers(),
        rx.text(T("rights.erasure.blockers_note"), size="1", color_scheme="gray"),
        rx.hstack(
            _refusal(),
            rx.button(
                rx.icon("trash-2", size=14),
                T("rights.erasure.accept"),
                color_scheme="red",
                on_click=E.accept,
                data_testid="erasure-accept",
            ),
            justify="between",
            align="center",
            wrap="wrap",
            width="100%",
        ),
        spacing="2",
        width="100%",
    )


def erasure_panel() -> rx.Component:
    """Shown in the detail dialog of a deletion request not yet closed."""
    return rx.cond(
        (E.request.kind_code == RightsKind.DELETION) & E.request.active,
        rx.card(
            rx.vstack(
                rx.hstack(
                    rx.icon("shredder", size=16, color=rx.color("red", 10)),
                    rx.text(T("rights.erasure.title"), weight="bold", size="2"),
                    align="center",
                    spacing="2",
                ),
                rx.cond(
                    E.candidate != "",
                    rx.text(
                        T("rights.erasure.candidate"),
                        "：",
                        rx.code(E.candidate, data_testid="erasure-candidate"),
                        size="2",
                    ),
                ),
                rx.cond(
                    E.waiting,
                    rx.text(T("rights.erasure.waiting"), size="2", color_scheme="gray"),
                    _deciding(),
                ),
                field_error(E.erasure_error),
                spacing="2",
                width="100%",
            ),
            width="100%",
            data_testid="erasure-panel",
        ),
    )
