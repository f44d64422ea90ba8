"""消费记录: post purchases and refunds, list a customer's orders (SPEC §2, §8 Money).

Money is integer fen end to end. A purchase's paid amount is its total × the discount percentage,
rounded half up to the fen once per order; the payments (one or several methods) must add up to
exactly that. A refund is a new order pointing at its purchase, never an edit. Both refresh the
customer's stored classification in the same transaction (classification.refresh_customer).
Cash paid out on one purchase (a method beyond what the purchase was paid by counts as cash)
beyond settings.refund_approval_fen needs `purchase.void`
(cs_manager); the counter asks for it in 审批 (approvals.request_refund). A refund and a void
take `preview=True` for the confirmation the counter shows before committing (membership.Preview).

Audit entries hold ids only (the customer, the order, the purchase refunded) and, for a refund,
the reason typed; listing a customer's orders is not audited separately: it is part of the
profile, whose opening is.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlmodel import Session

from custapp import clock
from custapp.models import (
    MemberCard,
    MemberTier,
    Order,
    OrderLine,
    OrderPayment,
    PointsEntry,
    Store,
    StoredValueEntry,
)
from custapp.models.orders import PAYMENT_METHODS
from custapp.services import audit, classification, membership, points, stores
from custapp.services.actor import Actor
from custapp.services.customer_input import MAX_FEN, check_reason, is_row_id
from custapp.services.customers import live_customer, survivor
from custapp.services.errors import DomainError, NotFound, ValidationFailed
from custapp.services.guard import requires
from custapp.services.paging import page_window
from custapp.settings import get_settings
from custapp.vocab import ActorKind, MemberClass, OrderKind, PaymentMethod, StoredValueKind

STORED_VALUE = PaymentMethod.STORED_VALUE
MAX_LINES = 50
MAX_PAYMENTS = 5
MAX_QUANTITY = 100_000
ITEM_LENGTH = 100
MAX_PAGE_SIZE = 100
WORK_ORDER_LENGTH = 60
REVERSALS = (OrderKind.REFUND, OrderKind.VOID)


@dataclass(frozen=True)
class PostedOrder:
    id: int
    number: str
    total_fen: int
    discount_fen: int
    paid_fen: int
    points: int = 0  # earned by a purchase; taken back (negative) by a refund or void


@dataclass(frozen=True)
class OrderRow:
    id: int
    number: str
    kind: str  # purchase | refund | void
    lines: tuple[tuple[str, int], ...]  # (item, quantity); a refund has none
    total_fen: int
    discount_fen: int
    paid_fen: int
    payments: tuple[tuple[str, int], ...]  # (method, amount_fen)
    store_name: str
    created_at: datetime
    refundable_fen: int  # what may still be refunded of a purchase; 0 for a refund
    original_number: str  # the purchase a refund refunds, else ""


# --- money ----------------------------------------------------------------------------------


def paid_for(total_fen: int, discount_pct: int) -> int:
    """total × pct / 100, rounded half up to the fen (integers only; total ≥ 0)."""
    return (total_fen * discount_pct + 50) // 100


def stored_value_problem(
    session: Session, *, customer_id: int, amount_fen: int, refund: bool = False
) -> str | None:
    """Why `amount_fen` cannot move through the customer's stored value (an i18n key), or None:
    the membership ledger answers (an active card; for a payment, the balance)."""
    return membership.stored_value_problem(
        session, customer_id=customer_id, amount_fen=amount_fen, refund=refund
    )


# --- validation -------------------------------------------------------------------------------


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _check_lines(lines: Sequence, errors: dict[str, str]) -> list[tuple[str, int, int]]:
    if not lines:
        errors["lines"] = "orders.error.no_lines"
        return []
    if len(lines) > MAX_LINES:
        errors["lines"] = "orders.error.too_many_lines"
        return []
    clean = []
    for i, line in enumerate(lines):
        item, quantity, price = (tuple(line) + (None, None, None))[:3]
        item = item.strip() if isinstance(item, str) else ""
        if not item:
            errors[f"lines.{i}.item"] = "orders.error.item_required"
        elif len(item) > ITEM_LENGTH:
            errors[f"lines.{i}.item"] = "customer.error.too_long"
        if not _is_int(quantity) or not 0 < quantity <= MAX_QUANTITY:
            errors[f"lines.{i}.quantity"] = "orders.error.quantity"
        if not _is_int(price) or price < 0:
            errors[f"lines.{i}.unit_price"] = "orders.error.unit_price"
        elif price > MAX_FEN:
            errors[f"lines.{i}.unit_price"] = "customer.error.amount_too_large"
        clean.append((item, quantity, price))
    return clean


def _check_payments(
    session: Session,
    payments: Sequence,
    *,
    due_fen: int | None,
    customer_id: int,
    errors: dict[str, str],
    refund: bool = False,
) -> list[tuple[str, int]]:
    """The payments as (method, amount) rows; they must add up to `due_fen` when it is known."""
    if not payments:
        errors["payments"] = "orders.error.no_payments"
        return []
    if len(payments) > MAX_PAYMENTS:
        errors["payments"] = "orders.error.too_many_payments"
        return []
    clean, ok = [], True
    for i, payment in enumerate(payments):
        method, amount = (tuple(payment) + (None, None))[:2]
        if method not in PAYMENT_METHODS:
            errors[f"payments.{i}.method"] = "orders.error.method"
            ok = False
        if not _is_int(amount) or amount <= 0:
            errors[f"payments.{i}.amount"] = "orders.error.payment_amount"
            ok = False
        elif amount > MAX_FEN:
            errors[f"payments.{i}.amount"] = "customer.error.amount_too_large"
            ok = False
        clean.append((method, amount))
    if not ok:
        return clean
    stored = sum(amount for method, amount in clean if method == STORED_VALUE)
    if stored:
        problem = stored_value_problem(
            session, customer_id=customer_id, amount_fen=stored, refund=refund
        )
        if problem:
            first = next(i for i, (method, _) in enumerate(clean) if method == STORED_VALUE)
            errors[f"payments.{first}.method"] = problem
    if due_fen is not None and sum(amount for _, amount in clean) != due_fen:
        errors["payments"] = "orders.error.payments_mismatch"
    return clean


def _store_for(session: Session, actor: Actor, store_id: int | None) -> int | None:
    """The store the order is posted at: the actor's current one unless another of theirs is
    named (any existing store for the system actor)."""
    if store_id is None:
        return actor.store_id
    allowed = actor.kind == ActorKind.SYSTEM or store_id in actor.store_ids
    if not allowed or session.get(Store, store_id) is None:
        raise ValidationFailed({"store": "orders.error.store"})
    return store_id


def order_number(prefix: str, created_at: datetime, order_id: int) -> str:
    """S (purchase) or R (refund) + local yyyymmdd + the zero-padded id."""
    return f"{prefix}{clock.to_local(created_at):%Y%m%d}{order_id:08d}"


def _insert(session: Session, order: Order, prefix: str) -> Order:
    """Insert and number the order: S|R + local yyyymmdd + zero-padded id (unique with the id)."""
    order.number = f"new-{uuid.uuid4().hex[:16]}"
    session.add(order)
    session.flush()
    order.number = order_number(prefix, order.created_at, order.id)
    session.flush()
    return order


# --- posting ----------------------------------------------------------------------------------


def _member_terms(
    session: Session,
    customer_id: int,
    card_number: str | None,
    work_order_ref: str | None,
    errors: dict[str, str],
) -> tuple[MemberCard | None, int, str | None]:
    """The customer's active card, its tier discount (100 without a card) and the work-order
    reference a unit member's purchase must carry."""
    card = membership.active_card(session, customer_id)
    if card_number is not None:
        number = card_number.strip() if isinstance(card_number, str) else ""
        if card is None or card.number != number:
            errors["card_number"] = "membership.error.card_not_active"
    ref = work_order_ref.strip() if isinstance(work_order_ref, str) else ""
    if len(ref) > WORK_ORDER_LENGTH:
        errors["work_order_ref"] = "membership.error.work_order_too_long"
    elif card is not None and card.member_class == MemberClass.UNIT and not ref:
        errors["work_order_ref"] = "membership.error.work_order_required"
    pct = session.get(MemberTier, card.tier_code).discount_pct if card else 100
    return card, pct, ref or None


