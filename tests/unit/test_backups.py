"""Backups (issue 16, BK), on SQLite and PostgreSQL: an encrypted, authenticated file that
verifies end to end, names a damaged or missing part, refuses a wrong key; a restore into an
empty instance after which `audit verify` passes and customers decrypt, refused for a non-empty
target, an older key-store copy or register, and approvers who are not a sysadmin and a
compliance officer; a backup holds no plaintext personal value and no data key."""

from __future__ import annotations

import base64
import os
import secrets
import shutil
import sqlite3
import stat
import struct
import threading
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select, text

from custapp import clock
from custapp.db import session_scope
from custapp.demo import accounts as demo_accounts
from custapp.demo import customers as demo_customers
from custapp.i18n import t
from custapp.models import Customer, User, UserRole
from custapp.security import keystore
from custapp.services import (
    audit,
    backup_backends,
    backup_format,
    backup_verify,
    backups,
    customer_fields,
    customers,
    destruction_register,
)
from custapp.services.actor import Actor, system_actor
from custapp.services.backups import BackupError
from custapp.services.customers import CustomerInput
from custapp.settings import get_settings
from tests.conftest import _create_pg_database, _drop_pg_database, reset_caches

NAME = "欧阳备份"
PHONE = "13912340077"
APPROVERS = [("admin", demo_accounts.DEMO_PASSWORD), ("compliance", demo_accounts.DEMO_PASSWORD)]
KEY_FILES = ("master.keyring", "index.key", "audit.key", "backup.key")


@pytest.fixture
def seeded(db) -> dict:
    """Demo accounts, 30 demo customers and one made through the customer service; -> the
    phones of a few customers (read before the backup), for after the restore."""
    with session_scope() as session:
        demo_accounts.seed_demo_accounts(session, actor=system_actor("test"))
    demo_customers.seed_customers(session_scope, n=30)
    with session_scope() as session:
        ref = customers.create_customer(
            session, actor=system_actor("test"), data=CustomerInput(name=NAME, phone=PHONE)
        )
    with session_scope(write=False) as session:
        rows = session.exec(
            select(Customer).where(Customer.phone_enc.is_not(None)).order_by(Customer.id)
        ).scalars()
        phones = {c.id: customer_fields.read(session, c, "phone") for c in rows}
    assert phones[ref.id] == PHONE
    return {"customer_id": ref.id, "phones": phones}


@pytest.fixture
def empty_instance(db, tmp_path, monkeypatch):  # noqa: ANN001, ANN201
    """A callable switching to a second, empty instance with the first one's keys (as
    `custapp keys restore` leaves it): a new instance folder and an empty database."""
    made: list[str] = []

    def switch(*, with_keys: bool = True) -> Path:
        source = get_settings().instance_dir
        target = tmp_path / f"restored-{len(made)}-{secrets.token_hex(3)}"
        target.mkdir(mode=0o700)
        for name in KEY_FILES if with_keys else ("backup.key",):
            if (source / name).exists():
                shutil.copy2(source / name, target / name)
        monkeypatch.setenv("CUSTAPP_INSTANCE_DIR", str(target))
        if db == "postgresql":
            name, url = _create_pg_database()
            made.append(name)
        else:
            made.append("")
            url = f"sqlite:///{target / 'custapp.db'}"
        monkeypatch.setenv("CUSTAPP_DATABASE_URL", url)
        reset_caches()
        return target

    yield switch
    reset_caches()
    for name in made:
        if name:
            _drop_pg_database(name)


def _backup(**kwargs) -> backups.BackupInfo:  # noqa: ANN003
    return backups.create_backup(**kwargs)


def _records(path: Path) -> list[tuple[int, int]]:
    """(start, end) byte offsets of each record of a backup file, in order."""
    data = path.read_bytes()
    magic = len(backup_format.MAGIC)
    (head,) = struct.unpack(">I", data[magic : magic + 4])
    at, found = magic + 4 + head, []
    while at < len(data) - 16:
        (length,) = struct.unpack(">I", data[at : at + 4])
        found.append((at, at + 4 + length))
        at += 4 + length
    return found


