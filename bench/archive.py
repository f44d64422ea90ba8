"""Customer archive figures (issue 3). Prints one JSON object per figure; never asserts.

    python bench/archive.py [--n 100000] [--quick] [--pg postgresql+psycopg://user@host/db]
    python bench/archive.py --reuse [--browser [--port 3100 | --app-url http://localhost:3100]]

Without --reuse it seeds --n customers into a throw-away SQLite database (and with --pg into a
uniquely named PostgreSQL database, dropped at the end) and measures the seeding rate. With
--reuse it measures the instance that CUSTAPP_INSTANCE_DIR / CUSTAPP_DATABASE_URL name, seeded
before by `custapp seed-demo --customers N` (seeding 1,000,000 takes a while: do it once).

Every service figure is one transaction as a page event runs it (query, capped count, rows,
masked phones, audit entry, commit); raw_sql is the same indexed page query alone, and ratio is
service / raw_sql; cpu is the bench process's CPU time for the service call (on a shared,
loaded machine the wall time includes waiting for a core).

- archive.seed_customers_per_s: demo seeding through the encryption path
- archive.lookup_{phone,id_number,number,miss}_p50/_p95: exact lookup (target p95 5 ms); miss
  is a valid mobile that is nobody's (it also counts the user's recent misses for the alert)
- archive.name_{two_char,surname,rare,none}_p50/_p95: a name substring, first page of 20 and
  the count capped at 1,001 ("1,000+"): a frequent two-character name, a one-character surname,
  one of the names fewest customers have, a term nobody has (target p95 100 ms)
- archive.filter_{common,rare,empty,all}_p50/_p95: the list with two filters (a page of 50 and
  the capped count): many matches, a few thousand, none, every customer (target p95 30 ms)
- archive.duplicate_groups_ms: the first page of the duplicate review list
- archive.browser_phone_p50/_p95 (--browser): in chromium against `reflex run --env prod`,
  from pressing Enter after a full phone number to its row shown (target p95 300 ms)
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import ROOT, emit, pct, reset  # noqa: E402 (the bench folder is on sys.path only now)

ORDER = " ORDER BY created_at DESC, id DESC"
PHONE_SQL = (
    "SELECT id, number, name FROM customers WHERE merged_into_id IS NULL AND id IN "
    "(SELECT id FROM customers WHERE phone_bidx = :h UNION SELECT id FROM customers "
    "WHERE phone2_bidx = :h UNION SELECT customer_id FROM customer_contacts WHERE phone_bidx = :h)"
    + ORDER
    + " LIMIT 20"
)
ID_SQL = (
    "SELECT id, number, name FROM customers WHERE merged_into_id IS NULL AND "
    "(id_number_bidx = :h OR uscc = :u)" + ORDER + " LIMIT 20"
)
NUMBER_SQL = "SELECT id, number, name, merged_into_id FROM customers WHERE number = :n"
NAME_SQL = {  # the page query the service runs on each backend
    "sqlite": "SELECT id, number, name FROM customers WHERE merged_into_id IS NULL AND id IN "
    "(SELECT id FROM customers WHERE name LIKE :p ESCAPE '/')" + ORDER + " LIMIT 20",
    "postgresql": "SELECT id, number, name FROM customers WHERE merged_into_id IS NULL AND "
    "name ILIKE :p ESCAPE '/' AND custapp_name_grams(name) @> custapp_name_grams(:t)"
    + ORDER
    + " LIMIT 20",
    # one or two letters: the term is itself a gram
    "postgresql_short": "SELECT id, number, name FROM customers WHERE merged_into_id IS NULL AND "
    "custapp_name_grams(name) @> ARRAY[lower(:t)]" + ORDER + " LIMIT 20",
}
FILTER_SQL = (
    "SELECT id, number, name FROM customers WHERE merged_into_id IS NULL AND {where}"
    + ORDER
    + " LIMIT 50"
)
CHROMIUM = "/usr/bin/chromium"
PASSWORD = "Demo-2026-pass"


def timed(fn: Callable[[], object]) -> float:
    start = time.perf_counter()
    fn()
    return (time.perf_counter() - start) * 1000


def seed(n: int, common: dict) -> None:
    from alembic import command
    from alembic.config import Config

    from custapp.db import session_scope
    from custapp.demo import accounts as demo_accounts
    from custapp.demo import customers as demo_customers
    from custapp.services.actor import system_actor
    from custapp.settings import PROJECT_DIR

    command.upgrade(Config(str(PROJECT_DIR / "alembic.ini")), "head")
    with session_scope() as session:
        demo_accounts.seed_demo_accounts(session, actor=system_actor("bench"))
    start = time.perf_counter()
    demo_customers.seed_customers(session_scope, n=n)
    elapsed = time.perf_counter() - start
    emit("archive.seed_customers_per_s", n / elapsed, "1/s", seconds=round(elapsed, 1), **common)


def _targets(samples: int) -> tuple[list[dict], dict[str, list[str]]]:
    """Customers to look up exactly, and name terms of each kind (from the data itself)."""
    from sqlalchemy import func, literal_column, select

    from custapp.db import session_scope
    from custapp.models import Customer
    from custapp.services import customer_fields

    rng = random.Random(7)
    with session_scope(write=False) as session:
        top = session.exec(select(func.max(Customer.id))).scalar_one()
        ids = rng.sample(range(1, top + 1), min(samples * 2, top))
        found = session.exec(select(Customer).where(Customer.id.in_(ids))).scalars().all()
        targets = [
            {
                "phone": customer_fields.read(session, c, "phone"),
                "id_number": customer_fields.read(session, c, "id_number") or c.uscc,
                "number": c.number,
            }
            for c in found[:samples]
        ]
        length = func.length(Customer.name)
        counted = (
            select(Customer.name, func.count().label("k"))
            .where(Customer.kind == "individual")
            .group_by(Customer.name)
        )
        two = session.exec(
            counted.having(length == 2).order_by(func.count().desc()).limit(20)
        ).all()
        rare = session.exec(  # the names fewest customers have
            counted.having(length == 3).order_by(func.count(), Customer.name).limit(400)
        ).all()
        first = func.substr(Customer.name, literal_column("1"), literal_column("1"))
        surnames = session.exec(
            select(first, func.count())
            .where(Customer.kind == "individual")
            .group_by(first)
            .order_by(func.count().desc())
            .limit(5)
        ).all()
    rare_names = [name for name, _ in rare]
    rng.shuffle(rare_names)
    terms = {
        "two_char": [name for name, _ in two],
        "surname": [s for s, _ in surnames],
        "rare": rare_names[:40],
        "none": [f"{a}{b}" for a, b in zip("龘靐齉爩麤", "鱻籱灪龖厵", strict=True)]
        + ["无此人甲", "查无此名", "zzqx"],
    }
    return targets, terms


def run(backend: str, samples: int, common: dict) -> None:
    from sqlalchemy import select, text

    from custapp.db import session_scope
    from custapp.models import User
    from custapp.services import customer_fields
    from custapp.services.actor import Actor
    from custapp.services.customer_search import (
        COUNT_CAP,
        CustomerFilter,
        duplicate_groups,
        search_customers,
    )

    with session_scope(write=False) as session:
        desk_id = session.exec(select(User.id).where(User.username == "frontdesk")).scalar_one()
    actor = Actor(user_id=desk_id, name="frontdesk", roles=frozenset({"front_desk"}))
    targets, terms = _targets(samples)

    def service(query: str, filters: CustomerFilter = CustomerFilter(), size: int = 20):  # noqa: B008
        def go() -> None:
            with session_scope() as session:
                search_customers(session, actor=actor, query=query, filters=filters, page_size=size)

        return go

    def bare(sql: str, **params: object) -> Callable[[], None]:
        def go() -> None:
            with session_scope(write=False) as session:
                session.execute(text(sql), params).all()

        return go

    def figure(name: str, cases: list[tuple[Callable, Callable]], target: float, **extra) -> None:
        for svc, raw in cases[:5]:  # warm the caches and the plans
            svc()
            raw()
        took, bare_took, cpu = [], [], []
        for _ in range(max(1, samples // len(cases))):
            for svc, raw in cases:
                start = time.process_time()
                took.append(timed(svc))
                cpu.append((time.process_time() - start) * 1000)
                bare_took.append(timed(raw))
        for q in (0.5, 0.95):
            value, raw_value = pct(took, q), pct(bare_took, q)
            emit(
                f"archive.{name}_p{int(q * 100)}",
                value,
                "ms",
                raw_sql=raw_value,
                ratio=value / raw_value,
                cpu=pct(cpu, q),  # this process's CPU time: all of it on SQLite, not PG's
                target=target,
                samples=len(took),
                **extra,
                **common,
            )

    index = customer_fields.blind_index
    exact = {
        "phone": lambda t: (
            service(t["phone"]),
            bare(PHONE_SQL, h=index("phone", t["phone"])),
        ),
        "id_number": lambda t: (
            service(t["id_number"]),
            bare(ID_SQL, h=index("id_number", t["id_number"]), u=t["id_number"]),
        ),
        "number": lambda t: (service(t["number"]), bare(NUMBER_SQL, n=t["number"])),
    }
    for kind, make in exact.items():
        figure(f"lookup_{kind}", [make(t) for t in targets if t[kind]], 5)
    # a valid mobile that is nobody's: the lookup, a miss entry and the count of recent misses
    misses = [f"1990000{i:04d}" for i in range(25)]  # under the alert threshold (30 in 10 min)
    figure(
        "lookup_miss",
        [(service(p), bare(PHONE_SQL, h=index("phone", p))) for p in misses],
        5,
    )

    for kind, words in terms.items():
        hits = []
        with session_scope(write=False) as session:
            for word in words[:3]:
                hits.append(search_customers(session, actor=actor, query=word).total)
        shown = [f"{COUNT_CAP:,}+" if h > COUNT_CAP else h for h in hits]

        def raw_name(word: str) -> Callable[[], None]:
            short = backend == "postgresql" and len(word) <= 2
            sql = NAME_SQL["postgresql_short" if short else backend]
            return bare(sql, p=f"%{word.replace('/', '//')}%", t=word)

        cases = [(service(w), raw_name(w)) for w in words]
        figure(f"name_{kind}", cases, 100, terms=len(words), shown_totals=shown)

    filters = {
        "common": (CustomerFilter(nature="individual", tag="熟客推荐"), "nature = 'individual'"),
        "rare": (CustomerFilter(nature="supplier", tag="团购"), "nature = 'supplier'"),
        "empty": (CustomerFilter(nature="supplier", tag="过敏"), "nature = 'supplier'"),
        "all": (
            CustomerFilter(lifecycle="potential", grade="E"),
            "lifecycle = 'potential' AND (grade_override = 'E' OR "
            "(grade_override IS NULL AND grade = 'E'))",
        ),
    }
    tag_sql = (
        " AND EXISTS (SELECT 1 FROM customer_tags t"
        " WHERE t.customer_id = customers.id AND t.tag = :tag)"
    )
    for kind, (f, where) in filters.items():
        sql = FILTER_SQL.format(where=where + (tag_sql if f.tag else ""))
        with session_scope(write=False) as session:
            total = search_customers(session, actor=actor, filters=f, page_size=50).total
        cases = [(service("", f, 50), bare(sql, tag=f.tag))]
        shown = f"{COUNT_CAP:,}+" if total > COUNT_CAP else total
        figure(f"filter_{kind}", cases, 30, shown_total=shown)

    def duplicates() -> None:
        with session_scope(write=False) as session:
            duplicate_groups(session, actor=actor, page=1, page_size=20)

    took = [timed(duplicates) for _ in range(5)]
    emit("archive.duplicate_groups_ms", statistics.median(took), "ms", **common)


# --- the browser ------------------------------------------------------------------------------


def _free(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) != 0


def _serve(port: int, work: Path, log_path: Path) -> subprocess.Popen:
    """`reflex run --env prod` on the instance under test, building in its own folder (not the
    project's .web, which a dev server or a test run may be using)."""
    env = {
        **os.environ,
        "REFLEX_BUN_PATH": str(ROOT / ".tools" / "node_modules" / ".bin" / "bun"),
        "REFLEX_TELEMETRY_ENABLED": "false",
        "REFLEX_CHECK_LATEST_VERSION": "false",
        "REFLEX_WEB_WORKDIR": str(work / "web"),
        "REFLEX_STATES_WORKDIR": str(work / "states"),
        "PYTHONDONTWRITEBYTECODE": "1",
    }
    args = ["run", "--env", "prod", "--single-port"]
    args += ["--frontend-port", str(port), "--backend-port", str(port)]
    proc = subprocess.Popen(
        [str(ROOT / ".venv" / "bin" / "reflex"), *args],
        cwd=ROOT,
        env=env,
        stdout=log_path.open("a"),
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        start_new_session=True,
    )
    deadline = time.monotonic() + 600
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"reflex exited with {proc.returncode}: see {log_path}")
        try:
            with urllib.request.urlopen(f"http://localhost:{port}/login", timeout=5) as r:
                if r.status == 200 and 'id="login"' in r.read().decode("utf-8", "replace"):
                    return proc
        except OSError:
            pass
        time.sleep(2)
    _stop(proc)
    raise SystemExit(f"reflex did not serve in 600 s: see {log_path}")


