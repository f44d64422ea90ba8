"""The `custapp` command line: migrate, create-user, seed-demo, audit verify, rotate-key,
keys export|restore, jobs run, jobs work, jobs tick, backup create|verify|restore|list."""

from __future__ import annotations

import argparse
import getpass
import os
import sys
from pathlib import Path

from custapp.i18n import t


def _progress(done: int, total: int, label: str = "") -> None:
    width = 30
    filled = width if not total else int(width * done / total)
    sys.stderr.write(f"\r{label} [{'#' * filled}{'.' * (width - filled)}] {done}/{total}")
    if total and done >= total:
        sys.stderr.write("\n")
    sys.stderr.flush()


def cmd_migrate(_args: argparse.Namespace) -> int:
    from alembic import command
    from alembic.config import Config

    from custapp.settings import PROJECT_DIR

    command.upgrade(Config(str(PROJECT_DIR / "alembic.ini")), "head")
    print(t("cli.migrated"))
    return 0


def cmd_create_user(args: argparse.Namespace) -> int:
    from sqlalchemy import select

    from custapp.db import session_scope
    from custapp.models import Store
    from custapp.services.actor import system_actor
    from custapp.services.bootstrap import create_staff_user
    from custapp.services.errors import ValidationFailed

    password = args.password or os.environ.get("CUSTAPP_NEW_PASSWORD") or getpass.getpass()
    try:
        with session_scope() as session:
            store_ids = [
                session.exec(select(Store.id).where(Store.code == code.upper())).scalar_one()
                for code in args.store
            ]
            user_id = create_staff_user(
                session,
                actor=system_actor("cli"),
                username=args.username,
                display_name=args.name or args.username,
                roles=args.role,
                password=password,
                store_ids=store_ids,
                must_change=args.temporary,
            )
    except ValidationFailed as exc:
        for field, key in exc.errors.items():
            print(f"{field}: {t(key)}", file=sys.stderr)
        return 2
    print(t("cli.user_created", id=user_id))
    return 0


def cmd_seed_demo(args: argparse.Namespace) -> int:
    import time

    from custapp.db import session_scope
    from custapp.demo import accounts as demo_accounts
    from custapp.demo import customers as demo_customers
    from custapp.services import bootstrap
    from custapp.services.actor import system_actor

    with session_scope() as session:
        if not bootstrap.is_empty(session):
            if args.if_empty:
                print(t("cli.seed_skipped"))
                return 0
            print(t("cli.seed_not_empty"), file=sys.stderr)
            return 2
        accounts = demo_accounts.seed_demo_accounts(session, actor=system_actor("seed-demo"))
    for account in accounts:
        print(f"  {t('role.' + account.role):<8} {account.login:<14} {account.password}")
    if args.customers > 0:
        started = time.perf_counter()
        count = demo_customers.seed_customers(
            session_scope,
            n=args.customers,
            progress=lambda d, n: _progress(d, n, t("cli.seeding_customers")),
        )
        rate = count / max(time.perf_counter() - started, 1e-9)
        print(t("cli.customers_seeded", count=count, rate=int(rate)))
    with session_scope() as session:
        demo_accounts.seed_demo_member(session, actor=system_actor("seed-demo"))
    return 0


def cmd_audit_verify(_args: argparse.Namespace) -> int:
    from custapp.db import session_scope
    from custapp.services.audit import verify_chain
    from custapp.services.audit_check import alert_failure

    # the walk in a read-only session (it must not hold SQLite's write lock for the whole log),
    # then on failure the alert to compliance and the auditors in a short write
    with session_scope(write=False) as session:
        result = verify_chain(session)
    if not result.ok:
        with session_scope() as session:
            alert_failure(session, result)
    if result.ok:
        print(t("audit.verify.ok", count=result.checked))
        return 0
    print(t(result.problem or "audit.verify.altered_row", seq=result.bad_seq), file=sys.stderr)
    return 1


