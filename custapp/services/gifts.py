"""积分兑换 (SPEC §3 Redemption, §8 Money; 001 MB-08): the gift catalogue (礼品) and redemption
requests, filed by a member in the portal or by the front desk at the counter, decided by
cs_manager (客服中心审核).

- cs_manager keeps the catalogue (`gift.manage`), audited with the names of the fields changed.
- Filing (front desk: `purchase.post`, a counter transaction on the customer's points like a
  purchase; member: `member.self`, the customer taken from the login only) reserves nothing. It
  refuses when the gift is not available or the customer's available points are already short.
- Approval (`redemption.approve`) runs in the caller's one transaction: the customer's row lock
  (the lock points.redeem expects: SELECT ... FOR UPDATE on PostgreSQL, SQLite's write
  transaction serialises), then the request and the gift rows FOR UPDATE; it re-checks the
  status, the stock and the available points, then deducts the points (soonest-expiring lot
  first, ref `redemption:<id>`) and the stock and marks the request approved. A refusal raises
  before anything is written, and the session scope rolls back whatever was flushed.
- Every writer of a request takes the customer's lock first, then the request, then the gift:
  one order, no deadlock.
- Audit entries hold ids, quantities and points, never a value of the customer's data.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import func, or_, select
from sqlmodel import Session

from custapp import clock
from custapp.models import Customer, Gift, RedemptionRequest
from custapp.models.gifts import MAX_QUANTITY
from custapp.services import audit, points
from custapp.services.actor import Actor
from custapp.services.customer_input import check_reason, is_row_id
from custapp.services.customers import live_customer, survivor
from custapp.services.errors import DomainError, NotFound, ValidationFailed
from custapp.services.guard import requires
from custapp.services.paging import page_window
from custapp.vocab import RedemptionChannel, RedemptionStatus

NAME_LENGTH = (40, 80)  # zh, en
MAX_POINTS_COST = 10_000_000
MAX_STOCK = 1_000_000
MAX_PAGE_SIZE = 100


# --- DTOs -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class GiftView:
    id: int
    name_zh: str
    name_en: str
    points_cost: int
    stock: int
    active_from: date | None
    active_to: date | None
    is_active: bool
    available: bool  # active, in its dates today and in stock: members can request it


@dataclass(frozen=True)
class RequestView:
    id: int
    number: str  # R<id, 8 digits>: the reference shown and written into the points ledger
    customer_id: int
    customer_number: str
    customer_name: str  # plain column (SPEC §8)
    gift_id: int
    gift_name_zh: str
    gift_name_en: str
    quantity: int
    points_total: int
    status: str  # pending | approved | rejected | cancelled
    channel: str  # counter | portal
    decision_reason: str
    created_at: datetime
    decided_at: datetime | None


# --- helpers ----------------------------------------------------------------------------------


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def request_ref(request_id: int) -> str:
    """The request's number, also the points ledger's ref of its deduction."""
    return f"R{request_id:08d}"


def _in_dates(gift: Gift, today: date) -> bool:
    return (gift.active_from is None or gift.active_from <= today) and (
        gift.active_to is None or today <= gift.active_to
    )


def _available(gift: Gift, today: date) -> bool:
    return gift.is_active and _in_dates(gift, today) and gift.stock > 0


def _gift_view(gift: Gift, today: date | None = None) -> GiftView:
    today = today or clock.local_today()
    return GiftView(
        gift.id, gift.name_zh, gift.name_en, gift.points_cost, gift.stock, gift.active_from,
        gift.active_to, gift.is_active, _available(gift, today),
    )  # fmt: skip


def request_views(session: Session, rows: list[RedemptionRequest]) -> list[RequestView]:
    gift_ids = {r.gift_id for r in rows}
    customer_ids = {r.customer_id for r in rows}
    gifts = (
        {g.id: g for g in session.exec(select(Gift).where(Gift.id.in_(gift_ids))).scalars()}
        if gift_ids
        else {}
    )
    customers = (
        {
            cid: (number, name)
            for cid, number, name in session.exec(
                select(Customer.id, Customer.number, Customer.name).where(
                    Customer.id.in_(customer_ids)
                )
            ).all()
        }
        if customer_ids
        else {}
    )
    views = []
    for r in rows:
        gift = gifts[r.gift_id]
        number, name = customers.get(r.customer_id, ("", ""))
        views.append(
            RequestView(
                r.id,
                request_ref(r.id),
                r.customer_id,
                number,
                name,
                r.gift_id,
                gift.name_zh,
                gift.name_en,
                r.quantity,
                r.points_total,
                r.status,
                r.channel,
                r.decision_reason or "",
                r.created_at,
                r.decided_at,
            )  # fmt: skip
        )
    return views


def _request_page(
    session: Session, where: list, page: object, page_size: object, *, oldest_first: bool
) -> tuple[list[RequestView], int]:
    window = page_window(page, page_size, max_size=MAX_PAGE_SIZE)
    total = session.exec(select(func.count(RedemptionRequest.id)).where(*where)).scalar_one()
    order = (
        (RedemptionRequest.created_at, RedemptionRequest.id)
        if oldest_first
        else (RedemptionRequest.created_at.desc(), RedemptionRequest.id.desc())
    )
    rows = list(
        session.exec(
            select(RedemptionRequest)
            .where(*where)
            .order_by(*order)
            .offset(window.offset)
            .limit(window.limit)
        ).scalars()
    )
    return request_views(session, rows), int(total)


def _own(actor: Actor) -> int:
    if actor.customer_id is None:
        raise NotFound("error.not_found")
    return actor.customer_id


def _locked_request(session: Session, request_id: object) -> tuple[RedemptionRequest, Customer]:
    """The request and its customer: the customer's row locked first (the order every writer of
    points uses), then the request re-read FOR UPDATE after that lock."""
    request = session.get(RedemptionRequest, request_id) if is_row_id(request_id) else None
    if request is None:
        raise NotFound("redemption.error.not_found")
    customer = live_customer(session, request.customer_id, lock=True)
    request = session.exec(
        select(RedemptionRequest)
        .where(RedemptionRequest.id == request.id)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).scalar_one()
    return request, customer


def _require_pending(request: RedemptionRequest) -> None:
    if request.status != RedemptionStatus.PENDING:
        raise DomainError("redemption.error.already_decided")


def _decide(request: RedemptionRequest, actor: Actor, status: str, reason: str | None) -> None:
    request.status = status
    request.decided_by = actor.user_id
    request.decided_at = clock.now()
    request.decision_reason = reason


# --- the catalogue ----------------------------------------------------------------------------


def _check_gift(
    name_zh: object,
    name_en: object,
    points_cost: object,
    stock: object,
    active_from: object,
    active_to: object,
    is_active: object,
) -> dict:
    errors: dict[str, str] = {}
    values: dict = {}
    for field_name, value, limit in (
        ("name_zh", name_zh, NAME_LENGTH[0]),
        ("name_en", name_en, NAME_LENGTH[1]),
    ):
        values[field_name] = value.strip() if isinstance(value, str) else ""
        if not values[field_name] or len(values[field_name]) > limit:
            errors[field_name] = "gifts.error.name"
    if not _is_int(points_cost) or not 1 <= points_cost <= MAX_POINTS_COST:
        errors["points_cost"] = "gifts.error.points_cost"
    if not _is_int(stock) or not 0 <= stock <= MAX_STOCK:
        errors["stock"] = "gifts.error.stock"
    for field_name, value in (("active_from", active_from), ("active_to", active_to)):
        if value is not None and (not isinstance(value, date) or isinstance(value, datetime)):
            errors[field_name] = "gifts.error.date"
    if (
        "active_from" not in errors
        and "active_to" not in errors
        and active_from is not None
        and active_to is not None
        and active_from > active_to
    ):
        errors["active_to"] = "gifts.error.date_order"
    if not isinstance(is_active, bool):
        errors["is_active"] = "gifts.error.is_active"
    if errors:
        raise ValidationFailed(errors)
    return {
        **values, "points_cost": points_cost, "stock": stock, "active_from": active_from,
        "active_to": active_to, "is_active": is_active,
    }  # fmt: skip


@requires("gift.manage")
def create_gift(
    session: Session,
    *,
    actor: Actor,
    name_zh: str,
    name_en: str,
    points_cost: int,
    stock: int,
    active_from: date | None = None,
    active_to: date | None = None,
    is_active: bool = True,
) -> GiftView:
    """Add a gift to the catalogue (cs_manager). Field errors: name_zh, name_en, points_cost,
    stock, active_from, active_to, is_active."""
    values = _check_gift(name_zh, name_en, points_cost, stock, active_from, active_to, is_active)
    now = clock.now()
    gift = Gift(
        **values, created_by=actor.user_id, created_at=now, updated_by=actor.user_id,
        updated_at=now,
    )  # fmt: skip
    session.add(gift)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="gift.create",
        target_type="gift",
        target_id=gift.id,
        detail={"points_cost": gift.points_cost, "stock": gift.stock},
    )
    return _gift_view(gift)


@requires("gift.manage")
def update_gift(
    session: Session,
    *,
    actor: Actor,
    gift_id: int,
    name_zh: str,
    name_en: str,
    points_cost: int,
    stock: int,
    active_from: date | None = None,
    active_to: date | None = None,
    is_active: bool = True,
) -> GiftView:
    """Edit a gift (cs_manager): the stock given is the new count on hand. Pending requests keep
    the points total they were filed with. Audited with the names of the fields changed."""
    values = _check_gift(name_zh, name_en, points_cost, stock, active_from, active_to, is_active)
    gift = (
        session.exec(
            select(Gift)
            .where(Gift.id == gift_id)
            .with_for_update()
            .execution_options(populate_existing=True)
        ).scalar_one_or_none()
        if is_row_id(gift_id)
        else None
    )
    if gift is None:
        raise NotFound("gifts.error.not_found")
    changed = [name for name, value in values.items() if getattr(gift, name) != value]
    for name in changed:
        setattr(gift, name, values[name])
    if changed:
        gift.updated_at, gift.updated_by = clock.now(), actor.user_id
        audit.record(
            session,
            actor=actor,
            action="gift.update",
            target_type="gift",
            target_id=gift.id,
            fields=changed,
        )
    return _gift_view(gift)


@requires("customer.read", reads=True)
def list_gifts(session: Session, *, actor: Actor, include_inactive: bool = True) -> list[GiftView]:
    """The catalogue for staff (the counter and the catalogue page), by name; `available` says
    whether it can be requested today."""
    query = select(Gift).order_by(Gift.name_zh, Gift.id)
    if not include_inactive:
        query = query.where(Gift.is_active.is_(True))
    today = clock.local_today()
    return [_gift_view(g, today) for g in session.exec(query).scalars()]


@requires("member.self", reads=True)
def member_catalogue(session: Session, *, actor: Actor) -> list[GiftView]:
    """The member portal's catalogue: active, within its dates today, in stock; cheapest first."""
    today = clock.local_today()
    rows = session.exec(
        select(Gift)
        .where(
            Gift.is_active.is_(True),
            Gift.stock > 0,
            or_(Gift.active_from.is_(None), Gift.active_from <= today),
            or_(Gift.active_to.is_(None), Gift.active_to >= today),
        )
        .order_by(Gift.points_cost, Gift.id)
    ).scalars()
    return [_gift_view(g, today) for g in rows]


