"""Restoring a backup (issue 16, BK): `custapp backup restore FILE`, into an EMPTY instance.

Refused before anything is written: a file that is no backup, a wrong backup key, another
backend, a schema revision this code does not know, an instance without the backup's keys
(master/index/audit: `custapp keys restore` first), a target database with tables, a key store
with keys, a key-store copy older than the backup, a destruction register older than the backup.

Then: the database is loaded (every record checked before it is used; the names sealed in the
backup opened with the key-store copy's keys, services/backup_seal.py), its rows counted
against the manifest, the two approvers (a sysadmin and a compliance officer, two people,
username and password checked against the RESTORED users table) confirmed, the key store
filled from the key-store copy, the register put in place, the schema migrated to head, every
destruction of the register re-applied (services/destruction.reapply) and the audit chain
re-anchored (services/audit_anchors.reanchor_after_restore) with the seqs lost after the backup.
Anything failing on the way, a refused approver included, wipes the target again: nothing
half-restored is left to serve. A restore that is killed on the way cannot wipe: the marker
`<instance_dir>/restore-in-progress`, written before its first write and removed only when it
succeeded or wiped, makes every other use of the database refuse (custapp/db.py), and running
the restore again wipes what the killed one loaded first. Keys the register lists as destroyed
are never loaded, and every register copy found counts (a torn one refuses the restore unless
accepted: then its verified part counts); a key-store copy under which no sampled customer
decrypts (another instance's) is refused.
"""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from sqlalchemy import text

from custapp import clock, db
from custapp.db import session_scope
from custapp.security import keystore, passwords
from custapp.security.permissions import COMPLIANCE, SYSADMIN
from custapp.services import audit, audit_anchors, backup_format, destruction_register
from custapp.services.actor import system_actor
from custapp.services.backup_backends import (
    BackupError,
    Progress,
    backend_of,
    backup_key,
    facts,
    instance_keys_present,
    keys_match,
    load_backup,
    pg_is_empty,
    pg_wipe,
    plain_engine,
    revision_known,
    sqlite_file,
    sqlite_is_empty,
    sqlite_remove,
)
from custapp.services.backup_verify import check_facts, decrypt_sample, manifest_of
from custapp.services.errors import DomainError
from custapp.settings import PROJECT_DIR, get_settings, private_dir
from custapp.vocab import UserKind


@dataclass(frozen=True)
class RestoreReport:
    ok: bool
    manifest: dict
    keys_loaded: int
    register_entries: int
    destructions_reapplied: int
    reanchor_seq: int | None
    lost_to: int | None
    revision: str | None  # after the migrations


def _target_empty(url: str) -> bool:
    if backend_of(url) == "sqlite":
        return sqlite_is_empty(sqlite_file(url))
    engine = plain_engine(url)
    try:
        with engine.connect() as conn:
            return pg_is_empty(conn)
    finally:
        engine.dispose()


def _check_target(manifest: dict, url: str) -> None:
    backend = backend_of(url)
    if manifest.get("backend") != backend:
        raise BackupError(
            "backup.error.wrong_backend", backend=manifest.get("backend"), target=backend
        )
    revision = manifest.get("alembic_revision")
    if not revision_known(revision):
        raise BackupError("backup.error.revision_unknown", revision=revision or "-")
    if not instance_keys_present():
        raise BackupError("backup.error.keys_missing")
    if not keys_match(manifest.get("keys")):
        raise BackupError("backup.error.keys_differ")
    if not _target_empty(url):
        raise BackupError("backup.error.target_not_empty")
    if keystore.count():
        raise BackupError("backup.error.keystore_not_empty")


def _newest_copy(folder: Path) -> Path | None:
    """The newest key-store copy beside the backup (`<its folder>/keystore/`)."""
    pattern = f"{keystore.COPY_PREFIX}*{keystore.COPY_SUFFIX}"
    candidates = sorted((folder / "keystore").glob(pattern))
    return candidates[-1] if candidates else None


def _open_copy(path: Path | None, backup_file: Path, key: bytes, manifest: dict):  # noqa: ANN202
    """The key-store copy given (else the newest beside the backup), opened; refused when it
    is older than the backup (keys made between the two would be missing)."""
    path = Path(path) if path else _newest_copy(backup_file.parent)
    if path is None or not path.is_file():
        raise BackupError("backup.error.keystore_copy_missing")
    try:
        copy = keystore.read_copy(path, backup_key=key)
    except keystore.KeyStoreCopyError as exc:
        wrong_key = isinstance(exc.__cause__, backup_format.WrongBackupKey)
        key_name = (
            "backup.error.wrong_key" if wrong_key else "backup.error.keystore_copy_unreadable"
        )
        raise BackupError(key_name) from exc
    backup_at = datetime.fromisoformat(manifest["created_at"])
    if copy.created_at < backup_at:
        shutil.rmtree(copy.snapshot_path.parent, ignore_errors=True)
        raise BackupError(
            "backup.error.keystore_copy_older",
            copy_at=clock.format_local(copy.created_at, "%Y-%m-%d %H:%M:%S"),
            backup_at=clock.format_local(backup_at, "%Y-%m-%d %H:%M:%S"),
        )
    return copy