def _flip(path: Path, offset: int) -> None:
    data = bytearray(path.read_bytes())
    data[offset] ^= 0x01
    path.write_bytes(bytes(data))


# --- backup and verify ------------------------------------------------------------------------


def test_backup_then_verify_passes(db, seeded) -> None:
    info = _backup()
    assert info.path.parent == get_settings().backup_dir
    assert info.path.name.startswith(f"custapp-{db}-")
    assert info.path.suffix == ".cab"
    assert stat.S_IMODE(info.path.stat().st_mode) == 0o600
    assert stat.S_IMODE(info.path.parent.stat().st_mode) == 0o700
    manifest = info.manifest
    with session_scope(write=False) as session:
        assert (
            manifest["row_counts"]["customers"]
            == session.exec(select(func.count(Customer.id))).scalar_one()
        )
        head = audit.read_checkpoint()
    assert manifest["audit_head"] == {"seq": head["seq"], "mac": head["mac"]}
    assert manifest["alembic_revision"] == backup_backends.code_head()
    assert "alembic_version" in manifest["row_counts"]
    assert len(manifest["sha256"]) == 64
    assert backups.read_manifest(info.path) == manifest
    # the key-store copy and the register copy go with it
    assert (info.path.parent / manifest["keystore_copy"]).is_file()
    assert (info.path.parent / manifest["register_copy"]).is_file()
    assert not list(info.path.parent.glob("*.part"))
    report = backups.verify_backup(info.path)
    assert report.ok, (report.problem, report.detail)
    assert report.problem is None
    assert report.detail["customers"] == manifest["row_counts"]["customers"]
    assert report.detail["sampled"] > 0
    assert report.detail["decrypted"] == report.detail["sampled"]
    assert report.manifest == manifest
    # nothing of a plaintext copy is left behind (PostgreSQL never makes one: pg_dump streams)
    work = get_settings().instance_dir / "backup-work"
    assert not any(work.iterdir()) if db == "sqlite" else not work.exists()


def test_a_changed_byte_fails_verify_and_names_its_part(seeded, monkeypatch) -> None:
    monkeypatch.setattr(backup_format, "CHUNK_SIZE", 4096)  # many records in a small backup
    info = _backup()
    records = _records(info.path)
    assert len(records) > 4
    middle = info.path.stat().st_size // 2
    number = next(i for i, (start, end) in enumerate(records) if start <= middle < end)
    _flip(info.path, middle)
    report = backups.verify_backup(info.path)
    assert not report.ok
    assert report.problem == "backup.error.damaged"
    assert report.detail == {"chunk": number + 1}
    assert (
        t(report.problem, "zh_CN", **report.detail) == f"备份文件已损坏：第 {number + 1} 段校验失败"
    )


def test_a_changed_manifest_or_swapped_parts_fail(seeded, monkeypatch) -> None:
    monkeypatch.setattr(backup_format, "CHUNK_SIZE", 4096)
    info = _backup()
    records = _records(info.path)
    data = info.path.read_bytes()
    (a_start, a_end), (b_start, b_end) = records[1], records[2]
    swapped = data[:a_start] + data[b_start:b_end] + data[a_start:a_end] + data[b_end:]
    if data[a_start:a_end] != data[b_start:b_end]:
        info.path.write_bytes(swapped)
        report = backups.verify_backup(info.path)
        assert (report.ok, report.problem, report.detail) == (
            False,
            "backup.error.damaged",
            {"chunk": 2},
        )
    info.path.write_bytes(data)
    _flip(info.path, records[-1][0] + 10)  # the manifest record
    with pytest.raises(BackupError) as refused:
        backups.read_manifest(info.path)
    assert refused.value.key == "backup.error.damaged"
    assert not backups.verify_backup(info.path).ok


