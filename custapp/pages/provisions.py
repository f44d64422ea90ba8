"""对外提供 (compliance): 接收方 with their 保密协议, 提供记录 checked against every included
customer's consent (a refusal names who lacks it, next to the form), and 依法披露.

Each list holds one page; the customers of a provision open one page at a time. The service checks
provision.manage on every call, whatever the browser sends. Customer numbers typed into the form
go to the service with the submission and are not kept in state.
"""

from __future__ import annotations

import json

import reflex as rx

from custapp import clock
from custapp.components.shell import (
    T,
    content_dialog,
    field_error,
    form_dialog,
    list_section,
    page,
    paged_table,
    pager,
    toolbar,
    two_line,
)
from custapp.services import customer_search, provision
from custapp.services.customer_fields import GRADES, LIFECYCLES, NATURES, VALUE_CLASSES
from custapp.states.session import SessionState

PAGE_SIZE = 20
CUSTOMERS_PAGE_SIZE = 10
TABS = ("recipients", "provisions", "disclosures")
ALL = "all"
RECIPIENT_FIELDS = ("name", "contact", "nda_reference", "nda_signed_on", "oversight_note")
DISCLOSURE_FIELDS = (
    "customer_number",
    "authority",
    "legal_basis",
    "document_reference",
    "disclosed_on",
    "harm_note",
)
# list -> its fetcher (pages: <list>_page, <list>_pages)
LISTS = {
    "rec": "_fetch_recipients",
    "prov": "_fetch_provisions",
    "pc": "_fetch_customers",
    "disc": "_fetch_disclosures",
}
SEGMENT_FILTERS = {  # form field -> CustomerFilter field
    "f_lifecycle": "lifecycle",
    "f_grade": "grade",
    "f_value": "value_class",
    "f_nature": "nature",
    "f_tag": "tag",
}


