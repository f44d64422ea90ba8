"""Issue 17, acceptance 2: with the Redis state manager, Redis holds no plaintext. Real handlers
put a revealed phone and a temporary password into two tabs' state trees (and a complaint text,
as the complaint page holds it); the app's sealing manager stores them in a real Redis, through
Reflex's plain write and its lock-fenced write; every key in the test's Redis database is then
read raw and none holds the values, nor the customer's name. Another manager (another worker)
gets the values back; a blob moved to another tab's key, or written unsealed, reads as a fresh
state. Reflex's own manager, run alongside, does leak the phone: the raw check can see one.

Redis: CUSTAPP_TEST_REDIS_URL (default database 14 of 127.0.0.1:6379); the test's keys carry its
own prefix and are deleted at the end.
"""

from __future__ import annotations

import os
import types
import uuid

import pytest
import reflex as rx
from helpers import _staff, _staff_token
from redis.asyncio import Redis
from reflex.istate.manager.memory import StateManagerMemory
from reflex.istate.manager.redis import StateManagerRedis
from reflex.istate.manager.token import BaseStateToken
from run_async import run

from custapp.db import session_scope
from custapp.pages.complaint import ComplaintState
from custapp.pages.customer_profile import ProfileState
from custapp.pages.users import UsersState
from custapp.security.state_seal import MAGIC
from custapp.services import customers
from custapp.services.actor import system_actor
from custapp.states import sealed_redis
from custapp.states.sealed_redis import SealedStateManagerRedis
from custapp.states.session import SessionState

REDIS_URL = os.environ.get("CUSTAPP_TEST_REDIS_URL", "redis://127.0.0.1:6379/14")
PHONE = "13987654321"
NAME = "测试客户甲"
COMPLAINT = "门店店员态度恶劣，退款被拒绝三次"


async def _redis_answers() -> bool:
    client = Redis.from_url(REDIS_URL)
    try:
        return bool(await client.ping())
    except OSError:
        return False
    finally:
        await client.aclose()


@pytest.fixture
def redis_up() -> None:
    try:
        up = run(_redis_answers())
    except Exception:  # noqa: BLE001 (redis' connection errors are not all OSError)
        up = False
    if not up:
        if os.environ.get("CI"):
            pytest.fail(f"Redis does not answer at {REDIS_URL}")
        pytest.skip(f"Redis does not answer at {REDIS_URL}")


def _tree(token: str) -> rx.State:
    root = rx.State(_reflex_internal_init=True)
    session_state = root.substates[SessionState.get_name()]
    session_state.token, session_state.locale = token, "en"
    return root


def _substate(root: rx.State, cls: type[rx.State]) -> rx.State:
    return root.get_substate(cls.get_full_name().split("."))


def _desk_tab_with_a_reveal(customer_id: int) -> rx.State:
    """The front desk's tab: a profile opened and its phone revealed by the real handlers, a
    complaint's text held as the complaint page holds it."""
    root = _tree(_staff_token("front.desk"))
    profile = _substate(root, ProfileState)
    profile.router = rx.istate.data.RouterData.from_router_data(
        {
            "pathname": "/customers/[cid]",
            "asPath": f"/customers/{customer_id}",
            "query": {"cid": str(customer_id)},
            "headers": {"origin": "http://localhost:3000"},
        }
    )
    assert profile.load() is None and profile.name == NAME
    profile.ask_reveal("phone", "Mobile")
    profile.reveal({"reason_choice": "", "reason_text": "customer asked for a callback"})
    assert profile.revealed_value == PHONE
    _substate(root, ComplaintState).description = COMPLAINT
    return root


def _admin_tab_with_a_password(desk_id: int) -> UsersState:
    """The sysadmin's tab: the real reset handler issued a temporary password."""
    users = _substate(_tree(_staff_token("root.admin")), UsersState)
    users.reset_password(str(desk_id), "front.desk")
    assert len(users.issued_password) >= 8
    return users


async def _raw_values(client: Redis) -> dict[bytes, bytes]:
    """Every key of the test's database and its value as stored, whatever its type."""
    found: dict[bytes, bytes] = {}
    async for key in client.scan_iter(match="*", count=1000):
        kind = await client.type(key)
        if kind == b"string":
            found[key] = await client.get(key) or b""
        elif kind == b"set":
            found[key] = b"|".join(sorted(await client.smembers(key)))
        else:
            found[key] = await client.dump(key) or b""
    return found