def test_a_truncated_file_fails(seeded, monkeypatch) -> None:
    monkeypatch.setattr(backup_format, "CHUNK_SIZE", 4096)
    info = _backup()
    records = _records(info.path)
    assert len(records) > 6
    data = info.path.read_bytes()
    cut = (records[3][0] + records[3][1]) // 2  # in the middle of the fourth record
    info.path.write_bytes(data[:cut])
    report = backups.verify_backup(info.path)
    assert (report.ok, report.problem, report.detail) == (
        False,
        "backup.error.truncated",
        {"chunk": 4},
    )
    # cut at a record's end: the records after it, and the manifest, are missing
    info.path.write_bytes(data[: records[3][1]])
    report = backups.verify_backup(info.path)
    assert (report.ok, report.problem, report.detail) == (
        False,
        "backup.error.truncated",
        {"chunk": 5},
    )


def test_a_wrong_backup_key_is_refused_by_name(seeded, monkeypatch) -> None:
    info = _backup()
    other = base64.urlsafe_b64encode(os.urandom(32)).decode()
    monkeypatch.setenv("CUSTAPP_BACKUP_KEY", other)
    get_settings.cache_clear()
    report = backups.verify_backup(info.path)
    assert (report.ok, report.problem) == (False, "backup.error.wrong_key")
    assert "备份密钥不对" in t(report.problem, "zh_CN")
    with pytest.raises(BackupError) as refused:
        backups.read_manifest(info.path)
    assert refused.value.key == "backup.error.wrong_key"


def test_the_backup_key_file_is_private_and_stable(db) -> None:
    key = backups.backup_key()
    path = get_settings().instance_dir / "backup.key"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert backups.backup_key() == key and len(key) == 32


def test_the_backup_holds_no_plaintext_and_no_data_key(seeded, tmp_path) -> None:
    info = _backup()
    raw = info.path.read_bytes()
    for value in (NAME, PHONE):
        assert value.encode() not in raw
    plain = tmp_path / "plain"
    with info.path.open("rb") as src, plain.open("wb") as dst:
        backup_format.decrypt_stream(src, dst, backups.backup_key())
    payload = plain.read_bytes()
    if info.manifest["backend"] == "sqlite":
        conn = sqlite3.connect(plain)
        # the customers' names are general data and stay; no personal number is in plaintext
        assert conn.execute("SELECT count(*) FROM customers").fetchone()[0] > 30
        conn.close()
    assert PHONE.encode() not in payload
    for phone in list(seeded["phones"].values())[:10]:
        assert phone.encode() not in payload
    with session_scope(write=False) as session:
        key_ids = [c.data_key_id for c in session.exec(select(Customer)).scalars()]
    wrapped = keystore.get_many(key_ids)
    assert wrapped
    for _version, sealed_key in wrapped.values():
        assert sealed_key.encode() not in payload
        assert sealed_key.split(".")[-1].encode() not in payload


def test_counters_keep_working_during_a_backup(seeded, monkeypatch) -> None:
    """A write from another connection while the backup runs commits at once (WAL writers are
    not blocked by SQLite's online copy; pg_dump reads a snapshot), and the backup is of the
    moment it started: the new customer is not in it."""
    monkeypatch.setattr(backup_backends, "SQLITE_PAGES_PER_STEP", 4)
    with session_scope(write=False) as session:
        before = session.exec(select(func.count(Customer.id))).scalar_one()
    wrote: list[int] = []

    def write_during(done: int, total: int) -> None:
        if not wrote:
            done_event = threading.Event()

            def other_connection() -> None:
                with session_scope() as session:
                    ref = customers.create_customer(
                        session,
                        actor=system_actor("counter"),
                        data=CustomerInput(name="柜台新客", phone="13912340088"),
                    )
                wrote.append(ref.id)
                done_event.set()

            worker = threading.Thread(target=other_connection)
            worker.start()
            worker.join()
            assert done_event.is_set()

    info = _backup(progress=write_during)
    assert wrote
    assert info.manifest["row_counts"]["customers"] == before
    with session_scope(write=False) as session:
        assert session.exec(select(func.count(Customer.id))).scalar_one() == before + 1
    assert backups.verify_backup(info.path).ok


