from datetime import datetime

from sqlalchemy import Index
from sqlmodel import Field, SQLModel


class AuditEntry(SQLModel, table=True):
    """One audited event. Ids, field names and reasons only: never a value, plain or masked.

    `mac` = HMAC(audit key, prev_mac + canonical row); see services/audit.py.
    """

    __tablename__ = "audit_log"
    # the recent-misses count of the search alert (actor, action, time window)
    __table_args__ = (
        Index("ix_audit_log_actor_action_time", "actor_id", "action", "created_at", "outcome"),
    )

    id: int | None = Field(default=None, primary_key=True)
    seq: int = Field(unique=True)
    created_at: datetime = Field(index=True)
    actor_id: int | None = Field(default=None, index=True)
    actor_name: str = Field(max_length=60)
    action: str = Field(max_length=60, index=True)
    outcome: str = Field(default="ok", max_length=10, index=True)  # ok | denied | failed
    target_type: str | None = Field(default=None, max_length=40)
    target_id: str | None = Field(default=None, max_length=64)
    customer_id: int | None = Field(default=None, index=True)
    fields: str | None = Field(default=None, max_length=500)
    reason: str | None = Field(default=None, max_length=500)
    ip: str | None = Field(default=None, max_length=64)
    detail: str | None = Field(default=None, max_length=2000)
    prev_mac: str = Field(max_length=64)
    mac: str = Field(max_length=64)


class AuditHead(SQLModel, table=True):
    """The chain head, one row: locked by each writer so entries are chained one at a time."""

    __tablename__ = "audit_head"

    id: int = Field(default=1, primary_key=True)
    seq: int = 0
    mac: str = Field(default="", max_length=64)


class AuditAnchor(SQLModel, table=True):
    """A signed point of the chain where its start moved (services/audit_anchors.py).

    kind 'seal': the entries `lost_from`..`seq` (= `lost_to`) were removed after their retention
    period; the first remaining entry chains from `mac`. kind 'restore': the database was
    restored from a backup whose head was (`seq`, `mac`); the entries `lost_from`..`lost_to` of
    the old chain were lost (None: not known). `signature` = HMAC(audit key, canonical fields): an anchor cannot be made or altered
    with database access alone. Anchors are never deleted.
    """

    __tablename__ = "audit_anchors"
    __table_args__ = (Index("ix_audit_anchors_kind_seq", "kind", "seq"),)

    id: int | None = Field(default=None, primary_key=True)
    kind: str = Field(max_length=10)  # seal | restore
    seq: int
    mac: str = Field(max_length=64)
    lost_from: int | None = None
    lost_to: int | None = None
    approved_by: str = Field(default="[]", max_length=200)  # JSON list of user ids
    created_at: datetime
    signature: str = Field(max_length=64)
