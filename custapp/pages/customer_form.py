"""新建客户 and 编辑档案 at the counter: only name and one contact method are required, and each
optional field says why it is asked (minimum collection). Duplicate candidates are shown before
saving. Editing never puts a stored sensitive value into the form: a sensitive field left empty
keeps its value; what is typed replaces it. The same holds for an organisation's contact persons,
which are listed, changed, added and removed on the form (their phones shown masked).

A new customer is saved only with the privacy notice shown (002 CON-01): the form shows the
current notice and asks each consent-based purpose on its own, nothing preselected (000 CN-06);
the customer and the answers are saved in one transaction, with the signed form's number as the
written evidence (000 CN-03)."""

from __future__ import annotations

import reflex as rx

from custapp.components.shell import T, page
from custapp.pages.profile_consents import (
    answer_errors,
    consent_choices,
    evidence_field,
    notice_panel,
    notice_shown_field,
    notice_vars,
    read_answers,
)
from custapp.services import consent, customer_profile, customers
from custapp.services.customer_fields import FIELDS, GENDERS, ID_TYPES, NATURES, SOURCE_CHANNELS
from custapp.services.customer_input import MAX_CONTACTS
from custapp.services.errors import DomainError, ValidationFailed
from custapp.states.session import SessionState

TEXT_FIELDS = (
    "name", "phone", "phone2", "email", "address", "id_number", "birth_date", "employer",
    "occupation", "uscc", "legal_representative", "registered_capital", "founding_date",
    "industry", "size", "notes",
)  # fmt: skip
CHOICE_FIELDS = ("gender", "nature", "source_channel", "id_type")


def _is_sensitive(name: str) -> bool:
    spec = FIELDS.get(name)
    return bool(spec and 1 <= spec.level <= 3)


def _text(form: dict, name: str) -> str:
    return str(form.get(name, "") or "").strip()


def contact_inputs(form: dict, rows: list[dict[str, str]]) -> list[customers.ContactInput]:
    """One input per row of the form, in row order (the service reports errors by position).
    A stored contact (its id is in the server-side row, never read from the form) whose phone
    field is left empty keeps its stored phone."""
    inputs = []
    for row in rows:
        key = row["key"]
        contact_id = int(row["id"]) if row.get("id", "").isdecimal() else None
        phone = _text(form, f"contact_phone_{key}")
        inputs.append(
            customers.ContactInput(
                name=_text(form, f"contact_name_{key}"),
                title=_text(form, f"contact_title_{key}"),
                phone=None if contact_id and not phone else phone,
                id=contact_id,
            )
        )
    return inputs


