# ruff: noqa: F811 (the fixtures of test_backups, imported by name)
"""Backups and restores that crash, and copies that are not what they seem (issue 16, review
fixes), on SQLite and PostgreSQL: a restore killed half-way leaves a marker that stops every
use of the instance (and never the keys the register destroyed) until the restore is run again;
a torn register refuses the restore unless accepted; a key-store copy of another instance is
refused; plaintext leftovers of crashed runs are swept while a running one keeps its files; an
unfinished backup is never listed; the key store never ends up inside the app database."""

from __future__ import annotations

import fcntl
import os
import stat
import time
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url

from custapp import cli, clock, db, job_runner
from custapp.db import session_scope
from custapp.models import Customer
from custapp.security import crypto, keystore
from custapp.security.keys import get_keys
from custapp.services import (
    backup_backends,
    backup_files,
    backup_format,
    backup_leftovers,
    backup_restore,
    backups,
    customer_fields,
    destruction_register,
)
from custapp.services.backups import BackupError
from custapp.settings import Settings, get_settings, same_database
from tests.unit.test_backups import (  # noqa: F401 (fixtures)
    NAME,
    _backup,
    _person,
    _restore,
    empty_instance,
    seeded,
)

OLD = time.time() - 7 * 3600  # past the sweep's lease


class Killed(BaseException):
    """kill -9: nothing after it runs (the restore's own clean-up is switched off too)."""


def _destroy_after_backup(customer_id: int) -> int:
    """Destroy the customer (appraised, then approved by another person) -> its data key id."""
    from custapp.services import destruction

    with session_scope(write=False) as session:
        key_id = session.get(Customer, customer_id).data_key_id
    compliance, manager = _person("compliance"), _person("manager")
    with session_scope() as session:
        candidate = destruction.propose(
            session, actor=compliance, customer_id=customer_id, reason_kind="manual", note="测试"
        )
        destruction.appraise(session, actor=compliance, candidate_id=candidate, decision="destroy")
    with session_scope() as session:
        destruction.approve(session, actor=manager, candidate_id=candidate)
    return key_id


# --- 1. a restore killed half-way --------------------------------------------------------------


def test_a_restore_killed_half_way_blocks_the_instance_until_restored_again(
    seeded, empty_instance, monkeypatch, capsys
) -> None:
    info = _backup()
    key_id = _destroy_after_backup(seeded["customer_id"])
    destruction_register.copy_to(info.path.parent / "register")
    empty_instance()

    def killed(_entries: list) -> int:
        raise Killed

    with monkeypatch.context() as crash:
        crash.setattr(backup_restore, "_reapply", killed)  # after loading, before re-applying
        crash.setattr(backup_restore, "_wipe", lambda *_a: None)
        with pytest.raises(Killed):
            _restore(info.path)
    marker = get_settings().instance_dir / "restore-in-progress"
    assert marker.exists() and stat.S_IMODE(marker.stat().st_mode) == 0o600
    # the destroyed customer's key never came back, even half-way; the others' did
    assert keystore.get_many([key_id]) == {} and keystore.count() > 0
    db.dispose_engines()
    with pytest.raises(db.RestoreInProgress) as refused, session_scope(write=False):
        pass
    assert str(marker) in str(refused.value) and "custapp backup restore" in str(refused.value)
    assert cli.main(["audit", "verify"]) == 2
    assert str(marker) in capsys.readouterr().err
    with pytest.raises(db.RestoreInProgress):
        job_runner.start_up()

    report = _restore(info.path)  # run again: the half is wiped, then restored from the start
    assert report.ok and report.destructions_reapplied == 1
    assert not marker.exists()
    assert keystore.get_many([key_id]) == {}
    with session_scope(write=False) as session:
        customer = session.get(Customer, seeded["customer_id"])
        assert customer.destroyed_at is not None and customer.name != NAME
        other = next(i for i in seeded["phones"] if i != seeded["customer_id"])
        phone = customer_fields.read(session, session.get(Customer, other), "phone")
        assert phone == seeded["phones"][other]


# --- 2. a damaged register ----------------------------------------------------------------------


def test_a_torn_register_refuses_the_restore_unless_accepted(seeded, empty_instance) -> None:
    info = _backup()  # its key-store copy's register has no destruction yet
    key_id = _destroy_after_backup(seeded["customer_id"])
    copy = destruction_register.copy_to(info.path.parent / "register")
    with copy.open("ab") as torn:  # a crash while a second line was written
        torn.write(b'{"seq":2,"prev":"')
    empty_instance()
    with pytest.raises(BackupError) as refused:
        _restore(info.path)
    assert refused.value.key == "backup.error.register_damaged_file"
    assert refused.value.params == {"file": str(copy), "line": 2}
    assert keystore.count() == 0 and _target_empty()

    report = _restore(info.path, accept_damaged_register=True)
    assert report.register_entries == 1 and report.destructions_reapplied == 1
    assert keystore.get_many([key_id]) == {}
    assert destruction_register.head()[0] == 1  # the live register: the verified part


