"""Data lifecycle figures (issue 16, acceptance 5). Prints one JSON object per figure; never asserts.

    python bench/lifecycle.py [--backend sqlite|postgresql|both] [--customers 1000000]
                              [--destroy 10000] [--counters 4] [--window 10]
                              [--during thread,process] [--pg-url URL] [--quick]
                              [--keep DIR [--seed-only]]

Each backend gets a fresh instance: a throw-away instance folder (SQLite database, key store,
backup folder, backup key, audit checkpoint) and for PostgreSQL a uniquely named database
`bench_lifecycle_<hex>` made on --pg-url's server (default CUSTAPP_TEST_PG_URL, else the local
server), dropped at the end. Migrated to head, the demo accounts, then --customers customers
seeded with custapp.demo.customers.seed_customers (every personal value encrypted, two years of
orders and service logs each), then a WAL checkpoint (SQLite) or VACUUM ANALYZE (PostgreSQL).

- lifecycle.seed_customers_per_s, lifecycle.db_mb: the data measured (database size on disk)
- lifecycle.backup_s / _customers_per_s / _mb_per_s: one `backups.create_backup()` with nothing
  else running (SQLite: online backup API + streamed encryption; PostgreSQL: pg_dump -Fc
  streamed through encryption; both with the key-store and register copies); MB/s is the
  database size over the time, file_mb the encrypted file (target at 1,000,000 customers on
  SQLite: 120 s)
- lifecycle.verify_s / _customers_per_s / _mb_per_s: `backups.verify_backup()` of that file
  (decrypt, restore into a scratch database, revision, row counts, audit chain, a decrypted
  sample); ok and problem are the report's (target at 1,000,000 on SQLite: 300 s)
- lifecycle.counter_event_baseline_p50/_p95: --counters front-desk threads in this process (one
  app worker, whose handlers run service calls in threads) each repeat a page event pair: a
  phone search (`customer_search.search_customers`, audited) then opening the profile found
  (`customer_profile.get_profile`, audited), each its own transaction as `_call` runs it, back to
  back for --window seconds with no backup running
- lifecycle.counter_event_during_backup_{thread,process}_p50/_p95: the same while backups run
  back to back for at least --window seconds (at least one whole backup): `thread` runs them in
  a thread of this process, as the app's built-in job runner does (it shares the GIL with the
  handlers); `process` in a separate process, as `custapp jobs work` does (target p95 200 ms);
  backup_s is the backups' own time under that load
- lifecycle.destroy_s / destroy_customers_per_s: --destroy customers without blockers
  (`destruction.blockers` empty) proposed by the system actor, appraised by one compliance user,
  approved in bulk by another, then one `destruction.run_approved()` timed (every customer's
  rows anonymised, keys destroyed in the key store, register entries, audit entries, the WAL
  checkpoint); destroyed is the count of customers marked destroyed afterwards
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import random
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import (  # noqa: E402 (the bench folder is on sys.path only now)
    DEFAULT_PG,
    PASSWORD,
    emit,
    fresh_backend,
    load,
    migrate,
    pct,
    reset,
)

TARGETS = {"backup_s": 120, "verify_s": 300, "event_p95_ms": 200}  # the first two at 1M, SQLite
TARGET_N = 1_000_000
MB = 1024 * 1024
# settings of an operator's instance that must not leak into the throw-away one
OWN_SETTINGS = ("CUSTAPP_KEYSTORE_URL", "CUSTAPP_BACKUP_DIR", "CUSTAPP_BACKUP_KEY")


# --- the instance -----------------------------------------------------------------------------


def seed(n: int) -> dict:
    """Demo accounts and n customers -> {"stores": [...], "seconds": ...}."""
    from sqlalchemy import select

    from custapp.db import session_scope
    from custapp.demo import accounts as demo_accounts
    from custapp.demo import customers as demo_customers
    from custapp.models import Store
    from custapp.services.actor import system_actor

    migrate()
    with session_scope() as session:
        demo_accounts.seed_demo_accounts(session, actor=system_actor("bench"))
    start = time.perf_counter()
    demo_customers.seed_customers(session_scope, n=n)
    seconds = time.perf_counter() - start
    with session_scope(write=False) as session:
        stores = list(session.exec(select(Store.id)).scalars())
    return {"stores": stores, "seconds": seconds}


def settle() -> None:
    """What seeding left behind is not the backup's to pay for."""
    from sqlalchemy import text

    from custapp.db import get_engine

    engine = get_engine()
    if engine.dialect.name == "sqlite":
        with engine.connect() as conn:
            conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    else:
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text("VACUUM ANALYZE"))


