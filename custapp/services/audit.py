"""The audit log: one writer, an HMAC chain, and a head checkpoint kept outside the database.

Each entry's MAC covers its own fields and the previous entry's MAC, keyed with a key outside the
database, so editing or deleting a row breaks the chain at that row. Deleting the newest rows
leaves a valid but shorter chain; the checkpoint file (count and last MAC, itself MACed) catches
that. The checkpoint only advances along the chain it vouches for: rows deleted, the head rewound
and new entries written past it leave it where it was, so verify names the rewritten row. Entries
hold ids, field names and reasons: never a value.
"""

from __future__ import annotations

import fcntl
import hmac
import json
import logging
import os
import threading
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import bindparam, event, func, select
from sqlmodel import Session

from custapp import clock
from custapp.models import AuditEntry, AuditHead
from custapp.security.keys import get_keys
from custapp.security.validators import REASON_PERSONAL, holds_personal_number
from custapp.services.actor import Actor
from custapp.services.audit_anchor_rows import GENESIS, chain_start, sealed_mac
from custapp.services.errors import ValidationFailed
from custapp.services.guard import requires
from custapp.services.paging import page_window
from custapp.settings import get_settings

_PENDING = "custapp_audit_checkpoint"
_OFF_CHAIN = "custapp_audit_off_chain"
_FORCED = "custapp_audit_forced"
log = logging.getLogger(__name__)


_CANONICAL = (
    "seq",
    "created_at",
    "actor_id",
    "actor_name",
    "action",
    "outcome",
    "target_type",
    "target_id",
    "customer_id",
    "fields",
    "reason",
    "ip",
    "detail",
)


def _canonical_values(values: dict) -> bytes:
    fields = [values[name] for name in _CANONICAL]
    fields[1] = fields[1].isoformat()  # created_at
    return json.dumps(fields, ensure_ascii=False, separators=(",", ":")).encode()


def _canonical(entry: AuditEntry) -> bytes:
    return _canonical_values({name: getattr(entry, name) for name in _CANONICAL})


def _mac_of(prev_mac: str, canonical: bytes) -> str:
    return hmac.new(get_keys().audit, prev_mac.encode() + canonical, "sha256").hexdigest()


def _mac(prev_mac: str, entry: AuditEntry) -> str:
    return _mac_of(prev_mac, _canonical(entry))


_HEAD = AuditHead.__table__
_LOG = AuditEntry.__table__
# Core statements, built once: the ORM's unit of work cost more than the rest of a search.
_LOCK_HEAD = select(_HEAD.c.seq, _HEAD.c.mac).where(_HEAD.c.id == 1).with_for_update()
_ADVANCE_HEAD = (
    _HEAD.update().where(_HEAD.c.id == 1).values(seq=bindparam("new_seq"), mac=bindparam("new_mac"))
)
_INSERT = _LOG.insert()
# PostgreSQL: the entry and the head's advance in one statement (one round trip fewer on every
# audited event); SQLite allows no INSERT inside a WITH, and has no round trips to save.
_ENTRY = _LOG.insert().values({c.name: bindparam(f"e_{c.name}") for c in _LOG.c if c.name != "id"})
_ENTRY = _ENTRY.returning(_LOG.c.id).cte("entry")
_INSERT_AND_ADVANCE = _ADVANCE_HEAD.add_cte(_ENTRY).returning(select(_ENTRY.c.id).scalar_subquery())
_MAC_AT = select(_LOG.c.mac).where(_LOG.c.seq == bindparam("seq"))


def _lock_head(session: Session) -> tuple[int, str]:
    """Lock the chain head (created by the first migration) so entries chain one at a time."""
    seq, mac = session.connection().execute(_LOCK_HEAD).one()
    if _PENDING not in session.info:  # the transaction's first entry
        session.info[_OFF_CHAIN] = not _descends_from_checkpoint(session, seq, mac)
    return seq, mac


def _descends_from_checkpoint(session: Session, head_seq: int, head_mac: str) -> bool:
    """Whether the locked head is on the chain the checkpoint vouches for: the entry at the
    checkpoint's seq still carries its MAC. Usually the head is the checkpoint (no query); a
    checkpoint behind it (another transaction's write still to come) costs one lookup."""
    checkpoint = read_checkpoint()
    if checkpoint is None or (checkpoint["seq"], checkpoint["mac"]) == (head_seq, head_mac):
        return True
    if checkpoint["seq"] > head_seq:  # the head was rewound below what was once written
        return False
    at = session.connection().execute(_MAC_AT, {"seq": checkpoint["seq"]}).scalar_one_or_none()
    return (at or sealed_mac(session, checkpoint["seq"])) == checkpoint["mac"]


