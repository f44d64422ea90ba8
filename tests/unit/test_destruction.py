"""销毁 (issue 16, acceptance 2 core; 001 RT-04..RT-07, AU-06): a customer with a full history is
appraised by one person and approved by another; afterwards nothing of them can be read (no
name, no decrypted value, no blind-index hit, the profile refuses), the ledgers still add up,
the key is gone from the key store, the register and the audit log hold no value. What blocks a
destruction blocks it with the reason, every write is refused to the roles without it, the
register detects tampering, a restored (older) copy of the database is made to forget the
customer again, a partial destruction keeps the customer, and the queue runs in batches."""

from __future__ import annotations

import shutil
import uuid
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy import func, select
from sqlmodel import SQLModel

from custapp import clock, db
from custapp.db import session_scope
from custapp.job_runner import Runner
from custapp.models import (
    Attachment,
    AuditEntry,
    ConsentEvent,
    Customer,
    DestructionCandidate,
    LegalDisclosure,
    LoginSession,
    MemberCard,
    Order,
    OutboxMessage,
    PointsEntry,
    ServiceLog,
    StoredValueEntry,
    User,
)
from custapp.security import keystore
from custapp.services import (
    attachments,
    auth,
    bootstrap,
    complaints,
    consent,
    customer_fields,
    customer_profile,
    customer_search,
    customers,
    datakeys,
    destruction,
    destruction_register,
    destruction_views,
    member_access,
    membership,
    orders,
    points,
    provision,
    rights,
    service_log,
)
from custapp.services.actor import Actor, system_actor
from custapp.services.customers import CustomerInput
from custapp.services.destruction_apply import DESTROYED_NAME
from custapp.services.errors import DomainError, PermissionDenied, ValidationFailed
from custapp.vocab import JobKind

T0 = datetime(2026, 4, 10, 2, 0, tzinfo=UTC)
X = {
    "name": "欧阳销毁",
    "phone": "13912345678",
    "email": "ouyang.xh@example.cn",
    "address": "上海市黄浦区南京东路100号",
    "id_number": "11010519491231002X",
    "bank_account": "6222020200112233445",
    "health": "青霉素过敏",
    "notes": "喜欢靠窗座位",
    "service": "客户来电咨询年卡续费，欧阳销毁本人",
    "complaint": "行李箱在寄存时被划破，欧阳销毁要求赔偿",
    "filename": "欧阳销毁身份证.pdf",
    "disclosure_ref": "（2026）沪0101协查字第815号",
    "harm_note": "仅提供欧阳销毁的基本信息",
}
MEMBER_IP = "203.0.113.77"
PDF = b"%PDF-1.7\n" + b"IDENTITY-CARD-SCAN-" * 16
PASSWORD = "Correct-horse-42"


def _staff(username: str, role: str) -> Actor:
    with session_scope() as session:
        user_id = bootstrap.create_staff_user(
            session,
            actor=system_actor("test"),
            username=username,
            display_name=username,
            roles=[role],
            password=PASSWORD,
        )
    return Actor(user_id=user_id, name=username, roles=frozenset({role}))


def _call(fn, actor: Actor, **kwargs):  # noqa: ANN001, ANN202
    with session_scope() as session:
        return fn(session, actor=actor, **kwargs)


def _customer(desk: Actor, name: str, phone: str, **extra) -> int:  # noqa: ANN003
    return _call(
        customers.create_customer,
        desk,
        data=CustomerInput(name=name, phone=phone, tags=["常客"], **extra),
    ).id


def _complaint(desk: Actor, boss: Actor, cid: int, *, close: bool) -> int:
    filed = _call(
        complaints.file_complaint, desk, customer_id=cid, channel="counter", category="product",
        severity="normal", description=X["complaint"], desired="赔偿维修费",
    )  # fmt: skip
    if close:
        for step in ("investigating", "solution_proposed", "customer_informed", "return_visit"):
            _call(complaints.move, boss, complaint_id=filed.id, to_status=step, note="")
        _call(
            complaints.close, boss, complaint_id=filed.id, root_cause="寄存架有毛刺",
            solution="赔偿维修费", informed_on=date(2026, 4, 10), informed_via="phone",
            satisfaction=4,
        )  # fmt: skip
    return filed.id


