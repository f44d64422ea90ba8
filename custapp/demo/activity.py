"""Demo activity for seeded customers: two years of orders (purchases, split payments, some
refunds) and service-log entries, plus the classification the orders imply.

Like the customers themselves, activity is written in bulk for speed, but what it writes is what
the production paths write: paid totals rounded half up once per order (orders.paid_for), spend
as the signed `spend_fen`, order numbers from orders.order_number, service-log text encrypted
under the customer's data key with the service log's contexts, and classification computed by the
same rules as posting and the nightly job (classification.lifecycle_for / grade_for /
window_start). Customers that never bought stay 潜在 / E.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import func, select, text
from sqlmodel import Session

from custapp import clock
from custapp.models import Order, OrderLine, OrderPayment, ServiceLog
from custapp.services import classification, datakeys, orders, service_log

# (item, unit price in fen, weight for individuals, weight for organisations)
ITEMS = (
    ("标准间 1晚", 38_800, 12, 6),
    ("豪华大床房 1晚", 58_800, 6, 4),
    ("行政套房 1晚", 128_800, 1, 3),
    ("自助早餐", 6_800, 10, 2),
    ("午市套餐", 8_800, 14, 4),
    ("晚宴包间", 168_000, 2, 8),
    ("生日蛋糕", 26_800, 3, 0),
    ("SPA 理疗 60分钟", 39_800, 5, 0),
    ("健康体检套餐", 99_800, 2, 3),
    ("洗衣服务", 4_500, 4, 1),
    ("会议室 半天", 180_000, 0, 9),
    ("茶歇", 3_800, 1, 6),
)
_IND_WEIGHTS = [item[2] for item in ITEMS]
_ORG_WEIGHTS = [item[3] for item in ITEMS]
METHODS = (("wechat", 45), ("alipay", 25), ("bank_card", 20), ("cash", 10))
_METHOD_NAMES = [m for m, _ in METHODS]
_METHOD_WEIGHTS = [w for _, w in METHODS]

SERVICE_NOTES = (
    ("call", "来电咨询{item}价格与可预订日期", "已告知价格，客户考虑后回复"),
    ("call", "回访上次{item}体验", "客户表示满意，建议增加停车位"),
    ("visit", "到店咨询{item}", "已介绍会员权益，客户留下联系方式"),
    ("meeting", "洽谈年度{item}协议价", "对方需内部审批，下周再联系"),
    ("email", "发送{item}报价单", "客户已确认收到"),
    ("letter", "寄送{item}活动邀请函", "已寄出"),
)


@dataclass
class OrderDraft:
    created_at: datetime
    lines: list[tuple[str, int, int]]  # item, quantity, unit price (fen)
    payments: list[tuple[str, int]]
    total_fen: int
    paid_fen: int
    discount_pct: int
    refund: tuple[datetime, int, str] | None = None  # when, amount (fen), method


@dataclass
class Activity:
    orders: list[OrderDraft] = field(default_factory=list)
    logs: list[dict] = field(default_factory=list)  # plaintext drafts, encrypted on insert


def _local_moment(rng: random.Random, start: datetime, end: datetime) -> datetime:
    """A random time between start and end, moved into opening hours (09:00-21:00 local) as far
    as that stays between them."""
    moment = start + (end - start) * rng.random()
    local = clock.to_local(moment)
    opening = datetime.combine(local.date(), time(9), tzinfo=clock.zone())
    moved = (opening + timedelta(seconds=rng.randrange(12 * 3600))).astimezone(UTC)
    return max(start, min(end, moved))


class ActivityGenerator:
    """Deterministic for a seed: about a third of customers never buy, most buy a few times a
    year, a few often; a quarter of buyers stop at some point (so some become 流失)."""

    def __init__(self, rng: random.Random, now: datetime) -> None:
        self.rng = rng
        self.now = now

    def for_customer(self, *, kind: str, created_at: datetime, staff: int | None) -> Activity:
        rng = self.rng
        activity = Activity()
        if rng.random() < 0.35 or created_at >= self.now:
            return activity
        end = self.now
        if rng.random() < 0.25:
            end = created_at + (self.now - created_at) * rng.random()
        years = max((end - created_at).total_seconds() / (365 * 86400), 1 / 365)
        rate = rng.choice((1, 1, 2, 2, 3, 4, 6)) if rng.random() < 0.95 else rng.randint(12, 40)
        count = max(1, min(80, round(rate * years * (0.5 + rng.random()))))
        moments = sorted(_local_moment(rng, created_at, end) for _ in range(count))
        for moment in moments:
            activity.orders.append(self._order(kind, moment))
        if rng.random() < 0.3:
            activity.logs = self._logs(created_at, staff)
        return activity

    def _order(self, kind: str, at: datetime) -> OrderDraft:
        rng = self.rng
        weights = _ORG_WEIGHTS if kind == "organisation" else _IND_WEIGHTS
        picked = rng.choices(ITEMS, weights=weights, k=rng.choice((1, 1, 1, 2, 2, 3)))
        lines = [(item, rng.choice((1, 1, 1, 2, 3)), price) for item, price, *_ in picked]
        total = sum(qty * price for _, qty, price in lines)
        pct = 95 if kind == "organisation" and rng.random() < 0.5 else 100
        paid = orders.paid_for(total, pct)
        if rng.random() < 0.1 and paid >= 200:
            first, second = rng.sample(_METHOD_NAMES, 2)
            part = rng.randrange(100, paid - 99)
            payments = [(first, part), (second, paid - part)]
        else:
            payments = [(rng.choices(_METHOD_NAMES, weights=_METHOD_WEIGHTS)[0], paid)]
        draft = OrderDraft(at, lines, payments, total, paid, pct)
        if rng.random() < 0.03:
            when = min(self.now, at + timedelta(days=rng.randint(0, 7), hours=1))
            amount = paid if rng.random() < 0.5 else max(1, paid // 2)
            draft.refund = (when, amount, payments[0][0])
        return draft

    def _logs(self, created_at: datetime, staff: int | None) -> list[dict]:
        rng = self.rng
        logs = []
        for _ in range(rng.randint(1, 3)):
            kind, content, outcome = rng.choice(SERVICE_NOTES)
            item = rng.choice(ITEMS)[0].split(" ")[0]
            at = _local_moment(rng, created_at, self.now)
            follow_up, done = None, None
            if rng.random() < 0.4:
                follow_up = clock.to_local(at).date() + timedelta(days=rng.randint(1, 14))
                overdue = (clock.to_local(self.now).date() - follow_up).days
                # staff work their follow-ups: only a few recent ones are still open
                if overdue > 14 or (overdue > 0 and rng.random() < 0.6):
                    done = min(self.now, datetime.combine(follow_up, time(10), tzinfo=UTC))
            logs.append(
                {
                    "kind": kind,
                    "content": content.format(item=item),
                    "outcome": outcome,
                    "next_follow_up": follow_up,
                    "follow_up_done_at": done,
                    "user_id": staff,
                    "created_at": at,
                }
            )
        return logs


def classify(activity: Activity, today: date) -> dict:
    """The classification columns the orders imply (value class follows with the ABC run)."""
    if not activity.orders:
        return {}
    since = classification.local_midnight(classification.window_start(today))
    spend = sum(o.paid_fen for o in activity.orders if o.created_at >= since)
    spend -= sum(o.refund[1] for o in activity.orders if o.refund and o.refund[0] >= since)
    first, last = activity.orders[0].created_at, activity.orders[-1].created_at
    return {
        "spend_12m_fen": spend,
        "first_purchase_at": first,
        "last_purchase_at": last,
        "lifecycle": classification.lifecycle_for(first, last, today),
        "grade": classification.grade_for(spend),
    }


def insert_activity(
    session: Session, items: list[tuple[int, int, int | None, Activity]]
) -> tuple[int, int]:
    """Write the orders and service logs of a batch of (customer id, data key id, store id,
    activity) in this transaction -> (orders, service-log entries) written.

    Order ids are assigned here (the seeder is the only writer while it runs) so that lines,
    payments and the number can be written in bulk; `finish` moves PostgreSQL's sequence past them.
    """
    next_id = (session.exec(select(func.max(Order.id))).scalar_one() or 0) + 1
    order_rows, line_rows, payment_rows, log_rows = [], [], [], []
    for customer_id, key_id, store_id, activity in items:
        for draft in activity.orders:
            purchase_id = next_id
            next_id += 1
            order_rows.append(
                {
                    "id": purchase_id,
                    "number": orders.order_number("S", draft.created_at, purchase_id),
                    "kind": "purchase",
                    "customer_id": customer_id,
                    "store_id": store_id,
                    "total_fen": draft.total_fen,
                    "discount_fen": draft.total_fen - draft.paid_fen,
                    "paid_fen": draft.paid_fen,
                    "spend_fen": draft.paid_fen,
                    "created_at": draft.created_at,
                }
            )
            line_rows += [
                {
                    "order_id": purchase_id,
                    "item": item,
                    "quantity": qty,
                    "unit_price_fen": price,
                    "amount_fen": qty * price,
                }
                for item, qty, price in draft.lines
            ]
            payment_rows += [
                {"order_id": purchase_id, "method": method, "amount_fen": amount}
                for method, amount in draft.payments
            ]
            if draft.refund:
                when, amount, method = draft.refund
                order_rows.append(
                    {
                        "id": next_id,
                        "number": orders.order_number("R", when, next_id),
                        "kind": "refund",
                        "customer_id": customer_id,
                        "store_id": store_id,
                        "original_order_id": purchase_id,
                        "total_fen": amount,
                        "discount_fen": 0,
                        "paid_fen": amount,
                        "spend_fen": -amount,
                        "created_at": when,
                    }
                )
                payment_rows.append({"order_id": next_id, "method": method, "amount_fen": amount})
                next_id += 1
        for log in activity.logs:
            log_rows.append(
                {
                    **{k: v for k, v in log.items() if k not in ("content", "outcome")},
                    "customer_id": customer_id,
                    "store_id": store_id,
                    "content_enc": datakeys.encrypt(
                        session, key_id, log["content"], context=service_log.CONTENT_CONTEXT
                    ),
                    "outcome_enc": datakeys.encrypt(
                        session, key_id, log["outcome"], context=service_log.OUTCOME_CONTEXT
                    ),
                }
            )
    for table, rows in (
        (Order, [{"original_order_id": None, **row} for row in order_rows]),
        (OrderLine, line_rows),
        (OrderPayment, payment_rows),
        (ServiceLog, log_rows),
    ):
        if rows:
            session.execute(table.__table__.insert(), rows)
    return len(order_rows), len(log_rows)


def finish(session: Session) -> dict[str, int]:
    """After the last batch: PostgreSQL's id sequence past the assigned order ids, and the ABC
    value classes over everyone."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(
            text(
                "SELECT setval(pg_get_serial_sequence('orders', 'id'), "
                "(SELECT COALESCE(MAX(id), 0) + 1 FROM orders), false)"
            )
        )
    return classification.recompute_value_classes(session)
