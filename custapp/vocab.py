"""The domain's words: statuses, kinds, categories and channels, one place for models, services
and pages alike.

Each is an `enum.StrEnum` whose values are the strings stored in the database and sent by the
pages: a member equals its value (`ComplaintStatus.CLOSED == "closed"`), formats as it
(`f"complaint.status.{status}"` is a catalogue key) and is bound to SQL as it. A row read back
from the database holds the plain string, which compares equal to the member. The order of the
members is the order the pages list them in. Labels live in the i18n catalogues, never here.

This module imports nothing from custapp, so anything may import it.
"""

from __future__ import annotations

from enum import StrEnum

# --- people and accounts --------------------------------------------------------------------------


class Role(StrEnum):
    FRONT_DESK = "front_desk"
    CS_MANAGER = "cs_manager"
    COMPLIANCE = "compliance"
    AUDITOR = "auditor"
    SYSADMIN = "sysadmin"
    MEMBER = "member"


class UserKind(StrEnum):
    STAFF = "staff"
    MEMBER = "member"


class ActorKind(StrEnum):
    """Who acts: a staff user, a member in the portal, or the system itself (jobs, the CLI)."""

    STAFF = "staff"
    MEMBER = "member"
    SYSTEM = "system"


# --- customers ------------------------------------------------------------------------------------


class CustomerKind(StrEnum):
    INDIVIDUAL = "individual"
    ORGANISATION = "organisation"


class Nature(StrEnum):
    """客户性质."""

    GOVERNMENT = "government"
    ENTERPRISE = "enterprise"
    PUBLIC_INSTITUTION = "public_institution"
    INDIVIDUAL = "individual"
    GROUP = "group"
    PARTNER = "partner"
    SUPPLIER = "supplier"


class SourceChannel(StrEnum):
    PHONE = "phone"
    WALK_IN = "walk_in"
    EVENT = "event"
    REFERRAL = "referral"
    ONLINE = "online"
    PARTNER = "partner"
    OTHER = "other"


class Gender(StrEnum):
    MALE = "male"
    FEMALE = "female"
    OTHER = "other"


class IdType(StrEnum):
    RESIDENT_ID = "resident_id"
    PASSPORT = "passport"
    OTHER = "other"


class Lifecycle(StrEnum):
    """生命周期 (set by the daily classification)."""

    POTENTIAL = "potential"
    NEW = "new"
    OLD = "old"
    LOST = "lost"


class Grade(StrEnum):
    """客户等级 A-E (computed, or overridden by a manager)."""

    A = "A"
    B = "B"
    C = "C"
    D = "D"
    E = "E"


class ValueClass(StrEnum):
    """ABC value class: 重点 / 一般 / 零散."""

    KEY = "key"
    GENERAL = "general"
    SCATTERED = "scattered"


class VerifyStatus(StrEnum):
    UNVERIFIED = "unverified"
    VERIFIED = "verified"
    FAILED = "failed"


class VerifyMethod(StrEnum):
    ID_CARD_AT_COUNTER = "id_card_at_counter"
    OTHER = "other"


class ServiceKind(StrEnum):
    """服务/沟通记录: how staff were in contact."""

    CALL = "call"
    VISIT = "visit"
    MEETING = "meeting"
    EMAIL = "email"
    LETTER = "letter"


class AttachmentCategory(StrEnum):
    ID_COPY = "id_copy"
    APPLICATION = "application"
    CONTRACT = "contract"
    CONSENT_FORM = "consent_form"
    INVOICE = "invoice"
    OTHER = "other"


class CareOccasion(StrEnum):
    BIRTHDAY = "birthday"
    ANNIVERSARY = "anniversary"
    HOLIDAY = "holiday"


# --- orders and money -----------------------------------------------------------------------------


class OrderKind(StrEnum):
    PURCHASE = "purchase"
    REFUND = "refund"
    VOID = "void"  # reverses a whole purchase the same day


class PaymentMethod(StrEnum):
    CASH = "cash"
    WECHAT = "wechat"
    ALIPAY = "alipay"
    BANK_CARD = "bank_card"
    STORED_VALUE = "stored_value"


