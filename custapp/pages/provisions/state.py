"""对外提供 (compliance): 接收方 with their 保密协议, 提供记录 checked against every included
customer's consent (a refusal names who lacks it, next to the form), and 依法披露.

Each list holds one page. The service checks provision.manage on every call, whatever the browser
sends. Customer numbers typed into the form go to the service with the submission and are not
kept in state. The dialogs, with their own vars, are substates (dialogs.py).
"""

from __future__ import annotations

import json

import reflex as rx

from custapp import clock
from custapp.pages.provisions.rows import DisclosureRow, ProvisionRow, RecipientRow, RefusedRow
from custapp.services import customer_search, provision
from custapp.states.options import Option
from custapp.states.session import SessionState

PAGE_SIZE = 20
TABS = ("recipients", "provisions", "disclosures")
ALL = "all"
# list -> its fetcher (pages: <list>_page, <list>_pages)
LISTS = {
    "rec": "_fetch_recipients",
    "prov": "_fetch_provisions",
    "disc": "_fetch_disclosures",
}
SEGMENT_FILTERS = {  # form field -> CustomerFilter field
    "f_lifecycle": "lifecycle",
    "f_grade": "grade",
    "f_value": "value_class",
    "f_nature": "nature",
    "f_tag": "tag",
}


def pages(total: int, size: int) -> int:
    return max(1, -(-total // size))


def toggled(selected: list[str], code: str) -> list[str]:
    """The categories chosen after ticking or unticking `code`, in the service's order."""
    if code not in provision.CATEGORIES:
        return selected
    if code in selected:
        return [c for c in selected if c != code]
    return [c for c in provision.CATEGORIES if c in {*selected, code}]


class ProvisionsState(SessionState):
    tab: str = "recipients"
    today: str = ""  # the bound of the date inputs
    # 接收方
    rec_rows: list[RecipientRow] = []
    rec_total: int = 0
    rec_page: int = 1
    rec_loaded: bool = False
    # 提供记录, and the form of a new one
    prov_rows: list[ProvisionRow] = []
    prov_total: int = 0
    prov_page: int = 1
    prov_loaded: bool = False
    form_open: bool = False
    recipient_options: list[Option] = []
    purpose_options: list[Option] = []
    tags: list[str] = []
    default_recipient: str = ""  # preselected when it is the only choice
    default_purpose: str = ""
    mode: str = "numbers"
    sel_categories: list[str] = []
    prov_errors: dict[str, str] = {}
    prov_error: str = ""
    saving: bool = False
    refused_rows: list[RefusedRow] = []
    refused_body: str = ""
    refused_more: str = ""
    # 依法披露
    disc_rows: list[DisclosureRow] = []
    disc_total: int = 0
    disc_page: int = 1
    disc_loaded: bool = False

    @rx.var
    def rec_pages(self) -> int:
        return pages(self.rec_total, PAGE_SIZE)

    @rx.var
    def prov_pages(self) -> int:
        return pages(self.prov_total, PAGE_SIZE)

    @rx.var
    def disc_pages(self) -> int:
        return pages(self.disc_total, PAGE_SIZE)

    def _clear(self) -> None:
        self.rec_rows, self.prov_rows, self.disc_rows = [], [], []
        self.rec_total = self.prov_total = self.disc_total = 0
        self.rec_page = self.prov_page = self.disc_page = 1
        self.rec_loaded = self.prov_loaded = self.disc_loaded = False
        self.form_open = False
        self._clear_refusal()
        for dialog in self.substates.values():  # loaded with this state, also with Redis
            dialog._clear()

    def _clear_refusal(self) -> None:
        self.refused_rows, self.refused_body, self.refused_more = [], "", ""

    @rx.event
    def load(self):
        _, redirect = self._enter("provision.manage")
        if redirect:
            return redirect
        self._clear()
        self.tab = self.tab if self.tab in TABS else "recipients"
        return ProvisionsState.fetch_all

    @rx.event
    def fetch_all(self):
        """A second event after load, so the page shows its loading state first."""
        events = [self._fetch_recipients(), self._fetch_provisions(), self._fetch_disclosures()]
        return [e for e in events if e is not None]

    @rx.event
    def set_tab(self, tab: str | list[str]):
        self.tab = tab if isinstance(tab, str) and tab in TABS else "recipients"

    @rx.event
    def turn(self, which: str, step: int):
        """The previous (-1) or next (1) page of one of the lists."""
        if which not in LISTS:
            return None
        fetch = getattr(self, LISTS[which])
        last = getattr(self, f"{which}_pages")
        setattr(self, f"{which}_page", max(1, min(last, getattr(self, f"{which}_page") + step)))
        return fetch()

    def _categories(self, codes: list[str]) -> str:
        return "、".join(self._t(f"provision.category.{c}") for c in codes)

    # --- 接收方 ------------------------------------------------------------------------------------

    def _fetch_recipients(self):
        result, error = self._call(
            provision.list_recipients, page=self.rec_page, page_size=PAGE_SIZE
        )
        self.rec_loaded = True
        if error:
            self.rec_rows, self.rec_total = [], 0
            return rx.toast.error(error)
        rows, self.rec_total = result
        self.rec_rows = [
            RecipientRow(
                id=r.id,
                name=r.name,
                contact=r.contact,
                nda_reference=r.nda_reference,
                nda_signed_on=r.nda_signed_on.isoformat(),
                oversight_note=r.oversight_note,
                active=r.active,
                status=self._t(
                    "provision.recipient.active" if r.active else "provision.recipient.inactive"
                ),
                provisions=r.provisions,
            )
            for r in rows
        ]
        return None

    def _recipients_changed(self) -> None:
        """After a recipient is saved or (de)activated: its row, and the form's choices."""
        self._fetch_recipients()
        self._load_choices()

    @rx.event
    def set_recipient_active(self, recipient_id: str, active: bool):
        if not str(recipient_id).isdecimal():
            return None
        _, error = self._call(
            provision.set_recipient_active, recipient_id=int(recipient_id), active=bool(active)
        )
        if error:
            return rx.toast.error(error)
        self._recipients_changed()
        key = "provision.recipient.activated" if active else "provision.recipient.deactivated"
        return rx.toast.success(self._t(key))

    # --- 提供记录 ----------------------------------------------------------------------------------

    def _fetch_provisions(self):
        result, error = self._call(
            provision.list_provisions, page=self.prov_page, page_size=PAGE_SIZE, locale=self.locale
        )
        self.prov_loaded = True
        if error:
            self.prov_rows, self.prov_total = [], 0
            return rx.toast.error(error)
        rows, self.prov_total = result
        self.prov_rows = [
            ProvisionRow(
                id=r.id,
                created_at=clock.format_local(r.created_at, "%Y-%m-%d %H:%M"),
                recipient=r.recipient_name,
                purpose=r.purpose_name,
                categories=self._categories(r.categories),
                period=f"{r.period_from.isoformat()} ~ {r.period_to.isoformat()}",
                contract=r.contract_reference,
                count=f"{r.customer_count:,}",
                by_segment=r.by_segment,
                by=r.created_by or "—",
            )
            for r in rows
        ]
        return None

    def _load_choices(self) -> str | None:
        recipients, error = self._call(provision.recipient_choices)
        if error:
            return error
        purposes, error = self._call(provision.purpose_choices, locale=self.locale)
        if error:
            return error
        self.recipient_options = [Option(str(i), name) for i, name in recipients]
        self.purpose_options = [Option(code, name) for code, name in purposes]
        only = [options[0].value if len(options) == 1 else "" for options in (
            self.recipient_options, self.purpose_options
        )]  # fmt: skip
        self.default_recipient, self.default_purpose = only
        return None

    @rx.event
    def open_form(self):
        error = self._load_choices()
        if error:
            return rx.toast.error(error)
        tags, error = self._call(customer_search.list_tags)
        if error:
            return rx.toast.error(error)
        self.tags = tags
        self.today = clock.local_today().isoformat()
        self.mode, self.sel_categories = "numbers", []
        self.prov_errors, self.prov_error = {}, ""
        self._clear_refusal()
        self.form_open = True
        return None

    @rx.event
    def close_form(self):
        self.form_open = False
        self._clear_refusal()

    @rx.event
    def set_mode(self, mode: str | list[str]):
        self.mode = "segment" if mode == "segment" else "numbers"
        self._clear_refusal()

    @rx.event
    def toggle_category(self, code: str):
        self.sel_categories = toggled(self.sel_categories, code)

    def _segment(self, form: dict) -> customer_search.CustomerFilter:
        values = {}
        for name, field in SEGMENT_FILTERS.items():
            value = str(form.get(name, "") or ALL)
            values[field] = "" if value == ALL else value[:60]
        return customer_search.CustomerFilter(**values)

    @rx.event
    def create(self, form: dict):
        self.saving = True
        yield
        self._clear_refusal()
        recipient = str(form.get("recipient", ""))
        purpose = str(form.get("purpose", ""))
        segment = self._segment(form) if self.mode == "segment" else None
        result, error = self._call(
            provision.create_provision,
            recipient_id=int(recipient) if recipient.isdecimal() else None,
            purpose=purpose,
            categories=list(self.sel_categories),
            period_from=str(form.get("period_from", "")),
            period_to=str(form.get("period_to", "")),
            contract_reference=str(form.get("contract_reference", "")),
            numbers="" if segment else str(form.get("numbers", "")),
            segment=segment,
        )
        self.saving = False
        self.prov_errors = dict(self._field_errors)
        self.prov_error = "" if self.prov_errors else (error or "")
        if error:
            return
        if result.provision is None:
            self._show_refusal(result, purpose)
            return
        self.form_open = False
        self.prov_page = 1
        self._fetch_provisions()
        self._fetch_recipients()  # the recipient's count of provisions
        yield rx.toast.success(
            self._t("provision.saved", count=f"{result.provision.customer_count:,}")
        )

    def _show_refusal(self, result: provision.ProvisionOutcome, purpose: str) -> None:
        names = {o.value: o.label for o in self.purpose_options}
        self.refused_body = self._t(
            "provision.refused.body",
            count=f"{result.refused_total:,}",
            purpose=names.get(purpose, purpose),
        )
        self.refused_rows = [
            RefusedRow(number=r.number, name=r.name or "—", reason=self._t(r.reason, **r.params))
            for r in result.refused
        ]
        more = result.refused_total - len(result.refused)
        self.refused_more = self._t("provision.refused.more", count=f"{more:,}") if more else ""

    @rx.event
    def remove_refused(self):
        """Take the refused customers out of the typed list (in the browser: the list itself
        never comes to the server but with a submission), to check the rest again."""
        numbers = json.dumps([r.number for r in self.refused_rows])
        self._clear_refusal()
        return rx.call_script(
            "(() => { const el = document.getElementById('prov-numbers'); if (!el) return;"
            f" const drop = new Set({numbers});"
            " el.value = el.value.split(/[\\s,，、;；]+/)"
            ".filter(n => n && !drop.has(n.toUpperCase())).join('\\n'); })()"
        )

    # --- 依法披露 ----------------------------------------------------------------------------------

    def _fetch_disclosures(self):
        result, error = self._call(
            provision.list_disclosures, page=self.disc_page, page_size=PAGE_SIZE
        )
        self.disc_loaded = True
        if error:
            self.disc_rows, self.disc_total = [], 0
            return rx.toast.error(error)
        rows, self.disc_total = result
        self.disc_rows = [
            DisclosureRow(
                customer_id=r.customer_id,
                number=r.customer_number,
                name=r.customer_name,
                authority=r.authority,
                legal_basis=r.legal_basis,
                document=r.document_reference,
                categories=self._categories(r.categories),
                disclosed_on=r.disclosed_on.isoformat(),
                harm_note=r.harm_note,
                by=r.created_by or "—",
            )
            for r in rows
        ]
        return None
