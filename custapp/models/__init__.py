"""SQLModel tables. Importing this package registers every table on SQLModel.metadata."""

from custapp.models.attachments import Attachment
from custapp.models.audit import AuditEntry, AuditHead
from custapp.models.consent import (
    Campaign,
    ConsentEvent,
    ConsentState,
    LegalDisclosure,
    NoticeServing,
    PrivacyNotice,
    Provision,
    ProvisionCustomer,
    Purpose,
    Recipient,
    RightsRequest,
)
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
    "Campaign",
    "ConsentEvent",
    "ConsentState",
    "Customer",
    "CustomerChange",
    "CustomerContact",
    "CustomerSequence",
    "CustomerTag",
    "DataKey",
    "LegalDisclosure",
    "LoginSession",
    "LoginThrottle",
    "NoticeServing",
    "Order",
    "OrderLine",
    "OrderPayment",
    "OutboxMessage",
    "PrivacyNotice",
    "Provision",
    "ProvisionCustomer",
    "Purpose",
    "Recipient",
    "RightsRequest",
    "ServiceLog",
    "Store",
    "User",
    "UserRole",
    "UserStore",
]