def _settled_customer(w: dict) -> int:
    """X: every kind of data, all business settled: card closed with its stored value refunded,
    points adjusted to zero, the complaint closed."""
    desk, boss = w["desk"], w["boss"]
    cid = _customer(
        desk, X["name"], X["phone"], email=X["email"], address=X["address"],
        id_number=X["id_number"], bank_account=X["bank_account"], health=X["health"],
        notes=X["notes"],
    )  # fmt: skip
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
    _call(membership.close_card, boss, card_id=card.id, refund_method="cash", reason="客户退卡")
    with session_scope() as session:
        left = points.available(session, cid)
    if left:
        _call(points.adjust_points, boss, customer_id=cid, points=-left, reason="结清积分")
    _call(service_log.add_entry, desk, customer_id=cid, kind="call", content=X["service"])
    _call(
        consent.record_consents, desk, customer_id=cid, choices={"marketing_sms": "grant"},
        evidence_ref="F-2026-001",
    )  # fmt: skip
    _call(
        attachments.add_attachment, desk, customer_id=cid, category="id_copy",
        filename=X["filename"], content=PDF,
    )  # fmt: skip
    _call(member_access.issue_code, desk, customer_id=cid, identity_checked=True)
    _complaint(desk, boss, cid, close=True)
    return cid


@pytest.fixture
def w(db) -> dict:  # noqa: ANN001
    clock.set_now(T0)
    world = {
        "desk": _staff("desk.one", "front_desk"),
        "boss": _staff("boss.one", "cs_manager"),
        "comp_a": _staff("comp.a", "compliance"),
        "comp_b": _staff("comp.b", "compliance"),
        "auditor": _staff("audit.one", "auditor"),
        "admin": _staff("admin.one", "sysadmin"),
    }
    world["y"] = _customer(world["desk"], "路人乙", "13800001111")
    return world


def _propose(actor: Actor, cid: int, **kwargs) -> int:  # noqa: ANN003
    kwargs.setdefault("reason_kind", "manual")
    kwargs.setdefault("note", "合同终止，已无保存价值")
    return _call(destruction.propose, actor, customer_id=cid, **kwargs)


def _appraise(actor: Actor, candidate_id: int, decision: str = "destroy", note: str = ""):  # noqa: ANN202
    return _call(
        destruction.appraise, actor, candidate_id=candidate_id, decision=decision, note=note
    )


def _approve(actor: Actor, candidate_id: int) -> destruction.Outcome:
    return _call(destruction.approve, actor, candidate_id=candidate_id)


def _ledger_totals() -> tuple[int, int, int]:
    with session_scope(write=False) as session:
        return (
            session.exec(select(func.coalesce(func.sum(StoredValueEntry.amount_fen), 0))).one()[0],
            session.exec(select(func.coalesce(func.sum(PointsEntry.points), 0))).one()[0],
            session.exec(select(func.coalesce(func.sum(Order.paid_fen), 0))).one()[0],
        )


def _every_text_in_the_database() -> str:
    """Every text and binary value of every table, as one string (the plaintext grep)."""
    parts: list[str] = []
    with session_scope(write=False) as session:
        for table in SQLModel.metadata.sorted_tables:
            try:
                rows = session.connection().execute(table.select()).all()
            except sa.exc.DBAPIError:  # a table of a part not migrated in this checkout
                session.rollback()
                continue
            for row in rows:
                for value in row:
                    if isinstance(value, str):
                        parts.append(value)
                    elif isinstance(value, bytes):
                        parts.append(value.decode("utf-8", "replace"))
    return "\n".join(parts)


def _search_ids(actor: Actor, query: str) -> list[int]:
    with session_scope() as session:
        found = customer_search.search_customers(session, actor=actor, query=query)
    return [row.id for row in found.rows]


# --- acceptance 2: two people, then nothing of X is readable ------------------------------------


def _portal_login_and_disclosure(w: dict, cid: int, number: str) -> None:
    """X also logged in to the portal from an address, and was disclosed to an authority."""
    code = _call(member_access.issue_code, w["desk"], customer_id=cid, identity_checked=True)
    with session_scope() as session:
        done = member_access.activate(
            session, phone=X["phone"], code=code.code, password=PASSWORD, ip=MEMBER_IP
        )
    assert done.ok
    _call(
        provision.record_disclosure, w["comp_a"], customer_number=number, authority="某区人民法院",
        legal_basis="民事诉讼法第七十条", document_reference=X["disclosure_ref"],
        categories=["basic"], disclosed_on="2026-04-01", harm_note=X["harm_note"],
    )  # fmt: skip


