"""客户合并: every linked record of the merged customer ends up with the survivor, re-encrypted
under the survivor's key; empty survivor fields are filled and recorded in its history; the
merged number leads to the survivor; refusals; the duplicate review list (SPEC §2, §8)."""

from __future__ import annotations

from datetime import date

import pytest
import reflex as rx
import sqlalchemy as sa
from reflex.istate.data import RouterData
from sqlalchemy import select

from custapp import clock
from custapp.db import get_engine, session_scope
from custapp.i18n import t
from custapp.models import (
    Attachment,
    AuditEntry,
    Customer,
    CustomerChange,
    CustomerContact,
    CustomerTag,
    Order,
    OrderLine,
    OrderPayment,
    OutboxMessage,
    ServiceLog,
    User,
)
from custapp.pages.data_quality import DataQualityState, MergeDialogState, PreviewRow
from custapp.security import crypto
from custapp.security.validators import make_cn_id
from custapp.services import (
    attachments,
    auth,
    bootstrap,
    customer_fields,
    customer_profile,
    customer_search,
    customers,
    datakeys,
    merge,
    outbox,
    service_log,
)
from custapp.services.actor import Actor, system_actor
from custapp.services.customers import (
    CHANGE_CONTEXT,
    CONTACT_PHONE_CONTEXT,
    ContactInput,
    CustomerInput,
)
from custapp.services.errors import DomainError, NotFound, PermissionDenied, ValidationFailed
from custapp.states.session import SessionState

PHONE = "13912345678"
PHONE_2 = "13687654321"
ID_NUMBER = make_cn_id("110105", date(1988, 7, 14), 123)
EMAIL = "zhang.san@example.com"
ADDRESS = "北京市朝阳区建国路八十八号院三号楼"
CONTENT = "客户来电咨询会员卡升级，已说明金卡条件"
OUTCOME = "客户表示下周来店办理"
FILENAME = "张三身份证复印件.pdf"
FILE_BYTES = b"%PDF-1.4 scanned identity card of the customer"
REASON = "同一客户重复建档"


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
        user_id=user_id, name=username, roles=frozenset({role}), display_name=f"{username} 名"
    )


@pytest.fixture
def desk(db) -> Actor:
    return _staff("desk.one", "front_desk")


@pytest.fixture
def manager(db) -> Actor:
    return _staff("cs.manager", "cs_manager")


def _create(actor: Actor, data: CustomerInput) -> customers.CustomerRef:
    with session_scope() as session:
        return customers.create_customer(session, actor=actor, data=data)


def _merge(actor: Actor, survivor_id: int, merged_id: int, reason: str = REASON):
    with session_scope() as session:
        return merge.merge_customers(
            session, actor=actor, survivor_id=survivor_id, merged_id=merged_id, reason=reason
        )


def _refusal(actor: Actor, survivor_id: int, merged_id: int, reason: str = REASON) -> str:
    with pytest.raises(DomainError) as refused:
        _merge(actor, survivor_id, merged_id, reason)
    return refused.value.key


def _linked_records(customer_id: int, actor: Actor) -> dict:
    """Two orders, a service log entry and an attachment of the customer, written straight to
    the tables and encrypted under the customer's data key, as their services store them."""
    with session_scope() as session:
        customer = session.get(Customer, customer_id)
        key_id, now = customer.data_key_id, clock.now()
        orders = []
        for i, paid in enumerate((12_000, 3_450)):
            order = Order(
                number=f"S{customer_id:04d}{i}",
                customer_id=customer_id,
                total_fen=paid,
                paid_fen=paid,
                spend_fen=paid,
                created_by=actor.user_id,
                created_at=now,
            )
            session.add(order)
            session.flush()
            session.add(
                OrderLine(order_id=order.id, item="洗车", unit_price_fen=paid, amount_fen=paid)
            )
            session.add(OrderPayment(order_id=order.id, method="cash", amount_fen=paid))
            orders.append(order.id)
        log = ServiceLog(
            customer_id=customer_id,
            kind="call",
            content_enc=datakeys.encrypt(
                session, key_id, CONTENT, context=service_log.CONTENT_CONTEXT
            ),
            outcome_enc=datakeys.encrypt(
                session, key_id, OUTCOME, context=service_log.OUTCOME_CONTEXT
            ),
            user_id=actor.user_id,
            created_at=now,
        )
        file = Attachment(
            customer_id=customer_id,
            archive_number=f"A-{customer_id}",
            category="id_copy",
            content_type="application/pdf",
            size=len(FILE_BYTES),
            uploaded_by=actor.user_id,
            created_at=now,
        )
        session.add_all([log, file])
        session.flush()
        file.filename_enc = datakeys.encrypt(
            session, key_id, FILENAME, context=attachments.FILENAME_CONTEXT
        )
        file.content_enc = crypto.encrypt_bytes(
            datakeys.data_key(session, key_id),
            FILE_BYTES,
            context=attachments.CONTENT_CONTEXT,
        )
        return {"orders": orders, "log": log.id, "file": file.id, "paid": 12_000 + 3_450}


