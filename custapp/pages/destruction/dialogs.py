"""The dialogs of 销毁, each a substate of DestructionState with its view beside it:

- 提出销毁 (compliance): a customer by number, the whole customer or one category, and why;
- a decision on one candidate: 鉴定 (appraise: no retention value left, or keep it), 批准
  (approve: destroyed at once) or 驳回 (reject, with the reason);
- 诉讼保留: set a hold on a customer, or release one.

The candidate or hold acted on is a backend var set when the dialog opens; the services check
the permission and the two-person rule whatever the browser sends."""

from __future__ import annotations

import reflex as rx

from custapp.components.form import labelled
from custapp.components.shell import T, content_dialog, field_error, form_actions, form_dialog
from custapp.pages.destruction.state import DestructionState
from custapp.services import destruction
from custapp.vocab import DestructionCategory

MAX_TYPED = 500
DECISION_MODES = ("appraise", "approve", "reject")


def _outcome_toast(state: DestructionState, outcome: destruction.Outcome):  # noqa: ANN202
    """What a decision came to: blocked (with the reasons), waiting, done or the new status."""
    if outcome.blockers:
        reasons = "、".join(state._t(key) for key in outcome.blockers)
        return rx.toast.warning(state._t("destruction.blocked_toast", reasons=reasons))
    key = {
        "appraised": "destruction.appraised_toast",
        "approved": "destruction.waiting_toast",
        "done": "destruction.done_toast",
        "rejected": "destruction.rejected_toast",
    }.get(outcome.status, "destruction.saved_toast")
    return rx.toast.success(state._t(key, number=outcome.number))


class ProposeDialogState(DestructionState):
    propose_open: bool = False
    propose_errors: dict[str, str] = {}
    propose_error: str = ""

    def _clear(self) -> None:
        self.propose_open, self.propose_errors, self.propose_error = False, {}, ""

    @rx.event
    def open_propose(self):
        self._clear()
        self.propose_open = True

    @rx.event
    def close_propose(self):
        self._clear()

    @rx.event
    def propose(self, form: dict):
        category = str(form.get("category", ""))
        candidate_id, error = self._call(
            destruction.propose_manual,
            customer_number=str(form.get("customer_number", ""))[:20],
            note=str(form.get("note", ""))[:MAX_TYPED],
            category="" if category == "customer" else category,
        )
        self.propose_errors = {k: self._t(v) for k, v in self._field_errors.items()}
        if error:
            self.propose_error = error
            return None
        self._clear()
        self.tab, self.page = "queued", 1
        refresh = self._fetch()
        toast = rx.toast.success(self._t("destruction.proposed_toast"))
        return [e for e in (refresh, toast) if e is not None] if candidate_id else refresh


class DecisionDialogState(DestructionState):
    decision_open: bool = False
    mode: str = ""  # appraise | approve | reject
    subject: str = ""  # "number · customer number", what the dialog is about
    decision_error: str = ""
    _decision_id: int = 0

    def _clear(self) -> None:
        self.decision_open, self.mode, self.subject = False, "", ""
        self.decision_error, self._decision_id = "", 0

    @rx.event
    def open_decision(self, candidate_id: int, mode: str):
        self._clear()
        row = next((r for r in self.rows if r.id == candidate_id), None)
        if row is None or mode not in DECISION_MODES:
            return rx.toast.error(self._t("destruction.error.not_found"))
        self._decision_id, self.mode = row.id, mode
        self.subject = f"{row.number} · {row.customer_number}"
        self.decision_open = True
        return None

    @rx.event
    def close_decision(self):
        self._clear()

    def _done(self, outcome: destruction.Outcome):  # noqa: ANN202
        self._clear()
        refresh = self._fetch()
        toast = _outcome_toast(self, outcome)
        return [e for e in (refresh, toast) if e is not None]

    @rx.event
    def decide(self, form: dict):
        note = str(form.get("note", ""))[:MAX_TYPED]
        decision = str(form.get("decision", ""))
        if self.mode == "appraise":
            outcome, error = self._call(
                destruction.appraise,
                candidate_id=self._decision_id,
                decision=decision if decision in destruction.DECISIONS else "destroy",
                note=note,
            )
        elif self.mode == "reject":
            outcome, error = self._call(
                destruction.reject, candidate_id=self._decision_id, note=note
            )
        else:
            outcome, error = self._call(destruction.approve, candidate_id=self._decision_id)
        if error:
            note_error = self._field_errors.get("note")
            self.decision_error = self._t(note_error) if note_error else error
            return None
        return self._done(outcome)


