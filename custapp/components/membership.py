"""Membership pieces shared by the profile's 积分与储值 tab, its 订单 tab, 会员等级 and the member
portal: the discount label, the card summary and ledger rows as the pages show them, and the
confirmation panel of a money operation."""

from __future__ import annotations

import dataclasses

import reflex as rx

from custapp import clock
from custapp.components.shell import T
from custapp.money import format_fen
from custapp.services import membership

LEDGER_PAGE_SIZE = 10  # ledger entries per page (the profile's tab and the portal)


def discount_label(pct: int, t, locale: str) -> str:  # noqa: ANN001
    """The tier discount as a price tag shows it: 90 → "9 折" in Chinese, "90% of price" in
    English; 100 → no discount."""
    if pct >= 100:
        return t("membership.no_discount")
    return t("membership.discount", value=f"{pct / 10:g}" if locale != "en" else pct)


@dataclasses.dataclass(frozen=True)
class CardSummary:
    """The card, balance and points as the page shows them; empty until loaded."""

    has_card: bool = False
    tier: str = ""
    tier_code: str = ""
    number: str = ""
    discount: str = ""
    member_class: str = ""  # the class's label
    issued: str = ""
    balance: str = ""
    points: str = ""
    clawback: str = ""
    expiring: str = ""
    next_tier: str = ""
    expiring_total: str = ""  # the points expiring in the next 30 days (the portal)


@dataclasses.dataclass(frozen=True)
class LedgerEntry:
    """One stored-value or points ledger entry as a table shows it."""

    time: str = ""
    kind: str = ""
    amount: str = ""
    negative: bool = False
    detail: str = ""
    receipt: str = ""  # a top-up's 小票 (the staff tab), else ""


def summary_vars(summary: membership.MemberSummary, t, locale: str) -> CardSummary:  # noqa: ANN001
    """The card, balance and points as the page shows them (the staff tab and the portal)."""
    card = summary.card

    def tier_name(tier: membership.TierView) -> str:
        return tier.name_en if locale == "en" else tier.name_zh

    def discount(pct: int) -> str:
        return discount_label(pct, t, locale)

    nxt = summary.next_tier
    return CardSummary(
        has_card=card is not None,
        tier=tier_name(card.tier) if card else "",
        tier_code=card.tier.code if card else "",
        number=card.number if card else "",
        discount=discount(card.tier.discount_pct) if card else "",
        member_class=t(f"membership.class.{summary.member_class}"),
        issued=clock.format_local(card.issued_at, "%Y-%m-%d") if card else "",
        balance=format_fen(summary.balance_fen),
        points=f"{summary.points_available:,}",
        clawback=t("points.clawback_open", points=summary.clawback_points)
        if summary.clawback_points
        else "",
        expiring="；".join(
            t("points.expiring", points=e.points, date=e.expires_on.isoformat())
            for e in summary.expiring
        ),
        next_tier=t(
            "membership.next_tier",
            tier=tier_name(nxt),
            discount=discount(nxt.discount_pct),
            topup=format_fen(nxt.min_first_topup_fen),
            fee=format_fen(nxt.card_fee_fen),
        )
        if nxt
        else "",
        expiring_total=f"{sum(e.points for e in summary.expiring):,}",
    )


def ledger_row(row: membership.LedgerRow, kind: str, t) -> LedgerEntry:  # noqa: ANN001
    """One stored-value or points ledger entry for a table."""
    money = kind == "stored_value"
    label = t(f"membership.stored_value.{row.kind}") if money else t(f"points.kind.{row.kind}")
    amount = format_fen(row.amount) if money else f"{row.amount:+,}"
    if money and row.amount > 0:
        amount = "+" + amount
    detail = " · ".join(
        part
        for part in (
            t(f"orders.method.{row.method}") if row.method else "",
            row.order_number,
            row.note,
        )
        if part
    )
    return LedgerEntry(
        time=clock.format_local(row.created_at),
        kind=label,
        amount=amount,
        negative=row.amount < 0,
        detail=detail or "—",
    )


def confirm_panel(
    text: rx.Var,
    on_confirm,  # noqa: ANN001
    on_back,  # noqa: ANN001
    label: rx.Var | None = None,
) -> rx.Component:
    """The confirmation of a money operation: what will happen, 返回修改 and 确认 (or `label`)."""
    return rx.vstack(
        rx.text(T("money.confirm_title"), weight="medium", size="2"),
        rx.callout(text, icon="banknote", color_scheme="amber", data_testid="money-confirm-text"),
        rx.hstack(
            rx.button(
                T("money.back"),
                type="button",
                variant="soft",
                color_scheme="gray",
                on_click=on_back,
                data_testid="money-back",
            ),
            rx.button(
                label if label is not None else T("money.confirm"),
                type="button",
                on_click=on_confirm,
                data_testid="money-confirm",
            ),
            justify="end",
            width="100%",
        ),
        spacing="3",
        width="100%",
    )