def cmd_rotate_key(_args: argparse.Namespace) -> int:
    from custapp.db import session_scope
    from custapp.security import keys
    from custapp.services import datakeys

    current = keys.get_keys()
    if keys.ring_managed_outside(current):
        # The ring lives in CUSTAPP_MASTER_KEY or a read-only key folder (a mounted secret): the
        # operator adds the new version there first; this only re-wraps under it.
        hint = "keys.rotate_env_hint" if current.master_from_env else "keys.rotate_secret_hint"
        print(t(hint, version=current.master.current_version), file=sys.stderr)
    else:
        keys.save_master_ring(current.master.with_new_version())
    version = keys.get_keys().master.current_version
    done = datakeys.rewrap_all(
        session_scope, progress=lambda d, n: _progress(d, n, t("keys.rewrapping"))
    )
    print(t("keys.rotated", version=version, count=done))
    return 0


def cmd_keys_export(args: argparse.Namespace) -> int:
    from custapp.security import keys

    passphrase = os.environ.get("CUSTAPP_KEYS_PASSPHRASE") or getpass.getpass(t("keys.passphrase"))
    try:
        data = keys.export_bundle(passphrase)
    except ValueError as exc:
        print(t(str(exc)), file=sys.stderr)
        return 2
    out = Path(args.out)
    out.write_bytes(data)
    out.chmod(0o600)
    print(t("keys.exported", path=str(out)))
    # the data keys themselves: a key-store copy under the backup key (issue 16, KS)
    from custapp import clock
    from custapp.security import keystore
    from custapp.services.backups import backup_key
    from custapp.settings import get_settings

    copy = keystore.write_copy(
        get_settings().backup_dir / "keystore", backup_key=backup_key(), now=clock.now()
    )
    print(t("keys.keystore_copied", path=str(copy)))
    return 0


def cmd_keys_restore(args: argparse.Namespace) -> int:
    from custapp.security import keys

    passphrase = os.environ.get("CUSTAPP_KEYS_PASSPHRASE") or getpass.getpass(t("keys.passphrase"))
    try:
        keys.restore_bundle(Path(args.input).read_bytes(), passphrase)
    except (ValueError, FileExistsError) as exc:
        print(t(str(exc)), file=sys.stderr)
        return 2
    print(t("keys.restored"))
    return 0


def cmd_jobs_run(_args: argparse.Namespace) -> int:
    from custapp.jobs import run_jobs

    summary = run_jobs(progress=lambda d, n, label="": _progress(d, n, label))
    for step, result in summary.items():
        print(f"{step}: {result}")
    # non-zero when a step failed, so cron and systemd timers notice
    return 1 if any(isinstance(r, dict) and "error" in r for r in summary.values()) else 0


def cmd_jobs_work(args: argparse.Namespace) -> int:
    from custapp.job_runner import work

    count = work(once=args.once)
    print(t("cli.jobs_worked", count=count))
    return 0


def cmd_jobs_tick(_args: argparse.Namespace) -> int:
    """What cron runs every minute where no runner ticks (issue 17): queue the due slots, then
    run what is queued until none is left."""
    from custapp.job_runner import tick_and_run

    count = tick_and_run()
    print(t("cli.jobs_worked", count=count))
    return 0


# --- backups (issue 16, BK) ------------------------------------------------------------------


def _backup_refused(exc) -> int:  # noqa: ANN001 (a services.backups.BackupError)
    print(t(exc.key, **exc.params), file=sys.stderr)
    return 2


def _audit_backup(action: str, detail: dict, *, outcome: str = "ok") -> None:
    """Backups made or checked at the command line outside the backup folder are audited like
    the page's (file name, counts, a problem's message key; never a value)."""
    from custapp.db import session_scope
    from custapp.services import audit
    from custapp.services.actor import system_actor

    with session_scope() as session:
        audit.record(
            session, actor=system_actor("cli"), action=action, outcome=outcome,
            target_type="backup", detail=detail,
        )  # fmt: skip


def _record_run(record, **kwargs) -> None:  # noqa: ANN001, ANN003 (a backup_jobs.record_*)
    """A backup made or checked here in the backup folder is recorded (and audited) as the 备份
    page's jobs record theirs, so the page lists it and can verify it."""
    from custapp.db import session_scope
    from custapp.services.actor import system_actor

    with session_scope() as session:
        record(session, actor=system_actor("cli"), **kwargs)


