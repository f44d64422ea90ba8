"""gifts and redemption requests (积分兑换, issue 5)

Revision ID: 0009
Revises: 0008

- gifts: the catalogue; CHECK constraints keep the points cost positive and the stock at zero or
  above on both backends (the approval's own check comes first; the constraint is the floor).
- redemption_requests: filed by a member or the front desk, decided by cs_manager; indexed by
  status and time (the approvals inbox) and by customer (the profile and the member page).
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_UTC = sqlmodel.sql.sqltypes.UTCDateTime
_STR = sqlmodel.sql.sqltypes.AutoString


def upgrade() -> None:
    op.create_table(
        "gifts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name_zh", _STR(length=40), nullable=False),
        sa.Column("name_en", _STR(length=80), nullable=False),
        sa.Column("points_cost", sa.Integer(), nullable=False),
        sa.Column("stock", sa.Integer(), nullable=False),
        sa.Column("active_from", sa.Date(), nullable=True),
        sa.Column("active_to", sa.Date(), nullable=True),
        sa.Column("is_active", sa.Boolean(), nullable=False),
        sa.Column("created_by", sa.Integer(), sa.ForeignKey("users.id"), nullable=True),
        sa.Column("created_at", _UTC(), nullable=False),
        sa.Column("updated_by", sa.Integer(), sa.ForeignKey("users.id"), nullable=True),
        sa.Column("updated_at", _UTC(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.CheckConstraint("points_cost > 0", name="ck_gifts_points_cost"),
        sa.CheckConstraint("stock >= 0", name="ck_gifts_stock"),
    )
    op.create_table(
        "redemption_requests",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("customer_id", sa.Integer(), sa.ForeignKey("customers.id"), nullable=False),
        sa.Column("gift_id", sa.Integer(), sa.ForeignKey("gifts.id"), nullable=False),
        sa.Column("quantity", sa.Integer(), nullable=False),
        sa.Column("points_total", sa.Integer(), nullable=False),
        sa.Column("status", _STR(length=10), nullable=False),
        sa.Column("channel", _STR(length=10), nullable=False),
        sa.Column("filed_by", sa.Integer(), sa.ForeignKey("users.id"), nullable=True),
        sa.Column("decided_by", sa.Integer(), sa.ForeignKey("users.id"), nullable=True),
        sa.Column("decided_at", _UTC(), nullable=True),
        sa.Column("decision_reason", _STR(length=200), nullable=True),
        sa.Column("created_at", _UTC(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.CheckConstraint("quantity BETWEEN 1 AND 10", name="ck_redemption_requests_quantity"),
        sa.CheckConstraint("points_total > 0", name="ck_redemption_requests_points"),
    )
    op.create_index("ix_redemption_requests_gift_id", "redemption_requests", ["gift_id"])
    op.create_index(
        "ix_redemption_requests_status_created", "redemption_requests", ["status", "created_at"]
    )
    op.create_index(
        "ix_redemption_requests_customer", "redemption_requests", ["customer_id", "created_at"]
    )


def downgrade() -> None:
    op.drop_index("ix_redemption_requests_customer", table_name="redemption_requests")
    op.drop_index("ix_redemption_requests_status_created", table_name="redemption_requests")
    op.drop_index("ix_redemption_requests_gift_id", table_name="redemption_requests")
    op.drop_table("redemption_requests")
    op.drop_table("gifts")
