"""投诉附件: a photo of a damaged item, a receipt, a letter scan on a complaint (issue 6).

The file and its name are encrypted under the complaint's data key (the customer's, or an
anonymous walk-in complaint's own) and kept in the database, never in Reflex's public upload
folder. `by_member` marks what the member added in the portal: the member sees only those.
"""

from datetime import datetime

from sqlalchemy import Index, LargeBinary
from sqlmodel import Field, SQLModel


class ComplaintAttachment(SQLModel, table=True):
    __tablename__ = "complaint_attachments"
    __table_args__ = (Index("ix_complaint_attachments_complaint", "complaint_id", "id"),)

    id: int | None = Field(default=None, primary_key=True)
    complaint_id: int = Field(foreign_key="complaints.id")
    filename_enc: str  # a file name often carries the person's name
    content_type: str = Field(max_length=100)  # what the bytes proved, not what the browser said
    size: int
    content_enc: bytes = Field(sa_type=LargeBinary)
    uploaded_by: int | None = Field(default=None, foreign_key="users.id")  # staff or member login
    by_member: bool = False
    created_at: datetime