def db_bytes() -> int:
    from custapp.db import get_engine

    engine = get_engine()
    if engine.dialect.name == "sqlite":
        path = Path(engine.url.database)
        return sum(p.stat().st_size for p in (path, Path(f"{path}-wal")) if p.exists())
    with engine.connect() as conn:
        return conn.exec_driver_sql("SELECT pg_database_size(current_database())").scalar_one()


def staff(username: str, role: str, stores: list[int]):  # noqa: ANN201 (an Actor)
    from sqlalchemy import select

    from custapp.db import session_scope
    from custapp.models import User
    from custapp.services.actor import Actor, system_actor
    from custapp.services.bootstrap import create_staff_user

    with session_scope() as session:  # a --keep instance has them from an earlier run
        user_id = session.exec(select(User.id).where(User.username == username)).scalar()
        user_id = user_id or create_staff_user(
            session, actor=system_actor("bench"), username=username, display_name=username,
            roles=[role], password=PASSWORD, store_ids=stores,
        )  # fmt: skip
    return Actor(
        user_id=user_id, name=username, roles=frozenset({role}), store_ids=tuple(stores),
        store_id=stores[0] if stores else None,
    )  # fmt: skip


def phone_targets(count: int) -> list[dict]:
    """Customers with a phone, spread over the ids: what the counters look up."""
    from sqlalchemy import func, select

    from custapp.db import session_scope
    from custapp.models import Customer
    from custapp.services import customer_fields

    rng = random.Random(16)
    with session_scope(write=False) as session:
        top = session.exec(select(func.max(Customer.id))).scalar_one()
        ids = rng.sample(range(1, top + 1), min(count * 2, top))
        found = session.exec(select(Customer).where(Customer.id.in_(ids))).scalars().all()
        targets = [{"id": c.id, "phone": customer_fields.read(session, c, "phone")} for c in found]
    return [t for t in targets if t["phone"]][:count]


# --- the counters -----------------------------------------------------------------------------


class Counters:
    """Front-desk threads doing page events until stopped; latencies in ms per kind."""

    def __init__(self, actors: list, targets: list[dict]) -> None:
        self.actors, self.targets = actors, targets

    def _events(self, actor, rng: random.Random) -> tuple[float, float]:  # noqa: ANN001
        from custapp.db import session_scope
        from custapp.services.customer_profile import get_profile
        from custapp.services.customer_search import search_customers

        target = rng.choice(self.targets)
        start = time.perf_counter()
        with session_scope() as session:
            page = search_customers(session, actor=actor, query=target["phone"])
        middle = time.perf_counter()
        with session_scope() as session:
            get_profile(
                session, actor=actor, customer_id=page.rows[0].id if page.rows else target["id"]
            )
        end = time.perf_counter()
        return (middle - start) * 1000, (end - middle) * 1000

    def warm(self, rounds: int = 5) -> None:
        rng = random.Random(0)
        for actor in self.actors:
            for _ in range(rounds):
                self._events(actor, rng)

    def during(self, work: Callable[[], object]) -> tuple[dict[str, list[float]], object]:
        """Run the counters while work() runs -> ({"search": [...], "profile": [...]}, result)."""
        stop = threading.Event()
        took: dict[str, list[float]] = {"search": [], "profile": []}
        errors: list[BaseException] = []

        def counter(actor, seed: int) -> None:  # noqa: ANN001
            rng = random.Random(seed)
            try:
                while not stop.is_set():
                    search_ms, profile_ms = self._events(actor, rng)
                    took["search"].append(search_ms)
                    took["profile"].append(profile_ms)
            except BaseException as exc:  # a failed event is a result, not a crash of the bench
                errors.append(exc)

        threads = [
            threading.Thread(target=counter, args=(a, i), daemon=True)
            for i, a in enumerate(self.actors)
        ]
        for thread in threads:
            thread.start()
        try:
            result = work()
        finally:
            stop.set()
            for thread in threads:
                thread.join()
        if errors:
            raise errors[0]
        return took, result


