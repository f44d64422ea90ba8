"""approval requests (审批, issue 5): same-day voids and points adjustments the front desk asks
cs_manager to decide, and complaint compensation (issue 6); indexed by status and time (the approvals inbox), by customer (the
profile) and by order (one pending void per purchase).

Revision ID: 0010
Revises: 0009
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_UTC = sqlmodel.sql.sqltypes.UTCDateTime
_STR = sqlmodel.sql.sqltypes.AutoString


def upgrade() -> None:
    op.create_table(
        "approval_requests",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", _STR(length=20), nullable=False),
        sa.Column("customer_id", sa.Integer(), sa.ForeignKey("customers.id"), nullable=False),
        sa.Column("order_id", sa.Integer(), sa.ForeignKey("orders.id"), nullable=True),
        sa.Column("points", sa.Integer(), nullable=True),
        sa.Column("complaint_id", sa.Integer(), nullable=True),  # FK added by 0011
        sa.Column("amount_fen", sa.BigInteger(), nullable=True),
        sa.Column("gift_id", sa.Integer(), sa.ForeignKey("gifts.id"), nullable=True),
        sa.Column("reason", _STR(length=200), nullable=False),
        sa.Column("status", _STR(length=10), nullable=False),
        sa.Column("requested_by", sa.Integer(), sa.ForeignKey("users.id"), nullable=False),
        sa.Column("created_at", _UTC(), nullable=False),
        sa.Column("decided_by", sa.Integer(), sa.ForeignKey("users.id"), nullable=True),
        sa.Column("decided_at", _UTC(), nullable=True),
        sa.Column("decision_reason", _STR(length=200), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.CheckConstraint(
            "kind IN ('order_void', 'points_adjust', 'compensation')",
            name="ck_approval_requests_kind",
        ),
    )
    op.create_index(
        "ix_approval_requests_status_created", "approval_requests", ["status", "created_at"]
    )
    op.create_index(
        "ix_approval_requests_customer", "approval_requests", ["customer_id", "created_at"]
    )
    op.create_index("ix_approval_requests_order", "approval_requests", ["order_id"])


def downgrade() -> None:
    op.drop_index("ix_approval_requests_order", table_name="approval_requests")
    op.drop_index("ix_approval_requests_customer", table_name="approval_requests")
    op.drop_index("ix_approval_requests_status_created", table_name="approval_requests")
    op.drop_table("approval_requests")
