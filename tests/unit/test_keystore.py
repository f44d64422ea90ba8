"""The key store (issue 16): the wrapped data keys live outside the app database.

A new customer's key is in the key store and nowhere in the app database; destroying it there
makes the customer's encrypted values unreadable; an id SQLite hands out again after a rolled
back transaction replaces the orphan key; snapshots and encrypted copies round-trip, refuse a
non-empty store and a wrong key, and old copies are pruned; migration 0017 moves the keys of an
existing database and its downgrade puts them back.
"""

from __future__ import annotations

import secrets
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from sqlalchemy import select

from custapp import clock
from custapp.db import get_engine, session_scope
from custapp.models import Customer, DataKey
from custapp.security import crypto, keystore
from custapp.security.keys import get_keys
from custapp.services import (
    bootstrap,
    customer_fields,
    customers,
    datakeys,
    destruction_register,
)
from custapp.services.actor import Actor, system_actor
from custapp.services.customers import CustomerInput
from custapp.services.errors import DomainError
from custapp.settings import PROJECT_DIR, get_settings
from tests.conftest import BACKENDS, PG_URL, _create_pg_database, _drop_pg_database, reset_caches

PHONE = "13912345678"
BACKUP_KEY = secrets.token_bytes(32)


@pytest.fixture
def desk(db) -> Actor:
    with session_scope() as session:
        user_id = bootstrap.create_staff_user(
            session,
            actor=system_actor("test"),
            username="desk.one",
            display_name="前台",
            roles=["front_desk"],
            password="Correct-horse-42",
        )
    return Actor(user_id=user_id, name="desk.one", roles=frozenset({"front_desk"}))


def _new_customer(actor: Actor, name: str = "张三", phone: str = PHONE) -> int:
    with session_scope() as session:
        ref = customers.create_customer(
            session, actor=actor, data=CustomerInput(name=name, phone=phone)
        )
    return ref.id


def _phone(customer_id: int) -> str:
    datakeys._unwrap.cache_clear()
    with session_scope(write=False) as session:
        return customer_fields.read(session, session.get(Customer, customer_id), "phone")


def _key_id(customer_id: int) -> int:
    with session_scope(write=False) as session:
        return session.get(Customer, customer_id).data_key_id


def test_a_new_customers_key_is_in_the_key_store_not_in_the_app_database(desk):
    customer_id = _new_customer(desk)
    key_id = _key_id(customer_id)
    stored = keystore.get_many([key_id])
    assert list(stored) == [key_id]
    version, wrapped = stored[key_id]
    assert version == get_keys().master.current_version
    columns = {c["name"] for c in sa.inspect(get_engine()).get_columns("data_keys")}
    assert columns == {"id", "purpose", "created_at", "destroyed_at"}
    with get_engine().connect() as conn:  # no text column of the app database holds it
        for table in sa.inspect(conn).get_table_names():
            for column in sa.inspect(conn).get_columns(table):
                if isinstance(column["type"], sa.String):
                    found = conn.execute(
                        sa.text(f'SELECT count(*) FROM "{table}" WHERE "{column["name"]}" = :w'),
                        {"w": wrapped},
                    ).scalar_one()
                    assert found == 0, f"{table}.{column['name']}"
    assert _phone(customer_id) == PHONE
    store = Path(get_settings().keystore_url.removeprefix("sqlite:///"))
    assert store.parent == get_settings().keystore_dir
    assert store.stat().st_mode & 0o777 == 0o600
    assert store.parent.stat().st_mode & 0o777 == 0o700


def test_a_destroyed_key_leaves_the_customer_unreadable(desk):
    kept, gone = _new_customer(desk, "留存"), _new_customer(desk, "销毁", "13912345679")
    assert _phone(gone) == "13912345679"  # read once: the unwrapped key sits in the cache
    assert keystore.destroy([_key_id(gone)]) == 1
    assert keystore.destroy([_key_id(gone)]) == 0
    with pytest.raises(DomainError) as refused:
        _phone(gone)
    assert refused.value.key == "error.data_destroyed"
    assert _phone(kept) == PHONE
    assert keystore.count() == 1


def test_an_id_reused_after_a_rollback_replaces_the_orphan_key(db):
    with pytest.raises(RuntimeError), session_scope() as session:
        orphan_id = datakeys.create_data_key(session).id
        raise RuntimeError("the app transaction fails after the key was stored")
    orphan = keystore.get_many([orphan_id])[orphan_id]  # durable before the app committed
    with session_scope() as session:
        key_id = datakeys.create_data_key(session).id
        token = datakeys.encrypt(session, key_id, PHONE, context="customer.phone")
    if db == "sqlite":
        assert key_id == orphan_id  # SQLite hands the id out again
        assert keystore.get_many([key_id])[key_id] != orphan
    datakeys._unwrap.cache_clear()
    with session_scope(write=False) as session:
        assert datakeys.decrypt(session, key_id, token, context="customer.phone") == PHONE


def _switch_instance(folder: Path, monkeypatch) -> None:  # noqa: ANN001
    monkeypatch.setenv("CUSTAPP_INSTANCE_DIR", str(folder))
    reset_caches()


