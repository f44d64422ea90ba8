"""Customer archive figures (issue 3). Prints one JSON object per figure.

    python bench/archive.py [--n 100000] [--quick] [--pg postgresql+psycopg://user@host/db]

- archive.seed_customers_per_s: demo seeding through the encryption path (batches of 1,000)
- archive.lookup_{phone,id_number,number}_p50/_p95: exact lookup through the search service,
  one transaction each as a page event runs it (blind index, count, page, tags, masked phone,
  audit entry, commit); target 5 ms for p95 ("instant"); raw_sql = the bare page query
- archive.lookup_exact_p95: the three exact lookups together
- archive.name_search_p50/_p95: name substring, page 1 (a full scan: no target named)
- archive.duplicate_groups_ms: the first page of the duplicate review list

Seeds its own data in a throw-away SQLite database, and with --pg in a uniquely named
PostgreSQL database created on that server and dropped at the end.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

PHONE_SQL = (
    "SELECT id, number, name FROM customers WHERE merged_into_id IS NULL AND id IN "
    "(SELECT id FROM customers WHERE phone_bidx = :h UNION SELECT id FROM customers "
    "WHERE phone2_bidx = :h UNION SELECT customer_id FROM customer_contacts WHERE phone_bidx = :h) "
    "ORDER BY created_at DESC, id DESC LIMIT 20"
)
ID_SQL = (
    "SELECT id, number, name FROM customers WHERE merged_into_id IS NULL AND "
    "(id_number_bidx = :h OR uscc = :u) ORDER BY created_at DESC, id DESC LIMIT 20"
)
NUMBER_SQL = "SELECT id, number, name, merged_into_id FROM customers WHERE number = :n"
NAME_SQL = (  # {like}: ILIKE on PostgreSQL, LIKE (ASCII case-insensitive) on SQLite
    "SELECT id, number, name FROM customers WHERE merged_into_id IS NULL AND id IN "
    "(SELECT id FROM customers WHERE name {like} :p ESCAPE '/') "
    "ORDER BY created_at DESC, id DESC LIMIT 20"
)


def emit(name: str, value: float, unit: str, **extra: object) -> None:
    extra = {k: round(v, 3) if isinstance(v, float) else v for k, v in extra.items()}
    print(json.dumps({"bench": name, "value": round(value, 3), "unit": unit, **extra}), flush=True)


def pct(values: list[float], q: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(q * len(values)))]


def timed(fn: Callable[[], object]) -> float:
    start = time.perf_counter()
    fn()
    return (time.perf_counter() - start) * 1000


def reset() -> None:
    from custapp import db
    from custapp.security.keys import get_keys
    from custapp.services import datakeys
    from custapp.settings import get_settings

    db.dispose_engines()
    get_settings.cache_clear()
    get_keys.cache_clear()
    datakeys._unwrap.cache_clear()


def run(backend: str, n: int, samples: int) -> None:
    from alembic import command
    from alembic.config import Config
    from sqlalchemy import select, text

    from custapp import clock
    from custapp.db import session_scope
    from custapp.models import Customer, Store, User, UserRole, UserStore
    from custapp.services import customer_fields, demo_customers
    from custapp.services.actor import Actor
    from custapp.services.customer_search import (
        CustomerFilter,
        duplicate_groups,
        search_customers,
    )
    from custapp.settings import PROJECT_DIR

    command.upgrade(Config(str(PROJECT_DIR / "alembic.ini")), "head")
    now = clock.now()
    with session_scope() as session:
        store = Store(code="HQ", name="总店", created_at=now)
        session.add(store)
        session.flush()
        user_ids = {}
        for username, role in (("desk", "front_desk"), ("manager", "cs_manager")):
            user = User(username=username, display_name=username, created_at=now, updated_at=now)
            session.add(user)
            session.flush()
            session.add(UserRole(user_id=user.id, role=role, granted_at=now))
            session.add(UserStore(user_id=user.id, store_id=store.id))
            user_ids[role] = user.id
    actor = Actor(user_id=user_ids["front_desk"], name="desk", roles=frozenset({"front_desk"}))

    start = time.perf_counter()
    demo_customers.seed_customers(session_scope, n=n)
    elapsed = time.perf_counter() - start
    common = {"n": n, "backend": backend}
    emit("archive.seed_customers_per_s", n / elapsed, "1/s", seconds=round(elapsed, 1), **common)

    rng = random.Random(7)
    ids = rng.sample(range(1, n + 1), min(samples, n))
    targets = []
    with session_scope(write=False) as session:
        for customer in session.exec(select(Customer).where(Customer.id.in_(ids))).scalars():
            targets.append(
                {
                    "phone": customer_fields.read(session, customer, "phone"),
                    "id_number": customer_fields.read(session, customer, "id_number")
                    or customer.uscc,
                    "number": customer.number,
                    "name": customer.name,
                }
            )

    def service(query: str) -> None:
        with session_scope() as session:
            search_customers(session, actor=actor, query=query, filters=CustomerFilter())

    def bare(sql: str, **params: object) -> Callable[[], None]:
        def go() -> None:
            with session_scope(write=False) as session:
                session.execute(text(sql), params).all()

        return go

    index = customer_fields.blind_index
    name_sql = NAME_SQL.format(like="ILIKE" if backend == "postgresql" else "LIKE")
    raw: dict[str, Callable[[dict], Callable[[], None]]] = {
        "phone": lambda t: bare(PHONE_SQL, h=index("phone", t["phone"])),
        "id_number": lambda t: bare(ID_SQL, h=index("id_number", t["id_number"]), u=t["id_number"]),
        "number": lambda t: bare(NUMBER_SQL, n=t["number"]),
        "name": lambda t: bare(name_sql, p=f"%{t['name']}%"),
    }
    exact: list[float] = []
    for kind in ("phone", "id_number", "number", "name"):
        chosen = [t for t in targets if t[kind]]  # some individuals gave no ID number
        for target in chosen[:10]:  # warm the caches and the query plans
            service(target[kind])
            raw[kind](target)()
        took = [timed(lambda q=t[kind]: service(q)) for t in chosen]
        bare_took = [timed(raw[kind](t)) for t in chosen]
        name = "name_search" if kind == "name" else f"lookup_{kind}"
        extra = {"n": n, "backend": backend, "samples": len(took)}
        p50_raw, p95_raw = statistics.median(bare_took), pct(bare_took, 0.95)
        emit(f"archive.{name}_p50", statistics.median(took), "ms", raw_sql=p50_raw, **extra)
        target_ms = {} if kind == "name" else {"target": 5}
        emit(f"archive.{name}_p95", pct(took, 0.95), "ms", raw_sql=p95_raw, **target_ms, **extra)
        if kind != "name":
            exact += took
    emit("archive.lookup_exact_p95", pct(exact, 0.95), "ms", target=5, samples=len(exact), **common)

    def duplicates() -> None:
        with session_scope(write=False) as session:
            duplicate_groups(session, actor=actor, page=1, page_size=20)

    took = [timed(duplicates) for _ in range(5)]
    emit("archive.duplicate_groups_ms", statistics.median(took), "ms", **common)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=100_000, help="customers seeded")
    parser.add_argument("--quick", action="store_true", help="5,000 customers, under a minute")
    parser.add_argument("--pg", metavar="URL", help="also on PostgreSQL (a database is created)")
    args = parser.parse_args()
    n = 5000 if args.quick else args.n
    samples = 100 if args.quick else 300

    tmp = tempfile.mkdtemp(prefix="custapp-bench-")
    os.environ.update(CUSTAPP_INSTANCE_DIR=tmp, CUSTAPP_ENV="bench")
    os.environ.pop("CUSTAPP_DATABASE_URL", None)
    run("sqlite", n, samples)
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
        run("postgresql", n, samples)
    finally:
        reset()
        with admin.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()


if __name__ == "__main__":
    main()
