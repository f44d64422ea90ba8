"""Personal data is encrypted at rest (SPEC §8 "What is encrypted", "Keys").

Values seeded through the encryption path never appear in the raw SQLite file, in a copy made
with the backup API, or in any text column on PostgreSQL. Key rotation re-wraps every data key
while old ciphertexts still open, and a key backup restores into a fresh instance folder.
"""

from __future__ import annotations

import base64
import sqlite3
from datetime import date
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy import select

from custapp import cli
from custapp import db as database
from custapp.db import get_engine, session_scope
from custapp.models import DataKey, OutboxMessage
from custapp.security import keystore
from custapp.security.keys import get_keys
from custapp.security.validators import make_cn_id
from custapp.services import auth, backups, bootstrap, datakeys, outbox
from custapp.services.actor import system_actor
from custapp.settings import get_settings

PHONE = "13912345678"
ID_NUMBER = make_cn_id("110105", date(1988, 7, 14), 123)
PASSPHRASE = "a long backup passphrase"
BACKUP_KEY = base64.urlsafe_b64encode(bytes(range(32))).decode()
CUSTOMER_ID = 7


def _seed() -> dict:
    """Phone and ID through every encrypting path we have; returns what to read back."""
    with session_scope() as session:
        key_id = datakeys.create_data_key(session).id
        phone_token = datakeys.encrypt(session, key_id, PHONE, context="customer.phone")
        id_token = datakeys.encrypt(session, key_id, ID_NUMBER, context="customer.id_number")
        message_id = outbox.queue_message(
            session,
            channel="sms",
            purpose="service",
            subject="",
            body=f"尊敬的客户 {PHONE}，证件号 {ID_NUMBER} 已登记",
            recipient=PHONE,
            customer_id=CUSTOMER_ID,
            customer_key_id=key_id,
        )
        bootstrap.create_member_login(
            session,
            actor=system_actor("test"),
            phone=PHONE,
            password="Member-pass-2026",
            display_name="会员",
            customer_id=CUSTOMER_ID,
        )
    # a failed login leaves throttle rows keyed by the phone: they must not hold it either
    with session_scope() as session:
        result = auth.login_member(session, phone=PHONE, password="Wrong-pass-2026", ip=None)
    assert result.error == "auth.member_invalid"
    return {
        "key_id": key_id,
        "phone_token": phone_token,
        "id_token": id_token,
        "message_id": message_id,
    }


def _assert_decrypts(seeded: dict) -> None:
    datakeys._unwrap.cache_clear()
    with session_scope() as session:
        key_id = seeded["key_id"]
        assert (
            datakeys.decrypt(session, key_id, seeded["phone_token"], context="customer.phone")
            == PHONE
        )
        assert (
            datakeys.decrypt(session, key_id, seeded["id_token"], context="customer.id_number")
            == ID_NUMBER
        )
        row = session.get(OutboxMessage, seeded["message_id"])
        assert outbox._open(session, row.data_key_id, row.recipient_enc, "recipient") == PHONE
        assert ID_NUMBER in outbox._open(session, row.data_key_id, row.body_enc, "body")


def _plaintexts() -> list[bytes]:
    # the phone in ASCII and in UTF-16 (how a careless driver or a text dump might store it)
    return [
        text.encode(encoding)
        for text in (PHONE, ID_NUMBER, PHONE[3:])
        for encoding in ("ascii", "utf-16-le")
    ]


def _assert_absent(blob: bytes, where: str) -> None:
    for plain in _plaintexts():
        assert plain not in blob, f"{plain!r} found in {where}"


def _key_material() -> tuple[list[bytes], list[bytes]]:
    """Every wrapped data key of the key store, and each unwrapped key's raw bytes."""
    stored = _wrapped_keys()
    assert stored
    with session_scope(write=False) as session:
        raw = [datakeys.data_key(session, key_id) for key_id in stored]
    return [wrapped.encode() for _, wrapped in stored.values()], raw


def _assert_no_key(blob: bytes, material: list[bytes], where: str) -> None:
    for item in material:
        assert item not in blob, f"a data key found in {where}"


def _sqlite_files(path: Path) -> bytes:
    """The file and its WAL, if any."""
    wal = path.with_name(path.name + "-wal")
    return path.read_bytes() + (wal.read_bytes() if wal.exists() else b"")


@pytest.mark.parametrize("db", ["sqlite"], indirect=True)
def test_sqlite_file_and_backup_hold_no_plaintext(db, tmp_path):
    seeded = _seed()
    _assert_decrypts(seeded)
    with get_engine().connect() as conn:
        conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    database = Path(get_settings().database_url.removeprefix("sqlite:///"))
    raw = database.read_bytes()
    assert b"SQLite format 3" in raw and b"outbox" in raw  # really the database file
    _assert_absent(raw, "the database file")
    wal = database.with_name(database.name + "-wal")
    if wal.exists():
        _assert_absent(wal.read_bytes(), "the WAL file")
    # the data keys are in the key store only; the key store holds no personal value
    wrapped, raw = _key_material()
    _assert_no_key(_sqlite_files(database), wrapped + raw, "the database file")
    store = Path(get_settings().keystore_url.removeprefix("sqlite:///"))
    store_bytes = _sqlite_files(store)
    assert all(w in store_bytes for w in wrapped)  # really the key store file
    _assert_absent(store_bytes, "the key store file")
    _assert_no_key(store_bytes, raw, "the key store file (unwrapped)")

    copy = tmp_path / "backup.db"
    source, target = sqlite3.connect(database), sqlite3.connect(copy)
    with target:
        source.backup(target)
    source.close()
    target.close()
    backup = copy.read_bytes()
    assert len(backup) > 4096
    _assert_absent(backup, "the backup copy")
    _assert_no_key(backup, wrapped + raw, "the backup copy")
    check = sqlite3.connect(copy)
    assert check.execute("SELECT count(*) FROM outbox").fetchone() == (1,)
    check.close()


