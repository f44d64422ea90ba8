"""The audit log: one writer, an HMAC chain, and a head checkpoint kept outside the database.

Each entry's MAC covers its own fields and the previous entry's MAC, keyed with a key outside the
database, so editing or deleting a row breaks the chain at that row. Deleting the newest rows
leaves a valid but shorter chain; the checkpoint file (count and last MAC, itself MACed) catches
that. Entries hold ids, field names and reasons: never a value.
"""

from __future__ import annotations

import fcntl
import hmac
import json
import os
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import event, func, select
from sqlmodel import Session

from custapp import clock
from custapp.models import AuditEntry, AuditHead
from custapp.security.keys import get_keys
from custapp.services.actor import Actor
from custapp.services.guard import requires
from custapp.settings import get_settings

GENESIS = "0" * 64
_PENDING = "custapp_audit_checkpoint"


def _canonical(entry: AuditEntry) -> bytes:
    fields = [
        entry.seq,
        entry.created_at.isoformat(),
        entry.actor_id,
        entry.actor_name,
        entry.action,
        entry.outcome,
        entry.target_type,
        entry.target_id,
        entry.customer_id,
        entry.fields,
        entry.reason,
        entry.ip,
        entry.detail,
    ]
    return json.dumps(fields, ensure_ascii=False, separators=(",", ":")).encode()


def _mac(prev_mac: str, entry: AuditEntry) -> str:
    return hmac.new(get_keys().audit, prev_mac.encode() + _canonical(entry), "sha256").hexdigest()


def _lock_head(session: Session) -> AuditHead:
    """Lock the chain head (created by the first migration) so entries chain one at a time."""
    query = select(AuditHead).where(AuditHead.id == 1).with_for_update()
    return session.exec(query).scalar_one()


def record(
    session: Session,
    *,
    actor: Actor | None,
    action: str,
    outcome: str = "ok",
    target_type: str | None = None,
    target_id: object = None,
    customer_id: int | None = None,
    fields: list[str] | tuple[str, ...] | None = None,
    reason: str | None = None,
    detail: dict | None = None,
    actor_name: str | None = None,
) -> AuditEntry:
    """Append one entry in the caller's transaction (it commits or rolls back with the work)."""
    if target_type is None and customer_id is not None:
        target_type, target_id = "customer", customer_id
    head = _lock_head(session)
    entry = AuditEntry(
        seq=head.seq + 1,
        created_at=clock.now().replace(microsecond=0),
        actor_id=actor.user_id if actor else None,
        actor_name=(actor_name or (actor.name if actor else "anonymous"))[:60],
        action=action,
        outcome=outcome,
        target_type=target_type,
        target_id=None if target_id is None else str(target_id),
        customer_id=customer_id,
        fields=",".join(fields) if fields else None,
        reason=reason[:500] if reason else None,
        ip=actor.ip if actor else None,
        detail=json.dumps(detail, sort_keys=True, ensure_ascii=False) if detail else None,
        prev_mac=head.mac or GENESIS,
    )
    entry.mac = _mac(entry.prev_mac, entry)
    head.seq, head.mac = entry.seq, entry.mac
    session.add(entry)
    session.flush()
    _checkpoint_after_commit(session, entry.seq, entry.mac)
    return entry


# --- head checkpoint outside the database -------------------------------------------------


def _checkpoint_after_commit(session: Session, seq: int, mac: str) -> None:
    session.info[_PENDING] = (seq, mac)
    if not event.contains(session, "after_commit", _write_pending):
        event.listen(session, "after_commit", _write_pending)


def _write_pending(session: Session) -> None:
    pending = session.info.pop(_PENDING, None)
    if pending:
        write_checkpoint(*pending)


def _checkpoint_mac(seq: int, mac: str) -> str:
    return hmac.new(get_keys().audit, f"head:{seq}:{mac}".encode(), "sha256").hexdigest()


def write_checkpoint(seq: int, mac: str) -> None:
    """Advance the checkpoint; never move it back (several workers write it)."""
    path = get_settings().audit_checkpoint
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path.with_suffix(".lock"), "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        current = read_checkpoint()
        if current and current["seq"] >= seq:
            return
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps({"seq": seq, "mac": mac, "check": _checkpoint_mac(seq, mac)}))
        os.replace(tmp, path)


def read_checkpoint() -> dict | None:
    path = get_settings().audit_checkpoint
    if not path.exists():
        return None
    return json.loads(path.read_text())


# --- verification -------------------------------------------------------------------------


