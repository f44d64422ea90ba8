"""消费记录: post purchases and refunds, list a customer's orders (SPEC §2, §8 Money).

Money is integer fen end to end. A purchase's paid amount is its total × the discount percentage,
rounded half up to the fen once per order; the payments (one or several methods) must add up to
exactly that. A refund is a new order pointing at its purchase, never an edit. Both refresh the
customer's stored classification in the same transaction (classification.refresh_customer).

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
from custapp.models import Order, OrderLine, OrderPayment, Store
from custapp.models.orders import PAYMENT_METHODS
from custapp.services import audit, classification, stores
from custapp.services.actor import Actor
from custapp.services.customer_input import MAX_FEN, check_reason
from custapp.services.customers import live_customer, survivor
from custapp.services.errors import DomainError, NotFound, ValidationFailed
from custapp.services.guard import requires

STORED_VALUE = "stored_value"
MAX_LINES = 50
MAX_PAYMENTS = 5
MAX_QUANTITY = 100_000
ITEM_LENGTH = 100
MAX_PAGE_SIZE = 100


@dataclass(frozen=True)
class PostedOrder:
    id: int
    number: str
    total_fen: int
    discount_fen: int
    paid_fen: int


@dataclass(frozen=True)
class OrderRow:
    id: int
    number: str
    kind: str  # purchase | refund
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


def stored_value_problem(session: Session, *, customer_id: int, amount_fen: int) -> str | None:
    """Why `amount_fen` cannot move through the customer's stored value (an i18n key), or None.

    Stored value needs its ledger (membership, SPEC §3), which does not exist yet: every
    stored-value payment or refund is refused. The membership work answers here from the ledger
    and writes the ledger entry next to the order's payment.
    """
    return "orders.error.stored_value_unavailable"


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
        problem = stored_value_problem(session, customer_id=customer_id, amount_fen=stored)
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
    allowed = actor.kind == "system" or store_id in actor.store_ids
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


@requires("purchase.post")
def post_purchase(
    session: Session,
    *,
    actor: Actor,
    customer_id: int,
    lines: Sequence[tuple[str, int, int]],
    payments: Sequence[tuple[str, int]],
    discount_pct: int = 100,
    store_id: int | None = None,
) -> PostedOrder:
    """Post a purchase: lines (item, quantity, unit price fen), the discount percentage (the tier
    discount, 100 = none) and the payments (method, amount fen) that add up to the paid amount.
    Field errors name `lines.<i>.item|quantity|unit_price`, `lines`, `payments.<i>.method|amount`,
    `payments`, `discount_pct`, `store`."""
    errors: dict[str, str] = {}
    clean_lines = _check_lines(lines, errors)
    if not _is_int(discount_pct) or not 1 <= discount_pct <= 100:
        errors["discount_pct"] = "orders.error.discount"
    total = paid = None
    if not errors:
        total = sum(quantity * price for _, quantity, price in clean_lines)
        if total == 0:
            errors["lines"] = "orders.error.total_zero"
        elif total > MAX_FEN:
            errors["lines"] = "customer.error.amount_too_large"
        else:
            paid = paid_for(total, discount_pct)
    clean_payments = _check_payments(
        session, payments, due_fen=paid, customer_id=customer_id, errors=errors
    )
    if errors:
        raise ValidationFailed(errors)
    store = _store_for(session, actor, store_id)
    customer = live_customer(session, customer_id, lock=True)
    order = _insert(
        session,
        Order(
            kind="purchase",
            customer_id=customer.id,
            store_id=store,
            total_fen=total,
            discount_fen=total - paid,
            paid_fen=paid,
            spend_fen=paid,
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
    audit.record(
        session,
        actor=actor,
        action="order.purchase",
        customer_id=customer.id,
        detail={"order": order.id},
    )
    classification.refresh_customer(session, customer.id)
    return PostedOrder(order.id, order.number, total, total - paid, paid)


def _refunded(session: Session, purchase_ids: list[int]) -> dict[int, int]:
    """Σ refunded per purchase (ix_orders_original_order_id)."""
    if not purchase_ids:
        return {}
    rows = session.exec(
        select(Order.original_order_id, func.sum(Order.paid_fen))
        .where(Order.original_order_id.in_(purchase_ids), Order.kind == "refund")
        .group_by(Order.original_order_id)
    ).all()
    return {oid: int(total or 0) for oid, total in rows}


@requires("purchase.post")
def post_refund(
    session: Session,
    *,
    actor: Actor,
    order_id: int,
    amount_fen: int,
    payments: Sequence[tuple[str, int]],
    reason: str,
) -> PostedOrder:
    """Refund part or all of what is left of a purchase (paid − refunded so far), paid back by
    the given methods; the reason (2-200 characters) is kept in the audit entry. Field errors:
    `amount`, `payments.<i>.method|amount`, `payments`, `reason`."""
    purchase = session.get(Order, order_id) if _is_int(order_id) else None
    if purchase is None:
        raise NotFound("error.not_found")
    if purchase.kind != "purchase":
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
    )
    try:
        reason = check_reason(reason)
    except ValidationFailed as exc:
        errors.update(exc.errors)
    if errors:
        raise ValidationFailed(errors)
    refund = _insert(
        session,
        Order(
            kind="refund",
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
    audit.record(
        session,
        actor=actor,
        action="order.refund",
        customer_id=customer.id,
        reason=reason,
        detail={"order": refund.id, "purchase": purchase.id},
    )
    classification.refresh_customer(session, customer.id)
    return PostedOrder(refund.id, refund.number, amount_fen, 0, amount_fen)


# --- listing ----------------------------------------------------------------------------------


@requires("customer.read")
def list_orders(
    session: Session, *, actor: Actor, customer_id: int, page: int = 1, page_size: int = 20
) -> tuple[list[OrderRow], int]:
    """One page of the customer's orders, newest first (ix_orders_customer_created), and their
    number. A merged customer's id lists the survivor's orders (the merge moved them there)."""
    page, page_size = max(page, 1), max(1, min(page_size, MAX_PAGE_SIZE))
    customer, _ = survivor(session, customer_id)
    where = Order.customer_id == customer.id
    total = session.exec(select(func.count(Order.id)).where(where)).scalar_one()
    orders = list(
        session.exec(
            select(Order)
            .where(where)
            .order_by(Order.created_at.desc(), Order.id.desc())
            .offset((page - 1) * page_size)
            .limit(page_size)
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
    refunded = _refunded(session, [o.id for o in orders if o.kind == "purchase"])
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
            refundable_fen=o.paid_fen - refunded.get(o.id, 0) if o.kind == "purchase" else 0,
            original_number=numbers.get(o.original_order_id or 0, ""),
        )
        for o in orders
    ]
    return rows, total
