"""Reflex's Redis state manager with every stored state sealed (issue 17, SPEC §8).

Page states hold the one revealed value, complaint texts, notes and a temporary password just
issued; Reflex pickles each touched state into Redis as it is. `SealedStateManagerRedis` seals
each pickled state (custapp.security.state_seal) before it leaves the worker and opens it when
it is read back; the Redis key is the associated data. A blob that does not open (another tab's,
another instance's keys, written unsealed) reads as no state: that state starts over, as when
Reflex's own schema check fails, never an error page.

Where Reflex 0.10 touches state bytes, and what this class does there:
- writes: `set_state` serialises every touched state in `_collect_state_writes` for both its
  paths (the lock-fenced script and the plain pipeline; a lease flush and `close` go through
  `set_state`): overridden to seal.
- reads: `get_state` fetches the tree with one MGET and unpickles inline: the client is wrapped
  so MGET opens what it returns.
- a token that is not a BaseStateToken (a plain GET/SET of `token.serialize`) is refused: custapp
  has none, and refusing keeps such a path from storing plaintext unnoticed.
Locks, lock waiters and expiry are Reflex's, untouched. tests/states/test_redis_state_sealed.py
reads Redis raw to prove no plaintext gets there.
"""

from __future__ import annotations

import logging
from typing import Any

from redis.commands.helpers import list_or_args
from reflex.istate.manager.redis import StateManagerRedis
from reflex.istate.manager.token import BaseStateToken

from custapp.security.state_seal import open_sealed, seal

logger = logging.getLogger(__name__)


class _OpeningRedis:
    """The manager's Redis client, with MGET (the state reads) opening sealed values; every
    other command is the client's own."""

    def __init__(self, redis: Any) -> None:  # noqa: ANN401 (redis.asyncio.Redis)
        self._redis = redis

    def __getattr__(self, name: str) -> Any:  # noqa: ANN401
        return getattr(self._redis, name)

    async def mget(self, keys: Any, *args: Any) -> list[bytes | None]:  # noqa: ANN401
        names = list_or_args(keys, args)
        values = await self._redis.mget(names)
        opened: list[bytes | None] = []
        for name, value in zip(names, values, strict=True):
            payload = None if value is None else open_sealed(name, value)
            if value is not None and payload is None:
                logger.warning("a state stored in Redis did not open: that state starts over")
            opened.append(payload)
        return opened


def _refuse_other_tokens(token: Any) -> None:  # noqa: ANN401
    if not isinstance(token, BaseStateToken):
        raise TypeError("the sealed Redis state manager stores BaseState trees only")


class SealedStateManagerRedis(StateManagerRedis):
    def __post_init__(self) -> None:
        if not isinstance(self.redis, _OpeningRedis):
            self.redis = _OpeningRedis(self.redis)
        super().__post_init__()

    def _collect_state_writes(self, token: BaseStateToken, base_state: Any) -> list:  # noqa: ANN401
        return [
            (key, seal(key, payload))
            for key, payload in super()._collect_state_writes(token, base_state)
        ]

    async def get_state(self, token: Any, *args: Any, **kwargs: Any) -> Any:  # noqa: ANN401
        token = self._coerce_token(token)
        _refuse_other_tokens(token)
        return await super().get_state(token, *args, **kwargs)

    async def set_state(self, token: Any, state: Any, **kwargs: Any) -> None:  # noqa: ANN401
        token = self._coerce_token(token)
        _refuse_other_tokens(token)
        await super().set_state(token, state, **kwargs)


def sealed_from(manager: StateManagerRedis) -> SealedStateManagerRedis:
    """A sealing manager on the same Redis client and settings as Reflex's own."""
    return SealedStateManagerRedis(
        redis=manager.redis,
        token_expiration=manager.token_expiration,
        lock_expiration=manager.lock_expiration,
        lock_warning_threshold=manager.lock_warning_threshold,
        oplock_hold_time_ms=manager.oplock_hold_time_ms,
    )


def install(app: Any) -> None:  # noqa: ANN401 (rx.App)
    """Swap the app's Redis state manager (made when the App was built) for the sealing one,
    before the app serves. The memory manager (one worker) is left as it is."""
    current = getattr(app, "_state_manager", None)
    if type(current) is not StateManagerRedis:
        return
    if current._lock_task is not None:  # built inside a running loop: its subscriber goes
        current._lock_task.cancel()
    app._state_manager = sealed_from(current)
