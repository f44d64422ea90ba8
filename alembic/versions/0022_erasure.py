"""erasure on request (issue 16, ER): what a 删除 rights request carries beyond the text fields.

Revision ID: 0022
Revises: 0021

- refusal_reason: the legal reason code of a refused deletion (vocab.ErasureRefusal), plain:
  it is a category, no personal value, and it must stay readable once the customer's key is
  destroyed.
- notice_message_id: the outbox message telling the customer their data is about to be
  deleted (queued once, before the key is destroyed); no foreign key, since the destruction
  deletes the customer's outbox rows.
- outcome_ref: the destruction candidate's number (XH...) once the request is done.

Plain ADD COLUMN on both backends: nullable columns without constraints.
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0022"
down_revision: str | None = "0021"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_STR = sqlmodel.sql.sqltypes.AutoString
_COLUMNS = ("refusal_reason", "notice_message_id", "outcome_ref")


def upgrade() -> None:
    op.add_column("rights_requests", sa.Column("refusal_reason", _STR(length=30), nullable=True))
    op.add_column("rights_requests", sa.Column("notice_message_id", sa.Integer(), nullable=True))
    op.add_column("rights_requests", sa.Column("outcome_ref", _STR(length=20), nullable=True))


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        with op.batch_alter_table("rights_requests") as batch:
            for column in _COLUMNS:
                batch.drop_column(column)
    else:
        for column in _COLUMNS:
            op.drop_column("rights_requests", column)