def _some_keys(n: int = 5) -> dict[int, tuple[int, str]]:
    ring = get_keys().master
    rows = [(i, *crypto.wrap_data_key(ring, crypto.generate_data_key())) for i in range(1, n + 1)]
    keystore.put_many(rows)
    return {i: (v, w) for i, v, w in rows}


def test_a_snapshot_loads_into_an_empty_key_store_only(db, tmp_path, monkeypatch):
    keys = _some_keys()
    snap = tmp_path / "snap.db"
    keystore.snapshot(snap)
    assert snap.stat().st_mode & 0o777 == 0o600
    _switch_instance(tmp_path / "other", monkeypatch)
    assert keystore.count() == 0
    assert keystore.load_snapshot(snap) == len(keys)
    assert keystore.get_many(keys) == keys
    with pytest.raises(keystore.KeyStoreNotEmpty):
        keystore.load_snapshot(snap)
    assert keystore.count() == len(keys)


def test_an_encrypted_copy_round_trips_and_refuses_a_wrong_key(db, tmp_path):
    keys = _some_keys()
    register = destruction_register.path()
    register.write_bytes(b'{"n": 1}\n')
    now = datetime(2026, 3, 1, 8, 30, 5, tzinfo=UTC)
    path = keystore.write_copy(tmp_path / "copies", backup_key=BACKUP_KEY, now=now)
    assert path.name == "keystore-20260301T083005Z.cks"
    assert path.stat().st_mode & 0o777 == 0o600
    assert path.parent.stat().st_mode & 0o777 == 0o700
    blob = path.read_bytes()
    assert not any(w.encode() in blob for _, w in keys.values())  # encrypted, not just packed
    assert b"SQLite format 3" not in blob
    copy = keystore.read_copy(path, backup_key=BACKUP_KEY)
    assert copy.created_at == now
    assert copy.register_bytes == b'{"n": 1}\n'
    keystore.destroy(keys)
    assert keystore.load_snapshot(copy.snapshot_path) == len(keys)
    assert keystore.get_many(keys) == keys
    with pytest.raises(keystore.KeyStoreCopyError) as wrong:
        keystore.read_copy(path, backup_key=secrets.token_bytes(32))
    assert wrong.value.key == "backup.error.wrong_key"
    damaged = tmp_path / "damaged.cks"
    damaged.write_bytes(blob[:-1] + bytes([blob[-1] ^ 1]))
    with pytest.raises(keystore.KeyStoreCopyError) as bad:
        keystore.read_copy(damaged, backup_key=BACKUP_KEY)
    assert bad.value.key == "backup.error.damaged"
    not_a_snapshot = tmp_path / "junk.db"
    not_a_snapshot.write_bytes(b"junk" * 100)
    keystore.destroy(keys)
    with pytest.raises(keystore.KeyStoreCopyError):
        keystore.load_snapshot(not_a_snapshot)
    assert keystore.count() == 0


def test_copies_older_than_the_setting_are_pruned(db, tmp_path, monkeypatch):
    _some_keys(1)
    folder = tmp_path / "copies"
    now = datetime(2026, 3, 1, tzinfo=UTC)
    old = keystore.write_copy(folder, backup_key=BACKUP_KEY, now=now - timedelta(days=36))
    recent = keystore.write_copy(folder, backup_key=BACKUP_KEY, now=now - timedelta(days=34))
    newest = keystore.write_copy(folder, backup_key=BACKUP_KEY, now=now)  # default 35 days
    assert not old.exists()
    assert recent.exists() and newest.exists()
    (folder / "notes.txt").write_text("not a copy")
    monkeypatch.setenv("CUSTAPP_KEYSTORE_COPY_DAYS", "7")
    get_settings.cache_clear()
    assert keystore.prune_copies(folder, get_settings().keystore_copy_days, now=now) == 1
    assert sorted(p.name for p in folder.iterdir()) == [newest.name, "notes.txt"]


def test_the_key_store_may_not_be_the_app_database(db, monkeypatch):
    monkeypatch.setenv("CUSTAPP_KEYSTORE_URL", get_settings().database_url)
    get_settings.cache_clear()
    with pytest.raises(ValueError, match="CUSTAPP_KEYSTORE_URL"):
        get_settings()


@pytest.mark.postgresql
@pytest.mark.parametrize("db", ["sqlite"], indirect=True)
def test_a_postgresql_key_store_in_a_separate_database(desk, tmp_path, monkeypatch):
    if not PG_URL:
        pytest.skip("CUSTAPP_TEST_PG_URL is not set")
    name, url = _create_pg_database()
    try:
        monkeypatch.setenv("CUSTAPP_KEYSTORE_URL", url)
        reset_caches()
        assert keystore.url() == url
        customer_id = _new_customer(desk)
        key_id = _key_id(customer_id)
        assert list(keystore.get_many([key_id])) == [key_id]
        assert not get_settings().keystore_dir.exists()  # no SQLite key store was made
        assert _phone(customer_id) == PHONE
        snap = tmp_path / "snap.db"
        keystore.snapshot(snap)
        assert keystore.destroy([key_id]) == 1
        with pytest.raises(DomainError):
            _phone(customer_id)
        assert keystore.load_snapshot(snap) == 1
        assert _phone(customer_id) == PHONE
    finally:
        reset_caches()
        _drop_pg_database(name)


