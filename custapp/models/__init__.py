"""SQLModel tables. Importing this package registers every table on SQLModel.metadata."""

from custapp.models.approvals import ApprovalRequest
from custapp.models.attachments import Attachment
from custapp.models.audit import AuditAnchor, AuditEntry, AuditHead
from custapp.models.backups import BackupRun
from custapp.models.care import CareGreeting
from custapp.models.complaint_attachments import ComplaintAttachment
from custapp.models.complaints import Complaint, ComplaintEvent, ComplaintSequence
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
from custapp.models.destruction import (
    DestructionCandidate,
    DestructionInProgress,
    DestructionSequence,
    LegalHold,
)
from custapp.models.gifts import Gift, RedemptionRequest
from custapp.models.jobs import Job
from custapp.models.keys import DataKey
from custapp.models.membership import (
    CardFeePayment,
    MemberCard,
    MemberTier,
    PointsClawback,
    PointsEntry,
    PointsLot,
    StoredValueEntry,
)
from custapp.models.orders import Order, OrderLine, OrderPayment
from custapp.models.outbox import OutboxMessage
from custapp.models.retention import RetentionChange, RetentionRule
from custapp.models.service_log import ServiceLog
from custapp.models.stores import Store
from custapp.models.users import (
    LoginSession,
    LoginThrottle,
    MemberCode,
    User,
    UserRole,
    UserStore,
)

__all__ = [
    "ApprovalRequest",
    "Attachment",
    "CareGreeting",
    "Complaint",
    "ComplaintAttachment",
    "ComplaintEvent",
    "ComplaintSequence",
    "AuditAnchor",
    "AuditEntry",
    "AuditHead",
    "BackupRun",
    "Campaign",
    "CardFeePayment",
    "ConsentEvent",
    "ConsentState",
    "Customer",
    "CustomerChange",
    "CustomerContact",
    "CustomerSequence",
    "CustomerTag",
    "DataKey",
    "DestructionCandidate",
    "DestructionInProgress",
    "DestructionSequence",
    "Gift",
    "Job",
    "LegalDisclosure",
    "LegalHold",
    "LoginSession",
    "LoginThrottle",
    "MemberCard",
    "MemberCode",
    "MemberTier",
    "NoticeServing",
    "Order",
    "OrderLine",
    "OrderPayment",
    "OutboxMessage",
    "PointsClawback",
    "PointsEntry",
    "PointsLot",
    "PrivacyNotice",
    "Provision",
    "ProvisionCustomer",
    "Purpose",
    "Recipient",
    "RedemptionRequest",
    "RetentionChange",
    "RetentionRule",
    "RightsRequest",
    "ServiceLog",
    "Store",
    "StoredValueEntry",
    "User",
    "UserRole",
    "UserStore",
]
