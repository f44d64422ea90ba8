"""jobs (issue 15): durable long work (greeting and marketing campaigns) claimed by runners under
a lease, with its progress and checkpoint; a campaign points at the job that queues it.

Revision ID: 0016
Revises: 0015

campaigns.job_id is a plain ADD COLUMN on both backends (SQLite accepts a REFERENCES clause on a
nullable added column): a batch rebuild would copy the campaigns table for one nullable column.
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0016"
down_revision: str | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_UTC = sqlmodel.sql.sqltypes.UTCDateTime
_STR = sqlmodel.sql.sqltypes.AutoString


def upgrade() -> None:
    op.create_table(
        "jobs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", _STR(length=40), nullable=False),
        sa.Column("params", sa.Text(), nullable=False),
        sa.Column("status", _STR(length=10), nullable=False),
        sa.Column("progress_done", sa.Integer(), nullable=False),
        sa.Column("progress_total", sa.Integer(), nullable=False),
        sa.Column("lease_owner", _STR(length=100), nullable=True),
        sa.Column("lease_until", _UTC(), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("error", _STR(length=100), nullable=True),
        sa.Column("created_by", sa.Integer(), sa.ForeignKey("users.id"), nullable=True),
        sa.Column("created_at", _UTC(), nullable=False),
        sa.Column("started_at", _UTC(), nullable=True),
        sa.Column("finished_at", _UTC(), nullable=True),
        sa.Column("result", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_jobs_claim", "jobs", ["status", "lease_until", "id"])
    op.create_index("ix_jobs_kind", "jobs", ["kind", "id"])
    if op.get_bind().dialect.name == "sqlite":
        op.execute("ALTER TABLE campaigns ADD COLUMN job_id INTEGER REFERENCES jobs (id)")
    else:
        op.add_column("campaigns", sa.Column("job_id", sa.Integer(), nullable=True))
        op.create_foreign_key("campaigns_job_id_fkey", "campaigns", "jobs", ["job_id"], ["id"])


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        # SQLite drops no column a foreign key uses: the rebuild is fine on the way down
        with op.batch_alter_table("campaigns") as batch:
            batch.drop_column("job_id")
    else:
        op.drop_constraint("campaigns_job_id_fkey", "campaigns", type_="foreignkey")
        op.drop_column("campaigns", "job_id")
    op.drop_index("ix_jobs_kind", table_name="jobs")
    op.drop_index("ix_jobs_claim", table_name="jobs")
    op.drop_table("jobs")
