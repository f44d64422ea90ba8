"""客户档案 services: numbering, validation, encryption at rest, masking, reveal with a reason,
change history, duplicates, grade override, merge redirect, completeness, stale verification."""

from __future__ import annotations

import copy
import re
import threading
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy import select

from custapp import clock
from custapp.db import get_engine, session_scope
from custapp.models import AuditEntry, Customer, CustomerChange, CustomerContact
from custapp.security import keystore
from custapp.security.validators import make_cn_id, make_uscc
from custapp.services import bootstrap, customer_profile, customers
from custapp.services.actor import Actor, system_actor
from custapp.services.customers import ContactInput, CustomerInput
from custapp.services.errors import DomainError, NotFound, PermissionDenied, ValidationFailed
from custapp.settings import get_settings

PHONE = "13912345678"
PHONE_2 = "13687654321"
BIRTH = date(1988, 7, 14)
ID_NUMBER = make_cn_id("110105", BIRTH, 123)
ADDRESS = "北京市朝阳区建国路八十八号院三号楼"
EMAIL = "zhang.san@example.com"
INCOME = "年收入约三十万元"
SECRETS = (PHONE, PHONE[3:], ID_NUMBER, ID_NUMBER[6:14] + ID_NUMBER[14:], ADDRESS, EMAIL, INCOME)


def _staff(username: str, role: str) -> Actor:
    with session_scope() as session:
        user_id = bootstrap.create_staff_user(
            session,
            actor=system_actor("test"),
            username=username,
            display_name=f"{username} 名",
            roles=[role],
            password="Correct-horse-42",
        )
    return Actor(
        user_id=user_id,
        name=username,
        roles=frozenset({role}),
        display_name=f"{username} 名",
    )


@pytest.fixture
def desk(db) -> Actor:
    return _staff("desk.one", "front_desk")


@pytest.fixture
def manager(db) -> Actor:
    return _staff("cs.manager", "cs_manager")


def _full(**overrides) -> CustomerInput:
    values = dict(
        name="张三",
        gender="male",
        phone=PHONE,
        email=EMAIL,
        address=ADDRESS,
        id_type="resident_id",
        id_number=ID_NUMBER,
        income=INCOME,
        bank_account="6222 0212 3456 7890",
    )
    values.update(overrides)
    return CustomerInput(**values)


def _create(actor: Actor, data: CustomerInput) -> customers.CustomerRef:
    with session_scope() as session:
        return customers.create_customer(session, actor=actor, data=data)


def _profile(actor: Actor, customer_id: int) -> customer_profile.CustomerProfile:
    with session_scope() as session:
        return customer_profile.get_profile(session, actor=actor, customer_id=customer_id)


def _update(actor: Actor, customer_id: int, data: CustomerInput) -> list[str]:
    with session_scope() as session:
        return customers.update_customer(session, actor=actor, customer_id=customer_id, data=data)


def _reveal(actor: Actor, customer_id: int, field: str, reason: str = "核实客户身份") -> str:
    with session_scope() as session:
        return customer_profile.reveal_field(
            session, actor=actor, customer_id=customer_id, field=field, reason=reason
        )


def _history(actor: Actor, customer_id: int) -> list[customer_profile.ChangeRow]:
    with session_scope() as session:
        rows, total = customer_profile.change_history(
            session, actor=actor, customer_id=customer_id, page_size=100
        )
    assert len(rows) == total
    return rows


def _audit(action: str) -> list[AuditEntry]:
    with session_scope() as session:
        return list(
            session.exec(
                select(AuditEntry).where(AuditEntry.action == action).order_by(AuditEntry.seq)
            ).scalars()
        )


def _errors(actor: Actor, data: CustomerInput) -> dict[str, str]:
    with pytest.raises(ValidationFailed) as refused, session_scope() as session:
        customers.create_customer(session, actor=actor, data=data)
    return refused.value.errors


def _dump_tables(*tables: str) -> str:
    """Every value of every column of the tables, as text (what a stolen database holds)."""
    values = []
    with get_engine().connect() as conn:
        for table in tables:
            for row in conn.execute(sa.text(f'SELECT * FROM "{table}"')):
                values.extend(str(v) for v in row if v is not None)
    return "\n".join(values)


# --- numbers --------------------------------------------------------------------------------


def test_numbers_follow_the_local_year_and_restart_each_year(desk):
    clock.set_now(datetime(2025, 12, 31, 15, 30, tzinfo=UTC))  # 23:30 in Shanghai
    first = _create(desk, CustomerInput(name="甲", phone=PHONE))
    second = _create(desk, CustomerInput(name="乙", phone=PHONE_2))
    clock.set_now(datetime(2025, 12, 31, 16, 30, tzinfo=UTC))  # already 2026-01-01 there
    third = _create(desk, CustomerInput(name="丙", phone=PHONE))
    assert [first.number, second.number, third.number] == [
        "C20250000001",
        "C20250000002",
        "C20260000001",
    ]
    assert all(re.fullmatch(r"C\d{4}\d{7}", ref.number) for ref in (first, second, third))


