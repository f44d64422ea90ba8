"""申请补偿 on the complaint page: points, money or a gift for the customer, with a reason; a
cs_manager decides it in 审批. A substate of ComplaintState with its view beside it; the button
shows for a complaint with a customer that is not closed, and the service checks both again."""

from __future__ import annotations

import reflex as rx

from custapp.components.form import labelled
from custapp.components.shell import T, form_dialog
from custapp.models.approvals import COMPENSATION_FORMS
from custapp.pages.complaint.rows import CompensationErrors, errors_for
from custapp.pages.complaint.state import ComplaintState, form_text
from custapp.services import approvals, gifts
from custapp.services.customer_input import parse_fen, row_id
from custapp.states.options import Option


class CompensationDialog(ComplaintState):
    comp_open: bool = False
    comp_form: str = "points"  # one of COMPENSATION_FORMS
    comp_gifts: list[Option] = []  # gift id, its name and points cost
    comp_errors: CompensationErrors = CompensationErrors()
    comp_error: str = ""

    def _clear(self) -> None:
        self.comp_open, self.comp_gifts, self.comp_errors = False, [], CompensationErrors()

    @rx.event
    def open_compensation(self):
        found, error = self._call(gifts.list_gifts, include_inactive=False)
        if error:
            return rx.toast.error(error)
        self.comp_gifts = [
            Option(
                str(g.id),
                self._t("complaint_pages.gift_choice", name=g.name_zh, points=g.points_cost),
            )
            for g in found
            if g.available
        ]
        self.comp_form, self.comp_errors, self.comp_error = "points", CompensationErrors(), ""
        self.comp_open = True
        return None

    @rx.event
    def set_comp_form(self, value: str | list[str]):
        if isinstance(value, str) and value in COMPENSATION_FORMS:
            self.comp_form, self.comp_errors, self.comp_error = value, CompensationErrors(), ""

    @rx.event
    def cancel(self):
        self.comp_open = False

    @rx.event
    def request_compensation(self, form: dict):
        if not self.comp_open:  # a click queued behind the submit that closed the dialog
            return None
        points_text = form_text(form, "points").strip().lstrip("+")
        amount_text = form_text(form, "amount").strip()
        _, error = self._call(
            approvals.request_compensation,
            complaint_id=self._id,
            form=self.comp_form,
            reason=form_text(form, "reason"),
            points=int(points_text) if points_text.isdecimal() and len(points_text) <= 9 else None,
            amount_fen=parse_fen(amount_text)[0] if amount_text else None,
            gift_id=row_id(form_text(form, "gift")) or None,
        )
        if error:
            errors = errors_for(CompensationErrors, self._field_errors)
            self.comp_errors, self.comp_error = (
                errors,
                ("" if errors != CompensationErrors() else error),
            )
            return None
        self.comp_open, self.comp_gifts = False, []
        return self._done("complaint_pages.done.compensate")


def _amount_field(errors: rx.Var) -> rx.Component:
    return labelled(
        "complaint_pages.field.comp_amount",
        rx.input(
            name="amount", placeholder="50.00", input_mode="decimal", data_testid="comp-amount"
        ),
        errors.amount,
        "comp-amount-field",
    )


def _gift_field(errors: rx.Var) -> rx.Component:
    S = CompensationDialog
    return labelled(
        "complaint_pages.field.comp_gift",
        rx.cond(
            S.comp_gifts.length() > 0,
            rx.el.select(
                rx.foreach(S.comp_gifts, lambda g: rx.el.option(g.label, value=g.value)),
                name="gift",
                data_testid="comp-gift",
                style={"width": "100%", "padding": "6px"},
            ),
            rx.text(T("complaint_pages.no_gifts"), size="2", color_scheme="gray"),
        ),
        errors.gift,
        "comp-gift-field",
    )


def _points_field(errors: rx.Var) -> rx.Component:
    return labelled(
        "complaint_pages.field.comp_points",
        rx.input(name="points", placeholder="100", input_mode="numeric", data_testid="comp-points"),
        errors.points,
        "comp-points-field",
    )


def compensation_dialog() -> rx.Component:
    S = CompensationDialog
    e = S.comp_errors
    return form_dialog(
        rx.text(T("complaint_pages.compensation_hint"), size="2", color_scheme="gray"),
        labelled(
            "complaint_pages.field.comp_form",
            rx.segmented_control.root(
                *[
                    rx.segmented_control.item(T(f"complaint_pages.comp_form.{f}"), value=f)
                    for f in COMPENSATION_FORMS
                ],
                value=S.comp_form,
                on_change=S.set_comp_form,
                width="100%",
                data_testid="comp-form",
            ),
            e.form,
            "comp-form-field",
        ),
        rx.match(
            S.comp_form,
            ("money", _amount_field(e)),
            ("gift", _gift_field(e)),
            _points_field(e),
        ),
        labelled(
            "complaint_pages.field.comp_reason",
            rx.text_area(
                name="reason", rows="3", max_length=500, width="100%", data_testid="comp-reason"
            ),
            e.reason,
            "comp-reason-field",
        ),
        title=T("complaint_pages.action.compensate"),
        is_open=S.comp_open,
        on_close=S.cancel,
        on_submit=S.request_compensation,
        error=S.comp_error,
        submit_label="complaint_pages.comp_submit",
        submit_testid="comp-submit",
        stack_props={"width": "100%"},
    )
