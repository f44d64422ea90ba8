"""告知同意 (SPEC §4): purposes, versioned privacy notices, notices served, the append-only consent
ledger and its current-state projection, marketing campaigns, third-party provision, legally
required disclosures and personal-information rights requests.

Consent events are never updated or deleted: database triggers refuse it on both backends
(migration 0006). ConsentState is derived from the events in the same transaction as each event.
"""

from datetime import date, datetime

from sqlalchemy import Index
from sqlmodel import Field, SQLModel

from custapp.vocab import NoticeStatus, RightsStatus


class Purpose(SQLModel, table=True):
    """What customer data may be used for, with its lawful basis (seeded, edited by compliance)."""

    __tablename__ = "purposes"

    code: str = Field(primary_key=True, max_length=30)  # service, marketing_sms, care, ...
    name_zh: str = Field(max_length=60)
    name_en: str = Field(max_length=80)
    description_zh: str = Field(default="", max_length=500)
    description_en: str = Field(default="", max_length=500)
    # contract | consent | separate_consent | legal_obligation
    lawful_basis: str = Field(max_length=20)
    consent_based: bool = True  # False: the lawful basis is not consent (service fulfilment)
    channel: str | None = Field(default=None, max_length=10)  # sms | phone | email (marketing)
    enabled: bool = True
    sort_order: int = 0
    updated_at: datetime
    updated_by: int | None = Field(default=None, foreign_key="users.id")


class PrivacyNotice(SQLModel, table=True):
    """One version of the privacy notice (隐私告知), in Chinese and English. A published version is
    never changed; the current notice is the highest published version."""

    __tablename__ = "privacy_notices"

    id: int | None = Field(default=None, primary_key=True)
    version: int = Field(unique=True)
    handler_zh: str = Field(max_length=200)  # 个人信息处理者: name and contact
    handler_en: str = Field(max_length=200)
    body_zh: str  # what, how, use, retention, rights, how to withdraw
    body_en: str
    purposes: str = Field(max_length=500)  # purpose codes, comma-separated, in display order
    status: str = Field(default=NoticeStatus.DRAFT, max_length=10, index=True)
    created_at: datetime
    created_by: int | None = Field(default=None, foreign_key="users.id")
    published_at: datetime | None = None
    published_by: int | None = Field(default=None, foreign_key="users.id")


class NoticeServing(SQLModel, table=True):
    """A notice version shown to a customer (at the counter, in the portal, read out by phone),
    with the written evidence (paper form reference or an uploaded scan)."""

    __tablename__ = "notice_servings"

    id: int | None = Field(default=None, primary_key=True)
    customer_id: int = Field(foreign_key="customers.id", index=True)
    notice_version: int
    channel: str = Field(max_length=10)  # counter | portal | phone
    evidence_ref: str | None = Field(default=None, max_length=60)  # paper form number
    attachment_id: int | None = Field(default=None, foreign_key="attachments.id")
    operator_id: int | None = Field(default=None, foreign_key="users.id")
    served_at: datetime


class ConsentEvent(SQLModel, table=True):
    """Append-only: grant, refuse or withdraw one purpose (never updated, never deleted)."""

    __tablename__ = "consent_events"
    __table_args__ = (Index("ix_consent_events_customer_time", "customer_id", "id"),)

    id: int | None = Field(default=None, primary_key=True)
    customer_id: int = Field(foreign_key="customers.id")
    purpose: str = Field(foreign_key="purposes.code", max_length=30)
    action: str = Field(max_length=10)  # grant | refuse | withdraw
    notice_version: int | None = None
    serving_id: int | None = Field(default=None, foreign_key="notice_servings.id")
    channel: str = Field(max_length=10)  # counter | portal | phone | merge | request
    evidence_ref: str | None = Field(default=None, max_length=60)
    attachment_id: int | None = Field(default=None, foreign_key="attachments.id")
    operator_id: int | None = Field(default=None, foreign_key="users.id")
    operator_name: str = Field(max_length=60)
    note: str | None = Field(default=None, max_length=200)  # merge / request reference, no PI
    created_at: datetime


class ConsentState(SQLModel, table=True):
    """The current state of one customer and purpose: the replay of its events."""

    __tablename__ = "consent_states"
    __table_args__ = (
        # list builders: the customers whose consent covers a purpose
        Index("ix_consent_states_purpose_state", "purpose", "state", "customer_id"),
        Index("ix_consent_states_reconfirm", "reconfirm_needed", "reconfirm_notified"),
    )

    customer_id: int = Field(foreign_key="customers.id", primary_key=True)
    purpose: str = Field(foreign_key="purposes.code", primary_key=True, max_length=30)
    state: str = Field(max_length=10)  # granted | refused | withdrawn
    notice_version: int | None = None
    last_event_id: int = Field(foreign_key="consent_events.id")
    updated_at: datetime
    # a notice version that changed the purposes was published after this state was given
    reconfirm_needed: bool = False
    reconfirm_notified: bool = False  # the customer was sent the notice of the change


