"""money without limits (issue 14): every money and points column 64-bit, and cash refunds above
the threshold as approval requests.

Revision ID: 0014
Revises: 0013

- PostgreSQL: the columns that were still INTEGER become BIGINT (customers.spend_12m_fen took a
  purchase past ¥21,474,836.47 to "integer out of range"; points are whole yuan, so they grow as
  large). points_entries.points is named by its append-only trigger, which PostgreSQL will not
  let a column change type under: the trigger is dropped and made again around the change.
- SQLite: an INTEGER column already holds 64 bits; nothing to change there.
- approval_requests: kind order_refund, with the refund's payments as JSON.
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_STR = sqlmodel.sql.sqltypes.AutoString

WIDENED = {
    "customers": ("spend_12m_fen",),
    "points_lots": ("points", "remaining", "spent", "expired", "taken", "forgiven", "clawed"),
    "points_entries": ("points",),
    "points_clawbacks": ("points",),
    "approval_requests": ("points",),
    "gifts": ("points_cost",),
    "redemption_requests": ("points_total",),
}
# as migration 0007 made it
POINTS_ENTRIES_NO_UPDATE = (
    "CREATE TRIGGER points_entries_no_update BEFORE UPDATE OF id, kind, points, lot_id, order_id, "
    "ref, reason, created_by, created_at ON points_entries "
    "FOR EACH ROW EXECUTE FUNCTION custapp_append_only()"
)
KINDS = {
    "old": "kind IN ('order_void', 'points_adjust', 'compensation')",
    "new": "kind IN ('order_void', 'order_refund', 'points_adjust', 'compensation')",
}


def _retype(to: sa.types.TypeEngine) -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("DROP TRIGGER points_entries_no_update ON points_entries")
    for table, columns in WIDENED.items():
        for column in columns:
            op.alter_column(table, column, type_=to)
    op.execute(POINTS_ENTRIES_NO_UPDATE)


def _kinds(which: str) -> None:
    with op.batch_alter_table("approval_requests") as batch:
        batch.drop_constraint("ck_approval_requests_kind", type_="check")
        batch.create_check_constraint("ck_approval_requests_kind", KINDS[which])


def upgrade() -> None:
    _retype(sa.BigInteger())
    op.add_column("approval_requests", sa.Column("payments", _STR(length=300), nullable=True))
    _kinds("new")


def downgrade() -> None:
    op.execute("DELETE FROM approval_requests WHERE kind = 'order_refund'")
    _kinds("old")
    with op.batch_alter_table("approval_requests") as batch:
        batch.drop_column("payments")
    _retype(sa.Integer())