# --- filing -----------------------------------------------------------------------------------


def _file(
    session: Session, actor: Actor, customer_id: int, gift_id: object, quantity: object,
    channel: str,
) -> RequestView:  # fmt: skip
    errors: dict[str, str] = {}
    if not _is_int(quantity) or not 1 <= quantity <= MAX_QUANTITY:
        errors["quantity"] = "redemption.error.quantity"
    customer = live_customer(session, customer_id)
    gift = session.get(Gift, gift_id) if is_row_id(gift_id) else None
    today = clock.local_today()
    if gift is None or not gift.is_active or not _in_dates(gift, today):
        errors["gift"] = "redemption.error.gift_unavailable"
    elif "quantity" not in errors and gift.stock < quantity:  # type: ignore[operator]
        errors["quantity"] = "redemption.error.out_of_stock"
    if errors:
        raise ValidationFailed(errors)
    total = gift.points_cost * quantity  # type: ignore[union-attr, operator]
    if points.available(session, customer.id, today) < total:
        raise ValidationFailed({"quantity": "redemption.error.points_short"})
    request = RedemptionRequest(
        customer_id=customer.id,
        gift_id=gift.id,  # type: ignore[union-attr]
        quantity=quantity,
        points_total=total,
        status=RedemptionStatus.PENDING,
        channel=channel,
        filed_by=actor.user_id,
        created_at=clock.now(),
    )
    session.add(request)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="redemption.file",
        customer_id=customer.id,
        detail={"request": request.id, "gift": gift.id, "quantity": quantity, "points": total},  # type: ignore[union-attr]
    )
    return request_views(session, [request])[0]