def test_concurrent_creation_gives_unique_consecutive_numbers(desk):
    numbers: list[str] = []
    failures: list[BaseException] = []
    lock = threading.Lock()

    def worker(n: int) -> None:
        try:
            for i in range(4):
                ref = _create(desk, CustomerInput(name=f"并发{n}-{i}", phone=PHONE))
                with lock:
                    numbers.append(ref.number)
        except BaseException as exc:  # noqa: BLE001 - reported below
            failures.append(exc)

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []
    year = clock.local_today().year
    assert sorted(numbers) == [f"C{year}{i:07d}" for i in range(1, 25)]


# --- validation -----------------------------------------------------------------------------


def test_each_bad_value_is_reported_on_its_field_and_nothing_is_saved(desk):
    bad_id = ID_NUMBER[:-1] + ("0" if ID_NUMBER[-1] != "0" else "1")
    assert _errors(desk, _full(id_number=bad_id)) == {"id_number": "validation.id_number.checksum"}
    assert _errors(desk, _full(phone="1391234567")) == {"phone": "validation.mobile.format"}
    assert _errors(desk, CustomerInput(name="张三", address=ADDRESS)) == {
        "phone": "customer.error.contact_required"
    }
    assert _errors(desk, _full(birth_date="1988-07-15")) == {
        "birth_date": "customer.error.birth_mismatch"
    }
    assert _errors(desk, _full(name="  ", email="not-an-email", gender="robot")) == {
        "name": "validation.required",
        "email": "customer.error.email_format",
        "gender": "customer.error.invalid_choice",
    }
    assert _errors(desk, _full(birth_date="2099-01-01", id_number="")) == {
        "birth_date": "customer.error.date_range"
    }
    uscc = make_uscc("91110105MA01ABCDE")
    bad_uscc = uscc[:-1] + ("0" if uscc[-1] != "0" else "1")
    org = dict(kind="organisation", name="某某科技有限公司", phone=PHONE)
    assert _errors(desk, CustomerInput(**org, uscc=bad_uscc)) == {
        "uscc": "validation.uscc.checksum"
    }
    assert _errors(desk, CustomerInput(**org, registered_capital="12.345")) == {
        "registered_capital": "customer.error.money_format"
    }
    assert _errors(desk, CustomerInput(**org, registered_capital="1000000000001")) == {
        "registered_capital": "customer.error.amount_too_large"
    }
    no_name = [ContactInput(name="", title="经理", phone=PHONE_2)]
    assert _errors(desk, CustomerInput(**org, contacts=no_name)) == {
        "contact_0": "customer.error.contact_name_required"
    }
    with session_scope() as session:
        assert session.exec(select(Customer)).first() is None
    assert _audit("customer.create") == []


def test_minimum_collection_and_normalised_values(desk):
    # full-width digits and a +86 prefix from a phone keyboard; the birth date comes from the ID
    ref = _create(
        desk, CustomerInput(name=" 李四 ", phone="+86 139-1234-5678", id_number=ID_NUMBER.lower())
    )
    with session_scope() as session:
        customer = session.get(Customer, ref.id)
        assert customer.name == "李四"
        assert customers.customer_fields.read(session, customer, "phone") == PHONE
        assert customers.customer_fields.read(session, customer, "birth_date") == "1988-07-14"
        assert customer.id_type == "resident_id"
        assert customer.nature == "individual"
        assert customer.owner_id == desk.user_id
    # an organisation reachable only through its contact person; landline as backup phone
    org = _create(
        desk,
        CustomerInput(
            kind="organisation",
            name="某某科技有限公司",
            phone2="010-6552 1234",
            registered_capital="１,234.5",
            founding_date="2010-05-20",
            uscc=make_uscc("91110105MA01ABCDE").lower(),
            contacts=[ContactInput(name="王经理", title="采购", phone=PHONE_2)],
        ),
    )
    profile = _profile(desk, org.id)
    assert profile.general["registered_capital"] == "1234.50"
    assert profile.general["founding_date"] == "2010-05-20"
    assert profile.general["nature"] == "enterprise"
    assert profile.general["uscc"] == make_uscc("91110105MA01ABCDE")
    assert [(c.name, c.title, c.phone_masked) for c in profile.contacts] == [
        ("王经理", "采购", "136****4321")
    ]
    with session_scope() as session:
        assert session.get(Customer, org.id).registered_capital_fen == 123450


# --- encryption and masking -----------------------------------------------------------------


def test_sensitive_values_are_encrypted_at_rest(desk):
    ref = _create(desk, _full(notes="客户喜欢靠窗的座位"))
    _create(
        desk,
        CustomerInput(
            kind="organisation",
            name="某某公司",
            contacts=[ContactInput(name="王经理", phone=PHONE)],
        ),
    )
    _reveal(desk, ref.id, "phone")
    _update(desk, ref.id, CustomerInput(name="张三", phone=PHONE_2, address=None, id_number=None))
    dumped = _dump_tables(
        "customers", "customer_changes", "customer_contacts", "customer_tags", "audit_log"
    )
    assert "张三" in dumped  # the name is plain (general); the dump really holds the rows
    for secret in (*SECRETS, PHONE_2, "靠窗"):
        assert secret not in dumped