@requires("purchase.post")
def post_purchase(
    session: Session,
    *,
    actor: Actor,
    customer_id: int,
    lines: Sequence[tuple[str, int, int]],
    payments: Sequence[tuple[str, int]],
    discount_pct: int | None = None,
    store_id: int | None = None,
    card_number: str | None = None,
    work_order_ref: str | None = None,
) -> PostedOrder:
    """Post a purchase: lines (item, quantity, unit price fen), the discount (None: the tier
    discount of the customer's active card, 100 without one) and the payments (method, amount
    fen) that add up to the paid amount. A stored-value payment is spent from the ledger; with an
    active card the purchase earns whole yuan paid in points. A unit member's purchase needs the
    unit's work-order reference; a card number, when given, must be the customer's active card.
    Field errors name `lines.<i>.item|quantity|unit_price`, `lines`, `payments.<i>.method|amount`,
    `payments`, `discount_pct`, `store`, `card_number`, `work_order_ref`."""
    errors: dict[str, str] = {}
    clean_lines = _check_lines(lines, errors)
    if discount_pct is not None and (not _is_int(discount_pct) or not 1 <= discount_pct <= 100):
        errors["discount_pct"] = "orders.error.discount"
    # the customer's row lock first: balances and points are checked and written under it
    customer = live_customer(session, customer_id, lock=True)
    card, tier_pct, ref = _member_terms(session, customer.id, card_number, work_order_ref, errors)
    total = paid = None
    if not errors:
        total = sum(quantity * price for _, quantity, price in clean_lines)
        if total == 0:
            errors["lines"] = "orders.error.total_zero"
        elif total > MAX_FEN:
            errors["lines"] = "customer.error.amount_too_large"
        else:
            paid = paid_for(total, tier_pct if discount_pct is None else discount_pct)
    clean_payments = _check_payments(
        session, payments, due_fen=paid, customer_id=customer.id, errors=errors
    )
    if errors:
        raise ValidationFailed(errors)
    store = _store_for(session, actor, store_id)
    order = _insert(
        session,
        Order(
            kind=OrderKind.PURCHASE,
            customer_id=customer.id,
            store_id=store,
            total_fen=total,
            discount_fen=total - paid,
            paid_fen=paid,
            spend_fen=paid,
            card_id=card.id if card else None,
            work_order_ref=ref,
            created_by=actor.user_id,
            created_at=clock.now(),
        ),
        "S",
    )
    session.add_all(
        OrderLine(
            order_id=order.id,
            item=item,
            quantity=quantity,
            unit_price_fen=price,
            amount_fen=quantity * price,
        )
        for item, quantity, price in clean_lines
    )
    session.add_all(
        OrderPayment(order_id=order.id, method=method, amount_fen=amount)
        for method, amount in clean_payments
    )
    _move_stored_value(session, actor, order, clean_payments, StoredValueKind.SPEND, -1)
    earned = points.award_for_purchase(session, actor=actor, order=order) if card else 0
    audit.record(
        session,
        actor=actor,
        action="order.purchase",
        customer_id=customer.id,
        detail={"order": order.id, **({"points": earned} if earned else {})},
    )
    classification.refresh_customer(session, customer.id)
    return PostedOrder(order.id, order.number, total, total - paid, paid, earned)


