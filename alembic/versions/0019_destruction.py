"""destruction queue, legal holds, tombstones (issue 16)

Revision ID: 0019
Revises: 0018

- customers.destroyed_at: the tombstone marker (the row stays so the ledgers still add up); a
  plain ADD COLUMN (no table copy of a large customers table) and a partial index on the few
  destroyed rows, like merged_into_id's.
- legal_holds (诉讼保留), destruction_candidates (the 销毁 queue, one open candidate per
  customer, scope and category), destruction_sequences (the XH number's daily counter).
- destruction_in_progress(customer_id): the ONE sanctioned path past the append-only triggers.
  The triggers of consent_events, stored_value_entries, points_entries, card_fee_payments and
  complaint_events now let an UPDATE or DELETE through only for a row whose customer has a row
  there; services/destruction_apply.py inserts it and deletes it again inside the transaction
  that destroys the customer, so no committed state ever holds one. TRUNCATE stays refused, and
  member_cards are still never deleted.
- ix_data_keys_destroyed: a partial index on the destroyed data keys, the daily reconciler's
  keyset pages (services/destruction_scrub.shred_leftovers: keys a crash left in the key store).
- Downgrade restores the triggers exactly as migrations 0006, 0007 (0014) and 0011 made them.
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0019"
down_revision: str | None = "0018"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_UTC = sqlmodel.sql.sqltypes.UTCDateTime
_STR = sqlmodel.sql.sqltypes.AutoString
_OPEN = "status IN ('queued', 'appraised', 'approved')"

# table -> the columns its BEFORE UPDATE OF trigger names (as 0007 and 0011 made them)
LEDGERS = {
    "stored_value_entries": (
        "id", "card_id", "kind", "amount_fen", "method", "order_id", "store_id", "created_by",
        "created_at",
    ),
    "points_entries": (
        "id", "kind", "points", "lot_id", "order_id", "ref", "reason", "created_by", "created_at",
    ),
    "card_fee_payments": (
        "id", "card_id", "tier_code", "kind", "amount_fen", "method", "store_id", "created_by",
        "created_at",
    ),
}  # fmt: skip
EVENT_COLUMNS = (
    "id", "complaint_id", "kind", "from_status", "to_status", "visible", "detail", "actor_id",
    "created_at",
)  # fmt: skip

# the customer of OLD is being destroyed by this transaction
_BY_CUSTOMER = "SELECT 1 FROM destruction_in_progress d WHERE d.customer_id = OLD.customer_id"
_BY_COMPLAINT = (
    "SELECT 1 FROM complaints c JOIN destruction_in_progress d ON d.customer_id = c.customer_id "
    "WHERE c.id = OLD.complaint_id"
)

PG_FUNCTIONS = (
    f"""CREATE OR REPLACE FUNCTION custapp_append_only_customer() RETURNS trigger
    LANGUAGE plpgsql AS $$
    BEGIN
        IF EXISTS ({_BY_CUSTOMER}) THEN
            IF TG_OP = 'DELETE' THEN RETURN OLD; END IF;
            RETURN NEW;
        END IF;
        RAISE EXCEPTION '% is append-only', TG_TABLE_NAME;
    END
    $$""",
    f"""CREATE OR REPLACE FUNCTION custapp_append_only_complaint() RETURNS trigger
    LANGUAGE plpgsql AS $$
    BEGIN
        IF EXISTS ({_BY_COMPLAINT}) THEN
            IF TG_OP = 'DELETE' THEN RETURN OLD; END IF;
            RETURN NEW;
        END IF;
        RAISE EXCEPTION '% is append-only', TG_TABLE_NAME;
    END
    $$""",
)


def _row_triggers(dialect: str, *, sanctioned: bool) -> tuple[list[str], list[str]]:
    """(drop statements, create statements) of the row-level append-only triggers: the
    sanctioned versions, or the originals."""
    drops: list[str] = []
    creates: list[str] = []
    pg = dialect == "postgresql"
    on = " ON {table}" if pg else ""
    tables = [(t, cols, _BY_CUSTOMER, "customer") for t, cols in LEDGERS.items()]
    tables.append(("complaint_events", EVENT_COLUMNS, _BY_COMPLAINT, "complaint"))
    for table, columns, unless, function in tables:
        cols = ", ".join(columns)
        names = (f"{table}_no_update", f"{table}_no_delete")
        drops += [f"DROP TRIGGER {name}{on.format(table=table)}" for name in names]
        events = (f"UPDATE OF {cols}", "DELETE")
        for name, event in zip(names, events, strict=True):
            if pg:
                body = f"custapp_append_only_{function}" if sanctioned else "custapp_append_only"
                creates.append(
                    f"CREATE TRIGGER {name} BEFORE {event} ON {table} "
                    f"FOR EACH ROW EXECUTE FUNCTION {body}()"
                )
            else:
                when = f" WHEN NOT EXISTS ({unless})" if sanctioned else ""
                creates.append(
                    f"CREATE TRIGGER {name} BEFORE {event} ON {table}{when} "
                    f"BEGIN SELECT RAISE(ABORT, '{table} is append-only'); END"
                )
    # consent_events: 0006 refused every UPDATE and DELETE
    if pg:
        drops.append("DROP TRIGGER consent_events_append_only ON consent_events")
        body = "custapp_append_only_customer" if sanctioned else "custapp_append_only"
        creates.append(
            "CREATE TRIGGER consent_events_append_only BEFORE UPDATE OR DELETE ON consent_events "
            f"FOR EACH ROW EXECUTE FUNCTION {body}()"
        )
    else:
        when = f" WHEN NOT EXISTS ({_BY_CUSTOMER})" if sanctioned else ""
        for name, event in (("no_update", "UPDATE"), ("no_delete", "DELETE")):
            drops.append(f"DROP TRIGGER consent_events_{name}")
            creates.append(
                f"CREATE TRIGGER consent_events_{name} BEFORE {event} ON consent_events{when} "
                "BEGIN SELECT RAISE(ABORT, 'consent_events is append-only'); END"
            )
    return drops, creates


def _tables() -> None:
    op.create_table(
        "legal_holds",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("customer_id", sa.Integer(), sa.ForeignKey("customers.id"), nullable=False),
        sa.Column("reason", _STR(length=200), nullable=False),
        sa.Column("set_by", sa.Integer(), sa.ForeignKey("users.id"), nullable=True),
        sa.Column("set_at", _UTC(), nullable=False),
        sa.Column("released_by", sa.Integer(), sa.ForeignKey("users.id"), nullable=True),
        sa.Column("released_at", _UTC(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(
        "ix_legal_holds_active",
        "legal_holds",
        ["customer_id"],
        sqlite_where=sa.text("released_at IS NULL"),
        postgresql_where=sa.text("released_at IS NULL"),
    )
    op.create_table(
        "destruction_candidates",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("number", _STR(length=16), nullable=False),
        sa.Column("customer_id", sa.Integer(), sa.ForeignKey("customers.id"), nullable=False),
        sa.Column("scope", _STR(length=10), nullable=False),
        sa.Column("category", _STR(length=20), nullable=False),
        sa.Column("reason_kind", _STR(length=10), nullable=False),
        sa.Column("rule_category", _STR(length=30), nullable=True),
        sa.Column(
            "rights_request_id", sa.Integer(), sa.ForeignKey("rights_requests.id"), nullable=True
        ),
        sa.Column("note", _STR(length=500), nullable=False),
        sa.Column("status", _STR(length=10), nullable=False),
        sa.Column("proposed_by", sa.Integer(), sa.ForeignKey("users.id"), nullable=True),
        sa.Column("created_at", _UTC(), nullable=False),
        sa.Column("appraised_by", sa.Integer(), sa.ForeignKey("users.id"), nullable=True),
        sa.Column("appraised_at", _UTC(), nullable=True),
        sa.Column("appraisal_note", _STR(length=500), nullable=False),
        sa.Column("approved_by", sa.Integer(), sa.ForeignKey("users.id"), nullable=True),
        sa.Column("approved_at", _UTC(), nullable=True),
        sa.Column("rejected_by", sa.Integer(), sa.ForeignKey("users.id"), nullable=True),
        sa.Column("done_at", _UTC(), nullable=True),
        sa.Column("blocked_reason", _STR(length=200), nullable=True),
        sa.Column("method", _STR(length=40), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("number"),
    )
    op.create_index("ix_destruction_candidates_status", "destruction_candidates", ["status", "id"])
    op.create_index("ix_destruction_candidates_customer", "destruction_candidates", ["customer_id"])
    op.create_index(
        "ux_destruction_candidates_open",
        "destruction_candidates",
        ["customer_id", "scope", "category"],
        unique=True,
        sqlite_where=sa.text(_OPEN),
        postgresql_where=sa.text(_OPEN),
    )
    op.create_table(
        "destruction_sequences",
        sa.Column("day", sa.Integer(), nullable=False),
        sa.Column("last", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("day"),
    )
    op.create_table(
        "destruction_in_progress",
        sa.Column("customer_id", sa.Integer(), sa.ForeignKey("customers.id"), nullable=False),
        sa.PrimaryKeyConstraint("customer_id"),
    )


def upgrade() -> None:
    dialect = op.get_bind().dialect.name
    op.add_column("customers", sa.Column("destroyed_at", _UTC(), nullable=True))
    op.create_index(
        "ix_customers_destroyed_at",
        "customers",
        ["destroyed_at"],
        sqlite_where=sa.text("destroyed_at IS NOT NULL"),
        postgresql_where=sa.text("destroyed_at IS NOT NULL"),
    )
    _tables()
    op.create_index(
        "ix_data_keys_destroyed",
        "data_keys",
        ["id"],
        sqlite_where=sa.text("destroyed_at IS NOT NULL"),
        postgresql_where=sa.text("destroyed_at IS NOT NULL"),
    )
    if dialect == "postgresql":
        for statement in PG_FUNCTIONS:
            op.execute(statement)
    drops, creates = _row_triggers(dialect, sanctioned=True)
    for statement in (*drops, *creates):
        op.execute(statement)


def downgrade() -> None:
    dialect = op.get_bind().dialect.name
    drops, creates = _row_triggers(dialect, sanctioned=False)
    for statement in (*drops, *creates):
        op.execute(statement)
    if dialect == "postgresql":
        op.execute("DROP FUNCTION custapp_append_only_customer()")
        op.execute("DROP FUNCTION custapp_append_only_complaint()")
    op.drop_index("ix_data_keys_destroyed", table_name="data_keys")
    op.drop_table("destruction_in_progress")
    op.drop_table("destruction_sequences")
    op.drop_table("destruction_candidates")
    op.drop_table("legal_holds")
    op.drop_index("ix_customers_destroyed_at", table_name="customers")
    if dialect == "sqlite":  # SQLite ≥ 3.35 drops a plain column without copying the table
        op.execute("ALTER TABLE customers DROP COLUMN destroyed_at")
    else:
        op.drop_column("customers", "destroyed_at")
