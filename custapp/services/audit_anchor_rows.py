"""The signed anchors of the audit chain, below audit.py: their signature and where verification
starts. services/audit_anchors.py writes anchors; audit.verify_chain reads them through here.

An anchor's signature is an HMAC with the audit key (outside the database) over its canonical
fields, under its own prefix so it can never pass for an entry's MAC or the checkpoint's.
"""

from __future__ import annotations

import hmac
import json
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlmodel import Session

from custapp.models import AuditAnchor, AuditEntry
from custapp.security.keys import get_keys

GENESIS = "0" * 64
SEAL = "seal"
RESTORE = "restore"
# the entries that name an anchor (target_type, target_id = the anchor's id)
ANCHOR_TARGET = "audit_anchor"
ANCHORING_ACTIONS = ("audit.seal", "audit.reanchor")


def sign(
    *,
    kind: str,
    seq: int,
    mac: str,
    lost_from: int | None,
    lost_to: int | None,
    approved_by: str,
    created_at: datetime,
) -> str:
    fields = [kind, seq, mac, lost_from, lost_to, approved_by, created_at.isoformat()]
    canonical = json.dumps(fields, separators=(",", ":")).encode()
    return hmac.new(get_keys().audit, b"anchor:" + canonical, "sha256").hexdigest()


def signature_ok(anchor: AuditAnchor) -> bool:
    expected = sign(
        kind=anchor.kind,
        seq=anchor.seq,
        mac=anchor.mac,
        lost_from=anchor.lost_from,
        lost_to=anchor.lost_to,
        approved_by=anchor.approved_by,
        created_at=anchor.created_at,
    )
    return hmac.compare_digest(anchor.signature, expected)


@dataclass(frozen=True)
class ChainStart:
    """Where the remaining chain begins: its first entry must be seq + 1, chained from mac.
    `problem` (an i18n key, at `bad_seq`) when an anchor is forged, altered or deleted."""

    seq: int = 0
    mac: str = GENESIS
    problem: str | None = None
    bad_seq: int | None = None


def chain_start(session: Session) -> ChainStart:
    """Every anchor's signature checked, and every remaining seal/re-anchor entry's anchor
    present; the start is the newest seal (or the genesis)."""
    anchors = session.exec(select(AuditAnchor).order_by(AuditAnchor.id)).scalars().all()
    for anchor in anchors:
        if not signature_ok(anchor):
            return ChainStart(problem="audit.verify.bad_anchor", bad_seq=anchor.seq)
    orphan = _unanchored_entry(session, {a.id for a in anchors})
    if orphan is not None:  # an anchor row deleted: its entry still names it
        return ChainStart(problem="audit.verify.missing_anchor", bad_seq=orphan)
    seals = [a for a in anchors if a.kind == SEAL]
    if not seals:
        return ChainStart()
    newest = max(seals, key=lambda a: a.seq)
    return ChainStart(newest.seq, newest.mac)


def _unanchored_entry(session: Session, anchor_ids: set[int | None]) -> int | None:
    """The seq of the first remaining seal/re-anchor entry whose anchor row is gone."""
    rows = session.exec(
        select(AuditEntry.seq, AuditEntry.target_id)
        .where(AuditEntry.action.in_(ANCHORING_ACTIONS))
        .order_by(AuditEntry.seq)
    ).all()
    for seq, target_id in rows:
        if not (target_id or "").isdigit() or int(target_id) not in anchor_ids:
            return seq
    return None


def sealed_mac(session: Session, seq: int) -> str | None:
    """The chain MAC at `seq` kept by a seal anchor there (its entry itself is gone)."""
    return session.exec(
        select(AuditAnchor.mac)
        .where(AuditAnchor.kind == SEAL, AuditAnchor.seq == seq)
        .order_by(AuditAnchor.id.desc())
        .limit(1)
    ).scalar_one_or_none()
