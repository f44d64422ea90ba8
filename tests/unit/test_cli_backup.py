"""`custapp backup create|list|verify|restore` (issue 16, BK), on SQLite and PostgreSQL: exit
codes, the Chinese messages, progress on stderr, approvers from the environment or prompts; a
backup made or verified here in the backup folder is on the 备份 page (BP); `custapp keys export`
packs the destruction register into its key-store copy."""

from __future__ import annotations

import base64
import getpass
import os
import re
import shutil
from datetime import timedelta
from pathlib import Path

from sqlalchemy import select

from custapp import clock, job_runner
from custapp.cli import main
from custapp.db import session_scope
from custapp.demo import accounts as demo_accounts
from custapp.models import AuditEntry, BackupRun
from custapp.security import keystore
from custapp.services import backup_format, backup_runs, backups, destruction_register
from custapp.settings import get_settings
from tests.unit.test_backups import (  # noqa: F401 (fixtures)
    NAME,
    PHONE,
    _flip,
    _person,
    _records,
    empty_instance,
    seeded,
)

APPROVERS_ENV = f"admin:{demo_accounts.DEMO_PASSWORD},compliance:{demo_accounts.DEMO_PASSWORD}"


def _created(capsys) -> Path:  # noqa: ANN001
    assert main(["backup", "create"]) == 0
    captured = capsys.readouterr()
    assert "正在备份" in captured.err  # the progress bar
    found = re.search(r"备份已写入 (\S+\.cab)（", captured.out)
    assert found, captured.out
    return Path(found.group(1))


def test_create_list_and_verify(seeded, capsys) -> None:  # noqa: F811
    path = _created(capsys)
    assert path.parent == get_settings().backup_dir
    assert main(["backup", "list"]) == 0
    listed = capsys.readouterr().out
    assert listed.splitlines()[0].startswith("文件")
    assert path.name in listed
    assert main(["backup", "verify", str(path)]) == 0
    captured = capsys.readouterr()
    assert "校验通过" in captured.out
    assert "正在校验" in captured.err
    # both audited, with the file name and counts, never a value
    with session_scope(write=False) as session:
        entries = session.exec(
            select(AuditEntry.action, AuditEntry.outcome, AuditEntry.actor_name, AuditEntry.detail)
            .where(AuditEntry.action.in_(["backup.create", "backup.verify"]))
            .order_by(AuditEntry.seq)
        ).all()
    assert [tuple(e[:3]) for e in entries] == [
        ("backup.create", "ok", "cli"),
        ("backup.verify", "ok", "cli"),
    ]
    for *_, detail in entries:
        assert path.name in detail and NAME not in detail and PHONE not in detail


def test_create_into_another_folder(seeded, capsys, tmp_path) -> None:  # noqa: F811
    folder = tmp_path / "offsite"
    assert main(["backup", "create", "--dest", str(folder)]) == 0
    capsys.readouterr()
    [path] = folder.glob("custapp-*.cab")
    assert list((folder / "keystore").glob("keystore-*.cks"))
    assert main(["backup", "list", "--dir", str(folder)]) == 0
    assert path.name in capsys.readouterr().out
    assert main(["backup", "verify", str(path)]) == 0
    # a copy outside the backup folder is not the page's (it could neither list nor verify it,
    # and the daily step would take it for today's backup): audited only
    with session_scope(write=False) as session:
        assert session.exec(select(BackupRun.id)).first() is None
        actions = session.exec(
            select(AuditEntry.action, AuditEntry.detail).where(AuditEntry.actor_name == "cli")
        ).all()
    assert [a for a, _ in actions] == ["backup.create", "backup.verify"]
    assert all(path.name in detail for _, detail in actions)


def _runs() -> list[tuple]:
    """(kind, status, actor_id, job_id, problem) of every backup run, in order."""
    with session_scope(write=False) as session:
        return session.exec(
            select(
                BackupRun.kind, BackupRun.status, BackupRun.actor_id, BackupRun.job_id,
                BackupRun.problem,
            ).order_by(BackupRun.id)
        ).all()  # fmt: skip


def test_a_backup_made_and_verified_here_is_on_the_backup_page(seeded, capsys) -> None:  # noqa: F811
    admin = _person("admin")
    path = _created(capsys)
    with session_scope(write=False) as session:
        views, total = backup_runs.list_runs(session, actor=admin)
    assert total == 1
    [view] = views
    assert (view.kind, view.status, view.file_name, view.present) == (
        "backup",
        "ok",
        path.name,
        True,
    )
    assert view.summary["revision"] == backups.read_manifest(path)["alembic_revision"]
    assert view.summary["rows"] > 0 and view.size_bytes == path.stat().st_size
    assert view.verify_status == ""
    assert [tuple(r) for r in _runs()] == [("backup", "ok", None, None, None)]
    assert main(["backup", "verify", str(path)]) == 0
    capsys.readouterr()
    with session_scope(write=False) as session:
        [view] = backup_runs.list_runs(session, actor=admin)[0]
        last = backup_runs.last_verified(session, actor=admin)
    assert view.verify_status == "ok"
    assert last is not None and last.file_name == path.name
    # the page's 校验 works on it too: queued, run by the job runner, recorded
    with session_scope() as session:
        job_id = backup_runs.queue_verify(session, actor=admin, file_name=path.name)
    assert job_runner.work(once=True) == 1
    assert [tuple(r) for r in _runs()[1:]] == [
        ("verify", "ok", None, None, None),
        ("verify", "ok", admin.user_id, job_id, None),
    ]
    # audited as the page's are, by the command line, never with a value
    with session_scope(write=False) as session:
        entries = session.exec(
            select(AuditEntry.actor_name, AuditEntry.target_type, AuditEntry.detail)
            .where(AuditEntry.action.in_(["backup.create", "backup.verify"]))
            .order_by(AuditEntry.seq)
        ).all()
    assert [tuple(e[:2]) for e in entries[:2]] == [("cli", "backup_run"), ("cli", "backup_run")]
    assert not any(NAME in (e.detail or "") or PHONE in (e.detail or "") for e in entries)