# --- migration 0017 --------------------------------------------------------------------------


def _alembic() -> Config:
    return Config(str(PROJECT_DIR / "alembic.ini"))


@pytest.fixture(params=BACKENDS)
def fresh_database(request, tmp_path, monkeypatch):  # noqa: ANN001
    """An empty database (no migration run) and a fresh instance folder."""
    pg_name = None
    if request.param == "postgresql":
        if not PG_URL:
            pytest.skip("CUSTAPP_TEST_PG_URL is not set")
        pg_name, url = _create_pg_database()
    else:
        url = f"sqlite:///{tmp_path / 'old.db'}"
    monkeypatch.setenv("CUSTAPP_INSTANCE_DIR", str(tmp_path / "instance"))
    monkeypatch.setenv("CUSTAPP_DATABASE_URL", url)
    reset_caches()
    yield request.param
    reset_caches()
    if pg_name:
        _drop_pg_database(pg_name)


def _old_customer() -> tuple[int, int, str]:
    """A customer as the code before 0017 wrote one: its wrapped key in data_keys."""
    key = crypto.generate_data_key()
    version, wrapped = crypto.wrap_data_key(get_keys().master, key)
    now = clock.now()
    with get_engine().begin() as conn:
        meta = sa.MetaData()
        data_keys = sa.Table("data_keys", meta, autoload_with=conn)
        table = sa.Table("customers", meta, autoload_with=conn)
        key_id = conn.execute(
            data_keys.insert().returning(data_keys.c.id),
            {
                "purpose": "customer",
                "wrapped": wrapped,
                "master_version": version,
                "created_at": now,
            },
        ).scalar_one()
        conn.execute(
            data_keys.insert(),
            {
                "purpose": "customer",
                "wrapped": None,
                "master_version": version,
                "created_at": now,
                "destroyed_at": now,
            },
        )  # a destroyed key: nothing to move
        phone = crypto.encrypt_field(key, PHONE, context=customer_fields.context("phone"))
        customer_id = conn.execute(
            table.insert().returning(table.c.id),
            {
                "number": "C20260000001",
                "kind": "individual",
                "name": "张三",
                "nature": "individual",
                "data_key_id": key_id,
                "phone_enc": phone,
                "lifecycle": "potential",
                "grade": "E",
                "value_class": "scattered",
                "spend_12m_fen": 0,
                "completeness": 0,
                "verify_status": "unverified",
                "created_at": now,
                "updated_at": now,
            },
        ).scalar_one()
    return customer_id, key_id, wrapped


def _assert_no_wrapped_key_left(backend: str, wrapped: str) -> None:
    """The wrapped key's text is in no byte of the SQLite file (or its WAL); on PostgreSQL no
    page of data_keys holds it (the table was rewritten: its dead row versions are gone)."""
    reset_caches()
    needle = wrapped.encode()
    if backend == "sqlite":
        main = Path(sa.engine.make_url(get_settings().database_url).database)
        for found in (main, main.with_name(main.name + "-wal")):
            assert not found.exists() or needle not in found.read_bytes(), found.name
        return
    with get_engine().connect() as conn:
        conn.exec_driver_sql("CREATE EXTENSION IF NOT EXISTS pageinspect")
        pages = conn.exec_driver_sql(
            "SELECT pg_relation_size('data_keys') / current_setting('block_size')::int"
        ).scalar_one()
        for page in range(pages):
            raw = conn.execute(
                sa.text("SELECT get_raw_page('data_keys', :p)"), {"p": page}
            ).scalar_one()
            assert needle not in bytes(raw), page
        conn.rollback()


def test_migration_0017_moves_the_keys_out_and_its_downgrade_puts_them_back(fresh_database):
    command.upgrade(_alembic(), "0016")
    customer_id, key_id, wrapped = _old_customer()
    reset_caches()
    command.upgrade(_alembic(), "head")
    reset_caches()
    assert keystore.get_many(range(1, 10)) == {key_id: (get_keys().master.current_version, wrapped)}
    columns = {c["name"] for c in sa.inspect(get_engine()).get_columns("data_keys")}
    assert {"wrapped", "master_version"}.isdisjoint(columns)
    assert _phone(customer_id) == PHONE
    with session_scope(write=False) as session:
        assert session.exec(select(sa.func.count(DataKey.id))).scalar_one() == 2
    _assert_no_wrapped_key_left(fresh_database, wrapped)

    reset_caches()
    command.downgrade(_alembic(), "0016")
    reset_caches()
    with get_engine().connect() as conn:
        rows = conn.execute(sa.text("SELECT id, wrapped FROM data_keys ORDER BY id")).all()
    assert [tuple(r) for r in rows] == [(key_id, wrapped), (key_id + 1, None)]
