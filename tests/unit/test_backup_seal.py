"""Names sealed in backups (services/backup_seal.py): a plain dump's COPY rows sealed and opened
again byte for byte, whatever a clerk typed into a name; a backup holds no name in plain; a
restore brings every name (and a member account's name, a contact's name) back exactly, on
SQLite and PostgreSQL."""

from __future__ import annotations

import io
import sqlite3
import subprocess
from types import SimpleNamespace

import pytest
from sqlalchemy import select

from custapp.db import session_scope
from custapp.models import Customer, CustomerContact, User
from custapp.security import crypto
from custapp.services import (
    backup_backends,
    backup_format,
    backup_seal,
    backups,
    bootstrap,
    customers,
)
from custapp.services.actor import system_actor
from custapp.services.customers import CustomerInput
from custapp.settings import get_settings
from tests.unit.test_backups import (  # noqa: F401 (fixtures)
    _backup,
    _restore,
    empty_instance,
    seeded,
)

ODD_NAMES = [
    "王\t小明",  # a tab pasted from a spreadsheet
    "C:\\路径\\张三",  # backslashes
    "李\n四",  # a line break
    "SEALED1:7:假的封条",  # looks like a seal
    "赵" * 50,  # the column's full length in characters
    "😀 Zoë O'Brien-María",
]


def test_copy_fields_round_trip() -> None:
    for value in [*ODD_NAMES, "", None, "\\N", "a\\tb"]:
        assert backup_seal.copy_decode(backup_seal.copy_encode(value)) == value
    assert backup_seal.copy_encode("a\tb\\c\nd") == "a\\tb\\\\c\\nd"


def _chunked(stream: io.BytesIO, size: int) -> list[bytes]:
    parts = []
    while part := stream.read(size):
        parts.append(part)
    return parts


def test_a_plain_dump_is_sealed_and_opened_again_byte_for_byte(monkeypatch) -> None:
    keys = {f"w{i}": crypto.generate_data_key() for i in (5, 6)}  # wrapped text -> data key
    monkeypatch.setattr(backup_seal, "get_keys", lambda: SimpleNamespace(master=None))
    monkeypatch.setattr(crypto, "unwrap_data_key", lambda _ring, _version, w: keys[w])
    rows = [
        f"{i}\t{backup_seal.copy_encode(name)}\t{5 if i % 2 else 6}\t\\N\n"
        for i, name in enumerate(ODD_NAMES, start=1)
    ]
    dump = "".join(
        [
            "SET client_encoding = 'UTF8';\n",
            "COPY public.stores (id, name) FROM stdin;\n1\t总店\n\\.\n",
            "COPY public.customers (id, name, data_key_id, legal_representative) FROM stdin;\n",
            *rows,
            "\\.\n",
            "CREATE INDEX x ON public.customers USING btree (name);\n",
        ]
    ).encode()

    def keys_of(ids: list[int]) -> dict:
        return {i: (0, f"w{i}") for i in ids if i in (5, 6)}

    def customer_keys(ids: list[int]) -> dict:
        return {i: 5 if i % 2 else 6 for i in ids}

    reader = backup_seal.SealingReader(io.BytesIO(dump), keys_of, customer_keys)
    sealed = b"".join(_chunked(reader, 7))  # type: ignore[arg-type]
    for name in ODD_NAMES:
        assert backup_seal.copy_encode(name).encode() not in sealed
    assert "1\t总店\n".encode() in sealed  # other tables pass unchanged
    assert sealed.count(backup_seal.SEALED_PREFIX.encode()) == len(ODD_NAMES)
    opened = io.BytesIO()
    writer = backup_seal.UnsealingWriter(opened, keys_of)
    for part in _chunked(io.BytesIO(sealed), 5):
        writer.write(part)
    writer.close()
    assert opened.getvalue() == dump
    # without the key 5 (destroyed): its rows get the tombstone name, key 6's open
    lost = io.BytesIO()
    writer = backup_seal.UnsealingWriter(lost, lambda ids: {i: (0, "w6") for i in ids if i == 6})
    writer.write(sealed)
    writer.close()
    text = lost.getvalue().decode()
    assert text.count(backup_seal.DESTROYED_NAME) == 3
    assert backup_seal.copy_encode(ODD_NAMES[1]) in text


