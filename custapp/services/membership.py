"""会员卡与储值 (SPEC §3, §8 Money): tiers, card life at the front desk (issue, upgrade, 补卡,
退卡), top-ups, the stored-value ledger and the member summary of the portal.

- The stored-value balance is the sum of the customer's ledger and never goes negative: every
  entry is written under the customer's row lock (SELECT ... FOR UPDATE on PostgreSQL; SQLite's
  write transaction serialises) after checking the new sum in the same transaction.
- The card fee is its own payment record, never a stored-value entry, and never paid from it.
- Balances and points belong to the customer, so a replacement card carries them as they are.
- Audit entries hold ids, tier codes and amounts, never a value of the customer's data.
- Limits (issue 14): a card's balance never exceeds settings.stored_value_cap_fen (the limit of
  a registered single-purpose prepaid card), one top-up never exceeds settings.topup_max_fen.
- Every operation that moves money takes `preview=True`: it runs every check of the real call
  and returns what would happen (a Preview) without writing, for the confirmation the counter
  shows; the commit is a second call that checks everything again.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlmodel import Session

from custapp import clock
from custapp.models import (
    Attachment,
    CardFeePayment,
    Customer,
    MemberCard,
    MemberTier,
    Order,
    PointsEntry,
    StoredValueEntry,
)
from custapp.models.membership import MEMBER_CLASSES
from custapp.models.orders import PAYMENT_METHODS
from custapp.security.masking import mask_generic
from custapp.services import audit, points, stores
from custapp.services.actor import Actor
from custapp.services.customer_input import MAX_FEN, check_reason, is_row_id
from custapp.services.customers import display_names, live_customer, survivor
from custapp.services.errors import DomainError, NotFound, ValidationFailed
from custapp.services.guard import requires
from custapp.services.paging import page_window
from custapp.settings import get_settings
from custapp.vocab import (
    CardStatus,
    CustomerKind,
    FeeKind,
    MemberClass,
    PaymentMethod,
    StoredValueKind,
)

# fees, top-ups, 退卡
MONEY_METHODS = tuple(m for m in PAYMENT_METHODS if m != PaymentMethod.STORED_VALUE)
MAX_PAGE_SIZE = 100
TIER_NAME_LENGTH = (20, 30)  # zh, en


# --- DTOs -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class TierView:
    code: str
    name_zh: str
    name_en: str
    discount_pct: int
    min_first_topup_fen: int
    card_fee_fen: int
    rank: int


@dataclass(frozen=True)
class CardView:
    id: int
    number: str
    customer_id: int
    tier: TierView
    member_class: str  # vip | unit
    status: str  # active | lost | closed
    issued_at: datetime
    replaced_by_number: str  # the new card of a lost one, else ""


@dataclass(frozen=True)
class CardResult:
    card: CardView
    fee_fen: int
    topup_fen: int
    balance_fen: int
    topup_receipt: TopupReceipt | None


@dataclass(frozen=True)
class TopupReceipt:
    """小票 of a top-up."""

    number: str  # D<local yyyymmdd><entry id>
    card_number: str
    amount_fen: int
    method: str
    balance_fen: int  # after the top-up
    store_name: str
    created_at: datetime


@dataclass(frozen=True)
class Preview:
    """What a money operation would do, for the confirmation before it is committed."""

    amount_fen: int  # the money moved: a top-up, a refund, a void's payments
    fee_fen: int = 0  # a card fee paid with it
    balance_fen: int | None = None  # the stored value after it; None when no card is involved
    needs_approval: bool = False  # a refund the counter may only ask for (审批)


@dataclass(frozen=True)
class ClosedCard:
    card: CardView
    refunded_fen: int
    method: str | None


@dataclass(frozen=True)
class MemberSummary:
    """What the member page shows (and the profile's membership tab)."""

    customer_id: int
    card: CardView | None  # None: a non-member
    member_class: str  # non_member | vip | unit
    balance_fen: int
    points_available: int  # 0 while a clawback is open
    clawback_points: int
    expiring: list[points.Expiring]  # next 30 days, per date
    next_tier: TierView | None  # what the next tier offers (discount) and takes (top-up, fee)


@dataclass(frozen=True)
class LedgerRow:
    id: int
    kind: str
    amount: int  # fen for stored value, points for points; signed
    method: str  # stored value: how money came in or went out
    order_number: str
    note: str  # points: the adjustment's reason or the redemption reference
    created_at: datetime


@dataclass(frozen=True)
class Receipt:
    """小票 as printed: an order (orders.order_receipt: purchase, refund or void) or a top-up
    (topup_receipt). The customer's name and the card number are masked; nothing else of the
    customer's data is on it."""

    kind: str  # purchase | refund | void | topup
    number: str  # the order number, or D<local yyyymmdd><entry id> of a top-up
    original_number: str  # the purchase a refund or void reverses, else ""
    store_name: str
    created_at: datetime
    customer_name: str  # masked
    card_number: str  # masked; "" when no card was involved
    lines: tuple[tuple[str, int, int, int], ...]  # item, quantity, unit price fen, amount fen
    total_fen: int  # a top-up: the amount
    discount_fen: int
    paid_fen: int
    payments: tuple[tuple[str, int], ...]  # (method, amount fen)
    points: int  # earned (+) or taken back (−) by the order
    balance_fen: int | None  # stored value right after; None when no card was involved
    operator: str  # the display name of the user who posted it


# --- reading ----------------------------------------------------------------------------------


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _tier_view(tier: MemberTier) -> TierView:
    return TierView(
        tier.code, tier.name_zh, tier.name_en, tier.discount_pct, tier.min_first_topup_fen,
        tier.card_fee_fen, tier.rank,
    )  # fmt: skip


def list_tiers(session: Session) -> list[TierView]:
    """The tiers by rank (public terms: no permission needed to read them)."""
    rows = session.exec(select(MemberTier).order_by(MemberTier.rank)).scalars()
    return [_tier_view(t) for t in rows]


def _tier(session: Session, code: object) -> MemberTier | None:
    return session.get(MemberTier, code) if isinstance(code, str) else None


def _card_view(session: Session, card: MemberCard) -> CardView:
    replaced = session.get(MemberCard, card.replaced_by_id) if card.replaced_by_id else None
    return CardView(
        card.id, card.number, card.customer_id, _tier_view(session.get(MemberTier, card.tier_code)),
        card.member_class, card.status, card.issued_at, replaced.number if replaced else "",
    )  # fmt: skip


def active_card(session: Session, customer_id: int) -> MemberCard | None:
    return session.exec(
        select(MemberCard).where(
            MemberCard.customer_id == customer_id, MemberCard.status == CardStatus.ACTIVE
        )
    ).scalar_one_or_none()


def balance(session: Session, customer_id: int) -> int:
    """The stored-value balance: the sum of the customer's ledger."""
    total = session.exec(
        select(func.coalesce(func.sum(StoredValueEntry.amount_fen), 0)).where(
            StoredValueEntry.customer_id == customer_id
        )
    ).scalar_one()
    return int(total)


def _next_tier(session: Session, tier: MemberTier | None) -> TierView | None:
    rank = tier.rank if tier else 0
    above = session.exec(
        select(MemberTier).where(MemberTier.rank > rank).order_by(MemberTier.rank).limit(1)
    ).scalar_one_or_none()
    return _tier_view(above) if above else None


def _summary(session: Session, customer_id: int) -> MemberSummary:
    customer, _ = survivor(session, customer_id)
    card = active_card(session, customer.id)
    tier = session.get(MemberTier, card.tier_code) if card else None
    return MemberSummary(
        customer_id=customer.id,
        card=_card_view(session, card) if card else None,
        member_class=card.member_class if card else "non_member",
        balance_fen=balance(session, customer.id),
        points_available=points.available(session, customer.id),
        clawback_points=points.clawback_of(session, customer.id),
        expiring=points.expiring(session, customer.id),
        next_tier=_next_tier(session, tier),
    )


@requires("customer.read", reads=True)
def customer_membership(session: Session, *, actor: Actor, customer_id: int) -> MemberSummary:
    """The profile's membership tab (a merged customer's id shows the survivor's)."""
    return _summary(session, customer_id)


def _own(actor: Actor) -> int:
    if actor.customer_id is None:
        raise NotFound("customer.error.not_found")
    return actor.customer_id


@requires("member.self", reads=True)
def member_summary(session: Session, *, actor: Actor) -> MemberSummary:
    """The member page: the member's own card, balance and points only (no argument names a
    customer: the customer comes from the login)."""
    return _summary(session, _own(actor))


@requires("customer.read", reads=True)
def find_card(session: Session, *, actor: Actor, number: str) -> CardView:
    """Exact lookup by card number (any status: the counter says a lost or closed card is void)."""
    text = number.strip() if isinstance(number, str) else ""
    card = session.exec(select(MemberCard).where(MemberCard.number == text)).scalar_one_or_none()
    if card is None:
        raise ValidationFailed({"card_number": "membership.error.card_unknown"})
    return _card_view(session, card)


def _order_numbers(session: Session, ids: set[int]) -> dict[int, str]:
    if not ids:
        return {}
    return dict(session.exec(select(Order.id, Order.number).where(Order.id.in_(ids))).all())


def _stored_value_page(
    session: Session, customer_id: int, page: int, page_size: int
) -> tuple[list[LedgerRow], int]:
    customer, _ = survivor(session, customer_id)
    window = page_window(page, page_size, max_size=MAX_PAGE_SIZE)
    where = StoredValueEntry.customer_id == customer.id
    total = session.exec(select(func.count(StoredValueEntry.id)).where(where)).scalar_one()
    rows = list(
        session.exec(
            select(StoredValueEntry)
            .where(where)
            .order_by(StoredValueEntry.created_at.desc(), StoredValueEntry.id.desc())
            .offset(window.offset)
            .limit(window.limit)
        ).scalars()
    )
    numbers = _order_numbers(session, {r.order_id for r in rows if r.order_id})
    return [
        LedgerRow(
            r.id,
            r.kind,
            r.amount_fen,
            r.method or "",
            numbers.get(r.order_id or 0, ""),
            "",
            r.created_at,
        )  # fmt: skip
        for r in rows
    ], total


def _points_page(
    session: Session, customer_id: int, page: int, page_size: int, *, reasons: bool
) -> tuple[list[LedgerRow], int]:
    customer, _ = survivor(session, customer_id)
    window = page_window(page, page_size, max_size=MAX_PAGE_SIZE)
    where = PointsEntry.customer_id == customer.id
    total = session.exec(select(func.count(PointsEntry.id)).where(where)).scalar_one()
    rows = list(
        session.exec(
            select(PointsEntry)
            .where(where)
            .order_by(PointsEntry.created_at.desc(), PointsEntry.id.desc())
            .offset(window.offset)
            .limit(window.limit)
        ).scalars()
    )
    numbers = _order_numbers(session, {r.order_id for r in rows if r.order_id})
    return [
        LedgerRow(
            r.id,
            r.kind,
            r.points,
            "",
            numbers.get(r.order_id or 0, ""),
            (r.reason if reasons else None) or r.ref or "",
            r.created_at,
        )  # fmt: skip
        for r in rows
    ], total


@requires("customer.read", reads=True)
def stored_value_ledger(
    session: Session, *, actor: Actor, customer_id: int, page: int = 1, page_size: int = 20
) -> tuple[list[LedgerRow], int]:
    """One page of the customer's stored-value ledger, newest first, and the row count."""
    return _stored_value_page(session, customer_id, page, page_size)


@requires("customer.read", reads=True)
def points_ledger(
    session: Session, *, actor: Actor, customer_id: int, page: int = 1, page_size: int = 20
) -> tuple[list[LedgerRow], int]:
    """One page of the customer's points ledger (adjustment reasons included), newest first."""
    return _points_page(session, customer_id, page, page_size, reasons=True)


@requires("member.self", reads=True)
def member_stored_value_ledger(
    session: Session, *, actor: Actor, page: int = 1, page_size: int = 20
) -> tuple[list[LedgerRow], int]:
    return _stored_value_page(session, _own(actor), page, page_size)


@requires("member.self", reads=True)
def member_points_ledger(
    session: Session, *, actor: Actor, page: int = 1, page_size: int = 20
) -> tuple[list[LedgerRow], int]:
    """The member's own points ledger; staff's adjustment reasons are internal and left out."""
    return _points_page(session, _own(actor), page, page_size, reasons=False)


# --- the stored-value ledger ------------------------------------------------------------------


def stored_value_problem(
    session: Session, *, customer_id: int, amount_fen: int, refund: bool = False
) -> str | None:
    """Why `amount_fen` cannot be paid from (or, refund=True, back into) the customer's stored
    value: an i18n key, or None. Needs an active card; a payment needs the balance."""
    if active_card(session, customer_id) is None:
        return "membership.error.no_active_card"
    if not refund and balance(session, customer_id) < amount_fen:
        return "membership.error.insufficient_balance"
    if refund and balance(session, customer_id) + amount_fen > get_settings().stored_value_cap_fen:
        return "membership.error.balance_over_cap"
    return None


def record_stored_value(
    session: Session,
    *,
    actor: Actor,
    customer_id: int,
    kind: str,
    amount_fen: int,
    card_id: int | None,
    method: str | None = None,
    order_id: int | None = None,
    store_id: int | None = None,
) -> StoredValueEntry:
    """Append one ledger entry; the caller holds the customer's row lock. The balance is checked
    after the entry, in the same transaction: it never goes below zero, and an entry that adds
    money never takes it above the cap."""
    entry = StoredValueEntry(
        customer_id=customer_id,
        card_id=card_id,
        kind=kind,
        amount_fen=amount_fen,
        method=method,
        order_id=order_id,
        store_id=store_id,
        created_by=actor.user_id,
        created_at=clock.now(),
    )
    session.add(entry)
    session.flush()
    if amount_fen < 0 and balance(session, customer_id) < 0:
        raise DomainError("membership.error.insufficient_balance")
    if amount_fen > 0 and balance(session, customer_id) > get_settings().stored_value_cap_fen:
        raise DomainError("membership.error.balance_over_cap")
    return entry


# --- card life --------------------------------------------------------------------------------


def _check_money(
    value: object, name: str, errors: dict[str, str], *, minimum: int = 0, key: str = ""
) -> int:
    if not _is_int(value) or value < 0:
        errors[name] = "membership.error.amount"
        return 0
    if value > MAX_FEN:
        errors[name] = "customer.error.amount_too_large"
        return 0
    if value < minimum:
        errors[name] = key
    return value


def _check_topup_limits(
    session: Session, customer_id: int, amount: int, name: str, errors: dict[str, str]
) -> None:
    """A top-up within the single limit that keeps the balance within the cap."""
    if not amount or name in errors:
        return
    settings = get_settings()
    if amount > settings.topup_max_fen:
        errors[name] = "membership.error.topup_over_limit"
    elif balance(session, customer_id) + amount > settings.stored_value_cap_fen:
        errors[name] = "membership.error.balance_over_cap"


def _check_method(value: object, name: str, errors: dict[str, str]) -> str:
    if value not in MONEY_METHODS:
        errors[name] = "membership.error.method"
        return ""
    return value  # type: ignore[return-value]


def _number(card: MemberCard) -> str:
    """88 + the zero-padded id + a Luhn check digit: unique because ids are (cards are never
    deleted), and a mistyped digit is caught at the counter."""
    body = f"88{card.id:09d}"
    total = 0
    for i, digit in enumerate(reversed(body)):
        d = int(digit) * (2 if i % 2 == 0 else 1)
        total += d - 9 if d > 9 else d
    return f"{body}{(10 - total % 10) % 10}"


def _new_card(session: Session, card: MemberCard) -> MemberCard:
    card.number = f"new-{uuid.uuid4().hex[:15]}"
    session.add(card)
    session.flush()
    card.number = _number(card)
    session.flush()
    return card


def _fee(
    session: Session, actor: Actor, card: MemberCard, tier: MemberTier, kind: str, method: str
) -> int:
    if tier.card_fee_fen:
        session.add(
            CardFeePayment(
                customer_id=card.customer_id,
                card_id=card.id,
                tier_code=tier.code,
                kind=kind,
                amount_fen=tier.card_fee_fen,
                method=method,
                store_id=actor.store_id,
                created_by=actor.user_id,
                created_at=clock.now(),
            )  # fmt: skip
        )
    return tier.card_fee_fen


def topup_number(created_at: datetime, entry_id: int) -> str:
    """A top-up receipt's number: D + local yyyymmdd + the zero-padded ledger entry id."""
    return f"D{clock.to_local(created_at):%Y%m%d}{entry_id:08d}"


def _topup_receipt(session: Session, entry: StoredValueEntry, card: MemberCard) -> TopupReceipt:
    names = stores.store_names(session, [entry.store_id] if entry.store_id else [])
    return TopupReceipt(
        number=topup_number(entry.created_at, entry.id),
        card_number=card.number,
        amount_fen=entry.amount_fen,
        method=entry.method or "",
        balance_fen=balance(session, entry.customer_id),
        store_name=names.get(entry.store_id or 0, ""),
        created_at=entry.created_at,
    )


def _topup_entry(
    session: Session, actor: Actor, card: MemberCard, amount: int, method: str
) -> StoredValueEntry | None:
    if not amount:
        return None
    return record_stored_value(
        session, actor=actor, customer_id=card.customer_id, amount_fen=amount,
        kind=StoredValueKind.TOPUP,
        card_id=card.id, method=method, store_id=actor.store_id,
    )  # fmt: skip


@requires("card.issue")
def issue_card(
    session: Session,
    *,
    actor: Actor,
    customer_id: int,
    tier_code: str,
    application_signed: bool,
    first_topup_fen: int,
    topup_method: str | None = None,
    fee_method: str | None = None,
    member_class: str | None = None,
    application_attachment_id: int | None = None,
    preview: bool = False,
) -> CardResult | Preview:
    """Issue a card in one transaction: the membership application confirmed and signed by the
    customer (a checkbox, optionally the scanned form from the customer's attachments), the
    tier's card fee paid separately, and the first top-up of at least the tier's minimum (and
    within the limits). The member class defaults to unit for an organisation, else VIP.
    Field errors: tier, application_signed, application_attachment, first_topup, topup_method,
    fee_method, member_class; refused when the customer already holds an active card."""
    errors: dict[str, str] = {}
    tier = _tier(session, tier_code)
    if tier is None:
        errors["tier"] = "membership.error.tier"
    if application_signed is not True:
        errors["application_signed"] = "membership.error.application_unsigned"
    topup = _check_money(
        first_topup_fen, "first_topup", errors, minimum=tier.min_first_topup_fen if tier else 0,
        key="membership.error.topup_below_minimum",
    )  # fmt: skip
    topup_method = _check_method(topup_method, "topup_method", errors) if topup else None
    if tier and tier.card_fee_fen:
        fee_method = _check_method(fee_method, "fee_method", errors)
    if member_class is not None and member_class not in MEMBER_CLASSES:
        errors["member_class"] = "membership.error.member_class"
    customer = live_customer(session, customer_id, lock=True)
    if application_attachment_id is not None:
        attachment = (
            session.get(Attachment, application_attachment_id)
            if is_row_id(application_attachment_id)
            else None
        )
        if attachment is None or attachment.customer_id != customer.id:
            errors["application_attachment"] = "membership.error.attachment"
    _check_topup_limits(session, customer.id, topup, "first_topup", errors)
    if errors:
        raise ValidationFailed(errors)
    if active_card(session, customer.id) is not None:
        raise DomainError("membership.error.has_active_card")
    if preview:
        return Preview(topup, tier.card_fee_fen, balance(session, customer.id) + topup)
    card = _new_card(
        session,
        MemberCard(
            customer_id=customer.id,
            tier_code=tier.code,
            member_class=member_class
            or (
                MemberClass.UNIT if customer.kind == CustomerKind.ORGANISATION else MemberClass.VIP
            ),
            store_id=actor.store_id,
            application_signed=True,
            application_attachment_id=application_attachment_id,
            issued_by=actor.user_id,
            issued_at=clock.now(),
        ),
    )
    fee = _fee(session, actor, card, tier, FeeKind.ISSUE, fee_method or "")
    entry = _topup_entry(session, actor, card, topup, topup_method or "")
    audit.record(
        session,
        actor=actor,
        action="card.issue",
        customer_id=customer.id,
        detail={"card": card.id, "tier": tier.code, "fee_fen": fee, "topup_fen": topup},
    )
    return CardResult(
        _card_view(session, card), fee, topup, balance(session, customer.id),
        _topup_receipt(session, entry, card) if entry else None,
    )  # fmt: skip


def _card_for_update(session: Session, card_id: object) -> tuple[MemberCard, Customer]:
    """The card and its customer, the customer's row locked first (the order every writer of
    balances uses), the card re-read after the lock."""
    card = session.get(MemberCard, card_id) if is_row_id(card_id) else None
    if card is None:
        raise NotFound("error.not_found")
    customer = live_customer(session, card.customer_id, lock=True)
    session.refresh(card)
    return card, customer


def _require_active(card: MemberCard) -> None:
    if card.status != CardStatus.ACTIVE:
        raise DomainError("membership.error.card_not_active")


@requires("card.issue")
def upgrade_card(
    session: Session,
    *,
    actor: Actor,
    card_id: int,
    tier_code: str,
    signature_confirmed: bool,
    topup_fen: int,
    topup_method: str,
    fee_method: str | None = None,
    preview: bool = False,
) -> CardResult | Preview:
    """升级: the customer's signature confirmation, a top-up of at least the new tier's first
    top-up (within the limits) and the new tier's card fee; the card number stays. Field errors:
    tier, signature_confirmed, topup, topup_method, fee_method."""
    card, customer = _card_for_update(session, card_id)
    _require_active(card)
    current = session.get(MemberTier, card.tier_code)
    errors: dict[str, str] = {}
    tier = _tier(session, tier_code)
    if tier is None or tier.rank <= current.rank:
        errors["tier"] = "membership.error.upgrade_tier"
        tier = None
    if signature_confirmed is not True:
        errors["signature_confirmed"] = "membership.error.signature_required"
    topup = _check_money(
        topup_fen, "topup", errors, minimum=tier.min_first_topup_fen if tier else 0,
        key="membership.error.topup_below_minimum",
    )  # fmt: skip
    if topup:
        topup_method = _check_method(topup_method, "topup_method", errors)
    if tier and tier.card_fee_fen:
        fee_method = _check_method(fee_method, "fee_method", errors)
    _check_topup_limits(session, customer.id, topup, "topup", errors)
    if errors:
        raise ValidationFailed(errors)
    if preview:
        return Preview(topup, tier.card_fee_fen, balance(session, customer.id) + topup)
    card.tier_code = tier.code
    card.upgraded_at = clock.now()
    fee = _fee(session, actor, card, tier, FeeKind.UPGRADE, fee_method or "")
    entry = _topup_entry(session, actor, card, topup, topup_method)
    audit.record(
        session,
        actor=actor,
        action="card.upgrade",
        customer_id=customer.id,
        detail={"card": card.id, "from": current.code, "tier": tier.code, "fee_fen": fee,
                "topup_fen": topup},
    )  # fmt: skip
    return CardResult(
        _card_view(session, card), fee, topup, balance(session, customer.id),
        _topup_receipt(session, entry, card) if entry else None,
    )  # fmt: skip


@requires("card.issue")
def replace_lost_card(
    session: Session, *, actor: Actor, card_id: int, identity_checked: bool
) -> CardView:
    """补卡: on the customer's own request after an identity check, the lost card's number is
    cancelled for good and a new number is issued with the same tier and class; balance and
    points stay with the customer. Field error: identity_checked."""
    if identity_checked is not True:
        raise ValidationFailed({"identity_checked": "membership.error.identity_required"})
    card, customer = _card_for_update(session, card_id)
    _require_active(card)
    now = clock.now()
    card.status, card.ended_at = CardStatus.LOST, now
    session.flush()  # the one active card per customer is free again
    new = _new_card(
        session,
        MemberCard(
            customer_id=customer.id, tier_code=card.tier_code, member_class=card.member_class,
            store_id=actor.store_id, application_signed=card.application_signed,
            application_attachment_id=card.application_attachment_id,
            issued_by=actor.user_id, issued_at=now,
        ),
    )  # fmt: skip
    card.replaced_by_id = new.id
    audit.record(
        session,
        actor=actor,
        action="card.replace",
        customer_id=customer.id,
        detail={"card": card.id, "new_card": new.id},
    )
    return _card_view(session, new)


@requires("card.close")
def close_card(
    session: Session,
    *,
    actor: Actor,
    card_id: int,
    refund_method: str | None,
    reason: str,
    preview: bool = False,
) -> ClosedCard | Preview:
    """退卡: the remaining stored value is paid back by the chosen method (a closure_refund entry)
    and the card is closed for good; points stay with the customer. Field errors:
    refund_method, reason."""
    card, customer = _card_for_update(session, card_id)
    _require_active(card)
    left = balance(session, customer.id)
    errors: dict[str, str] = {}
    method = _check_method(refund_method, "refund_method", errors) if left > 0 else None
    try:
        reason = check_reason(reason)
    except ValidationFailed as exc:
        errors.update(exc.errors)
    if errors:
        raise ValidationFailed(errors)
    if preview:
        return Preview(max(left, 0), 0, 0)
    if left > 0:
        record_stored_value(
            session, actor=actor, customer_id=customer.id, kind=StoredValueKind.CLOSURE_REFUND,
            amount_fen=-left, card_id=card.id, method=method, store_id=actor.store_id,
        )  # fmt: skip
    card.status, card.ended_at = CardStatus.CLOSED, clock.now()
    audit.record(
        session,
        actor=actor,
        action="card.close",
        customer_id=customer.id,
        reason=reason,
        detail={"card": card.id, "refunded_fen": max(left, 0)},
    )
    return ClosedCard(_card_view(session, card), max(left, 0), method)


@requires("topup.post")
def topup(
    session: Session,
    *,
    actor: Actor,
    card_id: int,
    amount_fen: int,
    method: str,
    preview: bool = False,
) -> TopupReceipt | Preview:
    """充值 onto an active card, within the single limit and the balance cap; returns the receipt
    (小票). Field errors: amount, method."""
    errors: dict[str, str] = {}
    amount = _check_money(amount_fen, "amount", errors, minimum=1, key="membership.error.amount")
    method = _check_method(method, "method", errors)
    card, customer = _card_for_update(session, card_id)
    _check_topup_limits(session, customer.id, amount, "amount", errors)
    if errors:
        raise ValidationFailed(errors)
    _require_active(card)
    if preview:
        return Preview(amount, 0, balance(session, customer.id) + amount)
    entry = _topup_entry(session, actor, card, amount, method)
    audit.record(
        session,
        actor=actor,
        action="stored_value.topup",
        customer_id=customer.id,
        detail={"card": card.id, "entry": entry.id, "amount_fen": amount},
    )
    return _topup_receipt(session, entry, card)


# --- receipts (小票) ---------------------------------------------------------------------------


def masked_card_number(number: str) -> str:
    """88******1234: the first two and the last four digits of a card number."""
    return f"{number[:2]}{'*' * max(len(number) - 6, 4)}{number[-4:]}" if number else ""


def receipt_party(session: Session, customer_id: int, card_id: int | None) -> tuple[str, str]:
    """(the customer's masked name, the card's masked number) as a receipt prints them."""
    customer = session.get(Customer, customer_id)
    card = session.get(MemberCard, card_id) if card_id else None
    return (
        mask_generic(customer.name) if customer and customer.name else "",
        masked_card_number(card.number) if card else "",
    )


def balance_after(session: Session, customer_id: int, *, entry_id: int | None, at: datetime) -> int:
    """The stored value right after ledger entry `entry_id` (entries of one customer are written
    under its row lock, so ids follow time), or at `at` when the receipt moved no stored value."""
    where = [StoredValueEntry.customer_id == customer_id]
    where.append(StoredValueEntry.id <= entry_id if entry_id else StoredValueEntry.created_at <= at)
    total = session.exec(
        select(func.coalesce(func.sum(StoredValueEntry.amount_fen), 0)).where(*where)
    ).scalar_one()
    return int(total)


def operator_name(session: Session, user_id: int | None) -> str:
    return display_names(session, [user_id]).get(user_id or 0, "")


@requires("customer.read")
def topup_receipt(session: Session, *, actor: Actor, number: str) -> Receipt:
    """The 小票 of a top-up, by its number (D<local yyyymmdd><entry id>), with the balance right
    after it. Audited as a view of the customer's data."""
    text = number.strip() if isinstance(number, str) else ""
    entry_id = int(text[9:]) if len(text) == 17 and text[1:].isdecimal() else 0
    entry = session.get(StoredValueEntry, entry_id) if entry_id else None
    if (
        entry is None
        or entry.kind != StoredValueKind.TOPUP
        or topup_number(entry.created_at, entry.id) != text
    ):
        raise NotFound("error.not_found")
    name, card = receipt_party(session, entry.customer_id, entry.card_id)
    names = stores.store_names(session, [entry.store_id] if entry.store_id else [])
    receipt = Receipt(
        kind="topup",
        number=text,
        original_number="",
        store_name=names.get(entry.store_id or 0, ""),
        created_at=entry.created_at,
        customer_name=name,
        card_number=card,
        lines=(),
        total_fen=entry.amount_fen,
        discount_fen=0,
        paid_fen=entry.amount_fen,
        payments=((entry.method or "", entry.amount_fen),),
        points=0,
        balance_fen=balance_after(
            session, entry.customer_id, entry_id=entry.id, at=entry.created_at
        ),
        operator=operator_name(session, entry.created_by),
    )
    audit.record(
        session,
        actor=actor,
        action="receipt.view",
        customer_id=entry.customer_id,
        detail={"entry": entry.id},
    )
    return receipt


# --- tiers ------------------------------------------------------------------------------------


@requires("card.tier.manage")
def update_tier(
    session: Session,
    *,
    actor: Actor,
    code: str,
    name_zh: str,
    name_en: str,
    discount_pct: int,
    min_first_topup_fen: int,
    card_fee_fen: int,
) -> TierView:
    """Edit a tier's names and terms (cs_manager); existing cards follow the new terms from the
    next posting. Audited with the names of the fields changed. Field errors: name_zh, name_en,
    discount_pct, min_first_topup, card_fee."""
    tier = _tier(session, code)
    if tier is None:
        raise NotFound("error.not_found")
    errors: dict[str, str] = {}
    names = {}
    for field_name, value, limit in (
        ("name_zh", name_zh, TIER_NAME_LENGTH[0]),
        ("name_en", name_en, TIER_NAME_LENGTH[1]),
    ):
        names[field_name] = value.strip() if isinstance(value, str) else ""
        if not names[field_name] or len(names[field_name]) > limit:
            errors[field_name] = "membership.error.tier_name"
    if not _is_int(discount_pct) or not 1 <= discount_pct <= 100:
        errors["discount_pct"] = "orders.error.discount"
    minimum = _check_money(min_first_topup_fen, "min_first_topup", errors)
    if minimum > get_settings().topup_max_fen:  # else no card of the tier could be issued
        errors["min_first_topup"] = "membership.error.topup_over_limit"
    fee = _check_money(card_fee_fen, "card_fee", errors)
    if errors:
        raise ValidationFailed(errors)
    new = {**names, "discount_pct": discount_pct, "min_first_topup_fen": minimum,
           "card_fee_fen": fee}  # fmt: skip
    changed = [name for name, value in new.items() if getattr(tier, name) != value]
    for name in changed:
        setattr(tier, name, new[name])
    if changed:
        tier.updated_at, tier.updated_by = clock.now(), actor.user_id
        audit.record(
            session,
            actor=actor,
            action="tier.update",
            target_type="tier",
            target_id=tier.code,
            fields=changed,
        )
    return _tier_view(tier)
