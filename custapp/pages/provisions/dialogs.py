"""The page's dialogs, each a substate of ProvisionsState holding its own vars: a recipient
added or edited, the customers of one provision (a page at a time), a 依法披露 recorded.

A dialog reads and refreshes the page's lists through the vars and helpers it inherits."""

from __future__ import annotations

import reflex as rx

from custapp import clock
from custapp.components.shell import T, content_dialog, form_dialog, pager
from custapp.pages.provisions.rows import ProvidedCustomerRow, RecipientRow
from custapp.pages.provisions.state import ProvisionsState, toggled
from custapp.pages.provisions.widgets import categories, field
from custapp.services import provision
from custapp.states.paging import PagedMixin

CUSTOMERS_PAGE_SIZE = 10
RECIPIENT_FIELDS = ("name", "contact", "nda_reference", "nda_signed_on", "oversight_note")
DISCLOSURE_FIELDS = (
    "customer_number",
    "authority",
    "legal_basis",
    "document_reference",
    "disclosed_on",
    "harm_note",
)


class RecipientDialogState(ProvisionsState):
    is_open: bool = False
    editing: int = 0  # the recipient's id, 0: a new one
    values: RecipientRow = RecipientRow()  # what the fields start with
    errors: dict[str, str] = {}
    error: str = ""

    def _clear(self) -> None:
        self.is_open = False

    def _start(self, recipient: RecipientRow) -> None:
        self.today = clock.local_today().isoformat()
        self.editing, self.values = recipient.id, recipient
        self.errors, self.error, self.is_open = {}, "", True

    @rx.event
    def open_add_recipient(self):
        self._start(RecipientRow())

    @rx.event
    def open_edit_recipient(self, recipient_id: str):
        row = next((r for r in self.rec_rows if str(r.id) == str(recipient_id)), None)
        if row is not None:
            self._start(row)

    @rx.event
    def close_recipient(self):
        self.is_open = False

    @rx.event
    def save_recipient(self, form: dict):
        fields = {f: str(form.get(f, "")) for f in RECIPIENT_FIELDS}
        if self.editing:
            _, error = self._call(provision.update_recipient, recipient_id=self.editing, **fields)
        else:
            _, error = self._call(provision.add_recipient, **fields)
        self.errors = dict(self._field_errors)
        if error:
            self.error = "" if self.errors else error
            return None
        self.is_open = False
        self._recipients_changed()
        return rx.toast.success(self._t("provision.recipient.saved"))


class ProvisionCustomersState(PagedMixin, ProvisionsState):
    """The customers one provision included, with the consent relied on for each."""

    is_open: bool = False
    title: str = ""
    rows: list[ProvidedCustomerRow] = []
    _provision_id: int = 0

    def _page_size(self) -> int:
        return CUSTOMERS_PAGE_SIZE

    def _clear(self) -> None:
        self.is_open, self.rows, self.total, self.page = False, [], 0, 1

    @rx.event
    def open_customers(self, provision_id: str):
        row = next((r for r in self.prov_rows if str(r.id) == str(provision_id)), None)
        if row is None:
            return None
        self._provision_id, self.page = row.id, 1
        self.title = f"{row.recipient} · {row.contract} · {row.period}"
        self.is_open = True
        return self._fetch()

    def _fetch(self):
        result, error = self._call(
            provision.provision_customers,
            provision_id=self._provision_id,
            page=self.page,
            page_size=CUSTOMERS_PAGE_SIZE,
        )
        if error:
            self.rows, self.total = [], 0
            return rx.toast.error(error)
        rows, self.total = result
        self.rows = [
            ProvidedCustomerRow(
                id=r.customer_id,
                number=r.number,
                name=r.name,
                event=f"#{r.consent_event_id}",
                consented_at=clock.format_local(r.consented_at, "%Y-%m-%d %H:%M"),
            )
            for r in rows
        ]
        return None

    @rx.event
    def close_customers(self):
        self.is_open, self.rows, self.total = False, [], 0