def test_profile_dto_is_masked_and_holds_no_plaintext(desk):
    ref = _create(desk, _full(tags=["老客户", "素食"], notes="客户喜欢靠窗的座位"))
    profile = _profile(desk, ref.id)
    shown = repr(profile)
    for secret in SECRETS:
        assert secret not in shown
    by_field = {s.field: s for s in profile.sensitive}
    assert by_field["phone"].masked == "139****5678"
    assert by_field["id_number"].masked == ID_NUMBER[:3] + "*" * 11 + ID_NUMBER[-4:]
    assert by_field["address"].masked == "北京市朝阳区****"
    assert by_field["birth_date"].masked == "1988-**-**"
    assert by_field["bank_account"].masked == "**** **** **** 7890"
    assert (by_field["income"].level, by_field["income"].present) == (2, True)
    assert (by_field["health"].level, by_field["health"].present) == (3, False)
    assert profile.notes == "客户喜欢靠窗的座位"  # staff free text, for customer.read holders
    assert sorted(profile.tags) == sorted(["老客户", "素食"])
    assert profile.owner_name == "desk.one 名"
    assert profile.general["gender"] == "male"
    assert "uscc" not in profile.general  # organisation fields are not part of a person
    opened = _audit("customer.open")
    assert [(e.customer_id, e.actor_id) for e in opened] == [(ref.id, desk.user_id)]


# --- reveal ---------------------------------------------------------------------------------


def test_front_desk_reveals_a_level_1_field_with_a_reason_and_only_the_name_is_audited(desk):
    ref = _create(desk, _full())
    assert _reveal(desk, ref.id, "phone", reason="  回电确认预订  ") == PHONE
    (entry,) = _audit("customer.reveal")
    assert (entry.actor_id, entry.customer_id, entry.fields, entry.reason, entry.outcome) == (
        desk.user_id,
        ref.id,
        "phone",
        "回电确认预订",
        "ok",
    )
    audit_text = _dump_tables("audit_log")
    for secret in SECRETS:
        assert secret not in audit_text


def test_front_desk_cannot_reveal_level_2_and_the_denial_is_audited(desk, manager):
    ref = _create(desk, _full())
    with pytest.raises(PermissionDenied):
        _reveal(desk, ref.id, "income")
    (denied,) = _audit("customer_profile.reveal_field")
    assert (denied.outcome, denied.actor_id, denied.customer_id, denied.reason) == (
        "denied",
        desk.user_id,
        ref.id,
        "customer.reveal.l2",
    )
    assert _audit("customer.reveal") == []
    assert _reveal(manager, ref.id, "income") == INCOME
    assert [e.fields for e in _audit("customer.reveal")] == ["income"]


def test_level_3_is_never_revealed_and_a_reason_is_required(desk, manager):
    ref = _create(desk, _full())
    for actor in (desk, manager, system_actor("cli")):
        with pytest.raises(PermissionDenied) as refused:
            _reveal(actor, ref.id, "bank_account")
        assert refused.value.key == "customer.error.l3_access_request"
    assert [e.reason for e in _audit("customer_profile.reveal_field")] == ["customer.reveal.l3"] * 3
    for reason in ("", "   ", "x", "长" * 201):
        with pytest.raises(ValidationFailed) as refused:
            _reveal(manager, ref.id, "phone", reason=reason)
        assert refused.value.errors == {"reason": "customer.error.reason_required"}
    for field in ("name", "grade", "nope"):
        with pytest.raises(ValidationFailed):
            _reveal(manager, ref.id, field)
    assert _audit("customer.reveal") == []


# --- history --------------------------------------------------------------------------------


def test_history_shows_old_and_new_masked_for_sensitive_and_plain_for_general(desk, manager):
    ref = _create(desk, _full())
    created = _history(desk, ref.id)
    assert {r.field for r in created} >= {"name", "phone", "id_number", "address", "income"}
    assert all(r.old == "" for r in created)
    changed = _update(manager, ref.id, _edit(_profile(desk, ref.id), name="张三丰", phone=PHONE_2))
    assert changed == ["name", "phone"]
    rows = _history(desk, ref.id)
    latest = {r.field: r for r in rows[:2]}
    assert (latest["phone"].old, latest["phone"].new) == ("139****5678", "136****4321")
    assert (latest["name"].old, latest["name"].new) == ("张三", "张三丰")
    assert latest["name"].actor_name == "cs.manager 名"
    shown = repr(rows)
    for secret in (*SECRETS, PHONE_2):
        assert secret not in shown
    (entry,) = _audit("customer.update")
    assert entry.fields == "name,phone"


def _edit(profile: customer_profile.CustomerProfile, **changes) -> CustomerInput:
    data = customers.input_from_profile(profile)
    for name, value in changes.items():
        setattr(data, name, value)
    return data


def test_unchanged_edit_writes_nothing_and_kept_sensitive_values_survive(desk):
    ref = _create(desk, _full(tags=["老客户"]))
    before = len(_history(desk, ref.id))
    assert _update(desk, ref.id, _edit(_profile(desk, ref.id))) == []
    assert len(_history(desk, ref.id)) == before
    assert _audit("customer.update") == []
    assert _reveal(desk, ref.id, "address") == ADDRESS
    # clearing a sensitive field is an explicit "", and is recorded
    assert _update(desk, ref.id, _edit(_profile(desk, ref.id), address="")) == ["address"]
    assert (
        next(s for s in _profile(desk, ref.id).sensitive if s.field == "address").present is False
    )