def _stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)


def browser(url: str, samples: int, common: dict) -> None:
    from playwright.sync_api import sync_playwright

    targets, _ = _targets(samples + 5)
    targets = [t for t in targets if t["phone"]]
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"]
        )
        page = chromium.new_page(viewport={"width": 1280, "height": 800}, locale="zh-CN")
        page.set_default_timeout(30_000)
        hydrated = """(id) => { const el = document.querySelector(id);
                       return !!el && Object.keys(el).some(k => k.startsWith('__reactProps')); }"""
        page.goto(f"{url}/login", wait_until="commit")
        page.wait_for_function(hydrated, arg="#login")
        page.fill("#login", "frontdesk")
        page.fill("#password", PASSWORD)
        page.get_by_test_id("login-submit").click()
        page.get_by_test_id("user-name").wait_for()
        page.goto(f"{url}/customers", wait_until="commit")
        page.get_by_test_id("user-name").wait_for()
        page.wait_for_function(hydrated, arg="#customer-query")
        page.locator("table tbody tr").first.wait_for()  # the first page has loaded
        # the answer to this search: a short list (not the full first page) with the phone,
        # masked, in a row (not the previous phone's; a seeded duplicate may share the phone)
        shown = """(masked) => { const rows = [...document.querySelectorAll('table tbody tr')];
                      return rows.length < 20 && rows.some(r => r.innerText.includes(masked)); }"""
        took = []
        for i, target in enumerate(targets[: samples + 5]):
            page.fill("#customer-query", target["phone"])
            start = time.perf_counter()
            page.press("#customer-query", "Enter")
            masked = f"{target['phone'][:3]}****{target['phone'][-4:]}"
            page.wait_for_function(shown, arg=masked, polling="raf")
            if i >= 5:  # the first few warm the page
                took.append((time.perf_counter() - start) * 1000)
        chromium.close()
    for q in (0.5, 0.95):
        emit(
            f"archive.browser_phone_p{int(q * 100)}",
            pct(took, q),
            "ms",
            target=300,
            samples=len(took),
            **common,
        )


