"""积分 (SPEC §3, §8 Money): awards as lots with their own expiry, redemption from the lot that
expires first, refunds that take points back, clawbacks, manual adjustments and the daily expiry.

- Points of a purchase = whole yuan paid (¥99.90 → 99), earned only with an active card.
- The ledger's sum is Σ lots.remaining − clawback; available points are Σ remaining of the live
  lots (expires_on ≥ today or never) and 0 while a clawback is open.
- A refund's points = points earned by the order − floor(remaining paid yuan), minus what earlier
  refunds of the order already reversed. They come back, in order: from what is left of the
  order's lot; as forgiven where the lot's points expired (never clawed back); as clawed where
  they were spent, drawn from the customer's other live lots (soonest-expiring first) and, what
  those cannot cover, owed as a clawback that the next earnings pay off first.
- Callers hold the customer's row lock (customers.live_customer(lock=True)); lots are drawn with
  SELECT ... FOR UPDATE too, so the expiry job and a counter never overwrite each other.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy import Date, bindparam, func, or_, select, text
from sqlmodel import Session

from custapp import clock
from custapp.models import Order, PointsClawback, PointsEntry, PointsLot
from custapp.services import audit
from custapp.services.actor import Actor, system_actor
from custapp.services.customer_input import check_reason
from custapp.services.customers import live_customer
from custapp.services.errors import DomainError, ValidationFailed
from custapp.services.guard import requires
from custapp.settings import get_settings
from custapp.vocab import PointsKind

MAX_ADJUST = 10_000_000
EXPIRING_WINDOW_DAYS = 30


@dataclass(frozen=True)
class Expiring:
    expires_on: date
    points: int


# --- policy and balances ----------------------------------------------------------------------


def expiry_for(earned_on: date) -> date | None:
    """The last local day points earned on `earned_on` can be used (None: never expire)."""
    settings = get_settings()
    if settings.points_expiry == "never":
        return None
    if settings.points_expiry == "days":
        return earned_on + timedelta(days=settings.points_expiry_days - 1)
    return date(earned_on.year + 1, 12, 31)


def _live(customer_id: int, today: date):  # noqa: ANN202 (a where clause)
    return (
        PointsLot.customer_id == customer_id,
        PointsLot.remaining > 0,
        or_(PointsLot.expires_on.is_(None), PointsLot.expires_on >= today),
    )


def clawback_of(session: Session, customer_id: int) -> int:
    row = session.get(PointsClawback, customer_id)
    return row.points if row else 0


def available(session: Session, customer_id: int, today: date | None = None) -> int:
    """Points the customer can redeem now: 0 while a clawback is open."""
    if clawback_of(session, customer_id):
        return 0
    today = today or clock.local_today()
    total = session.exec(
        select(func.coalesce(func.sum(PointsLot.remaining), 0)).where(*_live(customer_id, today))
    ).scalar_one()
    return int(total)


def ledger_sum(session: Session, customer_id: int) -> int:
    total = session.exec(
        select(func.coalesce(func.sum(PointsEntry.points), 0)).where(
            PointsEntry.customer_id == customer_id
        )
    ).scalar_one()
    return int(total)


def expiring(
    session: Session, customer_id: int, today: date | None = None, days: int = EXPIRING_WINDOW_DAYS
) -> list[Expiring]:
    """Live points expiring within `days` days from today, per date, soonest first."""
    today = today or clock.local_today()
    if clawback_of(session, customer_id):
        return []
    rows = session.exec(
        select(PointsLot.expires_on, func.sum(PointsLot.remaining))
        .where(*_live(customer_id, today), PointsLot.expires_on <= today + timedelta(days=days))
        .group_by(PointsLot.expires_on)
        .order_by(PointsLot.expires_on)
    ).all()
    return [Expiring(day, int(points)) for day, points in rows]


# --- writing ----------------------------------------------------------------------------------


def _entry(
    session: Session, customer_id: int, kind: str, points: int, *, actor: Actor | None, **more
) -> PointsEntry:
    entry = PointsEntry(
        customer_id=customer_id,
        kind=kind,
        points=points,
        created_by=actor.user_id if actor else None,
        created_at=clock.now(),
        **more,
    )
    session.add(entry)
    return entry


def _clawback_row(session: Session, customer_id: int) -> PointsClawback:
    row = session.exec(
        select(PointsClawback).where(PointsClawback.customer_id == customer_id).with_for_update()
    ).scalar_one_or_none()
    if row is None:
        row = PointsClawback(customer_id=customer_id, points=0, updated_at=clock.now())
        session.add(row)
    return row


def _new_lot(
    session: Session,
    customer_id: int,
    points: int,
    *,
    kind: str,
    actor: Actor | None,
    order_id: int | None = None,
    reason: str | None = None,
) -> PointsLot:
    """A lot of `points` (earn or adjust); an open clawback is paid off from it first."""
    owed = _clawback_row(session, customer_id)
    pay = min(points, owed.points)
    if pay:
        owed.points -= pay
        owed.updated_at = clock.now()
    lot = PointsLot(
        customer_id=customer_id,
        order_id=order_id,
        points=points,
        remaining=points - pay,
        spent=pay,
        expires_on=expiry_for(clock.local_today()),
        created_at=clock.now(),
    )
    session.add(lot)
    session.flush()
    _entry(
        session, customer_id, kind, points, actor=actor, lot_id=lot.id, order_id=order_id,
        reason=reason,
    )  # fmt: skip
    return lot


def _draw(
    session: Session,
    customer_id: int,
    points: int,
    *,
    kind: str,
    actor: Actor | None,
    order_id: int | None = None,
    ref: str | None = None,
    reason: str | None = None,
) -> int:
    """Take up to `points` from the live lots, soonest-expiring first (never-expiring last), one
    ledger entry per lot drawn; returns how many were taken."""
    today = clock.local_today()
    lots = session.exec(
        select(PointsLot)
        .where(*_live(customer_id, today))
        .order_by(PointsLot.expires_on.is_(None), PointsLot.expires_on, PointsLot.id)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).scalars()
    taken = 0
    for lot in lots:
        if taken == points:
            break
        part = min(points - taken, lot.remaining)
        lot.remaining -= part
        lot.spent += part
        taken += part
        _entry(
            session, customer_id, kind, -part, actor=actor, lot_id=lot.id, order_id=order_id,
            ref=ref, reason=reason,
        )  # fmt: skip
    session.flush()
    return taken


def settle_clawback(session: Session, customer_id: int) -> int:
    """Pay an open clawback from the customer's live lots (after a merge brought a clawback and
    points together). No ledger entry: Σ remaining and the clawback fall by the same amount, so
    the ledger's sum is unchanged. Returns the points settled."""
    row = _clawback_row(session, customer_id)
    settled = 0
    lots = session.exec(
        select(PointsLot)
        .where(*_live(customer_id, clock.local_today()))
        .order_by(PointsLot.expires_on.is_(None), PointsLot.expires_on, PointsLot.id)
        .with_for_update()
    ).scalars()
    for lot in lots:
        if settled == row.points:
            break
        part = min(row.points - settled, lot.remaining)
        lot.remaining -= part
        lot.spent += part
        settled += part
    if settled:
        row.points -= settled
        row.updated_at = clock.now()
    session.flush()
    return settled


