"""The shapes that keep the archive fast at a million customers (issue 3): capped counts, the
indexes of migration 0004 on each backend, name search through the letter-pair index, and the
audit head checkpoint written in place. Behaviour only: timings are bench/archive.py's."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select, text

from custapp import clock
from custapp.db import get_engine, session_scope
from custapp.models import AuditEntry, Customer, CustomerTag, User, UserRole
from custapp.services import audit, customer_search, datakeys
from custapp.services.actor import Actor
from custapp.services.customer_search import CustomerFilter, CustomerPage, search_customers
from custapp.settings import get_settings

T0 = datetime(2026, 3, 1, 2, 0, tzinfo=UTC)


@pytest.fixture
def desk(db) -> Actor:
    clock.set_now(T0)
    with session_scope() as session:
        user = User(username="desk", display_name="desk", created_at=T0, updated_at=T0)
        session.add(user)
        session.flush()
        session.add(UserRole(user_id=user.id, role="front_desk", granted_at=T0))
    return Actor(user_id=user.id, name="desk", roles=frozenset({"front_desk"}))


def _customers(*names: str, tag: str | None = None, **values) -> None:
    with session_scope() as session:
        for i, name in enumerate(names):
            customer = Customer(
                number=f"C2026{abs(hash((name, i))) % 10_000_000:07d}",
                name=name,
                data_key_id=datakeys.create_data_key(session).id,
                created_at=T0,
                updated_at=T0,
                **values,
            )
            session.add(customer)
            session.flush()
            if tag:
                session.add(CustomerTag(customer_id=customer.id, tag=tag))


def _search(actor: Actor, query: str = "", **kwargs) -> CustomerPage:
    with session_scope() as session:
        return search_customers(session, actor=actor, query=query, **kwargs)


def _index_names(table: str) -> set[str]:
    with get_engine().connect() as conn:
        if conn.dialect.name == "postgresql":
            sql = "SELECT indexname FROM pg_indexes WHERE tablename = :t"
            return set(conn.execute(text(sql), {"t": table}).scalars())
        return {row[1] for row in conn.exec_driver_sql(f"PRAGMA index_list({table})")}


# --- capped counts ----------------------------------------------------------------------------


def test_a_count_stops_one_past_the_cap_and_says_so(desk, monkeypatch):
    monkeypatch.setattr(customer_search, "COUNT_CAP", 3)
    _customers("张一", "张二", "张三", "张四", "张五", "李一")
    result = _search(desk, "张", page_size=2)
    assert len(result.rows) == 2
    assert (result.total, result.total_capped) == (4, True)  # "3+", not 5
    rows, total = result  # still unpacks as (rows, total)
    assert total == 4
    assert _search(desk, "张", page=3, page_size=2).rows[0].name  # later pages still load


def test_a_count_under_the_cap_is_exact(desk, monkeypatch):
    monkeypatch.setattr(customer_search, "COUNT_CAP", 3)
    _customers("王一", "王二", "王三", "李一")
    result = _search(desk, "王", page_size=2)
    assert (result.total, result.total_capped) == (3, False)
    result = _search(desk, "李")
    assert (result.total, result.total_capped) == (1, False)
    assert _search(desk, "赵").total == 0


def test_filtered_lists_cap_their_count_too(desk, monkeypatch):
    monkeypatch.setattr(customer_search, "COUNT_CAP", 2)
    _customers("甲", "乙", "丙", "丁", tag="老客户", nature="supplier")
    _customers("戊", tag="老客户")
    filters = CustomerFilter(nature="supplier", tag="老客户")
    result = _search(desk, filters=filters, page_size=1)
    assert (len(result.rows), result.total, result.total_capped) == (1, 3, True)
    result = _search(desk, filters=CustomerFilter(nature="individual", tag="老客户"))
    assert ([r.name for r in result.rows], result.total_capped) == (["戊"], False)


def test_the_audit_entry_holds_the_capped_count(desk, monkeypatch):
    monkeypatch.setattr(customer_search, "COUNT_CAP", 1)
    _customers("周一", "周二", "周三")
    _search(desk, "周", page_size=1)
    with session_scope() as session:
        entry = session.exec(
            select(AuditEntry).where(AuditEntry.action == "customer.search")
        ).scalar_one()
    assert json.loads(entry.detail)["hits"] == 2


# --- indexes (migration 0004) -----------------------------------------------------------------


def test_recent_misses_are_counted_from_one_index(db):
    assert "ix_audit_log_actor_action_time" in _index_names("audit_log")


def test_postgresql_indexes_letters_and_letter_pairs_of_names(db):
    if db != "postgresql":
        assert "ix_customers_name_grams" not in _index_names("customers")
        return
    assert "ix_customers_name_grams" in _index_names("customers")
    with session_scope(write=False) as session:
        grams = session.execute(text("SELECT custapp_name_grams('王小Ab')")).scalar_one()
        assert sorted(grams) == sorted(["王", "小", "a", "b", "王小", "小a", "ab"])
        session.execute(text("SET LOCAL enable_seqscan = off"))
        plan = "\n".join(
            session.execute(
                text(
                    "EXPLAIN SELECT id FROM customers WHERE name ILIKE '%小明%' "
                    "AND custapp_name_grams(name) @> custapp_name_grams('小明')"
                )
            ).scalars()
        )
    assert "ix_customers_name_grams" in plan


def test_short_and_long_name_terms_find_substrings_in_any_case(desk):
    _customers("王小明", "小明", "欧阳小明子", "小王明", "ACME 科技", "Acme Ltd", "明")
    assert sorted(r.name for r in _search(desk, "小明").rows) == ["小明", "欧阳小明子", "王小明"]
    assert sorted(r.name for r in _search(desk, "acme").rows) == ["ACME 科技", "Acme Ltd"]
    assert sorted(r.name for r in _search(desk, "me 科").rows) == ["ACME 科技"]
    assert len(_search(desk, "明").rows) == 5
    assert _search(desk, "明小").total == 0


# --- the head checkpoint, written in place ----------------------------------------------------


def _write(count: int) -> None:
    for n in range(count):
        with session_scope() as session:
            audit.record(session, actor=None, action="test.event", reason=f"entry {n}")


def _verify() -> audit.VerifyResult:
    with session_scope(write=False) as session:
        return audit.verify_chain(session)


def test_the_checkpoint_follows_every_commit_and_never_a_rollback(db):
    _write(3)
    assert audit.read_checkpoint()["seq"] == 3
    with pytest.raises(RuntimeError), session_scope() as session:
        audit.record(session, actor=None, action="test.event")
        raise RuntimeError("rolled back")
    assert audit.read_checkpoint()["seq"] == 3
    assert _verify().ok


def test_a_spoiled_slot_falls_back_to_the_previous_head(db):
    _write(4)
    path = get_settings().audit_checkpoint
    with open(path, "r+b") as f:  # a crash tore the write of entry 4 (slot 4 % 2 == 0)
        f.write(b"\0" * 100)
    assert audit.read_checkpoint()["seq"] == 3
    assert _verify().ok
    _write(1)
    assert audit.read_checkpoint()["seq"] == 5
    with session_scope() as session:
        session.exec(text("DELETE FROM audit_log WHERE seq = 5"))
    result = _verify()
    assert (result.ok, result.problem, result.bad_seq) == (False, "audit.verify.truncated", 5)


def test_an_older_single_record_checkpoint_is_read_and_advanced(db):
    _write(2)
    with session_scope(write=False) as session:
        mac = session.exec(select(AuditEntry.mac).where(AuditEntry.seq == 2)).scalar_one()
    path = get_settings().audit_checkpoint
    path.write_text(json.dumps({"seq": 2, "mac": mac, "check": audit._checkpoint_mac(2, mac)}))
    assert audit.read_checkpoint()["seq"] == 2
    assert _verify().ok
    _write(1)
    assert audit.read_checkpoint()["seq"] == 3
    assert _verify().ok


def test_a_removed_checkpoint_is_written_again_and_a_stale_one_never_wins(db):
    _write(2)
    get_settings().audit_checkpoint.unlink()
    _write(1)
    assert audit.read_checkpoint()["seq"] == 3
    audit.write_checkpoint(1, "0" * 64)  # a slow worker's older head
    assert audit.read_checkpoint()["seq"] == 3
    assert _verify().ok
    with session_scope(write=False) as session:
        assert session.exec(select(func.count(AuditEntry.id))).scalar_one() == 3


# --- the list's filters and its rows (migration 0005) -----------------------------------------


def test_a_filtered_page_reads_one_index_range_in_order(desk):
    """nature + tag, newest first: the (nature, created_at, id) index, no sort of the matches,
    and the tag checked row by row (SQLite's plan; PostgreSQL chooses by its statistics)."""
    _customers("甲", "乙", tag="团购", nature="supplier")
    assert {f"ix_customers_{c}_created" for c in ("nature", "lifecycle", "value_class")} <= (
        _index_names("customers")
    )
    if get_settings().is_sqlite:
        page, _count = customer_search._statements("filter", ("nature", "tag"), False, "-created")
        engine = get_engine()
        compiled = page.compile(dialect=engine.dialect)
        values = {**compiled.params, "f_nature": "supplier", "f_tag": "团购"}
        values.update(offset=0, limit=50)
        args = tuple(values[name] for name in compiled.positiontup)
        with engine.connect() as conn:
            rows = conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {compiled}", args)
            plan = " | ".join(row[-1] for row in rows)
        assert "ix_customers_nature_created" in plan
        assert "TEMP B-TREE" not in plan  # no sort, no materialised list of the tag's customers
    result = _search(desk, filters=CustomerFilter(nature="supplier", tag="团购"))
    assert [r.name for r in result.rows] == ["乙", "甲"]


def test_a_row_whose_data_key_is_destroyed_lists_without_its_phone(desk):
    from custapp.security import keystore
    from custapp.services import customers as customer_service
    from custapp.services.customer_input import CustomerInput

    with session_scope() as session:
        for name, phone in (("留存", "13912345678"), ("销毁", "13912345679")):
            customer_service.create_customer(
                session, actor=desk, data=CustomerInput(name=name, phone=phone)
            )
    with session_scope() as session:
        gone = session.exec(select(Customer).where(Customer.name == "销毁")).scalar_one()
    keystore.destroy([gone.data_key_id])
    rows = {r.name: r.phone_masked for r in _search(desk, "").rows}
    assert rows == {"留存": "139****5678", "销毁": ""}