def _move_stored_value(
    session: Session,
    actor: Actor,
    order: Order,
    payments: Sequence[tuple[str, int]],
    kind: str,
    sign: int,
) -> None:
    """The stored-value part of an order's payments as one ledger entry (spend −, refund +)."""
    amount = sum(a for method, a in payments if method == STORED_VALUE)
    if amount:
        card = membership.active_card(session, order.customer_id)
        membership.record_stored_value(
            session, actor=actor, customer_id=order.customer_id, kind=kind,
            amount_fen=sign * amount, card_id=card.id if card else order.card_id,
            order_id=order.id, store_id=order.store_id,
        )  # fmt: skip


def _refunded(session: Session, purchase_ids: list[int]) -> dict[int, int]:
    """Σ refunded (or voided) per purchase (ix_orders_original_order_id)."""
    if not purchase_ids:
        return {}
    rows = session.exec(
        select(Order.original_order_id, func.sum(Order.paid_fen))
        .where(Order.original_order_id.in_(purchase_ids), Order.kind.in_(REVERSALS))
        .group_by(Order.original_order_id)
    ).all()
    return {oid: int(total or 0) for oid, total in rows}


def _refunded_by_method(session: Session, purchase_id: int) -> dict[str, int]:
    """Σ paid back per method by the refunds of a purchase."""
    rows = session.exec(
        select(OrderPayment.method, func.sum(OrderPayment.amount_fen))
        .join(Order, Order.id == OrderPayment.order_id)
        .where(Order.original_order_id == purchase_id, Order.kind == OrderKind.REFUND)
        .group_by(OrderPayment.method)
    ).all()
    return {method: int(total) for method, total in rows}