def award_for_purchase(session: Session, *, actor: Actor, order: Order) -> int:
    """Points of a purchase (whole yuan paid) as a new lot; the caller checked the active card."""
    points = order.paid_fen // 100
    if points:
        _new_lot(
            session, order.customer_id, points, kind=PointsKind.EARN, actor=actor, order_id=order.id
        )
    return points


def reverse_for_refund(
    session: Session, *, actor: Actor, purchase: Order, reversal: Order, remaining_paid_fen: int
) -> int:
    """Take back the points of a refund or void of `purchase` (see the module docstring); returns
    the refund's points."""
    lot = session.exec(
        select(PointsLot)
        .where(PointsLot.order_id == purchase.id)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).scalar_one_or_none()
    if lot is None:
        return 0
    done = lot.taken + lot.forgiven + lot.clawed
    points = lot.points - remaining_paid_fen // 100 - done
    if points <= 0:
        return 0
    back = min(points, lot.remaining)
    if back:
        lot.remaining -= back
        lot.taken += back
        _entry(
            session, lot.customer_id, PointsKind.REFUND_REVERSAL, -back, actor=actor, lot_id=lot.id,
            order_id=reversal.id,
        )  # fmt: skip
    rest = points - back
    forgiven = min(rest, lot.expired - lot.forgiven)
    lot.forgiven += forgiven
    clawed = rest - forgiven
    if clawed:
        lot.clawed += clawed
        session.flush()
        drawn = _draw(
            session, lot.customer_id, clawed, kind=PointsKind.REFUND_REVERSAL, actor=actor,
            order_id=reversal.id,
        )  # fmt: skip
        owed = clawed - drawn
        if owed:
            row = _clawback_row(session, lot.customer_id)
            row.points += owed
            row.updated_at = clock.now()
            _entry(
                session,
                lot.customer_id,
                PointsKind.CLAWBACK,
                -owed,
                actor=actor,
                order_id=reversal.id,
            )
    session.flush()
    return points