def cmd_backup_create(args: argparse.Namespace) -> int:
    from custapp import clock
    from custapp.services import backup_files, backup_jobs, backups
    from custapp.settings import get_settings

    dest = Path(args.dest) if args.dest else None
    # only the backup folder's files are the page's; a copy elsewhere is audited only
    recorded = (dest or get_settings().backup_dir).resolve() == backup_files.folder()
    started = clock.now()
    try:
        info = backups.create_backup(
            dest_dir=dest, progress=lambda d, n: _progress(d, n, t("backup.cli.creating"))
        )
    except backups.BackupError as exc:
        if recorded:
            _record_run(
                backup_jobs.record_backup, started=started, path=None, manifest=None,
                problem=exc.key, detail=dict(exc.params),
            )  # fmt: skip
        return _backup_refused(exc)
    counts = info.manifest["row_counts"]
    size, customers = info.path.stat().st_size, counts.get("customers", 0)
    if recorded:
        _record_run(
            backup_jobs.record_backup, started=started, path=info.path, manifest=info.manifest
        )
    else:
        _audit_backup(
            "backup.create",
            {"file": info.path.name, "revision": info.manifest["alembic_revision"], "rows": counts},
        )
    print(
        t("backup.cli.created", path=info.path, size=size, tables=len(counts), customers=customers)
    )
    return 0


def cmd_backup_verify(args: argparse.Namespace) -> int:
    from custapp import clock
    from custapp.services import backup_files, backup_jobs, backups

    path, started = Path(args.file), clock.now()
    report = backups.verify_backup(
        path,
        keystore_copy=Path(args.keystore_copy) if args.keystore_copy else None,
        progress=lambda d, n: _progress(d, n, t("backup.cli.verifying")),
    )
    if backup_files.in_folder(path):
        _record_run(backup_jobs.record_verification, started=started, path=path, report=report)
    else:
        _audit_backup(
            "backup.verify",
            {"file": path.name, "problem": report.problem},
            outcome="ok" if report.ok else "failed",
        )
    if not report.ok:
        problem = t(report.problem or "backup.error.not_a_backup", **report.detail)
        print(t("backup.cli.verify_failed", problem=problem), file=sys.stderr)
        return 1
    found = report.detail
    print(
        t(
            "backup.cli.verified", path=args.file, revision=found["revision"],
            customers=found["customers"], audit=found["audit_entries"],
            sampled=found["sampled"], decrypted=found["decrypted"], destroyed=found["destroyed"],
        )
    )  # fmt: skip
    return 0


def _restore_approvers() -> list[tuple[str, str]] | None:
    """CUSTAPP_RESTORE_APPROVERS="user1:pass1,user2:pass2" (scripts, tests), else two prompts."""
    given = os.environ.get("CUSTAPP_RESTORE_APPROVERS")
    if not given:
        return [
            (
                input(t("backup.cli.approver_user", n=n)).strip(),
                getpass.getpass(t("backup.cli.approver_password", n=n)),
            )
            for n in (1, 2)
        ]
    pairs = []
    for item in given.split(","):
        name, sep, password = item.partition(":")
        if not sep or not name.strip():
            return None
        pairs.append((name.strip(), password))
    return pairs


def cmd_backup_restore(args: argparse.Namespace) -> int:
    from custapp.services import backups

    approvers = _restore_approvers()
    if approvers is None:
        print(t("backup.cli.approvers_bad"), file=sys.stderr)
        return 2
    try:
        report = backups.restore_backup(
            Path(args.file),
            keystore_copy=Path(args.keystore_copy) if args.keystore_copy else None,
            approvers=approvers,
            progress=lambda d, n: _progress(d, n, t("backup.cli.restoring")),
            accept_damaged_register=args.accept_damaged_register,
        )
    except backups.BackupError as exc:
        return _backup_refused(exc)
    print(
        t(
            "backup.cli.restored", revision=report.revision, keys=report.keys_loaded,
            reapplied=report.destructions_reapplied, seq=report.reanchor_seq,
        )
    )  # fmt: skip
    return 0