def _money_out_of_the_till(
    session: Session, purchase: Order, payments: list[tuple[str, int]]
) -> int:
    """What the refunds of a purchase, this one included, pay out in cash or by a method beyond
    what the purchase was paid by it (a cash purchase refunded as WeChat or into stored value is
    cash leaving all the same). A refund back to the way it was paid is not counted."""
    paid: dict[str, int] = {}
    for row in session.exec(
        select(OrderPayment).where(OrderPayment.order_id == purchase.id)
    ).scalars():
        paid[row.method] = paid.get(row.method, 0) + row.amount_fen
    out = _refunded_by_method(session, purchase.id)
    for method, amount in payments:
        out[method] = out.get(method, 0) + amount
    return sum(
        amount if method == PaymentMethod.CASH else max(0, amount - paid.get(method, 0))
        for method, amount in out.items()
    )


def _stored_after(session: Session, customer_id: int, stored_fen: int) -> int | None:
    """The stored value after `stored_fen` goes back to it; None without a card or a move."""
    if not stored_fen and membership.active_card(session, customer_id) is None:
        return None
    return membership.balance(session, customer_id) + stored_fen


@requires("purchase.post")
def post_refund(
    session: Session,
    *,
    actor: Actor,
    order_id: int,
    amount_fen: int,
    payments: Sequence[tuple[str, int]],
    reason: str,
    preview: bool = False,
) -> PostedOrder | membership.Preview:
    """Refund part or all of what is left of a purchase (paid − refunded so far), paid back by
    the given methods; the reason (2-200 characters) is kept in the audit entry. Cash paid out on
    the purchase (or any method beyond what it paid by) past the threshold needs `purchase.void`,
    else it is refused (the preview says needs_approval). Field errors: `amount`, `payments.<i>.method|amount`, `payments`,
    `reason`."""
    purchase = session.get(Order, order_id) if is_row_id(order_id) else None
    if purchase is None:
        raise NotFound("error.not_found")
    if purchase.kind != OrderKind.PURCHASE:
        raise DomainError("orders.error.not_refundable")
    # Lock the customer first: refunds of one customer's orders queue here, so two refunds
    # cannot both see the same amount left.
    customer = live_customer(session, purchase.customer_id, lock=True)
    left = purchase.paid_fen - _refunded(session, [purchase.id]).get(purchase.id, 0)
    errors: dict[str, str] = {}
    if left <= 0:
        raise DomainError("orders.error.nothing_left")
    if not _is_int(amount_fen) or not 0 < amount_fen <= left:
        errors["amount"] = "orders.error.refund_amount"
    clean_payments = _check_payments(
        session,
        payments,
        due_fen=amount_fen if "amount" not in errors else None,
        customer_id=customer.id,
        errors=errors,
        refund=True,
    )
    try:
        reason = check_reason(reason)
    except ValidationFailed as exc:
        errors.update(exc.errors)
    if errors:
        raise ValidationFailed(errors)
    needs_approval = _money_out_of_the_till(
        session, purchase, clean_payments
    ) > get_settings().refund_approval_fen and not actor.can("purchase.void")
    if preview:
        stored = sum(amount for method, amount in clean_payments if method == STORED_VALUE)
        after = _stored_after(session, customer.id, stored)
        return membership.Preview(amount_fen, 0, after, needs_approval)
    if needs_approval:
        raise DomainError("orders.error.refund_needs_approval")
    refund = _insert(
        session,
        Order(
            kind=OrderKind.REFUND,
            customer_id=customer.id,
            store_id=actor.store_id or purchase.store_id,
            original_order_id=purchase.id,
            total_fen=amount_fen,
            discount_fen=0,
            paid_fen=amount_fen,
            spend_fen=-amount_fen,
            created_by=actor.user_id,
            created_at=clock.now(),
        ),
        "R",
    )
    session.add_all(
        OrderPayment(order_id=refund.id, method=method, amount_fen=amount)
        for method, amount in clean_payments
    )
    _move_stored_value(session, actor, refund, clean_payments, StoredValueKind.REFUND, 1)
    reversed_points = points.reverse_for_refund(
        session, actor=actor, purchase=purchase, reversal=refund,
        remaining_paid_fen=left - amount_fen,
    )  # fmt: skip
    audit.record(
        session,
        actor=actor,
        action="order.refund",
        customer_id=customer.id,
        reason=reason,
        detail={
            "order": refund.id,
            "purchase": purchase.id,
            **({"points": -reversed_points} if reversed_points else {}),
        },
    )
    classification.refresh_customer(session, customer.id)
    return PostedOrder(refund.id, refund.number, amount_fen, 0, amount_fen, -reversed_points)


