"""list filters: (filter, created_at, id) indexes

Revision ID: 0005
Revises: 0004

The customer list is filtered by nature, lifecycle, value class or owner and shown newest first.
With an index on the filter alone the database either sorted every match or walked the
created_at index checking each row (seconds at a million customers when few match). With
(filter, created_at, id) a page is one index range read backwards, and a second filter (a tag)
is checked row by row along it. Each replaces the single-column index it starts with.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

COLUMNS = ("nature", "lifecycle", "value_class", "owner_id")


def upgrade() -> None:
    with op.batch_alter_table("customers") as batch:
        for column in COLUMNS:
            batch.drop_index(f"ix_customers_{column}")
            batch.create_index(f"ix_customers_{column}_created", [column, "created_at", "id"])


def downgrade() -> None:
    with op.batch_alter_table("customers") as batch:
        for column in COLUMNS:
            batch.drop_index(f"ix_customers_{column}_created")
            batch.create_index(f"ix_customers_{column}", [column])
