"""The complaint intake draft (SPEC §5 intake) as a state mixin, used by the profile's 投诉 tab and
/complaints/new (see pages/complaint_intake.py for how the draft is kept)."""

from __future__ import annotations

import dataclasses

import reflex as rx

from custapp.models.complaints import CATEGORIES, SEVERITIES
from custapp.services import complaints
from custapp.services.complaints import MAX_TEXT, STAFF_CHANNELS

CHOICES: dict[str, tuple[str, ...]] = {
    "channel": STAFF_CHANNELS,
    "category": CATEGORIES,
    "severity": SEVERITIES,
}
TEXTS = ("description", "desired", "contact")
FIELDS = (*CHOICES, *TEXTS)


@dataclasses.dataclass(frozen=True)
class IntakeDraft:
    """The intake form's fields as typed or chosen ("" for none yet)."""

    channel: str = ""
    category: str = ""
    severity: str = "normal"
    description: str = ""
    desired: str = ""
    contact: str = ""


class IntakeMixin(rx.State, mixin=True):
    """The intake draft of a page state; the state files it with `_file_draft(customer_id)`."""

    intake: IntakeDraft = IntakeDraft()
    intake_errors: dict[str, str] = {}
    intake_error: str = ""
    _draft: IntakeDraft = IntakeDraft()

    def _show_draft(self) -> None:
        self.intake = self._draft

    def _hide_draft(self) -> None:
        """Only the browser's copy: the draft stays on the server."""
        self.intake, self.intake_errors, self.intake_error = IntakeDraft(), {}, ""

    def _drop_draft(self) -> None:
        self._draft = IntakeDraft()
        self._hide_draft()

    @rx.event
    def set_intake(self, field: str, value: str):
        """One field as typed or chosen (any browser may send anything: unknown fields and
        choices are ignored, text is cut at the service's limit)."""
        if field not in FIELDS:
            return
        text = value if isinstance(value, str) else ""
        if field in CHOICES and text not in CHOICES[field]:
            return
        text = text[:MAX_TEXT]
        self._draft = dataclasses.replace(self._draft, **{field: text})
        self.intake = dataclasses.replace(self.intake, **{field: text})
        if field in self.intake_errors:
            self.intake_errors = {k: v for k, v in self.intake_errors.items() if k != field}

    def _take_form(self, form: object) -> None:
        """The text as the form shows it at submit (the last keystrokes may still be waiting
        for their debounced on_change)."""
        if isinstance(form, dict):
            for field in TEXTS:
                if isinstance(form.get(field), str):
                    self._draft = dataclasses.replace(
                        self._draft, **{field: form[field][:MAX_TEXT]}
                    )

    def _file_draft(
        self, customer_id: int | None, form: object = None
    ) -> complaints.ComplaintRow | None:
        """File the draft for `customer_id` (None: an anonymous walk-in, with the contact).
        On an error the field errors stand next to their fields and the draft stays."""
        self._take_form(form)
        d = self._draft
        row, error = self._call(
            complaints.file_complaint,
            customer_id=customer_id,
            channel=d.channel,
            category=d.category,
            severity=d.severity,
            description=d.description,
            desired=d.desired,
            contact=d.contact if customer_id is None else "",
        )
        self._show_draft()
        self.intake_errors = {f: m for f, m in self._field_errors.items() if f in FIELDS}
        if error:
            self.intake_error = "" if self.intake_errors else error
            return None
        self._drop_draft()
        return row
