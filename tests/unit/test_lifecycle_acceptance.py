"""Issue 16, acceptance 2, end to end on SQLite and PostgreSQL: customer X is in backup B; X is
destroyed with two people; B is restored → nothing of X can be read (no name, no decrypted value,
no blind-index hit), the register is there, money totals of the ledgers are unchanged;
decrypting B offline with the backup key, the master key and a key-store copy made after the
destruction yields no value of X; `audit verify` passes after the restore with its re-anchoring
entry. And every destruction leaves the register in the backup folder, not only every backup."""

from __future__ import annotations

import io
import logging
import shutil
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy import func, select
from sqlalchemy.pool import NullPool

from custapp import clock
from custapp.cli import main
from custapp.db import session_scope
from custapp.models import AuditEntry, Customer, Order, PointsEntry, StoredValueEntry
from custapp.security import crypto, keystore
from custapp.security.keys import master_key_path
from custapp.services import (
    audit,
    backup_backends,
    backup_format,
    backup_seal,
    backups,
    bootstrap,
    consent,
    customer_profile,
    customer_search,
    customers,
    destruction,
    destruction_register,
    destruction_views,
    membership,
    orders,
    points,
    service_log,
)
from custapp.services.actor import Actor, system_actor
from custapp.services.customers import CustomerInput
from custapp.services.destruction_apply import DESTROYED_NAME
from custapp.services.errors import DomainError
from custapp.settings import get_settings
from tests.unit.test_backups import empty_instance  # noqa: F401 (fixture)
from tests.unit.test_destruction import _every_text_in_the_database

PASSWORD = "Correct-horse-42"
X = {
    "name": "欧阳备销",
    "phone": "13912345670",
    "id_number": "11010519491231002X",
    "address": "上海市黄浦区南京东路100号",
    "service": "客户来电咨询年卡续费，欧阳备销本人",
}
Y = {"name": "路人乙", "phone": "13800001111", "service": "路人乙来电询问营业时间"}


def _staff(username: str, role: str) -> Actor:
    with session_scope() as session:
        user_id = bootstrap.create_staff_user(
            session, actor=system_actor("test"), username=username, display_name=username,
            roles=[role], password=PASSWORD,
        )  # fmt: skip
    return Actor(user_id=user_id, name=username, roles=frozenset({role}))


def _call(fn, actor: Actor, **kwargs):  # noqa: ANN001, ANN202
    with session_scope() as session:
        return fn(session, actor=actor, **kwargs)


@pytest.fixture
def people(db) -> dict[str, Actor]:  # noqa: ANN001
    return {
        "desk": _staff("desk.one", "front_desk"),
        "boss": _staff("boss.one", "cs_manager"),
        "comp_a": _staff("comp.a", "compliance"),
        "comp_b": _staff("comp.b", "compliance"),
        "admin": _staff("admin.one", "sysadmin"),
    }


def _card_and_purchases(desk: Actor, cid: int):  # noqa: ANN202 (the card issued)
    card = _call(
        membership.issue_card, desk, customer_id=cid, tier_code="silver", application_signed=True,
        first_topup_fen=20_000, topup_method="wechat", fee_method="cash",
    ).card  # fmt: skip
    _call(
        orders.post_purchase, desk, customer_id=cid, lines=[("洗车", 1, 19_990)],
        payments=[("stored_value", 17_991)], card_number=card.number,
    )  # fmt: skip
    _call(
        orders.post_purchase, desk, customer_id=cid, lines=[("打蜡", 1, 5_000)],
        payments=[("cash", 4_500)], card_number=card.number,
    )  # fmt: skip
    return card