def _register(
    manifest: dict,
    backup_file: Path,
    copy,
    scratch: Path,
    *,
    accept_damaged: bool,  # noqa: ANN001
) -> destruction_register.Merged:
    """Every register found (the live one, the copies in the backup's folder and in the backup
    folder, the one in the key-store copy), merged; refused when one is damaged (unless
    accepted: its verified part counts) or when none holds the backup's register head."""
    candidates = [
        destruction_register.path(),
        backup_file.parent / "register" / destruction_register.FILE_NAME,
        get_settings().backup_dir / "register" / destruction_register.FILE_NAME,
    ]
    if copy.register_bytes is not None:
        inside = scratch / destruction_register.FILE_NAME
        inside.write_bytes(copy.register_bytes)
        candidates.append(inside)
    merged = destruction_register.merge(candidates)
    if merged.damaged and not accept_damaged:
        damaged, line = next(iter(merged.damaged.items()))
        shown = "(密钥库副本中的登记簿)" if damaged.parent == scratch else str(damaged)
        raise BackupError("backup.error.register_damaged_file", file=shown, line=line)
    head = manifest.get("register_head") or {"count": 0, "mac": destruction_register.GENESIS}
    at = (head["count"], head["mac"])
    if not any(destruction_register.contains(e, at) for e in merged.sources.values()) and at[0]:
        raise BackupError(
            "backup.error.register_older", found=len(merged.entries), expected=head["count"]
        )
    return merged


def destroyed_keys(entries: list[dict]) -> set[int]:
    """The data keys the register's entries destroyed (each customer's and its merged records')."""
    found = set()
    for entry in entries:
        found.update(
            k for k in (entry.get("key_id"), *(m[1] for m in entry.get("merged") or [])) if k
        )
    return found


def _approver_ids(approvers: list[tuple[str, str]]) -> list[int]:
    """Two different active staff users of the restored database, each with the right password:
    one a sysadmin, the other a compliance officer -> their ids (sysadmin first)."""
    users: dict[int, set[str]] = {}
    query = text(
        "SELECT u.id, u.password_hash, r.role FROM users u LEFT JOIN user_roles r "
        "ON r.user_id = u.id WHERE u.username = :name AND u.is_active AND u.kind = :kind"
    )
    with session_scope(write=False) as session:
        rows_by_name = {
            name: session.execute(query, {"name": name, "kind": UserKind.STAFF}).all()
            for name, _ in approvers
        }
    for name, password in approvers:
        rows = rows_by_name.get(name) or []
        hashed = rows[0][1] if rows else None
        if not passwords.verify_password(password or "", hashed or "") or not rows:
            raise BackupError("backup.error.approver_refused")
        users[rows[0][0]] = {row[2] for row in rows if row[2]}
    admins = [i for i, roles in users.items() if SYSADMIN in roles]
    officers = [i for i, roles in users.items() if COMPLIANCE in roles]
    pairs = [(a, c) for a in admins for c in officers if a != c]
    if len(users) != 2 or not pairs:
        raise BackupError("backup.error.approver_refused")
    return list(pairs[0])


def _count_check(url: str, manifest: dict) -> None:
    """What was loaded is what the manifest says (rows per table, audit head)."""
    engine = plain_engine(url)
    try:
        with engine.connect() as conn, conn.begin():
            check_facts(facts(conn), manifest)
    finally:
        engine.dispose()


def _migrate() -> str | None:
    from alembic import command
    from alembic.config import Config

    command.upgrade(Config(str(PROJECT_DIR / "alembic.ini")), "head")
    with session_scope(write=False) as session:
        return session.execute(text("SELECT version_num FROM alembic_version")).scalar()


def _reapply(entries: list[dict]) -> int:
    if not entries:
        return 0
    try:
        from custapp.services.destruction import reapply
    except ImportError as exc:  # never restore destroyed customers back to life
        raise BackupError("backup.error.reapply_unavailable") from exc
    return int(reapply(session_scope, entries) or 0)


def _wipe(url: str, snapshot: Path | None, register_installed: Path | None) -> None:
    """Take back whatever a failed restore loaded: the database, the keys, the register."""
    db.dispose_engines()
    if backend_of(url) == "sqlite":
        sqlite_remove(sqlite_file(url))
    else:
        pg_wipe(url)
    if snapshot is not None:
        conn = sqlite3.connect(f"file:{snapshot}?mode=ro", uri=True)
        try:
            ids = [row[0] for row in conn.execute("SELECT id FROM keys")]
        finally:
            conn.close()
        keystore.destroy(ids)
    if register_installed is not None:
        register_installed.unlink(missing_ok=True)
    db.restore_marker().unlink(missing_ok=True)  # wiped: the instance is empty again


