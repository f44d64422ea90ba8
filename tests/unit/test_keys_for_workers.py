"""Keys for several workers (issue 17, part 3; acceptance 5).

Two worker processes, each with its own key caches as two app workers have, keep opening
customers' profiles while the main process rotates the master key twice: every customer stays
readable in both throughout, without a restart. On PostgreSQL the key store is a second
PostgreSQL database. Besides: a worker re-reads its ring when it meets a version it lacks, at
most once a REFRESH_SECONDS; the normal path touches no disk; precedence of variables over the
key folder; a key folder that lost its keys to the instance folder is refused; backups and
restores with the key store on PostgreSQL.
"""

from __future__ import annotations

import multiprocessing
import time
from pathlib import Path

import pytest

from custapp import cli
from custapp.db import session_scope
from custapp.models import Customer
from custapp.security import crypto, keys, keystore
from custapp.security.keys import get_keys
from custapp.services import bootstrap, customer_fields, customer_profile, customers, datakeys
from custapp.services.actor import Actor, system_actor
from custapp.services.customers import CustomerInput
from custapp.settings import get_settings
from tests.conftest import PG_URL, _create_pg_database, _drop_pg_database, reset_caches

CUSTOMERS = 24
WAIT = 180  # seconds a stage may take before the test gives up (a stuck worker)


def _phone(n: int) -> str:
    return f"139{n:08d}"


@pytest.fixture
def shared(db, tmp_path, monkeypatch):  # noqa: ANN001, ANN201
    """The key folder every worker reads (CUSTAPP_KEYS_DIR) and, on PostgreSQL, a key store in
    a second PostgreSQL database, made and dropped here."""
    monkeypatch.setenv("CUSTAPP_KEYS_DIR", str(tmp_path / "shared-keys"))
    store = None
    if db == "postgresql":
        store, url = _create_pg_database()
        monkeypatch.setenv("CUSTAPP_KEYSTORE_URL", url)
    reset_caches()
    yield db
    reset_caches()
    if store:
        _drop_pg_database(store)


def _desk() -> Actor:
    with session_scope() as session:
        user_id = bootstrap.create_staff_user(
            session,
            actor=system_actor("test"),
            username="desk.keys",
            display_name="前台",
            roles=["front_desk"],
            password="Correct-horse-42",
        )
    return Actor(user_id=user_id, name="desk.keys", roles=frozenset({"front_desk"}))


def _seed(actor: Actor, n: int = CUSTOMERS) -> dict[int, str]:
    made = {}
    for i in range(n):
        with session_scope() as session:
            ref = customers.create_customer(
                session, actor=actor, data=CustomerInput(name=f"客户{i}", phone=_phone(i))
            )
        made[ref.id] = _phone(i)
    return made


def _serve(actor: Actor, expected: dict[int, str], refresh: float, rounds, stop, out) -> None:  # noqa: ANN001
    """One app worker: opens every customer's profile (the service, audited) and reads the
    phone, round after round, until told to stop; reports failures by customer and kind."""
    keys.REFRESH_SECONDS = refresh  # a huge value: only meeting a new version re-reads the ring
    failures: list[tuple[int, str]] = []
    while not stop.is_set():
        for customer_id, phone in expected.items():
            try:
                with session_scope() as session:
                    profile = customer_profile.get_profile(
                        session, actor=actor, customer_id=customer_id
                    )
                    read = customer_fields.read(
                        session, session.get(Customer, customer_id), "phone"
                    )
                if read != phone or profile.id != customer_id:
                    failures.append((customer_id, "wrong value"))
            except Exception as exc:  # noqa: BLE001 (every failure counts, none may stop the loop)
                failures.append((customer_id, type(exc).__name__))
        with rounds.get_lock():
            rounds.value += 1
    out.put(
        {
            "refresh": refresh,
            "failures": failures,
            "rounds": rounds.value,
            "versions": sorted(keys.get_keys().master.versions),
        }
    )


def _wait_rounds(counters, procs, at_least: list[int]) -> None:  # noqa: ANN001
    deadline = time.monotonic() + WAIT
    while any(c.value < n for c, n in zip(counters, at_least, strict=True)):
        assert all(p.is_alive() for p in procs), "a worker died"
        assert time.monotonic() < deadline, "the workers stopped making progress"
        time.sleep(0.05)


