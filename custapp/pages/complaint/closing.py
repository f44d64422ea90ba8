"""结案 on the complaint page: the closing record (root cause, solution, how and when the customer
was told, their score or why there is none), a substate of ComplaintState with its view beside it.
Only cs_manager sees the button; the service checks the permission and that the complaint is at
回访 (the dialog says so up front when it is not)."""

from __future__ import annotations

import dataclasses
from datetime import date

import reflex as rx

from custapp.components.form import labelled
from custapp.components.shell import T, content_dialog, field_error, form_actions
from custapp.models.complaints import INFORM_WAYS
from custapp.pages.complaint.rows import CloseErrors, errors_for
from custapp.pages.complaint.state import ComplaintState, form_text
from custapp.services import complaints
from custapp.services.complaints import MAX_TEXT
from custapp.vocab import ComplaintStatus

SCORES = ("1", "2", "3", "4", "5")
NO_SCORE = "none"


class CloseComplaintDialog(ComplaintState):
    close_open: bool = False
    close_score: str = ""  # one of SCORES, NO_SCORE or "" for not chosen
    close_errors: CloseErrors = CloseErrors()
    close_error: str = ""
    close_hint: str = ""  # why the service will refuse now ("" at 回访)

    def _clear(self) -> None:
        self.close_open, self.close_errors = False, CloseErrors()

    @rx.event
    def open_close(self):
        self.close_score, self.close_errors, self.close_error = "", CloseErrors(), ""
        status = self.h.status
        self.close_hint = (
            ""
            if status == ComplaintStatus.RETURN_VISIT
            else self._t(
                "complaint_pages.close_not_yet", status=self._t(f"complaint.status.{status}")
            )
        )
        self.close_open = True

    @rx.event
    def set_close_score(self, value: str):
        self.close_score = value if value in (*SCORES, NO_SCORE) else ""
        self.close_errors = dataclasses.replace(
            self.close_errors, satisfaction="", no_score_reason=""
        )

    @rx.event
    def cancel(self):
        self.close_open = False

    @rx.event
    def close_complaint(self, form: dict):
        try:
            informed_on = date.fromisoformat(form_text(form, "informed_on").strip())
        except ValueError:
            informed_on = None
        score = self.close_score
        _, error = self._call(
            complaints.close,
            complaint_id=self._id,
            root_cause=form_text(form, "root_cause"),
            solution=form_text(form, "solution"),
            informed_on=informed_on,
            informed_via=form_text(form, "informed_via"),
            satisfaction=int(score) if score in SCORES else None,
            no_score_reason=form_text(form, "no_score_reason") if score == NO_SCORE else "",
        )
        if error:
            errors = errors_for(CloseErrors, self._field_errors)
            self.close_errors, self.close_error = errors, ("" if errors != CloseErrors() else error)
            return None
        self.close_open = False
        return self._done("complaint_pages.done.close")


# --- the dialog -----------------------------------------------------------------------------------


def _field(field: str, control: rx.Component) -> rx.Component:
    return labelled(
        f"complaint_pages.field.{field}",
        control,
        getattr(CloseComplaintDialog.close_errors, field),
        f"close-{field}",
    )


def _text_area(name: str, element_id: str) -> rx.Component:
    return rx.text_area(name=name, id=element_id, rows="3", max_length=MAX_TEXT, width="100%")


def _informed() -> rx.Component:
    return rx.grid(
        _field(
            "informed_on",
            rx.input(type="date", name="informed_on", id="close-informed-on", width="100%"),
        ),
        _field(
            "informed_via",
            rx.select.root(
                rx.select.trigger(
                    placeholder=T("complaint_pages.choose"),
                    width="100%",
                    data_testid="close-informed-via-select",
                ),
                rx.select.content(
                    *[rx.select.item(T(f"complaint.inform.{w}"), value=w) for w in INFORM_WAYS]
                ),
                name="informed_via",
            ),
        ),
        columns=rx.breakpoints(initial="1", sm="2"),
        spacing="3",
        width="100%",
    )


def _score_choice(value: str, label: rx.Var | str) -> rx.Component:
    return rx.text(
        rx.hstack(rx.radio_group.item(value=value), label, spacing="1", align="center"),
        as_="label",
        size="2",
    )


def _satisfaction() -> rx.Component:
    S = CloseComplaintDialog
    return _field(
        "satisfaction",
        rx.vstack(
            rx.radio_group.root(
                rx.hstack(
                    *[_score_choice(s, s) for s in SCORES],
                    _score_choice(NO_SCORE, T("complaint_pages.no_score")),
                    spacing="4",
                    wrap="wrap",
                ),
                value=S.close_score,
                on_change=S.set_close_score,
                data_testid="close-score",
            ),
            rx.cond(
                S.h.satisfaction != "",
                rx.text(
                    T("complaint_pages.member_scored"),
                    " ",
                    S.h.satisfaction,
                    size="1",
                    color_scheme="gray",
                ),
            ),
            spacing="2",
            width="100%",
        ),
    )


def close_dialog() -> rx.Component:
    S = CloseComplaintDialog
    return content_dialog(
        rx.cond(
            S.close_hint != "",
            rx.callout(
                S.close_hint,
                icon="triangle-alert",
                color_scheme="amber",
                size="1",
                width="100%",
                data_testid="close-not-yet",
            ),
        ),
        rx.form(
            rx.vstack(
                _field("root_cause", _text_area("root_cause", "close-root-cause")),
                _field(
                    "solution",
                    rx.vstack(
                        _text_area("solution", "close-solution"),
                        rx.text(
                            T("complaint_pages.solution_visible"), size="1", color_scheme="gray"
                        ),
                        spacing="1",
                        width="100%",
                    ),
                ),
                _informed(),
                _satisfaction(),
                rx.cond(
                    S.close_score == NO_SCORE,
                    _field(
                        "no_score_reason",
                        rx.input(
                            name="no_score_reason",
                            id="close-no-score-reason",
                            max_length=MAX_TEXT,
                            width="100%",
                        ),
                    ),
                ),
                field_error(S.close_error),
                form_actions(
                    S.cancel, "complaint_pages.action.close", "close-submit", submit_color="green"
                ),
                spacing="3",
                width="100%",
            ),
            on_submit=S.close_complaint,
            width="100%",
        ),
        title=T("complaint_pages.close_title"),
        description=T("complaint_pages.close_note"),
        is_open=S.close_open,
        on_close=S.cancel,
        max_width="640px",
    )