def _customer_x(p: dict[str, Actor]) -> int:
    """X through the services: phone, ID number, address, a card topped up, two purchases that
    earn points, a consent, a service-log entry; then settled (退卡 with the stored value
    refunded, the points adjusted to zero) so nothing blocks the destruction."""
    desk, boss = p["desk"], p["boss"]
    cid = _call(
        customers.create_customer, desk,
        data=CustomerInput(
            name=X["name"], phone=X["phone"], id_number=X["id_number"], address=X["address"]
        ),
    ).id  # fmt: skip
    card = _card_and_purchases(desk, cid)
    _call(service_log.add_entry, desk, customer_id=cid, kind="call", content=X["service"])
    _call(
        consent.record_consents, desk, customer_id=cid, choices={"marketing_sms": "grant"},
        evidence_ref="F-2026-001",
    )  # fmt: skip
    with session_scope() as session:
        earned = points.available(session, cid)
    assert earned > 0  # the purchases earned points
    _call(membership.close_card, boss, card_id=card.id, refund_method="cash", reason="客户退卡")
    _call(points.adjust_points, boss, customer_id=cid, points=-earned, reason="结清积分")
    with session_scope() as session:
        assert destruction.blockers(session, cid) == []
    return cid


def _customer_y(p: dict[str, Actor]) -> int:
    """Y stays a customer: card, stored value and points kept, a service-log entry."""
    cid = _call(
        customers.create_customer, p["desk"], data=CustomerInput(name=Y["name"], phone=Y["phone"])
    ).id
    _card_and_purchases(p["desk"], cid)
    _call(service_log.add_entry, p["desk"], customer_id=cid, kind="call", content=Y["service"])
    return cid


def _ledgers() -> dict[str, tuple[int, int]]:
    """(rows, total) of each ledger over all customers: stored value, points, orders paid."""
    with session_scope(write=False) as session:
        return {
            name: tuple(session.exec(select(func.count(), func.coalesce(func.sum(col), 0))).one())
            for name, col in (
                ("stored_value", StoredValueEntry.amount_fen),
                ("points", PointsEntry.points),
                ("orders_paid", Order.paid_fen),
            )
        }


def _destroy(p: dict[str, Actor], cid: int) -> destruction.Outcome:
    """Proposed and appraised by one compliance officer, approved by another."""
    candidate = _call(
        destruction.propose, p["comp_a"], customer_id=cid, reason_kind="manual",
        note="合同终止，已无保存价值",
    )  # fmt: skip
    appraised = _call(
        destruction.appraise, p["comp_a"], candidate_id=candidate, decision="destroy", note=""
    )
    assert appraised.status == "appraised"
    outcome = _call(destruction.approve, p["comp_b"], candidate_id=candidate)
    assert (outcome.status, outcome.blockers) == ("done", [])
    return outcome


def _search(actor: Actor, query: str) -> list[int]:
    with session_scope() as session:
        found = customer_search.search_customers(session, actor=actor, query=query)
    return [row.id for row in found.rows]


# --- B decrypted offline --------------------------------------------------------------------------


@contextmanager
def _offline(path: Path, key: bytes, folder: Path, keys=None) -> Iterator[sa.Engine]:  # noqa: ANN001
    """B decrypted with its file, the backup key and the data keys `keys` (id -> (version,
    wrapped); none by default): SQLite into a plain file (the names still sealed when no keys
    are given), PostgreSQL through psql into a scratch database (dropped afterwards), its names
    opened with `keys` on the way (no key: the tombstone name)."""
    keys = keys or {}

    def keys_of(ids: list[int]) -> dict:
        return {i: keys[i] for i in ids if i in keys}

    if get_settings().is_sqlite:
        plain = folder / "offline.db"
        with path.open("rb") as src, plain.open("wb") as dst:
            backup_format.decrypt_stream(src, dst, key)
        if keys:
            backup_seal.unseal_sqlite(plain, keys_of)
        engine = sa.create_engine(f"sqlite:///{plain}", poolclass=NullPool)
        try:
            yield engine
        finally:
            engine.dispose()
        return
    with backup_backends.pg_scratch_database(get_settings().database_url) as url:
        backup_backends.load_backup(path, key, url, keys_of=keys_of)
        engine = sa.create_engine(url, poolclass=NullPool)
        try:
            yield engine
        finally:
            engine.dispose()