def voidable_purchase(session: Session, order_id: object) -> Order:
    """The purchase `order_id` if it can still be voided: posted today (local), not refunded and
    not voided yet; else NotFound or the DomainError saying why."""
    purchase = session.get(Order, order_id) if is_row_id(order_id) else None
    if purchase is None:
        raise NotFound("error.not_found")
    if purchase.kind != OrderKind.PURCHASE:
        raise DomainError("orders.error.not_voidable")
    if clock.to_local(purchase.created_at).date() != clock.local_today():
        raise DomainError("orders.error.void_same_day")
    if _refunded(session, [purchase.id]).get(purchase.id, 0):
        raise DomainError("orders.error.void_after_refund")
    return purchase


@requires("purchase.void")
def void_purchase(
    session: Session, *, actor: Actor, order_id: int, reason: str, preview: bool = False
) -> PostedOrder | membership.Preview:
    """作废: cs_manager reverses a whole purchase on the local day it was posted, by a reversing
    order of kind "void" (never a deletion): the same payments go back (stored value as a
    correction entry), the points are taken back like a full refund. Field error: reason."""
    reason = check_reason(reason)
    purchase = voidable_purchase(session, order_id)
    customer = live_customer(session, purchase.customer_id, lock=True)
    purchase = voidable_purchase(session, purchase.id)  # again, under the customer's lock
    paid_by = session.exec(
        select(OrderPayment.method, OrderPayment.amount_fen)
        .where(OrderPayment.order_id == purchase.id)
        .order_by(OrderPayment.id)
    ).all()
    stored = sum(amount for method, amount in paid_by if method == STORED_VALUE)
    if preview:
        return membership.Preview(purchase.paid_fen, 0, _stored_after(session, customer.id, stored))
    void = _insert(
        session,
        Order(
            kind=OrderKind.VOID,
            customer_id=customer.id,
            store_id=purchase.store_id,
            original_order_id=purchase.id,
            total_fen=purchase.paid_fen,
            discount_fen=0,
            paid_fen=purchase.paid_fen,
            spend_fen=-purchase.paid_fen,
            card_id=purchase.card_id,
            created_by=actor.user_id,
            created_at=clock.now(),
        ),
        "V",
    )
    session.add_all(
        OrderPayment(order_id=void.id, method=method, amount_fen=amount)
        for method, amount in paid_by
    )
    if stored:
        membership.record_stored_value(
            session, actor=actor, customer_id=customer.id, amount_fen=stored,
            kind=StoredValueKind.CORRECTION,
            card_id=purchase.card_id, order_id=void.id, store_id=purchase.store_id,
        )  # fmt: skip
    reversed_points = points.reverse_for_refund(
        session, actor=actor, purchase=purchase, reversal=void, remaining_paid_fen=0
    )
    audit.record(
        session,
        actor=actor,
        action="order.void",
        customer_id=customer.id,
        reason=reason,
        detail={"order": void.id, "purchase": purchase.id, "points": -reversed_points},
    )
    classification.refresh_customer(session, customer.id)
    return PostedOrder(
        void.id, void.number, purchase.paid_fen, 0, purchase.paid_fen, -reversed_points
    )


# --- listing ----------------------------------------------------------------------------------