# --- membership -----------------------------------------------------------------------------------


class TierCode(StrEnum):
    ORDINARY = "ordinary"
    SILVER = "silver"
    GOLD = "gold"
    DIAMOND = "diamond"


class MemberClass(StrEnum):
    """A customer without an active card is a non-member (no value of its own)."""

    VIP = "vip"
    UNIT = "unit"


class CardStatus(StrEnum):
    ACTIVE = "active"
    LOST = "lost"
    CLOSED = "closed"


class StoredValueKind(StrEnum):
    TOPUP = "topup"
    SPEND = "spend"
    REFUND = "refund"
    CLOSURE_REFUND = "closure_refund"
    CORRECTION = "correction"


class FeeKind(StrEnum):
    ISSUE = "issue"
    UPGRADE = "upgrade"


class PointsKind(StrEnum):
    EARN = "earn"
    REDEEM = "redeem"
    EXPIRE = "expire"
    ADJUST = "adjust"
    CLAWBACK = "clawback"
    REFUND_REVERSAL = "refund_reversal"


# --- gift redemptions and approvals ---------------------------------------------------------------


class RedemptionStatus(StrEnum):
    PENDING = "pending"
    APPROVED = "approved"
    REJECTED = "rejected"
    CANCELLED = "cancelled"


class RedemptionChannel(StrEnum):
    COUNTER = "counter"
    PORTAL = "portal"


class ApprovalKind(StrEnum):
    ORDER_VOID = "order_void"
    ORDER_REFUND = "order_refund"
    POINTS_ADJUST = "points_adjust"
    COMPENSATION = "compensation"


class ApprovalStatus(StrEnum):
    PENDING = "pending"
    APPROVED = "approved"
    REJECTED = "rejected"
    CANCELLED = "cancelled"


class CompensationForm(StrEnum):
    POINTS = "points"
    MONEY = "money"
    GIFT = "gift"


# the approvals inbox gathers gift redemptions with the approval requests
REDEMPTION_INBOX_KIND = "redemption"


# --- complaints -----------------------------------------------------------------------------------


class ComplaintStatus(StrEnum):
    RECEIVED = "received"
    INVESTIGATING = "investigating"
    SOLUTION_PROPOSED = "solution_proposed"
    CUSTOMER_INFORMED = "customer_informed"
    RETURN_VISIT = "return_visit"
    CLOSED = "closed"
    ON_HOLD = "on_hold"
    REOPENED = "reopened"


# status -> the statuses a handler may move it to (closing, holding and reopening have their own
# operations)
COMPLAINT_MOVES: dict[ComplaintStatus, tuple[ComplaintStatus, ...]] = {
    ComplaintStatus.RECEIVED: (ComplaintStatus.INVESTIGATING,),
    ComplaintStatus.INVESTIGATING: (ComplaintStatus.SOLUTION_PROPOSED,),
    ComplaintStatus.SOLUTION_PROPOSED: (
        ComplaintStatus.CUSTOMER_INFORMED,
        ComplaintStatus.INVESTIGATING,
    ),
    ComplaintStatus.CUSTOMER_INFORMED: (
        ComplaintStatus.RETURN_VISIT,
        ComplaintStatus.INVESTIGATING,
    ),
    ComplaintStatus.RETURN_VISIT: (ComplaintStatus.INVESTIGATING,),
    ComplaintStatus.REOPENED: (ComplaintStatus.INVESTIGATING,),
}


class ComplaintChannel(StrEnum):
    COUNTER = "counter"
    PHONE = "phone"
    LETTER = "letter"
    ONLINE = "online"
    PORTAL = "portal"  # the member files it themselves


class ComplaintCategory(StrEnum):
    SERVICE = "service"
    PRODUCT = "product"
    BILLING = "billing"
    PRIVACY = "privacy"
    ENVIRONMENT = "environment"
    OTHER = "other"


class Severity(StrEnum):
    LOW = "low"
    NORMAL = "normal"
    HIGH = "high"
    CRITICAL = "critical"