def _entry_values(
    seq: int,
    prev_mac: str,
    created_at: datetime,
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
) -> dict:
    """The row of entry `seq` chained after `prev_mac`, its MAC included (record's keyword
    arguments after the first three)."""
    if target_type is None and customer_id is not None:
        target_type, target_id = "customer", customer_id
    if holds_personal_number(reason):  # the services refuse it at the field first
        raise ValidationFailed({"reason": REASON_PERSONAL})
    # A plain dict, not an AuditEntry: building the SQLModel instance cost a tenth of a search.
    values = {
        "seq": seq,
        "created_at": created_at,
        "actor_id": actor.user_id if actor else None,
        "actor_name": (actor_name or (actor.name if actor else "anonymous"))[:60],
        "action": action,
        "outcome": outcome,
        "target_type": target_type,
        "target_id": None if target_id is None else str(target_id),
        "customer_id": customer_id,
        "fields": ",".join(fields) if fields else None,
        "reason": reason[:500] if reason else None,
        "ip": actor.ip if actor else None,
        "detail": json.dumps(detail, sort_keys=True, ensure_ascii=False) if detail else None,
        "prev_mac": prev_mac,
    }
    values["mac"] = _mac_of(prev_mac, _canonical_values(values))
    return values


def _now() -> datetime:
    return clock.now().replace(microsecond=0)


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
    # The caller's pending rows first, then the head lock, in that order as before (the ORM's
    # autoflush did this): locking the head before them could deadlock with another writer.
    session.flush()
    head_seq, head_mac = _lock_head(session)
    values = _entry_values(
        head_seq + 1, head_mac or GENESIS, _now(), actor=actor, action=action, outcome=outcome,
        target_type=target_type, target_id=target_id, customer_id=customer_id, fields=fields,
        reason=reason, detail=detail, actor_name=actor_name,
    )  # fmt: skip
    connection = session.connection()
    advance = {"new_seq": values["seq"], "new_mac": values["mac"]}
    if connection.dialect.name == "postgresql":
        entry_values = {f"e_{name}": value for name, value in values.items()}
        entry_id = connection.execute(_INSERT_AND_ADVANCE, {**entry_values, **advance}).scalar_one()
    else:
        entry_id = connection.execute(_INSERT, values).inserted_primary_key[0]
        connection.execute(_ADVANCE_HEAD, advance)
    _checkpoint_after_commit(session, values["seq"], values["mac"])
    # What was written, as a record not attached to any session (as before: never added).
    return AuditEntry.model_construct(id=entry_id, **values)


def record_many(session: Session, entries: list[dict]) -> int:
    """Append several entries in the caller's transaction, in the order given: each dict holds
    `record`'s keyword arguments (actor, action, customer_id, detail, ...). One head lock, the
    MACs chained in Python, one executemany INSERT, one head advance, one checkpoint; all share
    one created_at. Returns how many were written."""
    if not entries:
        return 0
    session.flush()  # as in record: the caller's rows before the head lock
    head_seq, head_mac = _lock_head(session)
    created_at, prev_mac, rows = _now(), head_mac or GENESIS, []
    for offset, entry in enumerate(entries, start=1):
        values = _entry_values(head_seq + offset, prev_mac, created_at, **entry)
        prev_mac = values["mac"]
        rows.append(values)
    connection = session.connection()
    connection.execute(_INSERT, rows)
    last = rows[-1]
    connection.execute(_ADVANCE_HEAD, {"new_seq": last["seq"], "new_mac": last["mac"]})
    for row in rows[-2:]:  # the slot of the entry before the last holds it, not an older head
        _checkpoint_after_commit(session, row["seq"], row["mac"])
    return len(rows)


# --- head checkpoint outside the database -------------------------------------------------
#
# The file holds two fixed-size slots (JSON lines padded to _SLOT bytes); entry `seq` goes to
# slot seq % 2, written in place with one pwrite under an flock: no temporary file, no rename
# (a rename over the old file made ext4 flush it, ~3 ms per audited event). A write torn by a
# crash can spoil only the slot being written; the other slot still holds the previous head,
# one entry behind (a transaction writes its last two advances, one per slot), so the check
# never loses more than the one entry that was being written.
# Like the rename before it, nothing is fsynced: a power cut may lose the newest advance.