def test_two_workers_read_every_customer_while_the_master_key_rotates(shared):
    actor = _desk()
    expected = _seed(actor)
    context = multiprocessing.get_context("spawn")  # fresh interpreters: caches of their own
    stop, out = context.Event(), context.Queue()
    counters = [context.Value("i", 0) for _ in range(2)]
    procs = [
        context.Process(target=_serve, args=(actor, expected, refresh, counter, stop, out))
        for refresh, counter in zip((keys.REFRESH_SECONDS, 3600.0), counters, strict=True)
    ]
    for proc in procs:
        proc.start()
    try:
        _wait_rounds(counters, procs, [1, 1])  # both serving, their rings at version 1

        # rotation 1: the function behind rotate-key, in small batches with pauses, so the
        # workers read while the store holds keys of both versions
        keys.save_master_ring(get_keys().master.with_new_version())
        moved = datakeys.rewrap_all(session_scope, batch=3, progress=lambda *_: time.sleep(0.05))
        assert moved >= CUSTOMERS
        _wait_rounds(counters, procs, [c.value + 2 for c in counters])

        # rotation 2: the command itself
        assert cli.main(["rotate-key"]) == 0
        _wait_rounds(counters, procs, [c.value + 2 for c in counters])
    finally:
        stop.set()
        results = [out.get(timeout=WAIT) for _ in procs]
        for proc in procs:
            proc.join(timeout=WAIT)
    for result in results:
        assert result["failures"] == [], result
        assert result["rounds"] >= 5
        assert result["versions"] == [1, 2, 3]  # the 3600 s worker too: it met the versions
    wrapped = keystore.get_many(_key_ids(expected))
    assert {version for version, _ in wrapped.values()} == {3}


def _key_ids(expected: dict[int, str]) -> list[int]:
    with session_scope(write=False) as session:
        return [session.get(Customer, i).data_key_id for i in expected]


# --- one process: when the ring is re-read ------------------------------------------------------


class _Loads:
    def __init__(self, monkeypatch) -> None:  # noqa: ANN001
        self.count = 0
        real = keys._load

        def counting(settings):  # noqa: ANN001, ANN202
            self.count += 1
            return real(settings)

        monkeypatch.setattr(keys, "_load", counting)


def _write_ring_elsewhere(ring: crypto.KeyRing) -> None:
    """What rotate-key on another host does to the shared key file; this process's cache is
    left alone."""
    path = keys.master_key_path()
    tmp = path.with_name("elsewhere.tmp")
    tmp.write_text(ring.serialize())
    tmp.replace(path)


def test_a_worker_rereads_its_ring_once_when_it_meets_a_new_version(shared, monkeypatch):
    monkeypatch.setattr(keys, "REFRESH_SECONDS", 3600.0)  # the periodic look never comes
    expected = _seed(_desk(), 3)
    old = get_keys().master
    loads = _Loads(monkeypatch)
    ring = old.with_new_version()
    _write_ring_elsewhere(ring)
    ids = _key_ids(expected)
    for key_id, (version, wrapped) in keystore.get_many(ids).items():
        key = crypto.unwrap_data_key(ring, version, wrapped)
        keystore.rewrap([(key_id, *crypto.wrap_data_key(ring, key))])
    assert sorted(get_keys().master.versions) == [1]  # not seen yet: no disk on this path
    assert loads.count == 0
    with session_scope(write=False) as session:
        for customer_id, phone in expected.items():
            assert (
                customer_fields.read(session, session.get(Customer, customer_id), "phone") == phone
            )
    assert loads.count == 1  # one re-read for the three keys
    assert sorted(get_keys().master.versions) == [1, 2]

    # a version no ring has (a damaged row): refused every time, the disk read at most once
    # every REFRESH_SECONDS however often it is met
    for _ in range(50):
        with pytest.raises(crypto.KeyRingError):
            datakeys._unwrap(99, "AAAA.AAAA")
    assert loads.count == 1


def test_the_key_source_is_looked_at_once_per_interval_and_reread_only_when_changed(
    shared, monkeypatch
):
    get_keys()
    loads = _Loads(monkeypatch)
    looks = {"n": 0}
    real_signature = keys._signature

    def counting(settings):  # noqa: ANN001, ANN202
        looks["n"] += 1
        return real_signature(settings)

    monkeypatch.setattr(keys, "_signature", counting)
    monkeypatch.setattr(keys, "REFRESH_SECONDS", 3600.0)
    for _ in range(1000):
        get_keys()
    assert (looks["n"], loads.count) == (0, 0)  # the normal path: no stat, no read

    monkeypatch.setattr(keys, "REFRESH_SECONDS", 0.0)  # every call is past the interval
    for _ in range(5):
        get_keys()
    assert looks["n"] == 5 and loads.count == 0  # looked, nothing changed, nothing read
    _write_ring_elsewhere(get_keys().master.with_new_version())
    assert get_keys().master.current_version == 2
    assert loads.count == 1


