"""Demo customers: valid, encrypted, numbered by creation year, deterministic, and numbered so
that customers created afterwards never collide; plus `custapp seed-demo --customers N`."""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from datetime import UTC, date, datetime

import pytest
from sqlalchemy import func, select

from custapp import cli, clock
from custapp.db import session_scope
from custapp.demo import accounts as demo_accounts
from custapp.demo import customers as demo_customers
from custapp.models import (
    AuditEntry,
    Customer,
    CustomerContact,
    CustomerSequence,
    CustomerTag,
    DataKey,
    Order,
    OrderLine,
    OrderPayment,
    ServiceLog,
    User,
    UserRole,
)
from custapp.models.orders import PAYMENT_METHODS
from custapp.security import keystore
from custapp.security.validators import validate_cn_id, validate_mobile, validate_uscc
from custapp.services import classification, customer_fields, datakeys, service_log
from custapp.services.actor import Actor, system_actor
from custapp.services.customer_search import CustomerFilter, search_customers
from custapp.services.customers import CONTACT_PHONE_CONTEXT, allocate_number

T0 = datetime(2026, 3, 1, 2, 0, tzinfo=UTC)  # 10:00 in Shanghai


@pytest.fixture
def staff(db) -> list[int]:
    clock.set_now(T0)
    with session_scope() as session:
        demo_accounts.seed_demo_accounts(session, actor=system_actor("test"))
        return list(
            session.exec(
                select(UserRole.user_id).where(UserRole.role.in_(("front_desk", "cs_manager")))
            ).scalars()
        )


def _seed(n: int, **kwargs) -> int:
    return demo_customers.seed_customers(session_scope, n=n, **kwargs)


def test_seeded_customers_are_valid_and_encrypted(staff, monkeypatch):
    monkeypatch.setattr(demo_customers, "BATCH", 100)
    steps = []
    assert _seed(400, progress=lambda done, total: steps.append((done, total))) == 400
    assert steps == [(100, 400), (200, 400), (300, 400), (400, 400)]
    today = clock.local_today()
    with session_scope() as session:
        customers = session.exec(select(Customer).order_by(Customer.id)).scalars().all()
        assert len(customers) == 400
        assert session.exec(select(func.count(DataKey.id))).scalar_one() >= 400
        key_ids = [c.data_key_id for c in customers]
        assert len(set(key_ids)) == 400
        assert set(keystore.get_many(key_ids)) == set(key_ids)  # every key in the key store
        kinds = Counter(c.kind for c in customers)
        assert 0.75 < kinds["individual"] / 400 < 0.95
        resident = 0
        for c in customers:
            assert c.owner_id in staff
            assert c.store_id is not None
            phone = customer_fields.read(session, c, "phone")
            assert validate_mobile(phone).ok, phone
            assert c.phone_enc and phone not in c.phone_enc
            assert c.phone_bidx == customer_fields.blind_index("phone", phone)
            if c.kind == "organisation":
                assert validate_uscc(c.uscc).ok, c.uscc
                assert c.nature in demo_customers.USCC_PREFIX or c.uscc.startswith("91")
                assert c.registered_capital_fen > 0 and c.legal_representative
                contacts = session.exec(
                    select(CustomerContact).where(CustomerContact.customer_id == c.id)
                ).scalars()
                for contact in contacts:
                    contact_phone = datakeys.decrypt(
                        session, c.data_key_id, contact.phone_enc, context=CONTACT_PHONE_CONTEXT
                    )
                    assert validate_mobile(contact_phone).ok
                    assert contact.phone_bidx == customer_fields.blind_index("phone", contact_phone)
                continue
            if c.id_type == "resident_id":
                resident += 1
                id_number = customer_fields.read(session, c, "id_number")
                checked = validate_cn_id(id_number, today=today)
                assert checked.ok, id_number
                assert customer_fields.read(session, c, "birth_date") == (
                    checked.birth_date.isoformat()
                )
                assert c.gender == ("male" if int(id_number[16]) % 2 else "female")
                assert c.id_number_bidx == customer_fields.blind_index("id_number", id_number)
                assert date(1950, 1, 1) <= checked.birth_date <= date(2005, 12, 31)
                assert c.name_birth_bidx == customer_fields.blind_index(
                    "generic", f"{c.name}|{checked.birth_date.isoformat()}"
                )
            if c.verify_status != "unverified":
                assert c.id_type == "resident_id" and c.verified_by in staff
            assert 2 <= len(c.name) <= 4
            assert 0 < c.completeness <= 100
        assert resident > 250
        assert session.exec(select(func.count(CustomerTag.tag))).scalar_one() > 50
        entry = session.exec(
            select(AuditEntry).where(AuditEntry.action == "demo.seed_customers")
        ).scalar_one()
        detail = json.loads(entry.detail)
        assert detail["count"] == 400 and detail["orders"] > 400 and detail["service_logs"] > 50
        assert detail["key"] + detail["general"] + detail["scattered"] == 400


