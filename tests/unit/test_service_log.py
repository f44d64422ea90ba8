"""服务/沟通记录 and 我的待跟进: validation, encryption at rest, follow-up days in the local zone,
own follow-ups only, who may complete one, merged customers."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy import select

from custapp import clock
from custapp.db import get_engine, session_scope
from custapp.models import AuditEntry, Customer, ServiceLog
from custapp.security import keystore
from custapp.security.crypto import DecryptionError
from custapp.services import bootstrap, customers, datakeys, service_log, stores
from custapp.services.actor import Actor, system_actor
from custapp.services.customers import CustomerInput
from custapp.services.errors import DomainError, NotFound, PermissionDenied, ValidationFailed
from custapp.settings import get_settings

CONTENT = "客户来电询问年卡续费优惠，已说明九折方案并约定下周回访确认"
OUTCOME = "客户表示考虑后答复续费意向"
# 23:30 on 2026-03-10 in Shanghai, still 15:30 UTC; an hour later Shanghai is on the 11th while
# the UTC day is still the 10th.
BEFORE_MIDNIGHT = datetime(2026, 3, 10, 15, 30, tzinfo=UTC)
AFTER_MIDNIGHT = datetime(2026, 3, 10, 16, 30, tzinfo=UTC)
MARCH_10, MARCH_11 = date(2026, 3, 10), date(2026, 3, 11)


def _store(code: str) -> int:
    with session_scope() as session:
        return stores.create_store(session, actor=system_actor("test"), code=code, name=code)


def _staff(username: str, role: str, store_id: int | None = None) -> Actor:
    with session_scope() as session:
        user_id = bootstrap.create_staff_user(
            session,
            actor=system_actor("test"),
            username=username,
            display_name=f"{username} 名",
            roles=[role],
            password="Correct-horse-42",
            store_ids=[store_id] if store_id else [],
        )
    return Actor(
        user_id=user_id,
        name=username,
        roles=frozenset({role}),
        store_ids=(store_id,) if store_id else (),
        store_id=store_id,
        display_name=f"{username} 名",
    )


@pytest.fixture
def hq(db) -> int:
    return _store("HQ")


@pytest.fixture
def desk(hq) -> Actor:
    return _staff("desk.one", "front_desk", hq)


@pytest.fixture
def other_desk(hq) -> Actor:
    return _staff("desk.two", "front_desk", hq)


@pytest.fixture
def customer(desk) -> int:
    with session_scope() as session:
        return customers.create_customer(
            session, actor=desk, data=CustomerInput(name="张三", phone="13912345678")
        ).id


def _add(actor: Actor, customer_id: int, **values) -> int:
    values = {"kind": "call", "content": CONTENT, **values}
    with session_scope() as session:
        return service_log.add_entry(session, actor=actor, customer_id=customer_id, **values)


def _list(actor: Actor, customer_id: int, **kw) -> service_log.EntryPage:
    with session_scope() as session:
        return service_log.list_entries(session, actor=actor, customer_id=customer_id, **kw)


def _due(actor: Actor, **kw) -> tuple[list[service_log.FollowUpRow], int]:
    with session_scope() as session:
        return service_log.my_follow_ups(session, actor=actor, **kw)


def _complete(actor: Actor, entry_id: int, outcome: str = "") -> None:
    with session_scope() as session:
        service_log.complete_follow_up(session, actor=actor, entry_id=entry_id, outcome=outcome)


def _errors(actor: Actor, customer_id: int, **values) -> dict[str, str]:
    with pytest.raises(ValidationFailed) as refused:
        _add(actor, customer_id, **values)
    return refused.value.errors


def _count_entries() -> int:
    with session_scope() as session:
        return session.exec(select(sa.func.count(ServiceLog.id))).scalar_one()


def _audit(action: str) -> list[AuditEntry]:
    with session_scope() as session:
        return list(
            session.exec(
                select(AuditEntry).where(AuditEntry.action == action).order_by(AuditEntry.seq)
            ).scalars()
        )


# --- recording and listing --------------------------------------------------------------------


def test_an_entry_is_listed_newest_first_decrypted_with_staff_and_follow_up(desk, customer):
    clock.set_now(BEFORE_MIDNIGHT)
    first = _add(desk, customer, kind="visit", content="上门拜访", outcome=OUTCOME)
    clock.advance(timedelta(minutes=5))
    second = _add(desk, customer, next_follow_up="2026-03-12")
    page = _list(desk, customer)
    assert (page.total, page.customer_id) == (2, customer)
    newest, oldest = page.rows
    assert (newest.id, oldest.id) == (second, first)
    assert (newest.kind, newest.content, newest.outcome) == ("call", CONTENT, "")
    assert (oldest.kind, oldest.content, oldest.outcome) == ("visit", "上门拜访", OUTCOME)
    assert newest.staff_name == "desk.one 名"
    assert (newest.next_follow_up, newest.due, newest.can_complete) == (
        date(2026, 3, 12),
        "upcoming",
        True,
    )
    assert (oldest.next_follow_up, oldest.due, oldest.can_complete) == (None, "", False)
    with session_scope() as session:
        row = session.get(ServiceLog, second)
        assert (row.user_id, row.store_id) == (desk.user_id, desk.store_id)


def test_adding_is_audited_with_field_names_only(desk, customer):
    entry_id = _add(desk, customer, outcome=OUTCOME, next_follow_up=clock.local_today())
    (entry,) = _audit("service_log.add")
    assert (entry.customer_id, entry.actor_id, entry.fields) == (
        customer,
        desk.user_id,
        "content,outcome,next_follow_up",
    )
    assert str(entry_id) in entry.detail
    for value in (entry.detail, entry.reason or "", entry.fields):
        assert CONTENT[:6] not in value and OUTCOME[:6] not in value


def test_list_is_paged_on_the_server(desk, customer):
    clock.set_now(BEFORE_MIDNIGHT)
    for i in range(5):
        _add(desk, customer, content=f"第{i}次沟通")
        clock.advance(timedelta(minutes=1))
    page = _list(desk, customer, page=2, page_size=2)
    assert page.total == 5
    assert [r.content for r in page.rows] == ["第2次沟通", "第1次沟通"]


def test_validation_messages_are_next_to_their_fields_and_nothing_is_saved(desk, customer):
    clock.set_now(BEFORE_MIDNIGHT)
    assert _errors(desk, customer, kind="fax", content="") == {
        "kind": "customer.error.invalid_choice",
        "content": "service_log.error.content_required",
    }
    assert _errors(desk, customer, content="   \n ") == {
        "content": "service_log.error.content_required"
    }
    assert _errors(desk, customer, content="长" * 2001, outcome="果" * 1001) == {
        "content": "service_log.error.content_too_long",
        "outcome": "service_log.error.outcome_too_long",
    }
    for bad in ("2026-02-30", "下周三", "2026-3-1x"):
        assert _errors(desk, customer, next_follow_up=bad) == {
            "next_follow_up": "customer.error.date_format"
        }
    assert _errors(desk, customer, next_follow_up="2026-03-09") == {
        "next_follow_up": "service_log.error.follow_up_past"
    }
    assert _errors(desk, customer, next_follow_up=date(2027, 3, 12)) == {
        "next_follow_up": "service_log.error.follow_up_far"
    }
    assert _count_entries() == 0
    # the longest allowed text, a full-width date (Chinese input methods), a year ahead
    _add(
        desk,
        customer,
        content="长" * 2000,
        outcome="果" * 1000,
        next_follow_up="２０２６/０３/１０",
    )
    _add(desk, customer, next_follow_up=date(2027, 3, 11))
    assert _count_entries() == 2


def test_unknown_and_merged_customers_are_refused(desk, customer):
    with session_scope() as session:
        survivor = customers.create_customer(
            session, actor=desk, data=CustomerInput(name="张三", phone="13912345678")
        ).id
    kept = _add(desk, survivor)
    open_on_merged = _add(desk, customer, next_follow_up=clock.local_today())
    with session_scope() as session:
        session.get(Customer, customer).merged_into_id = survivor
    with pytest.raises(DomainError) as refused:
        _add(desk, customer)
    assert refused.value.key == "customer.error.merged"
    with pytest.raises(DomainError) as refused:
        _complete(desk, open_on_merged)
    assert refused.value.key == "customer.error.merged"
    with pytest.raises(NotFound):
        _add(desk, 999_999)
    # the profile of a merged customer shows the survivor: so does its service log
    page = _list(desk, customer)
    assert (page.customer_id, [r.id for r in page.rows]) == (survivor, [kept])


# --- encryption at rest ---------------------------------------------------------------------


def _dump(*tables: str) -> str:
    values = []
    with get_engine().connect() as conn:
        for table in tables:
            for row in conn.execute(sa.text(f'SELECT * FROM "{table}"')):
                values.extend(str(v) for v in row if v is not None)
    return "\n".join(values)


def test_content_and_outcome_are_encrypted_at_rest(desk, customer, db):
    entry_id = _add(desk, customer, outcome=OUTCOME, next_follow_up=clock.local_today())
    _complete(desk, entry_id, outcome="已回访，客户同意续费")
    dumped = _dump("service_logs", "audit_log", "customer_changes")
    assert dumped.count(":") > 4  # the ciphertexts were read
    for plain in (CONTENT, OUTCOME, "已回访，客户同意续费", CONTENT[:8], OUTCOME[-6:]):
        assert plain not in dumped
    with session_scope() as session:
        row = session.get(ServiceLog, entry_id)
        assert row.content_enc != row.outcome_enc and CONTENT not in row.content_enc
    assert _list(desk, customer).rows[0].outcome == f"{OUTCOME}\n已回访，客户同意续费"
    if db == "sqlite":
        with get_engine().connect() as conn:
            conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
        path = Path(get_settings().database_url.removeprefix("sqlite:///"))
        raw = path.read_bytes()
        assert b"service_logs" in raw
        for plain in (CONTENT, OUTCOME):
            for encoding in ("utf-8", "utf-16-le"):
                assert plain[:8].encode(encoding) not in raw


def test_content_is_bound_to_its_context_and_customer_key(desk, customer):
    with session_scope() as session:
        other_key = customers.create_customer(
            session, actor=desk, data=CustomerInput(name="李四", phone="13687654321")
        )
        other_key = session.get(Customer, other_key.id).data_key_id
    entry_id = _add(desk, customer, outcome=OUTCOME)
    with session_scope() as session:
        row = session.get(ServiceLog, entry_id)
        key_id = session.get(Customer, customer).data_key_id
        content = service_log.CONTENT_CONTEXT
        assert datakeys.decrypt(session, key_id, row.content_enc, context=content) == CONTENT
        with pytest.raises(DecryptionError):  # the content does not open as an outcome
            datakeys.decrypt(session, key_id, row.content_enc, context=service_log.OUTCOME_CONTEXT)
        with pytest.raises(DecryptionError):  # nor under another customer's key
            datakeys.decrypt(session, other_key, row.content_enc, context=content)


def test_a_destroyed_data_key_leaves_empty_text_not_an_error(desk, customer):
    _add(desk, customer, next_follow_up=clock.local_today())
    with session_scope() as session:
        key_id = session.get(Customer, customer).data_key_id
    keystore.destroy([key_id])
    assert _list(desk, customer).rows[0].content == ""
    rows, total = _due(desk)
    assert (total, rows[0].summary) == (1, "")


# --- follow-ups -----------------------------------------------------------------------------


def test_follow_ups_fall_due_at_local_midnight_not_utc(desk, customer):
    clock.set_now(BEFORE_MIDNIGHT)
    today = _add(desk, customer, content="今天要回电", next_follow_up=MARCH_10)
    tomorrow = _add(desk, customer, content="明天要回电", next_follow_up=MARCH_11)
    rows, total = _due(desk)
    assert (total, [(r.id, r.overdue_days) for r in rows]) == (1, [(today, 0)])
    rows, total = _due(desk, include_upcoming_days=1)
    assert [(r.id, r.overdue_days) for r in rows] == [(today, 0), (tomorrow, -1)]

    clock.set_now(AFTER_MIDNIGHT)  # the UTC day is still the 10th
    rows, total = _due(desk)
    assert (total, [(r.id, r.overdue_days) for r in rows]) == (2, [(today, 1), (tomorrow, 0)])
    due = {r.id: (r.due, r.overdue_days) for r in _list(desk, customer).rows}
    assert due == {today: ("overdue", 1), tomorrow: ("due", 0)}
    # and the 10th is in the past now, though still today in UTC
    assert _errors(desk, customer, next_follow_up=MARCH_10) == {
        "next_follow_up": "service_log.error.follow_up_past"
    }


def test_follow_ups_list_the_actors_own_open_ones_oldest_first_with_customer(
    desk, other_desk, customer
):
    clock.set_now(AFTER_MIDNIGHT)
    mine_late = _add(desk, customer, content="甲" * 50, next_follow_up=MARCH_11)
    clock.set_now(BEFORE_MIDNIGHT - timedelta(days=3))
    mine_early = _add(desk, customer, content="较早的跟进", next_follow_up=date(2026, 3, 8))
    _add(desk, customer, content="不需要跟进")
    theirs = _add(other_desk, customer, next_follow_up=date(2026, 3, 8))
    clock.set_now(AFTER_MIDNIGHT)
    rows, total = _due(desk)
    assert (total, [r.id for r in rows]) == (2, [mine_early, mine_late])
    first = rows[0]
    with session_scope() as session:
        number = session.get(Customer, customer).number
    assert (first.customer_id, first.customer_number, first.customer_name, first.kind) == (
        customer,
        number,
        "张三",
        "call",
    )
    assert (first.summary, first.overdue_days, first.next_follow_up) == (
        "较早的跟进",
        3,
        date(2026, 3, 8),
    )
    assert rows[1].summary == "甲" * 40 + "…"
    assert [r.id for r in _due(other_desk)[0]] == [theirs]
    rows, total = _due(desk, page=2, page_size=1)
    assert (total, [r.id for r in rows]) == (2, [mine_late])
    assert _audit("service_log.follow_ups")[-1].actor_id == desk.user_id

    _complete(desk, mine_early)
    assert [r.id for r in _due(desk)[0]] == [mine_late]
    _complete(desk, mine_late, outcome="已回电")
    assert _due(desk) == ([], 0)
    assert [e.detail for e in _audit("service_log.complete")] == [
        f'{{"entry_id": {mine_early}}}',
        f'{{"entry_id": {mine_late}}}',
    ]
    assert _audit("service_log.complete")[-1].fields == "outcome"


def test_completing_someone_elses_follow_up_is_refused_and_audited(desk, other_desk, customer):
    entry_id = _add(desk, customer, next_follow_up=clock.local_today())
    with pytest.raises(PermissionDenied) as refused:
        _complete(other_desk, entry_id)
    assert refused.value.key == "service_log.error.not_own"
    (denial,) = [e for e in _audit("service_log.complete_follow_up") if e.outcome == "denied"]
    assert (denial.actor_id, denial.customer_id, denial.target_id) == (
        other_desk.user_id,
        customer,
        str(entry_id),
    )
    rows = _list(other_desk, customer).rows
    assert (rows[0].due, rows[0].can_complete) == ("due", False)
    assert [r.id for r in _due(desk)[0]] == [entry_id]  # still open


def test_a_cs_manager_completes_follow_ups_of_their_store_only(desk, customer):
    clock.set_now(BEFORE_MIDNIGHT)
    hq = desk.store_id
    branch = _store("BRANCH")
    manager = _staff("cs.manager", "cs_manager", hq)
    elsewhere = _staff("cs.other", "cs_manager", branch)
    compliance = _staff("comp.one", "compliance")
    entry_id = _add(desk, customer, next_follow_up=clock.local_today())
    assert _list(manager, customer).rows[0].can_complete
    assert not _list(elsewhere, customer).rows[0].can_complete
    assert not _list(compliance, customer).rows[0].can_complete  # reads, never writes
    with pytest.raises(PermissionDenied):
        _complete(elsewhere, entry_id)
    with pytest.raises(PermissionDenied):
        _complete(compliance, entry_id)
    _complete(manager, entry_id, outcome="经理代为回访")
    (row,) = _list(desk, customer).rows
    assert (row.due, row.done_at, row.outcome) == ("", clock.now(), "经理代为回访")


def test_completing_needs_an_open_follow_up_and_keeps_the_outcome_short(desk, customer):
    without = _add(desk, customer)
    with pytest.raises(DomainError) as refused:
        _complete(desk, without)
    assert refused.value.key == "service_log.error.no_follow_up"
    entry_id = _add(desk, customer, outcome="果" * 990, next_follow_up=clock.local_today())
    with pytest.raises(ValidationFailed) as invalid:
        _complete(desk, entry_id, outcome="再补充十个字以上的结果")
    assert invalid.value.errors == {"outcome": "service_log.error.outcome_too_long"}
    _complete(desk, entry_id, outcome="好")
    with pytest.raises(DomainError) as refused:
        _complete(desk, entry_id)
    assert refused.value.key == "service_log.error.already_done"
    with pytest.raises(NotFound):
        _complete(desk, 999_999)