def _copy_keys(copy: Path, key: bytes) -> dict[int, tuple[int, str]]:
    """The wrapped data keys in a key-store copy: id -> (master version, wrapped)."""
    opened = keystore.read_copy(copy, backup_key=key)
    try:
        conn = sqlite3.connect(opened.snapshot_path)
        rows = conn.execute("SELECT id, master_version, wrapped FROM keys").fetchall()
        conn.close()
    finally:
        shutil.rmtree(opened.snapshot_path.parent, ignore_errors=True)
    return {key_id: (version, wrapped) for key_id, version, wrapped in rows}


def _ciphertexts(conn: sa.Connection, cid: int) -> tuple[int, dict[str, str], dict]:
    """A customer's data key id, every encrypted value of theirs in the copy as {AAD context:
    ciphertext} (the customer's columns and their service log), and the customer's row."""
    row = conn.execute(sa.text("SELECT * FROM customers WHERE id = :id"), {"id": cid}).mappings()
    row = dict(row.one())
    found = {
        f"customer.{column[: -len('_enc')]}": value
        for column, value in row.items()
        if column.endswith("_enc") and value
    }
    logs = conn.execute(
        sa.text("SELECT content_enc FROM service_logs WHERE customer_id = :id"), {"id": cid}
    ).scalars()
    for number, token in enumerate(logs):
        found[f"service_log.content#{number}"] = token
    return row["data_key_id"], found, row


def _opens(data_key: bytes, context: str, token: str) -> str | None:
    try:
        return crypto.decrypt_field(data_key, token, context=context.split("#")[0])
    except Exception:  # noqa: BLE001 - any refusal of the cipher is "does not open"
        return None


def _offline_text(conn: sa.Connection) -> str:
    """Every text value of every table in the offline copy, as one string."""
    parts = []
    for table in sa.inspect(conn).get_table_names():
        for row in conn.execute(sa.text(f'SELECT * FROM "{table}"')):
            parts += [v if isinstance(v, str) else v.decode("utf-8", "replace")
                      for v in row if isinstance(v, str | bytes)]  # fmt: skip
    return "\n".join(parts)


def _check_offline(info: backups.BackupInfo, after: Path, x: int, y: int, folder: Path) -> None:
    key = backups.backup_key()
    ring = crypto.KeyRing.parse(master_key_path().read_text())
    later = _copy_keys(after, key)  # the key-store copy made after the destruction
    earlier = _copy_keys(info.path.parent / info.manifest["keystore_copy"], key)  # B's own
    with _offline(info.path, key, folder) as engine, engine.connect() as conn:
        x_key, x_tokens, x_row = _ciphertexts(conn, x)
        y_key, y_tokens, _ = _ciphertexts(conn, y)
        everything = _offline_text(conn)
    # B holds X, encrypted: every personal number and the service log
    assert x_row["destroyed_at"] is None
    assert {"customer.phone", "customer.id_number", "customer.address"} <= set(x_tokens)
    assert "service_log.content#0" in x_tokens
    for value in (X["phone"], X["id_number"], X["address"], X["service"], Y["phone"]):
        assert value not in everything
    # with B's own key-store copy X still opens (the window until such copies expire) ...
    x_data_key = crypto.unwrap_data_key(ring, *earlier[x_key])
    assert _opens(x_data_key, "customer.phone", x_tokens["customer.phone"]) == X["phone"]
    # ... with the copy made after the destruction, X's key is absent and no key there opens
    # any ciphertext of X
    assert x_key not in later
    opened = [
        context
        for version, wrapped in later.values()
        for context, token in x_tokens.items()
        if _opens(crypto.unwrap_data_key(ring, version, wrapped), context, token) is not None
    ]
    assert opened == []
    # while Y, in the same copy, decrypts with it
    y_data_key = crypto.unwrap_data_key(ring, *later[y_key])
    assert _opens(y_data_key, "customer.phone", y_tokens["customer.phone"]) == Y["phone"]
    content = y_tokens["service_log.content#0"]
    assert _opens(y_data_key, "service_log.content", content) == Y["service"]