def _pages(total: int, size: int) -> int:
    return max(1, -(-total // size))


class ProvisionsState(SessionState):
    tab: str = "recipients"
    # 接收方
    rec_rows: list[dict[str, str]] = []
    rec_total: int = 0
    rec_page: int = 1
    rec_loaded: bool = False
    rec_open: bool = False
    rec_editing: int = 0
    rec_form: dict[str, str] = {}
    rec_errors: dict[str, str] = {}
    rec_error: str = ""
    # 提供记录
    prov_rows: list[dict[str, str]] = []
    prov_total: int = 0
    prov_page: int = 1
    prov_loaded: bool = False
    form_open: bool = False
    recipient_options: list[list[str]] = []
    purpose_options: list[list[str]] = []
    tags: list[str] = []
    today: str = ""
    default_recipient: str = ""  # preselected when it is the only choice
    default_purpose: str = ""
    mode: str = "numbers"
    sel_categories: list[str] = []
    prov_errors: dict[str, str] = {}
    prov_error: str = ""
    saving: bool = False
    refused_rows: list[dict[str, str]] = []
    refused_body: str = ""
    refused_more: str = ""
    # one provision's customers
    pc_open: bool = False
    pc_title: str = ""
    pc_rows: list[dict[str, str]] = []
    pc_total: int = 0
    pc_page: int = 1
    _pc_id: int = 0
    # 依法披露
    disc_rows: list[dict[str, str]] = []
    disc_total: int = 0
    disc_page: int = 1
    disc_loaded: bool = False
    disc_open: bool = False
    disc_categories: list[str] = []
    disc_errors: dict[str, str] = {}
    disc_error: str = ""

    @rx.var
    def rec_pages(self) -> int:
        return _pages(self.rec_total, PAGE_SIZE)

    @rx.var
    def prov_pages(self) -> int:
        return _pages(self.prov_total, PAGE_SIZE)

    @rx.var
    def pc_pages(self) -> int:
        return _pages(self.pc_total, CUSTOMERS_PAGE_SIZE)

    @rx.var
    def disc_pages(self) -> int:
        return _pages(self.disc_total, PAGE_SIZE)

    def _clear(self) -> None:
        self.rec_rows, self.prov_rows, self.disc_rows, self.pc_rows = [], [], [], []
        self.rec_total = self.prov_total = self.disc_total = self.pc_total = 0
        self.rec_page = self.prov_page = self.disc_page = self.pc_page = 1
        self.rec_loaded = self.prov_loaded = self.disc_loaded = False
        self.rec_open = self.form_open = self.pc_open = self.disc_open = False
        self._clear_refusal()

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
            {
                "id": str(r.id),
                "name": r.name,
                "contact": r.contact,
                "nda_reference": r.nda_reference,
                "nda_signed_on": r.nda_signed_on.isoformat(),
                "oversight_note": r.oversight_note,
                "active": "1" if r.active else "",
                "status": self._t(
                    "provision.recipient.active" if r.active else "provision.recipient.inactive"
                ),
                "provisions": str(r.provisions),
            }
            for r in rows
        ]
        return None

    @rx.event
    def open_add_recipient(self):
        self.today = clock.local_today().isoformat()
        self.rec_editing, self.rec_form = 0, {f: "" for f in RECIPIENT_FIELDS}
        self.rec_errors, self.rec_error, self.rec_open = {}, "", True

    @rx.event
    def open_edit_recipient(self, recipient_id: str):
        row = next((r for r in self.rec_rows if r["id"] == str(recipient_id)), None)
        if row is None:
            return
        self.rec_editing, self.today = int(row["id"]), clock.local_today().isoformat()
        self.rec_form = {f: row[f] for f in RECIPIENT_FIELDS}
        self.rec_errors, self.rec_error, self.rec_open = {}, "", True

    @rx.event
    def close_recipient(self):
        self.rec_open = False

    @rx.event
    def save_recipient(self, form: dict):
        fields = {f: str(form.get(f, "")) for f in RECIPIENT_FIELDS}
        if self.rec_editing:
            _, error = self._call(
                provision.update_recipient, recipient_id=self.rec_editing, **fields
            )
        else:
            _, error = self._call(provision.add_recipient, **fields)
        self.rec_errors = dict(self._field_errors)
        if error:
            self.rec_error = "" if self.rec_errors else error
            return None
        self.rec_open = False
        self._fetch_recipients()
        self._load_choices()
        return rx.toast.success(self._t("provision.recipient.saved"))

    @rx.event
    def set_recipient_active(self, recipient_id: str, active: bool):
        if not str(recipient_id).isdecimal():
            return None
        _, error = self._call(
            provision.set_recipient_active, recipient_id=int(recipient_id), active=bool(active)
        )
        if error:
            return rx.toast.error(error)
        self._fetch_recipients()
        self._load_choices()
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
            {
                "id": str(r.id),
                "created_at": clock.format_local(r.created_at, "%Y-%m-%d %H:%M"),
                "recipient": r.recipient_name,
                "purpose": r.purpose_name,
                "categories": self._categories(r.categories),
                "period": f"{r.period_from.isoformat()} ~ {r.period_to.isoformat()}",
                "contract": r.contract_reference,
                "count": f"{r.customer_count:,}",
                "segment": "1" if r.by_segment else "",
                "by": r.created_by or "—",
            }
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
        self.recipient_options = [[str(i), name] for i, name in recipients]
        self.purpose_options = [[code, name] for code, name in purposes]
        only = [options[0][0] if len(options) == 1 else "" for options in (
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
        if code not in provision.CATEGORIES:
            return
        self.sel_categories = (
            [c for c in self.sel_categories if c != code]
            if code in self.sel_categories
            else [c for c in provision.CATEGORIES if c in {*self.sel_categories, code}]
        )

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
        names = dict((code, name) for code, name in self.purpose_options)
        self.refused_body = self._t(
            "provision.refused.body",
            count=f"{result.refused_total:,}",
            purpose=names.get(purpose, purpose),
        )
        self.refused_rows = [
            {
                "number": r.number,
                "name": r.name or "—",
                "reason": self._t(r.reason, **r.params),
            }
            for r in result.refused
        ]
        more = result.refused_total - len(result.refused)
        self.refused_more = self._t("provision.refused.more", count=f"{more:,}") if more else ""

    @rx.event
    def remove_refused(self):
        """Take the refused customers out of the typed list (in the browser: the list itself
        never comes to the server but with a submission), to check the rest again."""
        numbers = json.dumps([r["number"] for r in self.refused_rows])
        self._clear_refusal()
        return rx.call_script(
            "(() => { const el = document.getElementById('prov-numbers'); if (!el) return;"
            f" const drop = new Set({numbers});"
            " el.value = el.value.split(/[\\s,，、;；]+/)"
            ".filter(n => n && !drop.has(n.toUpperCase())).join('\\n'); })()"
        )

    @rx.event
    def open_customers(self, provision_id: str):
        row = next((r for r in self.prov_rows if r["id"] == str(provision_id)), None)
        if row is None:
            return None
        self._pc_id, self.pc_page = int(row["id"]), 1
        self.pc_title = f"{row['recipient']} · {row['contract']} · {row['period']}"
        self.pc_open = True
        return self._fetch_customers()

    def _fetch_customers(self):
        result, error = self._call(
            provision.provision_customers,
            provision_id=self._pc_id,
            page=self.pc_page,
            page_size=CUSTOMERS_PAGE_SIZE,
        )
        if error:
            self.pc_rows, self.pc_total = [], 0
            return rx.toast.error(error)
        rows, self.pc_total = result
        self.pc_rows = [
            {
                "id": str(r.customer_id),
                "number": r.number,
                "name": r.name,
                "event": f"#{r.consent_event_id}",
                "consented_at": clock.format_local(r.consented_at, "%Y-%m-%d %H:%M"),
            }
            for r in rows
        ]
        return None

    @rx.event
    def close_customers(self):
        self.pc_open, self.pc_rows, self.pc_total = False, [], 0

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
            {
                "customer_id": str(r.customer_id),
                "number": r.customer_number,
                "name": r.customer_name,
                "authority": r.authority,
                "legal_basis": r.legal_basis,
                "document": r.document_reference,
                "categories": self._categories(r.categories),
                "disclosed_on": r.disclosed_on.isoformat(),
                "harm_note": r.harm_note,
                "by": r.created_by or "—",
            }
            for r in rows
        ]
        return None

    @rx.event
    def open_disclosure(self):
        self.today = clock.local_today().isoformat()
        self.disc_categories, self.disc_errors, self.disc_error = [], {}, ""
        self.disc_open = True

    @rx.event
    def close_disclosure(self):
        self.disc_open = False

    @rx.event
    def toggle_disc_category(self, code: str):
        if code not in provision.CATEGORIES:
            return
        self.disc_categories = (
            [c for c in self.disc_categories if c != code]
            if code in self.disc_categories
            else [c for c in provision.CATEGORIES if c in {*self.disc_categories, code}]
        )

    @rx.event
    def save_disclosure(self, form: dict):
        _, error = self._call(
            provision.record_disclosure,
            categories=list(self.disc_categories),
            **{f: str(form.get(f, "")) for f in DISCLOSURE_FIELDS},
        )
        self.disc_errors = dict(self._field_errors)
        if error:
            self.disc_error = "" if self.disc_errors else error
            return None
        self.disc_open, self.disc_page = False, 1
        self._fetch_disclosures()
        return rx.toast.success(self._t("provision.disclosure.saved"))


# --- the page -----------------------------------------------------------------------------------

S = ProvisionsState


def _empty(key: str, testid: str) -> rx.Component:
    return rx.callout(T(key), icon="info", color_scheme="gray", width="100%", data_testid=testid)


def _field(
    label: str,
    control: rx.Component,
    error: rx.Var | str = "",
    hint: str | None = None,
    **props: object,
) -> rx.Component:
    return rx.vstack(
        rx.text(T(label), size="2", weight="medium"),
        control,
        *([rx.text(T(hint), size="1", color_scheme="gray")] if hint else []),
        field_error(error),
        spacing="1",
        width="100%",
        **props,
    )


def _categories(selected: rx.Var, on_toggle, testid: str) -> rx.Component:  # noqa: ANN001
    def box(code: str) -> rx.Component:
        return rx.checkbox(
            T(f"provision.category.{code}"),
            checked=selected.contains(code),
            on_change=lambda _v: on_toggle(code),
            data_testid=f"{testid}-{code}",
        )

    return rx.flex(*[box(code) for code in provision.CATEGORIES], wrap="wrap", spacing="4")


def _add_button(icon: str, label: str, on_click, testid: str) -> rx.Component:  # noqa: ANN001
    """The button at the right of a tab's toolbar that starts a new entry."""
    return rx.button(
        rx.icon(icon, size=16),
        T(label),
        on_click=on_click,
        white_space="nowrap",
        data_testid=testid,
    )


def _tab_list(
    key: str,
    head: rx.Component,
    empty: tuple[str, str],
    columns: tuple[str, ...],
    row,  # noqa: ANN001
) -> rx.Component:
    """A tab's paged list; its vars are `<key>_loaded`, `<key>_rows`, `<key>_page`, … and
    `S.turn(key, ±1)` pages it."""

    def var(name: str) -> rx.Var:
        return getattr(S, f"{key}_{name}")

    return list_section(
        head,
        var("loaded"),
        var("total"),
        _empty(*empty),
        paged_table(
            columns,
            var("rows"),
            row,
            var("page"),
            var("pages"),
            var("total"),
            S.turn(key, -1),
            S.turn(key, 1),
        ),
    )


# 接收方


def _recipient_row(row: rx.Var) -> rx.Component:
    active = row["active"] != ""
    return rx.table.row(
        rx.table.cell(rx.text(row["name"], weight="medium")),
        rx.table.cell(row["contact"], white_space="nowrap"),
        rx.table.cell(rx.code(row["nda_reference"], variant="ghost"), white_space="nowrap"),
        rx.table.cell(row["nda_signed_on"], white_space="nowrap"),
        rx.table.cell(rx.text(row["oversight_note"], size="2"), max_width="320px"),
        rx.table.cell(
            rx.badge(row["status"], color_scheme=rx.cond(active, "green", "gray"), variant="soft")
        ),
        rx.table.cell(row["provisions"]),
        rx.table.cell(
            rx.hstack(
                rx.button(
                    rx.icon("pencil", size=14),
                    T("provision.recipient.edit"),
                    size="1",
                    variant="soft",
                    on_click=S.open_edit_recipient(row["id"]),
                    data_testid="recipient-edit",
                ),
                rx.button(
                    rx.cond(
                        active,
                        T("provision.recipient.deactivate"),
                        T("provision.recipient.activate"),
                    ),
                    size="1",
                    variant="soft",
                    color_scheme=rx.cond(active, "red", "green"),
                    on_click=S.set_recipient_active(row["id"], ~active),
                    data_testid="recipient-toggle",
                ),
                spacing="2",
            ),
            white_space="nowrap",
        ),
        data_testid="recipient-row",
    )


def _recipients() -> rx.Component:
    return _tab_list(
        "rec",
        toolbar(
            T("provision.recipient.hint"),
            _add_button("plus", "provision.recipient.add", S.open_add_recipient, "recipient-add"),
        ),
        ("provision.recipient.empty", "recipients-empty"),
        (
            "provision.recipient.name",
            "provision.recipient.contact",
            "provision.recipient.nda_reference",
            "provision.recipient.nda_signed_on",
            "provision.recipient.oversight_note",
            "provision.recipient.status",
            "provision.recipient.provisions",
            "common.actions",
        ),
        _recipient_row,
    )


def _recipient_dialog() -> rx.Component:
    def text(name: str, **props: object) -> rx.Component:
        return _field(
            f"provision.recipient.{name}",
            rx.input(
                name=name,
                id=f"rec-{name}",
                default_value=S.rec_form.get(name, ""),
                width="100%",
                **props,
            ),
            S.rec_errors.get(name, ""),
        )

    return form_dialog(
        text("name"),
        text("contact"),
        rx.hstack(
            text("nda_reference"),
            text("nda_signed_on", type="date", max=S.today),
            width="100%",
            spacing="3",
        ),
        _field(
            "provision.recipient.oversight_note",
            rx.text_area(
                name="oversight_note",
                id="rec-oversight_note",
                default_value=S.rec_form.get("oversight_note", ""),
                rows="3",
                width="100%",
            ),
            S.rec_errors.get("oversight_note", ""),
        ),
        title=rx.cond(
            S.rec_editing == 0, T("provision.recipient.add"), T("provision.recipient.edit")
        ),
        description="provision.recipient.hint",
        is_open=S.rec_open,
        on_close=S.close_recipient,
        on_submit=S.save_recipient,
        error=S.rec_error,
        submit_testid="recipient-save",
    )


# 提供记录


def _select(name: str, options: rx.Var, default: rx.Var, testid: str) -> rx.Component:
    return rx.select.root(
        rx.select.trigger(placeholder=T("common.choose"), width="100%", data_testid=testid),
        rx.select.content(rx.foreach(options, lambda o: rx.select.item(o[1], value=o[0]))),
        name=name,
        default_value=default,
    )


def _filter(name: str, label: str, options: list[tuple[str, rx.Var | str]]) -> rx.Component:
    return rx.vstack(
        rx.text(T(label), size="1", color_scheme="gray"),
        rx.select.root(
            rx.select.trigger(width="130px"),
            rx.select.content(
                rx.select.item(T("common.all"), value=ALL),
                *[rx.select.item(text, value=v) for v, text in options],
            ),
            name=name,
            default_value=ALL,
        ),
        spacing="1",
    )


def _segment_filters() -> rx.Component:
    return rx.vstack(
        rx.text(T("provision.segment_hint"), size="1", color_scheme="gray"),
        rx.flex(
            _filter(
                "f_lifecycle",
                "customer.lifecycle",
                [(v, T(f"customer.lifecycle.{v}")) for v in LIFECYCLES],
            ),
            _filter("f_grade", "customer.grade", [(g, g) for g in GRADES]),
            _filter(
                "f_value",
                "customer.value_class",
                [(v, T(f"customer.value.{v}")) for v in VALUE_CLASSES],
            ),
            _filter(
                "f_nature",
                "customer.field.nature",
                [(v, T(f"customer.nature.{v}")) for v in NATURES],
            ),
            rx.vstack(
                rx.text(T("customer.tags"), size="1", color_scheme="gray"),
                rx.select.root(
                    rx.select.trigger(width="130px"),
                    rx.select.content(
                        rx.select.item(T("common.all"), value=ALL),
                        rx.foreach(S.tags, lambda tag: rx.select.item(tag, value=tag)),
                    ),
                    name="f_tag",
                    default_value=ALL,
                ),
                spacing="1",
            ),
            wrap="wrap",
            spacing="3",
        ),
        spacing="2",
        width="100%",
    )


def _refused_row(row: rx.Var) -> rx.Component:
    return rx.table.row(
        rx.table.cell(rx.code(row["number"], variant="ghost"), white_space="nowrap"),
        rx.table.cell(rx.text(row["name"], weight="medium"), white_space="nowrap"),
        rx.table.cell(rx.text(row["reason"], color_scheme="red")),
        data_testid="refused-row",
    )


def _refusal() -> rx.Component:
    return rx.cond(
        S.refused_rows.length() > 0,
        rx.callout.root(
            rx.callout.icon(rx.icon("ban")),
            rx.vstack(
                rx.text(T("provision.refused.title"), weight="bold"),
                rx.text(S.refused_body, size="2"),
                rx.box(
                    rx.table.root(
                        rx.table.header(
                            rx.table.row(
                                rx.table.column_header_cell(T("customer.number")),
                                rx.table.column_header_cell(T("customer.field.name")),
                                rx.table.column_header_cell(T("provision.refused.reason")),
                            )
                        ),
                        rx.table.body(rx.foreach(S.refused_rows, _refused_row)),
                        size="1",
                        width="100%",
                    ),
                    max_height="280px",
                    overflow_y="auto",
                    width="100%",
                    background=rx.color("gray", 1),
                    border_radius="6px",
                ),
                rx.cond(S.refused_more != "", rx.text(S.refused_more, size="2", weight="medium")),
                rx.cond(
                    S.mode == "numbers",
                    rx.button(
                        rx.icon("list-x", size=14),
                        T("provision.refused.remove"),
                        type="button",
                        size="1",
                        variant="soft",
                        color_scheme="red",
                        on_click=S.remove_refused,
                        data_testid="refused-remove",
                    ),
                ),
                spacing="2",
                width="100%",
            ),
            color_scheme="red",
            width="100%",
            data_testid="provision-refused",
        ),
    )


def _provision_form() -> rx.Component:
    no_recipients = S.recipient_options.length() == 0
    return rx.card(
        rx.form(
            rx.vstack(
                rx.hstack(
                    rx.heading(T("provision.new"), size="4"),
                    rx.spacer(),
                    rx.icon_button(
                        rx.icon("x", size=16),
                        type="button",
                        variant="ghost",
                        color_scheme="gray",
                        on_click=S.close_form,
                        aria_label="close",
                    ),
                    width="100%",
                ),
                rx.cond(
                    no_recipients,
                    rx.callout(
                        T("provision.no_recipients"), icon="triangle-alert", color_scheme="amber"
                    ),
                ),
                rx.cond(
                    S.purpose_options.length() == 0,
                    rx.callout(
                        T("provision.no_purposes"), icon="triangle-alert", color_scheme="amber"
                    ),
                ),
                rx.grid(
                    _field(
                        "provision.field.recipient",
                        _select(
                            "recipient",
                            S.recipient_options,
                            S.default_recipient,
                            "provision-recipient",
                        ),
                        S.prov_errors.get("recipient", ""),
                    ),
                    _field(
                        "provision.field.purpose",
                        _select(
                            "purpose", S.purpose_options, S.default_purpose, "provision-purpose"
                        ),
                        S.prov_errors.get("purpose", ""),
                    ),
                    _field(
                        "provision.field.contract_reference",
                        rx.input(name="contract_reference", id="prov-contract", width="100%"),
                        S.prov_errors.get("contract_reference", ""),
                    ),
                    _field(
                        "provision.field.period_from",
                        rx.input(
                            name="period_from",
                            id="prov-from",
                            type="date",
                            min=S.today,
                            default_value=S.today,
                            width="100%",
                        ),
                        S.prov_errors.get("period_from", ""),
                    ),
                    _field(
                        "provision.field.period_to",
                        rx.input(
                            name="period_to", id="prov-to", type="date", min=S.today, width="100%"
                        ),
                        S.prov_errors.get("period_to", ""),
                    ),
                    columns=rx.breakpoints(initial="1", md="3"),
                    spacing="3",
                    width="100%",
                ),
                _field(
                    "provision.field.categories",
                    _categories(S.sel_categories, S.toggle_category, "prov-cat"),
                    S.prov_errors.get("categories", ""),
                ),
                _field(
                    "provision.field.customers",
                    rx.vstack(
                        rx.segmented_control.root(
                            rx.segmented_control.item(T("provision.mode.numbers"), value="numbers"),
                            rx.segmented_control.item(T("provision.mode.segment"), value="segment"),
                            value=S.mode,
                            on_change=S.set_mode,
                            data_testid="provision-mode",
                        ),
                        rx.box(
                            rx.text_area(
                                name="numbers",
                                id="prov-numbers",
                                placeholder=T("provision.numbers_hint"),
                                rows="4",
                                width="100%",
                                font_family="monospace",
                            ),
                            display=rx.cond(S.mode == "numbers", "block", "none"),
                            width="100%",
                        ),
                        rx.box(
                            _segment_filters(),
                            display=rx.cond(S.mode == "segment", "block", "none"),
                            width="100%",
                        ),
                        spacing="2",
                        width="100%",
                    ),
                    S.prov_errors.get("customers", ""),
                ),
                _refusal(),
                field_error(S.prov_error),
                rx.hstack(
                    rx.text(T("provision.check_note"), size="1", color_scheme="gray"),
                    rx.spacer(),
                    rx.button(
                        T("common.cancel"),
                        type="button",
                        variant="soft",
                        color_scheme="gray",
                        on_click=S.close_form,
                    ),
                    rx.button(
                        rx.icon("shield-check", size=16),
                        T("provision.submit"),
                        type="submit",
                        loading=S.saving,
                        disabled=no_recipients,
                        data_testid="provision-submit",
                    ),
                    align="center",
                    width="100%",
                    spacing="3",
                ),
                spacing="4",
                width="100%",
            ),
            on_submit=S.create,
            reset_on_submit=False,
        ),
        width="100%",
        data_testid="provision-form",
    )


def _provision_row(row: rx.Var) -> rx.Component:
    return rx.table.row(
        rx.table.cell(
            two_line(row["created_at"], row["by"], size="2"),
            white_space="nowrap",
        ),
        rx.table.cell(rx.text(row["recipient"], weight="medium")),
        rx.table.cell(rx.badge(row["purpose"], variant="soft")),
        rx.table.cell(rx.text(row["categories"], size="2")),
        rx.table.cell(row["period"], white_space="nowrap"),
        rx.table.cell(rx.code(row["contract"], variant="ghost"), white_space="nowrap"),
        rx.table.cell(
            rx.hstack(
                rx.text(row["count"]),
                rx.cond(
                    row["segment"] != "",
                    rx.badge(T("provision.list.by_segment"), variant="outline", size="1"),
                ),
                spacing="2",
                align="center",
            ),
            white_space="nowrap",
        ),
        rx.table.cell(
            rx.button(
                rx.icon("users", size=14),
                T("provision.view_customers"),
                size="1",
                variant="soft",
                on_click=S.open_customers(row["id"]),
                data_testid="provision-customers",
            ),
            white_space="nowrap",
        ),
        data_testid="provision-row",
    )


def _provisions() -> rx.Component:
    return _tab_list(
        "prov",
        rx.cond(
            S.form_open,
            _provision_form(),
            toolbar(
                T("provision.check_note"),
                _add_button("share-2", "provision.new", S.open_form, "provision-new"),
            ),
        ),
        ("provision.empty", "provisions-empty"),
        (
            "provision.list.created_at",
            "provision.field.recipient",
            "provision.field.purpose",
            "provision.field.categories",
            "provision.list.period",
            "provision.field.contract_reference",
            "provision.list.customers",
            "common.actions",
        ),
        _provision_row,
    )


def _customers_dialog() -> rx.Component:
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
                    S.pc_rows,
                    lambda r: rx.table.row(
                        rx.table.cell(rx.link(r["number"], href="/customers/" + r["id"])),
                        rx.table.cell(r["name"]),
                        rx.table.cell(rx.code(r["event"], variant="ghost")),
                        rx.table.cell(r["consented_at"]),
                        data_testid="provided-customer",
                    ),
                )
            ),
            size="1",
            width="100%",
        ),
        pager(S.pc_page, S.pc_pages, S.pc_total, S.turn("pc", -1), S.turn("pc", 1)),
        rx.hstack(
            rx.button(
                T("provision.close"),
                variant="soft",
                color_scheme="gray",
                on_click=S.close_customers,
            ),
            justify="end",
            width="100%",
        ),
        title=T("provision.customers.title"),
        description=S.pc_title,
        is_open=S.pc_open,
        on_close=S.close_customers,
        max_width="720px",
    )