def _history_plain(session, customer: Customer) -> list[tuple[str, str, str]]:  # noqa: ANN001
    rows = session.exec(
        select(CustomerChange)
        .where(CustomerChange.customer_id == customer.id)
        .order_by(CustomerChange.id)
    ).scalars()
    return [
        (
            row.field,
            datakeys.decrypt(session, customer.data_key_id, row.old_enc, context=CHANGE_CONTEXT),
            datakeys.decrypt(session, customer.data_key_id, row.new_enc, context=CHANGE_CONTEXT),
        )
        for row in rows
    ]


def _search(actor: Actor, query: str) -> list[int]:
    with session_scope() as session:
        rows, _ = customer_search.search_customers(session, actor=actor, query=query)
    return [row.id for row in rows]


def _audit(action: str) -> list[AuditEntry]:
    with session_scope() as session:
        return list(
            session.exec(
                select(AuditEntry).where(AuditEntry.action == action).order_by(AuditEntry.seq)
            ).scalars()
        )


# --- the acceptance test of the issue --------------------------------------------------------


def test_everything_of_the_merged_customer_belongs_to_the_survivor(manager, desk):
    survivor = _create(desk, CustomerInput(name="张三", phone=PHONE))
    merged = _create(
        desk,
        CustomerInput(
            name="张三",
            phone=PHONE,
            id_type="resident_id",
            id_number=ID_NUMBER,
            email=EMAIL,
            address=ADDRESS,
        ),
    )
    linked = _linked_records(merged.id, desk)
    with session_scope() as session:
        old_key = session.get(Customer, merged.id).data_key_id
        merged_history = _history_plain(session, session.get(Customer, merged.id))
        survivor_history = _history_plain(session, session.get(Customer, survivor.id))
        before = session.get(Customer, survivor.id).completeness
    assert ("address", "", ADDRESS) in merged_history

    result = _merge(manager, survivor.id, merged.id)
    assert result.moved == {
        "orders": 2,
        "cards": 0,
        "stored_value": 0,
        "points": 0,
        "redemptions": 0,
        "complaints": 0,
        "service_logs": 1,
        "attachments": 1,
        "tags": 0,
        "contacts": 0,
        "messages": 0,
        "consents": 0,
        "rights_requests": 0,
        "member_logins": 0,
        "history": len(merged_history),
    }
    assert set(result.filled) >= {"email", "address", "id_number", "birth_date"}

    with session_scope() as session:
        kept = session.get(Customer, survivor.id)
        key = kept.data_key_id
        assert key != old_key
        orders = session.exec(select(Order).where(Order.id.in_(linked["orders"]))).scalars()
        assert {o.customer_id for o in orders} == {survivor.id}
        log = session.get(ServiceLog, linked["log"])
        assert log.customer_id == survivor.id
        assert (
            datakeys.decrypt(session, key, log.content_enc, context=service_log.CONTENT_CONTEXT),
            datakeys.decrypt(session, key, log.outcome_enc, context=service_log.OUTCOME_CONTEXT),
        ) == (CONTENT, OUTCOME)
        with pytest.raises(crypto.DecryptionError):  # the old key no longer opens it
            datakeys.decrypt(session, old_key, log.content_enc, context=service_log.CONTENT_CONTEXT)
        file = session.get(Attachment, linked["file"])
        assert file.customer_id == survivor.id
        name = datakeys.decrypt(
            session, key, file.filename_enc, context=attachments.FILENAME_CONTEXT
        )
        assert name == FILENAME
        data = crypto.decrypt_bytes(
            datakeys.data_key(session, key),
            file.content_enc,
            context=attachments.CONTENT_CONTEXT,
        )
        assert data == FILE_BYTES
        history = _history_plain(session, kept)
        # its own rows, the merged customer's rows (re-encrypted), then the merge's own rows
        assert history[: len(survivor_history)] == survivor_history
        assert all(row in history for row in merged_history)
        assert ("merged_from", "", merged.number) in history
        assert ("email", "", EMAIL) in history and ("id_number", "", ID_NUMBER) in history
        assert customer_fields.read(session, kept, "id_number") == ID_NUMBER
        assert customer_fields.read(session, kept, "address") == ADDRESS
        assert kept.email_bidx == customer_fields.blind_index("email", EMAIL)
        assert kept.name_birth_bidx == customer_fields.blind_index("generic", "张三|1988-07-14")
        assert kept.completeness > before
        assert kept.spend_12m_fen == linked["paid"]
        assert kept.last_purchase_at is not None and kept.lifecycle == "new"
        gone = session.get(Customer, merged.id)
        assert (gone.merged_into_id, gone.number, gone.name) == (
            survivor.id,
            merged.number,
            "张三",
        )
        for spec in customer_fields.FIELDS.values():
            if spec.encrypted:
                assert getattr(gone, spec.column) is None, spec.name
        assert gone.phone_bidx is gone.id_number_bidx is gone.name_birth_bidx is None
        assert (gone.spend_12m_fen, gone.lifecycle, gone.last_purchase_at) == (0, "potential", None)
        moved_rows = session.exec(
            select(sa.func.count(CustomerChange.id)).where(CustomerChange.customer_id == merged.id)
        ).scalar_one()
        assert moved_rows == 0

    # looking up the merged number opens the survivor; its phone and ID find only the survivor
    assert _search(desk, merged.number) == [survivor.id]
    assert _search(desk, PHONE) == [survivor.id]
    assert _search(desk, ID_NUMBER) == [survivor.id]
    with session_scope() as session:
        profile = customer_profile.get_profile(session, actor=desk, customer_id=merged.id)
        rows, total = customer_profile.change_history(
            session, actor=desk, customer_id=survivor.id, page_size=100
        )
    assert (profile.id, profile.redirected_from) == (survivor.id, merged.number)
    assert total == len(history)
    shown = {(r.field, r.new) for r in rows}
    assert ("address", customer_fields.masked("address", ADDRESS)) in shown
    assert ("merged_from", merged.number) in shown

    (entry,) = _audit("customer.merge")
    assert (entry.actor_id, entry.customer_id, entry.reason) == (
        manager.user_id,
        survivor.id,
        REASON,
    )
    assert f'"merged_id": {merged.id}' in entry.detail
    for secret in (PHONE, ID_NUMBER, EMAIL, ADDRESS, CONTENT, FILENAME):
        assert secret not in f"{entry.fields} {entry.detail}"


