"""礼品目录 for cs_manager (SPEC §3 Redemption): the catalogue with each gift's points, stock, active
dates, listing and whether members can request it today; adding and editing gifts in one dialog.

Every handler may be called by any browser with any arguments: the services check `gift.manage`
(saving) and `customer.read` (the list), so the front desk's save is refused there. The catalogue is
small: the state fetches it whole and sends one page of at most PAGE_SIZE rows to the browser.
"""

from __future__ import annotations

import dataclasses
from datetime import date

import reflex as rx

from custapp.components.gifts import gift_name
from custapp.components.shell import T, data_table, field_error, form_dialog, page, pager
from custapp.services import gifts
from custapp.states.paging import PagedMixin
from custapp.states.session import SessionState

PAGE_SIZE = 50


@dataclasses.dataclass(frozen=True)
class GiftRow:
    """One gift of the catalogue as the table shows it."""

    id: int = 0
    name: str = ""  # in the reader's language
    other_name: str = ""
    name_zh: str = ""
    name_en: str = ""
    points: str = ""  # the points cost, formatted
    points_cost: int = 0
    stock: int = 0
    active_from: str = ""  # YYYY-MM-DD, "" for no limit
    active_to: str = ""
    dates: str = ""  # the active dates in words
    is_active: bool = False  # listed
    available: bool = False  # members can request it today
    why: str = ""  # why it is not available, "" when it is


@dataclasses.dataclass(frozen=True)
class GiftForm:
    """The dialog's starting values, as its inputs show them."""

    name_zh: str = ""
    name_en: str = ""
    points_cost: str = ""
    stock: str = ""
    active_from: str = ""
    active_to: str = ""
    is_active: bool = False


def _number(text: str) -> int | str | None:
    """A whole number typed in the form; other text goes on for the service to name the field."""
    text = text.strip().replace(",", "")
    if not text:
        return None
    return int(text) if text.isdecimal() and len(text) <= 9 else text


def _day(text: str) -> date | str | None:
    """A date input's value (YYYY-MM-DD); empty means no limit, other text is the service's to
    refuse next to the field."""
    text = text.strip()
    if not text:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        return text


class GiftsState(PagedMixin, SessionState):
    rows: list[GiftRow] = []
    loaded: bool = False
    # 新增礼品 / 编辑礼品: one dialog; edit_id 0 adds a gift
    dialog_open: bool = False
    edit_id: int = 0
    form: GiftForm = GiftForm()
    errors: dict[str, str] = {}
    form_error: str = ""
    _all: list[GiftRow] = []

    def _page_size(self) -> int:
        return PAGE_SIZE

    @rx.event
    def load(self):
        _, redirect = self._enter("gift.manage")
        if redirect:
            return redirect
        self.page, self.dialog_open = 1, False
        return self._reload()

    def _reload(self):
        found, error = self._call(gifts.list_gifts)
        self.loaded = True
        if error:
            self._all, self.rows, self.total = [], [], 0
            return rx.toast.error(error)
        self._all = [self._row(g) for g in found]
        self.total = len(self._all)
        return self._fetch()

    def _fetch(self):
        self.page = max(1, min(self.page, self.pages))
        start = (self.page - 1) * PAGE_SIZE
        self.rows = self._all[start : start + PAGE_SIZE]
        return None

    def _row(self, g: gifts.GiftView) -> GiftRow:
        start = g.active_from.isoformat() if g.active_from else ""
        end = g.active_to.isoformat() if g.active_to else ""
        if start and end:
            dates = self._t("gifts.dates.range", start=start, end=end)
        elif start:
            dates = self._t("gifts.dates.from", start=start)
        elif end:
            dates = self._t("gifts.dates.until", end=end)
        else:
            dates = self._t("gifts.dates.always")
        why = "unlisted" if not g.is_active else "stock" if g.stock <= 0 else "dates"
        return GiftRow(
            id=g.id,
            name=gift_name(g, self.locale),
            other_name=g.name_zh if self.locale == "en" else g.name_en,
            name_zh=g.name_zh,
            name_en=g.name_en,
            points=f"{g.points_cost:,}",
            points_cost=g.points_cost,
            stock=g.stock,
            active_from=start,
            active_to=end,
            dates=dates,
            is_active=g.is_active,
            available=g.available,
            why="" if g.available else self._t(f"gifts.why.{why}"),
        )

    def _open(self, edit_id: int, values: GiftForm) -> None:
        self.edit_id, self.form = edit_id, values
        self.errors, self.form_error, self.dialog_open = {}, "", True

    @rx.event
    def open_create(self):
        self._open(0, GiftForm(is_active=True))

    @rx.event
    def open_edit(self, gift_id: str):
        chosen = next((r for r in self._all if str(r.id) == str(gift_id)), None)
        if chosen is None:
            return rx.toast.error(self._t("gifts.error.not_found"))
        values = GiftForm(
            name_zh=chosen.name_zh,
            name_en=chosen.name_en,
            points_cost=str(chosen.points_cost),
            stock=str(chosen.stock),
            active_from=chosen.active_from,
            active_to=chosen.active_to,
            is_active=chosen.is_active,
        )
        self._open(chosen.id, values)
        return None

    @rx.event
    def close_dialog(self):
        self.dialog_open, self.errors, self.form_error = False, {}, ""

    @rx.event
    def save(self, form: dict):
        values = {
            "name_zh": str(form.get("name_zh", "")),
            "name_en": str(form.get("name_en", "")),
            "points_cost": _number(str(form.get("points_cost", ""))),
            "stock": _number(str(form.get("stock", ""))),
            "active_from": _day(str(form.get("active_from", ""))),
            "active_to": _day(str(form.get("active_to", ""))),
            "is_active": bool(form.get("is_active")),
        }
        if self.edit_id:
            _, error = self._call(gifts.update_gift, gift_id=self.edit_id, **values)
        else:
            _, error = self._call(gifts.create_gift, **values)
        self.errors = dict(self._field_errors)
        if error:
            self.form_error = "" if self.errors else error
            return None
        self.dialog_open, self.errors, self.form_error = False, {}, ""
        reloaded = self._reload()
        return [e for e in (reloaded, rx.toast.success(self._t("gifts.saved"))) if e is not None]