def _raw_database_bytes() -> bytes:
    """SQLite: the database file and its log as bytes (what a stolen disk shows)."""
    path = sa.engine.make_url(db.get_settings().database_url).database
    return b"".join(Path(p).read_bytes() for p in (path, path + "-wal") if Path(p).exists())


def test_a_customer_destroyed_by_two_people_leaves_nothing_readable(w, db):  # noqa: ANN001
    cid = _settled_customer(w)
    with session_scope(write=False) as session:
        key_id = session.get(Customer, cid).data_key_id
        number = session.get(Customer, cid).number
        card_id, card_number = session.exec(
            select(MemberCard.id, MemberCard.number).where(MemberCard.customer_id == cid)
        ).one()
    _portal_login_and_disclosure(w, cid, number)
    assert keystore.get_many([key_id])
    assert _search_ids(w["desk"], X["phone"]) == [cid]
    totals = _ledger_totals()
    assert totals[0] == 0  # the stored value was refunded at the card's closure

    candidate_id = _propose(w["comp_a"], cid)
    assert _appraise(w["comp_a"], candidate_id).status == "appraised"
    with pytest.raises(DomainError) as same:
        _approve(w["comp_a"], candidate_id)
    assert same.value.key == "destruction.error.same_person"
    outcome = _approve(w["comp_b"], candidate_id)
    assert (outcome.status, outcome.blockers) == ("done", [])

    # the key is gone: every ciphertext of X is unreadable
    assert keystore.get_many([key_id]) == {}
    with session_scope(write=False) as session:
        with pytest.raises(DomainError) as gone:
            datakeys.data_key(session, key_id)
        assert gone.value.key == "error.data_destroyed"
        row = session.get(Customer, cid)
        assert row.name == DESTROYED_NAME and row.destroyed_at is not None
        # the number on paper forms no longer leads here: a non-identifying one replaces it
        assert row.number == f"X{cid:011d}"
        assert (
            session.exec(
                select(MemberCard.number).where(MemberCard.customer_id == cid)
            ).scalar_one()
            == f"X{card_id:019d}"
        )
        leftovers = {
            c.name: getattr(row, c.name)
            for c in Customer.__table__.columns
            if c.name.endswith(("_enc", "_bidx")) and getattr(row, c.name) is not None
        }
        assert leftovers == {}
        assert session.exec(select(Attachment).where(Attachment.customer_id == cid)).first() is None
        assert session.exec(select(ServiceLog).where(ServiceLog.customer_id == cid)).first() is None
        events = session.exec(select(ConsentEvent).where(ConsentEvent.customer_id == cid)).all()
        assert events and all(e[0].evidence_ref is None for e in events)  # the ledger stays
        member = session.exec(select(User).where(User.customer_id == cid)).scalar_one()
        assert (member.login_index, member.is_active, member.password_hash) == (None, False, None)
        assert (member.username, member.display_name) == (None, DESTROYED_NAME)
        ips = session.exec(select(LoginSession.ip).where(LoginSession.user_id == member.id)).all()
        assert ips and all(ip[0] is None for ip in ips)
        disclosure = session.exec(
            select(LegalDisclosure).where(LegalDisclosure.customer_id == cid)
        ).scalar_one()
        assert (disclosure.document_reference, disclosure.harm_note) == ("", "")
    # no search finds X, by phone, ID number, number or name; the profile refuses
    for query in (X["phone"], X["id_number"], number, X["name"]):
        assert _search_ids(w["desk"], query) == []
    with pytest.raises(DomainError) as refused:
        _call(customer_profile.get_profile, w["desk"], customer_id=cid)
    assert refused.value.key == "customer.error.destroyed"
    # money still adds up, under the tombstone
    assert _ledger_totals() == totals
    # no value of X anywhere in the database: not the name, the numbers, the texts or the file
    everything = _every_text_in_the_database()
    phone_index = customer_fields.blind_index("phone", X["phone"])
    for value in (*X.values(), phone_index, "IDENTITY-CARD-SCAN", number, card_number):
        assert value not in everything, value
    if db == "sqlite":  # nor in the file itself (freed pages zeroed, the log checkpointed)
        raw = _raw_database_bytes()
        for value in (number, card_number, X["phone"], X["name"], X["disclosure_ref"]):
            assert value.encode() not in raw, value
    with session_scope() as session:  # the portal login is gone for good
        login = auth.login_member(session, phone=X["phone"], password=PASSWORD, ip=None)
    assert not login.ok
    # the register has the destruction, and no value of X
    entries = destruction_register.read()
    assert [(e["candidate"], e["customer_id"], e["key_id"]) for e in entries] == [
        (outcome.number, cid, key_id)
    ]
    assert (entries[0]["appraised_by"], entries[0]["approved_by"]) == (
        w["comp_a"].user_id,
        w["comp_b"].user_id,
    )
    register_text = destruction_register.path().read_text()
    assert not any(v in register_text for v in X.values())
    assert oct(destruction_register.path().stat().st_mode & 0o777) == "0o600"
    # the audit entry names the candidate, the categories and the method, never a value
    with session_scope(write=False) as session:
        [entry] = session.exec(
            select(AuditEntry.customer_id, AuditEntry.detail, AuditEntry.reason).where(
                AuditEntry.action == "customer.destroy"
            )
        ).all()
    assert entry.customer_id == cid and outcome.number in entry.detail
    assert "crypto_shred" in entry.detail and "attachments" in entry.detail
    assert not any(v in (entry.detail or "") + (entry.reason or "") for v in X.values())
    # Y is untouched
    assert _search_ids(w["desk"], "13800001111") == [w["y"]]