def test_merged_values_are_not_in_plaintext_in_the_database(manager, desk):
    survivor = _create(desk, CustomerInput(name="李四", phone=PHONE))
    merged = _create(desk, CustomerInput(name="李四", phone=PHONE, address=ADDRESS, email=EMAIL))
    _linked_records(merged.id, desk)
    _merge(manager, survivor.id, merged.id)
    if get_engine().dialect.name == "sqlite":
        with get_engine().connect() as conn:
            conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    values = []
    with get_engine().connect() as conn:
        for table in (
            "customers",
            "customer_changes",
            "service_logs",
            "attachments",
            "audit_log",
        ):
            for row in conn.execute(sa.text(f'SELECT * FROM "{table}"')):
                for value in row:
                    if isinstance(value, bytes | memoryview):
                        values.append(bytes(value).decode("latin-1"))
                    elif value is not None:
                        values.append(str(value))
    dump = "\n".join(values)
    for secret in (PHONE, PHONE[3:], EMAIL, ADDRESS, CONTENT, OUTCOME, FILENAME):
        assert secret not in dump
    assert FILE_BYTES.decode() not in dump


# --- filling the survivor ----------------------------------------------------------------------


def test_empty_survivor_fields_are_filled_and_recorded_and_its_own_values_kept(manager, desk):
    survivor = _create(
        desk, CustomerInput(name="王五", phone=PHONE, notes="老客户，喜欢靠窗座位", tags=["VIP"])
    )
    merged = _create(
        desk,
        CustomerInput(
            name="王五",
            phone=PHONE_2,
            gender="male",
            email=EMAIL,
            notes="另一条备注",
            income="年收入约三十万元",
            tags=["VIP", "生日"],
        ),
    )
    with session_scope() as session:
        preview = merge.merge_preview(
            session, actor=manager, survivor_id=survivor.id, merged_id=merged.id
        )
    assert preview.fills == ["gender", "email", "income", "phone2"]
    assert (preview.survivor.phone_masked, preview.merged.phone_masked) == (
        customer_fields.masked("phone", PHONE),
        customer_fields.masked("phone", PHONE_2),
    )

    result = _merge(manager, survivor.id, merged.id)
    assert result.filled == ["gender", "email", "income", "phone2"]
    with session_scope() as session:
        kept = session.get(Customer, survivor.id)
        assert kept.gender == "male"
        assert customer_fields.read(session, kept, "notes") == "老客户，喜欢靠窗座位"
        assert customer_fields.read(session, kept, "phone") == PHONE
        assert customer_fields.read(session, kept, "phone2") == PHONE_2
        assert customer_fields.read(session, kept, "income") == "年收入约三十万元"
        changes = session.exec(
            select(CustomerChange)
            .where(CustomerChange.customer_id == survivor.id)
            .where(CustomerChange.user_id == manager.user_id)
            .order_by(CustomerChange.id)
        ).scalars()
        assert [c.field for c in changes] == [*result.filled, "tags", "merged_from"]
        tags = session.exec(
            select(CustomerTag.tag).where(CustomerTag.customer_id == survivor.id)
        ).scalars()
        assert sorted(tags) == ["VIP", "生日"]
        # the merged customer's notes were not copied over the survivor's, but stay in history
        history = _history_plain(session, kept)
        assert ("notes", "", "另一条备注") in history
        assert ("tags", "VIP", "VIP, 生日") in history
    # both old phones now lead to the survivor alone
    assert _search(desk, PHONE_2) == [survivor.id]


