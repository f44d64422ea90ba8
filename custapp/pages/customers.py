"""客户查询: one box finds a customer by phone, ID number or customer number exactly, or by name;
filters and sorting run on the server, one page at a time."""

from __future__ import annotations

import dataclasses

import reflex as rx

from custapp import clock
from custapp.components.shell import T, data_table, page, pager
from custapp.services import classification, customer_search
from custapp.services.customer_fields import GRADES, LIFECYCLES, NATURES, VALUE_CLASSES
from custapp.states.paging import PagedMixin
from custapp.states.session import SessionState

PAGE_SIZE = 20
SORTS = ("-created", "created", "number", "-number", "-last_purchase", "last_purchase")
ALL = "all"


@dataclasses.dataclass(frozen=True)
class CustomerRow:
    """One customer found, as the list shows it (labels in the reader's language)."""

    id: int = 0
    number: str = ""
    name: str = ""
    kind: str = ""
    grade: str = ""
    lifecycle: str = ""
    value_class: str = ""
    phone: str = ""  # masked
    tags: str = ""
    verified: str = ""
    last_purchase: str = ""
    created: str = ""


class CustomersState(PagedMixin, SessionState):
    rows: list[CustomerRow] = []
    total_text: str = "0"  # "1,000+" when the count was capped
    has_query: bool = False
    _query: str = ""  # not echoed to the browser: it may be a full phone or ID number
    f_lifecycle: str = ALL
    f_grade: str = ALL
    f_value: str = ALL
    f_nature: str = ALL
    f_tag: str = ALL
    sort: str = "-created"
    tags: list[str] = []
    can_create: bool = False
    can_classify: bool = False
    classifying: bool = False

    @rx.event
    def load(self):
        actor, redirect = self._enter("customer.read")
        if redirect:
            return redirect
        self.can_create = actor.can("customer.create")
        self.can_classify = actor.can("customer.classify")
        tags, _ = self._call(customer_search.list_tags)
        self.tags = tags or []
        return self._fetch()

    def _filters(self) -> customer_search.CustomerFilter:
        def value(v: str) -> str:
            return "" if v == ALL else v

        return customer_search.CustomerFilter(
            lifecycle=value(self.f_lifecycle),
            grade=value(self.f_grade),
            value_class=value(self.f_value),
            nature=value(self.f_nature),
            tag=value(self.f_tag),
        )

    def _fetch(self):
        result, error = self._call(
            customer_search.search_customers,
            query=self._query,
            filters=self._filters(),
            sort=self.sort,
            page=self.page,
            page_size=PAGE_SIZE,
        )
        if error:
            return rx.toast.error(error)
        rows, self.total = result
        self.total_text = (
            f"{customer_search.COUNT_CAP:,}+" if result.total_capped else f"{self.total:,}"
        )
        self.rows = [
            CustomerRow(
                id=r.id,
                number=r.number,
                name=r.name,
                kind=self._t(f"customer.kind.{r.kind}"),
                grade=r.grade,
                lifecycle=self._t(f"customer.lifecycle.{r.lifecycle}"),
                value_class=self._t(f"customer.value.{r.value_class}"),
                phone=r.phone_masked,
                tags="、".join(r.tags),
                verified=self._t(f"customer.verify.{r.verify_status}"),
                last_purchase=clock.format_local(r.last_purchase_at, "%Y-%m-%d"),
                created=clock.format_local(r.created_at, "%Y-%m-%d"),
            )
            for r in rows
        ]
        return None

    @rx.event
    def search(self, form: dict):
        self._query = str(form.get("q", "")).strip()[:60]
        self.has_query = bool(self._query)
        self.page = 1
        return self._fetch()

    @rx.event
    def set_filter(self, name: str, value: str):
        """One of the choices the page offers (any tag: the service matches it exactly); anything
        else is refused, so a later page turn never runs on a value the search cannot take."""
        choices = {
            "f_lifecycle": (ALL, *LIFECYCLES),
            "f_grade": (ALL, *GRADES),
            "f_value": (ALL, *VALUE_CLASSES),
            "f_nature": (ALL, *NATURES),
            "sort": SORTS,
        }
        if not (name == "f_tag" or value in choices.get(name, ())):
            return rx.toast.error(self._t("error.bad_request"))
        setattr(self, name, value)
        self.page = 1
        return self._fetch()

    @rx.event
    def reclassify(self):
        """重新计算分级 (cs_manager): the day rules, grades and ABC classes as of today."""
        self.classifying = True
        yield
        result, error = self._call(classification.reclassify_now)
        self.classifying = False
        if error:
            yield rx.toast.error(error)
            return
        yield self._fetch()
        yield rx.toast.success(
            self._t(
                "classify.done",
                changed=result.changed,
                key_count=result.key,
                general_count=result.general,
                scattered_count=result.scattered,
            )
        )

    @rx.event
    def clear(self):
        self._query, self.has_query, self.page = "", False, 1
        self.f_lifecycle = self.f_grade = self.f_value = self.f_nature = self.f_tag = ALL
        return self._fetch()