class DisclosureDialogState(ProvisionsState):
    is_open: bool = False
    selected: list[str] = []  # the categories ticked
    errors: dict[str, str] = {}
    error: str = ""

    def _clear(self) -> None:
        self.is_open = False

    @rx.event
    def open_disclosure(self):
        self.today = clock.local_today().isoformat()
        self.selected, self.errors, self.error = [], {}, ""
        self.is_open = True

    @rx.event
    def close_disclosure(self):
        self.is_open = False

    @rx.event
    def toggle_disc_category(self, code: str):
        self.selected = toggled(self.selected, code)

    @rx.event
    def save_disclosure(self, form: dict):
        _, error = self._call(
            provision.record_disclosure,
            categories=list(self.selected),
            **{f: str(form.get(f, "")) for f in DISCLOSURE_FIELDS},
        )
        self.errors = dict(self._field_errors)
        if error:
            self.error = "" if self.errors else error
            return None
        self.is_open, self.disc_page = False, 1
        self._fetch_disclosures()
        return rx.toast.success(self._t("provision.disclosure.saved"))


# --- the dialogs --------------------------------------------------------------------------------

R, C, D = RecipientDialogState, ProvisionCustomersState, DisclosureDialogState


def recipient_dialog() -> rx.Component:
    def text(name: str, **props: object) -> rx.Component:
        return field(
            f"provision.recipient.{name}",
            rx.input(
                name=name,
                id=f"rec-{name}",
                default_value=getattr(R.values, name),
                width="100%",
                **props,
            ),
            R.errors.get(name, ""),
        )

    return form_dialog(
        text("name"),
        text("contact"),
        rx.hstack(
            text("nda_reference"),
            text("nda_signed_on", type="date", max=R.today),
            width="100%",
            spacing="3",
        ),
        field(
            "provision.recipient.oversight_note",
            rx.text_area(
                name="oversight_note",
                id="rec-oversight_note",
                default_value=R.values.oversight_note,
                rows="3",
                width="100%",
            ),
            R.errors.get("oversight_note", ""),
        ),
        title=rx.cond(R.editing == 0, T("provision.recipient.add"), T("provision.recipient.edit")),
        description="provision.recipient.hint",
        is_open=R.is_open,
        on_close=R.close_recipient,
        on_submit=R.save_recipient,
        error=R.error,
        submit_testid="recipient-save",
    )


def customers_dialog() -> rx.Component:
    return content_dialog(
        rx.table.root(
            rx.table.header(
                rx.table.row(
                    *[
                        rx.table.column_header_cell(T(k))
                        for k in (
                            "customer.number",
                            "customer.field.name",
                            "provision.customers.consent_event",
                            "provision.customers.consented_at",
                        )
                    ]
                )
            ),
            rx.table.body(
                rx.foreach(
                    C.rows,
                    lambda r: rx.table.row(
                        rx.table.cell(rx.link(r.number, href=f"/customers/{r.id}")),
                        rx.table.cell(r.name),
                        rx.table.cell(rx.code(r.event, variant="ghost")),
                        rx.table.cell(r.consented_at),
                        data_testid="provided-customer",
                    ),
                )
            ),
            size="1",
            width="100%",
        ),
        pager(C.page, C.pages, C.total, C.prev_page, C.next_page),
        rx.hstack(
            rx.button(
                T("provision.close"),
                variant="soft",
                color_scheme="gray",
                on_click=C.close_customers,
            ),
            justify="end",
            width="100%",
        ),
        title=T("provision.customers.title"),
        description=C.title,
        is_open=C.is_open,
        on_close=C.close_customers,
        max_width="720px",
    )


def disclosure_dialog() -> rx.Component:
    def text(name: str, **props: object) -> rx.Component:
        return field(
            f"provision.disclosure.{name}",
            rx.input(name=name, id=f"disc-{name}", width="100%", **props),
            D.errors.get(name, ""),
        )

    return form_dialog(
        rx.hstack(
            text("customer_number"),
            text("disclosed_on", type="date", max=D.today, default_value=D.today),
            width="100%",
            spacing="3",
        ),
        text("authority"),
        text("legal_basis"),
        text("document_reference"),
        field(
            "provision.disclosure.categories",
            categories(D.selected, D.toggle_disc_category, "disc-cat"),
            D.errors.get("categories", ""),
        ),
        field(
            "provision.disclosure.harm_note",
            rx.text_area(name="harm_note", id="disc-harm_note", rows="3", width="100%"),
            D.errors.get("harm_note", ""),
        ),
        title=T("provision.disclosure.add"),
        description="provision.disclosure.hint",
        is_open=D.is_open,
        on_close=D.close_disclosure,
        on_submit=D.save_disclosure,
        error=D.error,
        submit_testid="disclosure-save",
    )