def cmd_backup_list(args: argparse.Namespace) -> int:
    from datetime import datetime

    from custapp import clock
    from custapp.services import backups
    from custapp.settings import get_settings

    folder = Path(args.dir) if args.dir else get_settings().backup_dir
    found = backups.list_backups(folder)
    if not found:
        print(t("backup.cli.list_empty", folder=folder))
        return 0
    print(t("backup.cli.list_header"))
    for item in found:
        manifest = item.manifest
        if manifest is None:
            print(f"{item.path.name}\t{t(item.problem or '', **item.params)}")
            continue
        taken = clock.format_local(
            datetime.fromisoformat(manifest["created_at"]), "%Y-%m-%d %H:%M:%S"
        )
        revision = manifest.get("alembic_revision")
        print(f"{item.path.name}\t{taken}\t{manifest['backend']}\t{revision}\t{item.size}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="custapp", description="客户信息管理系统 / custapp")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("migrate").set_defaults(fn=cmd_migrate)

    p = sub.add_parser("create-user")
    p.add_argument("--username", required=True)
    p.add_argument("--name")
    p.add_argument("--role", action="append", required=True)
    p.add_argument("--store", action="append", default=[], help="store code, repeatable")
    p.add_argument("--password", help="else CUSTAPP_NEW_PASSWORD or a prompt")
    p.add_argument("--temporary", action="store_true", help="force a change at first login")
    p.set_defaults(fn=cmd_create_user)

    p = sub.add_parser("seed-demo")
    p.add_argument("--if-empty", action="store_true", help="do nothing when users exist")
    p.add_argument(
        "--customers", type=int, default=200, metavar="N", help="demo customers (default 200)"
    )
    p.set_defaults(fn=cmd_seed_demo)

    audit = sub.add_parser("audit").add_subparsers(dest="audit_command", required=True)
    audit.add_parser("verify").set_defaults(fn=cmd_audit_verify)

    sub.add_parser("rotate-key").set_defaults(fn=cmd_rotate_key)

    keys = sub.add_parser("keys").add_subparsers(dest="keys_command", required=True)
    p = keys.add_parser("export")
    p.add_argument("--out", required=True)
    p.set_defaults(fn=cmd_keys_export)
    p = keys.add_parser("restore")
    p.add_argument("--in", dest="input", required=True)
    p.set_defaults(fn=cmd_keys_restore)

    backup = sub.add_parser("backup").add_subparsers(dest="backup_command", required=True)
    p = backup.add_parser("create", help="an encrypted backup of the database, now")
    p.add_argument("--dest", help="folder (default CUSTAPP_BACKUP_DIR)")
    p.set_defaults(fn=cmd_backup_create)
    for name, fn in (("verify", cmd_backup_verify), ("restore", cmd_backup_restore)):
        p = backup.add_parser(name)
        p.add_argument("file")
        p.add_argument("--keystore-copy", help="a key-store copy (.cks) taken at or after it")
        p.set_defaults(fn=fn)
    p.add_argument(  # restore's parser: a torn register's verified part is used (issue 16)
        "--accept-damaged-register",
        action="store_true",
        help="use the verified part of a damaged destruction register instead of refusing",
    )
    p = backup.add_parser("list")
    p.add_argument("--dir", help="folder (default CUSTAPP_BACKUP_DIR)")
    p.set_defaults(fn=cmd_backup_list)

    jobs = sub.add_parser("jobs").add_subparsers(dest="jobs_command", required=True)
    jobs.add_parser("run").set_defaults(fn=cmd_jobs_run)
    p = jobs.add_parser("work", help="run queued jobs (campaigns, greetings) as they come")
    p.add_argument("--once", action="store_true", help="until the queue is empty, then exit")
    p.set_defaults(fn=cmd_jobs_work)
    p = jobs.add_parser("tick", help="queue the scheduled steps due now and run them (cron)")
    p.set_defaults(fn=cmd_jobs_tick)
    return parser


def main(argv: list[str] | None = None) -> int:
    from custapp.settings import SettingsError, get_settings

    args = build_parser().parse_args(argv)
    try:
        get_settings()  # a malformed CUSTAPP_* variable stops here, named, before any work
    except SettingsError as exc:
        print(f"custapp: {exc}", file=sys.stderr)
        return 2
    if args.fn is not cmd_backup_restore:  # only the restore itself may touch a half-restored one
        from custapp.db import RestoreInProgress, check_no_restore_in_progress

        try:
            check_no_restore_in_progress()
        except RestoreInProgress as exc:
            print(f"custapp: {exc}", file=sys.stderr)
            return 2
    return args.fn(args)


if __name__ == "__main__":
    sys.exit(main())
