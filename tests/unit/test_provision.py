"""对外提供 and 依法披露 (issue 4, SPEC §4): recipients only with a confidentiality agreement, a
provision refused with nothing saved when any included customer lacks consent (naming them), the
consent event relied on recorded per customer, and legally required disclosures without consent.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import func, select

from custapp import clock
from custapp.db import session_scope
from custapp.models import (
    AuditEntry,
    ConsentState,
    LegalDisclosure,
    Provision,
    ProvisionCustomer,
    Recipient,
    User,
    UserRole,
)
from custapp.security.permissions import ALL_ROLES, COMPLIANCE, MEMBER
from custapp.services import consent, customers, merge, provision
from custapp.services.actor import Actor, system_actor
from custapp.services.customer_input import CustomerInput
from custapp.services.customer_search import CustomerFilter
from custapp.services.errors import NotFound, PermissionDenied, ValidationFailed

T0 = datetime(2026, 5, 1, 2, 0, tzinfo=UTC)  # 10:00 in Shanghai
TODAY = date(2026, 5, 1)
NDA = {"nda_reference": "NDA-2026-007", "nda_signed_on": "2026-04-20"}
OVERSIGHT = "每季度检查接收方的数据使用与安全措施，合同到期后书面确认删除"


def _staff(role: str) -> Actor:
    with session_scope() as session:
        user = User(username=f"u.{role}", display_name=f"{role} 用户", created_at=T0, updated_at=T0)
        session.add(user)
        session.flush()
        session.add(UserRole(user_id=user.id, role=role, granted_at=T0))
    return Actor(
        user_id=user.id, name=f"u.{role}", roles=frozenset({role}), display_name=f"{role} 用户"
    )


@pytest.fixture
def officer(db) -> Actor:
    clock.set_now(T0)
    return _staff(COMPLIANCE)


def _customer(name: str, phone: str, tags: list[str] | None = None) -> tuple[int, str]:
    with session_scope() as session:
        ref = customers.create_customer(
            session,
            actor=system_actor("test"),
            data=CustomerInput(name=name, phone=phone, tags=tags or []),
        )
    return ref.id, ref.number


def _consent(customer_id: int, **choices: str) -> None:
    with session_scope() as session:
        consent.record_consents(
            session,
            actor=system_actor("test"),
            customer_id=customer_id,
            choices=choices,
            evidence_ref="F-001",
        )


def _withdraw(customer_id: int, purpose: str) -> None:
    with session_scope() as session:
        consent.withdraw_consent(
            session, actor=system_actor("test"), customer_id=customer_id, purpose=purpose
        )


def _recipient(actor: Actor, name: str = "顺达物流有限公司", **changes: object) -> int:
    fields = {"name": name, "contact": "021-55550000", "oversight_note": OVERSIGHT, **NDA}
    fields.update(changes)
    with session_scope() as session:
        return provision.add_recipient(session, actor=actor, **fields).id


def _provide(actor: Actor, recipient_id: int, **changes: object) -> provision.ProvisionOutcome:
    fields: dict[str, object] = {
        "recipient_id": recipient_id,
        "purpose": "third_party",
        "categories": ["basic", "contact"],
        "period_from": "2026-05-01",
        "period_to": "2026-12-31",
        "contract_reference": "HT-2026-031",
        **changes,
    }
    with session_scope() as session:
        return provision.create_provision(session, actor=actor, **fields)


def _count(model) -> int:  # noqa: ANN001
    with session_scope(write=False) as session:
        return session.exec(select(func.count()).select_from(model)).scalar_one()


def _last_audit() -> AuditEntry:
    with session_scope() as session:  # a commit keeps the row loaded (a rollback expires it)
        return session.exec(
            select(AuditEntry).order_by(AuditEntry.seq.desc()).limit(1)
        ).scalar_one()


# --- recipients --------------------------------------------------------------------------------


def test_a_recipient_cannot_exist_without_its_confidentiality_agreement(officer):
    with pytest.raises(ValidationFailed) as refused, session_scope() as session:
        provision.add_recipient(
            session,
            actor=officer,
            name="  ",
            nda_reference="",
            nda_signed_on="",
            oversight_note="",
        )
    assert refused.value.errors == {
        "name": "provision.error.name_required",
        "nda_reference": "provision.error.nda_reference_required",
        "nda_signed_on": "provision.error.nda_signed_on_required",
        "oversight_note": "provision.error.oversight_note_required",
    }
    with pytest.raises(ValidationFailed) as refused, session_scope() as session:
        provision.add_recipient(
            session,
            actor=officer,
            name="顺达物流有限公司",
            nda_reference="NDA-1",
            nda_signed_on="2026-05-02",  # tomorrow: not signed yet
            oversight_note=OVERSIGHT,
        )
    assert refused.value.errors == {"nda_signed_on": "customer.error.date_range"}
    assert _count(Recipient) == 0


def test_recipients_are_added_edited_deactivated_and_audited(officer):
    first = _recipient(officer)
    with pytest.raises(ValidationFailed) as refused:
        _recipient(officer, name="顺达物流有限公司")
    assert refused.value.errors == {"name": "provision.error.name_taken"}
    assert _last_audit().action == "provision.add_recipient"

    with session_scope() as session:
        row = provision.update_recipient(
            session,
            actor=officer,
            recipient_id=first,
            name="顺达物流有限公司",
            contact="021-55550000",
            oversight_note=OVERSIGHT,
            nda_reference="NDA-2027-001",
            nda_signed_on=date(2026, 4, 30),
        )
    assert (row.nda_reference, row.nda_signed_on) == ("NDA-2027-001", date(2026, 4, 30))
    entry = _last_audit()
    assert (entry.action, entry.fields) == (
        "provision.update_recipient",
        "nda_reference,nda_signed_on",
    )

    second = _recipient(officer, name="安心保险代理")
    with session_scope() as session:
        provision.set_recipient_active(session, actor=officer, recipient_id=first, active=False)
    with session_scope(write=False) as session:
        rows, total = provision.list_recipients(session, actor=officer, page=1, page_size=1)
        choices = provision.recipient_choices(session, actor=officer)
    assert total == 2 and [r.id for r in rows] == [second]  # the active one first
    assert choices == [(second, "安心保险代理")]
    with pytest.raises(NotFound), session_scope() as session:
        provision.set_recipient_active(session, actor=officer, recipient_id=999, active=False)


def test_an_inactive_recipient_receives_nothing(officer):
    customer_id, number = _customer("王小明", "13912345678")
    _consent(customer_id, third_party="grant")
    recipient = _recipient(officer)
    with session_scope() as session:
        provision.set_recipient_active(session, actor=officer, recipient_id=recipient, active=False)
    with pytest.raises(ValidationFailed) as refused:
        _provide(officer, recipient, numbers=number)
    assert refused.value.errors == {"recipient": "provision.error.recipient_inactive"}
    with pytest.raises(ValidationFailed) as refused:
        _provide(officer, None, numbers=number)
    assert refused.value.errors == {"recipient": "provision.error.recipient_required"}
    assert _count(Provision) == 0


# --- provisions ----------------------------------------------------------------------------------


def test_a_provision_including_one_non_consenting_customer_is_refused_and_names_them(officer):
    agreed = [_customer(f"同意客户{i}", f"1391234567{i}") for i in range(3)]
    for customer_id, _ in agreed:
        _consent(customer_id, third_party="grant")
    refuser_id, refuser_number = _customer("李拒绝", "13800000001")
    _consent(refuser_id, third_party="refuse", marketing_sms="grant")
    recipient = _recipient(officer)
    numbers = "\n".join(n for _, n in agreed[:2]) + f"\n{refuser_number}，{agreed[2][1]}"

    outcome = _provide(officer, recipient, numbers=numbers)

    assert outcome.provision is None and outcome.refused_total == 1
    assert outcome.refused == [
        provision.RefusedCustomer(refuser_number, "李拒绝", "consent.why.refused", {})
    ]
    assert _count(Provision) == 0 and _count(ProvisionCustomer) == 0
    entry = _last_audit()
    assert (entry.action, entry.outcome, entry.actor_id) == (
        "provision.create",
        "refused",
        officer.user_id,
    )
    assert "李拒绝" not in entry.detail and refuser_number not in entry.detail
    assert '"refused": 1' in entry.detail and '"customers": 4' in entry.detail


def test_a_withdrawn_consent_and_one_never_asked_also_refuse(officer):
    withdrawn_id, withdrawn_number = _customer("张撤回", "13800000002")
    _consent(withdrawn_id, third_party="grant")
    _withdraw(withdrawn_id, "third_party")
    _, never_asked = _customer("赵未问", "13800000003")
    recipient = _recipient(officer)
    outcome = _provide(officer, recipient, numbers=f"{withdrawn_number},{never_asked}")
    assert [(r.number, r.reason) for r in outcome.refused] == [
        (withdrawn_number, "consent.why.withdrawn"),
        (never_asked, "consent.why.not_asked"),
    ]
    assert _count(Provision) == 0


def test_a_successful_provision_records_the_consent_relied_on(officer):
    first_id, first_number = _customer("钱同意", "13800000004")
    second_id, second_number = _customer("孙同意", "13800000005")
    _consent(first_id, third_party="grant")
    _consent(second_id, third_party="refuse")
    _consent(second_id, third_party="grant")  # changed their mind: the latest grant counts
    with session_scope(write=False) as session:
        relied = {
            i: session.get(ConsentState, (i, "third_party")).last_event_id
            for i in (first_id, second_id)
        }
    recipient = _recipient(officer)

    outcome = _provide(
        officer,
        recipient,
        numbers=f" {first_number.lower()}\n\n{second_number}\n{first_number}",
        categories=["purchases", "basic"],
    )

    saved = outcome.provision
    assert outcome.refused == [] and saved is not None
    assert (saved.customer_count, saved.categories, saved.by_segment) == (
        2,
        ["basic", "purchases"],
        False,
    )
    with session_scope() as session:
        stored = session.get(Provision, saved.id)
        links = session.exec(select(ProvisionCustomer)).scalars().all()
        listed, total = provision.list_provisions(session, actor=officer)
        people, count = provision.provision_customers(
            session, actor=officer, provision_id=saved.id, page=1, page_size=1
        )
    assert (stored.recipient_id, stored.purpose, stored.contract_reference) == (
        recipient,
        "third_party",
        "HT-2026-031",
    )
    assert (stored.period_from, stored.period_to) == (date(2026, 5, 1), date(2026, 12, 31))
    assert {(p.customer_id, p.consent_event_id) for p in links} == set(relied.items())
    assert total == 1 and listed[0].recipient_name == "顺达物流有限公司"
    assert listed[0].created_by == officer.display_name
    assert count == 2 and [(p.number, p.consent_event_id) for p in people] == [
        (first_number, relied[first_id])
    ]
    entry = _last_audit()
    assert (entry.action, entry.outcome, entry.target_type) == (
        "provision.create",
        "ok",
        "provision",
    )
    assert first_number not in entry.detail and "钱同意" not in entry.detail
    with pytest.raises(NotFound), session_scope(write=False) as session:
        provision.provision_customers(session, actor=officer, provision_id=saved.id + 1)


def test_a_later_withdrawal_refuses_the_next_provision(officer):
    customer_id, number = _customer("周客户", "13800000006")
    _consent(customer_id, third_party="grant")
    recipient = _recipient(officer)
    assert _provide(officer, recipient, numbers=number).provision is not None
    _withdraw(customer_id, "third_party")
    outcome = _provide(officer, recipient, numbers=number)
    assert [r.reason for r in outcome.refused] == ["consent.why.withdrawn"]
    assert _count(Provision) == 1


def test_only_a_provision_purpose_that_the_notice_names_may_be_chosen(officer):
    customer_id, number = _customer("吴客户", "13800000007")
    _consent(customer_id, third_party="grant", marketing_sms="grant")
    recipient = _recipient(officer)
    with pytest.raises(ValidationFailed) as refused:
        _provide(officer, recipient, numbers=number, purpose="marketing_sms")
    assert refused.value.errors == {"purpose": "provision.error.purpose"}
    with pytest.raises(ValidationFailed) as refused:  # disabled by default
        _provide(officer, recipient, numbers=number, purpose="cross_border")
    assert refused.value.errors == {"purpose": "consent.why.purpose_unusable"}
    with session_scope(write=False) as session:
        assert provision.purpose_choices(session, actor=officer, locale="en") == [
            ("third_party", "Provision to third parties")
        ]


@pytest.mark.parametrize(
    ("period_from", "period_to", "errors"),
    [
        ("2026-04-30", "2026-12-31", {"period_from": "provision.error.period_past"}),
        ("2026-06-01", "2026-05-31", {"period_to": "provision.error.period_order"}),
        ("2026-05-01", "2031-06-01", {"period_to": "provision.error.period_long"}),
        ("2026-13-01", "", {
            "period_from": "customer.error.date_format",
            "period_to": "provision.error.period_to_required",
        }),
    ],
)  # fmt: skip
def test_the_period_starts_today_or_later_and_ends_after_it_starts(
    officer, period_from, period_to, errors
):
    customer_id, number = _customer("郑客户", "13800000008")
    _consent(customer_id, third_party="grant")
    recipient = _recipient(officer)
    with pytest.raises(ValidationFailed) as refused:
        _provide(officer, recipient, numbers=number, period_from=period_from, period_to=period_to)
    assert refused.value.errors == errors
    one_day = _provide(officer, recipient, numbers=number, period_from=TODAY, period_to=TODAY)
    assert one_day.provision is not None


def test_categories_contract_and_the_customer_list_are_required(officer):
    recipient = _recipient(officer)
    with pytest.raises(ValidationFailed) as refused:
        _provide(officer, recipient, categories=[], contract_reference=" ", numbers="")
    assert refused.value.errors == {
        "categories": "provision.error.categories",
        "contract_reference": "provision.error.contract_reference_required",
        "customers": "provision.error.customers_required",
    }
    with pytest.raises(ValidationFailed) as refused:
        _provide(officer, recipient, categories=["basic", "bank_cards"], numbers="C20260000001")
    assert refused.value.errors == {"categories": "provision.error.categories"}


def test_entries_that_are_not_customer_numbers_are_not_echoed(officer):
    recipient = _recipient(officer)
    with pytest.raises(ValidationFailed) as refused:
        _provide(officer, recipient, numbers="C20260000001\n13912345678")
    assert refused.value.errors == {"customers": "provision.error.bad_numbers"}
    assert "13912345678" not in str(refused.value.__dict__)


def test_unknown_and_merged_numbers_are_refused_by_name(officer):
    survivor_id, survivor_number = _customer("冯客户", "13800000009")
    merged_id, merged_number = _customer("冯客户", "13800000010")
    for customer_id in (survivor_id, merged_id):
        _consent(customer_id, third_party="grant")
    with session_scope() as session:
        merge.merge_customers(
            session,
            actor=system_actor("test"),
            survivor_id=survivor_id,
            merged_id=merged_id,
            reason="同一客户重复建档",
        )
    recipient = _recipient(officer)
    outcome = _provide(officer, recipient, numbers=f"{merged_number}\nC20269999999")
    assert outcome.refused == [
        provision.RefusedCustomer(
            merged_number, "冯客户", "provision.why.merged", {"survivor": survivor_number}
        ),
        provision.RefusedCustomer("C20269999999", "", "provision.why.unknown", {}),
    ]
    assert _provide(officer, recipient, numbers=survivor_number).provision is not None


def test_the_refusal_names_the_first_few_and_counts_the_rest(officer, monkeypatch):
    monkeypatch.setattr(provision, "REFUSAL_SHOWN", 2)
    numbers = [_customer(f"客户{i}", f"1370000000{i}")[1] for i in range(5)]
    outcome = _provide(officer, _recipient(officer), numbers=",".join(numbers))
    assert outcome.refused_total == 5
    assert [r.number for r in outcome.refused] == numbers[:2]


def test_a_segment_is_refused_when_any_of_its_customers_lacks_consent(officer, monkeypatch):
    members = [_customer(f"分群客户{i}", f"1360000000{i}", ["合作推广"]) for i in range(3)]
    outsider_id, _ = _customer("非分群客户", "13600000009", ["其他"])
    for customer_id, _ in members[:2]:
        _consent(customer_id, third_party="grant")
    recipient = _recipient(officer)
    segment = CustomerFilter(tag="合作推广")

    refused = _provide(officer, recipient, segment=segment)
    assert [r.number for r in refused.refused] == [members[2][1]]

    _consent(members[2][0], third_party="grant")
    saved = _provide(officer, recipient, segment=segment).provision
    assert saved is not None and saved.by_segment and saved.customer_count == 3
    with session_scope(write=False) as session:
        included = set(session.exec(select(ProvisionCustomer.customer_id)).scalars())
        assert session.get(Provision, saved.id).segment == '{"tag": "合作推广"}'
    assert included == {i for i, _ in members} and outsider_id not in included

    with pytest.raises(ValidationFailed) as error:
        _provide(officer, recipient, segment=CustomerFilter(tag="无人"))
    assert error.value.errors == {"customers": "provision.error.segment_empty"}
    with pytest.raises(ValidationFailed) as error:
        _provide(officer, recipient, segment=segment, numbers=members[0][1])
    assert error.value.errors == {"customers": "provision.error.numbers_or_segment"}
    monkeypatch.setattr(provision, "MAX_CUSTOMERS", 2)
    with pytest.raises(ValidationFailed) as error:
        _provide(officer, recipient, segment=segment)
    assert error.value.errors == {"customers": "provision.error.too_many"}
    assert _count(Provision) == 1


# --- legally required disclosures ------------------------------------------------------------------


def _disclose(actor: Actor, **changes: object) -> provision.DisclosureRow:
    fields: dict[str, object] = {
        "customer_number": "",
        "authority": "上海市公安局浦东分局",
        "legal_basis": "《中华人民共和国刑事诉讼法》第五十四条",
        "document_reference": "沪公浦（调）字〔2026〕118号",
        "categories": ["basic", "purchases"],
        "disclosed_on": "2026-04-28",
        "harm_note": "仅提供调取证明所列期间的消费记录，未提供其他信息",
        **changes,
    }
    with session_scope() as session:
        return provision.record_disclosure(session, actor=actor, **fields)


def test_a_legally_required_disclosure_is_recorded_without_consent(officer):
    customer_id, number = _customer("陈客户", "13500000001")
    _consent(customer_id, third_party="refuse")  # refused provision: the law does not ask
    row = _disclose(officer, customer_number=f" {number.lower()} ")
    assert (row.customer_id, row.customer_number, row.customer_name) == (
        customer_id,
        number,
        "陈客户",
    )
    assert (row.disclosed_on, row.categories) == (date(2026, 4, 28), ["basic", "purchases"])
    entry = _last_audit()
    assert (entry.action, entry.customer_id, entry.outcome) == (
        "provision.record_disclosure",
        customer_id,
        "ok",
    )
    assert "公安" not in entry.detail and "刑事诉讼法" not in entry.detail
    with session_scope(write=False) as session:
        rows, total = provision.list_disclosures(session, actor=officer)
    assert total == 1 and rows[0].authority == "上海市公安局浦东分局"
    assert rows[0].legal_basis.startswith("《中华人民共和国刑事诉讼法》")
    assert rows[0].created_by == officer.display_name


def test_a_disclosure_needs_the_authority_basis_document_and_a_real_customer(officer):
    survivor_id, _ = _customer("褚客户", "13500000002")
    merged_id, merged_number = _customer("褚客户", "13500000003")
    with session_scope() as session:
        merge.merge_customers(
            session, actor=system_actor("test"), survivor_id=survivor_id, merged_id=merged_id,
            reason="同一客户重复建档",
        )  # fmt: skip
    with pytest.raises(ValidationFailed) as refused:
        _disclose(
            officer,
            customer_number="13500000002",
            authority="",
            legal_basis="",
            document_reference="",
            harm_note="",
            categories=[],
            disclosed_on=(TODAY + timedelta(days=1)).isoformat(),
        )
    assert refused.value.errors == {
        "customer_number": "provision.error.customer_number_format",
        "authority": "provision.error.authority_required",
        "legal_basis": "provision.error.legal_basis_required",
        "document_reference": "provision.error.document_reference_required",
        "harm_note": "provision.error.harm_note_required",
        "categories": "provision.error.categories",
        "disclosed_on": "customer.error.date_range",
    }
    for number, error in (
        ("C20269999999", "provision.why.unknown"),
        (merged_number, "provision.error.customer_merged"),
        ("", "provision.error.customer_number_required"),
    ):
        with pytest.raises(ValidationFailed) as refused:
            _disclose(officer, customer_number=number)
        assert refused.value.errors == {"customer_number": error}
    assert _count(LegalDisclosure) == 0


# --- only compliance manages recipients, provisions and disclosures -----------------------------


@pytest.mark.parametrize("role", [r for r in ALL_ROLES if r != COMPLIANCE])
def test_every_other_role_is_refused_and_nothing_is_saved(officer, role):
    customer_id, number = _customer("卫客户", "13500000004")
    _consent(customer_id, third_party="grant")
    recipient = _recipient(officer)
    other = (
        Actor(
            user_id=None,
            name="member#1",
            kind=MEMBER,
            roles=frozenset({MEMBER}),
            customer_id=customer_id,
        )  # fmt: skip
        if role == MEMBER
        else _staff(role)
    )
    calls = [
        lambda s: provision.add_recipient(
            s, actor=other, name="另一家公司", oversight_note=OVERSIGHT, **NDA
        ),
        lambda s: provision.update_recipient(
            s, actor=other, recipient_id=recipient, name="改名", oversight_note=OVERSIGHT, **NDA
        ),
        lambda s: provision.set_recipient_active(
            s, actor=other, recipient_id=recipient, active=False
        ),
        lambda s: provision.create_provision(
            s,
            actor=other,
            recipient_id=recipient,
            purpose="third_party",
            categories=["basic"],
            period_from=TODAY,
            period_to=TODAY,
            contract_reference="HT-1",
            numbers=number,
        ),  # fmt: skip
        lambda s: provision.record_disclosure(
            s,
            actor=other,
            customer_number=number,
            authority="某机关",
            legal_basis="某法",
            document_reference="D-1",
            categories=["basic"],
            disclosed_on=TODAY,
            harm_note="最小化",
        ),  # fmt: skip
        lambda s: provision.list_recipients(s, actor=other),
        lambda s: provision.list_provisions(s, actor=other),
        lambda s: provision.list_disclosures(s, actor=other),
    ]
    for call in calls:
        with pytest.raises(PermissionDenied), session_scope() as session:
            call(session)
        entry = _last_audit()
        assert (entry.outcome, entry.reason) == ("denied", "provision.manage")
    with session_scope() as session:
        (kept,) = session.exec(select(Recipient)).scalars().all()
    assert (kept.name, kept.active) == ("顺达物流有限公司", True)
    assert _count(Provision) == _count(ProvisionCustomer) == _count(LegalDisclosure) == 0