def _count() -> int:
    from sqlalchemy import func, select

    from custapp.db import session_scope
    from custapp.models import Customer

    with session_scope(write=False) as session:
        return session.exec(select(func.count(Customer.id))).scalar_one()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=100_000, help="customers seeded")
    parser.add_argument("--quick", action="store_true", help="5,000 customers, under a minute")
    parser.add_argument("--pg", metavar="URL", help="also on PostgreSQL (a database is created)")
    parser.add_argument("--reuse", action="store_true", help="the instance the env names")
    parser.add_argument("--browser", action="store_true", help="also in chromium (with --reuse)")
    parser.add_argument("--port", type=int, default=3100, help="for the app under --browser")
    parser.add_argument("--app-url", help="with --browser: an app already serving this instance")
    parser.add_argument("--samples", type=int, help="per figure (default 300, 100 with --quick)")
    args = parser.parse_args()
    samples = args.samples or (100 if args.quick else 300)

    if args.reuse:
        from custapp.settings import get_settings

        backend = "sqlite" if get_settings().is_sqlite else "postgresql"
        common = {"n": _count(), "backend": backend}
        run(backend, samples, common)
        if args.browser and args.app_url:
            browser(args.app_url.rstrip("/"), min(samples, 100), common)
        elif args.browser:
            if not _free(args.port):
                raise SystemExit(f"port {args.port} is in use")
            work = Path(tempfile.mkdtemp(prefix="custapp-bench-web-"))
            proc = _serve(args.port, work, work / "reflex.log")
            try:
                browser(f"http://localhost:{args.port}", min(samples, 100), common)
            finally:
                _stop(proc)
                shutil.rmtree(work, ignore_errors=True)
        return

    n = 5000 if args.quick else args.n
    tmp = tempfile.mkdtemp(prefix="custapp-bench-")
    os.environ.update(CUSTAPP_INSTANCE_DIR=tmp, CUSTAPP_ENV="bench")
    os.environ.pop("CUSTAPP_DATABASE_URL", None)
    seed(n, {"n": n, "backend": "sqlite"})
    run("sqlite", samples, {"n": n, "backend": "sqlite"})
    if not args.pg:
        return

    import sqlalchemy as sa

    name = f"custapp_bench_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(args.pg, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    try:
        url = sa.engine.make_url(args.pg).set(database=name)
        os.environ["CUSTAPP_DATABASE_URL"] = url.render_as_string(hide_password=False)
        os.environ["CUSTAPP_AUDIT_CHECKPOINT"] = str(Path(tmp) / "pg-audit-head.json")
        reset()
        seed(n, {"n": n, "backend": "postgresql"})
        run("postgresql", samples, {"n": n, "backend": "postgresql"})
    finally:
        reset()
        with admin.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()


if __name__ == "__main__":
    main()