def _select(
    name: str, placeholder: str, options: list[tuple[str, rx.Var | str]], value: rx.Var
) -> rx.Component:
    return _labelled(
        placeholder,
        rx.select.root(
            rx.select.trigger(placeholder=T(placeholder), width="130px"),
            rx.select.content(
                rx.select.item(T("common.all"), value=ALL),
                *[rx.select.item(label, value=v) for v, label in options],
            ),
            value=value,
            on_change=lambda v: CustomersState.set_filter(name, v),
            size="2",
        ),
    )


def _labelled(label_key: str, control: rx.Component) -> rx.Component:
    return rx.vstack(rx.text(T(label_key), size="1", color_scheme="gray"), control, spacing="1")


def _row(row: rx.Var) -> rx.Component:
    href = "/customers/" + row.id.to(str)
    return rx.table.row(
        rx.table.cell(rx.link(row.number, href=href)),
        rx.table.cell(rx.link(row.name, href=href, weight="medium")),
        rx.table.cell(row.kind),
        rx.table.cell(rx.badge(row.grade, variant="soft")),
        rx.table.cell(row.lifecycle),
        rx.table.cell(row.value_class),
        rx.table.cell(rx.code(row.phone, variant="ghost")),
        rx.table.cell(row.tags),
        rx.table.cell(row.verified),
        rx.table.cell(row.last_purchase),
        rx.table.cell(row.created),
    )


def customers_page() -> rx.Component:
    S = CustomersState
    return page(
        "nav.customers",
        rx.hstack(
            rx.form(
                rx.hstack(
                    rx.input(
                        name="q",
                        id="customer-query",
                        placeholder=T("customers.search_hint"),
                        width="380px",
                        size="3",
                        auto_focus=True,
                    ),
                    rx.button(
                        rx.icon("search", size=16), T("common.search"), type="submit", size="3"
                    ),
                ),
                on_submit=S.search,
                reset_on_submit=False,
            ),
            rx.spacer(),
            rx.cond(
                S.can_classify,
                rx.button(
                    rx.icon("refresh-cw", size=16),
                    T("classify.run"),
                    size="3",
                    variant="soft",
                    white_space="nowrap",
                    loading=S.classifying,
                    on_click=S.reclassify,
                    data_testid="reclassify",
                ),
            ),
            rx.cond(
                S.can_create,
                rx.link(
                    rx.button(
                        rx.icon("user-plus", size=16),
                        T("customers.new"),
                        size="3",
                        white_space="nowrap",
                    ),
                    href="/customers/new",
                ),
            ),
            width="100%",
        ),
        rx.hstack(
            _select(
                "f_lifecycle",
                "customer.lifecycle",
                [(v, T(f"customer.lifecycle.{v}")) for v in LIFECYCLES],
                S.f_lifecycle,
            ),
            _select("f_grade", "customer.grade", [(v, v) for v in GRADES], S.f_grade),
            _select(
                "f_value",
                "customer.value_class",
                [(v, T(f"customer.value.{v}")) for v in VALUE_CLASSES],
                S.f_value,
            ),
            _select(
                "f_nature",
                "customer.field.nature",
                [(v, T(f"customer.nature.{v}")) for v in NATURES],
                S.f_nature,
            ),
            _labelled(
                "customer.tags",
                rx.select.root(
                    rx.select.trigger(placeholder=T("customer.tags"), width="130px"),
                    rx.select.content(
                        rx.select.item(T("common.all"), value=ALL),
                        rx.foreach(S.tags, lambda tag: rx.select.item(tag, value=tag)),
                    ),
                    value=S.f_tag,
                    on_change=lambda v: S.set_filter("f_tag", v),
                ),
            ),
            _labelled(
                "customers.sort",
                rx.select.root(
                    rx.select.trigger(width="150px"),
                    rx.select.content(
                        *[rx.select.item(T(f"customers.sort.{s}"), value=s) for s in SORTS]
                    ),
                    value=S.sort,
                    on_change=lambda v: S.set_filter("sort", v),
                ),
            ),
            rx.button(T("customers.clear"), variant="ghost", on_click=S.clear),
            wrap="wrap",
            align="end",
            spacing="2",
        ),
        data_table(
            (
                "customer.number",
                "customer.field.name",
                "customer.kind",
                "customer.grade",
                "customer.lifecycle",
                "customer.value_class",
                "customer.field.phone",
                "customer.tags",
                "customer.verify_status",
                "customer.last_purchase",
                "customer.created_at",
            ),
            S.rows,
            _row,
            white_space="nowrap",
        ),
        rx.cond(
            S.total == 0,
            rx.callout(
                rx.cond(S.has_query, T("customers.no_match"), T("customers.empty")),
                icon="search-x",
                width="100%",
                data_testid="customers-empty",
            ),
        ),
        pager(S.page, S.pages, S.total_text, S.prev_page, S.next_page),
    )
