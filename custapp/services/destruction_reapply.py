"""销毁的重做 (issue 16, DS): after a restore, the destruction register is applied to the restored
database again (services/backup_restore.py calls it through services/destruction.reapply): every
customer the register records is destroyed again, its keys shredded (a key-store copy older
than the destruction still held them), the queue's history written back. Idempotent.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from sqlalchemy import select
from sqlmodel import Session

from custapp import clock
from custapp.models import Customer, DestructionCandidate, RightsRequest
from custapp.services import audit, destruction_apply
from custapp.services.actor import system_actor
from custapp.services.destruction_run import RUN_BATCH, request_step
from custapp.vocab import DestructionScope, DestructionStatus

# --- after a restore ------------------------------------------------------------------------------


def _moment(text: object) -> datetime | None:
    return datetime.fromisoformat(text) if isinstance(text, str) and text else None


def _mirror(session: Session, entry: dict, now: datetime) -> None:
    """The candidate of a register line, as the queue's history shows it: marked done, or
    written again when the restored database is older than it."""
    candidate = session.exec(
        select(DestructionCandidate).where(DestructionCandidate.number == entry["candidate"])
    ).scalar_one_or_none()
    done_at = _moment(entry.get("at")) or now
    if candidate is None:
        request_id = entry.get("request_id")
        if request_id is not None and session.get(RightsRequest, request_id) is None:
            request_id = None
        candidate = DestructionCandidate(
            number=entry["candidate"],
            customer_id=entry["customer_id"],
            scope=entry.get("scope") or DestructionScope.CUSTOMER,
            category=entry.get("category") or "",
            reason_kind=entry.get("reason") or "manual",
            rule_category=entry.get("rule"),
            rights_request_id=request_id,
            note="",
            created_at=done_at,
            appraisal_note="",
        )
        session.add(candidate)
    for name in ("proposed_by", "appraised_by", "approved_by"):
        user_id = entry.get(name)
        setattr(candidate, name, user_id if isinstance(user_id, int) else None)
    candidate.status, candidate.done_at = DestructionStatus.DONE, done_at
    candidate.method, candidate.blocked_reason = entry.get("method"), None
    session.flush()
    if candidate.rights_request_id is not None:
        request_step(session, candidate, done=True)


def _reapply_chunk(session: Session, chunk: list[dict]) -> tuple[int, list[int]]:
    now = clock.now()
    present = set(
        session.exec(
            select(Customer.id).where(Customer.id.in_({e["customer_id"] for e in chunk}))
        ).scalars()
    )
    entries = [e for e in chunk if e["customer_id"] in present]
    whole = [e["customer_id"] for e in entries if e.get("scope") == DestructionScope.CUSTOMER]
    wiped = destruction_apply.wipe_customers(session, whole, now=now)["customers"]
    applied = len(wiped)
    for entry in entries:
        if entry.get("scope") == DestructionScope.CATEGORY:
            live = session.get(Customer, entry["customer_id"])
            if live.destroyed_at is None:
                applied += bool(
                    destruction_apply.wipe_category(
                        session, live.id, entry["category"], before=_moment(entry.get("before"))
                    )
                )
        _mirror(session, entry, now)
    keys = [k for e in chunk for k in (e.get("key_id"), *(m[1] for m in e.get("merged", [])))]
    keys += [w["key_id"] for w in wiped] + [m[1] for w in wiped for m in w["merged"]]
    if wiped:
        audit.record(
            session,
            actor=system_actor("destruction.reapply"),
            action="destruction.reapply",
            detail={"customers": [w["id"] for w in wiped][:200], "count": len(wiped)},
        )
    return applied, [k for k in keys if isinstance(k, int)]


def reapply(session_factory: Callable, entries: list[dict], *, batch: int = RUN_BATCH) -> int:
    """After a restore: make everything the register records destroyed in this database again
    (idempotent): customers wiped and their keys shredded (a key-store copy older than the
    destruction still held them), categories destroyed, the queue's history written back.
    -> how many customers or categories had to be destroyed again."""
    applied = 0
    for start in range(0, len(entries), batch):
        with session_factory() as session:
            count, keys = _reapply_chunk(session, entries[start : start + batch])
            session.flush()
            destruction_apply.shred(keys)
        applied += count
    return applied