@pytest.mark.parametrize("db", ["postgresql"], indirect=True)
def test_postgresql_text_columns_hold_no_plaintext(db):
    seeded = _seed()
    _assert_decrypts(seeded)
    dumped = []
    with get_engine().connect() as conn:
        columns = conn.execute(
            sa.text(
                "SELECT table_name, column_name FROM information_schema.columns "
                "WHERE table_schema = 'public' "
                "AND data_type IN ('text', 'character varying', 'character', 'bytea', 'json', "
                "'jsonb')"
            )
        ).all()
        for table, column in columns:
            values = conn.execute(sa.text(f'SELECT "{column}"::text FROM "{table}"')).scalars()
            dumped.extend(value for value in values if value is not None)
    tables = {table for table, _ in columns}
    assert {"outbox", "users", "data_keys", "login_throttles", "audit_log"} <= tables
    assert any(value.startswith("1:") for value in dumped)  # the ciphertexts were read
    text = "\n".join(dumped)
    for plain in (PHONE, ID_NUMBER, PHONE[3:]):
        assert plain not in text
    for _, wrapped in _wrapped_keys().values():  # the keys live in the key store only
        assert wrapped not in text


def _switch_instance(folder: Path, monkeypatch) -> None:
    """Point the app at another instance folder, as a restarted process would see it."""
    monkeypatch.setenv("CUSTAPP_INSTANCE_DIR", str(folder))
    database.dispose_engines()
    get_settings.cache_clear()
    get_keys.cache_clear()
    datakeys._unwrap.cache_clear()


def _wrapped_keys() -> dict[int, tuple[int, str]]:
    """Every data key of the app database, as the key store holds it."""
    with session_scope(write=False) as session:
        ids = session.exec(select(DataKey.id)).scalars().all()
    return keystore.get_many(ids)


def test_rotate_key_rewraps_every_data_key_and_old_ciphertexts_still_open(db, capsys):
    seeded = _seed()
    with session_scope() as session:
        datakeys.create_data_key(session)
    before = _wrapped_keys()
    assert len(before) == 2
    assert {version for version, _ in before.values()} == {1}

    assert cli.main(["rotate-key"]) == 0
    after = _wrapped_keys()
    assert set(after) == set(before)
    assert {version for version, _ in after.values()} == {2}
    assert all(after[i][1] != before[i][1] for i in before)
    assert get_keys().master.current_version == 2
    assert sorted(get_keys().master.versions) == [1, 2]
    _assert_decrypts(seeded)

    with session_scope() as session:
        new_key = datakeys.create_data_key(session)
    assert keystore.get_many([new_key.id])[new_key.id][0] == 2


def test_keys_export_and_restore_round_trip_into_a_fresh_instance(
    db, tmp_path, monkeypatch, capsys
):
    monkeypatch.setenv("CUSTAPP_BACKUP_KEY", BACKUP_KEY)  # kept apart from the instance
    get_settings.cache_clear()
    seeded = _seed()
    original = get_keys()
    wrapped, _ = _key_material()
    bundle = tmp_path / "keys.backup"
    monkeypatch.setenv("CUSTAPP_KEYS_PASSPHRASE", PASSPHRASE)
    capsys.readouterr()
    assert cli.main(["keys", "export", "--out", str(bundle)]) == 0
    content = bundle.read_bytes()
    assert original.master.serialize().encode() not in content
    assert (bundle.stat().st_mode & 0o777) == 0o600
    # the export also wrote a key-store copy to the backup folder, and said where
    (store_copy,) = (get_settings().backup_dir / "keystore").glob("keystore-*.cks")
    assert str(store_copy) in capsys.readouterr().out
    assert (store_copy.stat().st_mode & 0o777) == 0o600
    assert not any(w in store_copy.read_bytes() for w in wrapped)

    fresh = tmp_path / "fresh-instance"
    _switch_instance(fresh, monkeypatch)
    monkeypatch.setenv("CUSTAPP_KEYS_PASSPHRASE", "not the right passphrase")
    assert cli.main(["keys", "restore", "--in", str(bundle)]) == 2
    assert not (fresh / "master.keyring").exists()

    monkeypatch.setenv("CUSTAPP_KEYS_PASSPHRASE", PASSPHRASE)
    assert cli.main(["keys", "restore", "--in", str(bundle)]) == 0
    restored = get_keys()
    assert restored.master.versions == original.master.versions
    assert (restored.index, restored.audit) == (original.index, original.audit)
    assert ((fresh / "master.keyring").stat().st_mode & 0o777) == 0o600
    # the fresh instance's key store is empty until the key-store copy is loaded into it
    assert keystore.count() == 0
    opened = keystore.read_copy(store_copy, backup_key=backups.backup_key())
    assert keystore.load_snapshot(opened.snapshot_path) == len(wrapped)
    # the same database opens with the restored keys: ciphertexts and the phone's blind index
    _assert_decrypts(seeded)
    with session_scope() as session:
        result = auth.login_member(session, phone=PHONE, password="Member-pass-2026", ip="1.2.3.4")
    assert result.ok
    # restoring over existing keys is refused rather than overwriting them
    assert cli.main(["keys", "restore", "--in", str(bundle)]) == 2
