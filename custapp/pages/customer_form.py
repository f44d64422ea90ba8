"""新建客户 and 编辑档案 at the counter: only name and one contact method are required, and each
optional field says why it is asked (minimum collection). Duplicate candidates are shown before
saving. Editing never puts a stored sensitive value into the form: a sensitive field left empty
keeps its value; what is typed replaces it."""

from __future__ import annotations

import reflex as rx

from custapp.components.shell import T, field_error, page
from custapp.services import customer_profile, customers
from custapp.services.customer_fields import FIELDS, GENDERS, ID_TYPES, NATURES, SOURCE_CHANNELS
from custapp.states.session import SessionState

TEXT_FIELDS = (
    "name", "phone", "phone2", "email", "address", "id_number", "birth_date", "employer",
    "occupation", "uscc", "legal_representative", "registered_capital", "founding_date",
    "industry", "size", "notes",
)  # fmt: skip
CHOICE_FIELDS = ("gender", "nature", "source_channel", "id_type")
CONTACT_ROWS = 3


def _is_sensitive(name: str) -> bool:
    spec = FIELDS.get(name)
    return bool(spec and 1 <= spec.level <= 3)


def customer_input(form: dict, kind: str, *, editing: bool = False) -> customers.CustomerInput:
    """The form's values as the service's input (strings; the service validates)."""
    values: dict[str, str | None] = {
        name: str(form.get(name, "") or "").strip() for name in (*TEXT_FIELDS, *CHOICE_FIELDS)
    }
    if editing:
        for name, value in values.items():
            if _is_sensitive(name) and not value:
                values[name] = None  # keep what is stored
        if kind == "organisation":
            return customers.CustomerInput(kind=kind, tags=_tags(form), contacts=None, **values)
    contacts = [
        customers.ContactInput(
            name=str(form.get(f"contact_name_{i}", "")).strip(),
            title=str(form.get(f"contact_title_{i}", "")).strip(),
            phone=str(form.get(f"contact_phone_{i}", "")).strip(),
        )
        for i in range(CONTACT_ROWS)
        if str(form.get(f"contact_name_{i}", "")).strip()
    ]
    return customers.CustomerInput(kind=kind, tags=_tags(form), contacts=contacts, **values)


def _tags(form: dict) -> list[str]:
    return [t.strip() for t in str(form.get("tags", "")).replace("，", ",").split(",") if t.strip()]


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

    @rx.event
    def load(self):
        raw = str(self.router.page.params.get("cid", ""))
        _, redirect = self._enter("customer.update" if raw else "customer.create")
        if redirect:
            return redirect
        self.errors, self.form_error, self.duplicates, self.kind = {}, "", [], "individual"
        self.editing_id, self.editing_number, self.prefill, self.placeholders = 0, "", {}, {}
        self.form_key += 1
        if not raw:
            return None
        profile, error = self._call(
            customer_profile.get_profile, customer_id=int(raw) if raw.isdigit() else 0
        )
        if error:
            return [rx.redirect("/customers"), rx.toast.error(error)]
        self.editing_id, self.editing_number, self.kind = profile.id, profile.number, profile.kind
        self.prefill = {k: v for k, v in profile.general.items() if v}
        self.prefill["notes"] = profile.notes
        self.prefill["tags"] = ", ".join(profile.tags)
        self.placeholders = {s.field: s.masked for s in profile.sensitive if s.present}
        return None

    @rx.event
    def set_kind(self, kind: str | list[str]):
        self.kind = "organisation" if kind == "organisation" else "individual"
        self.errors, self.duplicates = {}, []

    @rx.event
    def submit(self, form: dict):
        if self.editing_id:
            return self._save_edit(form)
        data = customer_input(form, self.kind)
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
        ref, error = self._call(customers.create_customer, data=data)
        self.errors = dict(self._field_errors)
        if error:
            self.form_error = error
            return None
        self.form_error, self.duplicates = "", []
        return [
            rx.toast.success(self._t("customer.created", number=ref.number)),
            rx.redirect(f"/customers/{ref.id}"),
        ]

    def _save_edit(self, form: dict):
        data = customer_input(form, self.kind, editing=True)
        changed, error = self._call(
            customers.update_customer, customer_id=self.editing_id, data=data
        )
        self.errors = dict(self._field_errors)
        if error:
            self.form_error = error
            return None
        self.form_error = ""
        message = self._t("customer.updated", count=len(changed))
        return [rx.toast.success(message), rx.redirect(f"/customers/{self.editing_id}")]


def _hint(name: str) -> rx.Component:
    return rx.text(T(f"customer.why.{name}"), size="1", color_scheme="gray")


def _field(
    name: str, *, required: bool = False, type_: str = "text", placeholder: str = ""
) -> rx.Component:
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
            width="100%",
        ),
        field_error(CustomerFormState.errors.get(name, "")),
        rx.cond(not required, _hint(name)),
        spacing="1",
        width="100%",
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
        field_error(CustomerFormState.errors.get(name, "")),
        _hint(name),
        spacing="1",
        width="100%",
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


def _contacts() -> rx.Component:
    rows = [
        rx.hstack(
            rx.input(name=f"contact_name_{i}", placeholder=T("customer.contact.name")),
            rx.input(name=f"contact_title_{i}", placeholder=T("customer.contact.title")),
            rx.input(name=f"contact_phone_{i}", placeholder=T("customer.contact.phone")),
            spacing="2",
        )
        for i in range(CONTACT_ROWS)
    ]
    return rx.card(
        rx.vstack(
            rx.heading(T("customer.section.contacts"), size="3"),
            *rows,
            field_error(CustomerFormState.errors.get("contacts", "")),
            spacing="2",
        ),
        width="100%",
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
                        spacing="1",
                        width="100%",
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
                        rx.cond(S.editing_id == 0, _contacts()),
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