def emit_events(name: str, took: dict[str, list[float]], common: dict, **extra: object) -> None:
    events = took["search"] + took["profile"]
    for q in (0.5, 0.95):
        target = {"target": TARGETS["event_p95_ms"]} if q == 0.95 else {}
        emit(
            f"lifecycle.counter_event_{name}_p{int(q * 100)}",
            pct(events, q),
            "ms",
            search=pct(took["search"], q),
            profile=pct(took["profile"], q),
            max=max(events, default=float("nan")),
            samples=len(events),
            **target,
            **extra,
            **common,
        )


# --- backups ----------------------------------------------------------------------------------


def backups_for(window: float) -> list[dict]:
    """Backups back to back until window seconds have passed (at least one) -> per backup
    {"seconds", "bytes"}; each file is deleted after it is made (the folder would fill up)."""
    from custapp.services import backups

    done, start = [], time.perf_counter()
    while not done or time.perf_counter() - start < window:
        began = time.perf_counter()
        info = backups.create_backup()
        seconds = time.perf_counter() - began
        done.append({"seconds": seconds, "bytes": info.path.stat().st_size})
        info.path.unlink()
    return done


def _backups_in_child(window: float, queue) -> None:  # noqa: ANN001 (a multiprocessing queue)
    """A separate process (as `custapp jobs work`): the same instance, named by the environment."""
    queue.put(backups_for(window))


def backups_in_process(window: float) -> list[dict]:
    context = multiprocessing.get_context("spawn")
    queue = context.Queue()
    child = context.Process(target=_backups_in_child, args=(window, queue))
    child.start()
    result = queue.get()
    child.join()
    return result


def backups_in_thread(window: float) -> list[dict]:
    box: dict[str, object] = {}

    def run() -> None:
        try:
            box["done"] = backups_for(window)
        except BaseException as exc:
            box["error"] = exc

    thread = threading.Thread(target=run, name="job-runner")
    thread.start()
    thread.join()
    if "error" in box:
        raise box["error"]  # type: ignore[misc]
    return box["done"]  # type: ignore[return-value]


def backup_and_verify(n: int, size: int, common: dict) -> None:
    from custapp.services import backups

    start = time.perf_counter()
    info = backups.create_backup()
    seconds = time.perf_counter() - start
    file_mb = info.path.stat().st_size / MB
    target = {"target": TARGETS["backup_s"], "target_n": TARGET_N, "target_backend": "sqlite"}
    emit("lifecycle.backup_s", seconds, "s", file_mb=file_mb, **target, **common)
    emit("lifecycle.backup_customers_per_s", n / seconds, "1/s", **common)
    emit("lifecycle.backup_mb_per_s", size / MB / seconds, "MB/s", file_mb=file_mb, **common)

    start = time.perf_counter()
    report = backups.verify_backup(info.path)
    seconds = time.perf_counter() - start
    target = {"target": TARGETS["verify_s"], "target_n": TARGET_N, "target_backend": "sqlite"}
    result = {"ok": report.ok, "problem": report.problem}
    emit("lifecycle.verify_s", seconds, "s", **result, **target, **common)
    emit("lifecycle.verify_customers_per_s", n / seconds, "1/s", **common)
    emit("lifecycle.verify_mb_per_s", size / MB / seconds, "MB/s", **common)
    info.path.unlink()


