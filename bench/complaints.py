"""Complaint figures (issue 6): the manager page's KPIs and the escalation scan. Prints one JSON
object per figure; never asserts.

    python bench/complaints.py [--backend sqlite|postgresql|both] [--pg-url URL] [--quick]
                               [--n 200000] [--customers 100000] [--samples 50]
                               [--extra-index covering|none]

Each backend gets a fresh database: SQLite in a throw-away instance folder, PostgreSQL in a
uniquely named database `bench_complaints_<hex>` made from --pg-url's server (dropped at the end),
migrated to head; the app's own engine is used as it is.

Seeding (set-based, one INSERT ... SELECT over generate_series / a recursive CTE): --customers
customers with the mandatory columns only, and --n complaints received evenly over the past year
(one every ~2.6 minutes at 200,000) with deterministic pseudo-random severities (5 % critical,
15 % high, 65 % normal, 15 % low), categories, channels, 5 % anonymous walk-ins, a fifth from
2,000 frequent complainants; their state follows their age: under two days all open (received,
investigating, solution proposed, on hold, customer informed), two to ten days 30 % open, older
1 % open (stragglers, most of them overdue), the rest closed with first response, customer
informed, closing and a satisfaction score for 80 %. The free text is a placeholder (only the
KPIs and the scan are timed); every complaint holds one real data key. The escalation marks are
then set as the job would have left them at the seeding time (`now`): every warning, escalation
and second level already due is marked, so the next scan finds only what fell due since.

- complaints.kpi_p50 / _p95: `complaint_reports.kpis(days=90)` as the page's `_call` runs it
  (its own transaction), --samples runs after 5 warm-ups (target p95 200 ms); _365_ the same
  over a year; queue_p95: the first page of the manager's queue (open, oldest first) and of the
  overdue filter.
- complaints.escalation_scan_due_ms: `complaints.run_escalations(now + step)` five times, each
  step chosen so that a few hundred marks fall due (the job down for a while, or a morning
  after a busy night) (target 100 ms); _idle_: the same scan with nothing new due, 20 times.
  full_gc_ms: the full garbage collections of the bench process that fell inside the timed
  calls ([scan, ms] for the scans), so an outlier can be told from the code's own time.
- --extra-index covering: before timing, a candidate index without a migration: on (created_at)
  with the columns the KPIs read (PostgreSQL: INCLUDE them; SQLite: as further key columns), so
  the window is read from the index alone (ix_complaints_created on (created_at) exists since
  migration 0012).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import (  # noqa: E402 (the bench folder is on sys.path only now)
    DEFAULT_PG,
    PASSWORD,
    FullCollections,
    _series,
    _sql,
    bulk_customers,
    durability,
    emit,
    fresh_backend,
    load,
    migrate,
    pct,
    verdict,
)

TARGETS = {"kpi_p95_ms": 200, "scan_ms": 100}
FREQUENT = 2_000  # customers who complain often
SCAN_STEPS = 5
IDLE_SCANS = 20


# --- seeding ----------------------------------------------------------------------------------


def _staff(store_id: int, username: str, role: str):  # noqa: ANN202 (an Actor)
    from custapp.db import session_scope
    from custapp.services import bootstrap
    from custapp.services.actor import Actor, system_actor

    with session_scope() as session:
        user_id = bootstrap.create_staff_user(
            session, actor=system_actor("bench"), username=username, display_name=username,
            roles=[role], password=PASSWORD, store_ids=[store_id],
        )  # fmt: skip
    return Actor(
        user_id=user_id, name=username, roles=frozenset({role}), store_ids=(store_id,),
        store_id=store_id,
    )  # fmt: skip


def _world():  # noqa: ANN202
    """A store, a cs_manager and two handlers, one real customer (its data key)."""
    from custapp import clock
    from custapp.db import session_scope
    from custapp.models import Customer, Store
    from custapp.services import customers

    with session_scope() as session:
        store = Store(code="BC", name="投诉店", created_at=clock.now())
        session.add(store)
        session.flush()
        store_id = store.id
    boss = _staff(store_id, "bench.manager", "cs_manager")
    desks = [_staff(store_id, f"bench.desk{i}", "front_desk") for i in (1, 2)]
    with session_scope() as session:
        cid = customers.create_customer(
            session, actor=desks[0], data=customers.CustomerInput(name="锚点", phone="13900001111")
        ).id
    with session_scope(write=False) as session:
        key = session.get(Customer, cid).data_key_id
    return store_id, boss, desks, key


def _dialect_sql(dialect: str) -> dict[str, str]:
    """Snippets that differ: a timestamp `seconds` before :now, `hours` after a timestamp, the
    smaller of two numbers."""
    if dialect == "postgresql":
        return {
            "before_now": "CAST(:now AS timestamptz) - make_interval(secs => {seconds})",
            "after": "{ts} + make_interval(secs => ({hours}) * 3600)",
            "least": "LEAST({a}, {b})",
        }
    stamp = "strftime('%Y-%m-%d %H:%M:%S', {base}, {shift}) || '.000000'"
    return {
        "before_now": stamp.format(
            base=":now", shift="'-' || CAST({seconds} AS INTEGER) || ' seconds'"
        ),
        "after": stamp.format(
            base="{ts}", shift="'+' || CAST(({hours}) * 3600 AS INTEGER) || ' seconds'"
        ),
        "least": "min({a}, {b})",
    }


def seed_complaints(
    n: int, first: int, customers: int, key: int, store_id: int, boss, desks, now: datetime
) -> float:  # noqa: ANN001
    """n complaints over the past year, set-based; returns the seconds taken."""
    from custapp.db import get_engine
    from custapp.models import Complaint
    from custapp.settings import get_settings

    engine = get_engine()
    dialect = engine.dialect.name
    d = _dialect_sql(dialect)
    with_, source = _series(dialect, "n")
    deadlines = get_settings().complaint_deadlines
    resp = "CASE sev " + " ".join(f"WHEN '{s}' THEN {h[0]}" for s, h in deadlines.items()) + " END"
    reso = "CASE sev " + " ".join(f"WHEN '{s}' THEN {h[1]}" for s, h in deadlines.items()) + " END"
    # i: 0 = now, n - 1 = a year ago; h, g: two pseudo-random numbers per row
    base = f"""
        SELECT i, h, g, age_h, sev, {resp} AS resp_h, {reso} AS reso_h,
               {d["before_now"].format(seconds="i * :step")} AS created,
               CASE
                 WHEN age_h < 48 THEN CASE WHEN h < 300 THEN 'received'
                   WHEN h < 700 THEN 'investigating' WHEN h < 850 THEN 'solution_proposed'
                   WHEN h < 900 THEN 'on_hold' ELSE 'customer_informed' END
                 WHEN age_h < 240 THEN CASE WHEN h < 700 THEN 'closed'
                   WHEN h < 780 THEN 'investigating' WHEN h < 840 THEN 'solution_proposed'
                   WHEN h < 880 THEN 'customer_informed' WHEN h < 940 THEN 'return_visit'
                   ELSE 'on_hold' END
                 ELSE CASE WHEN h < 990 THEN 'closed' WHEN h < 996 THEN 'investigating'
                   ELSE 'on_hold' END
               END AS status
        FROM (
          SELECT i, (i * 7919) % 1000 AS h, (i * 104729 + 17) % 997 AS g,
                 i * :step / 3600.0 AS age_h,
                 CASE WHEN (i * 104729 + 17) % 997 % 100 < 5 THEN 'critical'
                      WHEN (i * 104729 + 17) % 997 % 100 < 20 THEN 'high'
                      WHEN (i * 104729 + 17) % 997 % 100 < 85 THEN 'normal' ELSE 'low' END AS sev
          FROM (SELECT CAST(i AS BIGINT) AS i FROM {source}) AS s64
        ) AS r
    """
    # hours from receipt to the first response and to the customer informed, never past now
    timed = f"""
        SELECT b.*,
               {d["least"].format(a="0.25 + (h % 40) * resp_h / 32.0", b="age_h * 0.5")} AS first_h,
               {d["least"].format(a="1 + (h % 40) * resp_h / 32.0 + (g % 50) * reso_h / 40.0",
                                  b="age_h * 0.8")} AS informed_h
        FROM ({base}) AS b
    """  # fmt: skip
    after = d["after"]
    open_unanswered = "status = 'received'"
    answered = "status <> 'received'"
    informed = "status IN ('customer_informed', 'return_visit', 'closed')"
    statement = f"""
        INSERT INTO complaints (number, customer_id, store_id, data_key_id, channel, category,
            severity, status, held_status, held_since, description_enc, assignee_id, created_by,
            created_at, updated_at, response_by, resolution_by, first_response_at, informed_at,
            reopened_count, informed_on, informed_via, satisfaction, closed_at, closed_by)
        {with_}SELECT
            'B' || {"lpad(CAST(i AS text), 12, '0')" if dialect == "postgresql"
                    else "printf('%012d', i)"},
            CASE WHEN g % 20 = 0 THEN NULL
                 WHEN h % 5 = 0 THEN :first + (i / 5) % :frequent
                 ELSE :first + (i * 48271) % :customers END,
            :store, :key,
            CASE g % 5 WHEN 0 THEN 'counter' WHEN 1 THEN 'phone' WHEN 2 THEN 'letter'
                       WHEN 3 THEN 'online' ELSE 'portal' END,
            CASE WHEN (h + g) % 20 < 6 THEN 'service' WHEN (h + g) % 20 < 10 THEN 'product'
                 WHEN (h + g) % 20 < 14 THEN 'billing' WHEN (h + g) % 20 < 15 THEN 'privacy'
                 WHEN (h + g) % 20 < 17 THEN 'environment' ELSE 'other' END,
            sev, status,
            CASE WHEN status = 'on_hold' THEN 'investigating' END,
            CASE WHEN status = 'on_hold' THEN {after.format(ts="created", hours="first_h")} END,
            'v1:bench:' || i,
            CASE WHEN status = 'received' AND h % 2 = 0 THEN NULL
                 WHEN g % 2 = 0 THEN :desk1 ELSE :desk2 END,
            :boss, created, created,
            CASE WHEN {open_unanswered} THEN {after.format(ts="created", hours="resp_h")} END,
            CASE WHEN NOT ({informed}) THEN {after.format(ts="created", hours="reso_h")} END,
            CASE WHEN {answered} THEN {after.format(ts="created", hours="first_h")} END,
            CASE WHEN {informed} THEN {after.format(ts="created", hours="informed_h")} END,
            0,
            CASE WHEN status = 'closed' THEN
                 CAST({after.format(ts="created", hours="informed_h")} AS DATE) END,
            CASE WHEN status = 'closed' THEN 'phone' END,
            CASE WHEN status = 'closed' AND h % 10 < 8 THEN
                 CASE WHEN g % 10 < 4 THEN 5 WHEN g % 10 < 7 THEN 4 WHEN g % 10 < 8 THEN 3
                      WHEN g % 10 < 9 THEN 2 ELSE 1 END END,
            CASE WHEN status = 'closed' THEN
                 {after.format(ts="created", hours="informed_h + 24")} END,
            CASE WHEN status = 'closed' THEN :boss END
        FROM ({timed}) AS t
    """  # fmt: skip
    if dialect == "sqlite":  # SQLite's CAST(... AS DATE) is a number: keep the day's text
        statement = statement.replace(
            f"CAST({after.format(ts='created', hours='informed_h')} AS DATE)",
            f"date({after.format(ts='created', hours='informed_h')})",
        )
    stamp = Complaint.__table__.c.created_at.type
    started = time.perf_counter()
    with engine.begin() as conn:
        conn.execute(
            _sql(dialect, statement, now=stamp),
            {
                "n": n, "now": now, "step": 365 * 86400 / n, "first": first,
                "frequent": FREQUENT, "customers": customers, "store": store_id, "key": key,
                "desk1": desks[0].user_id, "desk2": desks[1].user_id, "boss": boss.user_id,
            },
        )  # fmt: skip
    return time.perf_counter() - started


def mark_as_the_job_left_it(now: datetime) -> int:
    """Set every escalation mark already due at `now`, as a job running every few minutes
    would have (without its timeline entries and alerts: they are not read by what is timed)."""
    from sqlalchemy import update

    from custapp.db import session_scope
    from custapp.models.complaints import Complaint
    from custapp.services.complaints import CLOCKS, LEVELS, _mark_column, _reached

    marked = 0
    with session_scope() as session:
        for clock_name in CLOCKS:
            for level in LEVELS:
                mark = _mark_column(clock_name, level)
                marked += session.exec(
                    update(Complaint)
                    .where(_reached(clock_name, level, now), mark.is_(None))
                    .values({mark.key: now})
                    .execution_options(synchronize_session=False)
                ).rowcount
    return marked


def due_between(start: datetime, end: datetime) -> int:
    """How many marks fall due after `start` up to `end` (what a scan at `end` will set)."""
    from sqlalchemy import func, select

    from custapp.db import session_scope
    from custapp.models.complaints import OPEN_STATUSES, Complaint
    from custapp.settings import get_settings

    settings = get_settings()
    second = timedelta(hours=settings.complaint_second_level_hours)
    total = 0
    with session_scope(write=False) as session:
        for clock_name, index in (("response", 0), ("resolution", 1)):
            due = getattr(Complaint, f"{clock_name}_by")
            for severity, hours in settings.complaint_deadlines.items():
                span = timedelta(hours=hours[index])
                for shift in (span * 0.2, timedelta(0), -second):  # warned, escalated, second
                    total += session.exec(
                        select(func.count()).where(
                            Complaint.severity == severity,
                            Complaint.status.in_([s for s in OPEN_STATUSES if s != "on_hold"]),
                            due > start + shift, due <= end + shift,
                        )
                    ).scalar_one()  # fmt: skip
    return total


def settle() -> None:
    from custapp.db import get_engine

    engine = get_engine()
    if engine.dialect.name == "postgresql":
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            for table in ("customers", "complaints"):
                conn.exec_driver_sql(f"VACUUM ANALYZE {table}")
            conn.exec_driver_sql("CHECKPOINT")
    else:
        with engine.begin() as conn:
            conn.exec_driver_sql("ANALYZE")
        with engine.connect() as conn:
            conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")


def extra_index(name: str) -> str:
    from custapp.db import get_engine

    if name == "none":
        return ""
    engine = get_engine()
    columns = (
        "status, category, customer_id, store_id, response_by, resolution_by, "
        "first_response_at, informed_at, satisfaction"
    )
    statement = (
        f"CREATE INDEX ix_bench_complaints_covering ON complaints (created_at) INCLUDE ({columns})"
        if engine.dialect.name == "postgresql"
        else f"CREATE INDEX ix_bench_complaints_covering ON complaints (created_at, {columns})"
    )
    with engine.begin() as conn:
        conn.exec_driver_sql(statement)
    settle()
    return statement


# --- the figures ------------------------------------------------------------------------------


def _timed(fn, samples: int, warmup: int = 5) -> list[float]:  # noqa: ANN001
    for _ in range(warmup):
        fn()
    out = []
    for _ in range(samples):
        t0 = time.perf_counter()
        fn()
        out.append((time.perf_counter() - t0) * 1000)
    return out


def figures_kpis(args, boss, common: dict) -> None:  # noqa: ANN001
    from custapp.db import session_scope
    from custapp.services import complaint_reports, complaints

    def kpis(days: int):  # noqa: ANN202
        def run() -> None:
            with session_scope() as session:  # as SessionState._call runs it
                complaint_reports.kpis(session, actor=boss, days=days)

        return run

    with session_scope() as session:
        k = complaint_reports.kpis(session, actor=boss, days=90)
    shape = {
        "received_90d": k.received, "open_90d": k.open, "overdue_90d": k.overdue,
        "repeat_90d": k.repeat_complainants, "median_response_h": k.median_first_response_hours,
        "median_resolution_h": k.median_resolution_hours, "satisfaction": k.satisfaction_avg,
        "weeks": len(k.trend),
    }  # fmt: skip
    load_before = load()
    with FullCollections() as gcs:
        ms = _timed(kpis(90), args.samples)
    p95 = pct(ms, 0.95)
    extra = {"samples": len(ms), "load": max(load_before, load()), "full_gc_ms": gcs.ms, **common}
    emit("complaints.kpi_p50", pct(ms, 0.5), "ms", **extra)
    emit(
        "complaints.kpi_p95", p95, "ms", target=TARGETS["kpi_p95_ms"],
        verdict=verdict(p95, TARGETS["kpi_p95_ms"]), **shape, **extra,
    )  # fmt: skip
    year = _timed(kpis(365), max(10, args.samples // 2))
    emit("complaints.kpi_365_p50_p95", pct(year, 0.5), "ms", p95=pct(year, 0.95),
         samples=len(year), load=load(), **common)  # fmt: skip

    def queue(overdue: bool):  # noqa: ANN202
        def run() -> None:
            with session_scope() as session:
                complaints.queue(
                    session, actor=boss, filters=complaints.QueueFilter(overdue=overdue),
                    page=1, page_size=20,
                )  # fmt: skip

        return run

    for name, overdue in (("open", False), ("overdue", True)):
        q = _timed(queue(overdue), args.samples)
        emit(f"complaints.queue_{name}_p50_p95", pct(q, 0.5), "ms", p95=pct(q, 0.95),
             samples=len(q), **common)  # fmt: skip


def figures_scan(now: datetime, common: dict) -> None:
    from custapp.services import complaints

    step = timedelta(minutes=30)  # a scan finding a few hundred: grow the step until it does
    while due_between(now, now + step) < 200 and step < timedelta(days=2):
        step *= 2
    at, due_ms, found, due_gc = now, [], [], []
    load_before = load()
    for i in range(SCAN_STEPS):
        expected = due_between(at, at + step)
        at += step
        with FullCollections() as gcs:
            t0 = time.perf_counter()
            counts = complaints.run_escalations(at)
            due_ms.append((time.perf_counter() - t0) * 1000)
        due_gc += [[i, ms] for ms in gcs.ms]  # [scan, ms of a full collection within it]
        found.append([expected, sum(counts.values())])
    idle, idle_gc = [], []
    for i in range(IDLE_SCANS):
        with FullCollections() as gcs:
            t0 = time.perf_counter()
            counts = complaints.run_escalations(at)
            idle.append((time.perf_counter() - t0) * 1000)
        idle_gc += [[i, ms] for ms in gcs.ms]
        assert sum(counts.values()) == 0, counts
    p95 = pct(due_ms, 0.95)
    emit(
        "complaints.escalation_scan_due_ms", pct(due_ms, 0.5), "ms", max=p95,
        target=TARGETS["scan_ms"], verdict=verdict(p95, TARGETS["scan_ms"]),
        step_min=step.total_seconds() / 60, expected_vs_marked=found,
        per_mark_ms=round(sum(due_ms) / max(1, sum(f[1] for f in found)), 3),
        scans_ms=[round(m, 1) for m in due_ms], full_gc_ms=due_gc,
        load=max(load_before, load()), **common,
    )  # fmt: skip
    p95_idle = pct(idle, 0.95)
    emit(
        "complaints.escalation_scan_idle_ms", pct(idle, 0.5), "ms", p95=p95_idle,
        target=TARGETS["scan_ms"], verdict=verdict(p95_idle, TARGETS["scan_ms"]),
        samples=len(idle), max=max(idle), full_gc_ms=idle_gc, **common,
    )  # fmt: skip


def run_backend(backend: str, args) -> None:  # noqa: ANN001
    from sqlalchemy import func, select

    from custapp import clock
    from custapp.db import session_scope
    from custapp.models import Complaint

    common = {"backend": backend, "n": args.n}
    emit(
        "complaints.machine", os.cpu_count() or 0, "cpus", load=load(),
        date=datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"), **common,
    )  # fmt: skip
    migrate()
    emit("complaints.durability", 0, "", setting=durability(), **common)
    now = datetime.now(UTC).replace(microsecond=0)
    clock.set_now(now)
    started = time.perf_counter()
    store_id, boss, desks, key = _world()
    first, _ = bulk_customers("K", args.customers, key)
    insert_s = seed_complaints(args.n, first, args.customers, key, store_id, boss, desks, now)
    marked = mark_as_the_job_left_it(now)
    settle()
    with session_scope(write=False) as session:
        states = dict(
            session.exec(select(Complaint.status, func.count()).group_by(Complaint.status)).all()
        )
    emit(
        "complaints.seed_s", time.perf_counter() - started, "s", insert_s=insert_s,
        customers=args.customers, marks_preset=marked, statuses=states, **common,
    )  # fmt: skip
    index = extra_index(args.extra_index)
    if index:
        emit("complaints.extra_index", 1, "", statement=index, **common)
    figures_kpis(args, boss, common)
    figures_scan(now, common)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--backend", choices=("sqlite", "postgresql", "both"), default="sqlite")
    parser.add_argument("--pg-url", default=DEFAULT_PG, help="a server to create the database on")
    parser.add_argument("--quick", action="store_true", help="small numbers, under a minute")
    parser.add_argument("--n", type=int, help="complaints over the past year (200,000)")
    parser.add_argument("--customers", type=int, help="their customers (100,000)")
    parser.add_argument("--samples", type=int, help="KPI runs timed (50)")
    parser.add_argument("--extra-index", choices=("none", "covering"), default="none")
    args = parser.parse_args()
    for name, (full, quick) in {
        "n": (200_000, 20_000), "customers": (100_000, 10_000), "samples": (50, 10),
    }.items():  # fmt: skip
        if getattr(args, name) is None:
            setattr(args, name, quick if args.quick else full)
    args.customers = max(args.customers, FREQUENT)

    backends = ["sqlite", "postgresql"] if args.backend == "both" else [args.backend]
    for backend in backends:
        with fresh_backend(backend, args.pg_url, "bench_complaints"):
            run_backend(backend, args)


if __name__ == "__main__":
    main()