# --- restore ------------------------------------------------------------------------------------


def _restore(path: Path, **kwargs) -> backups.RestoreReport:  # noqa: ANN003
    kwargs.setdefault("keystore_copy", None)
    kwargs.setdefault("approvers", APPROVERS)
    return backups.restore_backup(path, **kwargs)


def test_restore_into_an_empty_instance(seeded, empty_instance) -> None:
    info = _backup()
    backup_head = info.manifest["audit_head"]
    with session_scope() as session:  # entries after the backup: lost by the restore
        audit.record(session, actor=system_actor("test"), action="test.after_backup")
    lost_to = audit.read_checkpoint()["seq"]
    checkpoint = get_settings().audit_checkpoint
    instance = empty_instance()
    # the instance kept its checkpoint file from before (a machine rebuilt with its instance
    # folder): the seqs after the backup are named lost
    shutil.copy2(checkpoint, instance / checkpoint.name)
    report = _restore(info.path)
    assert report.ok
    assert report.keys_loaded == keystore.count() > 0
    assert report.revision == backup_backends.code_head()
    assert report.lost_to == lost_to
    with session_scope(write=False) as session:
        result = audit.verify_chain(session)
        assert result.ok, result
        for customer_id, phone in seeded["phones"].items():
            customer = session.get(Customer, customer_id)
            assert customer_fields.read(session, customer, "phone") == phone
        count = session.exec(select(func.count(Customer.id))).scalar_one()
    assert count == info.manifest["row_counts"]["customers"]
    assert report.reanchor_seq == backup_head["seq"] + 1


def test_restore_refuses_a_non_empty_target(seeded) -> None:
    info = _backup()
    with pytest.raises(BackupError) as refused:
        _restore(info.path)
    assert refused.value.key == "backup.error.target_not_empty"
    assert "只能恢复到空实例" in t(refused.value.key, "zh_CN")
    with session_scope(write=False) as session:  # untouched
        assert session.get(Customer, seeded["customer_id"]).name == NAME


def test_restore_refuses_a_key_store_that_holds_keys(seeded, empty_instance) -> None:
    info = _backup()
    empty_instance()
    keystore.put(999_999, 1, "x.y")
    with pytest.raises(BackupError) as refused:
        _restore(info.path)
    assert refused.value.key == "backup.error.keystore_not_empty"


def test_restore_refuses_an_instance_without_the_backups_keys(seeded, empty_instance) -> None:
    info = _backup()
    empty_instance(with_keys=False)
    with pytest.raises(BackupError) as refused:
        _restore(info.path)
    assert refused.value.key == "backup.error.keys_missing"
    assert not (get_settings().instance_dir / "master.keyring").exists()  # none were made


def test_restore_refuses_a_key_store_copy_older_than_the_backup(seeded, empty_instance) -> None:
    info = _backup()
    older = keystore.write_copy(
        get_settings().instance_dir / "old-copies",
        backup_key=backups.backup_key(),
        now=clock.now() - timedelta(days=1),
    )
    empty_instance()
    with pytest.raises(BackupError) as refused:
        _restore(info.path, keystore_copy=older)
    assert refused.value.key == "backup.error.keystore_copy_older"
    assert "早于备份" in t(refused.value.key, "zh_CN", **refused.value.params)
    assert keystore.count() == 0


