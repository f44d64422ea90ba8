"""会员、储值、积分 (SPEC §3, §8 Money): tiers, membership cards, the stored-value ledger, card-fee
payments, the points ledger with its lots, and the points a customer owes after a refund.

- Money is integer fen, points are integers, times are UTC, expiry dates are local dates.
- The stored-value ledger, the points ledger and the card-fee payments are append-only: triggers
  refuse UPDATE and DELETE (migration 0007). The one update they allow is re-pointing
  `customer_id`, which a merge does (the rows move to the survivor like its orders).
- The stored-value balance is the sum of the customer's ledger; the points balance is the sum of
  the customer's points ledger, which equals Σ lots.remaining − clawback.
- Balances belong to the customer, not the card: a replacement card carries them without moving
  a row.
"""

from datetime import date, datetime

from sqlalchemy import BigInteger, CheckConstraint, Index, text
from sqlmodel import Field, SQLModel

from custapp.vocab import CardStatus, FeeKind, MemberClass, PointsKind, StoredValueKind, TierCode

TIER_CODES = tuple(TierCode)
MEMBER_CLASSES = tuple(MemberClass)  # a customer without an active card is a non-member
CARD_STATUSES = tuple(CardStatus)
STORED_VALUE_KINDS = tuple(StoredValueKind)
FEE_KINDS = tuple(FeeKind)
POINTS_KINDS = tuple(PointsKind)


class MemberTier(SQLModel, table=True):
    """A card tier (seeded by migration 0007, edited by cs_manager)."""

    __tablename__ = "member_tiers"

    code: str = Field(primary_key=True, max_length=12)
    name_zh: str = Field(max_length=20)
    name_en: str = Field(max_length=30)
    discount_pct: int  # what the member pays: 90 = 9折; 100 = no discount
    min_first_topup_fen: int = Field(sa_type=BigInteger)
    card_fee_fen: int = Field(sa_type=BigInteger)
    rank: int = Field(unique=True)  # an upgrade goes to a higher rank
    updated_at: datetime
    updated_by: int | None = Field(default=None, foreign_key="users.id")