def test_a_verification_of_the_same_id_number_carries_over(manager, desk):
    survivor = _create(desk, CustomerInput(name="赵六", phone=PHONE))
    merged = _create(desk, CustomerInput(name="赵六", phone=PHONE, id_number=ID_NUMBER))
    with session_scope() as session:
        customers.set_verification(
            session,
            actor=desk,
            customer_id=merged.id,
            status="verified",
            method="id_card_at_counter",
        )
    _merge(manager, survivor.id, merged.id)
    with session_scope() as session:
        kept = session.get(Customer, survivor.id)
        assert (kept.verify_status, kept.verify_method, kept.verified_by) == (
            "verified",
            "id_card_at_counter",
            desk.user_id,
        )


def test_a_resident_id_contradicting_the_survivors_birth_date_is_not_copied(manager, desk):
    survivor = _create(desk, CustomerInput(name="孙七", phone=PHONE, birth_date="1990-01-01"))
    merged = _create(desk, CustomerInput(name="孙七", phone=PHONE, id_number=ID_NUMBER))
    result = _merge(manager, survivor.id, merged.id)
    assert "id_number" not in result.filled
    with session_scope() as session:
        kept = session.get(Customer, survivor.id)
        assert kept.id_number_enc is None
        assert customer_fields.read(session, kept, "birth_date") == "1990-01-01"


def test_organisation_contacts_move_with_their_phones_re_encrypted(manager, desk):
    org = dict(kind="organisation", name="某某科技有限公司")
    survivor = _create(
        desk, CustomerInput(**org, phone=PHONE, contacts=[ContactInput("陈经理", "经理", PHONE)])
    )
    merged = _create(
        desk,
        CustomerInput(
            **org,
            phone=PHONE,
            contacts=[ContactInput("陈经理", "经理", PHONE), ContactInput("刘会计", "", PHONE_2)],
        ),
    )
    result = _merge(manager, survivor.id, merged.id)
    assert result.moved["contacts"] == 1
    with session_scope() as session:
        kept = session.get(Customer, survivor.id)
        contacts = (
            session.exec(select(CustomerContact).order_by(CustomerContact.id)).scalars().all()
        )
        assert [(c.customer_id, c.name) for c in contacts] == [
            (survivor.id, "陈经理"),
            (survivor.id, "刘会计"),
        ]
        phone = datakeys.decrypt(
            session, kept.data_key_id, contacts[1].phone_enc, context=CONTACT_PHONE_CONTEXT
        )
        assert phone == PHONE_2
        assert contacts[1].phone_bidx == customer_fields.blind_index("phone", PHONE_2)
    assert _search(desk, PHONE_2) == [survivor.id]


