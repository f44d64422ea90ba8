"""The page's dialogs, each a substate of RetentionState holding its own vars: a change proposed
(提出变更, compliance) and a change decided (审批: approve or reject, by another person)."""

from __future__ import annotations

import reflex as rx

from custapp.components.shell import T, field_error, form_dialog
from custapp.pages.retention.rows import ChangeRow
from custapp.pages.retention.state import RetentionState
from custapp.services import retention
from custapp.states.options import Option

MAX_TYPED = retention.BASIS_MAX + 100  # what a handler keeps of a typed value


class ProposeDialogState(RetentionState):
    is_open: bool = False
    category: str = ""
    title: str = ""
    current: str = ""  # the rule as it is
    months: str = ""  # the form's starting values
    basis: str = ""
    actions: list[Option] = []
    action: str = ""
    errors: dict[str, str] = {}
    error: str = ""
    form_key: int = 0  # a new key: the form starts from the rule's values

    def _clear(self) -> None:
        self.is_open = False

    @rx.event
    def open_propose(self, category: str):
        rule = next((r for r in self.rules if r.category == category), None)
        if rule is None or not self.can_manage:
            return
        self.category, self.title = rule.category, rule.name
        self.current = f"{rule.period} · {rule.action}"
        self.months, self.basis, self.action = str(rule.months), rule.basis, rule.action_code
        self.actions = [
            Option(a, self._t(f"retention.action.{a}"))
            for a in retention.ALLOWED_ACTIONS.get(rule.category, ())
        ]
        self.errors, self.error = {}, ""
        self.form_key += 1
        self.is_open = True

    @rx.event
    def close_propose(self):
        self.is_open = False

    @rx.event
    def set_propose_action(self, value: str):
        self.action = str(value)[:20]

    @rx.event
    def save_propose(self, form: dict):
        _, error = self._call(
            retention.propose_change,
            category=self.category,
            period_months=str(form.get("period_months", "")).strip()[:10],
            action=self.action,
            basis=str(form.get("basis", ""))[:MAX_TYPED],
            reason=str(form.get("reason", ""))[:MAX_TYPED],
        )
        self.errors = dict(self._field_errors)
        if error:
            self.error = error
            return None
        self.is_open = False
        self.page = 1
        return [*self._refresh(), rx.toast.success(self._t("retention.proposed"))]


class DecideDialogState(RetentionState):
    is_open: bool = False
    change: ChangeRow = ChangeRow()
    note: str = ""
    error: str = ""
    note_error: str = ""

    def _clear(self) -> None:
        self.is_open, self.change, self.note = False, ChangeRow(), ""

    @rx.event
    def open_decide(self, change_id: int):
        row = next((c for c in self.pending if c.id == change_id), None)
        if row is None or not self.can_approve:
            return
        self.change, self.note, self.error, self.note_error = row, "", "", ""
        self.is_open = True

    @rx.event
    def close_decide(self):
        self.is_open = False

    @rx.event
    def set_note(self, value: str):
        self.note = str(value)[: retention.NOTE_MAX + 50]

    def _decide(self, approve: bool):
        result, error = self._call(
            retention.decide_change, change_id=self.change.id, approve=approve, note=self.note
        )
        self.note_error = self._field_errors.get("note", "")
        if error:
            self.error = "" if self.note_error else error
            return None
        self.is_open = False
        self.page = 1
        if not approve:
            message = self._t("retention.rejected")
        elif result.notice_version:
            message = self._t("retention.approved", version=result.notice_version)
        else:
            message = self._t("retention.approved_no_notice")
        return [*self._refresh(), rx.toast.success(message)]

    @rx.event
    def approve(self):
        return self._decide(True)

    @rx.event
    def reject(self):
        return self._decide(False)


# --- the dialogs --------------------------------------------------------------------------------

P, D = ProposeDialogState, DecideDialogState


