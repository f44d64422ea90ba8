from datetime import date, datetime

from sqlalchemy import UniqueConstraint
from sqlmodel import Field, SQLModel


class CareGreeting(SQLModel, table=True):
    """One greeting queued for one customer's occasion on one day (关怀): never twice."""

    __tablename__ = "care_greetings"
    __table_args__ = (UniqueConstraint("customer_id", "occasion", "on_date"),)

    id: int | None = Field(default=None, primary_key=True)
    customer_id: int = Field(foreign_key="customers.id", index=True)
    occasion: str = Field(max_length=12)  # birthday | anniversary | holiday
    on_date: date
    outbox_id: int = Field(foreign_key="outbox.id")
    created_by: int | None = Field(default=None, foreign_key="users.id")
    created_at: datetime
