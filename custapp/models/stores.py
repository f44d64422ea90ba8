from datetime import datetime

from sqlmodel import Field, SQLModel


class Store(SQLModel, table=True):
    """门店: staff belong to one or more; transactions, complaints and cards record the store."""

    __tablename__ = "stores"

    id: int | None = Field(default=None, primary_key=True)
    code: str = Field(max_length=20, unique=True)
    name: str = Field(max_length=100)
    is_active: bool = True
    created_at: datetime