def test_merge_takes_the_union_of_every_register() -> None:
    entries = [{"candidate": "XH1", "seq": 1}, {"candidate": "XH2", "seq": 2}]
    merged = destruction_register.Merged([], {Path("a"): entries[:1], Path("b"): entries}, {})
    assert merged.longest == Path("b")


# --- 3. leftovers of crashed runs ---------------------------------------------------------------


def _aged(path: Path) -> Path:
    os.utime(path, (OLD, OLD))
    return path


def test_the_sweep_removes_stale_leftovers_and_keeps_running_ones(db) -> None:
    settings = get_settings()
    work = backup_backends.work_dir()
    stale = work / "run-crashed"
    stale.mkdir()
    (stale / "copy.db").write_bytes(b"plaintext")
    _aged(stale)
    young_unlocked = work / "run-just-made"
    young_unlocked.mkdir()
    ks_stale = keystore.work_dir() / "custapp-ks-copy-crashed"
    ks_stale.mkdir()
    _aged(ks_stale)
    folder = settings.backup_dir
    folder.mkdir(parents=True, exist_ok=True)
    part = folder / "custapp-sqlite-20200101T000000Z.cab.part"
    part.write_bytes(b"x")
    _aged(part)
    legacy = folder / "keystore" / "custapp-ks-abc"
    legacy.mkdir(parents=True)
    _aged(legacy)
    with backup_backends.scratch_dir() as running:
        _aged(running)  # old but locked: a backup still running on another worker...
        os.utime(running, (time.time(), time.time()))  # ...within its lease
        live_part = folder / "custapp-sqlite-20990101T000000Z.cab.part"
        fd = os.open(live_part, os.O_WRONLY | os.O_CREAT, 0o600)
        fcntl.flock(fd, fcntl.LOCK_EX)
        os.utime(live_part, (time.time() - 120, time.time() - 120))
        try:
            assert backup_leftovers.sweep_leftovers() >= 4
            assert running.exists() and live_part.exists() and young_unlocked.exists()
        finally:
            os.close(fd)
        # its holder gone (a crash) and past the grace: the next sweep takes it
        assert backup_leftovers.sweep_leftovers() >= 1
        assert not live_part.exists()
    for gone in (stale, ks_stale, part, legacy):
        assert not gone.exists(), gone


@pytest.mark.parametrize("db", ["postgresql"], indirect=True)
def test_the_sweep_drops_stale_scratch_databases_only(db) -> None:
    url = get_settings().database_url
    prefix = backup_backends.scratch_prefix(url)
    hour_ago = int(time.time()) - 3600  # past the grace, within the lease
    stale, held = f"{prefix}{int(OLD):x}_deadbeef", f"{prefix}{hour_ago:x}_feedbeef"
    admin = backup_backends.plain_engine(url).execution_options(isolation_level="AUTOCOMMIT")
    holder = admin.connect()  # a verification running on another worker holds its database
    holder.execute(text("SELECT pg_advisory_lock(hashtext(:n))"), {"n": held})
    try:
        with admin.connect() as conn:
            for name in (stale, held):
                conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
        with backup_backends.pg_scratch_database(url) as running_url:
            running = make_url(running_url).database
            assert backup_leftovers.sweep_pg_scratch(url) == [stale]
            assert {running, held} <= _databases(admin)
        holder.close()  # its worker died: past the grace, nobody holds it
        assert backup_leftovers.sweep_pg_scratch(url) == [held]
        assert not {stale, held, running} & _databases(admin)
    finally:
        holder.close()
        with admin.connect() as conn:
            for name in (stale, held):
                conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.engine.dispose()


def _databases(admin) -> set[str]:  # noqa: ANN001
    with admin.connect() as conn:
        return set(conn.exec_driver_sql("SELECT datname FROM pg_database").scalars())


def test_key_store_copies_are_opened_in_the_instance_never_in_tmp(db, tmp_path) -> None:
    key = backups.backup_key()
    keystore.put(1, 1, "wrapped-1")
    copy = keystore.write_copy(tmp_path / "copies", backup_key=key, now=clock.now())
    assert sorted(p.name for p in copy.parent.iterdir()) == [copy.name]  # no snapshot beside
    opened = keystore.read_copy(copy, backup_key=key)
    assert opened.snapshot_path.parent.parent == get_settings().instance_dir / "keystore-work"
    assert stat.S_IMODE(opened.snapshot_path.parent.stat().st_mode) == 0o700
    assert keystore.clear() == 1
    assert keystore.load_snapshot(opened.snapshot_path, skip=[2]) == 1
    assert keystore.get_many([1]) == {1: (1, "wrapped-1")}
    keystore.clear()
    assert keystore.load_snapshot(opened.snapshot_path, skip=[1]) == 0  # destroyed: not loaded


