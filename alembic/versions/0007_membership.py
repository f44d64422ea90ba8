"""membership: tiers, cards, stored value, card fees, points lots and ledger, clawbacks

Revision ID: 0007
Revises: 0006

- The four tiers of SPEC §3 are seeded (cs_manager edits them later).
- stored_value_entries, points_entries and card_fee_payments are append-only: triggers refuse
  DELETE and any UPDATE except of customer_id (a merge moves the rows to the survivor, as it
  moves orders); on PostgreSQL TRUNCATE is refused too. member_cards are never deleted, so a
  card number can never come back.
- orders gain the card shown and a unit member's work-order reference; a void is an order of
  kind "void".
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_UTC = sqlmodel.sql.sqltypes.UTCDateTime
_STR = sqlmodel.sql.sqltypes.AutoString

# table -> every column but customer_id: an UPDATE naming any of them is refused
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

TIERS = (
    # code, name_zh, name_en, discount_pct, min_first_topup_fen, card_fee_fen, rank
    ("ordinary", "普通卡", "Ordinary", 100, 0, 0, 1),
    ("silver", "银卡", "Silver", 90, 10000, 1000, 2),
    ("gold", "金卡", "Gold", 80, 50000, 2000, 3),
    ("diamond", "钻石卡", "Diamond", 70, 100000, 5000, 4),
)


def _append_only(dialect: str) -> list[str]:
    statements = []
    for table, columns in LEDGERS.items():
        cols = ", ".join(columns)
        if dialect == "postgresql":
            statements += [
                f"CREATE TRIGGER {table}_no_update BEFORE UPDATE OF {cols} ON {table} "
                "FOR EACH ROW EXECUTE FUNCTION custapp_append_only()",
                f"CREATE TRIGGER {table}_no_delete BEFORE DELETE ON {table} "
                "FOR EACH ROW EXECUTE FUNCTION custapp_append_only()",
                f"CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table} "
                "FOR EACH STATEMENT EXECUTE FUNCTION custapp_append_only()",
            ]
        else:
            statements += [
                f"CREATE TRIGGER {table}_no_update BEFORE UPDATE OF {cols} ON {table} "
                f"BEGIN SELECT RAISE(ABORT, '{table} is append-only'); END",
                f"CREATE TRIGGER {table}_no_delete BEFORE DELETE ON {table} "
                f"BEGIN SELECT RAISE(ABORT, '{table} is append-only'); END",
            ]
    if dialect == "postgresql":
        statements.append(
            "CREATE TRIGGER member_cards_no_delete BEFORE DELETE ON member_cards "
            "FOR EACH ROW EXECUTE FUNCTION custapp_append_only()"
        )
    else:
        statements.append(
            "CREATE TRIGGER member_cards_no_delete BEFORE DELETE ON member_cards "
            "BEGIN SELECT RAISE(ABORT, 'member_cards are never deleted'); END"
        )
    return statements


def _add_order_columns(dialect: str) -> None:
    """A plain ADD COLUMN on both backends: SQLite accepts an inline REFERENCES there, and a
    batch copy of a large orders table (with foreign keys on) is what a migration must avoid."""
    if dialect == "sqlite":
        op.execute("ALTER TABLE orders ADD COLUMN card_id INTEGER REFERENCES member_cards (id)")
    else:
        op.add_column("orders", sa.Column("card_id", sa.Integer(), nullable=True))
        op.create_foreign_key("fk_orders_card_id", "orders", "member_cards", ["card_id"], ["id"])
    op.add_column("orders", sa.Column("work_order_ref", _STR(length=60), nullable=True))


def upgrade() -> None:
    op.create_table(
        "member_tiers",
        sa.Column("code", _STR(length=12), nullable=False),
        sa.Column("name_zh", _STR(length=20), nullable=False),
        sa.Column("name_en", _STR(length=30), nullable=False),
        sa.Column("discount_pct", sa.Integer(), nullable=False),
        sa.Column("min_first_topup_fen", sa.BigInteger(), nullable=False),
        sa.Column("card_fee_fen", sa.BigInteger(), nullable=False),
        sa.Column("rank", sa.Integer(), nullable=False),
        sa.Column("updated_at", _UTC(), nullable=False),
        sa.Column("updated_by", sa.Integer(), sa.ForeignKey("users.id"), nullable=True),
        sa.PrimaryKeyConstraint("code"),
        sa.UniqueConstraint("rank"),
    )
    op.create_table(
        "member_cards",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("number", _STR(length=20), nullable=False),
        sa.Column("customer_id", sa.Integer(), sa.ForeignKey("customers.id"), nullable=False),
        sa.Column("tier_code", _STR(length=12), sa.ForeignKey("member_tiers.code"), nullable=False),
        sa.Column("member_class", _STR(length=10), nullable=False),
        sa.Column("status", _STR(length=10), nullable=False),
        sa.Column("store_id", sa.Integer(), sa.ForeignKey("stores.id"), nullable=True),
        sa.Column("application_signed", sa.Boolean(), nullable=False),
        sa.Column(
            "application_attachment_id",
            sa.Integer(),
            sa.ForeignKey("attachments.id"),
            nullable=True,
        ),
        sa.Column("replaced_by_id", sa.Integer(), sa.ForeignKey("member_cards.id"), nullable=True),
        sa.Column("issued_by", sa.Integer(), sa.ForeignKey("users.id"), nullable=True),
        sa.Column("issued_at", _UTC(), nullable=False),
        sa.Column("upgraded_at", _UTC(), nullable=True),
        sa.Column("ended_at", _UTC(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("number"),
    )
    op.create_index("ix_member_cards_customer_id", "member_cards", ["customer_id"])
    op.create_index(
        "ux_member_cards_one_active",
        "member_cards",
        ["customer_id"],
        unique=True,
        sqlite_where=sa.text("status = 'active'"),
        postgresql_where=sa.text("status = 'active'"),
    )
    _add_order_columns(op.get_bind().dialect.name)
    op.create_table(
        "stored_value_entries",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("customer_id", sa.Integer(), sa.ForeignKey("customers.id"), nullable=False),
        sa.Column("card_id", sa.Integer(), sa.ForeignKey("member_cards.id"), nullable=True),
        sa.Column("kind", _STR(length=16), nullable=False),
        sa.Column("amount_fen", sa.BigInteger(), nullable=False),
        sa.Column("method", _STR(length=20), nullable=True),
        sa.Column("order_id", sa.Integer(), sa.ForeignKey("orders.id"), nullable=True),
        sa.Column("store_id", sa.Integer(), sa.ForeignKey("stores.id"), nullable=True),
        sa.Column("created_by", sa.Integer(), sa.ForeignKey("users.id"), nullable=True),
        sa.Column("created_at", _UTC(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.CheckConstraint("amount_fen <> 0", name="ck_stored_value_entries_nonzero"),
    )
    op.create_index(
        "ix_stored_value_entries_customer_created",
        "stored_value_entries",
        ["customer_id", "created_at"],
    )
    op.create_index("ix_stored_value_entries_order_id", "stored_value_entries", ["order_id"])
    op.create_table(
        "card_fee_payments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("customer_id", sa.Integer(), sa.ForeignKey("customers.id"), nullable=False),
        sa.Column("card_id", sa.Integer(), sa.ForeignKey("member_cards.id"), nullable=False),
        sa.Column("tier_code", _STR(length=12), sa.ForeignKey("member_tiers.code"), nullable=False),
        sa.Column("kind", _STR(length=10), nullable=False),
        sa.Column("amount_fen", sa.BigInteger(), nullable=False),
        sa.Column("method", _STR(length=20), nullable=False),
        sa.Column("store_id", sa.Integer(), sa.ForeignKey("stores.id"), nullable=True),
        sa.Column("created_by", sa.Integer(), sa.ForeignKey("users.id"), nullable=True),
        sa.Column("created_at", _UTC(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(
        "ix_card_fee_payments_customer", "card_fee_payments", ["customer_id", "created_at"]
    )
    op.create_index("ix_card_fee_payments_card_id", "card_fee_payments", ["card_id"])
    op.create_table(
        "points_lots",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("customer_id", sa.Integer(), sa.ForeignKey("customers.id"), nullable=False),
        sa.Column("order_id", sa.Integer(), sa.ForeignKey("orders.id"), nullable=True),
        sa.Column("points", sa.Integer(), nullable=False),
        sa.Column("remaining", sa.Integer(), nullable=False),
        sa.Column("spent", sa.Integer(), nullable=False),
        sa.Column("expired", sa.Integer(), nullable=False),
        sa.Column("taken", sa.Integer(), nullable=False),
        sa.Column("forgiven", sa.Integer(), nullable=False),
        sa.Column("clawed", sa.Integer(), nullable=False),
        sa.Column("expires_on", sa.Date(), nullable=True),
        sa.Column("created_at", _UTC(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.CheckConstraint("remaining >= 0", name="ck_points_lots_remaining"),
    )
    op.create_index("ix_points_lots_order_id", "points_lots", ["order_id"])
    op.create_index(
        "ix_points_lots_customer_expiry",
        "points_lots",
        ["customer_id", "expires_on"],
        sqlite_where=sa.text("remaining > 0"),
        postgresql_where=sa.text("remaining > 0"),
    )
    op.create_index(
        "ix_points_lots_expiry_open",
        "points_lots",
        ["expires_on"],
        sqlite_where=sa.text("remaining > 0"),
        postgresql_where=sa.text("remaining > 0"),
    )
    op.create_table(
        "points_entries",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("customer_id", sa.Integer(), sa.ForeignKey("customers.id"), nullable=False),
        sa.Column("kind", _STR(length=16), nullable=False),
        sa.Column("points", sa.Integer(), nullable=False),
        sa.Column("lot_id", sa.Integer(), sa.ForeignKey("points_lots.id"), nullable=True),
        sa.Column("order_id", sa.Integer(), sa.ForeignKey("orders.id"), nullable=True),
        sa.Column("ref", _STR(length=40), nullable=True),
        sa.Column("reason", _STR(length=200), nullable=True),
        sa.Column("created_by", sa.Integer(), sa.ForeignKey("users.id"), nullable=True),
        sa.Column("created_at", _UTC(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.CheckConstraint("points <> 0", name="ck_points_entries_nonzero"),
    )
    op.create_index(
        "ix_points_entries_customer_created", "points_entries", ["customer_id", "created_at"]
    )
    op.create_index("ix_points_entries_lot_id", "points_entries", ["lot_id"])
    op.create_table(
        "points_clawbacks",
        sa.Column("customer_id", sa.Integer(), sa.ForeignKey("customers.id"), nullable=False),
        sa.Column("points", sa.Integer(), nullable=False),
        sa.Column("updated_at", _UTC(), nullable=False),
        sa.PrimaryKeyConstraint("customer_id"),
    )
    for statement in _append_only(op.get_bind().dialect.name):
        op.execute(statement)
    _seed()


def _seed() -> None:
    from datetime import UTC, datetime

    now = datetime.now(UTC)
    columns = ("code", "name_zh", "name_en", "discount_pct", "min_first_topup_fen",
               "card_fee_fen", "rank")  # fmt: skip
    tiers = sa.table("member_tiers", *(sa.column(c) for c in (*columns, "updated_at")))
    op.bulk_insert(tiers, [{**dict(zip(columns, row, strict=True)), "updated_at": now}
                           for row in TIERS])  # fmt: skip


def downgrade() -> None:
    op.drop_table("points_clawbacks")
    op.drop_table("points_entries")
    op.drop_table("points_lots")
    op.drop_table("card_fee_payments")
    op.drop_table("stored_value_entries")
    with op.batch_alter_table("orders") as batch_op:
        if op.get_bind().dialect.name != "sqlite":
            batch_op.drop_constraint("fk_orders_card_id", type_="foreignkey")
        batch_op.drop_column("work_order_ref")
        batch_op.drop_column("card_id")
    op.drop_table("member_cards")
    op.drop_table("member_tiers")
