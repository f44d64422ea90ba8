"""附件: documents kept in a customer's archive (001 RT-01).

The file itself is encrypted under the customer's data key and kept in the database, never in
Reflex's public upload folder; it is served only by a permission-checked, audited handler. A paper
original may be recorded with its storage location and no file at all.
"""

from datetime import datetime

from sqlalchemy import Index, LargeBinary
from sqlmodel import Field, SQLModel

from custapp.vocab import AttachmentCategory

ATTACHMENT_CATEGORIES = tuple(AttachmentCategory)


class Attachment(SQLModel, table=True):
    __tablename__ = "attachments"
    __table_args__ = (
        Index("ix_attachments_customer_created", "customer_id", "created_at"),
        # the retention scan's range of expired attachments (issue 16, migration 0018)
        Index("ix_attachments_created", "created_at", "id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    customer_id: int = Field(foreign_key="customers.id")
    archive_number: str = Field(max_length=30, unique=True, index=True)
    category: str = Field(max_length=20)
    paper_location: str | None = Field(default=None, max_length=100)
    filename_enc: str | None = None  # a file name often carries the person's name
    content_type: str | None = Field(default=None, max_length=100)
    size: int = 0
    content_enc: bytes | None = Field(default=None, sa_type=LargeBinary)
    uploaded_by: int | None = Field(default=None, foreign_key="users.id")
    created_at: datetime
