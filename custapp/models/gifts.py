"""积分兑换 (SPEC §3 Redemption, §8 Money): the gift catalogue (礼品) and the redemption requests
that a member or the front desk files and cs_manager approves or rejects (客服中心审核).

- A request reserves nothing: approval checks the points and the stock and deducts both in one
  transaction (services/gifts.py).
- Stock never goes below zero: a CHECK constraint on both backends backs the service's check.
- Points are integers, times are UTC, the active dates are local dates (inclusive).
"""

from datetime import date, datetime

from sqlalchemy import BigInteger, CheckConstraint, Index
from sqlmodel import Field, SQLModel

from custapp.vocab import RedemptionChannel, RedemptionStatus

REQUEST_STATUSES = tuple(RedemptionStatus)
REQUEST_CHANNELS = tuple(RedemptionChannel)
MAX_QUANTITY = 10


class Gift(SQLModel, table=True):
    """礼品: one entry of the catalogue (cs_manager keeps it)."""

    __tablename__ = "gifts"
    __table_args__ = (
        CheckConstraint("points_cost > 0", name="ck_gifts_points_cost"),
        CheckConstraint("stock >= 0", name="ck_gifts_stock"),
    )

    id: int | None = Field(default=None, primary_key=True)
    name_zh: str = Field(max_length=40)
    name_en: str = Field(max_length=80)
    points_cost: int = Field(sa_type=BigInteger)  # points for one gift
    stock: int
    active_from: date | None = None  # first local day it can be requested; None: always
    active_to: date | None = None  # last local day; None: no end
    is_active: bool = True
    created_by: int | None = Field(default=None, foreign_key="users.id")
    created_at: datetime
    updated_by: int | None = Field(default=None, foreign_key="users.id")
    updated_at: datetime


class RedemptionRequest(SQLModel, table=True):
    """积分兑换申请: pending until cs_manager approves or rejects it, or the member cancels it."""

    __tablename__ = "redemption_requests"
    __table_args__ = (
        Index("ix_redemption_requests_status_created", "status", "created_at"),
        Index("ix_redemption_requests_customer", "customer_id", "created_at"),
        CheckConstraint(
            f"quantity BETWEEN 1 AND {MAX_QUANTITY}", name="ck_redemption_requests_quantity"
        ),
        CheckConstraint("points_total > 0", name="ck_redemption_requests_points"),
    )

    id: int | None = Field(default=None, primary_key=True)
    customer_id: int = Field(foreign_key="customers.id")
    gift_id: int = Field(foreign_key="gifts.id", index=True)
    quantity: int
    points_total: int = Field(sa_type=BigInteger)  # quantity × the gift's cost when filed
    status: str = Field(default=RedemptionStatus.PENDING, max_length=10)
    channel: str = Field(max_length=10)  # counter | portal
    filed_by: int | None = Field(default=None, foreign_key="users.id")
    decided_by: int | None = Field(default=None, foreign_key="users.id")
    decided_at: datetime | None = None
    decision_reason: str | None = Field(default=None, max_length=200)
    created_at: datetime