def test_history_rows_cannot_be_changed_through_any_service(desk, manager):
    ref = _create(desk, _full())
    with session_scope() as session:
        snapshot = [
            (c.id, c.changed_at, c.user_id, c.actor_name, c.field, c.old_enc, c.new_enc)
            for c in session.exec(select(CustomerChange).order_by(CustomerChange.id)).scalars()
        ]
    _update(manager, ref.id, _edit(_profile(desk, ref.id), phone=PHONE_2, name="张三丰"))
    with session_scope() as session:
        customers.set_verification(
            session, actor=desk, customer_id=ref.id, status="verified", method="id_card_at_counter"
        )
        customers.override_grade(
            session, actor=manager, customer_id=ref.id, grade="A", reason="年度大客户"
        )
    with session_scope() as session:
        after = [
            (c.id, c.changed_at, c.user_id, c.actor_name, c.field, c.old_enc, c.new_enc)
            for c in session.exec(select(CustomerChange).order_by(CustomerChange.id)).scalars()
        ]
    assert after[: len(snapshot)] == snapshot
    assert len(after) > len(snapshot)
    # and no service module holds a statement that edits or deletes history rows
    services = Path(customers.__file__).parent
    for path in services.glob("*.py"):
        source = path.read_text()
        if "CustomerChange" not in source:
            continue
        # the one sanctioned deletion: destroying a customer, or its level-3 data, takes its
        # history with it (issue 16, services/destruction_apply.py, tests/unit/test_destruction.py)
        if path.name != "destruction_apply.py":
            assert not re.search(r"(update|delete)\(\s*CustomerChange", source), path.name
        assert not re.search(r"\.changed_at\s*=(?!=)", source), path.name
        # a merge re-encrypts the merged customer's history under the survivor's key (SPEC §8):
        # the only assignment to a stored history value allowed is that re-encryption
        for value in re.finditer(r"\.(old_enc|new_enc)\s*=(?!=)(.*)", source):
            assert re.match(r"\s*\w+\.rekey\(", value.group(2)), (path.name, value.group(0))


# --- duplicates -----------------------------------------------------------------------------


def _duplicates(actor: Actor, data: CustomerInput, exclude_id: int | None = None):
    with session_scope() as session:
        found = customers.find_duplicates(session, actor=actor, data=data, exclude_id=exclude_id)
    return [(d.id, d.reason) for d in found]


def test_duplicate_candidates_by_phone_id_number_and_name_with_birth_date(desk):
    by_phone = _create(desk, CustomerInput(name="甲", phone=PHONE, phone2=PHONE_2))
    by_id = _create(desk, CustomerInput(name="乙", phone="13500000001", id_number=ID_NUMBER))
    by_name = _create(desk, CustomerInput(name="丙", phone="13500000002", birth_date="1990-01-02"))
    merged = _create(desk, CustomerInput(name="丁", phone="13500000003"))
    with session_scope() as session:
        session.get(Customer, merged.id).merged_into_id = by_phone.id

    # either phone column, either way round
    assert _duplicates(desk, CustomerInput(name="新", phone=PHONE_2)) == [
        (by_phone.id, "customer.dup.phone")
    ]
    assert _duplicates(desk, CustomerInput(name="新", phone="13700000000", phone2=PHONE)) == [
        (by_phone.id, "customer.dup.phone")
    ]
    assert _duplicates(desk, CustomerInput(name="新", id_number=ID_NUMBER.lower())) == [
        (by_id.id, "customer.dup.id_number")
    ]
    assert _duplicates(desk, CustomerInput(name=" 丙 ", birth_date="1990-01-02")) == [
        (by_name.id, "customer.dup.name_birth")
    ]
    assert _duplicates(desk, CustomerInput(name="丙", birth_date="1990-01-03")) == []
    assert _duplicates(desk, CustomerInput(name="丁", phone="13500000003")) == []  # merged
    assert _duplicates(desk, CustomerInput(name="甲", phone=PHONE), exclude_id=by_phone.id) == []
    # the strongest reason names a customer matching on several
    assert _duplicates(
        desk, CustomerInput(name="乙", phone="13500000001", id_number=ID_NUMBER)
    ) == [(by_id.id, "customer.dup.id_number")]
    checks = _audit("customer.duplicate_check")
    assert checks[0].fields == "phone" and checks[-1].fields == "id_number,phone,name_birth"
    audit_text = _dump_tables("audit_log")
    assert PHONE not in audit_text and ID_NUMBER not in audit_text


# --- classification, verification ---------------------------------------------------------------


