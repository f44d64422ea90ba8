"""Verifying a backup (issue 16, BK): `custapp backup verify FILE` and the 校验 button.

The file is decrypted record by record (a damaged record is named) into a scratch database
(SQLite: a private temporary file; PostgreSQL: `<db>_verify_<random>`, created and dropped),
then: the schema revision is the manifest's and known to this code, the rows per table are the
manifest's, the audit chain walks intact to the manifest's head, and a sample of customers
decrypts with the instance's keys and the key store (live, or a key-store copy given). A
customer whose key was destroyed since the backup counts as destroyed, not as a failure.
Nothing of the scratch database is kept; the report holds counts and message keys only.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from sqlalchemy import Engine, select, text
from sqlmodel import Session

from custapp import clock
from custapp.db import session_scope
from custapp.models import AuditEntry, DataKey
from custapp.security import crypto, keystore
from custapp.security.keys import get_keys
from custapp.services import (
    audit,
    backup_format,
    backup_seal,
    customer_fields,
    destruction_register,
)
from custapp.services.audit_anchor_rows import chain_start
from custapp.services.backup_backends import (
    BackupError,
    Progress,
    backend_of,
    backup_key,
    facts,
    format_error,
    keys_match,
    load_backup,
    pg_scratch_database,
    plain_engine,
    revision_known,
    scratch_dir,
)
from custapp.services.backup_leftovers import sweep_leftovers
from custapp.settings import get_settings

SAMPLE_SIZE = 25


@dataclass(frozen=True)
class VerifyReport:
    ok: bool
    problem: str | None  # i18n key
    detail: dict  # the problem's message parameters, and what was checked (counts only)
    checked_at: datetime
    manifest: dict = field(default_factory=dict)


def manifest_of(path: Path, key: bytes) -> dict:
    try:
        with Path(path).open("rb") as src:
            return backup_format.read_manifest(src, key)
    except backup_format.BackupFormatError as exc:
        raise format_error(exc) from None


def _locate_damage(path: Path, key: bytes) -> BackupError | None:
    """The manifest, at the file's end, did not open: the first bad record from the start
    (a file cut short is named by the first record missing)."""
    try:
        with path.open("rb") as src:
            found = backup_format.first_damage(src, key)
    except OSError:
        return None
    return format_error(found) if found else None


@contextmanager
def _scratch(url: str) -> Iterator[str]:
    if backend_of(url) == "postgresql":
        with pg_scratch_database(url) as scratch:
            yield scratch
        return
    with scratch_dir() as folder:
        yield f"sqlite:///{folder / 'verify.db'}"


def verify_backup(
    path: Path, *, keystore_copy: Path | None = None, progress: Progress | None = None
) -> VerifyReport:
    """Check the backup at `path` end to end (see the module's docstring). Never raises for a
    bad backup: the report says what is wrong (`problem`, with `detail` as its parameters)."""
    checked_at = clock.now()
    manifest: dict = {}
    sweep_leftovers()
    try:
        key = backup_key()
    except BackupError as exc:
        return VerifyReport(False, exc.key, dict(exc.params), checked_at, manifest)
    try:
        manifest = manifest_of(path, key)
    except BackupError as exc:
        exact = _locate_damage(Path(path), key) or exc
        return VerifyReport(False, exact.key, dict(exact.params), checked_at, manifest)
    try:
        detail = _verify(Path(path), key, manifest, keystore_copy, progress)
    except BackupError as exc:
        return VerifyReport(False, exc.key, dict(exc.params), checked_at, manifest)
    return VerifyReport(True, None, detail, checked_at, manifest)


def _verify(
    path: Path, key: bytes, manifest: dict, keystore_copy: Path | None, progress: Progress | None
) -> dict:
    url = get_settings().database_url
    revision = manifest.get("alembic_revision")
    if not revision_known(revision):
        raise BackupError("backup.error.revision_unknown", revision=revision or "-")
    if not keys_match(manifest.get("keys")):
        raise BackupError("backup.error.keys_differ")
    sqlite = backend_of(url) == "sqlite"
    with _scratch(url) as scratch_url, _keys_of(keystore_copy, key) as keys_of:
        # SQLite's names stay sealed (the sample opens its own); PostgreSQL's must be opened
        load_backup(path, key, scratch_url, progress, keys_of=None if sqlite else keys_of)
        engine = plain_engine(scratch_url)
        try:
            found = _check_database(engine, manifest)
            audit_checked = _check_audit(engine, manifest)
            sample = _check_sample(engine, keys_of)
        finally:
            engine.dispose()
    return {
        "revision": found["alembic_revision"],
        "tables": len(found["row_counts"]),
        "customers": found["row_counts"].get("customers", 0),
        "audit_entries": audit_checked,
        **sample,
    }


def check_facts(found: dict, manifest: dict) -> None:
    """A database's revision, rows per table and audit head are the manifest's."""
    if found["alembic_revision"] != manifest.get("alembic_revision"):
        raise BackupError(
            "backup.verify.revision_mismatch",
            revision=found["alembic_revision"] or "-",
            expected=manifest.get("alembic_revision") or "-",
        )
    expected = manifest.get("row_counts", {})
    for table in sorted(set(expected) | set(found["row_counts"])):
        if expected.get(table) != found["row_counts"].get(table):
            raise BackupError(
                "backup.verify.count_mismatch",
                table=table,
                expected=expected.get(table, 0),
                found=found["row_counts"].get(table, 0),
            )
    if found["audit_head"] != manifest.get("audit_head"):
        raise BackupError("backup.verify.audit_failed", seq=found["audit_head"]["seq"])


def _check_database(engine: Engine, manifest: dict) -> dict:
    with engine.connect() as conn, conn.begin():
        if conn.dialect.name == "sqlite":
            status = conn.exec_driver_sql("PRAGMA quick_check").scalar()
            if status != "ok":
                raise BackupError("backup.verify.integrity")
        found = facts(conn)
    check_facts(found, manifest)
    return found


def _check_audit(engine: Engine, manifest: dict) -> int:
    """The chain walks intact from its start (the newest seal, or the genesis) to its head, and
    the head is the manifest's. The instance's checkpoint file is not consulted: it vouches for
    the live chain, which has moved on since the backup."""
    head = manifest.get("audit_head") or {"seq": 0, "mac": ""}
    with Session(engine) as session:
        start = chain_start(session)
        if start.problem:
            raise BackupError("backup.verify.audit_failed", seq=start.bad_seq or 0)
        result, last_seq = audit.walk_chain(session, start.seq, start.mac)
        if not result.ok:
            raise BackupError("backup.verify.audit_failed", seq=result.bad_seq or 0)
        last_mac = session.exec(
            select(AuditEntry.mac).where(AuditEntry.seq == last_seq)
        ).scalar_one_or_none()
    if head["seq"] and (last_seq, last_mac or start.mac) != (head["seq"], head["mac"]):
        raise BackupError("backup.verify.audit_failed", seq=last_seq)
    return result.checked


# --- a sample of customers ----------------------------------------------------------------


@contextmanager
def _keys_of(copy: Path | None, key: bytes) -> Iterator[Callable[[list[int]], dict]]:
    """The data keys to check with: the key-store copy given (opened once), else the live
    key store."""
    if copy is None:
        yield keystore.get_many
        return
    try:
        opened = keystore.read_copy(copy, backup_key=key)
    except keystore.KeyStoreCopyError as exc:
        raise BackupError("backup.error.keystore_copy_unreadable") from exc
    try:
        yield lambda ids: keystore.snapshot_get_many(opened.snapshot_path, ids)
    finally:
        shutil.rmtree(opened.snapshot_path.parent, ignore_errors=True)


def destroyed_key_ids(ids: list[int]) -> set[int]:
    """Of these data keys, those destroyed since: in the destruction register, or marked
    destroyed in the live database."""
    wanted = set(ids)
    found = set()
    try:
        entries = destruction_register.read()
    except destruction_register.RegisterDamaged:
        entries = []
    for entry in entries:  # each line: the customer's key_id, and its merged records' keys
        keys = [entry.get("key_id"), *(pair[1] for pair in entry.get("merged") or [])]
        found.update(k for k in keys if k in wanted)
    if wanted:
        with session_scope(write=False) as session:
            found.update(
                session.exec(
                    select(DataKey.id).where(
                        DataKey.id.in_(sorted(wanted)), DataKey.destroyed_at.is_not(None)
                    )
                ).scalars()
            )
    return found


def decrypt_sample(engine: Engine, keys_of: Callable[[list[int]], dict]) -> dict:
    """Decrypt a random sample of the database's customers with the keys `keys_of(ids)` gives
    -> {"sampled", "decrypted", "destroyed", "failed"} (a key destroyed since counts as
    destroyed, not as failed)."""
    with engine.connect() as conn:
        rows = [
            dict(row._mapping)
            for row in conn.execute(
                text("SELECT * FROM customers ORDER BY random() LIMIT :n"), {"n": SAMPLE_SIZE}
            )
        ]
    live = [r for r in rows if not r.get("destroyed_at")]
    ids = sorted({r["data_key_id"] for r in live})
    keys = keys_of(ids)
    gone = destroyed_key_ids([i for i in ids if i not in keys])
    ring = get_keys().master
    decrypted = destroyed = failed = 0
    for row in live:
        wrapped = keys.get(row["data_key_id"])
        if wrapped is None:  # destroyed since the backup, or lost: only the first is fine
            gone_since = row["data_key_id"] in gone
            destroyed, failed = destroyed + gone_since, failed + (not gone_since)
            continue
        try:
            data_key = crypto.unwrap_data_key(ring, *wrapped)
            for spec in customer_fields.SENSITIVE:
                if row.get(spec.column):
                    crypto.decrypt_field(
                        data_key, row[spec.column], context=customer_fields.context(spec.name)
                    )
            own = {row["data_key_id"]: data_key}
            for column in ("name", "legal_representative"):  # sealed (SQLite: still sealed)
                backup_seal.unseal_value(own, "customers", column, row.get(column))
            decrypted += 1
        except (crypto.DecryptionError, crypto.KeyRingError):
            failed += 1
    return {
        "sampled": len(rows),
        "decrypted": decrypted,
        "destroyed": destroyed + len(rows) - len(live),
        "failed": failed,
    }


def _check_sample(engine: Engine, keys_of: Callable[[list[int]], dict]) -> dict:
    found = decrypt_sample(engine, keys_of)
    failed = found.pop("failed")
    if failed:
        raise BackupError("backup.verify.decrypt_failed", count=failed, sampled=found["sampled"])
    return found
