"""The complaint page's small dialogs, each a substate of ComplaintState holding its own vars, with
its view beside it: the one-text actions (添加备注, 回复客户, 挂起, 重新打开 and the workflow
moves) and 分派. 申请补偿 and 结案 have their own modules (compensation.py, closing.py).

A dialog reads the page's vars (`self.h`, `self._id`) as its own; after its service call
succeeds it closes itself and `_done` reads the complaint again for the page. A button a role may
not use is hidden, but the service checks the permission and the status on every call.
"""

from __future__ import annotations

import reflex as rx

from custapp.components.form import labelled
from custapp.components.shell import T, field_error, form_dialog
from custapp.pages.complaint.state import ComplaintState, form_text
from custapp.services import complaints
from custapp.services.complaints import MAX_TEXT
from custapp.services.customer_input import row_id
from custapp.states.options import Option
from custapp.vocab import COMPLAINT_MOVES, ComplaintStatus

# the one-text actions and their dialog titles (a move's title names the status)
ACTION_TITLES = {
    "note": "complaint_pages.action.note",
    "reply": "complaint_pages.action.reply",
    "hold": "complaint_pages.action.hold",
    "reopen": "complaint_pages.action.reopen",
    "move": "complaint_pages.action.move",
}


# --- the one-text actions -------------------------------------------------------------------------


class ActionDialog(ComplaintState):
    action_open: bool = False
    action: str = ""  # a key of ACTION_TITLES
    action_title: str = ""
    action_to: str = ""  # the status a move goes to
    action_visible: bool = False  # 客户可见: ticked by the handler only (a reply always is)
    action_locked: bool = False  # 回复客户: the customer sees it, no checkbox
    action_field_error: str = ""
    action_outcome_error: str = ""
    action_error: str = ""

    def _clear(self) -> None:
        self.action_open = False

    @rx.event
    def open_action(self, action: str, to_status: str = ""):
        if action not in ACTION_TITLES:
            return
        self.action, self.action_to = action, ""
        if action == "move":
            if to_status not in COMPLAINT_MOVES.get(self.h.status, ()):
                return
            self.action_to = to_status
            self.action_title = self._t(
                "complaint_pages.move_to", status=self._t(f"complaint.status.{to_status}")
            )
        else:
            self.action_title = self._t(ACTION_TITLES[action])
        self.action_visible = self.action_locked = action == "reply"
        self.action_field_error = self.action_outcome_error = self.action_error = ""
        self.action_open = True

    @rx.event
    def set_action_visible(self, value: bool):
        if self.action_open and not self.action_locked:
            self.action_visible = value is True

    @rx.event
    def cancel(self):
        self.action_open = False

    @rx.event
    def submit_action(self, form: dict):
        # clicks queued while the first submit ran arrive after it closed the dialog: the note
        # was written once, so they do nothing
        if not self.action_open:
            return None
        text = form_text(form, "text")
        action, visible, about = self.action, self.action_visible, {"complaint_id": self._id}
        if action == "move":
            informed = self.action_to == ComplaintStatus.CUSTOMER_INFORMED
            _, error = self._call(
                complaints.move,
                **about,
                to_status=self.action_to,
                note=text,
                visible=visible,
                outcome=form_text(form, "outcome") if informed else "",
            )
        elif action in ("note", "reply"):
            _, error = self._call(complaints.add_note, **about, body=text, visible=visible)
        elif action == "hold":
            _, error = self._call(complaints.hold, **about, note=text, visible=visible)
        elif action == "reopen":
            _, error = self._call(complaints.reopen, **about, note=text, visible=visible)
        else:
            return None
        if error:
            fields = self._field_errors
            self.action_outcome_error = fields.get("outcome", "")
            self.action_field_error = next((m for f, m in fields.items() if f != "outcome"), "")
            self.action_error = "" if fields else error
            return None
        self.action_open = False
        return self._done(f"complaint_pages.done.{action}")


