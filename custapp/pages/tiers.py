"""会员等级 for cs_manager: the card tiers with their terms (discount, minimum first top-up, card
fee) and an edit dialog. membership.update_tier checks card.tier.manage, names the fields in error
and audits the change; four tiers fit on one screen, so the table is not paged."""

from __future__ import annotations

import dataclasses

import reflex as rx

from custapp.components.membership import discount_label
from custapp.components.shell import T, data_table, field_error, form_dialog, page
from custapp.money import format_fen
from custapp.services import membership
from custapp.services.customer_input import parse_fen, yuan_text
from custapp.states.session import SessionState


@dataclasses.dataclass(frozen=True)
class TierRow:
    code: str = ""
    name_zh: str = ""
    name_en: str = ""
    discount: str = ""  # as a price tag says it
    discount_pct: int = 100
    min_topup: str = ""  # formatted money
    min_first_topup: str = ""  # yuan, as the input takes it
    card_fee: str = ""  # formatted money
    card_fee_yuan: str = ""  # yuan, as the input takes it


@dataclasses.dataclass(frozen=True)
class TierForm:
    """The tier being edited, as the dialog's inputs start."""

    title: str = ""
    name_zh: str = ""
    name_en: str = ""
    discount_pct: str = ""
    min_first_topup: str = ""
    card_fee: str = ""


def _money(text: str) -> int | str:
    """Yuan typed → fen; unreadable text goes on for the service to name next to its field."""
    text = text.strip()
    fen = parse_fen(text)[0] if text else None
    return fen if fen is not None else text


def _percent(text: str) -> int | str:
    text = text.strip()
    return int(text) if text.isdecimal() and len(text) <= 3 else text


class TiersState(SessionState):
    rows: list[TierRow] = []
    edit_open: bool = False
    form: TierForm = TierForm()
    errors: dict[str, str] = {}
    edit_error: str = ""
    _code: str = ""

    @rx.event
    def load(self):
        _, redirect = self._enter("card.tier.manage")
        if redirect:
            return redirect
        self.edit_open = False
        return self._fetch()

    def _fetch(self):
        tiers, error = self._call(lambda session, actor: membership.list_tiers(session))
        if error:
            self.rows = []
            return rx.toast.error(error)
        self.rows = [
            TierRow(
                code=tier.code,
                name_zh=tier.name_zh,
                name_en=tier.name_en,
                discount=discount_label(tier.discount_pct, self._t, self.locale),
                discount_pct=tier.discount_pct,
                min_topup=format_fen(tier.min_first_topup_fen),
                min_first_topup=yuan_text(tier.min_first_topup_fen),
                card_fee=format_fen(tier.card_fee_fen),
                card_fee_yuan=yuan_text(tier.card_fee_fen),
            )
            for tier in tiers
        ]
        return None

    @rx.event
    def open_edit(self, code: str):
        row = next((r for r in self.rows if r.code == code), None)
        if row is None:
            return
        self._code = code
        self.form = TierForm(
            title=f"{row.name_zh} / {row.name_en}",
            name_zh=row.name_zh,
            name_en=row.name_en,
            discount_pct=str(row.discount_pct),
            min_first_topup=row.min_first_topup,
            card_fee=row.card_fee_yuan,
        )
        self.errors, self.edit_error = {}, ""
        self.edit_open = True

    @rx.event
    def close_edit(self):
        self.edit_open, self.errors, self.edit_error = False, {}, ""

    @rx.event
    def submit_edit(self, form: dict):
        def text(name: str) -> str:
            return str(form.get(name, ""))

        tier, error = self._call(
            membership.update_tier,
            code=self._code,
            name_zh=text("name_zh"),
            name_en=text("name_en"),
            discount_pct=_percent(text("discount_pct")),
            min_first_topup_fen=_money(text("min_first_topup")),
            card_fee_fen=_money(text("card_fee")),
        )
        self.errors = dict(self._field_errors)
        if error:
            self.edit_error = "" if self.errors else error
            return None
        self.edit_open = False
        name = tier.name_en if self.locale == "en" else tier.name_zh
        fetched = self._fetch()
        return [e for e in (fetched, rx.toast.success(self._t("tiers.saved", name=name))) if e]


def _field(name: str, label: str, **props) -> rx.Component:  # noqa: ANN003
    S = TiersState
    return rx.vstack(
        rx.text(T(label), size="2", weight="medium"),
        rx.input(
            name=name, id=f"tier-{name}", default_value=getattr(S.form, name), width="100%", **props
        ),
        field_error(S.errors.get(name, "")),
        spacing="1",
        width="100%",
        data_testid=f"field-{name}",
    )


def _edit_dialog() -> rx.Component:
    S = TiersState
    return form_dialog(
        rx.text(T("tiers.hint"), size="2", color_scheme="gray"),
        _field("name_zh", "tiers.name_zh", max_length=membership.TIER_NAME_LENGTH[0]),
        _field("name_en", "tiers.name_en", max_length=membership.TIER_NAME_LENGTH[1]),
        _field("discount_pct", "tiers.discount_pct", input_mode="numeric"),
        _field("min_first_topup", "tiers.min_topup", input_mode="decimal"),
        _field("card_fee", "tiers.card_fee", input_mode="decimal"),
        title=rx.fragment(T("tiers.edit_title"), " · ", S.form.title),
        is_open=S.edit_open,
        on_close=S.close_edit,
        on_submit=S.submit_edit,
        error=S.edit_error,
        submit_testid="tier-submit",
    )


def _row(r: rx.Var) -> rx.Component:
    return rx.table.row(
        rx.table.cell(rx.code(r.code, variant="ghost")),
        rx.table.cell(
            rx.text(r.name_zh, weight="medium"),
            rx.text(r.name_en, size="1", color_scheme="gray"),
        ),
        rx.table.cell(rx.badge(r.discount, color_scheme="green", variant="soft")),
        rx.table.cell(r.min_topup, data_testid="tier-min-topup"),
        rx.table.cell(r.card_fee, data_testid="tier-card-fee"),
        rx.table.cell(
            rx.button(
                rx.icon("pencil", size=14),
                T("tiers.edit"),
                size="1",
                variant="soft",
                on_click=TiersState.open_edit(r.code),
                data_testid="tier-edit",
            ),
        ),
        data_testid="tier-row",
    )


def tiers_page() -> rx.Component:
    S = TiersState
    return page(
        "nav.tiers",
        rx.text(T("tiers.hint"), size="2", color_scheme="gray"),
        data_table(
            (
                "tiers.col.code",
                "tiers.col.name",
                "tiers.col.discount",
                "tiers.col.min_topup",
                "tiers.col.card_fee",
                "",
            ),
            S.rows,
            _row,
        ),
        _edit_dialog(),
    )