def test_nothing_can_be_written_to_a_destroyed_customer(w):  # noqa: ANN001
    cid = _customer(w["desk"], "甲", "13700000001")
    candidate_id = _propose(w["comp_a"], cid)
    _appraise(w["comp_a"], candidate_id)
    _approve(w["boss"], candidate_id)  # cs_manager as the second approver
    with pytest.raises(DomainError) as refused:
        _call(service_log.add_entry, w["desk"], customer_id=cid, kind="call", content="来电")
    assert refused.value.key == "customer.error.destroyed"
    with pytest.raises(DomainError) as again:
        _propose(w["comp_a"], cid)
    assert again.value.key == "destruction.error.already_destroyed"


# --- what blocks a destruction ---------------------------------------------------------------------


def test_a_legal_hold_blocks_until_it_is_released(w):  # noqa: ANN001
    cid = _customer(w["desk"], "丙", "13700000002")
    with session_scope(write=False) as session:
        number = session.get(Customer, cid).number
    hold_id = _call(
        destruction.set_hold, w["comp_a"], customer_number=number, reason="（2026）沪01民初1号"
    )
    candidate_id = _propose(w["comp_a"], cid)
    outcome = _appraise(w["comp_a"], candidate_id)
    assert (outcome.status, outcome.blockers) == ("queued", ["destruction.blocked.legal_hold"])
    rows, _ = _call(destruction_views.list_queue, w["comp_b"], status="queued")
    assert rows[0].blockers == ("destruction.blocked.legal_hold",)
    _call(destruction.release_hold, w["comp_a"], hold_id=hold_id, reason="案件已结")
    assert _appraise(w["comp_a"], candidate_id).status == "appraised"


def test_stored_value_points_and_an_open_card_block_with_their_reasons(w):  # noqa: ANN001
    cid = _customer(w["desk"], "丁", "13700000003")
    _call(
        membership.issue_card, w["desk"], customer_id=cid, tier_code="silver",
        application_signed=True, first_topup_fen=20_000, topup_method="wechat", fee_method="cash",
    )  # fmt: skip
    _call(points.adjust_points, w["boss"], customer_id=cid, points=30, reason="开卡赠送")
    outcome = _appraise(w["comp_a"], _propose(w["comp_a"], cid))
    assert outcome.status == "queued"
    assert set(outcome.blockers) == {
        "destruction.blocked.stored_value",
        "destruction.blocked.points",
        "destruction.blocked.open_card",
    }


def test_an_open_complaint_blocks_and_one_filed_after_the_appraisal_blocks_the_approval(w):  # noqa: ANN001
    cid = _customer(w["desk"], "戊", "13700000004")
    complaint_id = _complaint(w["desk"], w["boss"], cid, close=False)
    candidate_id = _propose(w["comp_a"], cid)
    assert _appraise(w["comp_a"], candidate_id).blockers == ["destruction.blocked.open_complaint"]
    with session_scope() as session:  # closed, without going through every step again
        session.get(complaints.Complaint, complaint_id).status = "closed"
    assert _appraise(w["comp_a"], candidate_id).status == "appraised"
    _complaint(w["desk"], w["boss"], cid, close=False)  # a new complaint in between
    outcome = _approve(w["comp_b"], candidate_id)
    assert (outcome.status, outcome.blockers) == (
        "appraised",
        ["destruction.blocked.open_complaint"],
    )
    with session_scope(write=False) as session:
        assert session.get(Customer, cid).destroyed_at is None