def restore_backup(
    path: Path,
    *,
    keystore_copy: Path | None,
    approvers: list[tuple[str, str]],
    progress: Progress | None = None,
    accept_damaged_register: bool = False,
) -> RestoreReport:
    """Restore the backup at `path` into this (empty) instance; see the module's docstring.
    Raises BackupError (i18n key and parameters) on every refusal; the instance is then as
    empty as before."""
    path = Path(path)
    url = get_settings().database_url
    key = backup_key()
    with db.restoring():
        manifest = manifest_of(path, key)
        if db.restore_marker().exists():  # a restore was killed half-way: take it back first
            keystore.clear()
            _wipe(url, None, None)  # removes the marker last
        _check_target(manifest, url)
        checkpoint = audit.read_checkpoint()
        lost_to = checkpoint["seq"] if checkpoint else None
        copy = _open_copy(keystore_copy, path, key, manifest)
        try:
            merged = _register(
                manifest, path, copy, copy.snapshot_path.parent,
                accept_damaged=accept_damaged_register,
            )  # fmt: skip
            return _restore_into(
                path, url, key, manifest, copy.snapshot_path, merged,
                approvers=approvers, lost_to=lost_to, progress=progress,
            )  # fmt: skip
        finally:
            shutil.rmtree(copy.snapshot_path.parent, ignore_errors=True)


def _install_register(merged: destruction_register.Merged) -> Path | None:
    """The merged register becomes the instance's -> its path when this made it (a wipe then
    removes it again). A live register that is replaced is kept beside it (`.replaced`)."""
    live = destruction_register.path()
    longest = merged.longest
    if longest is None:
        return None
    chain = merged.sources[longest]
    extra = merged.entries[len(chain) :]
    if longest == live and live not in merged.damaged and not extra:
        return None
    private_dir(live.parent)
    existed = live.exists()
    if existed:
        shutil.copyfile(live, live.with_name(live.name + ".replaced"))
    destruction_register.write_verified(live, chain, extra)
    return None if existed else live


def _write_marker(path: Path) -> None:
    """The restore-in-progress marker (0600), durable before the first write of the restore."""
    marker = db.restore_marker()
    private_dir(marker.parent)
    fd = os.open(marker, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        json.dump(
            {"file": path.name, "started_at": clock.now().isoformat(), "pid": os.getpid()}, handle
        )
        handle.flush()
        os.fsync(handle.fileno())


def _check_keys_decrypt(url: str) -> None:
    """Some sampled live customer decrypts with the keys just loaded: else the key-store copy
    is another instance's (or of another time) and the restore is refused."""
    engine = plain_engine(url)
    try:
        found = decrypt_sample(engine, keystore.get_many)
    finally:
        engine.dispose()
    if found["failed"] and not found["decrypted"]:
        raise BackupError("backup.error.keystore_copy_foreign", sampled=found["sampled"])


def _restore_into(
    path: Path, url: str, key: bytes, manifest: dict, snapshot: Path,
    merged: destruction_register.Merged, *,
    approvers: list[tuple[str, str]], lost_to: int | None, progress: Progress | None,
) -> RestoreReport:  # fmt: skip
    """From the first byte written to the end: any failure wipes what was loaded."""
    loaded_keys: Path | None = None
    installed: Path | None = None
    entries = merged.entries
    _write_marker(path)
    destroyed = destroyed_keys(entries)

    def keys_of(ids: list[int]) -> dict:  # the copy's keys, never a destroyed one
        return keystore.snapshot_get_many(snapshot, (i for i in ids if i not in destroyed))

    try:
        db.dispose_engines()
        load_backup(path, key, url, progress, keys_of=keys_of)
        _count_check(url, manifest)
        approver_ids = _approver_ids(approvers)
        loaded_keys = snapshot
        keys_loaded = keystore.load_snapshot(snapshot, skip=destroyed)
        installed = _install_register(merged)
        revision = _migrate()
        _check_keys_decrypt(url)
        reapplied = _reapply(entries)
        head = manifest.get("audit_head") or {"seq": 0, "mac": ""}
        with session_scope() as session:
            entry = audit_anchors.reanchor_after_restore(
                session,
                backup_head_seq=head["seq"],
                backup_head_mac=head["mac"],
                lost_to=lost_to,
                approver_ids=approver_ids,
            )
        with session_scope() as session:  # after the re-anchoring: the chain goes on from it
            audit.record(
                session,
                actor=system_actor("restore"),
                action="backup.restore",
                target_type="backup",
                detail={
                    "file": path.name,
                    "backup_at": manifest.get("created_at"),
                    "revision": revision,
                    "keys_loaded": keys_loaded,
                    "destructions_reapplied": reapplied,
                    "approved_by": sorted(approver_ids),
                },
            )
    except DomainError as exc:
        _wipe(url, loaded_keys, installed)
        if isinstance(exc, BackupError):
            raise
        raise BackupError(exc.key, **exc.params) from exc
    except BaseException:
        _wipe(url, loaded_keys, installed)
        raise
    db.restore_marker().unlink(missing_ok=True)
    return RestoreReport(
        ok=True,
        manifest=manifest,
        keys_loaded=keys_loaded,
        register_entries=len(entries),
        destructions_reapplied=reapplied,
        reanchor_seq=entry.seq,
        lost_to=lost_to,
        revision=revision,
    )
