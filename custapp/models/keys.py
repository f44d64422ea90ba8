from datetime import datetime

from sqlmodel import Field, SQLModel


class DataKey(SQLModel, table=True):
    """A random AES key wrapped by the master key ring. One per customer (plus one for the system).

    Deleting the wrapped key makes every copy of what it encrypted unreadable (crypto-shredding).
    """

    __tablename__ = "data_keys"

    id: int | None = Field(default=None, primary_key=True)
    purpose: str = Field(default="customer", max_length=20)
    wrapped: str | None = Field(default=None, max_length=200)
    master_version: int = Field(index=True)
    created_at: datetime
    destroyed_at: datetime | None = None
