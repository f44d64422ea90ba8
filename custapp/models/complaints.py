"""投诉 (SPEC §5, §8 Complaints): a complaint with its two deadlines and their escalation marks,
and its timeline.

- Free text (description, desired resolution, an anonymous walk-in's contact, root cause,
  solution, notes and replies) is encrypted under `data_key_id`: the customer's data key, or a
  key of the complaint's own for an anonymous walk-in.
- response_by / resolution_by are UTC instants; a hold moves them on by its length when it ends.
- The escalation marks (warned / escalated / escalated again, per clock) are set once by the job,
  with a conditional UPDATE, so each fires exactly once; reopening clears the resolution marks.
- Timeline entries are never changed or deleted; `visible` marks what the customer sees.
"""

from datetime import date, datetime

from sqlalchemy import CheckConstraint, Index
from sqlmodel import Field, SQLModel

from custapp.vocab import ComplaintCategory, ComplaintChannel, ComplaintStatus, InformWay, Severity

CHANNELS = tuple(ComplaintChannel)
CATEGORIES = tuple(ComplaintCategory)
SEVERITIES = tuple(Severity)
STATUSES = tuple(ComplaintStatus)
OPEN_STATUSES = tuple(s for s in STATUSES if s != ComplaintStatus.CLOSED)
INFORM_WAYS = tuple(InformWay)


class Complaint(SQLModel, table=True):
    __tablename__ = "complaints"
    __table_args__ = (
        Index("ix_complaints_created", "created_at"),
        Index("ix_complaints_customer_created", "customer_id", "created_at"),
        Index("ix_complaints_status_created", "status", "created_at"),
        Index("ix_complaints_assignee_status", "assignee_id", "status"),
        Index("ix_complaints_response_due", "response_by"),
        Index("ix_complaints_resolution_due", "resolution_by"),
        CheckConstraint(
            "satisfaction IS NULL OR satisfaction BETWEEN 1 AND 5", name="ck_complaints_score"
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    number: str = Field(max_length=16, unique=True)  # T<yyyymmdd><4 digits>
    customer_id: int | None = Field(default=None, foreign_key="customers.id")
    store_id: int | None = Field(default=None, foreign_key="stores.id")
    data_key_id: int = Field(foreign_key="data_keys.id")
    channel: str = Field(max_length=10)
    category: str = Field(max_length=12)
    severity: str = Field(max_length=8)
    status: str = Field(default=ComplaintStatus.RECEIVED, max_length=20)
    held_status: str | None = Field(default=None, max_length=20)  # the status a hold returns to
    held_since: datetime | None = None
    description_enc: str
    desired_enc: str | None = None
    contact_enc: str | None = None  # an anonymous walk-in's name and phone
    assignee_id: int | None = Field(default=None, foreign_key="users.id")
    created_by: int | None = Field(default=None, foreign_key="users.id")
    created_at: datetime
    updated_at: datetime
    # the clocks
    response_by: datetime | None = None  # None once answered
    resolution_by: datetime | None = None  # None once the customer is informed
    first_response_at: datetime | None = None
    informed_at: datetime | None = None
    response_warned_at: datetime | None = None
    response_escalated_at: datetime | None = None
    response_escalated2_at: datetime | None = None
    resolution_warned_at: datetime | None = None
    resolution_escalated_at: datetime | None = None
    resolution_escalated2_at: datetime | None = None
    reopened_count: int = 0
    # closing
    root_cause_enc: str | None = None
    solution_enc: str | None = None
    informed_on: date | None = None
    informed_via: str | None = Field(default=None, max_length=10)
    satisfaction: int | None = None
    no_score_reason_enc: str | None = None
    closed_at: datetime | None = None
    closed_by: int | None = Field(default=None, foreign_key="users.id")


class ComplaintEvent(SQLModel, table=True):
    """One line of a complaint's timeline."""

    __tablename__ = "complaint_events"
    __table_args__ = (Index("ix_complaint_events_complaint", "complaint_id", "id"),)

    id: int | None = Field(default=None, primary_key=True)
    complaint_id: int = Field(foreign_key="complaints.id")
    kind: str = Field(max_length=12)  # filed | status | note | reply | assign | escalation | score
    from_status: str | None = Field(default=None, max_length=20)
    to_status: str | None = Field(default=None, max_length=20)
    visible: bool = False  # shown to the customer in the portal
    body_enc: str | None = None
    detail: str | None = Field(default=None, max_length=60)  # e.g. "response:warn", an assignee
    actor_id: int | None = Field(default=None, foreign_key="users.id")
    created_at: datetime


class ComplaintSequence(SQLModel, table=True):
    """The last complaint number issued per local day (yyyymmdd)."""

    __tablename__ = "complaint_sequences"

    day: int = Field(primary_key=True)
    last: int = 0