def test_restore_refuses_a_register_older_than_the_backup(seeded, empty_instance) -> None:
    destruction_register.append({"customer_id": 0, "data_key_id": 0, "method": "test"})
    info = _backup()
    assert info.manifest["register_head"]["count"] == 1
    # every copy of the register that knows that line is gone, and the key-store copy
    # was taken from a register without it
    (info.path.parent / info.manifest["register_copy"]).unlink()
    destruction_register.path().unlink()
    copy = keystore.write_copy(
        get_settings().instance_dir / "later-copies",
        backup_key=backups.backup_key(),
        now=clock.now() + timedelta(seconds=5),
    )
    empty_instance()
    with pytest.raises(BackupError) as refused:
        _restore(info.path, keystore_copy=copy)
    assert refused.value.key == "backup.error.register_older"
    assert refused.value.params == {"found": 0, "expected": 1}


@pytest.mark.parametrize(
    "approvers",
    [
        [("admin", demo_accounts.DEMO_PASSWORD)],  # one person
        [("admin", demo_accounts.DEMO_PASSWORD), ("admin", demo_accounts.DEMO_PASSWORD)],
        [("admin", demo_accounts.DEMO_PASSWORD), ("manager", demo_accounts.DEMO_PASSWORD)],
        [("admin", demo_accounts.DEMO_PASSWORD), ("compliance", "wrong-password-1")],
        [("frontdesk", demo_accounts.DEMO_PASSWORD), ("compliance", demo_accounts.DEMO_PASSWORD)],
    ],
    ids=["one", "same-person", "no-compliance", "bad-password", "no-sysadmin"],
)
def test_restore_refused_approvers_leave_the_instance_empty(
    seeded, empty_instance, approvers
) -> None:
    info = _backup()
    empty_instance()
    with pytest.raises(BackupError) as refused:
        _restore(info.path, approvers=approvers)
    assert refused.value.key == "backup.error.approver_refused"
    settings = get_settings()
    if settings.is_sqlite:
        assert backup_backends.sqlite_is_empty(backup_backends.sqlite_file(settings.database_url))
    else:
        engine = backup_backends.plain_engine(settings.database_url)
        with engine.connect() as conn:
            assert backup_backends.pg_is_empty(conn)
        engine.dispose()
    assert keystore.count() == 0
    # and a restore with the right approvers then goes through
    assert _restore(info.path).ok


def test_restore_refuses_a_wrong_key_and_a_damaged_file(
    seeded, empty_instance, monkeypatch
) -> None:
    monkeypatch.setattr(backup_format, "CHUNK_SIZE", 4096)
    info = _backup()
    records = _records(info.path)
    empty_instance()
    own_key = os.environ.get("CUSTAPP_BACKUP_KEY")
    monkeypatch.setenv("CUSTAPP_BACKUP_KEY", base64.urlsafe_b64encode(os.urandom(32)).decode())
    get_settings.cache_clear()
    with pytest.raises(BackupError) as refused:
        _restore(info.path)
    assert refused.value.key == "backup.error.wrong_key"
    if own_key is None:
        monkeypatch.delenv("CUSTAPP_BACKUP_KEY")
    get_settings.cache_clear()
    _flip(info.path, records[2][0] + 20)  # the third record: found while loading
    with pytest.raises(BackupError) as refused:
        _restore(info.path)
    assert (refused.value.key, refused.value.params) == ("backup.error.damaged", {"chunk": 3})
    settings = get_settings()
    if settings.is_sqlite:  # nothing half-restored is left
        assert backup_backends.sqlite_is_empty(backup_backends.sqlite_file(settings.database_url))
    else:
        engine = backup_backends.plain_engine(settings.database_url)
        with engine.connect() as conn:
            assert backup_backends.pg_is_empty(conn)
        engine.dispose()
    assert keystore.count() == 0


def _reapply_missing() -> str:
    try:
        from custapp.services.destruction import reapply  # noqa: F401
    except ImportError:
        return "custapp.services.destruction.reapply (part DS) is not there yet"
    return ""