def customer_input(
    form: dict, kind: str, *, editing: bool = False, rows: list[dict[str, str]] | None = None
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
    duplicates: list[dict[str, str]] = []
    editing_id: int = 0
    editing_number: str = ""
    prefill: dict[str, str] = {}
    placeholders: dict[str, str] = {}
    form_key: int = 0
    # contact persons: key (names the row's inputs), id ("" = new), name, title, masked phone,
    # error. Ids stay on the server's side of the form: the browser never names a contact.
    contact_rows: list[dict[str, str]] = []
    _row_seq: int = 0
    # the counter's consent step (a new customer only)
    notice: dict[str, str] = {}
    consent_choices: list[dict[str, str]] = []
    _notice_version: int = 0

    def _row(
        self, contact_id: str = "", name: str = "", title: str = "", masked: str = ""
    ) -> dict[str, str]:
        self._row_seq += 1
        return {
            "key": f"r{self._row_seq}",
            "id": contact_id,
            "name": name,
            "title": title,
            "masked": masked,
            "error": "",
        }

    @rx.event
    def load(self):
        raw = str(self.router.page.params.get("cid", ""))
        _, redirect = self._enter("customer.update" if raw else "customer.create")
        if redirect:
            return redirect
        self.errors, self.form_error, self.duplicates, self.kind = {}, "", [], "individual"
        self.editing_id, self.editing_number, self.prefill, self.placeholders = 0, "", {}, {}
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
        self.prefill = {k: v for k, v in profile.general.items() if v}
        self.prefill["notes"] = profile.notes
        self.prefill["tags"] = ", ".join(profile.tags)
        self.placeholders = {s.field: s.masked for s in profile.sensitive if s.present}
        stored = [self._row(str(c.id), c.name, c.title, c.phone_masked) for c in profile.contacts]
        self.contact_rows = stored or [self._row()]
        return None

    def _load_notice(self) -> None:
        text, _ = self._call(lambda session, actor: consent.notice_text(session))
        self.notice, self.consent_choices = notice_vars(text)
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
        self.contact_rows = [row for row in self.contact_rows if row["key"] != key]

    def _show_errors(self) -> None:
        errors = dict(self._field_errors)
        rows = []
        for position, row in enumerate(self.contact_rows):
            rows.append({**row, "error": errors.pop(f"contact_{position}", "")})
        self.contact_rows, self.errors = rows, errors

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
                    {
                        "id": str(d.id),
                        "number": d.number,
                        "name": d.name,
                        "reason": self._t(d.reason),
                    }
                    for d in found
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


def _hint(name: str) -> rx.Component:
    return rx.text(T(f"customer.why.{name}"), size="1", color_scheme="gray")


def _error(message: rx.Var, name: str) -> rx.Component:
    """The message next to its field (SPEC §6); `error-<field>` names it for tests and readers."""
    return rx.cond(
        message != "",
        rx.text(
            message,
            color_scheme="red",
            size="1",
            id=f"error-{name}",
            role="alert",
            data_testid="field-error",
        ),
    )


def _field(
    name: str, *, required: bool = False, type_: str = "text", placeholder: str = ""
) -> rx.Component:
    message = CustomerFormState.errors.get(name, "")
    return rx.vstack(
        rx.text(
            T(f"customer.field.{name}"),
            rx.cond(required, rx.text.span(" *", color="red")),
            size="2",
            weight="medium",
        ),
        rx.input(
            name=name,
            id=f"f-{name}",
            type=type_,
            default_value=CustomerFormState.prefill.get(name, ""),
            placeholder=CustomerFormState.placeholders.get(name, placeholder),
            aria_invalid=rx.cond(message != "", "true", "false"),
            aria_describedby=f"error-{name}",
            width="100%",
        ),
        _error(message, name),
        rx.cond(not required, _hint(name)),
        spacing="1",
        width="100%",
        data_testid=f"field-{name}",
    )


def _choice(name: str, options: tuple[str, ...]) -> rx.Component:
    return rx.vstack(
        rx.text(T(f"customer.field.{name}"), size="2", weight="medium"),
        rx.select.root(
            rx.select.trigger(placeholder=T("common.choose"), width="100%"),
            rx.select.content(
                *[rx.select.item(T(f"customer.{name}.{o}"), value=o) for o in options]
            ),
            name=name,
            default_value=CustomerFormState.prefill.get(name, ""),
        ),
        _error(CustomerFormState.errors.get(name, ""), name),
        _hint(name),
        spacing="1",
        width="100%",
        data_testid=f"field-{name}",
    )


def _section(title: str, *children: rx.Component) -> rx.Component:
    return rx.card(
        rx.vstack(
            rx.heading(T(title), size="3"),
            rx.grid(*children, columns="3", spacing="4", width="100%"),
            spacing="3",
        ),
        width="100%",
    )


def _contact_row(row: rx.Var) -> rx.Component:
    key = row["key"].to(str)
    stored = row["id"] != ""
    return rx.vstack(
        rx.hstack(
            rx.input(
                name="contact_name_" + key,
                default_value=row["name"],
                placeholder=T("customer.contact.name"),
                aria_label=T("customer.contact.name"),
            ),
            rx.input(
                name="contact_title_" + key,
                default_value=row["title"],
                placeholder=T("customer.contact.title"),
                aria_label=T("customer.contact.title"),
            ),
            rx.input(
                name="contact_phone_" + key,
                placeholder=rx.cond(
                    row["masked"] != "", row["masked"], T("customer.contact.phone")
                ),
                aria_label=T("customer.contact.phone"),
            ),
            rx.icon_button(
                rx.icon("trash-2", size=14),
                type="button",
                variant="soft",
                color_scheme="gray",
                aria_label=T("customer.contact.remove"),
                title=T("customer.contact.remove"),
                on_click=CustomerFormState.remove_contact(key),
                data_testid="contact-remove",
            ),
            spacing="2",
            align="center",
        ),
        rx.cond(
            row["error"] != "",
            rx.text(
                row["error"], color_scheme="red", size="1", role="alert", data_testid="field-error"
            ),
        ),
        spacing="1",
        key=key,
        data_testid=rx.cond(stored, "contact-row-stored", "contact-row-new"),
    )


def _contacts() -> rx.Component:
    S = CustomerFormState
    return rx.card(
        rx.vstack(
            rx.heading(T("customer.section.contacts"), size="3"),
            rx.cond(
                S.editing_id != 0,
                rx.text(T("customer.contact.keep_phone"), size="1", color_scheme="gray"),
            ),
            rx.foreach(S.contact_rows, _contact_row),
            _error(S.errors.get("contacts", ""), "contacts"),
            rx.button(
                rx.icon("plus", size=14),
                T("customer.contact.add"),
                type="button",
                variant="soft",
                size="1",
                on_click=S.add_contact,
                disabled=S.contact_rows.length() >= MAX_CONTACTS,
                data_testid="contact-add",
            ),
            spacing="2",
        ),
        width="100%",
        data_testid="field-contacts",
    )


def _duplicates() -> rx.Component:
    S = CustomerFormState
    return rx.cond(
        S.duplicates.length() > 0,
        rx.callout(
            rx.vstack(
                rx.text(T("customer.dup.found")),
                rx.foreach(
                    S.duplicates,
                    lambda d: rx.hstack(
                        rx.link(
                            d["number"],
                            " ",
                            d["name"],
                            href="/customers/" + d["id"],
                            is_external=False,
                        ),
                        rx.badge(d["reason"], color_scheme="amber"),
                    ),
                ),
                rx.checkbox(
                    T("customer.dup.confirm"),
                    name="confirm_duplicates",
                    data_testid="confirm-duplicates",
                ),
                spacing="1",
            ),
            icon="users",
            color_scheme="amber",
            width="100%",
            data_testid="duplicates",
        ),
    )


def _consent_step() -> rx.Component:
    S = CustomerFormState
    return rx.card(
        rx.vstack(
            rx.heading(T("consent.counter.section"), size="3"),
            rx.text(T("consent.counter.intro"), size="2", color_scheme="gray"),
            notice_panel(S.notice),
            consent_choices(S.consent_choices, S.errors),
            rx.grid(
                evidence_field(S.errors, "consent.counter.evidence_hint"),
                rx.box(
                    notice_shown_field(S.errors),
                    padding_top=rx.breakpoints(initial="0", md="26px"),
                ),
                columns=rx.breakpoints(initial="1", md="2"),
                spacing="5",
                width="100%",
            ),
            spacing="3",
            width="100%",
        ),
        width="100%",
        data_testid="consent-step",
    )


def customer_form_page() -> rx.Component:
    S = CustomerFormState
    individual = S.kind == "individual"
    return page(
        "customers.form",
        rx.form(
            rx.vstack(
                rx.cond(
                    S.editing_id == 0,
                    rx.segmented_control.root(
                        rx.segmented_control.item(
                            T("customer.kind.individual"), value="individual"
                        ),
                        rx.segmented_control.item(
                            T("customer.kind.organisation"), value="organisation"
                        ),
                        value=S.kind,
                        on_change=S.set_kind,
                    ),
                    rx.callout(
                        T("customer.edit_hint") + " " + S.editing_number,
                        icon="pencil",
                        width="100%",
                    ),
                ),
                rx.text(T("customer.minimum_collection"), size="2", color_scheme="gray"),
                _section(
                    "customer.section.basic",
                    _field("name", required=True),
                    rx.cond(individual, _choice("gender", GENDERS)),
                    _choice("nature", NATURES),
                    _choice("source_channel", SOURCE_CHANNELS),
                    rx.vstack(
                        rx.text(T("customer.tags"), size="2", weight="medium"),
                        rx.input(
                            name="tags",
                            default_value=CustomerFormState.prefill.get("tags", ""),
                            placeholder=T("customer.tags_hint"),
                            width="100%",
                        ),
                        _error(CustomerFormState.errors.get("tags", ""), "tags"),
                        spacing="1",
                        width="100%",
                        data_testid="field-tags",
                    ),
                ),
                _section(
                    "customer.section.contact",
                    _field("phone"),
                    _field("phone2"),
                    _field("email", type_="email"),
                    _field("address"),
                ),
                rx.cond(
                    individual,
                    _section(
                        "customer.section.identity",
                        _choice("id_type", ID_TYPES),
                        _field("id_number"),
                        _field("birth_date", type_="date"),
                        _field("employer"),
                        _field("occupation"),
                    ),
                    rx.fragment(
                        _section(
                            "customer.section.organisation",
                            _field("uscc"),
                            _field("legal_representative"),
                            _field("registered_capital", placeholder="100000.00"),
                            _field("founding_date", type_="date"),
                            _field("industry"),
                            _field("size"),
                        ),
                        _contacts(),
                    ),
                ),
                rx.card(
                    rx.vstack(
                        rx.text(T("customer.field.notes"), size="2", weight="medium"),
                        rx.text_area(
                            name="notes",
                            default_value=CustomerFormState.prefill.get("notes", ""),
                            width="100%",
                            rows="3",
                        ),
                        _hint("notes"),
                        spacing="1",
                    ),
                    width="100%",
                ),
                rx.cond(S.editing_id == 0, _consent_step()),
                _duplicates(),
                rx.cond(
                    S.form_error != "",
                    rx.text(S.form_error, color_scheme="red", data_testid="form-error"),
                ),
                rx.hstack(
                    rx.link(
                        rx.button(
                            T("common.cancel"), variant="soft", color_scheme="gray", type="button"
                        ),
                        href="/customers",
                    ),
                    rx.button(
                        T("customer.save"), type="submit", size="3", data_testid="customer-save"
                    ),
                    justify="end",
                    width="100%",
                ),
                spacing="4",
                width="100%",
            ),
            on_submit=S.submit,
            reset_on_submit=False,
            custom_attrs={"method": "post"},
            key=S.form_key,
        ),
    )
