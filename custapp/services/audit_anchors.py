"""Where the audit chain's start or head moves on purpose, signed (issue 16).

- After a restore, the database's chain ends at the backup's head while the checkpoint outside
  the database still names the newer, lost head: `audit verify` would fail for ever.
  `reanchor_after_restore` writes a signed 'restore' anchor and an `audit.reanchor` entry
  (approved by a sysadmin and a compliance officer, two people) and then sets the checkpoint to
  that entry. The chain itself is unchanged: every row still has to fit, so any tampering after
  (or before) still fails.
- Entries past their retention period go in sealed segments: `seal_before` writes a signed
  'seal' anchor holding the MAC of the last entry cut, then deletes the entries up to it in
  batches; verification starts at the newest seal. Entries younger than 180 days (the 6-month
  minimum) are never cut, whatever the cutoff.

Anchors hold seqs, MACs and user ids only; the audit entries name the anchor, never a value.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from datetime import datetime, timedelta

from sqlalchemy import delete, func, select
from sqlmodel import Session

from custapp import clock
from custapp.models import AuditAnchor, AuditEntry, AuditHead, User, UserRole
from custapp.security.permissions import COMPLIANCE, SYSADMIN
from custapp.services import audit
from custapp.services.actor import system_actor
from custapp.services.audit_anchor_rows import (
    ANCHOR_TARGET,
    GENESIS,
    RESTORE,
    SEAL,
    chain_start,
    sealed_mac,
    sign,
)
from custapp.services.errors import DomainError
from custapp.vocab import UserKind

MINIMUM_KEPT = timedelta(days=180)  # the audit log's 6-month minimum (SPEC, retention)
SEAL_BATCH = 5000


class AnchorRefused(DomainError):
    """The anchor was not written (i18n key: bad approvers, a head that does not match the
    backup, or a chain that does not verify, named at `seq`)."""


def _lock_head(session: Session) -> int:
    """The chain head's row, locked as audit.record does: one writer of the chain at a time."""
    return session.exec(
        select(AuditHead.seq).where(AuditHead.id == 1).with_for_update()
    ).scalar_one()


def _mac_at(session: Session, seq: int) -> str | None:
    """The chain MAC at `seq`: its entry's, a seal anchor's there, or the genesis."""
    if seq == 0:
        return GENESIS
    at = session.exec(select(AuditEntry.mac).where(AuditEntry.seq == seq)).scalar_one_or_none()
    return at or sealed_mac(session, seq)


def _add_anchor(
    session: Session,
    *,
    kind: str,
    seq: int,
    mac: str,
    lost_from: int | None = None,
    lost_to: int | None = None,
    approved_by: Iterable[int] = (),
) -> AuditAnchor:
    fields = {
        "kind": kind,
        "seq": seq,
        "mac": mac,
        "lost_from": lost_from,
        "lost_to": lost_to,
        "approved_by": json.dumps(sorted(approved_by)),
        "created_at": clock.now().replace(microsecond=0),
    }
    anchor = AuditAnchor(**fields, signature=sign(**fields))
    session.add(anchor)
    session.flush()
    return anchor


def _approvers_ok(session: Session, approver_ids: list[int]) -> bool:
    """Two different active staff users: one a sysadmin, the other a compliance officer."""
    if len(approver_ids) != 2 or len(set(approver_ids)) != 2:
        return False
    roles: dict[int, set[str]] = {user_id: set() for user_id in approver_ids}
    rows = session.exec(
        select(UserRole.user_id, UserRole.role)
        .join(User, User.id == UserRole.user_id)
        .where(
            UserRole.user_id.in_(approver_ids),
            User.is_active.is_(True),
            User.kind == UserKind.STAFF,
        )
    ).all()
    for user_id, role in rows:
        roles[user_id].add(role)
    first, second = (roles[user_id] for user_id in approver_ids)
    return (SYSADMIN in first and COMPLIANCE in second) or (
        COMPLIANCE in first and SYSADMIN in second
    )


def _refuse_broken_chain(session: Session, *, upto: int | None = None) -> int:
    """Walk the chain from its start (up to `upto`); refuse if it does not verify. -> the
    start's seq (the newest seal)."""
    start = chain_start(session)
    if start.problem:
        raise AnchorRefused(start.problem, seq=start.bad_seq)
    walked, _ = audit.walk_chain(session, start.seq, start.mac, upto=upto)
    if not walked.ok:
        raise AnchorRefused(walked.problem or "audit.verify.altered_row", seq=walked.bad_seq)
    return start.seq


