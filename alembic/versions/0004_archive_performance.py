"""archive performance: the search-miss index, and name substring search on PostgreSQL

Revision ID: 0004
Revises: 0003

- audit_log (actor_id, action, created_at, outcome): the per-user count of recent search misses
  (the alert, SPEC §8) and the "already alerted" check read only this index, however long the
  log grows.
- PostgreSQL: custapp_name_grams(name) is the set of the name's letters and letter pairs (lower
  case); a GIN index on it finds names containing a term of any length, including one- and
  two-character Chinese names, below pg_trgm's three-character trigrams. PL/pgSQL: no extension,
  no superuser. The search adds ILIKE, which checks the order of the letters.
- SQLite has no such index: its LIKE is a scan of the narrow name index, and the first page
  counts no further than 1,001 (services/customer_search.py).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# PL/pgSQL (installed in every database): five times faster than the same in SQL, which
# matters where the planner walks the created_at index and checks each name it meets.
NAME_GRAMS = """
CREATE OR REPLACE FUNCTION custapp_name_grams(name text) RETURNS text[]
LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE AS $$
DECLARE
    folded text := lower(name);
    size int := char_length(folded);
    grams text[] := '{}';
BEGIN
    FOR i IN 1..size LOOP
        grams := grams || substr(folded, i, 1);
        IF i < size THEN
            grams := grams || substr(folded, i, 2);
        END IF;
    END LOOP;
    RETURN grams;
END
$$
"""


def upgrade() -> None:
    op.create_index(
        "ix_audit_log_actor_action_time",
        "audit_log",
        ["actor_id", "action", "created_at", "outcome"],
    )
    with op.batch_alter_table("customers") as batch:
        batch.create_index("ix_customers_spend_12m", ["spend_12m_fen"])
        batch.create_index(
            "ix_customers_merged_into_id",
            ["merged_into_id"],
            sqlite_where=sa.text("merged_into_id IS NOT NULL"),
            postgresql_where=sa.text("merged_into_id IS NOT NULL"),
        )
    with op.batch_alter_table("attachments") as batch:
        batch.drop_index("ix_attachments_archive_number")
        batch.create_index("ix_attachments_archive_number", ["archive_number"], unique=True)
    if op.get_bind().dialect.name == "postgresql":
        op.execute(NAME_GRAMS)
        op.execute(
            "CREATE INDEX ix_customers_name_grams ON customers USING gin (custapp_name_grams(name))"
        )
        op.execute("ANALYZE customers")  # statistics for the new expression index


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP INDEX IF EXISTS ix_customers_name_grams")
        op.execute("DROP FUNCTION IF EXISTS custapp_name_grams(text)")
    with op.batch_alter_table("attachments") as batch:
        batch.drop_index("ix_attachments_archive_number")
        batch.create_index("ix_attachments_archive_number", ["archive_number"], unique=False)
    with op.batch_alter_table("customers") as batch:
        batch.drop_index("ix_customers_merged_into_id")
        batch.drop_index("ix_customers_spend_12m")
    op.drop_index("ix_audit_log_actor_action_time", table_name="audit_log")
