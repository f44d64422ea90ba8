"""login attempts (issue 14): the staff lockout moves from the user row to login_throttles, keyed
by a keyed hash of the typed name, so an unknown name locks like an existing one and parallel
logins reserve their attempts atomically. users.failed_logins and users.locked_until go.

Revision ID: 0015
Revises: 0014

A plain ALTER TABLE ... DROP COLUMN on both backends (SQLite >= 3.35): a batch rebuild would
drop and copy the users table, which every other table references.
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute("ALTER TABLE users DROP COLUMN failed_logins")
    op.execute("ALTER TABLE users DROP COLUMN locked_until")


def downgrade() -> None:
    op.add_column(
        "users", sa.Column("failed_logins", sa.Integer(), nullable=False, server_default="0")
    )
    op.add_column(
        "users", sa.Column("locked_until", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True)
    )