class InformWay(StrEnum):
    """How the customer was told the outcome."""

    PHONE = "phone"
    SMS = "sms"
    EMAIL = "email"
    VISIT = "visit"
    LETTER = "letter"
    PORTAL = "portal"


class ComplaintEventKind(StrEnum):
    """An entry of a complaint's timeline."""

    FILED = "filed"
    STATUS = "status"
    NOTE = "note"
    REPLY = "reply"
    OUTCOME = "outcome"
    ASSIGN = "assign"
    ESCALATION = "escalation"
    COMPENSATION = "compensation"
    SCORE = "score"
    ATTACHMENT = "attachment"


class ComplaintClock(StrEnum):
    RESPONSE = "response"
    RESOLUTION = "resolution"


class EscalationLevel(StrEnum):
    WARNED = "warned"
    ESCALATED = "escalated"
    ESCALATED2 = "escalated2"


# --- consent, notices, rights ---------------------------------------------------------------------


class PurposeCode(StrEnum):
    """The purposes the code names: the seeded ones (compliance edits their texts), and the two of
    the system itself, which have no Purpose row and are always allowed."""

    SERVICE = "service"
    MARKETING_SMS = "marketing_sms"
    MARKETING_PHONE = "marketing_phone"
    MARKETING_EMAIL = "marketing_email"
    CARE = "care"
    ANALYTICS = "analytics"
    THIRD_PARTY = "third_party"
    SENSITIVE = "sensitive"
    CROSS_BORDER = "cross_border"
    SECURITY = "security"
    STAFF_ALERT = "staff_alert"


class LawfulBasis(StrEnum):
    CONTRACT = "contract"
    LEGAL_OBLIGATION = "legal_obligation"
    CONSENT = "consent"
    SEPARATE_CONSENT = "separate_consent"


class ConsentAction(StrEnum):
    GRANT = "grant"
    REFUSE = "refuse"
    WITHDRAW = "withdraw"


class ConsentStatus(StrEnum):
    """A customer's current answer for a purpose (the ConsentState row's `state`)."""

    GRANTED = "granted"
    REFUSED = "refused"
    WITHDRAWN = "withdrawn"


class ConsentChannel(StrEnum):
    """Where a consent event was recorded: the customer's choice (counter, portal, phone), or
    the system's own record (merge, request)."""

    COUNTER = "counter"
    PORTAL = "portal"
    PHONE = "phone"
    MERGE = "merge"
    REQUEST = "request"


class NoticeStatus(StrEnum):
    DRAFT = "draft"
    PUBLISHED = "published"


class RightsKind(StrEnum):
    COPY = "copy"
    CORRECTION = "correction"
    DELETION = "deletion"
    WITHDRAWAL = "withdrawal"
    EXPLANATION = "explanation"


class RightsChannel(StrEnum):
    COUNTER = "counter"
    PHONE = "phone"
    LETTER = "letter"
    PORTAL = "portal"


class RightsStatus(StrEnum):
    OPEN = "open"
    IN_PROGRESS = "in_progress"
    DONE = "done"
    REFUSED = "refused"


class ErasureRefusal(StrEnum):
    """Why a deletion request (删除权, PIPL art. 47) is refused (issue 16, ER): labels
    rights.refusal.<code>."""

    RETENTION_DUTY = "retention_duty"  # 法定保存义务 (e.g. accounting vouchers)
    OPEN_BUSINESS = "open_business"  # 未结清的储值/积分/投诉
    LITIGATION_HOLD = "litigation_hold"  # 诉讼保留
    IDENTITY_NOT_VERIFIED = "identity_not_verified"  # 身份未核实
    OTHER = "other"  # with the handler's text


class ProvisionCategory(StrEnum):
    """What may be provided to another organisation or disclosed."""

    BASIC = "basic"
    CONTACT = "contact"
    IDENTITY = "identity"
    PURCHASES = "purchases"
    MEMBERSHIP = "membership"


# --- messages -------------------------------------------------------------------------------------


