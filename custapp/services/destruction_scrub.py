"""销毁之后 (issue 16, DS): what happens once a destruction has committed.

The order of a destruction (destruction_run.run_candidates): the rows are wiped and flushed,
the register lines (intent and key ids) are appended and fsynced, the transaction commits, and
only then are the data keys deleted from the key store (`shred_after_commit`). A failed append
or commit leaves the keys, and with them every ciphertext the rolled-back rows still hold. A
crash or a key-store error between the commit and the shred leaves a key whose
data_keys.destroyed_at is set: `shred_leftovers`, run by the daily destruction step, deletes
every such key (keyset pages over the partial index ix_data_keys_destroyed, migration 0019).

PostgreSQL keeps the old row versions of an UPDATE or DELETE (dead tuples) in the table files
until a VACUUM reclaims them: `vacuum_wiped` runs a plain VACUUM (not FULL: no exclusive lock,
the pages are reused, not returned) of the tables a destruction writes to, outside any
transaction, after a queue run and in the daily step. SQLite needs none (secure_delete zeroes
freed pages, the WAL is checkpointed after the commit: destruction_apply.checkpoint_after_commit).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime

from sqlalchemy import event, select
from sqlalchemy.exc import DBAPIError
from sqlmodel import Session

from custapp.models import DataKey, DestructionCandidate
from custapp.security import keystore
from custapp.services.destruction_apply import WIPED_TABLES
from custapp.vocab import DestructionStatus

log = logging.getLogger(__name__)

RECONCILE_BATCH = 1000
_PENDING = "custapp_destruction_shred"
_LISTENING = "custapp_destruction_shred_listening"


# --- the keys, after the commit ---------------------------------------------------------------------


def shred_after_commit(session: Session, key_ids: list[int]) -> None:
    """Delete these data keys from the key store once this session's transaction has committed
    (never if it rolls back: the rows still need them)."""
    if not key_ids:
        return
    session.info[_PENDING] = [*session.info.get(_PENDING, ()), *key_ids]
    if not session.info.get(_LISTENING):
        event.listen(session, "after_commit", _shred_pending)
        event.listen(session, "after_rollback", _drop_pending)
        session.info[_LISTENING] = True


def _drop_pending(session: Session) -> None:
    session.info.pop(_PENDING, None)


def _shred_pending(session: Session) -> None:
    key_ids = sorted(set(session.info.pop(_PENDING, ())))
    if not key_ids:
        return
    try:
        keystore.destroy(key_ids)
    except Exception as exc:  # noqa: BLE001 (committed: the reconciler finishes the shred)
        log.error(
            "destruction: %d data keys not shredded after the commit (%s); "
            "the daily destruction step shreds them",
            len(key_ids),
            type(exc).__name__,
        )


def shred_leftovers(session_factory: Callable, *, batch: int = RECONCILE_BATCH) -> int:
    """Delete from the key store every key the app database marks destroyed (a shred that a
    crash or an error cut short after its commit) -> how many were still there."""
    shredded, after = 0, 0
    while True:
        with session_factory(write=False) as session:
            ids = list(
                session.exec(
                    select(DataKey.id)
                    .where(DataKey.destroyed_at.is_not(None), DataKey.id > after)
                    .order_by(DataKey.id)
                    .limit(batch)
                ).scalars()
            )
        if not ids:
            break
        present = keystore.get_many(ids)
        if present:
            shredded += keystore.destroy(sorted(present))
        after = ids[-1]
    if shredded:
        log.warning("destruction: %d data keys left after their destruction shredded", shredded)
    return shredded


# --- PostgreSQL's dead tuples ------------------------------------------------------------------------


def vacuum_wiped(session_factory: Callable) -> bool:
    """PostgreSQL: a plain VACUUM of the tables a destruction writes to, outside a transaction
    (autocommit), so the wiped row versions leave the table files -> whether it ran. A failure
    is logged (autovacuum gets there later) and does not undo the destructions."""
    with session_factory(write=False) as session:
        bind = session.get_bind()
    if bind.dialect.name != "postgresql":
        return False
    engine = bind.execution_options(custapp_read_only=False, isolation_level="AUTOCOMMIT")
    tables = ", ".join(f'"{name}"' for name in WIPED_TABLES)
    try:
        with engine.connect() as conn:
            conn.exec_driver_sql(f"VACUUM {tables}")
    except DBAPIError as exc:
        log.error("destruction: VACUUM after the destructions failed (%s)", type(exc).__name__)
        return False
    return True


def destroyed_since(session_factory: Callable, since: datetime) -> bool:
    """Whether any candidate was carried out since `since` (an approval executed at once, a
    `destruction.run` job): the daily step then vacuums even when its own run destroyed none."""
    with session_factory(write=False) as session:
        return (
            session.exec(
                select(DestructionCandidate.id)
                .where(
                    DestructionCandidate.status == DestructionStatus.DONE,
                    DestructionCandidate.done_at >= since,
                )
                .limit(1)
            ).first()
            is not None
        )