def test_seeded_activity_follows_the_money_rules_and_the_classification(staff, monkeypatch):
    monkeypatch.setattr(demo_customers, "BATCH", 100)
    _seed(300)
    with session_scope() as session:
        orders = session.exec(select(Order)).scalars().all()
        lines = Counter()
        for line in session.exec(select(OrderLine)).scalars():
            assert line.amount_fen == line.quantity * line.unit_price_fen > 0
            lines[line.order_id] += line.amount_fen
        paid = Counter()
        for payment in session.exec(select(OrderPayment)).scalars():
            assert payment.method in PAYMENT_METHODS and payment.method != "stored_value"
            paid[payment.order_id] += payment.amount_fen
        purchases = {o.id: o for o in orders if o.kind == "purchase"}
        assert len({o.number for o in orders}) == len(orders)
        for o in orders:
            assert o.created_at <= T0 and paid[o.id] == o.paid_fen
            if o.kind == "purchase":
                assert lines[o.id] == o.total_fen == o.paid_fen + o.discount_fen
                assert o.spend_fen == o.paid_fen and o.number.startswith("S")
            else:
                original = purchases[o.original_order_id]
                assert 0 < o.paid_fen <= original.paid_fen and o.spend_fen == -o.paid_fen
                assert o.created_at >= original.created_at and o.number.startswith("R")
        stored = {
            c.id: (c.spend_12m_fen, c.first_purchase_at, c.last_purchase_at, c.lifecycle, c.grade)
            for c in session.exec(select(Customer)).scalars()
        }
        logs = session.exec(select(ServiceLog)).scalars().all()
        assert logs
        for log in logs[:20]:
            customer = session.get(Customer, log.customer_id)
            text = datakeys.decrypt(
                session, customer.data_key_id, log.content_enc, context=service_log.CONTENT_CONTEXT
            )
            assert text and text not in log.content_enc
    # what posting and the nightly job compute from the orders is what the seeder stored
    assert classification.run_daily(full=True)["changed"] == 0
    lifecycles = Counter(state[3] for state in stored.values())
    assert {"potential", "new", "old", "lost"} <= set(lifecycles)


def test_numbers_follow_the_local_creation_year_and_the_sequences(staff):
    _seed(300, years=3)
    with session_scope() as session:
        rows = session.exec(
            select(Customer.number, Customer.created_at).order_by(Customer.id)
        ).all()
        sequences = {s.year: s.last for s in session.exec(select(CustomerSequence)).scalars().all()}
    numbers = [number for number, _ in rows]
    assert len(set(numbers)) == 300
    by_year: dict[int, list[int]] = defaultdict(list)
    for number, created in rows:
        year = clock.to_local(created).year
        assert number.startswith(f"C{year}") and len(number) == 12
        assert created < T0
        assert 9 <= clock.to_local(created).hour < 21  # opening hours
        by_year[year].append(int(number[5:]))
    assert set(by_year) == {2023, 2024, 2025, 2026}
    for year, sequence in by_year.items():
        assert sequence == list(range(1, len(sequence) + 1))  # in creation order, no gap
        assert sequences[year] == len(sequence)
    # the oldest customer is about three years old, the newest from the day before
    created = sorted(c for _, c in rows)
    assert (T0 - created[0]).days >= 3 * 365 - 5 and (T0 - created[-1]).days <= 1


