"""The outbox: messages to customers and staff (SMS, e-mail, in-app), queued in the database.

Consent is checked when a message is queued and again when it is sent (SPEC §6), so a withdrawal
in between stops it. Recipient, subject and body are encrypted under the customer's data key
(staff messages under the system key), so destroying a customer's key shreds their messages too.

Delivery claims a batch in one short transaction, sends outside any transaction and records the
outcomes in another: a slow SMTP server then never holds SQLite's write lock (or PostgreSQL row
locks) while the rest of the app waits.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select, update
from sqlmodel import Session

from custapp import clock
from custapp.db import session_scope
from custapp.i18n import t
from custapp.models import OutboxMessage, User, UserRole, UserStore
from custapp.security import crypto
from custapp.security.validators import validate_mobile
from custapp.services import audit, consent_rules, datakeys
from custapp.services.actor import Actor, system_actor
from custapp.services.errors import DomainError, NotFound
from custapp.services.guard import requires
from custapp.services.paging import page_window
from custapp.services.senders import OutgoingMessage, Sender
from custapp.vocab import MessageChannel, OutboxStatus, PurposeCode

CHANNELS = tuple(MessageChannel)
BACKOFF = tuple(timedelta(minutes=m) for m in (1, 5, 30, 120))
MAX_ATTEMPTS = 5
# A claimed message is sent outside any transaction; if its worker dies mid-way, another run
# takes it again once the lease is over (at-least-once delivery).
LEASE = timedelta(minutes=10)


def purpose_allowed(session: Session, *, customer_id: int | None, purpose: str) -> bool:
    """May a message for this purpose go to this customer? Asked at queue time and send time,
    answered by the one enforcement function (services/consent_rules.py)."""
    return consent_rules.permits(session, customer_id=customer_id, purpose=purpose)


# --- queuing ----------------------------------------------------------------------------------


def _seal(session: Session, key_id: int, value: str, part: str) -> str:
    # Not datakeys.encrypt: it maps "" to None, and an SMS may well have an empty subject.
    return crypto.encrypt_field(datakeys.data_key(session, key_id), value, context=f"outbox.{part}")


def _open(session: Session, key_id: int, token: str | None, part: str) -> str:
    return datakeys.decrypt(session, key_id, token, context=f"outbox.{part}")


def _address(channel: str, recipient: str | None) -> str | None:
    """The normalised address for the channel; in-app messages go to a user, not an address."""
    if channel == MessageChannel.IN_APP:
        return None
    text = (recipient or "").strip()
    if channel == MessageChannel.SMS:
        mobile = validate_mobile(text)
        if mobile.ok:
            return mobile.value
    else:
        local, at, domain = text.rpartition("@")
        if local and at and "." in domain and not any(ch.isspace() for ch in text):
            return text
    raise DomainError("outbox.error.bad_recipient")


def queue_message(
    session: Session,
    *,
    channel: str,
    purpose: str,
    subject: str,
    body: str,
    recipient: str | None = None,
    customer_id: int | None = None,
    customer_key_id: int | None = None,
    user_id: int | None = None,
    not_before: datetime | None = None,
) -> int:
    """Queue one message in the caller's transaction; in-app messages are delivered at once."""
    if channel not in CHANNELS:
        raise DomainError("outbox.error.bad_channel")
    if not purpose_allowed(session, customer_id=customer_id, purpose=purpose):
        raise DomainError("outbox.error.no_consent")
    if channel == MessageChannel.IN_APP and user_id is None:
        raise DomainError("outbox.error.bad_recipient")
    address = _address(channel, recipient)
    if customer_id is None:
        key_id, _ = datakeys.system_key(session)
    elif customer_key_id is None:
        raise ValueError("a customer's message is encrypted with the customer's data key")
    else:
        key_id = customer_key_id
    now = clock.now()
    in_app = (
        channel == MessageChannel.IN_APP
    )  # the inbox is where it is read: nothing left to deliver
    row = OutboxMessage(
        created_at=now,
        channel=channel,
        purpose=purpose,
        customer_id=customer_id,
        user_id=user_id,
        data_key_id=key_id,
        recipient_enc=_seal(session, key_id, address, "recipient") if address else None,
        subject_enc=_seal(session, key_id, subject, "subject"),
        body_enc=_seal(session, key_id, body, "body"),
        status=OutboxStatus.SENT if in_app else OutboxStatus.QUEUED,
        not_before=not_before if not_before is not None and not in_app else now,
        sent_at=now if in_app else None,
    )
    session.add(row)
    session.flush()
    return row.id