def counters_during_backups(counters: Counters, window: float, modes: list[str], common: dict):  # noqa: ANN201
    counters.warm()
    took, _ = counters.during(lambda: time.sleep(window))
    emit_events("baseline", took, common, seconds=window, load=load())
    run = {"thread": backups_in_thread, "process": backups_in_process}
    for mode in modes:
        took, done = counters.during(lambda mode=mode: run[mode](window))
        emit_events(
            f"during_backup_{mode}",
            took,
            common,
            backups=len(done),
            backup_s=pct([d["seconds"] for d in done], 0.5),
            load=load(),
        )


# --- destruction ------------------------------------------------------------------------------


def unblocked(d: int) -> list[int]:
    """The first d live customers with no blocker (legal hold, open business, balances...)."""
    from sqlalchemy import select

    from custapp.db import session_scope
    from custapp.models import Customer
    from custapp.services import destruction

    chosen: list[int] = []
    after = 0
    while len(chosen) < d:
        with session_scope(write=False) as session:
            ids = list(
                session.exec(
                    select(Customer.id)
                    .where(Customer.id > after, Customer.merged_into_id.is_(None))
                    .where(Customer.destroyed_at.is_(None))
                    .order_by(Customer.id)
                    .limit(1000)
                ).scalars()
            )
            if not ids:
                break
            chosen += [i for i in ids if not destruction.blockers(session, i)]
            after = ids[-1]
    return chosen[:d]


def destroy(d: int, stores: list[int], common: dict) -> None:
    from sqlalchemy import func, select

    from custapp.db import session_scope
    from custapp.models import Customer
    from custapp.services import destruction
    from custapp.services.actor import system_actor

    appraiser = staff("bench.appraiser", "compliance", stores)
    approver = staff("bench.approver", "compliance", stores)
    job = system_actor("retention-scan")
    start = time.perf_counter()
    customer_ids = unblocked(d)
    refused = 0
    for first in range(0, len(customer_ids), destruction.MAX_BATCH):
        chunk = customer_ids[first : first + destruction.MAX_BATCH]
        with session_scope() as session:
            ids = [
                destruction.propose(session, actor=job, customer_id=cid, reason_kind="manual")
                for cid in chunk
            ]
        with session_scope() as session:
            for candidate_id in ids:
                destruction.appraise(
                    session, actor=appraiser, candidate_id=candidate_id, decision="destroy"
                )
        with session_scope() as session:  # approving one by one would destroy each at once
            outcome = destruction.approve_many(session, actor=approver, candidate_ids=ids)
        refused += len(outcome.refused)
    prepared = time.perf_counter() - start

    start = time.perf_counter()
    result = destruction.run_approved(session_scope)
    seconds = time.perf_counter() - start
    with session_scope(write=False) as session:
        destroyed = session.exec(
            select(func.count(Customer.id)).where(Customer.destroyed_at.is_not(None))
        ).scalar_one()
    extra = {"d": len(customer_ids), "refused": refused, "destroyed": destroyed, "result": result}
    emit("lifecycle.destroy_s", seconds, "s", prepare_s=prepared, **extra, **common)
    emit("lifecycle.destroy_customers_per_s", result["done"] / seconds, "1/s", **common)


# --- main -------------------------------------------------------------------------------------


