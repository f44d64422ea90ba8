"""Member one-time codes (issue 5): the front desk hands a member a code that activates the
portal account or sets a new password (SPEC §3 portal, §8 logins). Only the bcrypt hash is kept.
And the care calendar: the keyed month-day index of birth dates, and the greetings queued.

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
    # the care calendar's birthday lookup (issue 5): customers saved before it get theirs when
    # `custapp jobs run` fills the index (step birthday_index)
    with op.batch_alter_table("customers") as batch:
        batch.add_column(
            sa.Column("birth_md_bidx", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True)
        )
        batch.create_index("ix_customers_birth_md_bidx", ["birth_md_bidx"])
    op.create_table(
        "care_greetings",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("customer_id", sa.Integer(), sa.ForeignKey("customers.id"), nullable=False),
        sa.Column("occasion", sqlmodel.sql.sqltypes.AutoString(length=12), nullable=False),
        sa.Column("on_date", sa.Date(), nullable=False),
        sa.Column("outbox_id", sa.Integer(), sa.ForeignKey("outbox.id"), nullable=False),
        sa.Column("created_by", sa.Integer(), sa.ForeignKey("users.id"), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.UniqueConstraint("customer_id", "occasion", "on_date"),
    )
    op.create_index("ix_care_greetings_customer_id", "care_greetings", ["customer_id"])


def downgrade() -> None:
    op.drop_index("ix_care_greetings_customer_id", table_name="care_greetings")
    op.drop_table("care_greetings")
    with op.batch_alter_table("customers") as batch:
        batch.drop_index("ix_customers_birth_md_bidx")
        batch.drop_column("birth_md_bidx")
    op.drop_index("ix_member_codes_user_id", table_name="member_codes")
    op.drop_table("member_codes")
