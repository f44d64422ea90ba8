"""客户分类 (SPEC §2, §8): lifecycle, importance grade and value class, stored on the customer.

The rules are pure functions (`lifecycle_for`, `grade_for`, `window_start`) so that posting, the
daily job and a bulk seeder classify alike. The stored columns are the only thing filters read:

- trailing-12-month spend: Σ `orders.spend_fen` (purchases +paid, refunds −refunded, each on the
  local day it was posted) over the local days `window_start(today)` .. `today`, both included,
  i.e. from the day after the same date one year earlier (29 Feb → 1 Mar). A refund counts on its
  own day, so once its purchase has left the window the spend can be negative (grade E, 零散).
- first / last purchase: the first and last purchase order (refunds do not move them; a refunded
  purchase was still a visit);
- lifecycle (local days): potential without a purchase; lost when the last purchase is
  ≥ `lifecycle_lost_days` (365) days before today; new when the first purchase is fewer than
  `lifecycle_new_days` (90) days before today; old otherwise;
- grade: the highest of A-D whose threshold the 12-month spend reaches, else E. The computed
  grade goes to `grade`; a manual `grade_override` is never touched here;
- value class (ABC): `recompute_value_classes`, across all live customers.

Posting a purchase or refund refreshes its customer (`refresh_customer`); the rolling window and
the day thresholds move every night (`run_daily`), and a cs_manager may re-run the time rules and
the ABC split at once (`reclassify_now`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import and_, bindparam, case, func, literal, not_, or_, select, update
from sqlmodel import Session

from custapp import clock
from custapp.db import session_scope
from custapp.models import Customer, Order
from custapp.services import audit
from custapp.services.actor import Actor, system_actor
from custapp.services.customer_fields import GRADES
from custapp.services.guard import requires
from custapp.settings import get_settings
from custapp.vocab import Lifecycle, OrderKind, ValueClass

KEY_SHARE = 75  # % of total positive 12-month spend made by 主力 customers (004 L821)
GENERAL_SHARE = 20  # % made by 一般 customers; the last 5 % and spend ≤ 0 are 零散
BATCH = 2000  # customers per transaction in the daily job

_CUSTOMERS = Customer.__table__


# --- the rules --------------------------------------------------------------------------------


def window_start(today: date) -> date:
    """The first local day of the trailing-12-month window that ends with `today` (included)."""
    try:
        a_year_ago = today.replace(year=today.year - 1)
    except ValueError:  # 29 February
        a_year_ago = today.replace(year=today.year - 1, day=28)
    return a_year_ago + timedelta(days=1)


def local_midnight(day: date) -> datetime:
    """The UTC instant at which `day` begins in the configured zone."""
    return datetime.combine(day, time(0), tzinfo=clock.zone()).astimezone(UTC)


def _days_before(today: date, at: datetime) -> int:
    return (today - clock.to_local(at).date()).days


def lifecycle_for(
    first_purchase_at: datetime | None,
    last_purchase_at: datetime | None,
    today: date,
    *,
    new_days: int | None = None,
    lost_days: int | None = None,
) -> str:
    """potential | new | old | lost, from the local dates of the first and last purchase."""
    if first_purchase_at is None or last_purchase_at is None:
        return Lifecycle.POTENTIAL
    settings = get_settings()
    new_days = settings.lifecycle_new_days if new_days is None else new_days
    lost_days = settings.lifecycle_lost_days if lost_days is None else lost_days
    if _days_before(today, last_purchase_at) >= lost_days:
        return Lifecycle.LOST
    if _days_before(today, first_purchase_at) < new_days:
        return Lifecycle.NEW
    return Lifecycle.OLD


def grade_for(spend_12m_fen: int, thresholds: Iterable[int] | None = None) -> str:
    """A-D by the minimum 12-month spend (fen) of each, highest first; E below D."""
    if thresholds is None:
        thresholds = get_settings().grade_thresholds_fen
    for grade, minimum in zip(GRADES[:-1], thresholds, strict=True):
        if spend_12m_fen >= minimum:
            return grade
    return GRADES[-1]


@dataclass(frozen=True)
class Totals:
    """What the orders say about one customer."""

    spend_12m_fen: int = 0
    first_purchase_at: datetime | None = None
    last_purchase_at: datetime | None = None


def order_totals(session: Session, customer_ids: list[int], since: datetime) -> dict[int, Totals]:
    """Per customer: spend since `since` and first/last purchase, in one grouped query on
    ix_orders_customer_created. Customers without orders are absent.

    The orders are read by the id range of the customers asked for (an index range scan; a long
    IN list makes PostgreSQL scan the whole table), and customers in between are dropped.
    """
    if not customer_ids:
        return {}
    wanted = set(customer_ids)
    in_window = case((Order.created_at >= since, Order.spend_fen), else_=0)
    purchased_at = case((Order.kind == OrderKind.PURCHASE, Order.created_at))
    rows = session.exec(
        select(
            Order.customer_id,
            func.sum(in_window),
            func.min(purchased_at),
            func.max(purchased_at),
        )
        .where(Order.customer_id.between(min(wanted), max(wanted)))
        .group_by(Order.customer_id)
    ).all()
    return {
        cid: Totals(int(spend or 0), first, last)
        for cid, spend, first, last in rows
        if cid in wanted
    }


# --- one customer (on posting) ------------------------------------------------------------------


def refresh_customer(session: Session, customer_id: int) -> Customer:
    """Recompute the customer's spend, first/last purchase, lifecycle and grade from their
    orders, in the caller's transaction, which holds the customer's row lock (live_customer with
    lock=True). The value class follows with the next ABC run."""
    today = clock.local_today()
    customer = session.get(Customer, customer_id)
    totals = order_totals(session, [customer_id], local_midnight(window_start(today))).get(
        customer_id, Totals()
    )
    customer.spend_12m_fen = totals.spend_12m_fen
    customer.first_purchase_at = totals.first_purchase_at
    customer.last_purchase_at = totals.last_purchase_at
    customer.lifecycle = lifecycle_for(totals.first_purchase_at, totals.last_purchase_at, today)
    customer.grade = grade_for(totals.spend_12m_fen)
    session.add(customer)
    session.flush()
    return customer


# --- every customer (the daily job) -------------------------------------------------------------


def _candidates(*, full: bool, since: datetime, zero_grade: str):  # noqa: ANN202
    """Live customers whose stored classification may differ from what their orders say today.

    Settled, and skipped unless `full`: never purchased (potential, no spend, grade of 0), and
    lost with no order inside the window (last purchase before it and a spend of exactly 0, which
    rules out refunds inside it) — nothing can leave their window and no day rule can move them.
    `full` also covers orders written around the posting functions (a bulk seeder).
    """
    live = Customer.merged_into_id.is_(None)
    if full:
        return live
    settled_grade = and_(Customer.spend_12m_fen == 0, Customer.grade == zero_grade)
    never_bought = and_(
        Customer.last_purchase_at.is_(None),
        Customer.lifecycle == Lifecycle.POTENTIAL,
        settled_grade,
    )
    long_lost = and_(
        Customer.lifecycle == Lifecycle.LOST, Customer.last_purchase_at < since, settled_grade
    )
    return and_(live, not_(or_(never_bought, long_lost)))


_CHANGED = ("id", "spend_12m_fen", "first_purchase_at", "last_purchase_at", "lifecycle", "grade")
_UPDATE_CHANGED = (
    update(_CUSTOMERS)
    .where(_CUSTOMERS.c.id == bindparam("b_id"))
    .values({name: bindparam(f"b_{name}") for name in _CHANGED[1:]})
)


def _write(session: Session, changes: list[tuple]) -> None:
    """Store changed classification rows (tuples in _CHANGED order) in one executemany."""
    session.connection().execute(
        _UPDATE_CHANGED,
        [{f"b_{name}": v for name, v in zip(_CHANGED, row, strict=True)} for row in changes],
    )


def _recompute_batch(
    session: Session, rows: list, *, since: datetime, today: date, thresholds: tuple[int, ...]
) -> int:
    """Bring one batch of (id, first, last, spend, lifecycle, grade) rows up to date; returns how
    many changed (only those are written)."""
    totals = order_totals(session, [row[0] for row in rows], since)
    changes = []
    for cid, first, last, spend, lifecycle, grade in rows:
        now = totals.get(cid, Totals())
        new = (
            cid,
            now.spend_12m_fen,
            now.first_purchase_at,
            now.last_purchase_at,
            lifecycle_for(now.first_purchase_at, now.last_purchase_at, today),
            grade_for(now.spend_12m_fen, thresholds),
        )
        if new != (cid, spend, first, last, lifecycle, grade):
            changes.append(new)
    if changes:
        _write(session, changes)
    return len(changes)


def run_daily(
    *,
    progress: Callable[[int, int], None] | None = None,
    full: bool = False,
    batch_size: int = BATCH,
) -> dict:
    """The nightly step: recompute spend / first and last purchase / lifecycle / grade of every
    customer whose values can change today (all live customers with `full=True`, e.g. after a
    bulk load of orders), `batch_size` per transaction in id order, then the ABC value classes.
    Returns counts: customers looked at, changed, and the size of each value class."""
    today = clock.local_today()
    since = local_midnight(window_start(today))
    thresholds = get_settings().grade_thresholds_fen
    candidates = _candidates(full=full, since=since, zero_grade=grade_for(0, thresholds))
    with session_scope(write=False) as session:
        total = session.exec(select(func.count(Customer.id)).where(candidates)).scalar_one()
    columns = (
        Customer.id,
        Customer.first_purchase_at,
        Customer.last_purchase_at,
        Customer.spend_12m_fen,
        Customer.lifecycle,
        Customer.grade,
    )
    after, done, changed = 0, 0, 0
    while True:
        with session_scope() as session:
            rows = session.exec(
                select(*columns)
                .where(candidates, Customer.id > after)
                .order_by(Customer.id)
                .limit(batch_size)
                # a posting for one of these customers waits for the batch, whose totals would
                # otherwise overwrite the posting's newer ones (SQLite: BEGIN IMMEDIATE did it)
                .with_for_update()
            ).all()
            if not rows:
                break
            changed += _recompute_batch(
                session, rows, since=since, today=today, thresholds=thresholds
            )
        after, done = rows[-1][0], done + len(rows)
        if progress:
            progress(min(done, total), max(total, done))
    with session_scope() as session:
        classes = recompute_value_classes(session)
        summary = {"customers": done, "changed": changed, **classes}
        audit.record(
            session, actor=system_actor("jobs"), action="classification.daily", detail=summary
        )
    return summary


# --- the ABC value classes ----------------------------------------------------------------------


def _crossing_spend(session: Session, total: int, percent: int) -> int:
    """The spend of the customer at which the running total (by spend desc, id asc) first
    reaches `percent` % of `total`."""
    positive = and_(Customer.merged_into_id.is_(None), Customer.spend_12m_fen > 0)
    running = func.sum(Customer.spend_12m_fen).over(
        order_by=(Customer.spend_12m_fen.desc(), Customer.id.asc()), rows=(None, 0)
    )
    ranked = select(Customer.spend_12m_fen.label("spend"), running.label("cum")).where(positive)
    sub = ranked.subquery()
    return int(
        session.exec(
            select(sub.c.spend)
            .where(sub.c.cum * 100 >= literal(total * percent))
            .order_by(sub.c.cum)
            .limit(1)
        ).scalar_one()
    )


def recompute_value_classes(session: Session) -> dict[str, int]:
    """主力 / 一般 / 零散 over live customers by stored 12-month spend (SPEC §2: 75/20/5).

    Sorted by spend descending: the customer whose spend makes the running total reach 75 % of
    the total positive spend is the last key customer, the one that makes it reach 95 % the last
    general one; customers with the same spend as a boundary customer get its class (equal spend,
    equal class), so ties lift a class slightly above its share. Spend ≤ 0 is always scattered.
    Only rows whose class changes are written. Returns the size of each class.
    """
    live = Customer.merged_into_id.is_(None)
    spend = _CUSTOMERS.c.spend_12m_fen
    total = int(
        session.exec(
            select(func.coalesce(func.sum(Customer.spend_12m_fen), 0)).where(
                live, Customer.spend_12m_fen > 0
            )
        ).scalar_one()
    )
    if total > 0:
        key_min = _crossing_spend(session, total, KEY_SHARE)
        general_min = _crossing_spend(session, total, KEY_SHARE + GENERAL_SHARE)
        value_class = case(
            (and_(spend > 0, spend >= key_min), ValueClass.KEY),
            (and_(spend > 0, spend >= general_min), ValueClass.GENERAL),
            else_=ValueClass.SCATTERED,
        )
    else:
        value_class = literal(ValueClass.SCATTERED)
    session.exec(
        update(_CUSTOMERS)
        .where(_CUSTOMERS.c.merged_into_id.is_(None), _CUSTOMERS.c.value_class != value_class)
        .values(value_class=value_class)
    )
    counts = dict.fromkeys(ValueClass, 0)
    for name, count in session.exec(
        select(Customer.value_class, func.count(Customer.id))
        .where(live)
        .group_by(Customer.value_class)
    ).all():
        counts[name] = count
    return counts


# --- on demand (cs_manager) ---------------------------------------------------------------------


def _refresh_time_rules(session: Session, today: date) -> int:
    """Lifecycle and grade of every live customer from their stored dates and spend, as one
    set-based UPDATE of the rows that change (the same rules as lifecycle_for / grade_for)."""
    settings = get_settings()
    c = _CUSTOMERS.c
    new_from = local_midnight(today - timedelta(days=settings.lifecycle_new_days - 1))
    lost_before = local_midnight(today - timedelta(days=settings.lifecycle_lost_days - 1))
    lifecycle = case(
        (or_(c.first_purchase_at.is_(None), c.last_purchase_at.is_(None)), Lifecycle.POTENTIAL),
        (c.last_purchase_at < lost_before, Lifecycle.LOST),
        (c.first_purchase_at >= new_from, Lifecycle.NEW),
        else_=Lifecycle.OLD,
    )
    grade = case(
        *[
            (c.spend_12m_fen >= minimum, letter)
            for letter, minimum in zip(GRADES[:-1], settings.grade_thresholds_fen, strict=True)
        ],
        else_=GRADES[-1],
    )
    result = session.exec(
        update(_CUSTOMERS)
        .where(c.merged_into_id.is_(None), or_(c.lifecycle != lifecycle, c.grade != grade))
        .values(lifecycle=lifecycle, grade=grade)
    )
    return result.rowcount or 0


@dataclass(frozen=True)
class ReclassifyResult:
    changed: int  # customers whose lifecycle or grade changed
    key: int
    general: int
    scattered: int


@requires("customer.classify")
def reclassify_now(session: Session, *, actor: Actor) -> ReclassifyResult:
    """cs_manager's 重新计算分级: the day rules (lifecycle) and grades of every live customer as
    of today, then the ABC value classes, in one transaction; audited with the counts. The
    12-month spend itself rolls with the nightly job (and on every posting)."""
    changed = _refresh_time_rules(session, clock.local_today())
    classes = recompute_value_classes(session)
    audit.record(
        session, actor=actor, action="customer.reclassify", detail={"changed": changed, **classes}
    )
    return ReclassifyResult(changed=changed, **classes)