def role_holders(
    session: Session, *, role: str, store_ids: Iterable[int | None]
) -> dict[int | None, list[User]]:
    """Who an alert to `role` reaches, for each store asked about (two queries for them all):
    every active holder of the role for None; for a store, the holders in that store, or every
    holder when nobody of that role belongs to it, so an alert is never lost."""
    stores = set(store_ids)
    users = list(
        session.exec(
            select(User)
            .join(UserRole, UserRole.user_id == User.id)
            .where(UserRole.role == role, User.is_active.is_(True))
            .order_by(User.id)
        ).scalars()
    )
    members: dict[int, set[int]] = {}
    wanted = [store_id for store_id in stores if store_id is not None]
    if wanted and users:
        for store_id, user_id in session.exec(
            select(UserStore.store_id, UserStore.user_id).where(
                UserStore.store_id.in_(wanted),
                UserStore.user_id.in_([user.id for user in users]),
            )
        ).all():
            members.setdefault(store_id, set()).add(user_id)
    return {
        store_id: users
        if store_id is None
        else [user for user in users if user.id in members.get(store_id, ())] or users
        for store_id in stores
    }


def alert_users(
    session: Session, users: Iterable[User], *, subject_key: str, body_key: str, params: dict
) -> int:
    """An in-app alert to each of `users`, in their own language; how many were queued."""
    sent = 0
    for user in users:
        queue_message(
            session,
            channel=MessageChannel.IN_APP,
            purpose=PurposeCode.STAFF_ALERT,
            subject=t(subject_key, user.locale, **params),
            body=t(body_key, user.locale, **params),
            user_id=user.id,
        )
        sent += 1
    return sent


def alert_role(
    session: Session,
    *,
    role: str,
    subject_key: str,
    body_key: str,
    params: dict,
    store_id: int | None = None,
) -> int:
    """An in-app alert to every active holder of `role`, each in their own language.

    With a store, only the role's holders in that store; a store nobody of that role belongs
    to still reaches every holder, so an alert is never lost.
    """
    users = role_holders(session, role=role, store_ids=[store_id])[store_id]
    return alert_users(session, users, subject_key=subject_key, body_key=body_key, params=params)


def cancel_for_purpose(session: Session, *, customer_id: int, purpose: str) -> int:
    """Cancel the customer's queued messages for a purpose (consent withdrawn); how many."""
    result = session.exec(
        update(OutboxMessage)
        .where(
            OutboxMessage.customer_id == customer_id,
            OutboxMessage.purpose == purpose,
            OutboxMessage.status == OutboxStatus.QUEUED,
        )
        .values(status=OutboxStatus.CANCELLED, last_error="consent_withdrawn")
    )
    return result.rowcount


# --- delivery ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class DeliveryReport:
    sent: int = 0
    failed: int = 0
    cancelled: int = 0
    retried: int = 0


def deliver_due(*, sender: Sender, limit: int = 200) -> DeliveryReport:
    """Send every message due now, `limit` per batch; one audit entry (counts only) per run."""
    due_by = clock.now()
    counts: Counter[str] = Counter()
    while True:
        with session_scope() as session:
            claimed, batch = _claim(session, due_by=due_by, limit=limit, counts=counts)
        if not claimed:
            break
        outcomes = {message.id: _try_send(sender, message) for message in batch}
        with session_scope() as session:
            _record_outcomes(session, outcomes, counts)
    report = DeliveryReport(**counts)
    if any(counts.values()):
        # An idle run changes nothing; auditing it would flood the log with empty entries.
        with session_scope() as session:
            audit.record(
                session,
                actor=system_actor("jobs"),
                action="outbox.deliver",
                detail=dict(sorted(counts.items())),
            )
    return report


