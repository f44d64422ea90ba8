"""Customer search: one box (number, phone, ID number, name), filters, sorting, paging, the
audited keyed hash of the term, the alert on a run of misses, and the duplicate review list."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import func, select

from custapp import clock
from custapp.db import session_scope
from custapp.models import (
    AuditEntry,
    Customer,
    CustomerContact,
    CustomerTag,
    OutboxMessage,
    Store,
    User,
    UserRole,
)
from custapp.security import crypto
from custapp.security.keys import get_keys
from custapp.security.validators import make_cn_id
from custapp.services import customer_fields, datakeys
from custapp.services.actor import Actor
from custapp.services.customer_search import (
    CustomerFilter,
    classify_query,
    duplicate_groups,
    list_tags,
    search_customers,
    search_term_hash,
)
from custapp.services.customers import CONTACT_PHONE_CONTEXT

T0 = datetime(2026, 3, 1, 2, 0, tzinfo=UTC)
PHONE = "13800138000"
ID_NUMBER = make_cn_id("110105", date(1988, 7, 14), 123)
_seq = iter(range(1, 10_000))


def _user(session, username: str, role: str) -> int:
    now = clock.now()
    user = User(username=username, display_name=username, created_at=now, updated_at=now)
    session.add(user)
    session.flush()
    session.add(UserRole(user_id=user.id, role=role, granted_at=now))
    session.flush()
    return user.id


def _customer(session, name: str, *, tags=(), contacts=(), **values) -> Customer:
    """A customer through the encryption path; sensitive fields by name, columns as given."""
    sensitive = {f: values.pop(f) for f in list(values) if f in customer_fields.FIELDS and
                 customer_fields.FIELDS[f].encrypted}  # fmt: skip
    created = values.pop("created_at", clock.now())
    customer = Customer(
        number=values.pop("number", f"C2026{next(_seq):07d}"),
        name=name,
        data_key_id=datakeys.create_data_key(session).id,
        created_at=created,
        updated_at=created,
        **values,
    )
    for field, value in sensitive.items():
        customer_fields.write(session, customer, field, value)
    session.add(customer)
    session.flush()
    for tag in tags:
        session.add(CustomerTag(customer_id=customer.id, tag=tag))
    for contact_name, phone in contacts:
        session.add(
            CustomerContact(
                customer_id=customer.id,
                name=contact_name,
                phone_enc=datakeys.encrypt(
                    session, customer.data_key_id, phone, context=CONTACT_PHONE_CONTEXT
                ),
                phone_bidx=customer_fields.blind_index("phone", phone),
            )
        )
    session.flush()
    return customer


@pytest.fixture
def desk(db) -> Actor:
    clock.set_now(T0)
    with session_scope() as session:
        user_id = _user(session, "desk", "front_desk")
    return Actor(user_id=user_id, name="desk", roles=frozenset({"front_desk"}))


def _search(actor: Actor, query: str = "", **kwargs):
    filters = kwargs.pop("filters", CustomerFilter())
    with session_scope() as session:
        rows, total = search_customers(session, actor=actor, query=query, filters=filters, **kwargs)
    return [row.name for row in rows], total, rows


# --- the one box ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("query", "mode"),
    [
        ("", "filter"),
        ("   ", "filter"),
        ("C20260000001", "number"),
        ("c20260000001", "number"),
        ("138 0013 8000", "phone"),
        ("+86 138-0013-8000", "phone"),
        ("１３８００１３８０００", "phone"),  # full-width digits from a Chinese input method
        (ID_NUMBER.lower(), "id"),
        ("E12345678", "id"),
        ("1380013800", "id"),  # ten digits: not a phone, still worth an exact try
        ("张三", "name"),
        ("Acme 1", "name"),
    ],
)
def test_the_box_tells_what_was_typed(query, mode):
    assert classify_query(query)[0] == mode


def test_phone_finds_either_column_and_organisation_contacts(desk):
    with session_scope() as session:
        _customer(session, "甲", phone=PHONE)
        _customer(session, "乙", phone="13900000000", phone2=PHONE)
        _customer(
            session,
            "丙公司",
            kind="organisation",
            nature="enterprise",
            phone="13700000000",
            contacts=[("联系人", PHONE)],
        )
        _customer(session, "丁", phone="13600000000")
    for typed in (PHONE, "138 0013 8000", "+86 13800138000"):
        names, total, _ = _search(desk, typed)
        assert (sorted(names), total) == (["丙公司", "乙", "甲"], 3)
    names, _, rows = _search(desk, "13600000000")
    assert names == ["丁"]
    assert rows[0].phone_masked == "136****0000"


def test_id_number_is_exact_whatever_the_case_and_credit_codes_too(desk):
    with session_scope() as session:
        _customer(session, "甲", id_number=ID_NUMBER, phone=PHONE)
        _customer(session, "乙", id_type="passport", id_number="E12345678")
        _customer(
            session, "丙公司", kind="organisation", nature="enterprise", uscc="91110105MA01ABCD1X"
        )
    assert _search(desk, ID_NUMBER.lower())[:2] == (["甲"], 1)
    assert _search(desk, f" {ID_NUMBER[:6]} {ID_NUMBER[6:]} ")[:2] == (["甲"], 1)
    assert _search(desk, "e12345678")[:2] == (["乙"], 1)
    assert _search(desk, "91110105ma01abcd1x")[:2] == (["丙公司"], 1)
    assert _search(desk, ID_NUMBER[:-1])[:2] == ([], 0)  # a partial number is no match


def test_customer_number_is_exact_and_a_merged_number_leads_to_the_survivor(desk):
    with session_scope() as session:
        survivor = _customer(session, "留存", number="C20260000010")
        merged = _customer(session, "被合并", number="C20250000003")
        merged.merged_into_id = survivor.id
        _customer(session, "别人", number="C20260000011")
    assert _search(desk, "C20260000010")[:2] == (["留存"], 1)
    assert _search(desk, "c20250000003")[:2] == (["留存"], 1)
    both = _search(desk, "C20250000003", filters=CustomerFilter(include_merged=True), sort="number")
    assert both[:2] == (["被合并", "留存"], 2)
    assert [row.merged_into_id for row in both[2]] == [survivor.id, None]
    assert _search(desk, "C20260000099")[:2] == ([], 0)


def test_name_is_a_substring_and_wildcards_are_plain_characters(desk):
    with session_scope() as session:
        for name in ("张三", "李张", "100%纯", "a_b", "axb", "Acme Ltd"):
            _customer(session, name)
    assert sorted(_search(desk, "张")[0]) == ["张三", "李张"]
    assert _search(desk, "%")[0] == ["100%纯"]
    assert _search(desk, "_")[0] == ["a_b"]
    assert _search(desk, "acme")[0] == ["Acme Ltd"]
    assert _search(desk, "王")[:2] == ([], 0)


# --- filters, sorting, paging -----------------------------------------------------------------


def test_filters_combine_with_the_box_and_merged_customers_stay_out(desk):
    with session_scope() as session:
        store = Store(code="HQ", name="总店", created_at=clock.now())
        session.add(store)
        session.flush()
        owner = _user(session, "owner", "front_desk")
        first = _customer(session, "甲一", lifecycle="old", grade="A", tags=["老客户", "素食"])
        _customer(session, "甲二", lifecycle="new", grade="C", grade_override="A")
        _customer(session, "甲三", lifecycle="old", grade="B", grade_override="D")
        _customer(session, "乙一", nature="enterprise", kind="organisation", value_class="key")
        _customer(session, "乙二", owner_id=owner, store_id=store.id, tags=["老客户"])
        gone = _customer(session, "甲四", grade="A")
        gone.merged_into_id = first.id
        store_id = store.id

    def names(**f):
        return sorted(_search(desk, filters=CustomerFilter(**f))[0])

    assert names() == ["乙一", "乙二", "甲一", "甲三", "甲二"]
    assert names(include_merged=True) == ["乙一", "乙二", "甲一", "甲三", "甲二", "甲四"]
    assert names(grade="A") == ["甲一", "甲二"]  # the override decides
    assert names(grade="D") == ["甲三"]
    assert names(lifecycle="old") == ["甲一", "甲三"]
    assert names(nature="enterprise") == ["乙一"]
    assert names(value_class="key") == ["乙一"]
    assert names(tag="老客户") == ["乙二", "甲一"]
    assert names(owner_id=owner) == ["乙二"]
    assert names(store_id=store_id) == ["乙二"]
    assert names(tag="老客户", lifecycle="old") == ["甲一"]
    assert sorted(_search(desk, "甲", filters=CustomerFilter(grade="A"))[0]) == ["甲一", "甲二"]
    rows = _search(desk, "甲二")[2]
    assert (rows[0].grade, rows[0].tags) == ("A", [])
    assert _search(desk, "甲一")[2][0].tags == ["素食", "老客户"]
    with session_scope() as session:
        assert list_tags(session, actor=desk) == ["素食", "老客户"]


def test_sorting_and_paging_with_a_separate_count(desk):
    with session_scope() as session:
        for i in range(25):
            _customer(
                session,
                f"客户{i:02d}",
                number=f"C2026{i + 1:07d}",
                created_at=T0 - timedelta(days=i),
                last_purchase_at=T0 - timedelta(days=3 * i) if i % 2 else None,
            )
    first, total, _ = _search(desk, page_size=10)
    assert (total, first[:3]) == (25, ["客户00", "客户01", "客户02"])
    third, total, _ = _search(desk, page=3, page_size=10)
    assert (total, third) == (25, [f"客户{i}" for i in range(20, 25)])
    assert _search(desk, sort="created", page_size=3)[0] == ["客户24", "客户23", "客户22"]
    assert _search(desk, sort="number", page_size=2)[0] == ["客户00", "客户01"]
    assert _search(desk, sort="-number", page_size=2)[0] == ["客户24", "客户23"]
    recent = _search(desk, sort="-last_purchase", page_size=25)[0]
    assert recent[:2] == ["客户01", "客户03"] and recent[-1] in {
        f"客户{i:02d}" for i in range(0, 25, 2)
    }
    oldest = _search(desk, sort="last_purchase", page_size=25)[0]
    assert oldest[:2] == ["客户23", "客户21"]  # never-purchased come last either way
    assert set(oldest[12:]) == {f"客户{i:02d}" for i in range(0, 25, 2)}
    assert _search(desk, page=99)[:2] == ([], 25)
    with pytest.raises(ValueError):
        _search(desk, sort="name")


def test_page_size_is_capped_at_100(desk):
    with session_scope() as session:
        for i in range(105):
            _customer(session, f"客户{i}")
    names, total, _ = _search(desk, page_size=1000)
    assert (len(names), total) == (100, 105)


# --- audit and the miss alert -----------------------------------------------------------------


def _audit_text(session) -> str:
    rows = session.exec(select(AuditEntry)).scalars().all()
    return "\n".join(
        str(value) for row in rows for value in row.model_dump().values() if value is not None
    )


def test_every_search_is_audited_with_a_keyed_hash_never_the_term(desk):
    with session_scope() as session:
        _customer(session, "欧阳靖雯", phone=PHONE, id_number=ID_NUMBER)
    _search(desk, "138 0013 8000")
    _search(desk, ID_NUMBER)
    _search(desk, "靖雯")
    _search(desk, "无此人")
    _search(desk, filters=CustomerFilter(grade="A"))
    with session_scope() as session:
        entries = (
            session.exec(
                select(AuditEntry)
                .where(AuditEntry.action == "customer.search")
                .order_by(AuditEntry.seq)
            )
            .scalars()
            .all()
        )
        text = _audit_text(session)
    details = [json.loads(e.detail) for e in entries]
    assert [(d["mode"], d["hits"], e.outcome) for d, e in zip(details, entries, strict=True)] == [
        ("phone", 1, "ok"),
        ("id", 1, "ok"),
        ("name", 1, "ok"),
        ("name", 0, "miss"),
        ("filter", 0, "ok"),  # an empty box never counts as a miss
    ]
    audit_key = get_keys().audit
    assert details[0]["term"] == crypto.keyed_hash(audit_key, PHONE) == search_term_hash(PHONE)
    assert details[1]["term"] == crypto.keyed_hash(audit_key, ID_NUMBER)
    assert "term" not in details[4]
    for secret in (PHONE, ID_NUMBER, "靖雯", "无此人"):
        assert secret not in text


def _alerts(session) -> int:
    return session.exec(
        select(func.count(OutboxMessage.id)).where(OutboxMessage.purpose == "staff_alert")
    ).scalar_one()


def test_more_than_30_misses_in_10_minutes_alert_cs_manager_once(desk):
    with session_scope() as session:
        manager = _user(session, "manager", "cs_manager")
        _customer(session, "张三", phone=PHONE)
    for _ in range(40):  # hits never count
        _search(desk, "张三")
    for i in range(30):
        _search(desk, f"无此人{i}")
        clock.advance(timedelta(seconds=5))
    with session_scope() as session:
        assert _alerts(session) == 0
    _search(desk, "无此人31")
    with session_scope() as session:
        message = session.exec(select(OutboxMessage)).scalar_one()
        assert (message.user_id, message.channel) == (manager, "in_app")
    for i in range(10):
        _search(desk, f"还是没有{i}")
    with session_scope() as session:
        assert _alerts(session) == 1
        alert = session.exec(
            select(AuditEntry).where(AuditEntry.action == "customer.search_alert")
        ).scalar_one()
        assert (alert.actor_id, alert.target_id) == (desk.user_id, str(desk.user_id))
    # ten minutes after the alert the old misses have left the window: a new run alerts again
    clock.advance(timedelta(minutes=10, seconds=1))
    for i in range(30):
        _search(desk, f"新一轮{i}")
    with session_scope() as session:
        assert _alerts(session) == 1
    _search(desk, "新一轮31")
    with session_scope() as session:
        assert _alerts(session) == 2


def test_misses_are_counted_per_user(desk):
    with session_scope() as session:
        _user(session, "manager", "cs_manager")
        other_id = _user(session, "desk2", "front_desk")
    other = Actor(user_id=other_id, name="desk2", roles=frozenset({"front_desk"}))
    for i in range(20):
        _search(desk, f"无此人{i}")
        _search(other, f"无此人{i}")
    with session_scope() as session:
        assert _alerts(session) == 0


# --- duplicate review list --------------------------------------------------------------------


def test_duplicate_groups_by_phone_id_number_and_name_with_birth_date(desk):
    with session_scope() as session:
        a = _customer(session, "张三", phone=PHONE, id_number=ID_NUMBER)
        b = _customer(session, "张三", phone=PHONE)
        c = _customer(session, "张三丰", id_number=ID_NUMBER)
        d = _customer(session, "李四", name_birth_bidx="nb-1")
        e = _customer(session, "李四", name_birth_bidx="nb-1")
        _customer(session, "王五", phone="13900000000", name_birth_bidx="nb-2")
        merged = _customer(session, "王五", phone="13900000000", name_birth_bidx="nb-2")
        merged.merged_into_id = a.id
        ids = {x.name + str(i): x.id for i, x in enumerate((a, b, c, d, e))}
    with session_scope() as session:
        groups, total = duplicate_groups(session, actor=desk, page=1, page_size=20)
    assert total == 3
    found = {(g.reason, tuple(m.id for m in g.members)) for g in groups}
    assert found == {
        ("customer.dup.phone", (ids["张三0"], ids["张三1"])),
        ("customer.dup.id_number", (ids["张三0"], ids["张三丰2"])),
        ("customer.dup.name_birth", (ids["李四3"], ids["李四4"])),
    }
    # newest group first: 李四 (e) is the latest customer of any group
    assert groups[0].reason == "customer.dup.name_birth"
    assert groups[0].members[1].number and groups[0].members[1].name == "李四"
    with session_scope() as session:
        page2, total = duplicate_groups(session, actor=desk, page=2, page_size=2)
    assert (len(page2), total) == (1, 3)
