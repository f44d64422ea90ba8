"""销毁 (issue 16, DS): legal holds, the destruction queue and the one sanctioned path past the
append-only triggers.

- A destruction candidate is appraised (鉴定) by one person and approved by another; its
  `blocked_reason` is the i18n key of what stopped it when last checked.
- At most one open candidate per (customer, scope, category): a partial unique index.
- `destruction_in_progress` holds a customer's id only inside the transaction that destroys
  it: the triggers of the append-only tables (consent events, ledgers, complaint timeline)
  let that transaction change or delete the customer's rows, and nothing else ever.
"""

from datetime import datetime

from sqlalchemy import Index, text
from sqlmodel import Field, SQLModel

from custapp.vocab import DestructionScope, DestructionStatus

OPEN_STATUSES = (
    DestructionStatus.QUEUED,
    DestructionStatus.APPRAISED,
    DestructionStatus.APPROVED,
)
_OPEN_SQL = "status IN ('queued', 'appraised', 'approved')"


class LegalHold(SQLModel, table=True):
    """诉讼保留: while a hold is not released, nothing of the customer may be destroyed."""

    __tablename__ = "legal_holds"
    __table_args__ = (
        Index(
            "ix_legal_holds_active",
            "customer_id",
            sqlite_where=text("released_at IS NULL"),
            postgresql_where=text("released_at IS NULL"),
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    customer_id: int = Field(foreign_key="customers.id")
    reason: str = Field(max_length=200)  # a case reference, never a value of customer data
    set_by: int | None = Field(default=None, foreign_key="users.id")
    set_at: datetime
    released_by: int | None = Field(default=None, foreign_key="users.id")
    released_at: datetime | None = None


class DestructionCandidate(SQLModel, table=True):
    """One entry of the 销毁 queue: a customer, or one category of a customer, to destroy."""

    __tablename__ = "destruction_candidates"
    __table_args__ = (
        Index("ix_destruction_candidates_status", "status", "id"),
        Index("ix_destruction_candidates_customer", "customer_id"),
        Index(
            "ux_destruction_candidates_open",
            "customer_id",
            "scope",
            "category",
            unique=True,
            sqlite_where=text(_OPEN_SQL),
            postgresql_where=text(_OPEN_SQL),
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    number: str = Field(max_length=16, unique=True)  # XH<yyyymmdd><4 digits>
    customer_id: int = Field(foreign_key="customers.id")
    scope: str = Field(default=DestructionScope.CUSTOMER, max_length=10)
    # scope 'category': DestructionCategory; scope 'customer': '' (a unique index treats NULLs
    # as distinct, so the open-candidate rule needs a value)
    category: str = Field(default="", max_length=20)
    reason_kind: str = Field(max_length=10)  # DestructionReason
    rule_category: str | None = Field(default=None, max_length=30)  # RetentionCategory
    rights_request_id: int | None = Field(default=None, foreign_key="rights_requests.id")
    note: str = Field(default="", max_length=500)
    status: str = Field(default=DestructionStatus.QUEUED, max_length=10)
    proposed_by: int | None = Field(default=None, foreign_key="users.id")  # None: the system
    created_at: datetime
    appraised_by: int | None = Field(default=None, foreign_key="users.id")
    appraised_at: datetime | None = None
    appraisal_note: str = Field(default="", max_length=500)
    approved_by: int | None = Field(default=None, foreign_key="users.id")
    approved_at: datetime | None = None
    rejected_by: int | None = Field(default=None, foreign_key="users.id")
    done_at: datetime | None = None
    blocked_reason: str | None = Field(default=None, max_length=200)  # i18n keys, comma-separated
    method: str | None = Field(default=None, max_length=40)  # how it was destroyed


class DestructionInProgress(SQLModel, table=True):
    """The customers being destroyed by the current transaction (inserted and deleted in it)."""

    __tablename__ = "destruction_in_progress"

    customer_id: int = Field(primary_key=True, foreign_key="customers.id")


class DestructionSequence(SQLModel, table=True):
    """The last candidate number issued per local day (yyyymmdd)."""

    __tablename__ = "destruction_sequences"

    day: int = Field(primary_key=True)
    last: int = 0
