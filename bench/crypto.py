"""Crypto and login figures (issue 2, acceptance 8). Prints one JSON object per figure.

    python bench/crypto.py [--n 1000] [--quick]

- crypto.field_roundtrip_p50: encrypt + decrypt of one short field (target <= 20 us)
- crypto.blind_index_lookup_p50: HMAC of a phone plus the indexed query on users.login_index
- auth.staff_logins_per_s: logins at the production bcrypt cost (12) through the bounded pool
- auth.page_event_p95_during_logins: a concurrent page event (session check + query) while the
  logins run (target <= 200 ms)

Seeds its own data in a throw-away SQLite database.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def emit(name: str, value: float, unit: str, **extra: object) -> None:
    print(json.dumps({"bench": name, "value": round(value, 3), "unit": unit, **extra}))


def pct(values: list[float], q: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(q * len(values)))]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=2000, help="member accounts seeded")
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    n = 200 if args.quick else args.n

    tmp = tempfile.mkdtemp(prefix="custapp-bench-")
    os.environ.update(CUSTAPP_INSTANCE_DIR=tmp, CUSTAPP_ENV="bench")
    os.environ.pop("CUSTAPP_DATABASE_URL", None)
    os.environ.pop("CUSTAPP_BCRYPT_ROUNDS", None)

    from alembic import command
    from alembic.config import Config
    from sqlalchemy import insert, select

    from custapp import clock
    from custapp.db import session_scope
    from custapp.models import User
    from custapp.security import crypto, passwords
    from custapp.security.keys import get_keys
    from custapp.services import auth, bootstrap
    from custapp.services.actor import system_actor
    from custapp.settings import PROJECT_DIR, get_settings

    command.upgrade(Config(str(PROJECT_DIR / "alembic.ini")), "head")
    settings = get_settings()
    passwords.configure_pool(settings.hash_workers)

    # 1. field encryption round trip
    key = crypto.generate_data_key()
    for _ in range(200):
        crypto.decrypt_field(
            key, crypto.encrypt_field(key, "13812345678", context="c.phone"), context="c.phone"
        )
    samples = []
    for _ in range(5000 if args.quick else 50000):
        start = time.perf_counter_ns()
        token = crypto.encrypt_field(key, "13812345678", context="c.phone")
        crypto.decrypt_field(key, token, context="c.phone")
        samples.append((time.perf_counter_ns() - start) / 1000)
    emit("crypto.field_roundtrip_p50", statistics.median(samples), "us", target=20, n=len(samples))

    # 2. blind-index lookup over n member accounts
    index_key = get_keys().index
    now = clock.now()
    with session_scope() as session:
        session.execute(
            insert(User),
            [
                {
                    "kind": "member",
                    "login_index": crypto.blind_index(index_key, "phone", f"139{i:08d}"),
                    "display_name": "m",
                    "is_active": True,
                    "must_change_password": False,
                    "created_at": now,
                    "updated_at": now,
                }
                for i in range(n)
            ],
        )
    samples = []
    with session_scope(write=False) as session:
        for i in range(1000):
            phone = f"139{(i * 7919) % n:08d}"
            start = time.perf_counter_ns()
            digest = crypto.blind_index(index_key, "phone", phone)
            found = session.exec(select(User.id).where(User.login_index == digest)).first()
            samples.append((time.perf_counter_ns() - start) / 1000)
            assert found is not None
    emit("crypto.blind_index_lookup_p50", statistics.median(samples), "us", n=n)

    # 3. logins at cost 12 while page events keep answering
    with session_scope() as session:
        for i in range(4):
            bootstrap.create_staff_user(
                session,
                actor=system_actor("bench"),
                username=f"bench{i}",
                display_name="b",
                roles=["front_desk"],
                password="Bench-pass-2026",
            )
    with session_scope() as session:
        token = auth.login_staff(
            session, username="bench0", password="Bench-pass-2026", ip="b"
        ).token
    logins = 8 if args.quick else 24

    def login(i: int) -> None:
        with session_scope() as session:
            result = auth.login_staff(
                session, username=f"bench{i % 4}", password="Bench-pass-2026", ip="b"
            )
            assert result.ok

    def page_event() -> None:
        with session_scope() as session:
            assert auth.resolve_session(session, token=token).actor is not None

    async def run() -> tuple[float, list[float]]:
        latencies: list[float] = []
        done = asyncio.Event()

        async def probe() -> None:
            while not done.is_set():
                start = time.perf_counter()
                await asyncio.to_thread(page_event)
                latencies.append((time.perf_counter() - start) * 1000)
                await asyncio.sleep(0.02)

        prober = asyncio.create_task(probe())
        start = time.perf_counter()
        await asyncio.gather(*(asyncio.to_thread(login, i) for i in range(logins)))
        elapsed = time.perf_counter() - start
        done.set()
        await prober
        return elapsed, latencies

    elapsed, latencies = asyncio.run(run())
    emit(
        "auth.staff_logins_per_s",
        logins / elapsed,
        "1/s",
        bcrypt_cost=settings.bcrypt_rounds,
        hash_workers=settings.hash_workers,
        n=logins,
    )
    emit(
        "auth.page_event_p95_during_logins",
        pct(latencies, 0.95),
        "ms",
        target=200,
        n=len(latencies),
    )


if __name__ == "__main__":
    main()