_SLOT = 512
_FILE_SIZE = 2 * _SLOT
_thread_lock = threading.Lock()
_open: dict[str, object] = {"key": None, "fd": None}


_LISTENING = "custapp_audit_listening"


def _checkpoint_after_commit(session: Session, seq: int, mac: str) -> None:
    """After the commit, the head goes to the checkpoint: the last two advances of the
    transaction, one per slot, so a torn write of the newest leaves the one before it."""
    session.info[_PENDING] = [*session.info.get(_PENDING, ())[-1:], (seq, mac)]
    if not session.info.get(_LISTENING):  # a flag: event.contains is slow
        if not event.contains(session, "after_commit", _write_pending):
            event.listen(session, "after_commit", _write_pending)
            event.listen(session, "after_rollback", _drop_pending)
        session.info[_LISTENING] = True


def _drop_pending(session: Session) -> None:
    """Rolled back: those entries were never written."""
    session.info.pop(_PENDING, None)
    session.info.pop(_OFF_CHAIN, None)
    session.info.pop(_FORCED, None)


def force_checkpoint_after_commit(session: Session, seq: int, mac: str) -> None:
    """After the commit the checkpoint is SET to (seq, mac), even below what it held: only for
    the approved re-anchoring after a restore (services/audit_anchors.py) that wrote `seq`."""
    _checkpoint_after_commit(session, seq, mac)
    session.info[_FORCED] = (seq, mac)


def _write_pending(session: Session) -> None:
    pending = session.info.pop(_PENDING, ())
    forced = session.info.pop(_FORCED, None)
    if forced:  # the old checkpoint's chain is left behind on purpose: the rest follows it
        session.info.pop(_OFF_CHAIN, None)
        write_checkpoint(*forced, force=True)
    elif session.info.pop(_OFF_CHAIN, False):
        # Rows were deleted and the head rewound: the checkpoint stays on the old chain, so
        # `audit verify` fails (and alerts) however many entries are written after.
        log.error("audit head is off the checkpoint's chain; checkpoint not advanced")
        return
    for seq, mac in pending:
        write_checkpoint(seq, mac)


def _checkpoint_mac(seq: int, mac: str) -> str:
    return hmac.new(get_keys().audit, f"head:{seq}:{mac}".encode(), "sha256").hexdigest()


def _parse(data: bytes) -> dict | None:
    """The slot with the highest seq (older single-object files read as one slot)."""
    best = None
    for chunk in data.replace(b"\0", b"").split(b"\n"):
        try:
            slot = json.loads(chunk)
        except ValueError:
            continue  # empty, or torn by a crash
        valid = isinstance(slot, dict) and isinstance(slot.get("seq"), int)
        if valid and (best is None or slot["seq"] > best["seq"]):
            best = slot
    return best


def _slot(seq: int, mac: str) -> bytes:
    line = json.dumps({"seq": seq, "mac": mac, "check": _checkpoint_mac(seq, mac)}).encode()
    return line.ljust(_SLOT - 1) + b"\n"


def _checkpoint_fd() -> int:
    """This process's descriptor of the checkpoint file (reopened after a fork, a change of
    path, or when the file was replaced or removed)."""
    path = get_settings().audit_checkpoint
    key, fd = _open["key"], _open["fd"]
    if key is not None and key[0] == os.getpid() and key[1] == str(path):
        try:
            if os.path.samestat(os.fstat(fd), os.stat(path)):  # type: ignore[arg-type]
                return fd  # type: ignore[return-value]
        except OSError:
            pass
    if fd is not None and key is not None and key[0] == os.getpid():
        os.close(fd)  # type: ignore[arg-type]
    _open["key"] = _open["fd"] = None
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    os.fchmod(fd, 0o600)  # one an older version left readable to others, too
    _open["key"], _open["fd"] = (os.getpid(), str(path)), fd
    return fd


def write_checkpoint(seq: int, mac: str, *, force: bool = False) -> None:
    """Advance the checkpoint; never move it back (several workers and threads write it).
    force=True sets both slots to (seq, mac), back or forward: the re-anchoring only."""
    with _thread_lock:
        fd = _checkpoint_fd()
        fcntl.flock(fd, fcntl.LOCK_EX)
        try:
            if force:
                os.pwrite(fd, _slot(seq, mac) * 2, 0)
                os.ftruncate(fd, _FILE_SIZE)
                return
            data = os.pread(fd, _FILE_SIZE + 1, 0)
            current = _parse(data)
            if current and current["seq"] >= seq:
                return
            if len(data) != _FILE_SIZE:  # new, or written by an older version: lay out slots
                first = _slot(current["seq"], current["mac"]) if current else b" " * 511 + b"\n"
                os.pwrite(fd, first + first, 0)
                os.ftruncate(fd, _FILE_SIZE)
            os.pwrite(fd, _slot(seq, mac), (seq % 2) * _SLOT)
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)