def test_appraise_keep_rejects_and_approval_needs_an_appraisal(w):  # noqa: ANN001
    cid = _customer(w["desk"], "己", "13700000005")
    candidate_id = _propose(w["comp_a"], cid)
    with pytest.raises(DomainError) as early:
        _approve(w["comp_b"], candidate_id)
    assert early.value.key == "destruction.error.not_appraised"
    with pytest.raises(ValidationFailed) as no_note:
        _appraise(w["comp_a"], candidate_id, decision="keep")
    assert no_note.value.errors == {"note": "destruction.error.note_required"}
    assert _appraise(w["comp_a"], candidate_id, "keep", "仍在诉讼时效内").status == "rejected"
    # a new proposal is a new candidate; the same open one is returned as it is
    again = _propose(w["comp_a"], cid)
    assert again != candidate_id and _propose(w["comp_b"], cid) == again


# --- permissions ---------------------------------------------------------------------------------


def test_only_compliance_and_the_second_approver_reach_destruction(w, db):  # noqa: ANN001
    cid = _customer(w["desk"], "庚", "13700000006")
    with session_scope(write=False) as session:
        number = session.get(Customer, cid).number
    candidate_id = _propose(w["comp_a"], cid)
    _appraise(w["comp_a"], candidate_id)
    member = Actor(user_id=None, name="member#1", kind="member", roles=frozenset({"member"}))
    writes = [
        (destruction.propose, {"customer_id": cid, "reason_kind": "manual", "note": "无价值了"}),
        (destruction.propose_manual, {"customer_number": number, "note": "无价值了"}),
        (destruction.appraise, {"candidate_id": candidate_id, "decision": "destroy"}),
        (destruction.approve, {"candidate_id": candidate_id}),
        (destruction.reject, {"candidate_id": candidate_id, "note": "不同意销毁"}),
        (destruction.approve_many, {"candidate_ids": [candidate_id]}),
        (destruction.set_hold, {"customer_number": number, "reason": "案件"}),
        (destruction.release_hold, {"hold_id": 1, "reason": "案件已结"}),
    ]
    for actor in (w["desk"], w["auditor"], w["admin"], member):
        for fn, kwargs in writes:
            with pytest.raises(PermissionDenied):
                _call(fn, actor, **kwargs)
    # cs_manager approves and rejects, but neither proposes, appraises nor holds
    for fn, kwargs in writes[:3] + writes[6:]:
        with pytest.raises(PermissionDenied):
            _call(fn, w["boss"], **kwargs)
    # reading: the queue for those who decide, the register for the auditor too
    for actor in (w["desk"], w["auditor"], w["admin"], member):
        with pytest.raises(PermissionDenied):
            _call(destruction_views.list_queue, actor)
    for actor in (w["desk"], w["admin"], member):
        with pytest.raises(PermissionDenied):
            _call(destruction_views.list_register, actor)
    assert _call(destruction_views.list_register, w["auditor"]) == ([], 0)
    assert _call(destruction_views.list_queue, w["boss"], status="appraised")[1] == 1
    with session_scope(write=False) as session:  # every refusal is audited
        denied = session.exec(
            select(func.count(AuditEntry.id)).where(AuditEntry.outcome == "denied")
        ).one()[0]
    assert denied >= 4 * len(writes)


# --- the register ------------------------------------------------------------------------------------


def test_a_changed_or_removed_register_line_is_detected(w):  # noqa: ANN001
    for i in range(3):
        destruction_register.append({"candidate": f"XH202604100{i:03d}", "customer_id": i + 1})
    assert destruction_register.head()[0] == 3
    path = destruction_register.path()
    good = path.read_bytes()
    path.write_bytes(good.replace(b'"customer_id":2', b'"customer_id":9'))
    with pytest.raises(destruction_register.RegisterDamaged):
        destruction_register.read()
    status = _call(destruction_views.register_status, w["auditor"])
    assert (status.ok, status.problem) == (False, "destruction.register.damaged")
    lines = good.splitlines(keepends=True)
    path.write_bytes(lines[0] + lines[2])  # a line removed
    with pytest.raises(destruction_register.RegisterDamaged):
        destruction_register.read()
    path.write_bytes(good)
    assert _call(destruction_views.register_status, w["auditor"]).count == 3
    copy = destruction_register.copy_to(path.parent.parent / "backup-register")
    assert destruction_register.newest([path, copy, path.parent / "missing"]) == path
    assert destruction_register.contains(
        destruction_register.read(copy), (2, destruction_register.read()[1]["mac"])
    )


