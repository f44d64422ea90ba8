"""the scheduler (issue 17): a scheduled step's run is a job whose slot_key names the step, the
slot and the try; the unique index is what makes several runners ticking at once queue each due
slot once (an INSERT ... ON CONFLICT DO NOTHING on both backends).

Revision ID: 0023
Revises: 0022

Plain ADD COLUMN on both backends (nullable, no constraint); NULLs (page jobs, 立即运行) never
collide in a unique index on SQLite or PostgreSQL.
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0023"
down_revision: str | None = "0022"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_STR = sqlmodel.sql.sqltypes.AutoString


def upgrade() -> None:
    op.add_column("jobs", sa.Column("slot_key", _STR(length=80), nullable=True))
    op.create_index("ux_jobs_slot_key", "jobs", ["slot_key"], unique=True)


def downgrade() -> None:
    op.drop_index("ux_jobs_slot_key", table_name="jobs")
    if op.get_bind().dialect.name == "sqlite":
        with op.batch_alter_table("jobs") as batch:
            batch.drop_column("slot_key")
    else:
        op.drop_column("jobs", "slot_key")