def _person(username: str) -> Actor:
    with session_scope(write=False) as session:
        user_id = session.exec(select(User.id).where(User.username == username)).scalar_one()
        roles = session.exec(select(UserRole.role).where(UserRole.user_id == user_id)).scalars()
        return Actor(user_id=user_id, name=username, roles=frozenset(roles))


@pytest.mark.skipif(bool(_reapply_missing()), reason=_reapply_missing())
def test_restore_reapplies_a_destruction_made_after_the_backup(seeded, empty_instance) -> None:
    from custapp.services import destruction

    info = _backup()
    customer_id = seeded["customer_id"]
    with session_scope(write=False) as session:
        key_id = session.get(Customer, customer_id).data_key_id
    # after the backup the customer is destroyed by two people (appraised, then approved)
    compliance, manager = _person("compliance"), _person("manager")
    with session_scope() as session:
        candidate = destruction.propose(
            session, actor=compliance, customer_id=customer_id, reason_kind="manual", note="测试"
        )
        destruction.appraise(session, actor=compliance, candidate_id=candidate, decision="destroy")
    with session_scope() as session:
        destruction.approve(session, actor=manager, candidate_id=candidate)
    assert keystore.get_many([key_id]) == {}
    # the key-store copy of the backup still holds the key; the register, copied to the backup
    # folder since (as every backup and key export does), says it is gone
    destruction_register.copy_to(info.path.parent / "register")
    empty_instance()
    report = _restore(info.path)
    assert report.register_entries == 1
    assert report.destructions_reapplied == 1
    assert keystore.get_many([key_id]) == {}
    with session_scope(write=False) as session:
        customer = session.get(Customer, customer_id)
        assert customer.name != NAME
        assert customer.phone_enc is None and customer.phone_bidx is None
        assert customer.destroyed_at is not None
        index = customer_fields.blind_index("phone", PHONE)
        assert session.exec(select(Customer.id).where(Customer.phone_bidx == index)).first() is None
        assert audit.verify_chain(session).ok
    assert destruction_register.head()[0] == 1


def test_verify_counts_a_key_destroyed_since_as_destroyed_not_as_a_failure(
    seeded, monkeypatch
) -> None:
    monkeypatch.setattr(backup_verify, "SAMPLE_SIZE", 1000)  # every customer
    info = _backup()
    customer_id = seeded["customer_id"]
    with session_scope(write=False) as session:
        key_id = session.get(Customer, customer_id).data_key_id
    keystore.destroy([key_id])  # gone without any record of a destruction: a failure
    report = backups.verify_backup(info.path)
    assert (report.ok, report.problem) == (False, "backup.verify.decrypt_failed")
    assert report.detail["count"] == 1
    destruction_register.append(
        {"customer_id": customer_id, "key_id": key_id, "merged": [], "method": "crypto_shred"}
    )
    report = backups.verify_backup(info.path)
    assert report.ok, report
    assert report.detail["destroyed"] == 1
    assert report.detail["decrypted"] == report.detail["sampled"] - 1
    # the key-store copy written with the backup still holds the key
    copy = info.path.parent / info.manifest["keystore_copy"]
    report = backups.verify_backup(info.path, keystore_copy=copy)
    assert report.ok and report.detail["destroyed"] == 0
    assert report.detail["decrypted"] == report.detail["sampled"]


def test_a_schema_revision_this_code_does_not_know_is_refused(seeded, empty_instance) -> None:
    with session_scope() as session:
        session.execute(text("UPDATE alembic_version SET version_num = '9999_future'"))
    info = _backup()
    assert info.manifest["alembic_revision"] == "9999_future"
    report = backups.verify_backup(info.path)
    assert (report.ok, report.problem) == (False, "backup.error.revision_unknown")
    empty_instance()
    with pytest.raises(BackupError) as refused:
        _restore(info.path)
    assert refused.value.key == "backup.error.revision_unknown"
    assert "9999_future" in t(refused.value.key, "zh_CN", **refused.value.params)