def _claim(
    session: Session, *, due_by: datetime, limit: int, counts: Counter[str]
) -> tuple[int, list[OutgoingMessage]]:
    """Take up to `limit` due messages (and ones whose lease ran out) -> (taken, to send)."""
    rows = (
        session.exec(
            select(OutboxMessage)
            .where(
                OutboxMessage.status.in_((OutboxStatus.QUEUED, OutboxStatus.SENDING)),
                OutboxMessage.not_before <= due_by,
            )
            .order_by(OutboxMessage.not_before, OutboxMessage.id)
            .limit(limit)
            # PostgreSQL: concurrent runs take disjoint batches. SQLite ignores it: its writers
            # are serialised by BEGIN IMMEDIATE already.
            .with_for_update(skip_locked=True)
        )
        .scalars()
        .all()
    )
    lease_end = clock.now() + LEASE
    taken, batch = 0, []
    for row in rows:
        taken += 1
        if not purpose_allowed(session, customer_id=row.customer_id, purpose=row.purpose):
            row.status, row.last_error = OutboxStatus.CANCELLED, "no_consent"
            counts["cancelled"] += 1
            continue
        try:
            message = OutgoingMessage(
                id=row.id,
                channel=row.channel,
                recipient=_open(session, row.data_key_id, row.recipient_enc, "recipient"),
                subject=_open(session, row.data_key_id, row.subject_enc, "subject"),
                body=_open(session, row.data_key_id, row.body_enc, "body"),
            )
        except DomainError:  # the customer's data key is destroyed: nothing left to send
            row.status, row.last_error = OutboxStatus.CANCELLED, "data_destroyed"
            counts["cancelled"] += 1
            continue
        row.status, row.not_before = OutboxStatus.SENDING, lease_end
        batch.append(message)
    return taken, batch


def _try_send(sender: Sender, message: OutgoingMessage) -> str | None:
    """None when sent, else the exception's class name: its text may hold the address."""
    try:
        sender.send(message)
    except Exception as exc:
        return type(exc).__name__
    return None


def _record_outcomes(
    session: Session, outcomes: dict[int, str | None], counts: Counter[str]
) -> None:
    now = clock.now()
    rows = session.exec(
        select(OutboxMessage)
        .where(OutboxMessage.id.in_(list(outcomes)), OutboxMessage.status == OutboxStatus.SENDING)
        .with_for_update()
    ).scalars()
    for row in rows:
        error = outcomes[row.id]
        if error is None:
            row.status, row.sent_at = OutboxStatus.SENT, now
            counts["sent"] += 1
            continue
        row.attempts += 1
        row.last_error = error[:200]
        if row.attempts >= MAX_ATTEMPTS:
            row.status = OutboxStatus.FAILED
            counts["failed"] += 1
        else:
            row.status = OutboxStatus.QUEUED
            row.not_before = now + BACKOFF[min(row.attempts, len(BACKOFF)) - 1]
            counts["retried"] += 1


# --- the staff inbox --------------------------------------------------------------------------


@dataclass(frozen=True)
class InboxRow:
    id: int
    subject: str
    body: str
    read: bool
    created_at: datetime


def _inbox_query(actor: Actor):  # noqa: ANN202
    return select(OutboxMessage).where(
        OutboxMessage.channel == MessageChannel.IN_APP,
        OutboxMessage.status == OutboxStatus.SENT,
        OutboxMessage.user_id == actor.user_id,
    )


@requires("message.read", reads=True)
def list_inbox(
    session: Session, *, actor: Actor, page: int = 1, page_size: int = 20
) -> tuple[list[InboxRow], int]:
    """One page of the actor's own in-app messages, newest first, and their total count."""
    window = page_window(page, page_size)
    total = session.exec(
        _inbox_query(actor).with_only_columns(func.count(OutboxMessage.id))
    ).scalar_one()
    rows = session.exec(
        _inbox_query(actor)
        .order_by(OutboxMessage.created_at.desc(), OutboxMessage.id.desc())
        .offset(window.offset)
        .limit(window.limit)
    ).scalars()
    return [
        InboxRow(
            id=row.id,
            subject=_open(session, row.data_key_id, row.subject_enc, "subject"),
            body=_open(session, row.data_key_id, row.body_enc, "body"),
            read=row.read_at is not None,
            created_at=row.created_at,
        )
        for row in rows
    ], total


@requires("message.read")
def mark_read(session: Session, *, actor: Actor, message_id: int) -> None:
    row = session.get(OutboxMessage, message_id)
    # Someone else's message is "not found", so ids cannot be probed for existence.
    if row is None or row.channel != MessageChannel.IN_APP or row.user_id != actor.user_id:
        raise NotFound("error.not_found")
    if row.read_at is None:
        row.read_at = clock.now()