def _outcome_field() -> rx.Component:
    """At 已告知客户: the outcome told to the customer, which they see in the portal."""
    S = ActionDialog
    return rx.cond(
        S.action_to == ComplaintStatus.CUSTOMER_INFORMED.value,
        labelled(
            "complaint_pages.field.outcome",
            rx.vstack(
                rx.text_area(
                    name="outcome",
                    id="action-outcome",
                    rows="3",
                    max_length=MAX_TEXT,
                    placeholder=T("complaint_pages.outcome_hint"),
                    width="100%",
                ),
                rx.text(T("complaint_pages.outcome_visible"), size="1", color_scheme="gray"),
                spacing="1",
                width="100%",
            ),
            S.action_outcome_error,
            "action-outcome-field",
        ),
    )


def action_dialog() -> rx.Component:
    S = ActionDialog
    return form_dialog(
        _outcome_field(),
        rx.text_area(
            name="text",
            id="action-text",
            rows="4",
            max_length=MAX_TEXT,
            placeholder=rx.match(
                S.action,
                ("reopen", T("complaint_pages.reason_hint")),
                ("reply", T("complaint_pages.reply_hint")),
                ("note", T("complaint_pages.note_hint")),
                T("complaint_pages.optional_note_hint"),
            ),
            width="100%",
        ),
        field_error(S.action_field_error),
        rx.cond(
            ~S.action_locked,
            rx.text(
                rx.hstack(
                    rx.checkbox(
                        checked=S.action_visible,
                        on_change=S.set_action_visible,
                        data_testid="action-visible",
                    ),
                    T("complaint_pages.customer_visible"),
                    spacing="2",
                    align="center",
                ),
                as_="label",
                size="2",
            ),
        ),
        rx.text(
            rx.cond(
                S.action_visible,
                T("complaint_pages.will_be_visible"),
                T("complaint_pages.will_be_internal"),
            ),
            size="1",
            color_scheme="gray",
            data_testid="action-visibility",
        ),
        title=rx.text(S.action_title),
        is_open=S.action_open,
        on_close=S.cancel,
        on_submit=S.submit_action,
        error=S.action_error,
        submit_label="complaint_pages.confirm",
        submit_testid="action-submit",
    )


# --- 分派 -------------------------------------------------------------------------------------------


class AssignDialog(ComplaintState):
    assign_open: bool = False
    handlers: list[Option] = []  # user id, name
    assign_to: str = ""
    assign_error: str = ""

    def _clear(self) -> None:
        self.assign_open, self.handlers = False, []

    @rx.event
    def open_assign(self):
        found, error = self._call(complaints.handlers)
        if error:
            return rx.toast.error(error)
        self.handlers = [Option(str(i), name) for i, name in found]
        self.assign_to, self.assign_error, self.assign_open = "", "", True
        return None

    @rx.event
    def set_assign_to(self, value: str):
        self.assign_to = value if any(value == h.value for h in self.handlers) else ""

    @rx.event
    def cancel(self):
        self.assign_open = False

    @rx.event
    def assign(self, _form: dict | None = None):
        _, error = self._call(
            complaints.assign, complaint_ids=[self._id], assignee_id=row_id(self.assign_to)
        )
        if error:
            self.assign_error = self._field_errors.get("assignee", error)
            return None
        self.assign_open, self.handlers = False, []
        return self._done("complaint_pages.done.assign")


def assign_dialog() -> rx.Component:
    S = AssignDialog
    return form_dialog(
        rx.select.root(
            rx.select.trigger(
                placeholder=T("complaint_pages.choose_handler"),
                width="100%",
                data_testid="assign-select",
            ),
            rx.select.content(
                rx.foreach(S.handlers, lambda u: rx.select.item(u.label, value=u.value)),
            ),
            value=S.assign_to,
            on_change=S.set_assign_to,
        ),
        title=T("complaint_pages.action.assign"),
        is_open=S.assign_open,
        on_close=S.cancel,
        on_submit=S.assign,
        error=S.assign_error,
        submit_label="complaint_pages.action.assign",
        submit_testid="assign-submit",
    )