def _yes_badge(flag: rx.Var, yes: str, no: str, colour: str, testid: str) -> rx.Component:
    return rx.cond(
        flag,
        rx.badge(T(yes), color_scheme=colour, data_testid=testid),
        rx.badge(T(no), color_scheme="gray", data_testid=testid),
    )


def _row(r: rx.Var) -> rx.Component:
    return rx.table.row(
        rx.table.cell(
            rx.text(r.name, weight="medium"),
            rx.text(r.other_name, size="1", color_scheme="gray"),
        ),
        rx.table.cell(r.points, data_testid="gift-points"),
        rx.table.cell(r.stock, data_testid="gift-stock"),
        rx.table.cell(r.dates, white_space="nowrap"),
        rx.table.cell(
            _yes_badge(r.is_active, "gifts.listed", "gifts.unlisted", "blue", "gift-listed")
        ),
        rx.table.cell(
            _yes_badge(
                r.available, "gifts.available", "gifts.unavailable", "green", "gift-available"
            ),
            rx.text(r.why, size="1", color_scheme="gray", data_testid="gift-why"),
        ),
        rx.table.cell(
            rx.button(
                rx.icon("pencil", size=14),
                T("gifts.edit_button"),
                variant="soft",
                size="1",
                on_click=GiftsState.open_edit(r.id),
                data_testid="gift-edit",
            )
        ),
        data_testid="gift-row",
    )


def _field(label: str, name: str, control: rx.Component, hint: str | None = None) -> rx.Component:
    return rx.vstack(
        rx.text(T(label), size="2", weight="medium"),
        control,
        *([rx.text(T(hint), size="1", color_scheme="gray")] if hint else []),
        field_error(GiftsState.errors.get(name, "")),
        spacing="1",
        width="100%",
        data_testid=f"field-{name}",
    )


def _input(name: str, **props) -> rx.Component:  # noqa: ANN003
    return rx.input(
        name=name,
        id=f"gift-{name}",
        default_value=getattr(GiftsState.form, name),
        width="100%",
        **props,
    )


def _dialog() -> rx.Component:
    S = GiftsState
    return form_dialog(
        _field("gifts.name_zh", "name_zh", _input("name_zh", max_length=40)),
        _field("gifts.name_en", "name_en", _input("name_en", max_length=80)),
        rx.grid(
            _field(
                "gifts.points_cost",
                "points_cost",
                _input("points_cost", input_mode="numeric", placeholder="300"),
            ),
            _field("gifts.stock", "stock", _input("stock", input_mode="numeric", placeholder="0")),
            _field("gifts.active_from", "active_from", _input("active_from", type="date")),
            _field("gifts.active_to", "active_to", _input("active_to", type="date")),
            columns="2",
            spacing="3",
            width="100%",
        ),
        rx.text(T("gifts.dates_hint"), size="1", color_scheme="gray"),
        rx.vstack(
            rx.hstack(
                rx.switch(
                    name="is_active",
                    id="gift-is-active",
                    default_checked=S.form.is_active,
                    data_testid="gift-is-active",
                ),
                rx.el.label(
                    rx.text(T("gifts.is_active"), as_="span", size="2", weight="medium"),
                    html_for="gift-is-active",
                ),
                align="center",
                spacing="2",
            ),
            rx.text(T("gifts.is_active_hint"), size="1", color_scheme="gray"),
            field_error(S.errors.get("is_active", "")),
            spacing="1",
            width="100%",
        ),
        title=rx.cond(S.edit_id != 0, T("gifts.edit"), T("gifts.create")),
        is_open=S.dialog_open,
        on_close=S.close_dialog,
        on_submit=S.save,
        error=S.form_error,
        submit_testid="gift-submit",
    )


def gifts_page() -> rx.Component:
    S = GiftsState
    return page(
        "nav.gifts",
        rx.vstack(
            rx.hstack(
                rx.text(T("gifts.page_note"), size="2", color_scheme="gray"),
                rx.spacer(),
                rx.button(
                    rx.icon("plus", size=14),
                    T("gifts.create"),
                    on_click=S.open_create,
                    data_testid="gift-create",
                ),
                width="100%",
                align="center",
                wrap="wrap",
            ),
            rx.cond(
                S.loaded,
                rx.cond(
                    S.total == 0,
                    rx.callout(
                        T("gifts.page_empty"),
                        icon="gift",
                        color_scheme="gray",
                        width="100%",
                        data_testid="gifts-empty",
                    ),
                    rx.vstack(
                        data_table(
                            (
                                "gifts.col.name",
                                "gifts.points_cost",
                                "gifts.stock",
                                "gifts.col.dates",
                                "gifts.col.listing",
                                "gifts.col.today",
                                "",
                            ),
                            S.rows,
                            _row,
                        ),
                        rx.cond(
                            S.total > PAGE_SIZE,
                            pager(S.page, S.pages, S.total, S.prev_page, S.next_page),
                        ),
                        width="100%",
                    ),
                ),
                rx.spinner(),
            ),
            _dialog(),
            spacing="3",
            width="100%",
        ),
    )