@requires("purchase.post")
def file_request(
    session: Session, *, actor: Actor, customer_id: int, gift_id: int, quantity: int = 1
) -> RequestView:
    """The front desk files a request for a customer (channel counter). Nothing is reserved.
    Field errors: gift (not available), quantity (1..10, more than the stock, or more points than
    the customer has available now)."""
    return _file(session, actor, customer_id, gift_id, quantity, RedemptionChannel.COUNTER)


@requires("member.self")
def member_file_request(
    session: Session, *, actor: Actor, gift_id: int, quantity: int = 1
) -> RequestView:
    """The member files a request for themself (channel portal): the customer is the login's,
    no argument names one. Field errors as file_request."""
    return _file(session, actor, _own(actor), gift_id, quantity, RedemptionChannel.PORTAL)


# --- deciding ---------------------------------------------------------------------------------


@requires("redemption.approve")
def approve(session: Session, *, actor: Actor, request_id: int) -> RequestView:
    """客服中心审核通过: in the caller's one transaction, lock the customer, the request and the gift,
    re-check that the request is pending, the gift active with enough stock and the customer's
    available points enough, then deduct the points (soonest-expiring first) and the stock and
    mark it approved. Refusals (nothing written): redemption.error.already_decided,
    redemption.error.gift_unavailable, redemption.error.out_of_stock,
    redemption.error.insufficient_points."""
    request, customer = _locked_request(session, request_id)
    _require_pending(request)
    gift = session.exec(
        select(Gift)
        .where(Gift.id == request.gift_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).scalar_one()
    if not gift.is_active:
        raise DomainError("redemption.error.gift_unavailable")
    if gift.stock < request.quantity:
        raise DomainError("redemption.error.out_of_stock")
    have = points.available(session, customer.id)
    if have < request.points_total:
        raise DomainError(
            "redemption.error.insufficient_points", needed=request.points_total, available=have
        )
    points.redeem(
        session, actor=actor, customer_id=customer.id, points=request.points_total,
        ref=request_ref(request.id),
    )  # fmt: skip
    gift.stock -= request.quantity
    gift.updated_at = clock.now()
    _decide(request, actor, RedemptionStatus.APPROVED, None)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="redemption.approve",
        customer_id=customer.id,
        detail={"request": request.id, "gift": gift.id, "quantity": request.quantity,
                "points": request.points_total},
    )  # fmt: skip
    return request_views(session, [request])[0]


