"""data keys move to the key store (issue 16)

Revision ID: 0017
Revises: 0016

Every wrapped data key is copied into the key store (custapp/security/keystore.py, outside the
app database; committed there batch by batch, an upsert, so a migration run again after a
failure copies again harmlessly), then `data_keys` loses `wrapped` and `master_version` and
stays the id allocator and tombstone. The FKs to data_keys are untouched: the columns go by
ALTER TABLE ... DROP COLUMN on both backends (SQLite 3.35+), never a table rebuild.

The wrapped keys must not stay behind in the app database's free space: before the drop every
`wrapped` is set to NULL, and after it PostgreSQL runs `VACUUM FULL data_keys` (outside the
transaction: a DROP COLUMN only hides the column, its bytes stay in the heap pages until the
table is rewritten). SQLite overwrites freed space (secure_delete, custapp/db.py) and DROP
COLUMN rewrites every row; when data_keys held rows it also runs a `VACUUM` and truncates the
WAL, so no page of the file or its WAL keeps an old row. A VACUUM rewrites the whole file: on a
database of a million customers expect minutes, once, during this migration. Not run on an
empty data_keys (a new install).

Downgrade adds the columns back and copies the keys back from the key store; the key store
keeps its copy (deleting it there before the app transaction commits could lose keys).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0017"
down_revision: str | None = "0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BATCH = 2000


def upgrade() -> None:
    from custapp.security import keystore

    conn = op.get_bind()
    after = 0
    while True:
        rows = conn.execute(
            sa.text(
                "SELECT id, master_version, wrapped FROM data_keys "
                "WHERE wrapped IS NOT NULL AND id > :after ORDER BY id LIMIT :n"
            ),
            {"after": after, "n": BATCH},
        ).all()
        if not rows:
            break
        keystore.put_many([(r[0], r[1], r[2]) for r in rows])
        after = rows[-1][0]
    had_keys = after > 0
    if had_keys:  # the row versions holding them are overwritten / left dead, then reclaimed
        op.execute("UPDATE data_keys SET wrapped = NULL")
    op.drop_index("ix_data_keys_master_version", table_name="data_keys")
    op.execute("ALTER TABLE data_keys DROP COLUMN wrapped")
    op.execute("ALTER TABLE data_keys DROP COLUMN master_version")
    if had_keys:
        _reclaim(conn.dialect.name)


def _reclaim(dialect: str) -> None:
    """Rewrite data_keys (PostgreSQL) or the file (SQLite) outside the transaction: the old
    row versions with the wrapped keys leave the database's pages."""
    with op.get_context().autocommit_block():
        if dialect == "postgresql":
            op.execute("VACUUM FULL data_keys")
        else:  # on the driver's connection, out of the (empty) BEGIN custapp/db.py issues
            raw = op.get_bind().connection.driver_connection
            if raw.in_transaction:
                raw.execute("COMMIT")
            raw.execute("PRAGMA secure_delete=ON")
            raw.execute("VACUUM")
            raw.execute("PRAGMA wal_checkpoint(TRUNCATE)")


def downgrade() -> None:
    from custapp.security import keystore

    op.execute("ALTER TABLE data_keys ADD COLUMN wrapped VARCHAR(200)")
    # NOT NULL as before; 0 for a destroyed key (its version is gone with it)
    op.execute("ALTER TABLE data_keys ADD COLUMN master_version INTEGER NOT NULL DEFAULT 0")
    conn = op.get_bind()
    after = 0
    while True:
        ids = (
            conn.execute(
                sa.text("SELECT id FROM data_keys WHERE id > :after ORDER BY id LIMIT :n"),
                {"after": after, "n": BATCH},
            )
            .scalars()
            .all()
        )
        if not ids:
            break
        found = keystore.get_many(ids)
        if found:
            conn.execute(
                sa.text("UPDATE data_keys SET master_version = :v, wrapped = :w WHERE id = :id"),
                [{"id": i, "v": v, "w": w} for i, (v, w) in found.items()],
            )
        after = ids[-1]
    op.create_index("ix_data_keys_master_version", "data_keys", ["master_version"], unique=False)
