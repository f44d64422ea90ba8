"""complaints (投诉, issue 6): the complaint with its deadlines and escalation marks, its
timeline (append-only but for re-encryption of the note text by a merge) and the daily number
counter.

Revision ID: 0011
Revises: 0010
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

from custapp.migration_sql import append_only_triggers

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_UTC = sqlmodel.sql.sqltypes.UTCDateTime
_STR = sqlmodel.sql.sqltypes.AutoString
EVENT_COLUMNS = (
    "id", "complaint_id", "kind", "from_status", "to_status", "visible", "detail", "actor_id",
    "created_at",
)  # fmt: skip


def upgrade() -> None:
    op.create_table(
        "complaint_sequences",
        sa.Column("day", sa.Integer(), nullable=False),
        sa.Column("last", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("day"),
    )
    op.create_table(
        "complaints",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("number", _STR(length=16), nullable=False),
        sa.Column("customer_id", sa.Integer(), sa.ForeignKey("customers.id"), nullable=True),
        sa.Column("store_id", sa.Integer(), sa.ForeignKey("stores.id"), nullable=True),
        sa.Column("data_key_id", sa.Integer(), sa.ForeignKey("data_keys.id"), nullable=False),
        sa.Column("channel", _STR(length=10), nullable=False),
        sa.Column("category", _STR(length=12), nullable=False),
        sa.Column("severity", _STR(length=8), nullable=False),
        sa.Column("status", _STR(length=20), nullable=False),
        sa.Column("held_status", _STR(length=20), nullable=True),
        sa.Column("held_since", _UTC(), nullable=True),
        sa.Column("description_enc", _STR(), nullable=False),
        sa.Column("desired_enc", _STR(), nullable=True),
        sa.Column("contact_enc", _STR(), nullable=True),
        sa.Column("assignee_id", sa.Integer(), sa.ForeignKey("users.id"), nullable=True),
        sa.Column("created_by", sa.Integer(), sa.ForeignKey("users.id"), nullable=True),
        sa.Column("created_at", _UTC(), nullable=False),
        sa.Column("updated_at", _UTC(), nullable=False),
        sa.Column("response_by", _UTC(), nullable=True),
        sa.Column("resolution_by", _UTC(), nullable=True),
        sa.Column("first_response_at", _UTC(), nullable=True),
        sa.Column("informed_at", _UTC(), nullable=True),
        sa.Column("response_warned_at", _UTC(), nullable=True),
        sa.Column("response_escalated_at", _UTC(), nullable=True),
        sa.Column("response_escalated2_at", _UTC(), nullable=True),
        sa.Column("resolution_warned_at", _UTC(), nullable=True),
        sa.Column("resolution_escalated_at", _UTC(), nullable=True),
        sa.Column("resolution_escalated2_at", _UTC(), nullable=True),
        sa.Column("reopened_count", sa.Integer(), nullable=False),
        sa.Column("root_cause_enc", _STR(), nullable=True),
        sa.Column("solution_enc", _STR(), nullable=True),
        sa.Column("informed_on", sa.Date(), nullable=True),
        sa.Column("informed_via", _STR(length=10), nullable=True),
        sa.Column("satisfaction", sa.Integer(), nullable=True),
        sa.Column("no_score_reason_enc", _STR(), nullable=True),
        sa.Column("closed_at", _UTC(), nullable=True),
        sa.Column("closed_by", sa.Integer(), sa.ForeignKey("users.id"), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("number"),
        sa.CheckConstraint(
            "satisfaction IS NULL OR satisfaction BETWEEN 1 AND 5", name="ck_complaints_score"
        ),
    )
    for name, columns in (
        ("ix_complaints_customer_created", ["customer_id", "created_at"]),
        ("ix_complaints_status_created", ["status", "created_at"]),
        ("ix_complaints_assignee_status", ["assignee_id", "status"]),
        ("ix_complaints_response_due", ["response_by"]),
        ("ix_complaints_resolution_due", ["resolution_by"]),
    ):
        op.create_index(name, "complaints", columns)
    op.create_table(
        "complaint_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("complaint_id", sa.Integer(), sa.ForeignKey("complaints.id"), nullable=False),
        sa.Column("kind", _STR(length=12), nullable=False),
        sa.Column("from_status", _STR(length=20), nullable=True),
        sa.Column("to_status", _STR(length=20), nullable=True),
        sa.Column("visible", sa.Boolean(), nullable=False),
        sa.Column("body_enc", _STR(), nullable=True),
        sa.Column("detail", _STR(length=60), nullable=True),
        sa.Column("actor_id", sa.Integer(), sa.ForeignKey("users.id"), nullable=True),
        sa.Column("created_at", _UTC(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_complaint_events_complaint", "complaint_events", ["complaint_id", "id"])
    with op.batch_alter_table("approval_requests") as batch:  # compensation requests
        batch.create_foreign_key(
            "fk_approval_requests_complaint_id", "complaints", ["complaint_id"], ["id"]
        )
        batch.create_index("ix_approval_requests_complaint", ["complaint_id"])
    for statement in append_only_triggers(
        op.get_bind().dialect.name, "complaint_events", EVENT_COLUMNS
    ):
        op.execute(statement)


def downgrade() -> None:
    with op.batch_alter_table("approval_requests") as batch:
        batch.drop_index("ix_approval_requests_complaint")
        batch.drop_constraint("fk_approval_requests_complaint_id", type_="foreignkey")
    op.drop_table("complaint_events")  # its triggers go with it
    op.drop_table("complaints")
    op.drop_table("complaint_sequences")