# --- after a restore: the register is re-applied ---------------------------------------------------


def _copy_database(tmp_path, request) -> str:  # noqa: ANN001
    """A copy of the live database as it is now (a backup taken now) -> its URL."""
    url = db.get_settings().database_url
    db.dispose_engines()
    if url.startswith("sqlite"):
        source = sa.engine.make_url(url).database
        target = tmp_path / "older.db"
        shutil.copyfile(source, target)
        return f"sqlite:///{target}"
    name = f"custapp_copy_{uuid.uuid4().hex[:10]}"
    base = sa.engine.make_url(url)
    admin = sa.create_engine(base.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql(f'CREATE DATABASE "{name}" TEMPLATE "{base.database}"')

    def drop() -> None:
        db.dispose_engines()
        with admin.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()

    request.addfinalizer(drop)
    return base.set(database=name).render_as_string(hide_password=False)


def test_a_database_copy_from_before_the_destruction_forgets_the_customer_again(
    w, tmp_path, request, monkeypatch
):  # noqa: ANN001
    cid = _customer(w["desk"], X["name"], X["phone"], id_number=X["id_number"])
    with session_scope(write=False) as session:
        key_id = session.get(Customer, cid).data_key_id
    old_key = keystore.get_many([key_id])[key_id]
    older = _copy_database(tmp_path, request)
    candidate_id = _propose(w["comp_a"], cid)
    _appraise(w["comp_a"], candidate_id)
    number = _approve(w["comp_b"], candidate_id).number

    # the older copy is restored, with a key-store copy that still holds the key
    monkeypatch.setenv("CUSTAPP_DATABASE_URL", older)
    db.dispose_engines()
    db.get_settings.cache_clear()
    keystore.put(key_id, *old_key)
    assert _search_ids(w["desk"], X["phone"]) == [cid]
    assert destruction.reapply(session_scope, destruction_register.read()) == 1
    assert keystore.get_many([key_id]) == {}
    assert _search_ids(w["desk"], X["phone"]) == []
    assert X["name"] not in _every_text_in_the_database()
    with session_scope(write=False) as session:
        mirrored = session.exec(
            select(DestructionCandidate.status, DestructionCandidate.approved_by).where(
                DestructionCandidate.number == number
            )
        ).one()
    assert tuple(mirrored) == ("done", w["comp_b"].user_id)
    rows, total = _call(destruction_views.list_register, w["auditor"])
    assert total == 1 and rows[0].number == number
    assert destruction.reapply(session_scope, destruction_register.read()) == 0  # idempotent


# --- partial destruction -----------------------------------------------------------------------------


def test_destroying_the_attachments_keeps_the_customer_readable(w):  # noqa: ANN001
    cid = _customer(w["desk"], "辛", "13700000007", bank_account=X["bank_account"])
    _call(
        attachments.add_attachment, w["desk"], customer_id=cid, category="id_copy",
        filename="辛的身份证.pdf", content=PDF,
    )  # fmt: skip
    _call(service_log.add_entry, w["desk"], customer_id=cid, kind="call", content="来电咨询")
    candidate_id = _propose(w["comp_a"], cid, scope="category", category="attachments")
    _appraise(w["comp_a"], candidate_id)
    assert _approve(w["comp_b"], candidate_id).status == "done"
    profile = _call(customer_profile.get_profile, w["desk"], customer_id=cid)
    assert profile.name == "辛"
    assert _search_ids(w["desk"], "13700000007") == [cid]
    with session_scope(write=False) as session:
        assert session.exec(select(Attachment).where(Attachment.customer_id == cid)).first() is None
        assert session.exec(select(ServiceLog).where(ServiceLog.customer_id == cid)).first()
    [entry] = destruction_register.read()
    assert (entry["scope"], entry["category"], entry["method"]) == (
        "category",
        "attachments",
        "delete",
    )
    # level-3 fields go the same way, the rest of the profile stays
    level3 = _propose(w["comp_a"], cid, scope="category", category="level3")
    _appraise(w["comp_a"], level3)
    _approve(w["boss"], level3)
    with session_scope(write=False) as session:
        row = session.get(Customer, cid)
        assert row.bank_account_enc is None and row.phone_enc is not None


# --- the queue runs in batches -------------------------------------------------------------------------


def test_approved_candidates_run_in_batches_and_through_the_job(w):  # noqa: ANN001
    ids = [_customer(w["desk"], f"批量{i}", f"1370000010{i}") for i in range(5)]
    candidates = []
    for cid in ids:
        candidates.append(_propose(w["comp_a"], cid))
        _appraise(w["comp_a"], candidates[-1])
    many = _call(destruction.approve_many, w["comp_b"], candidate_ids=candidates[:3])
    assert many.job_id and len(many.approved) == 3 and many.refused == []
    runner = Runner(handlers={JobKind.DESTRUCTION_RUN: destruction.run_job})
    assert runner.run_until_empty() == 1
    with session_scope() as session:  # the other two approved, waiting for a run
        for candidate_id in candidates[3:]:
            row = session.get(DestructionCandidate, candidate_id)
            row.status, row.approved_by = "approved", w["comp_b"].user_id
    seen = []
    summary = destruction.run_approved(
        session_scope, batch=1, progress=lambda done, total: seen.append((done, total))
    )
    assert summary == {"done": 2, "waiting": 0, "blocked": 0}
    assert seen == [(1, 2), (2, 2)]
    with session_scope(write=False) as session:
        destroyed = session.exec(
            select(func.count(Customer.id)).where(Customer.destroyed_at.is_not(None))
        ).one()[0]
    assert destroyed == 5
    assert len(destruction_register.read()) == 5


def test_a_deletion_request_waits_for_its_notice_then_closes(w):  # noqa: ANN001
    cid = _customer(w["desk"], "壬", "13700000009")
    request = _call(
        rights.file_request, w["desk"], customer_id=cid, kind="deletion", channel="counter",
        detail="请删除我的全部信息",
    )  # fmt: skip
    candidate_id = _propose(
        w["comp_a"], cid, reason_kind="request", rights_request_id=request.id, note=""
    )
    _appraise(w["comp_a"], candidate_id)
    # approved, but the notice (under the key about to go) is queued first: the key waits
    assert _approve(w["comp_b"], candidate_id).status == "approved"
    assert destruction.run_approved(session_scope) == {"done": 0, "waiting": 1, "blocked": 0}
    with session_scope() as session:
        req = session.get(rights.RightsRequest, request.id)
        assert session.get(Customer, cid).destroyed_at is None
        session.get(OutboxMessage, req.notice_message_id).status = "sent"  # delivered
    assert destruction.run_approved(session_scope)["done"] == 1
    with session_scope(write=False) as session:
        assert session.get(rights.RightsRequest, request.id).status == "done"
        assert session.get(Customer, cid).destroyed_at is not None
    [entry] = destruction_register.read()
    assert entry["reason"] == "request" and entry["request"] == request.number


def test_merged_records_go_with_their_survivor_and_sqlite_leaves_no_trace(w, db):  # noqa: ANN001
    from custapp.services import merge

    survivor = _customer(w["desk"], X["name"], X["phone"])
    merged = _customer(w["desk"], X["name"], "13600000000")
    _call(
        merge.merge_customers, w["boss"], survivor_id=survivor, merged_id=merged, reason="重复建档"
    )
    candidate_id = _propose(w["comp_a"], survivor)
    _appraise(w["comp_a"], candidate_id)
    _approve(w["comp_b"], candidate_id)
    with session_scope(write=False) as session:
        names = {session.get(Customer, i).name for i in (survivor, merged)}
    assert names == {DESTROYED_NAME}
    [entry] = destruction_register.read()
    assert [m[0] for m in entry["merged"]] == [merged]
    assert keystore.get_many([entry["key_id"], entry["merged"][0][1]]) == {}
    if db == "sqlite":  # freed pages zeroed, and the log checkpointed after the destruction
        engine = db_engine()
        with engine.connect() as conn:
            assert conn.exec_driver_sql("PRAGMA secure_delete").scalar() == 1
        wal = sa.engine.make_url(engine.url).database + "-wal"
        assert Path(wal).stat().st_size == 0


def db_engine():  # noqa: ANN201
    return db.get_engine()
