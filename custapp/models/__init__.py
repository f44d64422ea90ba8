"""SQLModel tables. Importing this package registers every table on SQLModel.metadata."""

from custapp.models.attachments import Attachment
from custapp.models.audit import AuditEntry, AuditHead
from custapp.models.customers import (
    Customer,
    CustomerChange,
    CustomerContact,
    CustomerSequence,
    CustomerTag,
)
from custapp.models.keys import DataKey
from custapp.models.orders import Order, OrderLine, OrderPayment
from custapp.models.outbox import OutboxMessage
from custapp.models.service_log import ServiceLog
from custapp.models.stores import Store
from custapp.models.users import LoginSession, LoginThrottle, User, UserRole, UserStore

__all__ = [
    "Attachment",
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
    "Order",
    "OrderLine",
    "OrderPayment",
    "OutboxMessage",
    "ServiceLog",
    "Store",
    "User",
    "UserRole",
    "UserStore",
]
