from datetime import datetime

from sqlmodel import Field, SQLModel

from custapp.vocab import OutboxStatus


class OutboxMessage(SQLModel, table=True):
    """A queued message (SMS, email, in-app). Recipient, subject and body are encrypted."""

    __tablename__ = "outbox"

    id: int | None = Field(default=None, primary_key=True)
    created_at: datetime
    channel: str = Field(max_length=10)  # MessageChannel
    purpose: str = Field(max_length=40, index=True)
    customer_id: int | None = Field(default=None, index=True)
    user_id: int | None = Field(default=None, foreign_key="users.id", index=True)
    data_key_id: int = Field(foreign_key="data_keys.id")
    recipient_enc: str | None = Field(default=None, max_length=1000)
    subject_enc: str = Field(max_length=2000)
    body_enc: str = Field(max_length=20000)
    status: str = Field(default=OutboxStatus.QUEUED, max_length=10, index=True)
    attempts: int = 0
    last_error: str | None = Field(default=None, max_length=200)
    not_before: datetime
    sent_at: datetime | None = None
    read_at: datetime | None = None