class MemberCard(SQLModel, table=True):
    """会员卡. A number is never reused: it is unique over every card ever issued, and cards are
    never deleted (trigger). A customer holds at most one active card."""

    __tablename__ = "member_cards"
    __table_args__ = (
        Index(
            "ux_member_cards_one_active",
            "customer_id",
            unique=True,
            sqlite_where=text("status = 'active'"),
            postgresql_where=text("status = 'active'"),
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    number: str = Field(max_length=20, unique=True)
    customer_id: int = Field(foreign_key="customers.id", index=True)
    tier_code: str = Field(foreign_key="member_tiers.code", max_length=12)
    member_class: str = Field(default=MemberClass.VIP, max_length=10)
    status: str = Field(default=CardStatus.ACTIVE, max_length=10)
    store_id: int | None = Field(default=None, foreign_key="stores.id")
    application_signed: bool = False
    application_attachment_id: int | None = Field(default=None, foreign_key="attachments.id")
    replaced_by_id: int | None = Field(default=None, foreign_key="member_cards.id")
    issued_by: int | None = Field(default=None, foreign_key="users.id")
    issued_at: datetime
    upgraded_at: datetime | None = None
    ended_at: datetime | None = None  # reported lost or closed


class StoredValueEntry(SQLModel, table=True):
    """储值 ledger, append-only: topup +, spend −, refund +, closure_refund −, correction ±."""

    __tablename__ = "stored_value_entries"
    __table_args__ = (
        Index("ix_stored_value_entries_customer_created", "customer_id", "created_at"),
        CheckConstraint("amount_fen <> 0", name="ck_stored_value_entries_nonzero"),
    )

    id: int | None = Field(default=None, primary_key=True)
    customer_id: int = Field(foreign_key="customers.id")
    card_id: int | None = Field(default=None, foreign_key="member_cards.id")
    kind: str = Field(max_length=16)
    amount_fen: int = Field(sa_type=BigInteger)
    method: str | None = Field(default=None, max_length=20)  # how money came in or went out
    order_id: int | None = Field(default=None, foreign_key="orders.id", index=True)
    store_id: int | None = Field(default=None, foreign_key="stores.id")
    created_by: int | None = Field(default=None, foreign_key="users.id")
    created_at: datetime


class CardFeePayment(SQLModel, table=True):
    """卡费: paid separately, never from (nor into) the stored value. Append-only."""

    __tablename__ = "card_fee_payments"
    __table_args__ = (Index("ix_card_fee_payments_customer", "customer_id", "created_at"),)

    id: int | None = Field(default=None, primary_key=True)
    customer_id: int = Field(foreign_key="customers.id")
    card_id: int = Field(foreign_key="member_cards.id", index=True)
    tier_code: str = Field(foreign_key="member_tiers.code", max_length=12)
    kind: str = Field(max_length=10)  # issue | upgrade
    amount_fen: int = Field(sa_type=BigInteger)
    method: str = Field(max_length=20)
    store_id: int | None = Field(default=None, foreign_key="stores.id")
    created_by: int | None = Field(default=None, foreign_key="users.id")
    created_at: datetime


class PointsLot(SQLModel, table=True):
    """One award of points with its own expiry. `points` = remaining + spent + expired + taken;
    a refund of the lot's order is accounted as taken (from remaining), forgiven (expired points
    are not clawed back) or clawed (spent points owed back)."""

    __tablename__ = "points_lots"
    __table_args__ = (
        Index(
            "ix_points_lots_customer_expiry",
            "customer_id",
            "expires_on",
            sqlite_where=text("remaining > 0"),
            postgresql_where=text("remaining > 0"),
        ),
        Index(
            "ix_points_lots_expiry_open",
            "expires_on",
            sqlite_where=text("remaining > 0"),
            postgresql_where=text("remaining > 0"),
        ),
        CheckConstraint("remaining >= 0", name="ck_points_lots_remaining"),
    )

    id: int | None = Field(default=None, primary_key=True)
    customer_id: int = Field(foreign_key="customers.id")
    order_id: int | None = Field(default=None, foreign_key="orders.id", index=True)
    points: int = Field(sa_type=BigInteger)  # awarded
    remaining: int = Field(sa_type=BigInteger)
    # redeemed, adjusted away, or paid off a clawback
    spent: int = Field(default=0, sa_type=BigInteger)
    expired: int = Field(default=0, sa_type=BigInteger)
    taken: int = Field(default=0, sa_type=BigInteger)  # drawn back by a refund of the lot's order
    # refunded points not clawed back because they had expired
    forgiven: int = Field(default=0, sa_type=BigInteger)
    # refunded points that had been spent: drawn from other lots or owed
    clawed: int = Field(default=0, sa_type=BigInteger)
    expires_on: date | None = None  # last local day the points can be used; None: never
    created_at: datetime


class PointsEntry(SQLModel, table=True):
    """积分 ledger, append-only: earn +, redeem −, expire −, adjust ±, clawback − (points owed
    after a refund), refund_reversal − (points taken back by a refund)."""

    __tablename__ = "points_entries"
    __table_args__ = (
        Index("ix_points_entries_customer_created", "customer_id", "created_at"),
        CheckConstraint("points <> 0", name="ck_points_entries_nonzero"),
    )

    id: int | None = Field(default=None, primary_key=True)
    customer_id: int = Field(foreign_key="customers.id")
    kind: str = Field(max_length=16)
    points: int = Field(sa_type=BigInteger)
    lot_id: int | None = Field(default=None, foreign_key="points_lots.id", index=True)
    order_id: int | None = Field(default=None, foreign_key="orders.id")
    ref: str | None = Field(default=None, max_length=40)  # e.g. redemption:<id>
    reason: str | None = Field(default=None, max_length=200)  # a manual adjustment's reason
    created_by: int | None = Field(default=None, foreign_key="users.id")
    created_at: datetime


class PointsClawback(SQLModel, table=True):
    """Points a customer owes after a refund of spent points; new earnings pay it off first."""

    __tablename__ = "points_clawbacks"

    customer_id: int = Field(primary_key=True, foreign_key="customers.id")
    points: int = Field(default=0, sa_type=BigInteger)
    updated_at: datetime
