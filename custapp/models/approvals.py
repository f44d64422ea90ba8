"""审批 (SPEC §3, §8 Money): what the front desk asks cs_manager to decide: a same-day void of a
purchase (作废), a cash refund above the threshold (退款, issue 14), a manual points adjustment
(积分调整), and a complaint's compensation (投诉补偿: points, money or a gift). Gift redemptions keep
their own table (gifts.py); the approvals inbox gathers both.

A request holds ids, the points and the reason (a reason is never a value of the customer's
data, like the audit's); deciding it runs the real operation in the same transaction.
"""

from datetime import datetime

from sqlalchemy import BigInteger, CheckConstraint, Index
from sqlmodel import Field, SQLModel

from custapp.vocab import ApprovalKind, ApprovalStatus, CompensationForm

APPROVAL_KINDS = tuple(ApprovalKind)
COMPENSATION_FORMS = tuple(CompensationForm)
APPROVAL_STATUSES = tuple(ApprovalStatus)


class ApprovalRequest(SQLModel, table=True):
    """One request awaiting (or past) a cs_manager's decision."""

    __tablename__ = "approval_requests"
    __table_args__ = (
        Index("ix_approval_requests_status_created", "status", "created_at"),
        Index("ix_approval_requests_customer", "customer_id", "created_at"),
        Index("ix_approval_requests_order", "order_id"),
        Index("ix_approval_requests_complaint", "complaint_id"),
        CheckConstraint(
            "kind IN ('order_void', 'order_refund', 'points_adjust', 'compensation')",
            name="ck_approval_requests_kind",
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    kind: str = Field(max_length=20)
    customer_id: int = Field(foreign_key="customers.id")
    order_id: int | None = Field(default=None, foreign_key="orders.id")  # order_void, order_refund
    # points_adjust: + adds, − deducts; compensation: points given
    points: int | None = Field(default=None, sa_type=BigInteger)
    complaint_id: int | None = Field(default=None, foreign_key="complaints.id")  # compensation
    # money compensation; order_refund: the amount refunded
    amount_fen: int | None = Field(default=None, sa_type=BigInteger)
    # order_refund: how the money goes back, JSON [[method, fen], ...]
    payments: str | None = Field(default=None, max_length=300)
    gift_id: int | None = Field(default=None, foreign_key="gifts.id")  # gift compensation
    reason: str = Field(max_length=200)
    status: str = Field(default=ApprovalStatus.PENDING, max_length=10)
    requested_by: int = Field(foreign_key="users.id")
    created_at: datetime
    decided_by: int | None = Field(default=None, foreign_key="users.id")
    decided_at: datetime | None = None
    decision_reason: str | None = Field(default=None, max_length=200)