def redeem(session: Session, *, actor: Actor, customer_id: int, points: int, ref: str) -> None:
    """Deduct `points` for a redemption (the caller checked redemption.approve and holds the
    customer's row lock); refused while a clawback is open or when the points do not cover it."""
    if not isinstance(points, int) or points <= 0:
        raise ValidationFailed({"points": "points.error.amount"})
    if available(session, customer_id) < points:
        raise DomainError("points.error.insufficient")
    _draw(session, customer_id, points, kind=PointsKind.REDEEM, actor=actor, ref=ref)


def check_adjustment(points: object, reason: object) -> str:
    """A manual adjustment's input: a non-zero whole number of points within ±MAX_ADJUST and a
    reason of 2-200 characters (returned stripped). Field errors: `points`, `reason`."""
    errors: dict[str, str] = {}
    if (
        not isinstance(points, int)
        or isinstance(points, bool)
        or points == 0
        or abs(points) > MAX_ADJUST
    ):
        errors["points"] = "points.error.adjust_amount"
    try:
        reason = check_reason(reason)
    except ValidationFailed as exc:
        errors.update(exc.errors)
    if errors:
        raise ValidationFailed(errors)
    return reason  # type: ignore[return-value]


@requires("points.adjust")
def adjust_points(
    session: Session, *, actor: Actor, customer_id: int, points: int, reason: str
) -> int:
    """A manual adjustment (+ a new lot that pays off a clawback first; − drawn soonest-expiring
    first, never below zero) with a reason of 2-200 characters; returns the available points.
    Field errors: `points`, `reason`."""
    reason = check_adjustment(points, reason)
    customer = live_customer(session, customer_id, lock=True)
    if points > 0:
        _new_lot(session, customer.id, points, kind=PointsKind.ADJUST, actor=actor, reason=reason)
    else:
        if available(session, customer.id) < -points:
            raise ValidationFailed({"points": "points.error.insufficient"})
        _draw(session, customer.id, -points, kind=PointsKind.ADJUST, actor=actor, reason=reason)
    audit.record(
        session,
        actor=actor,
        action="points.adjust",
        customer_id=customer.id,
        reason=reason,
        detail={"points": points},
    )
    return available(session, customer.id)


# --- the daily expiry -------------------------------------------------------------------------