def test_grade_override_needs_the_permission_and_a_reason(desk, manager):
    ref = _create(desk, _full())
    with pytest.raises(PermissionDenied), session_scope() as session:
        customers.override_grade(
            session, actor=desk, customer_id=ref.id, grade="A", reason="老板的朋友"
        )
    (denied,) = _audit("customers.override_grade")
    assert (denied.outcome, denied.reason) == ("denied", "customer.grade_override")
    with pytest.raises(ValidationFailed) as refused, session_scope() as session:
        customers.override_grade(session, actor=manager, customer_id=ref.id, grade="A", reason="")
    assert refused.value.errors == {"reason": "customer.error.reason_required"}
    with pytest.raises(ValidationFailed), session_scope() as session:
        customers.override_grade(
            session, actor=manager, customer_id=ref.id, grade="Z", reason="年度大客户"
        )
    with session_scope() as session:
        customers.override_grade(
            session, actor=manager, customer_id=ref.id, grade="A", reason="年度大客户"
        )
    profile = _profile(desk, ref.id)
    assert (profile.grade, profile.grade_override, profile.effective_grade) == ("E", "A", "A")
    assert profile.grade_override_reason == "年度大客户"
    (entry,) = _audit("customer.grade_override")
    assert (entry.fields, entry.reason, entry.actor_id) == (
        "grade_override",
        "年度大客户",
        manager.user_id,
    )
    assert (_history(desk, ref.id)[0].old, _history(desk, ref.id)[0].new) == ("", "A")
    with session_scope() as session:
        customers.override_grade(
            session, actor=manager, customer_id=ref.id, grade=None, reason="恢复计算等级"
        )
    profile = _profile(desk, ref.id)
    assert (profile.effective_grade, profile.grade_override_reason) == ("E", "")


def test_merged_customer_redirects_to_the_survivor_and_refuses_edits(desk):
    old = _create(desk, CustomerInput(name="张三", phone=PHONE))
    survivor = _create(desk, CustomerInput(name="张三", phone=PHONE, email=EMAIL))
    with session_scope() as session:
        session.get(Customer, old.id).merged_into_id = survivor.id
    profile = _profile(desk, old.id)
    assert (profile.id, profile.number, profile.redirected_from) == (
        survivor.id,
        survivor.number,
        old.number,
    )
    assert _profile(desk, survivor.id).redirected_from == ""
    with pytest.raises(DomainError) as refused:
        _update(desk, old.id, CustomerInput(name="张三", phone=PHONE_2))
    assert refused.value.key == "customer.error.merged"
    with pytest.raises(NotFound):
        _profile(desk, 999_999)


def test_completeness_grows_as_fields_are_added(desk):
    ref = _create(desk, CustomerInput(name="张三", phone=PHONE))
    first = _profile(desk, ref.id).completeness
    assert first == 18  # 2 of 11
    _update(desk, ref.id, _edit(_profile(desk, ref.id), email=EMAIL, address=ADDRESS))
    second = _profile(desk, ref.id).completeness
    _update(desk, ref.id, _edit(_profile(desk, ref.id), id_number=ID_NUMBER, gender="male"))
    third = _profile(desk, ref.id).completeness
    assert first < second < third
    assert third == 73  # + email, address, id_type, id_number, birth date, gender = 8 of 11
    full = _create(
        desk,
        _full(
            source_channel="walk_in",
            employer="某某公司",
            occupation="工程师",
        ),
    )
    assert _profile(desk, full.id).completeness == 100


def test_verification_is_recorded_and_goes_stale_after_the_configured_days(desk, monkeypatch):
    clock.set_now(datetime(2025, 3, 1, 2, 0, tzinfo=UTC))
    early = _create(desk, CustomerInput(name="早", phone=PHONE))
    later = _create(desk, CustomerInput(name="晚", phone=PHONE_2))
    never = _create(desk, CustomerInput(name="未", phone="13500000001"))
    failed = _create(desk, CustomerInput(name="败", phone="13500000002"))

    def verify(ref, status="verified"):
        with session_scope() as session:
            customers.set_verification(
                session, actor=desk, customer_id=ref.id, status=status, method="id_card_at_counter"
            )

    verify(early)
    verify(failed, "failed")
    clock.set_now(datetime(2025, 9, 1, 2, 0, tzinfo=UTC))
    verify(later)
    profile = _profile(desk, early.id)
    assert (profile.verify_status, profile.verify_method, profile.verified_by_name) == (
        "verified",
        "id_card_at_counter",
        "desk.one 名",
    )
    assert profile.stale_verification is False
    assert _profile(desk, never.id).stale_verification is True

    def stale() -> list[int]:
        with session_scope() as session:
            rows, total = customer_profile.list_stale_verification(session, actor=desk)
        assert total == len(rows)
        return [r.id for r in rows]

    assert stale() == [never.id, failed.id]
    # verified on 2025-03-01 (Shanghai): fresh through 2026-03-01, stale from 2026-03-02 there
    clock.set_now(datetime(2026, 3, 1, 15, 59, tzinfo=UTC))
    assert stale() == [never.id, failed.id]
    clock.set_now(datetime(2026, 3, 1, 16, 0, tzinfo=UTC))
    assert stale() == [never.id, early.id, failed.id]
    assert _profile(desk, early.id).stale_verification is True
    monkeypatch.setenv("CUSTAPP_VERIFICATION_STALE_DAYS", "100")
    get_settings.cache_clear()
    assert stale() == [never.id, early.id, failed.id, later.id]
    history = _history(desk, early.id)
    assert [(r.field, r.old, r.new, r.coded) for r in history[:2]] == [
        ("verify_method", "", "customer.verify_method.id_card_at_counter", True),
        ("verify_status", "customer.verify.unverified", "customer.verify.verified", True),
    ]
    with pytest.raises(ValidationFailed), session_scope() as session:
        customers.set_verification(
            session, actor=desk, customer_id=early.id, status="verified", method="guess"
        )
    assert _audit("customer.verify")[0].fields == "verify_status,verify_method"


