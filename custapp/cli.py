"""The `custapp` command line: migrate, create-user, seed-demo, audit verify, rotate-key,
keys export|restore, jobs run, jobs work."""

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
    if current.master_from_env:
        # The ring lives in CUSTAPP_MASTER_KEY: the operator adds the new version there first.
        print(t("keys.rotate_env_hint", version=current.master.current_version), file=sys.stderr)
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

    jobs = sub.add_parser("jobs").add_subparsers(dest="jobs_command", required=True)
    jobs.add_parser("run").set_defaults(fn=cmd_jobs_run)
    p = jobs.add_parser("work", help="run queued jobs (campaigns, greetings) as they come")
    p.add_argument("--once", action="store_true", help="until the queue is empty, then exit")
    p.set_defaults(fn=cmd_jobs_work)
    return parser


def main(argv: list[str] | None = None) -> int:
    from custapp.settings import SettingsError, get_settings

    args = build_parser().parse_args(argv)
    try:
        get_settings()  # a malformed CUSTAPP_* variable stops here, named, before any work
    except SettingsError as exc:
        print(f"custapp: {exc}", file=sys.stderr)
        return 2
    return args.fn(args)


if __name__ == "__main__":
    sys.exit(main())
