"""The complaint intake form fields, bound to a state with IntakeMixin (states/complaint_intake.py)
passed in as `S`."""

from __future__ import annotations

import reflex as rx

from custapp.components.form import labelled
from custapp.components.shell import T, field_error
from custapp.services.complaints import MAX_TEXT
from custapp.states.complaint_intake import CHOICES


def _choice(S, field: str, placeholder: str) -> rx.Component:  # noqa: ANN001, N803
    return labelled(
        f"complaint_pages.field.{field}",
        rx.select.root(
            rx.select.trigger(
                placeholder=T(placeholder), width="100%", data_testid=f"intake-{field}-select"
            ),
            rx.select.content(
                *[
                    rx.select.item(T(f"complaint.{field}.{value}"), value=value)
                    for value in CHOICES[field]
                ]
            ),
            value=getattr(S.intake, field),
            on_change=lambda v: S.set_intake(field, v),
        ),
        S.intake_errors.get(field, ""),
        f"intake-{field}",
    )


def _text(S, field: str, rows: str, hint: str) -> rx.Component:  # noqa: ANN001, N803
    return labelled(
        f"complaint_pages.field.{field}",
        rx.text_area(
            value=getattr(S.intake, field),
            on_change=lambda v: S.set_intake(field, v),
            debounce_timeout=300,
            name=field,
            id=f"intake-{field}",
            rows=rows,
            max_length=MAX_TEXT,
            placeholder=T(hint),
            width="100%",
        ),
        S.intake_errors.get(field, ""),
        f"intake-{field}",
    )


def contact_field(S) -> rx.Component:  # noqa: ANN001, N803
    return labelled(
        "complaint_pages.field.contact",
        rx.input(
            value=S.intake.contact,
            on_change=lambda v: S.set_intake("contact", v),
            debounce_timeout=300,
            name="contact",
            id="intake-contact",
            max_length=200,
            placeholder=T("complaint_pages.contact_hint"),
            width="100%",
        ),
        S.intake_errors.get("contact", ""),
        "intake-contact",
    )


def intake_fields(S) -> list[rx.Component]:  # noqa: ANN001, N803
    """The intake fields of a state with IntakeMixin: channel, category, severity, what happened
    and what the customer wants."""
    return [
        rx.grid(
            _choice(S, "channel", "complaint_pages.choose"),
            _choice(S, "category", "complaint_pages.choose"),
            _choice(S, "severity", "complaint_pages.choose"),
            columns=rx.breakpoints(initial="1", sm="3"),
            spacing="3",
            width="100%",
        ),
        _text(S, "description", "5", "complaint_pages.description_hint"),
        _text(S, "desired", "2", "complaint_pages.desired_hint"),
        rx.text(T("complaint_pages.draft_kept"), size="1", color_scheme="gray"),
    ]


def intake_error(S) -> rx.Component:  # noqa: ANN001, N803
    return field_error(rx.cond(S.intake_errors.length() > 0, "", S.intake_error))