def test_a_customer_created_afterwards_takes_the_next_number(staff):
    _seed(50)
    with session_scope() as session:
        this_year = clock.local_today().year
        count = session.exec(
            select(func.count(Customer.id)).where(Customer.number.startswith(f"C{this_year}"))
        ).scalar_one()
        number = allocate_number(session, year=this_year)
        assert number == f"C{this_year}{count + 1:07d}"
        assert session.exec(select(Customer.id).where(Customer.number == number)).first() is None


def test_the_same_seed_gives_the_same_customers_and_numbers_continue(staff):
    _seed(60)
    _seed(60)
    with session_scope() as session:
        customers = session.exec(select(Customer).order_by(Customer.id)).scalars().all()
        first, second = customers[:60], customers[60:]
        assert [c.name for c in first] == [c.name for c in second]
        assert [customer_fields.read(session, c, "phone") for c in first] == [
            customer_fields.read(session, c, "phone") for c in second
        ]
        assert {c.data_key_id for c in first}.isdisjoint({c.data_key_id for c in second})
        assert len({c.number for c in customers}) == 120


def test_seeded_customers_are_found_by_their_phone(staff):
    _seed(120)
    actor = Actor(user_id=staff[0], name="frontdesk", roles=frozenset({"front_desk"}))
    with session_scope() as session:
        target = session.exec(select(Customer).where(Customer.id == 77)).scalar_one()
        phone = customer_fields.read(session, target, "phone")
        rows, total = search_customers(session, actor=actor, query=phone, filters=CustomerFilter())
    assert target.id in [row.id for row in rows] and total >= 1
    assert rows[0].phone_masked == f"{phone[:3]}****{phone[-4:]}"


def test_seed_demo_command_seeds_accounts_and_customers_once(db, capsys):
    assert cli.main(["seed-demo", "--if-empty", "--customers", "30"]) == 0
    captured = capsys.readouterr()
    assert "frontdesk" in captured.out
    assert "30/30" in captured.err  # progress on stderr
    assert cli.main(["seed-demo", "--if-empty", "--customers", "30"]) == 0
    with session_scope() as session:
        # the 30 asked for, and the demo member's own record (its 银卡 for the member page)
        assert session.exec(select(func.count(Customer.id))).scalar_one() == 31
        assert session.exec(select(func.count(User.id))).scalar_one() == len(
            demo_accounts.DEMO_ACCOUNTS
        )
    assert cli.main(["seed-demo", "--customers", "5"]) == 2  # not empty, no --if-empty


def test_no_customers_when_asked_for_none(db):
    assert cli.main(["seed-demo", "--customers", "0"]) == 0
    with session_scope() as session:  # only the demo member's own record
        names = session.exec(select(Customer.name)).scalars().all()
    assert names == ["陈会员"]
    with pytest.raises(ValueError):
        _seed(-1)


def test_demo_gifts_are_seeded_once_audited_and_one_fits_the_demo_member(db):
    from custapp.models import Gift
    from custapp.services import points

    assert cli.main(["seed-demo", "--customers", "0"]) == 0
    with session_scope() as session:
        seeded = session.exec(select(Gift).order_by(Gift.id)).scalars().all()
        audited = session.exec(
            select(func.count(AuditEntry.id)).where(AuditEntry.action == "gift.create")
        ).scalar_one()
        member = session.exec(select(Customer).where(Customer.name == "陈会员")).scalar_one()
        have = points.available(session, member.id)
    assert [(g.name_zh, g.name_en, g.points_cost, g.stock) for g in seeded] == list(
        demo_accounts.DEMO_GIFTS
    )
    assert all(g.name_zh and g.name_en and g.is_active for g in seeded)
    assert audited == len(seeded) >= 3
    # the member journey requests a gift with the demo member's 204 points
    assert have == 204 and min(g.points_cost for g in seeded) <= 200
    with session_scope() as session:  # a second run (or a catalogue already kept) adds nothing
        assert demo_accounts.seed_demo_gifts(session, actor=system_actor("test")) == 0
    assert cli.main(["seed-demo", "--if-empty", "--customers", "0"]) == 0
    with session_scope() as session:
        assert session.exec(select(func.count(Gift.id))).scalar_one() == len(seeded)