# --- acceptance 2 -----------------------------------------------------------------------------------


def test_a_customer_destroyed_after_backup_b_stays_gone_offline_and_after_restoring_b(
    people,
    empty_instance,  # noqa: F811
    tmp_path,
) -> None:
    p = people
    x, y = _customer_x(p), _customer_y(p)
    with session_scope(write=False) as session:
        x_key = session.get(Customer, x).data_key_id
        y_key = session.get(Customer, y).data_key_id
    assert _search(p["desk"], X["phone"]) == [x]
    before = _ledgers()
    assert before["orders_paid"][1] > 0 and before["stored_value"][1] > 0  # Y's balance

    info = backups.create_backup()  # B
    assert info.manifest["register_head"]["count"] == 0
    number = _destroy(p, x).number
    assert keystore.get_many([x_key]) == {}
    assert _ledgers() == before
    after = keystore.write_copy(
        tmp_path / "keystore-after", backup_key=backups.backup_key(), now=clock.now()
    )

    _check_offline(info, after, x, y, tmp_path)

    empty_instance()
    report = backups.restore_backup(
        info.path, keystore_copy=after, approvers=[("admin.one", PASSWORD), ("comp.a", PASSWORD)]
    )
    assert report.ok
    assert (report.register_entries, report.destructions_reapplied) == (1, 1)
    # `audit verify` passes, the newest entries being the restore's: re-applying the register,
    # re-anchoring the chain on B's head, the restore itself
    assert main(["audit", "verify"]) == 0
    with session_scope(write=False) as session:
        assert audit.verify_chain(session).ok
        newest = session.exec(
            select(AuditEntry.seq, AuditEntry.action).order_by(AuditEntry.seq.desc()).limit(3)
        ).all()
    assert [action for _, action in reversed(newest)] == [
        "destruction.reapply",
        "audit.reanchor",
        "backup.restore",
    ]
    assert newest[1][0] == report.reanchor_seq
    assert keystore.get_many([x_key]) == {}
    assert keystore.get_many([y_key])
    # nothing of X can be read: no name, no value, no blind-index hit, the profile refuses
    with session_scope(write=False) as session:
        row = session.get(Customer, x)
        assert (row.name, row.destroyed_at is not None) == (DESTROYED_NAME, True)
        left = {
            c.name
            for c in Customer.__table__.columns
            if c.name.endswith(("_enc", "_bidx")) and getattr(row, c.name) is not None
        }
        assert left == set()
    for query in (X["phone"], X["id_number"], X["name"]):
        assert _search(p["desk"], query) == []
    assert _search(p["desk"], Y["phone"]) == [y]
    with pytest.raises(DomainError) as refused:
        _call(customer_profile.get_profile, p["desk"], customer_id=x)
    assert refused.value.key == "customer.error.destroyed"
    everything = _every_text_in_the_database()
    for value in X.values():
        assert value not in everything, value
    # the register is there, and the queue's history shows the destruction
    [entry] = destruction_register.read()
    assert (entry["candidate"], entry["customer_id"], entry["key_id"]) == (number, x, x_key)
    assert (entry["appraised_by"], entry["approved_by"]) == (
        p["comp_a"].user_id,
        p["comp_b"].user_id,
    )
    rows, total = _call(destruction_views.list_register, p["comp_a"])
    assert total == 1 and rows[0].number == number
    # money adds up as before
    assert _ledgers() == before
    # and the chain still verifies with everything audited since
    with session_scope(write=False) as session:
        assert audit.verify_chain(session).ok
    assert main(["audit", "verify"]) == 0


