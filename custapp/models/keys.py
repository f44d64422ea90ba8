from datetime import datetime

from sqlalchemy import Index, text
from sqlmodel import Field, SQLModel


class DataKey(SQLModel, table=True):
    """A customer's (or the system's) data key: the id and its tombstone.

    The key itself, wrapped by the master key ring, lives in the key store outside this database
    (custapp/security/keystore.py). Deleting it there makes every copy of what it encrypted
    unreadable (crypto-shredding); destroyed_at records when.
    """

    __tablename__ = "data_keys"
    __table_args__ = (
        # the reconciler's pages over destroyed keys (issue 16, DS; migration 0019)
        Index(
            "ix_data_keys_destroyed",
            "id",
            sqlite_where=text("destroyed_at IS NOT NULL"),
            postgresql_where=text("destroyed_at IS NOT NULL"),
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    purpose: str = Field(default="customer", max_length=20)
    created_at: datetime
    destroyed_at: datetime | None = None
