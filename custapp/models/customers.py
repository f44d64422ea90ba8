"""客户档案: customers, their organisation contacts, tags, change history and numbering.

Sensitive values (levels 1-3, SPEC §2) live only in `*_enc` columns, encrypted with the customer's
data key; `*_bidx` columns hold the keyed blind index for exact lookup and duplicate detection.
"""

from datetime import date, datetime

from sqlalchemy import BigInteger, Index, text
from sqlmodel import Field, SQLModel

from custapp.vocab import CustomerKind, Grade, Lifecycle, Nature, ValueClass, VerifyStatus

# the list filters that get a (filter, created_at, id) index (issue 3, docs/performance.md)
FILTERED_BY_CREATED = ("nature", "lifecycle", "value_class", "owner_id")


class Customer(SQLModel, table=True):
    __tablename__ = "customers"
    __table_args__ = (
        Index("ix_customers_grade_lifecycle", "grade", "lifecycle"),
        Index("ix_customers_last_purchase", "last_purchase_at"),
        Index("ix_customers_spend_12m", "spend_12m_fen"),  # the ABC split sorts by it
        # a filter and the list's default order (newest first): a page walks one index range
        *(
            Index(f"ix_customers_{column}_created", column, "created_at", "id")
            for column in FILTERED_BY_CREATED
        ),
        # the few merged customers (a merge re-points earlier redirects); a full index on a
        # column that is almost always NULL misleads PostgreSQL's planner
        Index(
            "ix_customers_merged_into_id",
            "merged_into_id",
            sqlite_where=text("merged_into_id IS NOT NULL"),
            postgresql_where=text("merged_into_id IS NOT NULL"),
        ),
        # the few destroyed customers (issue 16): a tombstone row, kept so the ledgers add up
        Index(
            "ix_customers_destroyed_at",
            "destroyed_at",
            sqlite_where=text("destroyed_at IS NOT NULL"),
            postgresql_where=text("destroyed_at IS NOT NULL"),
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    number: str = Field(max_length=12, unique=True)  # C<year><7 digits>
    kind: str = Field(default=CustomerKind.INDIVIDUAL, max_length=12)
    name: str = Field(max_length=100, index=True)
    gender: str | None = Field(default=None, max_length=10)  # male | female | other
    nature: str = Field(default=Nature.INDIVIDUAL, max_length=20)
    source_channel: str | None = Field(default=None, max_length=20)
    owner_id: int | None = Field(default=None, foreign_key="users.id")
    second_contact_id: int | None = Field(default=None, foreign_key="users.id")
    store_id: int | None = Field(default=None, foreign_key="stores.id", index=True)
    data_key_id: int = Field(foreign_key="data_keys.id")
    # level 1
    id_type: str | None = Field(default=None, max_length=20)  # resident_id | passport | other
    id_number_enc: str | None = None
    id_number_bidx: str | None = Field(default=None, max_length=64, index=True)
    phone_enc: str | None = None
    phone_bidx: str | None = Field(default=None, max_length=64, index=True)
    phone2_enc: str | None = None
    phone2_bidx: str | None = Field(default=None, max_length=64, index=True)
    email_enc: str | None = None
    email_bidx: str | None = Field(default=None, max_length=64, index=True)
    address_enc: str | None = None
    employer_enc: str | None = None
    occupation_enc: str | None = None
    birth_date_enc: str | None = None
    name_birth_bidx: str | None = Field(default=None, max_length=64, index=True)
    # the birthday's month and day, keyed (the care calendar finds birthdays without decrypting)
    birth_md_bidx: str | None = Field(default=None, max_length=64, index=True)
    # level 2
    income_enc: str | None = None
    assets_enc: str | None = None
    property_enc: str | None = None
    vehicles_enc: str | None = None
    # level 3
    bank_account_enc: str | None = None
    credit_card_enc: str | None = None
    investments_enc: str | None = None
    health_enc: str | None = None
    # free text about the customer (encrypted)
    notes_enc: str | None = None
    # organisation (a credit code identifies a company, not a person: plain and indexed)
    uscc: str | None = Field(default=None, max_length=18, index=True)
    legal_representative: str | None = Field(default=None, max_length=50)
    registered_capital_fen: int | None = Field(default=None, sa_type=BigInteger)
    founding_date: date | None = None
    industry: str | None = Field(default=None, max_length=50)
    size: str | None = Field(default=None, max_length=20)
    # classification, stored and indexed (SPEC §8), updated on posting and by the daily job
    lifecycle: str = Field(default=Lifecycle.POTENTIAL, max_length=10)
    grade: str = Field(default=Grade.E, max_length=1, index=True)
    grade_override: str | None = Field(default=None, max_length=1)
    grade_override_reason: str | None = Field(default=None, max_length=200)
    value_class: str = Field(default=ValueClass.SCATTERED, max_length=10)
    first_purchase_at: datetime | None = None
    last_purchase_at: datetime | None = None
    spend_12m_fen: int = Field(default=0, sa_type=BigInteger)
    # data quality and real-name verification
    completeness: int = 0
    verify_status: str = Field(default=VerifyStatus.UNVERIFIED, max_length=12, index=True)
    verify_method: str | None = Field(default=None, max_length=20)
    verified_by: int | None = Field(default=None, foreign_key="users.id")
    verified_at: datetime | None = Field(default=None, index=True)
    # merge: the merged customer stays as a redirect to the survivor
    merged_into_id: int | None = Field(default=None, foreign_key="customers.id")
    # destruction (issue 16): set when the customer was destroyed; the row stays as a tombstone
    destroyed_at: datetime | None = None
    created_by: int | None = Field(default=None, foreign_key="users.id")
    created_at: datetime = Field(index=True)
    updated_at: datetime


class CustomerTag(SQLModel, table=True):
    __tablename__ = "customer_tags"

    customer_id: int = Field(foreign_key="customers.id", primary_key=True)
    tag: str = Field(max_length=30, primary_key=True, index=True)


class CustomerContact(SQLModel, table=True):
    """A contact person of an organisation customer. The phone is encrypted."""

    __tablename__ = "customer_contacts"

    id: int | None = Field(default=None, primary_key=True)
    customer_id: int = Field(foreign_key="customers.id", index=True)
    name: str = Field(max_length=50)
    title: str | None = Field(default=None, max_length=50)
    phone_enc: str | None = None
    phone_bidx: str | None = Field(default=None, max_length=64, index=True)


class CustomerChange(SQLModel, table=True):
    """One field change, never edited. Old and new values are encrypted; shown masked."""

    __tablename__ = "customer_changes"

    id: int | None = Field(default=None, primary_key=True)
    customer_id: int = Field(foreign_key="customers.id", index=True)
    changed_at: datetime
    user_id: int | None = Field(default=None, foreign_key="users.id")
    actor_name: str = Field(max_length=60)
    field: str = Field(max_length=40)
    old_enc: str | None = None
    new_enc: str | None = None


class CustomerSequence(SQLModel, table=True):
    """The last customer number issued per year (the sequence restarts each year)."""

    __tablename__ = "customer_sequences"

    year: int = Field(primary_key=True)
    last: int = 0