@requires("redemption.approve")
def reject(session: Session, *, actor: Actor, request_id: int, reason: str) -> RequestView:
    """客服中心审核不通过, with a reason of 2-200 characters that the member sees; nothing else
    changes. Field error: reason; refused when already decided."""
    reason = check_reason(reason)
    request, customer = _locked_request(session, request_id)
    _require_pending(request)
    _decide(request, actor, RedemptionStatus.REJECTED, reason)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="redemption.reject",
        customer_id=customer.id,
        reason=reason,
        detail={"request": request.id},
    )
    return request_views(session, [request])[0]


@requires("member.self")
def member_cancel_request(session: Session, *, actor: Actor, request_id: int) -> RequestView:
    """The member withdraws their own pending request; another customer's request is not found
    (its existence is not revealed). Refused when already decided."""
    own = _own(actor)
    request = session.get(RedemptionRequest, request_id) if is_row_id(request_id) else None
    if request is None or request.customer_id != own:
        raise NotFound("redemption.error.not_found")
    request, customer = _locked_request(session, request_id)
    if request.customer_id != own:  # pragma: no cover (a merge moved it meanwhile)
        raise NotFound("redemption.error.not_found")
    _require_pending(request)
    _decide(request, actor, RedemptionStatus.CANCELLED, None)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="redemption.cancel",
        customer_id=customer.id,
        detail={"request": request.id},
    )
    return request_views(session, [request])[0]


# --- lists ------------------------------------------------------------------------------------


@requires("redemption.approve", reads=True)
def pending_requests(
    session: Session, *, actor: Actor, page: int = 1, page_size: int = 20
) -> tuple[list[RequestView], int]:
    """The approvals inbox's redemptions: pending requests, oldest first, and their count."""
    where = [RedemptionRequest.status == RedemptionStatus.PENDING]
    return _request_page(session, where, page, page_size, oldest_first=True)


@requires("customer.read", reads=True)
def customer_requests(
    session: Session, *, actor: Actor, customer_id: int, page: int = 1, page_size: int = 20
) -> tuple[list[RequestView], int]:
    """A customer's requests for staff (a merged customer's id shows the survivor's), newest
    first."""
    customer, _ = survivor(session, customer_id)
    where = [RedemptionRequest.customer_id == customer.id]
    return _request_page(session, where, page, page_size, oldest_first=False)


@requires("member.self", reads=True)
def member_requests(
    session: Session, *, actor: Actor, page: int = 1, page_size: int = 20
) -> tuple[list[RequestView], int]:
    """The member's own requests, newest first (the customer comes from the login)."""
    where = [RedemptionRequest.customer_id == _own(actor)]
    return _request_page(session, where, page, page_size, oldest_first=False)