def test_verify_names_the_damaged_part(seeded, capsys, monkeypatch) -> None:  # noqa: F811
    monkeypatch.setattr(backup_format, "CHUNK_SIZE", 4096)
    path = _created(capsys)
    middle = path.stat().st_size // 2
    number = next(i for i, (a, b) in enumerate(_records(path)) if a <= middle < b) + 1
    _flip(path, middle)
    assert main(["backup", "verify", str(path)]) == 1
    assert f"校验失败：备份文件已损坏：第 {number} 段校验失败" in capsys.readouterr().err
    # the page shows the failed verification with its problem
    with session_scope(write=False) as session:
        [view] = backup_runs.list_runs(session, actor=_person("admin"))[0]
        assert backup_runs.last_verified(session, actor=_person("admin")) is None
    assert (view.verify_status, view.verify_problem) == ("failed", "backup.error.damaged")
    assert view.verify_params == {"chunk": number}


def test_verify_refuses_a_wrong_key(seeded, capsys, monkeypatch) -> None:  # noqa: F811
    path = _created(capsys)
    monkeypatch.setenv("CUSTAPP_BACKUP_KEY", base64.urlsafe_b64encode(os.urandom(32)).decode())
    get_settings.cache_clear()
    assert main(["backup", "verify", str(path)]) == 1
    assert "备份密钥不对" in capsys.readouterr().err
    assert main(["backup", "list"]) == 0
    assert "备份密钥不对" in capsys.readouterr().out


def test_a_malformed_backup_key_variable_is_named(db, capsys, monkeypatch) -> None:
    monkeypatch.setenv("CUSTAPP_BACKUP_KEY", "too-short")
    get_settings.cache_clear()
    assert main(["backup", "list"]) == 2
    err = capsys.readouterr().err
    assert "CUSTAPP_BACKUP_KEY" in err and "too-short" not in err


def test_restore_into_an_empty_instance_with_approvers_from_the_environment(
    seeded,  # noqa: F811
    empty_instance,  # noqa: F811
    capsys,
    monkeypatch,
) -> None:
    path = _created(capsys)
    empty_instance()
    monkeypatch.setenv("CUSTAPP_RESTORE_APPROVERS", APPROVERS_ENV)
    assert main(["backup", "restore", str(path)]) == 0
    assert "恢复完成" in capsys.readouterr().out
    assert main(["audit", "verify"]) == 0
    assert keystore.count() > 0


def test_restore_refusals_are_named(seeded, empty_instance, capsys, monkeypatch) -> None:  # noqa: F811
    path = _created(capsys)
    monkeypatch.setenv("CUSTAPP_RESTORE_APPROVERS", APPROVERS_ENV)
    assert main(["backup", "restore", str(path)]) == 2  # this instance is not empty
    assert "目标数据库不是空的" in capsys.readouterr().err
    older = keystore.write_copy(
        get_settings().instance_dir / "old",
        backup_key=backups.backup_key(),
        now=clock.now() - timedelta(days=2),
    )
    empty_instance()
    assert main(["backup", "restore", str(path), "--keystore-copy", str(older)]) == 2
    assert "密钥库副本" in capsys.readouterr().err
    monkeypatch.setenv("CUSTAPP_RESTORE_APPROVERS", "admin-without-password")
    assert main(["backup", "restore", str(path)]) == 2
    assert "CUSTAPP_RESTORE_APPROVERS" in capsys.readouterr().err


def test_restore_asks_the_approvers_and_refuses_a_wrong_password(
    seeded,  # noqa: F811
    empty_instance,  # noqa: F811
    capsys,
    monkeypatch,
) -> None:
    path = _created(capsys)
    empty_instance()
    monkeypatch.delenv("CUSTAPP_RESTORE_APPROVERS", raising=False)
    names = iter(["admin", "compliance"])
    secrets = iter([demo_accounts.DEMO_PASSWORD, "not-her-password-9"])
    monkeypatch.setattr("builtins.input", lambda _prompt="": next(names))
    monkeypatch.setattr(getpass, "getpass", lambda _prompt="": next(secrets))
    assert main(["backup", "restore", str(path)]) == 2
    assert "审批人核验未通过" in capsys.readouterr().err
    assert keystore.count() == 0
    settings = get_settings()
    if settings.is_sqlite:
        assert not Path(settings.database_url.removeprefix("sqlite:///")).exists()


def test_keys_export_packs_the_destruction_register_into_its_copy(
    db, capsys, monkeypatch, tmp_path
) -> None:
    for number in (1, 2):
        destruction_register.append(
            {"candidate": f"XH2026041000{number:02d}", "customer_id": number, "method": "test"}
        )
    monkeypatch.setenv("CUSTAPP_KEYS_PASSPHRASE", "a long backup passphrase")
    assert main(["keys", "export", "--out", str(tmp_path / "keys.bundle")]) == 0
    capsys.readouterr()
    [copy] = (get_settings().backup_dir / "keystore").glob("keystore-*.cks")
    opened = keystore.read_copy(copy, backup_key=backups.backup_key())
    shutil.rmtree(opened.snapshot_path.parent)
    assert opened.register_bytes == destruction_register.path().read_bytes()
    assert destruction_register.parse(opened.register_bytes) == destruction_register.read()