def test_organisation_contacts_are_encrypted_masked_and_edited_without_plaintext(desk):
    ref = _create(
        desk,
        CustomerInput(
            kind="organisation",
            name="某某科技有限公司",
            contacts=[
                ContactInput(name="王经理", title="采购", phone=PHONE),
                ContactInput(name="李会计", phone=PHONE_2),
            ],
        ),
    )
    profile = _profile(desk, ref.id)
    assert [c.phone_masked for c in profile.contacts] == ["139****5678", "136****4321"]
    # drop the second contact, rename the first, keep its phone without ever seeing it
    data = _edit(profile)
    data.contacts = [
        ContactInput(name="王总", title="总经理", phone=None, id=profile.contacts[0].id)
    ]
    assert _update(desk, ref.id, data) == ["contacts"]
    with session_scope() as session:
        (contact,) = session.exec(select(CustomerContact)).scalars()
        assert contact.id == profile.contacts[0].id  # changed in place
        assert contact.phone_enc and PHONE not in contact.phone_enc
        assert contact.phone_bidx == customers.customer_fields.blind_index("phone", PHONE)
    renamed, removed = _history(desk, ref.id)[:2]
    assert (renamed.field, renamed.old, renamed.new) == (
        "contacts",
        "王经理 (采购) 139****5678",
        "王总 (总经理) 139****5678",
    )
    assert (removed.field, removed.old, removed.new) == ("contacts", "李会计 136****4321", "")
    assert PHONE not in repr(_history(desk, ref.id))
    # the contact phone was the only contact method: removing it is refused
    data.contacts = []
    with pytest.raises(ValidationFailed) as refused:
        _update(desk, ref.id, data)
    assert refused.value.errors == {
        "phone": "customer.error.contact_required",
        "contacts": "customer.error.contact_required",
    }
    with pytest.raises(ValidationFailed) as refused:
        _update(desk, ref.id, CustomerInput(kind="individual", name="x", phone=PHONE))
    assert refused.value.errors == {"kind": "customer.error.kind_fixed"}


# --- acceptance: a bad value is refused on its field and saves nothing ------------------------

USCC = make_uscc("91110105MA01ABCDE")
ORG = dict(kind="organisation", name="某某科技有限公司", phone=PHONE)
SAVED_TABLES = (
    "customers",
    "customer_changes",
    "customer_contacts",
    "customer_tags",
    "customer_sequences",
    "data_keys",
)


def _wrong_check_digit(value: str) -> str:
    return value[:-1] + ("0" if value[-1] != "0" else "1")


def _row_counts() -> dict[str, int]:
    with get_engine().connect() as conn:
        return {
            table: conn.execute(sa.text(f'SELECT count(*) FROM "{table}"')).scalar_one()
            for table in SAVED_TABLES
        }


BAD_VALUES = {
    "id_checksum": (
        _full(id_number=_wrong_check_digit(ID_NUMBER)),
        "id_number",
        "validation.id_number.checksum",
    ),
    "uscc_checksum": (
        CustomerInput(**ORG, uscc=_wrong_check_digit(USCC)),
        "uscc",
        "validation.uscc.checksum",
    ),
    "phone_malformed": (_full(phone="139-1234-567"), "phone", "validation.mobile.format"),
    "phone2_malformed": (_full(phone2="12345"), "phone2", "customer.error.phone_format"),
    "contact_phone_malformed": (
        CustomerInput(**ORG, contacts=[ContactInput(name="王经理", phone="1391234")]),
        "contact_0",
        "customer.error.phone_format",
    ),
    "name_empty": (_full(name=" \t "), "name", "validation.required"),
    "name_too_long": (_full(name="张" * 101), "name", "customer.error.max_length_100"),
    "address_too_long": (_full(address="北" * 201), "address", "customer.error.max_length_200"),
    "notes_too_long": (_full(notes="备" * 2001), "notes", "customer.error.max_length_2000"),
    "legal_representative_too_long": (
        CustomerInput(**ORG, legal_representative="法" * 51),
        "legal_representative",
        "customer.error.max_length_50",
    ),
    "contact_name_too_long": (
        CustomerInput(**ORG, contacts=[ContactInput(name="王" * 51, phone=PHONE_2)]),
        "contact_0",
        "customer.error.max_length_50",
    ),
}


