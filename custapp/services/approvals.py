"""审批 (SPEC §3, §8 Money): the front desk asks, cs_manager decides.

- The front desk (`purchase.post`) asks for a same-day void of a purchase (作废), a refund with
  more cash than the threshold (退款, issue 14) or a manual points adjustment (积分调整) with a
  reason. cs_manager may do each directly on the profile; the request is for the counter that
  may not.
- Asking checks what can be checked now (the purchase can still be voided, one pending void per
  purchase; the adjustment's amount and reason) and changes nothing else.
- Deciding (`approval.decide`, plus the operation's own permission: `purchase.void` or
  `points.adjust`) locks the customer, then the request, re-checks it is pending and runs the
  real operation (orders.void_purchase, orders.post_refund, points.adjust_points) in the same
  transaction: a refusal
  there (the day has passed, the points no longer cover it) leaves the request pending and
  nothing written, so the manager rejects it instead.
- The inbox gathers every pending approval, oldest first: these requests and the gift
  redemptions (gifts.py), paged on the server by one UNION query.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, literal, select, union_all
from sqlmodel import Session

from custapp import clock
from custapp.models import (
    ApprovalRequest,
    Complaint,
    Customer,
    Gift,
    Order,
    RedemptionRequest,
    User,
)
from custapp.models.approvals import COMPENSATION_FORMS
from custapp.services import audit, complaints, gifts, membership, orders
from custapp.services import points as points_service
from custapp.services.actor import Actor
from custapp.services.customer_input import MAX_FEN, check_reason, is_row_id
from custapp.services.customers import live_customer, survivor
from custapp.services.errors import DomainError, NotFound, ValidationFailed
from custapp.services.guard import ensure, requires
from custapp.services.paging import page_window
from custapp.vocab import (
    REDEMPTION_INBOX_KIND,
    ApprovalKind,
    ApprovalStatus,
    CompensationForm,
    ComplaintStatus,
    RedemptionStatus,
    StoredValueKind,
)

MAX_PAGE_SIZE = 100
KIND_PERMISSIONS = {
    ApprovalKind.ORDER_VOID: "purchase.void",
    ApprovalKind.ORDER_REFUND: "purchase.void",
    ApprovalKind.POINTS_ADJUST: "points.adjust",
    ApprovalKind.COMPENSATION: "complaint.close",
}
INBOX_KINDS = (REDEMPTION_INBOX_KIND, *KIND_PERMISSIONS)


@dataclass(frozen=True)
class ApprovalView:
    id: int
    number: str  # A<id, 8 digits>
    kind: str  # order_void | order_refund | points_adjust | compensation
    customer_id: int
    customer_number: str
    customer_name: str
    order_id: int | None
    order_number: str
    order_paid_fen: int
    points: int
    reason: str
    status: str
    requested_by: str  # display name of the user who asked
    complaint_number: str  # compensation: the complaint's T… number
    form: str  # compensation: points | money | gift
    amount_fen: int  # compensation in money; order_refund: the amount refunded
    gift_name: str
    created_at: datetime
    decided_at: datetime | None
    decision_reason: str


@dataclass(frozen=True)
class InboxItem:
    kind: str  # redemption | order_void | points_adjust
    redemption: gifts.RequestView | None
    approval: ApprovalView | None


@dataclass(frozen=True)
class Inbox:
    items: list[InboxItem]
    total: int  # of the chosen kind (all kinds when none is chosen)
    counts: dict[str, int]  # pending per kind


def approval_ref(request_id: int) -> str:
    return f"A{request_id:08d}"


def _views(session: Session, rows: list[ApprovalRequest]) -> list[ApprovalView]:
    if not rows:
        return []
    customers = {
        cid: (number, name)
        for cid, number, name in session.exec(
            select(Customer.id, Customer.number, Customer.name).where(
                Customer.id.in_({r.customer_id for r in rows})
            )
        ).all()
    }
    order_ids = {r.order_id for r in rows if r.order_id}
    order_rows = (
        session.exec(
            select(Order.id, Order.number, Order.paid_fen).where(Order.id.in_(order_ids))
        ).all()
        if order_ids
        else []
    )
    found = {oid: (number, paid) for oid, number, paid in order_rows}
    complaint_numbers = _complaint_numbers(
        session, {r.complaint_id for r in rows if r.complaint_id}
    )
    gift_names = _gift_names(session, {r.gift_id for r in rows if r.gift_id})
    users = dict(
        session.exec(
            select(User.id, User.display_name).where(User.id.in_({r.requested_by for r in rows}))
        ).all()
    )
    views = []
    for r in rows:
        number, name = customers.get(r.customer_id, ("", ""))
        order_number, paid = found.get(r.order_id or 0, ("", 0))
        views.append(
            ApprovalView(
                r.id,
                approval_ref(r.id),
                r.kind,
                r.customer_id,
                number,
                name,
                r.order_id,
                order_number,
                paid,
                r.points or 0,
                r.reason,
                r.status,
                users.get(r.requested_by, ""),
                complaint_numbers.get(r.complaint_id or 0, ""),
                _form(r),
                r.amount_fen or 0,
                gift_names.get(r.gift_id or 0, ""),
                r.created_at,
                r.decided_at,
                r.decision_reason or "",
            )
        )
    return views


def _form(r: ApprovalRequest) -> str:
    if r.kind != ApprovalKind.COMPENSATION:
        return ""
    if r.gift_id:
        return CompensationForm.GIFT
    return CompensationForm.MONEY if r.amount_fen else CompensationForm.POINTS


def _complaint_numbers(session: Session, ids: set[int]) -> dict[int, str]:
    if not ids:
        return {}
    return dict(
        session.exec(select(Complaint.id, Complaint.number).where(Complaint.id.in_(ids))).all()
    )


def _gift_names(session: Session, ids: set[int]) -> dict[int, str]:
    if not ids:
        return {}
    return dict(session.exec(select(Gift.id, Gift.name_zh).where(Gift.id.in_(ids))).all())


def _file(session: Session, actor: Actor, request: ApprovalRequest) -> ApprovalView:
    session.add(request)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action=f"approval.request.{request.kind}",
        customer_id=request.customer_id,
        reason=request.reason,
        detail={
            "request": request.id,
            "order": request.order_id,
            "points": request.points,
            "complaint": request.complaint_id,
            "amount_fen": request.amount_fen,
            "gift": request.gift_id,
        },
    )
    return _views(session, [request])[0]


# --- asking -------------------------------------------------------------------------------------


@requires("purchase.post")
def request_void(session: Session, *, actor: Actor, order_id: int, reason: str) -> ApprovalView:
    """申请作废: ask cs_manager to void today's purchase. Field error: reason; refused when the
    purchase can no longer be voided or a void of it is already pending."""
    reason = check_reason(reason)
    purchase = orders.voidable_purchase(session, order_id)
    customer = live_customer(session, purchase.customer_id, lock=True)
    if _pending_on(session, purchase.id):
        raise DomainError("approval.error.void_pending")
    return _file(
        session,
        actor,
        ApprovalRequest(
            kind=ApprovalKind.ORDER_VOID,
            customer_id=customer.id,
            order_id=purchase.id,
            reason=reason,
            requested_by=actor.user_id,
            created_at=clock.now(),
        ),  # fmt: skip
    )


def _pending_on(session: Session, order_id: int) -> bool:
    """A request waiting on the purchase (one at a time: a void and a refund exclude each other)."""
    return (
        session.exec(
            select(ApprovalRequest.id).where(
                ApprovalRequest.order_id == order_id,
                ApprovalRequest.status == ApprovalStatus.PENDING,
            )
        ).first()
        is not None
    )


@requires("purchase.post")
def request_refund(
    session: Session,
    *,
    actor: Actor,
    order_id: int,
    amount_fen: int,
    payments: list[tuple[str, int]],
    reason: str,
) -> ApprovalView:
    """申请退款: ask cs_manager for a refund the counter may not post itself (more cash than the
    threshold). Checked like the refund itself (orders.post_refund's field errors); refused
    while another request on the purchase is pending."""
    checked = orders.post_refund(
        session, actor=actor, order_id=order_id, amount_fen=amount_fen, payments=payments,
        reason=reason, preview=True,
    )  # fmt: skip
    purchase = session.get(Order, order_id)
    if _pending_on(session, purchase.id):
        raise DomainError("approval.error.refund_pending")
    return _file(
        session,
        actor,
        ApprovalRequest(
            kind=ApprovalKind.ORDER_REFUND,
            customer_id=purchase.customer_id,
            order_id=purchase.id,
            amount_fen=checked.amount_fen,
            payments=json.dumps([[method, amount] for method, amount in payments]),
            reason=check_reason(reason),
            requested_by=actor.user_id,
            created_at=clock.now(),
        ),  # fmt: skip
    )


@requires("purchase.post")
def request_points_adjustment(
    session: Session, *, actor: Actor, customer_id: int, points: int, reason: str
) -> ApprovalView:
    """申请积分调整: ask cs_manager to add (+) or deduct (−) points, with a reason. Field errors:
    points (not a whole number, zero, too large, or a deduction beyond the available points now),
    reason."""
    reason = points_service.check_adjustment(points, reason)
    customer = live_customer(session, customer_id, lock=True)
    if points < 0 and points_service.available(session, customer.id) < -points:
        raise ValidationFailed({"points": "points.error.insufficient"})
    return _file(
        session,
        actor,
        ApprovalRequest(
            kind=ApprovalKind.POINTS_ADJUST,
            customer_id=customer.id,
            points=points,
            reason=reason,
            requested_by=actor.user_id,
            created_at=clock.now(),
        ),  # fmt: skip
    )


@requires("complaint.handle")
def request_compensation(
    session: Session, *, actor: Actor, complaint_id: int, form: str, reason: str,
    points: int | None = None, amount_fen: int | None = None, gift_id: int | None = None,
) -> ApprovalView:  # fmt: skip
    """申请补偿 for a complaint: points, money (fen) or one gift, with a reason; cs_manager decides.
    Field errors: form, points, amount, gift, reason; refused for a closed complaint or one
    without a customer."""
    errors: dict[str, str] = {}
    if form not in COMPENSATION_FORMS:
        errors["form"] = "approval.error.compensation_form"
    elif form == CompensationForm.POINTS and not (
        is_row_id(points) and points <= points_service.MAX_ADJUST
    ):
        errors["points"] = "approval.error.compensation_points"
    elif form == CompensationForm.MONEY and not (is_row_id(amount_fen) and amount_fen <= MAX_FEN):
        errors["amount"] = "approval.error.compensation_amount"
    elif form == CompensationForm.GIFT:
        gift = session.get(Gift, gift_id) if is_row_id(gift_id) else None
        if gift is None or not gift.is_active or gift.stock < 1:
            errors["gift"] = "redemption.error.gift_unavailable"
    try:
        reason = check_reason(reason)
    except ValidationFailed as exc:
        errors.update(exc.errors)
    if errors:
        raise ValidationFailed(errors)
    complaint = complaints.locked(session, complaint_id)
    if complaint.status == ComplaintStatus.CLOSED:
        raise DomainError("approval.error.complaint_closed")
    if complaint.customer_id is None:
        raise DomainError("approval.error.compensation_customer")
    customer = live_customer(session, complaint.customer_id, lock=True)
    return _file(
        session,
        actor,
        ApprovalRequest(
            kind=ApprovalKind.COMPENSATION,
            customer_id=customer.id,
            complaint_id=complaint.id,
            points=points if form == CompensationForm.POINTS else None,
            amount_fen=amount_fen if form == CompensationForm.MONEY else None,
            gift_id=gift_id if form == CompensationForm.GIFT else None,
            reason=reason,
            requested_by=actor.user_id,
            created_at=clock.now(),
        ),  # fmt: skip
    )


def _compensate(session: Session, actor: Actor, request: ApprovalRequest) -> None:
    """Give what was approved: points to the ledger, money to the active card's stored value
    (without a card it is paid at the counter, and the timeline says so), or one gift from
    stock; the complaint's timeline shows the customer what was given."""
    complaint = complaints.locked(session, request.complaint_id)
    label = f"{complaint.number} {request.reason}"[:200]
    form = _form(request)
    if form == CompensationForm.POINTS:
        points_service.adjust_points(
            session, actor=actor, customer_id=request.customer_id, points=request.points,
            reason=label,
        )  # fmt: skip
        detail = f"points:{request.points}"
    elif form == CompensationForm.MONEY:
        card = membership.active_card(session, request.customer_id)
        if card is not None:
            membership.record_stored_value(
                session, actor=actor, customer_id=request.customer_id,
                kind=StoredValueKind.CORRECTION,
                amount_fen=request.amount_fen, card_id=card.id, store_id=actor.store_id,
            )  # fmt: skip
        detail = f"money:{request.amount_fen}:{'card' if card else 'counter'}"
    else:
        gift = session.exec(
            select(Gift).where(Gift.id == request.gift_id).with_for_update()
            .execution_options(populate_existing=True)
        ).scalar_one()  # fmt: skip
        if not gift.is_active or gift.stock < 1:
            raise DomainError("redemption.error.out_of_stock")
        gift.stock -= 1
        gift.updated_at = clock.now()
        detail = f"gift:{gift.id}"
    complaints.record_compensation(session, actor, complaint, detail)


# --- deciding -----------------------------------------------------------------------------------


def _locked(session: Session, request_id: object) -> ApprovalRequest:
    """The request, its customer's row locked first (the order every writer of points and stored
    value keeps), then the request re-read FOR UPDATE."""
    request = session.get(ApprovalRequest, request_id) if is_row_id(request_id) else None
    if request is None:
        raise NotFound("approval.error.not_found")
    live_customer(session, request.customer_id, lock=True)
    request = session.exec(
        select(ApprovalRequest)
        .where(ApprovalRequest.id == request.id)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).scalar_one()
    if request.status != ApprovalStatus.PENDING:
        raise DomainError("approval.error.already_decided")
    return request


def _decide(
    session: Session, actor: Actor, request: ApprovalRequest, status: str, reason: str | None
) -> ApprovalView:
    request.status = status
    request.decided_by = actor.user_id
    request.decided_at = clock.now()
    request.decision_reason = reason
    session.flush()
    audit.record(
        session,
        actor=actor,
        action=f"approval.{status}",
        customer_id=request.customer_id,
        reason=reason,
        detail={"request": request.id, "kind": request.kind},
    )
    return _views(session, [request])[0]


@requires("approval.decide")
def approve(session: Session, *, actor: Actor, request_id: int) -> ApprovalView:
    """审批通过: run the void, the refund or the adjustment as the deciding manager, in this
    transaction."""
    request = _locked(session, request_id)
    ensure(actor, KIND_PERMISSIONS[request.kind], action="approvals.approve", request=request.id)
    if request.kind == ApprovalKind.ORDER_VOID:
        orders.void_purchase(session, actor=actor, order_id=request.order_id, reason=request.reason)
    elif request.kind == ApprovalKind.ORDER_REFUND:
        orders.post_refund(
            session, actor=actor, order_id=request.order_id, amount_fen=request.amount_fen,
            payments=[tuple(p) for p in json.loads(request.payments)], reason=request.reason,
        )  # fmt: skip
    elif request.kind == ApprovalKind.COMPENSATION:
        _compensate(session, actor, request)
    else:
        points_service.adjust_points(
            session, actor=actor, customer_id=request.customer_id, points=request.points,
            reason=request.reason,
        )  # fmt: skip
    return _decide(session, actor, request, ApprovalStatus.APPROVED, None)


@requires("approval.decide")
def reject(session: Session, *, actor: Actor, request_id: int, reason: str) -> ApprovalView:
    """审批不通过, with a reason the requester sees. Field error: reason."""
    reason = check_reason(reason)
    request = _locked(session, request_id)
    return _decide(session, actor, request, ApprovalStatus.REJECTED, reason)


@requires("purchase.post")
def cancel(session: Session, *, actor: Actor, request_id: int) -> ApprovalView:
    """The user who asked withdraws a pending request; another user's is not found."""
    request = session.get(ApprovalRequest, request_id) if is_row_id(request_id) else None
    if request is None or request.requested_by != actor.user_id:
        raise NotFound("approval.error.not_found")
    request = _locked(session, request.id)
    return _decide(session, actor, request, ApprovalStatus.CANCELLED, None)


# --- lists --------------------------------------------------------------------------------------


@requires("approval.decide", reads=True)
def inbox(
    session: Session, *, actor: Actor, kind: str = "", page: int = 1, page_size: int = 20
) -> Inbox:
    """Every pending approval, oldest first: gift redemptions and the front desk's requests; one
    kind when `kind` names one. Redemptions need `redemption.approve` to be listed too."""
    window = page_window(page, page_size, max_size=MAX_PAGE_SIZE)
    redemptions = select(
        literal(REDEMPTION_INBOX_KIND).label("kind"),
        RedemptionRequest.id.label("id"),
        RedemptionRequest.created_at.label("created_at"),
    ).where(RedemptionRequest.status == RedemptionStatus.PENDING)
    requests = select(
        ApprovalRequest.kind.label("kind"),
        ApprovalRequest.id.label("id"),
        ApprovalRequest.created_at.label("created_at"),
    ).where(ApprovalRequest.status == ApprovalStatus.PENDING)
    parts = [requests]
    if actor.can("redemption.approve"):
        parts.insert(0, redemptions)
    pending = union_all(*parts).subquery()
    counts = {k: 0 for k in INBOX_KINDS}
    for k, n in session.exec(select(pending.c.kind, func.count()).group_by(pending.c.kind)).all():
        counts[k] = int(n)
    chosen = kind if kind in INBOX_KINDS else ""
    where = [pending.c.kind == chosen] if chosen else []
    total = counts[chosen] if chosen else sum(counts.values())
    keys = session.exec(
        select(pending.c.kind, pending.c.id)
        .where(*where)
        .order_by(pending.c.created_at, pending.c.kind, pending.c.id)
        .offset(window.offset)
        .limit(window.limit)
    ).all()
    redemption_ids = [i for k, i in keys if k == REDEMPTION_INBOX_KIND]
    approval_ids = [i for k, i in keys if k != REDEMPTION_INBOX_KIND]
    found_redemptions = {
        v.id: v
        for v in gifts.request_views(
            session,
            list(
                session.exec(
                    select(RedemptionRequest).where(RedemptionRequest.id.in_(redemption_ids))
                ).scalars()
            ),
        )
    }
    found_approvals = {
        v.id: v
        for v in _views(
            session,
            list(
                session.exec(
                    select(ApprovalRequest).where(ApprovalRequest.id.in_(approval_ids))
                ).scalars()
            ),
        )
    }
    items = [
        InboxItem(k, found_redemptions.get(i), None)
        if k == REDEMPTION_INBOX_KIND
        else InboxItem(k, None, found_approvals.get(i))
        for k, i in keys
    ]
    return Inbox(items, total, counts)


@requires("customer.read", reads=True)
def customer_pending(session: Session, *, actor: Actor, customer_id: int) -> list[ApprovalView]:
    """The customer's pending requests (a handful at most): what the profile marks as waiting."""
    customer, _ = survivor(session, customer_id)
    rows = session.exec(
        select(ApprovalRequest)
        .where(
            ApprovalRequest.customer_id == customer.id,
            ApprovalRequest.status == ApprovalStatus.PENDING,
        )
        .order_by(ApprovalRequest.created_at)
        .limit(MAX_PAGE_SIZE)
    ).scalars()
    return _views(session, list(rows))