class Campaign(SQLModel, table=True):
    """A marketing message queued through the outbox to the consenting part of a segment."""

    __tablename__ = "campaigns"

    id: int | None = Field(default=None, primary_key=True)
    purpose: str = Field(foreign_key="purposes.code", max_length=30)
    segment: str = Field(max_length=500)  # the filters, JSON
    subject: str = Field(max_length=100)
    body: str = Field(max_length=500)  # the same text for everyone: no personal data
    queued: int = 0
    left_out: int = 0
    created_by: int | None = Field(default=None, foreign_key="users.id")
    created_at: datetime
    job_id: int | None = Field(default=None, foreign_key="jobs.id")  # the job that queues it


class Recipient(SQLModel, table=True):
    """A third party that may receive customer data: only with a confidentiality agreement."""

    __tablename__ = "provision_recipients"

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=100, unique=True)
    contact: str = Field(default="", max_length=100)  # an organisation's office, not a person's PI
    nda_reference: str = Field(max_length=60)
    nda_signed_on: date
    oversight_note: str = Field(default="", max_length=500)
    active: bool = True
    created_at: datetime
    created_by: int | None = Field(default=None, foreign_key="users.id")


class Provision(SQLModel, table=True):
    """对外提供: data given to a recipient for a purpose and period, on the customers' consent."""

    __tablename__ = "provisions"

    id: int | None = Field(default=None, primary_key=True)
    recipient_id: int = Field(foreign_key="provision_recipients.id", index=True)
    purpose: str = Field(foreign_key="purposes.code", max_length=30)
    categories: str = Field(max_length=300)  # data categories, comma-separated codes
    period_from: date
    period_to: date
    contract_reference: str = Field(max_length=60)
    segment: str | None = Field(default=None, max_length=500)  # the filters used, JSON
    customer_count: int = 0
    created_at: datetime
    created_by: int | None = Field(default=None, foreign_key="users.id")


class ProvisionCustomer(SQLModel, table=True):
    """One customer included in a provision, with the consent event relied on."""

    __tablename__ = "provision_customers"

    provision_id: int = Field(foreign_key="provisions.id", primary_key=True)
    customer_id: int = Field(foreign_key="customers.id", primary_key=True, index=True)
    consent_event_id: int = Field(foreign_key="consent_events.id")


class LegalDisclosure(SQLModel, table=True):
    """A disclosure required by law or a regulator (no consent needed), recorded."""

    __tablename__ = "legal_disclosures"

    id: int | None = Field(default=None, primary_key=True)
    customer_id: int = Field(foreign_key="customers.id", index=True)
    authority: str = Field(max_length=100)
    legal_basis: str = Field(max_length=200)
    document_reference: str = Field(max_length=60)
    categories: str = Field(max_length=300)
    harm_note: str = Field(default="", max_length=500)  # how harm to the customer was kept small
    disclosed_on: date
    created_at: datetime
    created_by: int | None = Field(default=None, foreign_key="users.id")


class RightsRequest(SQLModel, table=True):
    """个人信息权利请求: copy, correction, deletion, withdrawal or explanation, due in N days."""

    __tablename__ = "rights_requests"
    __table_args__ = (Index("ix_rights_requests_open_due", "status", "due_on"),)

    id: int | None = Field(default=None, primary_key=True)
    number: str = Field(max_length=16, unique=True)  # Q<yyyymmdd><4 digits>
    customer_id: int = Field(foreign_key="customers.id", index=True)
    kind: str = Field(max_length=12)  # copy | correction | deletion | withdrawal | explanation
    channel: str = Field(max_length=10)  # counter | phone | letter | portal
    detail_enc: str | None = None  # what the customer asked, under the customer's key
    received_at: datetime
    due_on: date  # local calendar date
    status: str = Field(default=RightsStatus.OPEN, max_length=12)
    handler_id: int | None = Field(default=None, foreign_key="users.id")
    outcome_enc: str | None = None
    closed_at: datetime | None = None
    created_by: int | None = Field(default=None, foreign_key="users.id")
    updated_at: datetime
    # erasure (issue 16, migration 0022): plain codes and numbers, no personal value, readable
    # after the customer's key is destroyed
    refusal_reason: str | None = Field(default=None, max_length=30)  # ErasureRefusal
    notice_message_id: int | None = None  # the outbox message "your data is being deleted"
    outcome_ref: str | None = Field(default=None, max_length=20)  # destruction candidate number