EXPIRY_BATCH = 5_000  # lots per transaction: a counter waits for one batch at most
SQLITE_BATCH, SQLITE_PAUSE_S = 1_000, 0.005
_DUE = "remaining > 0 AND expires_on < :today"  # served by ix_points_lots_expiry_open
_EXPIRE_POSTGRESQL = f"""
WITH due AS (
    SELECT id FROM points_lots WHERE {_DUE} LIMIT :batch FOR UPDATE
), gone AS (
    UPDATE points_lots AS lot SET expired = lot.expired + lot.remaining, remaining = 0
    FROM due WHERE lot.id = due.id AND lot.remaining > 0
    RETURNING lot.id, lot.customer_id, lot.expired
), added AS (
    INSERT INTO points_entries (customer_id, kind, points, lot_id, created_at)
    SELECT customer_id, 'expire', -expired, id, :now FROM gone
    RETURNING points
)
SELECT count(*), coalesce(sum(-points), 0) FROM added
"""
_DUE_IDS_SQLITE = f"SELECT id FROM points_lots WHERE {_DUE} LIMIT :batch"
_EXPIRE_SQLITE = (
    "SELECT count(*), coalesce(sum(remaining), 0) FROM points_lots WHERE id IN :ids",
    "INSERT INTO points_entries (customer_id, kind, points, lot_id, created_at) "
    "SELECT customer_id, 'expire', -remaining, id, :now FROM points_lots WHERE id IN :ids",
    "UPDATE points_lots SET expired = expired + remaining, remaining = 0 WHERE id IN :ids",
)


def _params(statement: str):  # noqa: ANN202 (a TextClause)
    clause = text(statement)
    binds = []
    if ":today" in statement:
        binds.append(bindparam("today", type_=Date()))
    if ":now" in statement:
        binds.append(bindparam("now", type_=PointsEntry.__table__.c.created_at.type))
    if ":ids" in statement:
        binds.append(bindparam("ids", expanding=True))
    return clause.bindparams(*binds)


def expire_points(session: Session, today: date, batch: int = EXPIRY_BATCH) -> dict:
    """Expire what is left of up to `batch` lots whose last day is before `today` (a local date)
    and write the deductions, set-based: one statement on PostgreSQL (an UPDATE ... RETURNING
    feeding the INSERT, so a lot drawn at the same moment is expired with what is really left),
    the batch's ids then three statements in SQLite's write transaction. Returns {"lots": n,
    "points": p}; fewer lots than `batch` means nothing is left to expire."""
    values = {"today": today, "now": clock.now(), "batch": batch}
    session.flush()
    connection = session.connection()
    if connection.dialect.name == "postgresql":
        lots, points = connection.execute(_params(_EXPIRE_POSTGRESQL), values).one()
    else:
        ids = list(connection.execute(_params(_DUE_IDS_SQLITE), values).scalars())
        lots = points = 0
        if ids:
            values["ids"] = ids
            count, *changes = _EXPIRE_SQLITE
            lots, points = connection.execute(_params(count), values).one()
            for statement in changes:
                connection.execute(_params(statement), values)
    summary = {"lots": int(lots), "points": int(points)}
    if lots:
        audit.record(session, actor=system_actor("jobs"), action="points.expire", detail=summary)
    return summary


def run_expiry(batch: int = EXPIRY_BATCH) -> dict:
    """The daily job step: expire everything due before today (configured zone), one batch per
    transaction so that the counters posting meanwhile wait for one batch at most. A run cut
    short leaves the rest for the next run: what is expired is never expired again."""
    from custapp.db import session_scope

    today = clock.local_today()
    total = {"lots": 0, "points": 0}
    sqlite = get_settings().is_sqlite
    if sqlite:  # one writer at a time: short batches, and a pause that lets a waiting counter in
        batch = min(batch, SQLITE_BATCH)
    while True:
        with session_scope() as session:
            done = expire_points(session, today, batch)
        total = {key: total[key] + done[key] for key in total}
        if done["lots"] < batch:
            return total
        if sqlite:
            time.sleep(SQLITE_PAUSE_S)
