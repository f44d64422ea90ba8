"""保存期限 (issue 16, RT): one retention rule per data category, and the proposed changes to them.

A rule says how long a category is kept (whole months, never zero or "forever") and what happens
at the end (vocab.RetentionAction). Compliance proposes a change; a different person (compliance
or cs_manager) approves it, and only then is the rule changed. At most one pending change per
category: a partial unique index.
"""

from datetime import datetime

from sqlalchemy import CheckConstraint, Index, text
from sqlmodel import Field, SQLModel

from custapp.vocab import RetentionChangeStatus

_PENDING_SQL = "status = 'pending'"


class RetentionRule(SQLModel, table=True):
    __tablename__ = "retention_rules"
    __table_args__ = (CheckConstraint("period_months > 0", name="ck_retention_rules_period"),)

    id: int | None = Field(default=None, primary_key=True)
    category: str = Field(max_length=30, unique=True)  # vocab.RetentionCategory
    period_months: int
    action: str = Field(max_length=10)  # vocab.RetentionAction
    basis: str = Field(max_length=500)  # 依据: the law or the reasoning, in Chinese
    updated_at: datetime
    updated_by: int | None = Field(default=None, foreign_key="users.id")  # None: the seed


class RetentionChange(SQLModel, table=True):
    """A proposed change of one rule: the new values, and the values it replaced once decided."""

    __tablename__ = "retention_changes"
    __table_args__ = (
        CheckConstraint("period_months > 0", name="ck_retention_changes_period"),
        Index("ix_retention_changes_status", "status", "id"),
        Index(
            "ux_retention_changes_pending",
            "category",
            unique=True,
            sqlite_where=text(_PENDING_SQL),
            postgresql_where=text(_PENDING_SQL),
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    category: str = Field(foreign_key="retention_rules.category", max_length=30)
    period_months: int
    action: str = Field(max_length=10)
    basis: str = Field(max_length=500)
    reason: str = Field(default="", max_length=200)  # why the proposer asks for the change
    # the rule as it stood when proposed (the history shows from -> to)
    old_period_months: int
    old_action: str = Field(max_length=10)
    status: str = Field(default=RetentionChangeStatus.PENDING, max_length=10)
    proposed_by: int | None = Field(default=None, foreign_key="users.id")
    proposed_at: datetime
    decided_by: int | None = Field(default=None, foreign_key="users.id")
    decided_at: datetime | None = None
    decision_note: str = Field(default="", max_length=200)  # a rejection's reason
    notice_version: int | None = None  # the draft notice version the approval wrote
