"""The instance folder and what it holds are for the app's user alone (issue 14 item 10): the
folder 0700; the SQLite database with its -wal and -shm, the key files and the audit checkpoint
0600, whatever the umask, and an older install with looser modes is tightened at start."""

from __future__ import annotations

import os
import sqlite3
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text

from tests.conftest import migrate, reset_caches

KEY_FILES = ("master.keyring", "index.key", "audit.key")
DB_FILES = ("custapp.db", "custapp.db-wal", "custapp.db-shm")


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture
def instance(tmp_path, monkeypatch) -> Iterator[Path]:  # noqa: ANN001
    folder = tmp_path / "instance"
    monkeypatch.setenv("CUSTAPP_INSTANCE_DIR", str(folder))
    monkeypatch.setenv("CUSTAPP_DATABASE_URL", f"sqlite:///{folder / 'custapp.db'}")
    old = os.umask(0o022)  # the usual umask: 0644 files, 0755 folders unless asked otherwise
    reset_caches()
    yield folder
    reset_caches()
    os.umask(old)


def _write_audited() -> None:
    from custapp.db import session_scope
    from custapp.services import audit
    from custapp.services.actor import Actor

    with session_scope() as session:
        audit.record(session, actor=Actor(user_id=None, name="system", kind="system"), action="t")


def test_a_new_instance_is_private(instance: Path) -> None:
    migrate()
    _write_audited()  # keys, the database's -wal/-shm (connection still pooled), the checkpoint

    assert mode(instance) == 0o700
    for name in (*DB_FILES, *KEY_FILES, "audit-head.json"):
        assert mode(instance / name) == 0o600, name


def test_an_older_install_is_tightened_at_start(instance: Path) -> None:
    migrate()
    _write_audited()
    reset_caches()
    # as an earlier version left it, with another process holding the database open in WAL mode
    os.chmod(instance, 0o755)
    other = sqlite3.connect(instance / "custapp.db")
    other.execute("PRAGMA journal_mode=WAL")
    other.execute("CREATE TABLE IF NOT EXISTS scratch (x)")
    other.commit()
    for name in (*DB_FILES, *KEY_FILES):
        os.chmod(instance / name, 0o644)
    checkpoint = instance / "audit-head.json"  # a new file, as a fresh process would open it
    data = checkpoint.read_bytes()
    checkpoint.unlink()
    checkpoint.write_bytes(data)
    checkpoint.chmod(0o644)

    from custapp.db import get_engine
    from custapp.security.keys import get_keys

    with get_engine().connect() as conn:
        conn.execute(text("SELECT 1"))
    get_keys()
    _write_audited()
    other.close()

    assert mode(instance) == 0o700
    for name in (*DB_FILES, *KEY_FILES, "audit-head.json"):
        assert mode(instance / name) == 0o600, name
