"""Per-customer data keys: created, unwrapped (cached), re-wrapped on master key rotation."""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache

from sqlalchemy import bindparam, func, select
from sqlmodel import Session

from custapp import clock
from custapp.models import DataKey
from custapp.security import crypto
from custapp.security.keys import get_keys
from custapp.services.errors import DomainError


def create_data_key(session: Session, *, purpose: str = "customer") -> DataKey:
    version, wrapped = crypto.wrap_data_key(get_keys().master, crypto.generate_data_key())
    row = DataKey(purpose=purpose, wrapped=wrapped, master_version=version, created_at=clock.now())
    session.add(row)
    session.flush()
    return row


@lru_cache(maxsize=4096)
def _unwrap(version: int, wrapped: str) -> bytes:
    return crypto.unwrap_data_key(get_keys().master, version, wrapped)


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


# Built once, Core: preloading a page's keys is on every search's path.
_KEYS_BY_ID = select(DataKey.id, DataKey.master_version, DataKey.wrapped).where(
    DataKey.id.in_(bindparam("ids", expanding=True)), DataKey.wrapped.is_not(None)
)


def preload(session: Session, key_ids) -> None:  # noqa: ANN001 (any iterable of ids)
    """Load many data keys in one query (a page of customers); destroyed keys stay absent."""
    cache = session.info.setdefault(_SESSION_KEYS, {})
    wanted = {i for i in key_ids if i not in cache}
    if not wanted:
        return
    # Pending changes first, as the ORM query's autoflush did (a key created in this unit of
    # work is readable before the flush).
    session.flush()
    for key_id, version, wrapped in session.connection().execute(
        _KEYS_BY_ID, {"ids": sorted(wanted)}
    ):
        cache[key_id] = _unwrap(version, wrapped)


def remember_wrapped(session: Session, keys) -> None:  # noqa: ANN001
    """Keys read along with the rows that use them: (id, master version, wrapped or None).

    A destroyed key (wrapped is None) stays absent, as in `preload`."""
    cache = session.info.setdefault(_SESSION_KEYS, {})
    for key_id, version, wrapped in keys:
        if wrapped is not None and key_id not in cache:
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
    session_factory: Callable,
    *,
    batch: int = 500,
    progress: Callable[[int, int], None] | None = None,
) -> int:
    """Re-wrap every live data key under the ring's current version, one batch per transaction.

    Reads keep working throughout: a key not yet re-wrapped still opens with its old version,
    which stays in the ring.
    """
    ring = get_keys().master
    current = ring.current_version
    done = 0
    with session_factory(write=False) as session:
        total_count = session.exec(
            select(func.count(DataKey.id)).where(
                DataKey.master_version != current, DataKey.wrapped.is_not(None)
            )
        ).scalar_one()
    while True:
        with session_factory() as session:
            rows = (
                session.exec(
                    select(DataKey)
                    .where(DataKey.master_version != current, DataKey.wrapped.is_not(None))
                    .order_by(DataKey.id)
                    .limit(batch)
                )
                .scalars()
                .all()
            )
            if not rows:
                break
            for row in rows:
                key = crypto.unwrap_data_key(ring, row.master_version, row.wrapped)
                row.master_version, row.wrapped = crypto.wrap_data_key(ring, key)
            done += len(rows)
        if progress:
            progress(done, total_count)
    return done
