"""CustomerFormState: 新建客户 and 编辑档案, and the form's values as the services' input."""

from __future__ import annotations

import dataclasses

import reflex as rx

from custapp.components.consent import (
    ConsentChoice,
    NoticeView,
    answer_errors,
    notice_rows,
    read_answers,
)
from custapp.pages.customer_form.rows import (
    CHOICE_FIELDS,
    TEXT_FIELDS,
    ContactRow,
    DuplicateRow,
    FieldValues,
    field_values,
)
from custapp.services import consent, customer_profile, customers
from custapp.services.customer_fields import FIELDS
from custapp.services.customer_input import MAX_CONTACTS
from custapp.services.errors import DomainError, ValidationFailed
from custapp.states.session import SessionState


def _is_sensitive(name: str) -> bool:
    spec = FIELDS.get(name)
    return bool(spec and 1 <= spec.level <= 3)


def _text(form: dict, name: str) -> str:
    return str(form.get(name, "") or "").strip()


def contact_inputs(form: dict, rows: list[ContactRow]) -> list[customers.ContactInput]:
    """One input per row of the form, in row order (the service reports errors by position).
    A stored contact (its id is in the server-side row, never read from the form) whose phone
    field is left empty keeps its stored phone."""
    inputs = []
    for row in rows:
        contact_id = row.id or None
        phone = _text(form, f"contact_phone_{row.key}")
        inputs.append(
            customers.ContactInput(
                name=_text(form, f"contact_name_{row.key}"),
                title=_text(form, f"contact_title_{row.key}"),
                phone=None if contact_id and not phone else phone,
                id=contact_id,
            )
        )
    return inputs


def customer_input(
    form: dict, kind: str, *, editing: bool = False, rows: list[ContactRow] | None = None
) -> customers.CustomerInput:
    """The form's values as the service's input (strings; the service validates)."""
    values: dict[str, str | None] = {
        name: _text(form, name) for name in (*TEXT_FIELDS, *CHOICE_FIELDS)
    }
    if editing:
        for name, value in values.items():
            if _is_sensitive(name) and not value:
                values[name] = None  # keep what is stored
    contacts = contact_inputs(form, rows or []) if kind == "organisation" else []
    return customers.CustomerInput(kind=kind, tags=_tags(form), contacts=contacts, **values)


def _tags(form: dict) -> list[str]:
    return [t.strip() for t in str(form.get("tags", "")).replace("，", ",").split(",") if t.strip()]


def create_with_consents(
    session,  # noqa: ANN001
    *,
    actor,  # noqa: ANN001
    data: customers.CustomerInput,
    answers: dict[str, str],
    evidence_ref: str,
    precheck: dict[str, str],
    notice_version: int,
) -> customers.CustomerRef:
    """The customer and the answers to the notice the page showed, in the caller's one
    transaction: an error in either saves nothing, and the messages of both show at once."""
    try:
        ref = customers.create_customer(session, actor=actor, data=data)
    except ValidationFailed as exc:
        raise ValidationFailed({**precheck, **exc.errors}) from None
    if precheck:
        raise ValidationFailed(precheck)
    current = consent.current_notice(session)
    if current is None:
        raise DomainError("consent.error.no_notice")
    if current.version != notice_version:  # a newer version was published: not what was shown
        raise ValidationFailed({"notice_shown": "consent.counter.notice_changed"})
    if answers or evidence_ref.strip():  # the signed form, even when every purpose was skipped
        consent.record_consents(
            session,
            actor=actor,
            customer_id=ref.id,
            choices=answers,
            channel="counter",
            evidence_ref=evidence_ref,
        )
    return ref


