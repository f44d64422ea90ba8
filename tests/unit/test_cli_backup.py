"""`custapp backup create|list|verify|restore` (issue 16, BK), on SQLite and PostgreSQL: exit
codes, the Chinese messages, progress on stderr, approvers from the environment or prompts."""

from __future__ import annotations

import base64
import getpass
import os
import re
from datetime import timedelta
from pathlib import Path

from sqlalchemy import select

from custapp import clock
from custapp.cli import main
from custapp.db import session_scope
from custapp.demo import accounts as demo_accounts
from custapp.models import AuditEntry
from custapp.security import keystore
from custapp.services import backup_format, backups
from custapp.settings import get_settings
from tests.unit.test_backups import (  # noqa: F401 (fixtures)
    NAME,
    PHONE,
    _flip,
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


def test_verify_names_the_damaged_part(seeded, capsys, monkeypatch) -> None:  # noqa: F811
    monkeypatch.setattr(backup_format, "CHUNK_SIZE", 4096)
    path = _created(capsys)
    middle = path.stat().st_size // 2
    number = next(i for i, (a, b) in enumerate(_records(path)) if a <= middle < b) + 1
    _flip(path, middle)
    assert main(["backup", "verify", str(path)]) == 1
    assert f"校验失败：备份文件已损坏：第 {number} 段校验失败" in capsys.readouterr().err


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
