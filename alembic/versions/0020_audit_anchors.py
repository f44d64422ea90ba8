"""audit anchors: sealed segments and restore re-anchoring (issue 16)

Revision ID: 0020
Revises: 0019

audit_anchors holds the signed points where the chain's start moved: a 'seal' (the entries up to
seq were removed after their retention period) or a 'restore' (the database came back from a
backup whose head was seq). audit_log has no append-only trigger (its protection is the HMAC
chain and the checkpoint outside the database), so sealing needs no sanctioned delete path.
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0020"
down_revision: str | None = "0019"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_UTC = sqlmodel.sql.sqltypes.UTCDateTime
_STR = sqlmodel.sql.sqltypes.AutoString


def upgrade() -> None:
    op.create_table(
        "audit_anchors",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", _STR(length=10), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("mac", _STR(length=64), nullable=False),
        sa.Column("lost_from", sa.Integer(), nullable=True),
        sa.Column("lost_to", sa.Integer(), nullable=True),
        sa.Column("approved_by", _STR(length=200), nullable=False),
        sa.Column("created_at", _UTC(), nullable=False),
        sa.Column("signature", _STR(length=64), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_audit_anchors_kind_seq", "audit_anchors", ["kind", "seq"])


def downgrade() -> None:
    op.drop_index("ix_audit_anchors_kind_seq", table_name="audit_anchors")
    op.drop_table("audit_anchors")