def _labelled(label: str, control: rx.Component, error: rx.Var | str = "") -> rx.Component:
    return rx.vstack(
        rx.text(T(label), size="2", weight="medium"),
        control,
        field_error(error),
        spacing="1",
        width="100%",
    )


def propose_dialog() -> rx.Component:
    errors = P.errors
    return form_dialog(
        rx.text(P.current, size="2", color_scheme="gray"),
        rx.grid(
            _labelled(
                "retention.field.period_months",
                rx.input(
                    name="period_months",
                    type="number",
                    min=retention.PERIOD_MIN,
                    max=retention.PERIOD_MAX,
                    default_value=P.months,
                    width="100%",
                    data_testid="rt-period",
                ),
                errors.get("period_months", ""),
            ),
            _labelled(
                "retention.field.action",
                rx.select.root(
                    rx.select.trigger(width="100%", data_testid="rt-action"),
                    rx.select.content(
                        rx.foreach(P.actions, lambda a: rx.select.item(a.label, value=a.value))
                    ),
                    value=P.action,
                    on_change=P.set_propose_action,
                ),
                errors.get("action", ""),
            ),
            columns="2",
            spacing="3",
            width="100%",
        ),
        _labelled(
            "retention.field.basis",
            rx.text_area(
                name="basis", default_value=P.basis, rows="4", width="100%", data_testid="rt-basis"
            ),
            errors.get("basis", ""),
        ),
        _labelled(
            "retention.field.reason",
            rx.input(name="reason", width="100%", data_testid="rt-reason"),
            errors.get("reason", ""),
        ),
        rx.text(T("retention.propose.hint"), size="1", color_scheme="gray"),
        title=rx.fragment(T("retention.propose.title"), " · ", P.title),
        is_open=P.is_open,
        on_close=P.close_propose,
        on_submit=P.save_propose,
        error=rx.cond(errors.length() > 0, "", P.error),
        submit_testid="rt-propose-save",
        max_width="600px",
        form_props={"key": P.form_key},
        stack_props={"width": "100%"},
    )


def _fact(label: str, value: rx.Var) -> rx.Component:
    return rx.hstack(
        rx.text(T(label), size="2", color_scheme="gray", min_width="80px"),
        rx.text(value, size="2", white_space="pre-wrap"),
        spacing="3",
        align="start",
    )


def decide_dialog() -> rx.Component:
    change = D.change
    return rx.dialog.root(
        rx.dialog.content(
            rx.dialog.title(T("retention.decide.title"), " · ", change.name),
            rx.vstack(
                _fact("retention.col.change", change.change),
                _fact("retention.col.basis", change.basis),
                _fact("retention.col.reason", change.reason),
                _fact("retention.col.proposer", change.proposer),
                _labelled(
                    "retention.decide.note",
                    rx.input(
                        default_value=D.note,
                        on_blur=D.set_note,
                        width="100%",
                        data_testid="rt-note",
                    ),
                    D.note_error,
                ),
                field_error(D.error),
                rx.cond(
                    change.mine,
                    rx.callout(T("retention.decide.own"), icon="info", width="100%"),
                ),
                rx.hstack(
                    rx.button(
                        T("common.cancel"),
                        variant="soft",
                        color_scheme="gray",
                        on_click=D.close_decide,
                    ),
                    rx.button(
                        rx.icon("x", size=14),
                        T("retention.reject"),
                        color_scheme="red",
                        variant="soft",
                        disabled=change.mine,
                        on_click=D.reject,
                        data_testid="rt-reject",
                    ),
                    rx.button(
                        rx.icon("check", size=14),
                        T("retention.approve"),
                        disabled=change.mine,
                        on_click=D.approve,
                        data_testid="rt-approve",
                    ),
                    justify="end",
                    spacing="2",
                    width="100%",
                ),
                spacing="3",
                width="100%",
                margin_top="12px",
            ),
            max_width="600px",
        ),
        open=D.is_open,
        on_open_change=lambda _o: D.close_decide(),
    )
