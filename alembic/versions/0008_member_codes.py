"""Member one-time codes (issue 5): the front desk hands a member a code that activates the
portal account or sets a new password (SPEC §3 portal, §8 logins). Only the bcrypt hash is kept.

Revision ID: 0008
Revises: 0007
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "member_codes",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("user_id", sa.Integer(), sa.ForeignKey("users.id"), nullable=False),
        sa.Column("code_hash", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
        sa.Column("issued_by", sa.Integer(), sa.ForeignKey("users.id"), nullable=False),
        sa.Column("issued_at", sa.DateTime(), nullable=False),
        sa.Column("expires_at", sa.DateTime(), nullable=False),
        sa.Column("used_at", sa.DateTime(), nullable=True),
    )
    op.create_index("ix_member_codes_user_id", "member_codes", ["user_id"])


def downgrade() -> None:
    op.drop_index("ix_member_codes_user_id", table_name="member_codes")
    op.drop_table("member_codes")
