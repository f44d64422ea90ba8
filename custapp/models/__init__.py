"""SQLModel tables. Importing this package registers every table on SQLModel.metadata."""

from custapp.models.audit import AuditEntry, AuditHead
from custapp.models.customers import (
    Customer,
    CustomerChange,
    CustomerContact,
    CustomerSequence,
    CustomerTag,
)
from custapp.models.keys import DataKey
from custapp.models.outbox import OutboxMessage
from custapp.models.stores import Store
from custapp.models.users import LoginSession, LoginThrottle, User, UserRole, UserStore

__all__ = [
    "AuditEntry",
    "AuditHead",
    "Customer",
    "CustomerChange",
    "CustomerContact",
    "CustomerSequence",
    "CustomerTag",
    "DataKey",
    "LoginSession",
    "LoginThrottle",
    "OutboxMessage",
    "Store",
    "User",
    "UserRole",
    "UserStore",
]
