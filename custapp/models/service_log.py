"""服务/沟通记录: calls, visits, meetings, emails and letters with a customer.

The content and the outcome are free text staff type about the customer: encrypted under the
customer's data key. The next follow-up date is a local calendar date (SPEC §8 Time).
"""

from datetime import date, datetime

from sqlalchemy import Index
from sqlmodel import Field, SQLModel

from custapp.vocab import ServiceKind

SERVICE_KINDS = tuple(ServiceKind)


class ServiceLog(SQLModel, table=True):
    __tablename__ = "service_logs"
    __table_args__ = (
        Index("ix_service_logs_customer_created", "customer_id", "created_at"),
        Index("ix_service_logs_followup", "user_id", "follow_up_done_at", "next_follow_up"),
    )

    id: int | None = Field(default=None, primary_key=True)
    customer_id: int = Field(foreign_key="customers.id")
    kind: str = Field(max_length=10)
    content_enc: str
    outcome_enc: str | None = None
    next_follow_up: date | None = None
    follow_up_done_at: datetime | None = None
    user_id: int | None = Field(default=None, foreign_key="users.id")
    store_id: int | None = Field(default=None, foreign_key="stores.id")
    created_at: datetime