def reanchor_after_restore(
    session: Session,
    *,
    backup_head_seq: int,
    backup_head_mac: str,
    lost_to: int | None,
    approver_ids: list[int],
) -> AuditEntry:
    """In the caller's (the restore's) transaction: the signed 'restore' anchor at the backup's
    head and the `audit.reanchor` entry chained from the current head; after the commit the
    checkpoint is set to that entry. `lost_to`: the last seq of the lost chain, if known."""
    if not _approvers_ok(session, list(approver_ids)):
        raise AnchorRefused("audit.reanchor.approvers")
    head_seq = _lock_head(session)
    backup_head_mac = backup_head_mac or GENESIS  # an empty backup's head: no entry yet
    if backup_head_seq > head_seq or _mac_at(session, backup_head_seq) != backup_head_mac:
        raise AnchorRefused("audit.reanchor.head_mismatch", seq=backup_head_seq)
    _refuse_broken_chain(session)
    lost = lost_to is not None and lost_to > backup_head_seq
    anchor = _add_anchor(
        session,
        kind=RESTORE,
        seq=backup_head_seq,
        mac=backup_head_mac,
        lost_from=backup_head_seq + 1 if lost else None,
        lost_to=lost_to if lost else None,
        approved_by=approver_ids,
    )
    entry = audit.record(
        session,
        actor=system_actor("restore"),
        action="audit.reanchor",
        target_type=ANCHOR_TARGET,
        target_id=anchor.id,
        detail={
            "backup_head_seq": backup_head_seq,
            "lost_from": anchor.lost_from,
            "lost_to": anchor.lost_to,
            "approved_by": sorted(approver_ids),
        },
    )
    audit.force_checkpoint_after_commit(session, entry.seq, entry.mac)
    return entry


def _sealable(session: Session, limit: datetime) -> tuple[int, int, str | None]:
    """(start, upto, mac at upto): the entries after the newest seal up to `upto` are all older
    than `limit` and verify (else AnchorRefused); upto <= start when there is nothing to seal."""
    start = chain_start(session).seq
    first_young = session.exec(
        select(func.min(AuditEntry.seq)).where(
            AuditEntry.seq > start, AuditEntry.created_at >= limit
        )
    ).scalar_one()
    upto = first_young - 1 if first_young is not None else _head_seq(session)
    if upto <= start:
        return start, upto, None
    _refuse_broken_chain(session, upto=upto)
    return start, upto, _mac_at(session, upto)


def _head_seq(session: Session) -> int:
    return session.exec(select(AuditHead.seq).where(AuditHead.id == 1)).scalar_one()


def _seal(session: Session, limit: datetime, start: int, upto: int, mac: str | None) -> int:
    """The signed seal anchor and its `audit.seal` entry, when the chain has not moved since it
    was walked. -> the seq up to which entries are sealed."""
    _lock_head(session)
    current = chain_start(session).seq
    if upto <= start or current != start:  # nothing new, or a concurrent run sealed first
        return current
    if mac is None or _mac_at(session, upto) != mac:
        raise AnchorRefused("audit.verify.altered_row", seq=upto)
    anchor = _add_anchor(session, kind=SEAL, seq=upto, mac=mac, lost_from=start + 1, lost_to=upto)
    audit.record(
        session,
        actor=system_actor("retention"),
        action="audit.seal",
        target_type=ANCHOR_TARGET,
        target_id=anchor.id,
        detail={"from": start + 1, "to": upto, "before": limit.date().isoformat()},
    )
    return upto


def _delete_batch(session: Session, sealed_to: int, limit: datetime, batch: int) -> int:
    oldest = (
        select(AuditEntry.seq)
        .where(AuditEntry.seq <= sealed_to, AuditEntry.created_at < limit)
        .order_by(AuditEntry.seq)
        .limit(batch)
    )
    result = session.connection().execute(delete(AuditEntry).where(AuditEntry.seq.in_(oldest)))
    return result.rowcount or 0


def seal_before(session_factory: Callable, cutoff: datetime, *, batch: int = SEAL_BATCH) -> int:
    """Seal the entries older than `cutoff` (but never one younger than 180 days): the signed
    anchor first, in the transaction of the first batch deleted, then one transaction per batch.
    Safe to run daily and after an interrupted run (it finishes the deletes of the newest seal).
    -> how many entries were deleted. Refuses (AnchorRefused) to seal a segment that does not
    verify: the evidence of tampering is never sealed away."""
    limit = min(cutoff, clock.now() - MINIMUM_KEPT)
    with session_factory(write=False) as session:  # the long walk holds no lock
        start, upto, mac = _sealable(session, limit)
    with session_factory() as session:
        sealed_to = _seal(session, limit, start, upto, mac)
        deleted = total = _delete_batch(session, sealed_to, limit, batch)
    while deleted == batch:
        with session_factory() as session:
            deleted = _delete_batch(session, sealed_to, limit, batch)
        total += deleted
    return total