async def _scenario(desk_tab: rx.State, admin_users: UsersState) -> dict:
    prefix = f"sealtest-{uuid.uuid4().hex}"
    desk, admin, moved, plain = (f"{prefix}-{n}" for n in ("desk", "admin", "moved", "plain"))
    raw = Redis.from_url(REDIS_URL)
    writer = SealedStateManagerRedis(redis=Redis.from_url(REDIS_URL))
    reader = SealedStateManagerRedis(redis=Redis.from_url(REDIS_URL))  # another worker
    unsealed = StateManagerRedis(redis=Redis.from_url(REDIS_URL))
    out: dict = {}
    try:
        # Reflex's plain write (no lock) for the desk's tab ...
        await writer.set_state(BaseStateToken(ident=desk, cls=rx.State), desk_tab)
        # ... and its lock-fenced write, as an event does, for the admin's
        async with writer.modify_state(BaseStateToken(ident=admin, cls=rx.State)) as tab:
            users = _substate(tab, UsersState)
            users.issued_for, users.issued_password = "front.desk", admin_users.issued_password
        # the control: Reflex's own manager with the same tree
        await unsealed.set_state(BaseStateToken(ident=plain, cls=rx.State), desk_tab)

        stored = await _raw_values(raw)
        out["ours"] = {k: v for k, v in stored.items() if k.startswith(prefix.encode())}
        out["plain"] = {k: v for k, v in out["ours"].items() if k.startswith(plain.encode())}
        out["sealed"] = {k: v for k, v in out["ours"].items() if k not in out["plain"]}
        out["all_but_control"] = {k: v for k, v in stored.items() if k not in out["plain"]}

        desk_back = await reader.get_state(BaseStateToken(ident=desk, cls=rx.State))
        admin_back = await reader.get_state(BaseStateToken(ident=admin, cls=rx.State))
        out["revealed"] = _substate(desk_back, ProfileState).revealed_value
        out["complaint"] = _substate(desk_back, ComplaintState).description
        out["password"] = _substate(admin_back, UsersState).issued_password

        # the desk's sealed profile moved to another tab's key; an unsealed one at a sealed key
        profile_key = BaseStateToken(ident=desk, cls=rx.State)._state_key(ProfileState)
        moved_key = BaseStateToken(ident=moved, cls=rx.State)._state_key(ProfileState)
        await raw.set(moved_key, await raw.get(profile_key))
        unsealed_blob = await raw.get(
            BaseStateToken(ident=plain, cls=rx.State)._state_key(ProfileState)
        )
        await raw.set(profile_key, unsealed_blob)
        moved_back = await reader.get_state(BaseStateToken(ident=moved, cls=ProfileState))
        out["moved"] = _substate(moved_back, ProfileState).revealed_value
        plain_back = await reader.get_state(BaseStateToken(ident=desk, cls=rx.State))
        out["unsealed_read"] = _substate(plain_back, ProfileState).revealed_value
        out["unsealed_complaint"] = _substate(plain_back, ComplaintState).description
    finally:
        keys = [key async for key in raw.scan_iter(match=f"{prefix}*", count=1000)]
        if keys:
            await raw.delete(*keys)
        for manager in (writer, reader, unsealed):
            await manager.close()
        await raw.aclose()
    return out


@pytest.fixture
def world(db) -> dict[str, int]:
    with session_scope() as session:
        ref = customers.create_customer(
            session,
            actor=system_actor("test"),
            data=customers.CustomerInput(name=NAME, phone=PHONE),
        )
    return {
        "admin": _staff("root.admin", "sysadmin"),
        "desk": _staff("front.desk", "front_desk"),
        "customer": ref.id,
    }


def test_redis_holds_no_plaintext_and_a_worker_reads_the_states_back(world, redis_up):
    desk_tab = _desk_tab_with_a_reveal(world["customer"])
    admin_users = _admin_tab_with_a_password(world["desk"])
    password = admin_users.issued_password
    out = run(_scenario(desk_tab, admin_users))

    secrets = {"phone": PHONE, "name": NAME, "complaint": COMPLAINT, "password": password}
    assert out["sealed"], "the sealing manager stored nothing"
    assert all(value.startswith(MAGIC) for value in out["sealed"].values())
    for label, secret in secrets.items():
        for key, value in out["all_but_control"].items():
            assert secret.encode() not in value, (label, key)
            assert secret.encode() not in key, (label, key)
    # the check sees plaintext where there is some: Reflex's own manager stores the phone
    assert any(PHONE.encode() in value for value in out["plain"].values())

    assert out["revealed"] == PHONE
    assert out["complaint"] == COMPLAINT
    assert out["password"] == password
    assert out["moved"] == "", "a blob moved to another tab's key must not open"
    # an unsealed blob at a sealed key: that state starts over, the rest of the tab is kept
    assert out["unsealed_read"] == ""
    assert out["unsealed_complaint"] == COMPLAINT


def test_install_swaps_only_the_redis_manager():
    app = types.SimpleNamespace(_state_manager=StateManagerMemory())
    sealed_redis.install(app)
    assert type(app._state_manager) is StateManagerMemory

    reflex_own = StateManagerRedis(redis=Redis.from_url(REDIS_URL), token_expiration=123)
    app = types.SimpleNamespace(_state_manager=reflex_own)
    sealed_redis.install(app)
    assert isinstance(app._state_manager, SealedStateManagerRedis)
    assert app._state_manager.token_expiration == 123
    assert app._state_manager.redis._redis is reflex_own.redis