# 依法披露


def _disclosure_row(row: rx.Var) -> rx.Component:
    href = "/customers/" + row["customer_id"]
    return rx.table.row(
        rx.table.cell(row["disclosed_on"], white_space="nowrap"),
        rx.table.cell(
            rx.vstack(
                rx.link(row["number"], href=href, size="2"),
                rx.text(row["name"], size="2", weight="medium"),
                spacing="0",
            ),
            white_space="nowrap",
        ),
        rx.table.cell(rx.text(row["authority"], size="2")),
        rx.table.cell(rx.text(row["legal_basis"], size="2")),
        rx.table.cell(rx.code(row["document"], variant="ghost")),
        rx.table.cell(rx.text(row["categories"], size="2")),
        rx.table.cell(rx.text(row["harm_note"], size="2"), max_width="260px"),
        rx.table.cell(row["by"], white_space="nowrap"),
        data_testid="disclosure-row",
    )


def _disclosures() -> rx.Component:
    return _tab_list(
        "disc",
        toolbar(
            T("provision.disclosure.hint"),
            _add_button(
                "landmark", "provision.disclosure.add", S.open_disclosure, "disclosure-add"
            ),
        ),
        ("provision.disclosure.empty", "disclosures-empty"),
        (
            "provision.disclosure.disclosed_on",
            "provision.disclosure.customer",
            "provision.disclosure.authority",
            "provision.disclosure.legal_basis",
            "provision.disclosure.document_reference",
            "provision.disclosure.categories",
            "provision.disclosure.harm_note",
            "provision.list.by",
        ),
        _disclosure_row,
    )