@pytest.mark.parametrize("case", BAD_VALUES)
def test_a_bad_value_gets_its_message_on_its_field_and_nothing_is_saved(desk, case):
    data, field, key = copy.deepcopy(BAD_VALUES[case])
    before = _row_counts()
    assert _errors(desk, data) == {field: key}
    assert _row_counts() == before
    assert before["customers"] == before["customer_changes"] == before["data_keys"] == 0
    assert keystore.count() == 0  # no key made for a refused form either
    assert _audit("customer.create") == []
    # the control: the same form with the value put right is saved, and counted
    good = {
        "id_number": ID_NUMBER,
        "uscc": USCC,
        "phone": PHONE,
        "phone2": "",
        "name": "张三",
        "address": ADDRESS,
        "notes": "",
        "legal_representative": "王某",
    }
    if field == "contact_0":
        data.contacts = [ContactInput(name="王经理", phone=PHONE_2)]
    else:
        setattr(data, field, good[field])
    _create(desk, data)
    after = _row_counts()
    assert after["customers"] == 1 and after["customer_changes"] > 0 and after["data_keys"] == 1
    assert keystore.count() == 1
    assert len(_audit("customer.create")) == 1


def test_a_bad_value_on_edit_changes_nothing(desk):
    ref = _create(
        desk,
        CustomerInput(
            **ORG, uscc=USCC, contacts=[ContactInput(name="王经理", title="采购", phone=PHONE_2)]
        ),
    )
    before = (_row_counts(), _dump_tables("customers", "customer_contacts", "customer_changes"))
    profile = _profile(desk, ref.id)
    contact = profile.contacts[0]
    # good contact changes together with one bad field: all or nothing (one transaction)
    for bad in (
        {"uscc": _wrong_check_digit(USCC)},
        {"name": ""},
        {"phone": "1391234567"},
        {"address": "北" * 201},
    ):
        data = _edit(profile, **bad)
        data.contacts = [
            ContactInput(name="王总", title="总经理", phone="13700001111", id=contact.id),
            ContactInput(name="新联系人", phone="13700002222"),
        ]
        with pytest.raises(ValidationFailed) as refused:
            _update(desk, ref.id, data)
        assert set(refused.value.errors) == set(bad)
        assert (
            _row_counts(),
            _dump_tables("customers", "customer_contacts", "customer_changes"),
        ) == before
    assert _audit("customer.update") == []


def test_every_length_limit_has_a_message_in_both_languages():
    from custapp.i18n import CATALOGUES
    from custapp.services import customer_input

    limits = {
        *customer_input.MAX_LENGTH.values(),
        customer_input.DEFAULT_MAX_LENGTH,
        customer_input.CONTACT_TEXT_LENGTH,
    }
    for limit in limits:
        key = customer_input.too_long(limit)
        assert str(limit) in CATALOGUES["zh_CN"][key] and str(limit) in CATALOGUES["en"][key]


# --- contact persons of an organisation: add, change, remove --------------------------------

PHONE_3 = "13700001111"
LANDLINE = "010-65521234"


def _org_with_contacts(actor: Actor) -> tuple[customers.CustomerRef, list]:
    ref = _create(
        actor,
        CustomerInput(
            kind="organisation",
            name="某某贸易有限公司",
            contacts=[
                ContactInput(name="王经理", title="采购", phone=PHONE),
                ContactInput(name="李会计", title="财务", phone=PHONE_2),
                ContactInput(name="赵前台", phone=LANDLINE),
            ],
        ),
    )
    return ref, _profile(actor, ref.id).contacts


def _stored_contacts() -> dict[int, tuple]:
    with session_scope() as session:
        return {
            c.id: (c.name, c.title, c.phone_enc, c.phone_bidx)
            for c in session.exec(select(CustomerContact)).scalars()
        }


def _lookup(actor: Actor, query: str) -> list[int]:
    from custapp.services.customer_search import search_customers

    with session_scope() as session:
        rows, _ = search_customers(session, actor=actor, query=query)
    return [r.id for r in rows]


def test_contacts_are_added_changed_and_removed_in_place_with_history(desk):
    ref, (wang, li, zhao) = _org_with_contacts(desk)
    assert [c.phone_masked for c in (wang, li, zhao)] == ["139****5678", "136****4321"] + [
        customers.customer_fields.masked("phone", LANDLINE)
    ]
    created = len(_history(desk, ref.id))
    stored = _stored_contacts()
    assert _lookup(desk, PHONE_2) == [ref.id]
    data = _edit(_profile(desk, ref.id))
    data.contacts = [
        ContactInput(name="王经理", title="采购", phone=None, id=wang.id),  # untouched
        ContactInput(name="李会计", title="财务总监", phone=PHONE_3, id=li.id),  # new phone
        ContactInput(name="", title="", phone=""),  # an empty row of the form
        ContactInput(name="孙工", title="技术", phone="+86 138 0013 9999"),  # added
    ]  # 赵前台 removed
    assert _update(desk, ref.id, data) == ["contacts"]

    after = _stored_contacts()
    assert after[wang.id] == stored[wang.id]  # not even re-encrypted
    assert after[li.id][:2] == ("李会计", "财务总监")
    assert after[li.id][3] == customers.customer_fields.blind_index("phone", PHONE_3)
    assert zhao.id not in after
    (added,) = set(after) - set(stored)
    assert after[added][:2] == ("孙工", "技术")
    # exact lookup follows the phones: the new ones find the customer, the old ones do not
    assert _lookup(desk, PHONE_3) == [ref.id]
    assert _lookup(desk, "13800139999") == [ref.id]
    assert _lookup(desk, PHONE_2) == []
    assert _lookup(desk, LANDLINE) == []
    assert _lookup(desk, PHONE) == [ref.id]

    history = _history(desk, ref.id)
    assert len(history) == created + 3
    assert {(r.field, r.old, r.new) for r in history[:3]} == {
        ("contacts", "赵前台 " + customers.customer_fields.masked("phone", LANDLINE), ""),
        ("contacts", "李会计 (财务) 136****4321", "李会计 (财务总监) 137****1111"),
        ("contacts", "", "孙工 (技术) 138****9999"),
    }
    (entry,) = _audit("customer.update")
    assert entry.fields == "contacts"
    dumped = _dump_tables("customer_contacts", "customer_changes", "audit_log")
    assert "李会计" in dumped  # contact names are plain; the dump holds the rows
    for secret in (PHONE, PHONE_2, PHONE_3, "13800139999", LANDLINE, "65521234"):
        assert secret not in dumped
        assert secret not in repr(history) and secret not in repr(_profile(desk, ref.id))
    with session_scope() as session:
        assert session.get(Customer, ref.id).completeness > 0