class HoldDialogState(DestructionState):
    hold_open: bool = False
    releasing: str = ""  # the customer number of the hold being released; "": a new hold
    hold_errors: dict[str, str] = {}
    hold_error: str = ""
    _hold_id: int = 0

    def _clear(self) -> None:
        self.hold_open, self.releasing, self.hold_errors = False, "", {}
        self.hold_error, self._hold_id = "", 0

    @rx.event
    def open_hold(self):
        self._clear()
        self.hold_open = True

    @rx.event
    def open_release(self, hold_id: int):
        self._clear()
        row = next((h for h in self.hold_rows if h.id == hold_id), None)
        if row is None:
            return rx.toast.error(self._t("destruction.error.hold_not_found"))
        self._hold_id, self.releasing, self.hold_open = row.id, row.customer_number, True
        return None

    @rx.event
    def close_hold(self):
        self._clear()

    @rx.event
    def save_hold(self, form: dict):
        reason = str(form.get("reason", ""))[:MAX_TYPED]
        if self._hold_id:
            _, error = self._call(destruction.release_hold, hold_id=self._hold_id, reason=reason)
            done_key = "destruction.hold.released_toast"
        else:
            _, error = self._call(
                destruction.set_hold,
                customer_number=str(form.get("customer_number", ""))[:20],
                reason=reason,
            )
            done_key = "destruction.hold.set_toast"
        self.hold_errors = {k: self._t(v) for k, v in self._field_errors.items()}
        if error:
            self.hold_error = error
            return None
        self._clear()
        self.tab, self.page = "holds", 1
        refresh = self._fetch()
        return [e for e in (refresh, rx.toast.success(self._t(done_key))) if e is not None]


# --- the views --------------------------------------------------------------------------------------

P, D, H = ProposeDialogState, DecisionDialogState, HoldDialogState


def _category_select() -> rx.Component:
    return rx.select.root(
        rx.select.trigger(width="100%", data_testid="destruction-category"),
        rx.select.content(
            rx.select.item(T("destruction.what.customer"), value="customer"),
            *[
                rx.select.item(T(f"destruction.what.{c}"), value=c.value)
                for c in DestructionCategory
            ],
        ),
        name="category",
        default_value="customer",
    )


def propose_dialog() -> rx.Component:
    return form_dialog(
        labelled(
            "destruction.field.customer_number",
            rx.input(name="customer_number", max_length=20, data_testid="destruction-number"),
            P.propose_errors.get("customer_number", ""),
            "destruction-number-field",
        ),
        labelled(
            "destruction.field.what",
            _category_select(),
            P.propose_errors.get("category", ""),
            "destruction-category-field",
        ),
        labelled(
            "destruction.field.note",
            rx.text_area(name="note", max_length=MAX_TYPED, data_testid="destruction-note"),
            P.propose_errors.get("note", ""),
            "destruction-note-field",
        ),
        title=T("destruction.propose"),
        description="destruction.propose_hint",
        is_open=P.propose_open,
        on_close=P.close_propose,
        on_submit=P.propose,
        error=P.propose_error,
        submit_label="destruction.propose",
        submit_testid="destruction-propose-submit",
    )


def _decision_select() -> rx.Component:
    return rx.select.root(
        rx.select.trigger(width="100%", data_testid="destruction-decision"),
        rx.select.content(
            rx.select.item(T("destruction.appraise.destroy"), value="destroy"),
            rx.select.item(T("destruction.appraise.keep"), value="keep"),
        ),
        name="decision",
        default_value="destroy",
    )


def _decision_buttons() -> rx.Component:
    return rx.match(
        D.mode,
        (
            "appraise",
            form_actions(D.close_decision, "destruction.appraise", "destruction-appraise-submit"),
        ),
        (
            "approve",
            form_actions(
                D.close_decision,
                "destruction.approve",
                "destruction-approve-submit",
                submit_icon="shredder",
                submit_color="red",
            ),
        ),
        form_actions(D.close_decision, "destruction.reject", "destruction-reject-submit"),
    )


def decision_dialog() -> rx.Component:
    return content_dialog(
        rx.form(
            rx.vstack(
                rx.cond(D.mode == "appraise", _decision_select()),
                rx.match(
                    D.mode,
                    (
                        "approve",
                        rx.callout(
                            T("destruction.approve.warning"),
                            icon="triangle-alert",
                            color_scheme="red",
                            width="100%",
                        ),
                    ),  # fmt: skip
                    rx.text_area(
                        name="note",
                        max_length=MAX_TYPED,
                        placeholder=rx.match(
                            D.mode,
                            ("appraise", T("destruction.appraise.note")),
                            T("destruction.reject.note"),
                        ),
                        width="100%",
                        data_testid="destruction-decision-note",
                    ),
                ),
                field_error(D.decision_error),
                _decision_buttons(),
                spacing="3",
                width="100%",
            ),
            on_submit=D.decide,
            reset_on_submit=True,
        ),
        title=rx.match(
            D.mode,
            ("appraise", T("destruction.appraise.title")),
            ("approve", T("destruction.approve.title")),
            T("destruction.reject.title"),
        ),
        description=rx.text(D.subject),
        is_open=D.decision_open,
        on_close=D.close_decision,
    )


def hold_dialog() -> rx.Component:
    return form_dialog(
        rx.cond(
            H.releasing == "",
            labelled(
                "destruction.field.customer_number",
                rx.input(name="customer_number", max_length=20, data_testid="hold-number"),
                H.hold_errors.get("customer_number", ""),
                "hold-number-field",
            ),
            rx.text(T("destruction.hold.releasing"), " ", H.releasing, size="2"),
        ),
        labelled(
            "destruction.hold.reason",
            rx.input(name="reason", max_length=200, data_testid="hold-reason"),
            H.hold_errors.get("reason", ""),
            "hold-reason-field",
        ),
        title=rx.cond(H.releasing == "", T("destruction.hold.set"), T("destruction.hold.release")),
        is_open=H.hold_open,
        on_close=H.close_hold,
        on_submit=H.save_hold,
        error=H.hold_error,
        submit_testid="hold-submit",
    )