def _disclosure_dialog() -> rx.Component:
    def text(name: str, **props: object) -> rx.Component:
        return _field(
            f"provision.disclosure.{name}",
            rx.input(name=name, id=f"disc-{name}", width="100%", **props),
            S.disc_errors.get(name, ""),
        )

    return form_dialog(
        rx.hstack(
            text("customer_number"),
            text("disclosed_on", type="date", max=S.today, default_value=S.today),
            width="100%",
            spacing="3",
        ),
        text("authority"),
        text("legal_basis"),
        text("document_reference"),
        _field(
            "provision.disclosure.categories",
            _categories(S.disc_categories, S.toggle_disc_category, "disc-cat"),
            S.disc_errors.get("categories", ""),
        ),
        _field(
            "provision.disclosure.harm_note",
            rx.text_area(name="harm_note", id="disc-harm_note", rows="3", width="100%"),
            S.disc_errors.get("harm_note", ""),
        ),
        title=T("provision.disclosure.add"),
        description="provision.disclosure.hint",
        is_open=S.disc_open,
        on_close=S.close_disclosure,
        on_submit=S.save_disclosure,
        error=S.disc_error,
        submit_testid="disclosure-save",
    )


def provisions_page() -> rx.Component:
    return page(
        "nav.provisions",
        rx.callout(T("provision.intro"), icon="shield", color_scheme="blue", width="100%"),
        rx.tabs.root(
            rx.tabs.list(
                rx.tabs.trigger(
                    T("provision.tab.recipients"), value="recipients", data_testid="tab-recipients"
                ),
                rx.tabs.trigger(
                    T("provision.tab.provisions"), value="provisions", data_testid="tab-provisions"
                ),
                rx.tabs.trigger(
                    T("provision.tab.disclosures"),
                    value="disclosures",
                    data_testid="tab-disclosures",
                ),
            ),
            rx.tabs.content(_recipients(), value="recipients", padding_top="16px"),
            rx.tabs.content(_provisions(), value="provisions", padding_top="16px"),
            rx.tabs.content(_disclosures(), value="disclosures", padding_top="16px"),
            value=S.tab,
            on_change=S.set_tab,
            width="100%",
        ),
        _recipient_dialog(),
        _customers_dialog(),
        _disclosure_dialog(),
    )