@requires("customer.read", reads=True)
def list_orders(
    session: Session, *, actor: Actor, customer_id: int, page: int = 1, page_size: int = 20
) -> tuple[list[OrderRow], int]:
    """One page of the customer's orders, newest first (ix_orders_customer_created), and their
    number. A merged customer's id lists the survivor's orders (the merge moved them there)."""
    window = page_window(page, page_size, max_size=MAX_PAGE_SIZE)
    customer, _ = survivor(session, customer_id)
    where = Order.customer_id == customer.id
    total = session.exec(select(func.count(Order.id)).where(where)).scalar_one()
    orders = list(
        session.exec(
            select(Order)
            .where(where)
            .order_by(Order.created_at.desc(), Order.id.desc())
            .offset(window.offset)
            .limit(window.limit)
        ).scalars()
    )
    ids = [o.id for o in orders]
    lines: dict[int, list[tuple[str, int]]] = defaultdict(list)
    payments: dict[int, list[tuple[str, int]]] = defaultdict(list)
    if ids:
        for oid, item, quantity in session.exec(
            select(OrderLine.order_id, OrderLine.item, OrderLine.quantity)
            .where(OrderLine.order_id.in_(ids))
            .order_by(OrderLine.id)
        ).all():
            lines[oid].append((item, quantity))
        for oid, method, amount in session.exec(
            select(OrderPayment.order_id, OrderPayment.method, OrderPayment.amount_fen)
            .where(OrderPayment.order_id.in_(ids))
            .order_by(OrderPayment.id)
        ).all():
            payments[oid].append((method, amount))
    refunded = _refunded(session, [o.id for o in orders if o.kind == OrderKind.PURCHASE])
    originals = {o.original_order_id for o in orders if o.original_order_id}
    numbers = (
        dict(session.exec(select(Order.id, Order.number).where(Order.id.in_(originals))).all())
        if originals
        else {}
    )
    store_names = stores.store_names(session, list({o.store_id for o in orders if o.store_id}))
    rows = [
        OrderRow(
            id=o.id,
            number=o.number,
            kind=o.kind,
            lines=tuple(lines[o.id]),
            total_fen=o.total_fen,
            discount_fen=o.discount_fen,
            paid_fen=o.paid_fen,
            payments=tuple(payments[o.id]),
            store_name=store_names.get(o.store_id or 0, ""),
            created_at=o.created_at,
            refundable_fen=o.paid_fen - refunded.get(o.id, 0)
            if o.kind == OrderKind.PURCHASE
            else 0,
            original_number=numbers.get(o.original_order_id or 0, ""),
        )
        for o in orders
    ]
    return rows, total


# --- receipts (小票) ---------------------------------------------------------------------------


@requires("customer.read")
def order_receipt(session: Session, *, actor: Actor, number: str) -> membership.Receipt:
    """The 小票 of an order (purchase, refund or void) by its number: lines, discount, the split
    payments, the points it earned or took back, and the stored value right after it when a card
    was involved. Audited as a view of the customer's data."""
    text = number.strip() if isinstance(number, str) else ""
    order = (
        session.exec(select(Order).where(Order.number == text)).scalar_one_or_none()
        if 0 < len(text) <= 20
        else None
    )
    if order is None:
        raise NotFound("error.not_found")
    original = session.get(Order, order.original_order_id) if order.original_order_id else None
    lines = session.exec(
        select(OrderLine.item, OrderLine.quantity, OrderLine.unit_price_fen, OrderLine.amount_fen)
        .where(OrderLine.order_id == order.id)
        .order_by(OrderLine.id)
    ).all()
    payments = session.exec(
        select(OrderPayment.method, OrderPayment.amount_fen)
        .where(OrderPayment.order_id == order.id)
        .order_by(OrderPayment.id)
    ).all()
    earned = session.exec(
        select(func.coalesce(func.sum(PointsEntry.points), 0)).where(
            PointsEntry.order_id == order.id
        )
    ).scalar_one()
    moved = session.exec(
        select(func.max(StoredValueEntry.id)).where(StoredValueEntry.order_id == order.id)
    ).scalar_one()
    card_id = order.card_id or (original.card_id if original else None)
    name, card = membership.receipt_party(session, order.customer_id, card_id)
    names = stores.store_names(session, [order.store_id] if order.store_id else [])
    receipt = membership.Receipt(
        kind=order.kind,
        number=order.number,
        original_number=original.number if original else "",
        store_name=names.get(order.store_id or 0, ""),
        created_at=order.created_at,
        customer_name=name,
        card_number=card,
        lines=tuple(tuple(line) for line in lines),
        total_fen=order.total_fen,
        discount_fen=order.discount_fen,
        paid_fen=order.paid_fen,
        payments=tuple(tuple(p) for p in payments),
        points=int(earned),
        balance_fen=membership.balance_after(
            session, order.customer_id, entry_id=moved, at=order.created_at
        )
        if card_id or moved
        else None,
        operator=membership.operator_name(session, order.created_by),
    )
    audit.record(
        session,
        actor=actor,
        action="receipt.view",
        customer_id=order.customer_id,
        detail={"order": order.id},
    )
    return receipt
