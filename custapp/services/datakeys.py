"""Per-customer data keys: created, unwrapped (cached), re-wrapped on master key rotation.

The app database holds only the ids (`data_keys`: allocator and tombstone); the wrapped keys
live in the key store (custapp/security/keystore.py, issue 16)."""

from __future__ import annotations

import time
from collections.abc import Callable
from functools import lru_cache

from sqlalchemy import select
from sqlmodel import Session

from custapp import clock
from custapp.models import DataKey
from custapp.security import crypto, keystore
from custapp.security.keys import REFRESH_SECONDS, get_keys, reload_for_version
from custapp.services.errors import DomainError


def create_data_key(session: Session, *, purpose: str = "customer") -> DataKey:
    """A new data key: its id from `data_keys` (the app transaction), the wrapped key in the key
    store, committed there at once so it is durable before the app transaction commits. An id
    handed out again after this transaction rolls back replaces the orphan key (upsert)."""
    key = crypto.generate_data_key()
    version, wrapped = crypto.wrap_data_key(get_keys().master, key)
    row = DataKey(purpose=purpose, created_at=clock.now())
    session.add(row)
    session.flush()
    keystore.put(row.id, version, wrapped)
    remember(session, {row.id: key})
    return row


@lru_cache(maxsize=4096)
def _unwrap(version: int, wrapped: str) -> bytes:
    ring = get_keys().master
    if version not in ring.versions:
        # re-wrapped under a version this process has not seen: a rotation by another process
        # or host. The key source is re-read once (keys.reload_for_version), then it is final.
        ring = reload_for_version(version).master
    return crypto.unwrap_data_key(ring, version, wrapped)


_SESSION_KEYS = "custapp_data_keys"


def data_key(session: Session, key_id: int) -> bytes:
    """The unwrapped key, looked up once per unit of work however many fields it opens."""
    cache = session.info.setdefault(_SESSION_KEYS, {})
    if key_id not in cache:
        preload(session, [key_id])
    key = cache.get(key_id)
    if key is None:
        raise DomainError("error.data_destroyed")
    return key


def preload(session: Session, key_ids) -> None:  # noqa: ANN001 (any iterable of ids)
    """Load many data keys in one key-store query (a page of customers); destroyed keys stay
    absent."""
    cache = session.info.setdefault(_SESSION_KEYS, {})
    wanted = {i for i in key_ids if i is not None and i not in cache}
    if not wanted:
        return
    for key_id, (version, wrapped) in keystore.get_many(wanted).items():
        cache[key_id] = _unwrap(version, wrapped)


def remember(session: Session, keys: dict[int, bytes]) -> None:
    """Data keys this unit of work just created (a bulk insert): no need to read them back."""
    session.info.setdefault(_SESSION_KEYS, {}).update(keys)


def system_key(session: Session) -> tuple[int, bytes]:
    """The data key for what belongs to no customer (staff messages)."""
    row = session.exec(
        select(DataKey).where(DataKey.purpose == "system").order_by(DataKey.id).limit(1)
    ).scalar_one_or_none()
    if row is None:
        row = create_data_key(session, purpose="system")
    return row.id, data_key(session, row.id)


def encrypt(session: Session, key_id: int, value: str | None, *, context: str) -> str | None:
    if value is None or value == "":
        return None
    return crypto.encrypt_field(data_key(session, key_id), value, context=context)


def decrypt(session: Session, key_id: int, token: str | None, *, context: str) -> str:
    if not token:
        return ""
    return crypto.decrypt_field(data_key(session, key_id), token, context=context)


def rewrap_all(
    session_factory: Callable,  # noqa: ARG001 (public API: the keys no longer live in the app DB)
    *,
    batch: int = 500,
    progress: Callable[[int, int], None] | None = None,
    settle_seconds: float = 2 * REFRESH_SECONDS,
) -> int:
    """Re-wrap every live data key in the key store under the ring's current version, one batch
    per key-store transaction.

    Reads keep working throughout: a key not yet re-wrapped still opens with its old version,
    which stays in the ring, and a worker that meets the new version re-reads its ring. A key
    destroyed meanwhile stays destroyed (rewrap only updates). A worker that had not yet seen
    the new ring (up to keys.REFRESH_SECONDS after it was saved) may still wrap a new key under
    the old version: once every pass is done, one more after `settle_seconds` from the start
    takes those too.
    """
    ring = get_keys().master
    current = ring.current_version
    total = keystore.count_version_not(current)
    started = time.monotonic()
    done = _rewrap_passes(ring, batch, progress, total)
    wait = settle_seconds - (time.monotonic() - started)
    if wait > 0:
        time.sleep(wait)
        done += _rewrap_passes(ring, batch, None, total)
    return done


def _rewrap_passes(
    ring: crypto.KeyRing, batch: int, progress: Callable[[int, int], None] | None, total: int
) -> int:
    """Passes over the key store until one finds no key under an older version."""
    current, done = ring.current_version, 0
    while True:
        after, moved = 0, 0
        while rows := keystore.ids_with_version_not(current, batch, after_id=after):
            fresh = []
            for key_id, version, wrapped in rows:
                key = crypto.unwrap_data_key(ring, version, wrapped)
                fresh.append((key_id, *crypto.wrap_data_key(ring, key)))
            keystore.rewrap(fresh)
            moved += len(rows)
            after = rows[-1][0]
            if progress:
                progress(done + moved, max(total, done + moved))
        done += moved
        if not moved:
            return done