# --- 4. another instance's key-store copy --------------------------------------------------------


def test_a_key_store_copy_of_another_instance_is_refused(
    seeded, empty_instance, tmp_path, monkeypatch
) -> None:
    info = _backup()
    ids = sorted(keystore.get_many(range(1, 10_000)))
    with monkeypatch.context() as other:  # another instance's key store: other keys, same ids
        other.setenv("CUSTAPP_KEYSTORE_URL", f"sqlite:///{tmp_path / 'other' / 'ks.db'}")
        get_settings.cache_clear()
        keystore.reset_for_tests()
        ring = get_keys().master
        keystore.put_many(
            [(i, *crypto.wrap_data_key(ring, crypto.generate_data_key())) for i in ids]
        )
        foreign = keystore.write_copy(
            tmp_path / "foreign", backup_key=backups.backup_key(), now=clock.now() + timedelta(1)
        )
    get_settings.cache_clear()
    keystore.reset_for_tests()
    empty_instance()
    with pytest.raises(BackupError) as refused:
        _restore(info.path, keystore_copy=foreign)
    # the names sealed in the backup do not open: refused before any key is loaded
    assert refused.value.key == "backup.error.sealed_names_foreign"
    assert "另一个实例的密钥副本" in backup_restore_message(refused.value)
    assert keystore.count() == 0
    assert not (get_settings().instance_dir / "restore-in-progress").exists()
    assert _target_empty()


def _target_empty() -> bool:
    return backup_restore._target_empty(get_settings().database_url)


def backup_restore_message(exc: BackupError) -> str:
    from custapp.i18n import t

    return t(exc.key, "zh_CN", **exc.params)


# --- 5. an unfinished backup ----------------------------------------------------------------------


def test_an_unfinished_backup_is_never_listed(seeded, monkeypatch) -> None:
    first = _backup()
    seen: dict = {}
    real = backup_format.append_manifest

    def looking(out, digest, manifest):  # noqa: ANN001, ANN202
        seen["listed"] = [item.path.name for item in backups.list_backups()]
        seen["files"] = sorted(backup_files.backup_files())
        seen["parts"] = sorted(p.name for p in first.path.parent.glob("*.part"))
        return real(out, digest, manifest)

    monkeypatch.setattr(backup_format, "append_manifest", looking)
    clock.set_now(clock.now() + timedelta(seconds=2))
    second = _backup()
    assert seen["listed"] == [first.path.name] and seen["files"] == [first.path.name]
    assert seen["parts"] == [second.path.name + ".part"]
    assert not list(first.path.parent.glob("*.part"))
    assert [item.path.name for item in backups.list_backups()][0] == second.path.name


# --- 7. the key store and the app database -------------------------------------------------------


@pytest.mark.parametrize(
    ("first", "second", "same"),
    [
        ("sqlite:///{d}/a.db", "sqlite:///{d}/./x/../a.db", True),
        ("sqlite:///{d}/a.db", "sqlite:///{d}/b.db", False),
        ("postgresql+psycopg://u@localhost/app", "postgresql://v:p@127.0.0.1:5432/app", True),
        ("postgresql+psycopg://u@db1/app", "postgresql+psycopg://u@db1/keys", False),
        ("postgresql+psycopg://u@db1:5433/app", "postgresql+psycopg://u@db1/app", False),
        ("postgresql+psycopg://u@db1/app", "sqlite:///app", False),
    ],
)
def test_the_key_store_url_is_compared_as_a_place(tmp_path, first, second, same) -> None:
    a, b = first.format(d=tmp_path), second.format(d=tmp_path)
    assert same_database(a, b) is same
    if same:
        with pytest.raises(ValueError, match="CUSTAPP_KEYSTORE_URL"):
            Settings(database_url=a, keystore_url=b, bcrypt_rounds=4, environment="test")


def test_a_backup_of_an_app_database_holding_the_key_store_is_refused(db) -> None:
    with session_scope() as session:
        session.execute(text("CREATE TABLE keys (id INTEGER PRIMARY KEY, wrapped TEXT)"))
    with pytest.raises(BackupError) as refused:
        _backup()
    assert refused.value.key == "backup.error.app_db_has_keys"
    assert not list(get_settings().backup_dir.glob("custapp-*"))