def test_messages_and_the_member_login_follow_the_survivor(manager, desk):
    survivor = _create(desk, CustomerInput(name="冯二", phone=PHONE))
    merged = _create(desk, CustomerInput(name="冯二", phone=PHONE_2))
    body = f"尊敬的客户，您的手机 {PHONE_2} 已登记"
    with session_scope() as session:
        gone = session.get(Customer, merged.id)
        message_id = outbox.queue_message(
            session,
            channel="sms",
            purpose="service",
            subject="",
            body=body,
            recipient=PHONE_2,
            customer_id=merged.id,
            customer_key_id=gone.data_key_id,
        )
        login_id = bootstrap.create_member_login(
            session,
            actor=system_actor("test"),
            phone=PHONE_2,
            password="Member-pass-2026",
            display_name="冯二",
            customer_id=merged.id,
        )
    result = _merge(manager, survivor.id, merged.id)
    assert (result.moved["messages"], result.moved["member_logins"]) == (1, 1)
    with session_scope() as session:
        key = session.get(Customer, survivor.id).data_key_id
        row = session.get(OutboxMessage, message_id)
        assert (row.customer_id, row.data_key_id) == (survivor.id, key)
        assert outbox._open(session, key, row.body_enc, "body") == body
        assert outbox._open(session, key, row.recipient_enc, "recipient") == PHONE_2
        assert outbox._open(session, key, row.subject_enc, "subject") == ""
        assert session.get(User, login_id).customer_id == survivor.id


# --- refusals and chains -----------------------------------------------------------------------


def test_refusals(manager, desk):
    first = _create(desk, CustomerInput(name="张三", phone=PHONE))
    second = _create(desk, CustomerInput(name="张三", phone=PHONE))
    org = _create(desk, CustomerInput(kind="organisation", name="某某公司", phone=PHONE))
    assert _refusal(manager, first.id, first.id) == "merge.error.same"
    assert _refusal(manager, first.id, org.id) == "merge.error.kind"
    assert _refusal(manager, org.id, first.id) == "merge.error.kind"
    with pytest.raises(NotFound):
        _merge(manager, first.id, 999_999)
    with pytest.raises(ValidationFailed) as refused:
        _merge(manager, first.id, second.id, reason=" ")
    assert refused.value.errors == {"reason": "customer.error.reason_required"}
    with pytest.raises(PermissionDenied):
        _merge(desk, first.id, second.id)
    (denied,) = [e for e in _audit("merge.merge_customers") if e.outcome == "denied"]
    assert (denied.actor_id, denied.reason) == (desk.user_id, "customer.merge")
    with session_scope() as session:  # nothing happened
        assert session.get(Customer, second.id).merged_into_id is None

    _merge(manager, first.id, second.id)
    assert _refusal(manager, first.id, second.id) == "customer.error.merged"
    assert _refusal(manager, second.id, org.id) == "customer.error.merged"
    with pytest.raises(DomainError) as refused, session_scope() as session:
        merge.merge_preview(session, actor=manager, survivor_id=first.id, merged_id=org.id)
    assert refused.value.key == "merge.error.kind"


def test_a_chain_of_merges_still_leads_to_the_last_survivor(manager, desk):
    a = _create(desk, CustomerInput(name="周八", phone=PHONE))
    b = _create(desk, CustomerInput(name="周八", phone=PHONE))
    c = _create(desk, CustomerInput(name="周八", phone=PHONE))
    _merge(manager, b.id, a.id)
    _merge(manager, c.id, b.id)
    with session_scope() as session:
        assert session.get(Customer, a.id).merged_into_id == c.id  # one hop, always
        found, via = customers.survivor(session, a.id)
        assert (found.id, via.id) == (c.id, a.id)
    assert _search(desk, a.number) == [c.id]
    assert _search(desk, b.number) == [c.id]


# --- the review list -----------------------------------------------------------------------------