def read_checkpoint() -> dict | None:
    path = get_settings().audit_checkpoint
    try:
        with open(path, "rb") as f:
            fcntl.flock(f, fcntl.LOCK_SH)
            return _parse(f.read())
    except FileNotFoundError:
        return None


# --- verification -------------------------------------------------------------------------


@dataclass(frozen=True)
class VerifyResult:
    ok: bool
    checked: int
    bad_seq: int | None = None
    problem: str | None = None  # i18n key


def _entries(session: Session, after_seq: int, batch: int):  # noqa: ANN202
    """The entries after `after_seq` in order, fetched `batch` at a time."""
    query = select(AuditEntry).order_by(AuditEntry.seq).limit(batch)
    while rows := session.exec(query.where(AuditEntry.seq > after_seq)).scalars().all():
        yield from rows
        after_seq = rows[-1].seq


def walk_chain(
    session: Session, after_seq: int, prev_mac: str, *, upto: int | None = None, batch: int = 5000
) -> tuple[VerifyResult, int]:
    """Walk the entries after `after_seq` (chained from `prev_mac`) up to `upto` (or the end):
    the result naming the first row that does not fit, and the last seq that did."""
    checked, last_seq = 0, after_seq
    for entry in _entries(session, after_seq, batch):
        if upto is not None and entry.seq > upto:
            break
        if entry.seq != last_seq + 1:  # at the very start: rows cut without a valid anchor
            missing = "audit.verify.missing_row" if checked else "audit.verify.unsealed_cut"
            return VerifyResult(False, checked, last_seq + 1, missing), last_seq
        if entry.prev_mac != prev_mac or not hmac.compare_digest(entry.mac, _mac(prev_mac, entry)):
            return VerifyResult(False, checked, entry.seq, "audit.verify.altered_row"), last_seq
        prev_mac, last_seq, checked = entry.mac, entry.seq, checked + 1
    if upto is not None and last_seq < upto:
        return VerifyResult(False, checked, last_seq + 1, "audit.verify.missing_row"), last_seq
    return VerifyResult(True, checked), last_seq


def verify_chain(session: Session, *, batch: int = 5000) -> VerifyResult:
    """Walk the chain in order from its start (the newest seal anchor, or the genesis); name the
    first row, or anchor, that does not fit; then check the head against the checkpoint."""
    start = chain_start(session)
    if start.problem:
        return VerifyResult(False, 0, start.bad_seq, start.problem)
    result, last_seq = walk_chain(session, start.seq, start.mac, batch=batch)
    checkpoint, checked = read_checkpoint(), result.checked
    if not result.ok:
        return result
    if checkpoint:
        if not hmac.compare_digest(
            checkpoint.get("check", ""), _checkpoint_mac(checkpoint["seq"], checkpoint["mac"])
        ):
            return VerifyResult(False, checked, checkpoint["seq"], "audit.verify.bad_checkpoint")
        if last_seq < checkpoint["seq"]:
            return VerifyResult(False, checked, last_seq + 1, "audit.verify.truncated")
        at = session.exec(
            select(AuditEntry.mac).where(AuditEntry.seq == checkpoint["seq"])
        ).scalar_one_or_none() or sealed_mac(session, checkpoint["seq"])
        if at != checkpoint["mac"]:  # a valid chain, but not the one the checkpoint saw
            return VerifyResult(False, checked, checkpoint["seq"], "audit.verify.rewritten")
    elif checked:
        return VerifyResult(False, checked, None, "audit.verify.no_checkpoint")
    return VerifyResult(True, checked)


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
    window = page_window(page, page_size, default_size=50, max_size=200)
    total = session.exec(_filtered(select(func.count(AuditEntry.id)), filters)).scalar_one()
    rows = (
        session.exec(
            _filtered(select(AuditEntry), filters)
            .order_by(AuditEntry.seq.desc())
            .offset(window.offset)
            .limit(window.limit)
        )
        .scalars()
        .all()
    )
    record(session, actor=actor, action="audit.list", detail={"page": window.number})
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