def test_decrypting_b_offline_yields_not_even_the_name_of_x(people, tmp_path) -> None:
    """The names in a backup are sealed under each customer's own data key: with a key-store
    copy made after X's destruction, B opens Y's name and not X's; the decrypted bytes of B
    hold neither name in plain."""
    x, y = _customer_x(people), _customer_y(people)
    with session_scope() as session:  # Y's member account carries the name too
        bootstrap.create_member_login(
            session, actor=system_actor("test"), phone=Y["phone"], password=PASSWORD,
            display_name=Y["name"], customer_id=y,
        )  # fmt: skip
    info = backups.create_backup()
    _destroy(people, x)
    key = backups.backup_key()
    after = keystore.write_copy(tmp_path / "after", backup_key=key, now=clock.now())
    plain = io.BytesIO()
    with info.path.open("rb") as src:
        backup_format.decrypt_stream(src, plain, key)
    for name in (X["name"], Y["name"]):
        assert name.encode() not in plain.getvalue()
    keys = _copy_keys(after, key)
    with _offline(info.path, key, tmp_path, keys) as engine, engine.connect() as conn:
        everything = _offline_text(conn)
        names = dict(conn.execute(sa.text("SELECT id, name FROM customers")).all())
        shown = conn.execute(
            sa.text("SELECT display_name FROM users WHERE customer_id = :y"), {"y": y}
        ).scalar_one()
    assert X["name"] not in everything
    assert (names[x], names[y], shown) == (DESTROYED_NAME, Y["name"], Y["name"])


# --- the register goes to the backup folder with every destruction ----------------------------


def test_every_destruction_copies_the_register_to_the_backup_folder(people) -> None:
    copy = get_settings().backup_dir / "register" / destruction_register.FILE_NAME
    assert not copy.exists()  # no backup was ever made
    first = _call(
        customers.create_customer,
        people["desk"],
        data=CustomerInput(name="甲", phone="13700000001"),
    ).id
    _destroy(people, first)
    assert destruction_register.read(copy) == destruction_register.read()
    assert [e["customer_id"] for e in destruction_register.read(copy)] == [first]
    assert copy.stat().st_mode & 0o777 == 0o600
    second = _call(
        customers.create_customer,
        people["desk"],
        data=CustomerInput(name="乙", phone="13700000002"),
    ).id
    _destroy(people, second)
    assert [e["customer_id"] for e in destruction_register.read(copy)] == [first, second]
    assert destruction_register.head(copy) == destruction_register.head()


def test_a_register_copy_that_fails_is_logged_and_the_destruction_stands(
    people, tmp_path, monkeypatch, caplog
) -> None:
    blocked = tmp_path / "unmounted-share"
    blocked.write_text("")  # a file where the backup folder should be
    monkeypatch.setenv("CUSTAPP_BACKUP_DIR", str(blocked))
    get_settings.cache_clear()
    cid = _call(
        customers.create_customer,
        people["desk"],
        data=CustomerInput(name="丙", phone="13700000003"),
    ).id
    with caplog.at_level(logging.ERROR, logger="custapp.services.destruction_run"):
        _destroy(people, cid)
    assert "destruction register not copied to the backup folder" in caplog.text
    with session_scope(write=False) as session:
        assert session.get(Customer, cid).destroyed_at is not None
    assert [e["customer_id"] for e in destruction_register.read()] == [cid]
    # the folder back: the next destruction copies the whole register, the earlier line too
    monkeypatch.delenv("CUSTAPP_BACKUP_DIR")
    get_settings.cache_clear()
    other = _call(
        customers.create_customer,
        people["desk"],
        data=CustomerInput(name="丁", phone="13700000004"),
    ).id
    _destroy(people, other)
    copy = get_settings().backup_dir / "register" / destruction_register.FILE_NAME
    assert [e["customer_id"] for e in destruction_register.read(copy)] == [cid, other]