@dataclass(frozen=True)
class VerifyResult:
    ok: bool
    checked: int
    bad_seq: int | None = None
    problem: str | None = None  # i18n key


def verify_chain(session: Session, *, batch: int = 5000) -> VerifyResult:
    """Walk the whole chain in order; name the first row that does not fit."""
    prev_mac, expected_seq, checked, last_seq = GENESIS, 1, 0, 0
    while True:
        rows = (
            session.exec(
                select(AuditEntry)
                .where(AuditEntry.seq > last_seq)
                .order_by(AuditEntry.seq)
                .limit(batch)
            )
            .scalars()
            .all()
        )
        if not rows:
            break
        for entry in rows:
            if entry.seq != expected_seq:
                return VerifyResult(False, checked, expected_seq, "audit.verify.missing_row")
            if entry.prev_mac != prev_mac or not hmac.compare_digest(
                entry.mac, _mac(prev_mac, entry)
            ):
                return VerifyResult(False, checked, entry.seq, "audit.verify.altered_row")
            prev_mac, expected_seq, last_seq = entry.mac, entry.seq + 1, entry.seq
            checked += 1
    checkpoint = read_checkpoint()
    if checkpoint:
        if not hmac.compare_digest(
            checkpoint.get("check", ""), _checkpoint_mac(checkpoint["seq"], checkpoint["mac"])
        ):
            return VerifyResult(False, checked, checkpoint["seq"], "audit.verify.bad_checkpoint")
        if last_seq < checkpoint["seq"]:
            return VerifyResult(False, checked, last_seq + 1, "audit.verify.truncated")
        at = session.exec(
            select(AuditEntry.mac).where(AuditEntry.seq == checkpoint["seq"])
        ).scalar_one_or_none()
        if at != checkpoint["mac"]:
            return VerifyResult(False, checked, checkpoint["seq"], "audit.verify.altered_row")
    elif checked:
        return VerifyResult(False, checked, None, "audit.verify.no_checkpoint")
    return VerifyResult(True, checked)


@requires("audit.read")
def check_chain(session: Session, *, actor: Actor) -> VerifyResult:
    """The auditor's "verify" button: the same check as `custapp audit verify`, audited."""
    result = verify_chain(session)
    record(session, actor=actor, action="audit.verify", outcome="ok" if result.ok else "failed")
    return result


# --- reading (auditor page) ---------------------------------------------------------------


@dataclass(frozen=True)
class AuditFilter:
    action: str = ""
    actor: str = ""
    outcome: str = ""
    customer_id: int | None = None
    since: datetime | None = None
    until: datetime | None = None


@dataclass(frozen=True)
class AuditRow:
    seq: int
    created_at: datetime
    actor_name: str
    action: str
    outcome: str
    target: str
    customer_id: int | None
    fields: str
    reason: str
    ip: str


def _filtered(query, f: AuditFilter):  # noqa: ANN001, ANN202
    if f.action:
        query = query.where(AuditEntry.action.startswith(f.action))
    if f.actor:
        query = query.where(AuditEntry.actor_name == f.actor)
    if f.outcome:
        query = query.where(AuditEntry.outcome == f.outcome)
    if f.customer_id is not None:
        query = query.where(AuditEntry.customer_id == f.customer_id)
    if f.since is not None:
        query = query.where(AuditEntry.created_at >= f.since)
    if f.until is not None:
        query = query.where(AuditEntry.created_at < f.until)
    return query


@requires("audit.read")
def list_entries(
    session: Session, *, actor: Actor, filters: AuditFilter, page: int = 1, page_size: int = 50
) -> tuple[list[AuditRow], int]:
    """One page of entries, newest first, and the total count for the filter."""
    page_size = max(1, min(page_size, 200))
    total = session.exec(_filtered(select(func.count(AuditEntry.id)), filters)).scalar_one()
    rows = (
        session.exec(
            _filtered(select(AuditEntry), filters)
            .order_by(AuditEntry.seq.desc())
            .offset((max(page, 1) - 1) * page_size)
            .limit(page_size)
        )
        .scalars()
        .all()
    )
    record(session, actor=actor, action="audit.list", detail={"page": page})
    return [
        AuditRow(
            seq=e.seq,
            created_at=e.created_at,
            actor_name=e.actor_name,
            action=e.action,
            outcome=e.outcome,
            target=f"{e.target_type}:{e.target_id}" if e.target_type else "",
            customer_id=e.customer_id,
            fields=e.fields or "",
            reason=e.reason or "",
            ip=e.ip or "",
        )
        for e in rows
    ], total