def test_variables_win_over_the_key_folder_and_a_change_is_picked_up(shared, monkeypatch):
    folder = get_settings().keys_dir
    from_files = get_keys()
    assert (folder / keys.MASTER_FILE).exists() and not from_files.master_from_env
    ring = crypto.KeyRing.generate(version=7)
    monkeypatch.setenv("CUSTAPP_MASTER_KEY", ring.serialize())
    monkeypatch.setattr(keys, "REFRESH_SECONDS", 0.0)
    get_settings.cache_clear()  # a new process's settings; the key cache is left alone
    now = get_keys()
    assert now.master_from_env and now.master.versions == ring.versions
    assert (now.index, now.audit) == (from_files.index, from_files.audit)  # still the files
    assert keys.ring_managed_outside(now)


def test_a_key_folder_without_the_keys_the_instance_holds_is_refused(db, tmp_path, monkeypatch):
    instance_keys = get_keys()
    assert (get_settings().instance_dir / keys.MASTER_FILE).exists()
    empty = tmp_path / "mounted-secret"
    empty.mkdir(mode=0o700)
    monkeypatch.setenv("CUSTAPP_KEYS_DIR", str(empty))
    reset_caches()
    with pytest.raises(keys.KeySourceError, match="CUSTAPP_KEYS_DIR"):
        get_keys()
    assert not (empty / keys.MASTER_FILE).exists()  # no new key was made
    for name in keys.KEY_FILES:  # moved there: read from there
        (get_settings().instance_dir / name).rename(empty / name)
    reset_caches()
    assert get_keys().master.versions == instance_keys.master.versions
    assert keys.keys_present()


def test_workers_starting_at_once_make_one_set_of_keys(shared):
    folder = get_settings().keys_dir
    assert not (folder / keys.MASTER_FILE).exists()
    context = multiprocessing.get_context("spawn")
    out = context.Queue()
    procs = [context.Process(target=_report_keys, args=(out,)) for _ in range(3)]
    for proc in procs:
        proc.start()
    seen = {out.get(timeout=WAIT) for _ in procs}
    for proc in procs:
        proc.join(timeout=WAIT)
    assert seen == {_fingerprint(get_keys())}
    assert not [p for p in folder.iterdir() if p.name.startswith(".")]  # no temporary left


def _fingerprint(found: keys.Keys) -> str:
    return f"{found.master.serialize()}|{found.index.hex()}|{found.audit.hex()}"


def _report_keys(out) -> None:  # noqa: ANN001
    out.put(_fingerprint(keys.get_keys()))


# --- the key store on PostgreSQL: backups and restores --------------------------------------


def test_a_backup_restores_with_a_key_store_on_postgresql(db, tmp_path, monkeypatch):
    if not PG_URL:
        pytest.skip("CUSTAPP_TEST_PG_URL is not set")
    from custapp.demo import accounts as demo_accounts
    from custapp.services import backups

    stores = [_create_pg_database() for _ in range(2)]
    made: list[str] = []
    try:
        monkeypatch.setenv("CUSTAPP_KEYS_DIR", str(tmp_path / "shared-keys"))
        monkeypatch.setenv("CUSTAPP_KEYSTORE_URL", stores[0][1])
        reset_caches()
        with session_scope() as session:
            demo_accounts.seed_demo_accounts(session, actor=system_actor("test"))
        expected = _seed(system_actor("test"), 5)
        info = backups.create_backup()
        copy = info.path.parent / info.manifest["keystore_copy"]
        assert copy.is_file() and backups.verify_backup(info.path, keystore_copy=copy).ok

        # a new machine: its own app database and an empty key store on PostgreSQL; the key
        # folder is the one every host reads
        monkeypatch.setenv("CUSTAPP_INSTANCE_DIR", str(tmp_path / "second-host"))
        monkeypatch.setenv("CUSTAPP_KEYSTORE_URL", stores[1][1])
        if db == "postgresql":
            name, url = _create_pg_database()
            made.append(name)
        else:
            (tmp_path / "second-host").mkdir(mode=0o700)
            url = f"sqlite:///{tmp_path / 'second-host' / 'custapp.db'}"
        monkeypatch.setenv("CUSTAPP_DATABASE_URL", url)
        reset_caches()
        approvers = [(n, demo_accounts.DEMO_PASSWORD) for n in ("admin", "compliance")]
        report = backups.restore_backup(info.path, keystore_copy=None, approvers=approvers)
        assert report.ok and report.keys_loaded == keystore.count() >= 5
        with session_scope(write=False) as session:
            for customer_id, phone in expected.items():
                customer = session.get(Customer, customer_id)
                assert customer_fields.read(session, customer, "phone") == phone
    finally:
        reset_caches()
        for name in [s[0] for s in stores] + made:
            _drop_pg_database(name)


def test_keys_left_in_place_need_no_setting(db):
    """Without CUSTAPP_KEYS_DIR the key folder is the instance folder, as before."""
    assert get_settings().keys_dir == get_settings().instance_dir
    get_keys()
    assert all((Path(get_settings().instance_dir) / n).exists() for n in keys.KEY_FILES)