class MessageChannel(StrEnum):
    """How the outbox delivers a message."""

    SMS = "sms"
    EMAIL = "email"
    IN_APP = "in_app"


class ContactChannel(StrEnum):
    """How a marketing purpose reaches the customer."""

    SMS = "sms"
    PHONE = "phone"
    EMAIL = "email"


class OutboxStatus(StrEnum):
    QUEUED = "queued"
    SENDING = "sending"  # claimed by a sender until its lease ends
    SENT = "sent"
    FAILED = "failed"
    CANCELLED = "cancelled"


# --- jobs (issue 15) ------------------------------------------------------------------------------


class JobStatus(StrEnum):
    QUEUED = "queued"
    RUNNING = "running"  # claimed by a runner until its lease ends
    DONE = "done"
    FAILED = "failed"
    CANCELLED = "cancelled"


class JobKind(StrEnum):
    """What a job does: the runner's handler for each is in custapp/job_runner.py."""

    CARE_GREETINGS = "care.greetings"
    MARKETING_CAMPAIGN = "marketing.campaign"
    BACKUP_CREATE = "backup.create"  # issue 16 (BP)
    BACKUP_VERIFY = "backup.verify"  # issue 16 (BP)
    DESTRUCTION_RUN = "destruction.run"  # issue 16 (DS)


# --- backups (issue 16, BP) -----------------------------------------------------------------------


class BackupRunKind(StrEnum):
    BACKUP = "backup"
    VERIFY = "verify"


class BackupRunStatus(StrEnum):
    RUNNING = "running"
    OK = "ok"  # a backup written; a verify passed
    FAILED = "failed"  # its problem (a message key) says why


# --- destruction (issue 16, DS) -------------------------------------------------------------------


class DestructionScope(StrEnum):
    """What a destruction candidate destroys: the whole customer, or one category of it."""

    CUSTOMER = "customer"
    CATEGORY = "category"


class DestructionCategory(StrEnum):
    """Partial destruction (scope 'category'): what of one customer goes, the customer stays."""

    ATTACHMENTS = "attachments"  # the archive's files (附件)
    LEVEL3 = "level3"  # the level-3 fields (bank account, credit card, investments, health)
    SERVICE_LOG = "service_log"  # 服务/沟通记录


class DestructionReason(StrEnum):
    """Why a candidate is in the queue."""

    RULE = "rule"  # a retention rule's period passed (the daily scan)
    REQUEST = "request"  # a deletion rights request (删除权)
    MANUAL = "manual"  # proposed by compliance


class DestructionStatus(StrEnum):
    QUEUED = "queued"  # waiting for its appraisal (鉴定)
    APPRAISED = "appraised"  # appraised: waiting for a second person's approval
    APPROVED = "approved"  # approved: destroyed at once, or waiting for the completion notice
    DONE = "done"
    REJECTED = "rejected"  # the appraisal or the approval said no
    CANCELLED = "cancelled"


# --- retention (issue 16, RT) ---------------------------------------------------------------------


class RetentionCategory(StrEnum):
    """保存期限: the data categories a retention rule covers (one rule each)."""

    CUSTOMER_ARCHIVE = "customer_archive"  # counted from the end of the relationship
    ORDERS_LEDGERS = "orders_ledgers"  # accounting records: orders, payments, ledgers
    SERVICE_LOG = "service_log"
    COMPLAINTS = "complaints"  # counted from closing
    CONSENT_EVIDENCE = "consent_evidence"
    ATTACHMENTS = "attachments"
    AUDIT_LOG = "audit_log"  # at least 6 months (Cybersecurity Law art. 21)
    BACKUPS = "backups"


class RetentionAction(StrEnum):
    """到期处理: what happens when a rule's period has passed."""

    DESTROY = "destroy"
    ANONYMISE = "anonymise"
    SEAL = "seal"  # the audit log: a signed anchor at the cut, the older entries removed


class RetentionChangeStatus(StrEnum):
    PENDING = "pending"  # proposed by compliance, waiting for a second person
    APPROVED = "approved"  # applied to the rule
    REJECTED = "rejected"