def test_contact_rows_report_their_own_errors(desk):
    ref, (wang, li, _zhao) = _org_with_contacts(desk)
    data = _edit(_profile(desk, ref.id))
    data.contacts = [
        ContactInput(name="", title="采购", phone=None, id=wang.id),  # name cleared, phone kept
        ContactInput(name="李会计", phone=None, id=li.id),
        ContactInput(name="孙工", phone="12345"),
    ]
    with pytest.raises(ValidationFailed) as refused:
        _update(desk, ref.id, data)
    assert refused.value.errors == {
        "contact_0": "customer.error.contact_name_required",
        "contact_2": "customer.error.phone_format",
    }
    assert len(_profile(desk, ref.id).contacts) == 3


def test_a_contact_id_of_another_customer_or_twice_is_refused(desk):
    ref, (wang, _li, _zhao) = _org_with_contacts(desk)
    other, (stranger, *_) = _org_with_contacts(desk)
    stored = _stored_contacts()
    history = len(_history(desk, ref.id)), len(_history(desk, other.id))
    for contacts in (
        # another customer's contact: neither moved nor its phone kept into this customer
        [ContactInput(name="王经理", phone=None, id=stranger.id)],
        [
            ContactInput(name="王经理", phone=None, id=wang.id),
            ContactInput(name="王经理二", phone=None, id=wang.id),
        ],
        [ContactInput(name="无此人", phone=None, id=999_999)],
    ):
        data = _edit(_profile(desk, ref.id))
        data.contacts = contacts
        with pytest.raises(ValidationFailed) as refused:
            _update(desk, ref.id, data)
        assert refused.value.errors == {"contacts": "customer.error.contact_unknown"}
    assert _stored_contacts() == stored
    assert (len(_history(desk, ref.id)), len(_history(desk, other.id))) == history


def test_keeping_the_contacts_unsaid_leaves_them_as_they_are(desk):
    ref, contacts = _org_with_contacts(desk)
    stored = _stored_contacts()
    data = _edit(_profile(desk, ref.id), industry="批发")
    data.contacts = None  # an input that does not speak of contacts keeps them
    assert _update(desk, ref.id, data) == ["industry"]
    assert _stored_contacts() == stored
    assert [c.id for c in _profile(desk, ref.id).contacts] == [c.id for c in contacts]


def test_an_organisation_keeps_a_contact_method_when_contacts_go(desk):
    ref = _create(
        desk,
        CustomerInput(
            kind="organisation",
            name="某某公司",
            contacts=[ContactInput(name="王经理", phone=PHONE)],
        ),
    )
    (wang,) = _profile(desk, ref.id).contacts
    # removing the only contact person is refused ...
    data = _edit(_profile(desk, ref.id))
    data.contacts = [ContactInput(name="", title="", phone="")]
    with pytest.raises(ValidationFailed) as refused:
        _update(desk, ref.id, data)
    assert refused.value.errors == {
        "phone": "customer.error.contact_required",
        "contacts": "customer.error.contact_required",
    }
    # ... but allowed once the customer has another way to be reached, in the same save
    data = _edit(_profile(desk, ref.id), phone2=LANDLINE)
    data.contacts = []
    assert _update(desk, ref.id, data) == ["phone2", "contacts"]
    assert _profile(desk, ref.id).contacts == []
    assert _stored_contacts() == {}
    assert wang.id not in _stored_contacts()


def test_a_mistyped_only_contact_method_gets_one_message_not_two(desk):
    only_contact = [ContactInput(name="王经理", phone="1391234")]
    assert _errors(
        desk, CustomerInput(kind="organisation", name="某公司", contacts=only_contact)
    ) == {"contact_0": "customer.error.phone_format"}
    assert _errors(desk, CustomerInput(name="张三", email="zhang@")) == {
        "email": "customer.error.email_format"
    }