class CustomerFormState(SessionState):
    kind: str = "individual"
    errors: dict[str, str] = {}
    form_error: str = ""
    duplicates: list[DuplicateRow] = []
    editing_id: int = 0
    editing_number: str = ""
    prefill: FieldValues = FieldValues()
    placeholders: FieldValues = FieldValues()  # the stored sensitive values, masked
    form_key: int = 0
    # contact persons. Ids stay on the server's side of the form: the browser never names a
    # contact, only a row's key.
    contact_rows: list[ContactRow] = []
    _row_seq: int = 0
    # the counter's consent step (a new customer only)
    notice: NoticeView = NoticeView()
    consent_choices: list[ConsentChoice] = []
    _notice_version: int = 0

    def _row(
        self, contact_id: int = 0, name: str = "", title: str = "", masked: str = ""
    ) -> ContactRow:
        self._row_seq += 1
        return ContactRow(f"r{self._row_seq}", contact_id, name, title, masked)

    @rx.event
    def load(self):
        raw = str(self.router.page.params.get("cid", ""))
        _, redirect = self._enter("customer.update" if raw else "customer.create")
        if redirect:
            return redirect
        self.errors, self.form_error, self.duplicates, self.kind = {}, "", [], "individual"
        self.editing_id, self.editing_number = 0, ""
        self.prefill, self.placeholders = FieldValues(), FieldValues()
        self.contact_rows = [self._row()]
        self.form_key += 1
        if not raw:
            self._load_notice()
            return None
        profile, error = self._call(
            customer_profile.get_profile, customer_id=int(raw) if raw.isdecimal() else 0
        )
        if error:
            return [rx.redirect("/customers"), rx.toast.error(error)]
        self.editing_id, self.editing_number, self.kind = profile.id, profile.number, profile.kind
        self.prefill = field_values(
            {**profile.general, "notes": profile.notes, "tags": ", ".join(profile.tags)}
        )
        self.placeholders = field_values(
            {s.field: s.masked for s in profile.sensitive if s.present}
        )
        stored = [self._row(c.id, c.name, c.title, c.phone_masked) for c in profile.contacts]
        self.contact_rows = stored or [self._row()]
        return None

    def _load_notice(self) -> None:
        text, _ = self._call(lambda session, actor: consent.notice_text(session))
        self.notice, self.consent_choices = notice_rows(text)
        self._notice_version = text.version if text else 0

    @rx.event
    def set_kind(self, kind: str | list[str]):
        if self.editing_id:
            return  # the kind is fixed once the customer exists
        self.kind = "organisation" if kind == "organisation" else "individual"
        self.errors, self.duplicates = {}, []

    @rx.event
    def add_contact(self):
        if len(self.contact_rows) < MAX_CONTACTS:
            self.contact_rows = [*self.contact_rows, self._row()]

    @rx.event
    def remove_contact(self, key: str):
        """Takes the row off the form; a stored contact is removed when the form is saved."""
        self.contact_rows = [row for row in self.contact_rows if row.key != key]

    def _show_errors(self) -> None:
        errors = dict(self._field_errors)
        self.contact_rows = [
            dataclasses.replace(row, error=errors.pop(f"contact_{position}", ""))
            for position, row in enumerate(self.contact_rows)
        ]
        self.errors = errors

    @rx.event
    def submit(self, form: dict):
        if self.editing_id:
            return self._save_edit(form)
        data = customer_input(form, self.kind, rows=self.contact_rows)
        confirmed = bool(form.get("confirm_duplicates"))
        if not confirmed:
            found, error = self._call(customers.find_duplicates, data=data)
            if error is None and found:
                self.duplicates = [
                    DuplicateRow(d.id, d.number, d.name, self._t(d.reason)) for d in found
                ]
                self.errors, self.form_error = {}, self._t("customer.dup.found")
                return None
        answers = read_answers(form, self.consent_choices)
        ref, error = self._call(
            create_with_consents,
            data=data,
            answers=answers,
            evidence_ref=str(form.get("evidence_ref", "")),
            precheck=answer_errors(form, answers),
            notice_version=self._notice_version,
        )
        self._show_errors()
        if error:
            self.form_error = error
            if "notice_shown" in self.errors:
                self._load_notice()  # show the version now in force
            return None
        self.form_error, self.duplicates = "", []
        return [
            rx.toast.success(self._t("customer.created", number=ref.number)),
            rx.redirect(f"/customers/{ref.id}"),
        ]

    def _save_edit(self, form: dict):
        data = customer_input(form, self.kind, editing=True, rows=self.contact_rows)
        changed, error = self._call(
            customers.update_customer, customer_id=self.editing_id, data=data
        )
        self._show_errors()
        if error:
            self.form_error = error
            return None
        self.form_error = ""
        message = self._t("customer.updated", count=len(changed))
        return [rx.toast.success(message), rx.redirect(f"/customers/{self.editing_id}")]
