"""complaints by receipt time (issue 6): the KPI window and the manager's default queue (open,
oldest first) read complaints by created_at; without this index both walk the table
(docs/performance.md, Complaints).

Revision ID: 0012
Revises: 0011
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_complaints_created", "complaints", ["created_at"])


def downgrade() -> None:
    op.drop_index("ix_complaints_created", table_name="complaints")
