"""backup runs and verifications (issue 16)

Revision ID: 0021
Revises: 0020

One table, the same on both backends: each backup the page, the job or the daily step wrote and
each verification of one, with its outcome, the manifest's summary (no personal value) and the
problem's message key; `deleted_at` once rotation removed the file.
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0021"
down_revision: str | None = "0020"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_UTC = sqlmodel.sql.sqltypes.UTCDateTime
_STR = sqlmodel.sql.sqltypes.AutoString


def upgrade() -> None:
    op.create_table(
        "backup_runs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", _STR(length=10), nullable=False),
        sa.Column("status", _STR(length=10), nullable=False),
        sa.Column("started_at", _UTC(), nullable=False),
        sa.Column("finished_at", _UTC(), nullable=True),
        sa.Column("file_name", _STR(length=200), nullable=True),
        sa.Column("backup_at", _UTC(), nullable=True),
        sa.Column("size_bytes", sa.BigInteger(), nullable=True),
        sa.Column("manifest", sa.Text(), nullable=False),
        sa.Column("problem", _STR(length=100), nullable=True),
        sa.Column("actor_id", sa.Integer(), sa.ForeignKey("users.id"), nullable=True),
        sa.Column("job_id", sa.Integer(), sa.ForeignKey("jobs.id"), nullable=True),
        sa.Column("deleted_at", _UTC(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_backup_runs_kind", "backup_runs", ["kind", "status", "backup_at"])
    op.create_index("ix_backup_runs_file", "backup_runs", ["file_name", "kind", "id"])


def downgrade() -> None:
    op.drop_index("ix_backup_runs_file", table_name="backup_runs")
    op.drop_index("ix_backup_runs_kind", table_name="backup_runs")
    op.drop_table("backup_runs")
