"""消费记录: orders (purchases and refunds), their lines and their payments, all in integer fen.

*Spend* (SPEC §8) = Σ paid of purchases − Σ refunds. Each order carries its signed contribution in
`spend_fen` (purchase +paid, refund −refunded), so the trailing-12-month spend of a customer is one
indexed sum. Orders are never edited or deleted: a correction is a new, reversing order.
"""

from datetime import datetime

from sqlalchemy import BigInteger, Index
from sqlmodel import Field, SQLModel

from custapp.vocab import OrderKind, PaymentMethod

PAYMENT_METHODS = tuple(PaymentMethod)
ORDER_KINDS = tuple(OrderKind)  # a void reverses a whole purchase the same day


class Order(SQLModel, table=True):
    __tablename__ = "orders"
    __table_args__ = (
        Index("ix_orders_customer_created", "customer_id", "created_at"),
        Index("ix_orders_created_customer", "created_at", "customer_id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    number: str = Field(max_length=20, unique=True)  # S<yyyymmdd><id> / R… for refunds
    kind: str = Field(default=OrderKind.PURCHASE, max_length=10)
    customer_id: int = Field(foreign_key="customers.id")
    store_id: int | None = Field(default=None, foreign_key="stores.id", index=True)
    # a refund or a void points at the purchase it reverses
    original_order_id: int | None = Field(default=None, foreign_key="orders.id", index=True)
    total_fen: int = Field(sa_type=BigInteger)  # before discount (refund: amount refunded)
    discount_fen: int = Field(default=0, sa_type=BigInteger)
    paid_fen: int = Field(sa_type=BigInteger)  # what changed hands, always ≥ 0
    spend_fen: int = Field(sa_type=BigInteger)  # +paid for a purchase, −paid for a refund
    # the member card shown (issue 5) and, for a unit member, the unit's work-order reference
    card_id: int | None = Field(default=None, foreign_key="member_cards.id")
    work_order_ref: str | None = Field(default=None, max_length=60)
    created_by: int | None = Field(default=None, foreign_key="users.id")
    created_at: datetime


class OrderLine(SQLModel, table=True):
    __tablename__ = "order_lines"

    id: int | None = Field(default=None, primary_key=True)
    order_id: int = Field(foreign_key="orders.id", index=True)
    item: str = Field(max_length=100)
    quantity: int = 1
    unit_price_fen: int = Field(sa_type=BigInteger)
    amount_fen: int = Field(sa_type=BigInteger)


class OrderPayment(SQLModel, table=True):
    __tablename__ = "order_payments"

    id: int | None = Field(default=None, primary_key=True)
    order_id: int = Field(foreign_key="orders.id", index=True)
    method: str = Field(max_length=20)
    amount_fen: int = Field(sa_type=BigInteger)