@pytest.fixture
def odd_people(seeded) -> list[int]:  # noqa: F811
    """Customers with names the forms refuse but older data may hold (set directly, as an
    import from an old system would), one with a member account, one an organisation's with
    a legal representative and a contact person."""
    actor = system_actor("test")
    ids = []
    with session_scope() as session:
        for number in range(len(ODD_NAMES)):
            data = CustomerInput(name=f"客户{number}", phone=f"1371234{number:04d}")
            ids.append(customers.create_customer(session, actor=actor, data=data).id)
        bootstrap.create_member_login(
            session, actor=actor, phone="13712340000", password="Correct-horse-42",
            display_name=ODD_NAMES[0], customer_id=ids[0],
        )  # fmt: skip
    with session_scope() as session:
        for customer_id, name in zip(ids, ODD_NAMES, strict=True):
            session.get(Customer, customer_id).name = name
        session.get(Customer, ids[1]).legal_representative = "法人\t代表"
        session.add(CustomerContact(customer_id=ids[1], name="联系人\\甲"))
    return ids


def _names() -> dict:
    with session_scope(write=False) as session:
        return {
            "customers": dict(session.exec(select(Customer.id, Customer.name)).all()),
            "legal": dict(session.exec(select(Customer.id, Customer.legal_representative)).all()),
            "contacts": sorted(session.exec(select(CustomerContact.name)).scalars()),
            "members": dict(
                session.exec(
                    select(User.customer_id, User.display_name).where(User.customer_id.is_not(None))
                ).all()
            ),
        }


def test_a_backup_holds_no_name_and_a_restore_brings_every_name_back(
    odd_people,
    empty_instance,  # noqa: F811
) -> None:
    before = _names()
    info = _backup()
    plain = io.BytesIO()
    with info.path.open("rb") as src:
        backup_format.decrypt_stream(src, plain, backups.backup_key())
    for name in [*before["customers"].values(), "法人\t代表", "联系人\\甲"]:
        assert name.encode() not in plain.getvalue(), name
        assert backup_seal.copy_encode(name).encode() not in plain.getvalue(), name
    empty_instance()
    assert _restore(info.path).ok
    assert _names() == before


def test_a_postgresql_backup_from_before_sealing_still_restores(
    db,
    odd_people,
    empty_instance,  # noqa: F811
    tmp_path,
) -> None:
    """Backups written before names were sealed are `pg_dump -Fc` archives with plain names
    (header without "sealed"): they go through pg_restore as before."""
    if db != "postgresql":
        pytest.skip("the custom-format archive was PostgreSQL's")
    before = _names()
    current = _backup()  # for its manifest and key-store copy
    url = get_settings().database_url
    conninfo, env = backup_backends.libpq(url)
    dump = subprocess.run(
        ["pg_dump", "--format=custom", "--no-owner", "--no-privileges", f"--dbname={conninfo}"],
        capture_output=True, env=env, check=True,
    ).stdout  # fmt: skip
    old = current.path.with_name(current.path.name.replace(".cab", "-old.cab"))
    key = backups.backup_key()
    with old.open("wb") as out:
        header = {"created_at": current.manifest["created_at"], "backend": "postgresql"}
        digest = backup_format.encrypt_stream(io.BytesIO(dump), out, key, header=header)
        manifest = {k: v for k, v in current.manifest.items() if k not in ("sha256", "size")}
        backup_format.append_manifest(out, digest, manifest)
    empty_instance()
    assert _restore(old).ok
    assert _names() == before


def test_sealing_a_copy_larger_than_sqlites_page_cache(tmp_path, monkeypatch) -> None:
    """Regression (1M-customer bench): the customer lookup ran on a second connection, which
    found the file locked once the sealing writer spilled its page cache to disk."""
    keys = {"w1": crypto.generate_data_key()}
    monkeypatch.setattr(backup_seal, "get_keys", lambda: SimpleNamespace(master=None))
    monkeypatch.setattr(crypto, "unwrap_data_key", lambda _ring, _version, w: keys[w])
    path = tmp_path / "copy.db"
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA cache_size = 50")  # a small cache: the spill comes early
    conn.executescript(
        "CREATE TABLE customers (id INTEGER PRIMARY KEY, name TEXT, legal_representative TEXT,"
        " data_key_id INTEGER); CREATE INDEX ix_name ON customers (name);"
    )
    names = {i: f"客户{i:05d}" + "长" * 40 for i in range(1, 6001)}
    conn.executemany("INSERT INTO customers VALUES (?, ?, NULL, 1)", names.items())
    conn.commit()
    conn.close()

    def keys_of(ids: list[int]) -> dict:
        return {i: (0, "w1") for i in ids if i == 1}

    assert backup_seal.seal_sqlite(path, keys_of) == 6000
    raw = path.read_bytes()
    assert names[1].encode() not in raw and names[6000].encode() not in raw
    assert backup_seal.unseal_sqlite(path, keys_of) == 6000
    conn = sqlite3.connect(path)
    assert dict(conn.execute("SELECT id, name FROM customers")) == names
    conn.close()