@contextmanager
def kept_backend(backend: str, pg_url: str, folder: Path) -> Iterator[Path]:
    """--keep: the instance in `folder/<backend>` (and the PostgreSQL database
    `bench_lifecycle_kept`) survives the run, so a million customers are seeded once; a later
    run with the same --keep measures again on them (the customers destroyed by an earlier run
    stay destroyed: each run destroys the next unblocked ones)."""
    instance = folder / backend
    instance.mkdir(parents=True, exist_ok=True)
    os.environ.update(CUSTAPP_INSTANCE_DIR=str(instance), CUSTAPP_ENV="bench")
    for name in ("CUSTAPP_DATABASE_URL", "CUSTAPP_AUDIT_CHECKPOINT"):
        os.environ.pop(name, None)
    if backend == "postgresql":
        import sqlalchemy as sa

        admin = sa.create_engine(pg_url, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            exists = conn.exec_driver_sql(
                "SELECT 1 FROM pg_database WHERE datname = 'bench_lifecycle_kept'"
            ).first()
            if not exists:
                conn.exec_driver_sql('CREATE DATABASE "bench_lifecycle_kept"')
        admin.dispose()
        url = sa.engine.make_url(pg_url).set(database="bench_lifecycle_kept")
        os.environ["CUSTAPP_DATABASE_URL"] = url.render_as_string(hide_password=False)
    reset()
    try:
        yield instance
    finally:
        reset()


def seeded_instance(folder: Path, n: int, common: dict) -> dict:
    """Seed n customers unless `folder/seeded.json` says this instance holds them already."""
    marker = folder / "seeded.json"
    if marker.exists():
        seeded = json.loads(marker.read_text())
        if seeded["n"] == n:
            migrate()
            return seeded
        raise SystemExit(f"{folder} holds {seeded['n']} customers, not {n}")
    seeded = seed(n)
    emit("lifecycle.seed_customers_per_s", n / seeded["seconds"], "1/s", **common)
    settle()
    marker.write_text(json.dumps({**seeded, "n": n}))
    return seeded


def run(backend: str, args: argparse.Namespace) -> None:
    n = args.customers
    common = {"n": n, "backend": backend}
    if args.keep:
        instance = kept_backend(backend, args.pg_url, Path(args.keep))
    else:
        instance = fresh_backend(backend, args.pg_url, "bench_lifecycle")
    with instance as folder:
        seeded = seeded_instance(folder, n, common)
        if args.seed_only:
            return
        size = db_bytes()
        emit("lifecycle.db_mb", size / MB, "MB", **common)
        backup_and_verify(n, size, common)
        actors = [
            staff(f"bench.counter{i + 1}", "front_desk", seeded["stores"])
            for i in range(args.counters)
        ]
        counters = Counters(actors, phone_targets(200))
        modes = [m for m in args.during.split(",") if m]
        counters_during_backups(counters, args.window, modes, {**common, "counters": len(actors)})
        if args.destroy:
            destroy(min(args.destroy, n), seeded["stores"], common)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--backend", choices=("sqlite", "postgresql", "both"), default="sqlite")
    parser.add_argument("--customers", "--n", type=int, default=1_000_000)
    parser.add_argument("--destroy", type=int, default=10_000, help="customers destroyed (0: none)")
    parser.add_argument("--counters", type=int, default=4, help="front-desk threads")
    parser.add_argument("--window", type=float, default=10.0, help="s of counter events per run")
    parser.add_argument("--during", default="thread,process", help="where backups run")
    parser.add_argument("--pg-url", default=os.environ.get("CUSTAPP_TEST_PG_URL") or DEFAULT_PG)
    parser.add_argument("--quick", action="store_true", help="5,000 customers, 1,000 destroyed")
    parser.add_argument("--keep", metavar="DIR", help="seed once into DIR and measure there")
    parser.add_argument("--seed-only", action="store_true", help="with --keep: seed, no figures")
    args = parser.parse_args()
    if args.quick:
        args.customers, args.destroy = 5_000, min(args.destroy, 1_000)
    for name in OWN_SETTINGS:
        os.environ.pop(name, None)
    for backend in ("sqlite", "postgresql") if args.backend == "both" else (args.backend,):
        run(backend, args)


if __name__ == "__main__":
    main()