def test_duplicate_review_shows_masked_members_until_they_are_merged(manager, desk):
    first = _create(desk, CustomerInput(name="吴九", phone=PHONE))
    second = _create(desk, CustomerInput(name="吴九", phone=PHONE))
    _create(desk, CustomerInput(name="郑十", phone=PHONE_2))
    with session_scope() as session:
        groups, total = merge.duplicate_review(session, actor=desk, page=1)
    assert total == 1
    (group,) = groups
    assert group.reasons == ("customer.dup.phone",)
    assert [(m.id, m.phone_masked) for m in group.members] == [
        (first.id, customer_fields.masked("phone", PHONE)),
        (second.id, customer_fields.masked("phone", PHONE)),
    ]
    assert all(m.created_at is not None for m in group.members)
    assert len(_audit("customer.duplicate_review")) == 1
    _merge(manager, first.id, second.id)
    with session_scope() as session:
        assert merge.duplicate_review(session, actor=desk, page=1) == ([], 0)


def test_customers_found_by_several_reasons_are_one_group(desk):
    same = CustomerInput(name="冯十一", phone=PHONE, id_number=ID_NUMBER)
    _create(desk, same)
    _create(desk, same)
    with session_scope() as session:
        groups, _ = merge.duplicate_review(session, actor=desk, page=1)
    (group,) = groups
    assert set(group.reasons) == {
        "customer.dup.phone",
        "customer.dup.id_number",
        "customer.dup.name_birth",
    }


# --- the page state ----------------------------------------------------------------------------


def _page_state(actor: Actor) -> tuple[rx.State, DataQualityState]:
    """A fresh state tree, logged in as the actor, as a browser tab gets one."""
    with session_scope() as session:
        login = auth.login_staff(
            session, username=actor.name, password="Correct-horse-42", ip="10.0.0.5"
        )
    assert login.ok
    root = rx.State(_reflex_internal_init=True)
    shell = root.substates[SessionState.get_name()]
    state = shell.substates[DataQualityState.get_name()]
    shell.token, shell.locale = login.token, "en"
    state.router = RouterData.from_router_data(
        {"pathname": "/data-quality", "asPath": "/data-quality", "query": {}, "headers": {}}
    )
    assert state.load() is DataQualityState.fetch_all
    assert state.fetch_all() == []
    return root, state


def test_the_page_state_shows_masked_values_and_merges_for_a_manager_only(manager, desk):
    survivor = _create(desk, CustomerInput(name="钱一", phone=PHONE, address=ADDRESS))
    merged = _create(desk, CustomerInput(name="钱一", phone=PHONE, email=EMAIL))

    root, state = _page_state(desk)
    assert not state.can_merge and state.total == 1
    assert [m.number for m in state.members[0]] == [survivor.number, merged.number]
    assert state.stale_total == 2  # neither was ever verified
    merging = state.substates[MergeDialogState.get_name()]
    merging.open_merge(0)
    assert not merging.is_open
    merging.survivor_id, merging.merged_id = str(survivor.id), str(merged.id)
    merging.confirm_merge({"reason": REASON})  # a browser may call it anyway: the service refuses
    assert merging.error == t("error.permission_denied", "en")
    assert [e.outcome for e in _audit("merge.merge_customers")] == ["denied"]

    root, state = _page_state(manager)
    assert state.can_merge
    merging = state.substates[MergeDialogState.get_name()]
    assert merging.open_merge(0) is MergeDialogState.load_preview
    merging.load_preview()
    assert (merging.survivor_id, merging.merged_id) == (str(survivor.id), str(merged.id))
    assert merging.preview[2] == PreviewRow("Mobile", "139****5678", "139****5678")
    assert merging.preview_fills == t("customer.field.email", "en")
    merging.choose("survivor", str(merged.id))  # choosing the other one as keeper swaps them
    assert (merging.survivor_id, merging.merged_id) == (str(merged.id), str(survivor.id))
    merging.load_preview()
    assert merging.preview_fills == t("customer.field.address", "en")
    for secret in (PHONE, ADDRESS, EMAIL):
        assert secret not in repr(root.dict()), secret
    merging.confirm_merge({"reason": ""})
    assert merging.reason_error == t("customer.error.reason_required", "en") and merging.is_open
    merging.confirm_merge({"reason": REASON})
    assert not merging.is_open and state.total == 0 and state.groups == []
    with session_scope() as session:
        assert session.get(Customer, survivor.id).merged_into_id == merged.id
