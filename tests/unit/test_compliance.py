"""合规管理 services: the overview's counts, purposes with their lawful basis (edited, audited,
disabled at once), privacy-notice drafts (one at a time, checked, read-only once published), and
only compliance may do any of it."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from custapp import clock
from custapp.db import session_scope
from custapp.models import AuditEntry, PrivacyNotice, Purpose, RightsRequest
from custapp.services import bootstrap, compliance, consent, customers, merge
from custapp.services.actor import Actor, system_actor
from custapp.services.customers import CustomerInput
from custapp.services.errors import DomainError, NotFound, PermissionDenied, ValidationFailed

PASSWORD = "Correct-horse-42"
OTHER_ROLES = ("front_desk", "cs_manager", "auditor", "sysadmin", "member")


def _staff(username: str, role: str) -> Actor:
    with session_scope() as session:
        user_id = bootstrap.create_staff_user(
            session,
            actor=system_actor("test"),
            username=username,
            display_name=f"{username} 名",
            roles=[role],
            password=PASSWORD,
        )
    return Actor(user_id=user_id, name=username, roles=frozenset({role}))


@pytest.fixture
def officer(db) -> Actor:
    return _staff("comp.officer", "compliance")


@pytest.fixture
def desk(db) -> Actor:
    return _staff("desk.one", "front_desk")


def _customer(desk: Actor, name: str, phone: str) -> int:
    with session_scope() as session:
        return customers.create_customer(
            session, actor=desk, data=CustomerInput(name=name, phone=phone)
        ).id


def _answer(desk: Actor, customer_id: int, **choices: str) -> None:
    with session_scope() as session:
        consent.record_consents(
            session, actor=desk, customer_id=customer_id, choices=choices, evidence_ref="F-001"
        )


def _purpose(code: str) -> Purpose:
    with session_scope() as session:
        return session.get(Purpose, code)


def _edit(actor: Actor, code: str, **changes: object):  # noqa: ANN202
    row = _purpose(code)
    values = {
        "name_zh": row.name_zh,
        "name_en": row.name_en,
        "description_zh": row.description_zh,
        "description_en": row.description_en,
        "lawful_basis": row.lawful_basis,
        "enabled": row.enabled,
        **changes,
    }
    with session_scope() as session:
        return compliance.update_purpose(session, actor=actor, code=code, **values)


def _errors(call) -> dict[str, str]:  # noqa: ANN001
    with pytest.raises(ValidationFailed) as failed:
        call()
    return failed.value.errors


def _audit(action: str) -> list[AuditEntry]:
    with session_scope() as session:
        return list(
            session.exec(
                select(AuditEntry).where(AuditEntry.action == action).order_by(AuditEntry.seq)
            ).scalars()
        )


def _rights(customer_id: int, number: str, status: str, due_in_days: int) -> None:
    now = clock.now()
    with session_scope() as session:
        session.add(
            RightsRequest(
                number=number,
                customer_id=customer_id,
                kind="copy",
                channel="counter",
                received_at=now,
                due_on=clock.local_today() + timedelta(days=due_in_days),
                status=status,
                updated_at=now,
            )
        )


# --- the overview -------------------------------------------------------------------------------


def test_overview_counts_by_purpose_and_state_without_merged_customers(officer, desk):
    a = _customer(desk, "甲", "13800000001")
    b = _customer(desk, "乙", "13800000002")
    c = _customer(desk, "丙", "13800000003")
    twin = _customer(desk, "甲", "13800000001")
    _answer(desk, a, marketing_sms="grant", care="grant", analytics="refuse")
    _answer(desk, b, marketing_sms="grant", care="refuse")
    _answer(desk, c, marketing_sms="refuse")
    _answer(desk, twin, marketing_sms="grant", analytics="grant")
    with session_scope() as session:
        consent.withdraw_consent(session, actor=desk, customer_id=b, purpose="marketing_sms")
        merge.merge_customers(
            session, actor=system_actor("test"), survivor_id=a, merged_id=twin, reason="重复建档"
        )
    _rights(a, "Q202601010001", "open", -1)  # overdue
    _rights(a, "Q202601010002", "in_progress", 0)  # due today: not overdue yet
    _rights(b, "Q202601010003", "done", -5)  # done: neither

    with session_scope() as session:
        view = compliance.overview(session, actor=officer)
    counts = {p.code: (p.granted, p.refused, p.withdrawn) for p in view.purposes}
    assert counts["marketing_sms"] == (1, 1, 1)
    assert counts["care"] == (1, 1, 0)
    # the survivor kept the more restrictive answer (refused); the merged twin is not counted
    assert counts["analytics"] == (0, 1, 0)
    assert counts["marketing_phone"] == counts["service"] == (0, 0, 0)
    by_code = {p.code: p for p in view.purposes}
    assert by_code["cross_border"].enabled is False and by_code["cross_border"].in_notice is False
    assert by_code["service"].consent_based is False and by_code["service"].in_notice
    assert [p.code for p in view.purposes][0] == "service"  # display order
    assert (view.rights_open, view.rights_overdue) == (2, 1)
    assert (view.reconfirm_customers, view.notices_to_queue) == (0, 0)
    assert (view.notice_version, view.draft_id, view.draft_version) == (1, None, None)


def test_overview_counts_the_customers_to_reconfirm_and_the_notices_to_send(officer, desk):
    a = _customer(desk, "甲", "13800000001")
    b = _customer(desk, "乙", "13800000002")
    _answer(desk, a, marketing_sms="grant", care="grant")
    _answer(desk, b, care="grant")
    with session_scope() as session:
        draft = compliance.create_draft(session, actor=officer)
        assert compliance.overview(session, actor=officer).draft_version == draft.version == 2
        compliance.update_draft(
            session,
            actor=officer,
            notice_id=draft.id,
            handler_zh=draft.handler_zh,
            handler_en=draft.handler_en,
            body_zh=draft.body_zh,
            body_en=draft.body_en,
            purposes=[c for c in draft.purposes if c != "analytics"],
        )
        compliance.publish_draft(session, actor=officer, notice_id=draft.id)
    with session_scope() as session:
        view = compliance.overview(session, actor=officer)
    assert (view.reconfirm_customers, view.notices_to_queue) == (2, 2)
    assert {p.code: p.reconfirm for p in view.purposes if p.reconfirm} == {
        "marketing_sms": 1,
        "care": 2,
    }
    consent.notify_reconfirm(session_scope)
    with session_scope() as session:
        view = compliance.overview(session, actor=officer)
    assert (view.reconfirm_customers, view.notices_to_queue) == (2, 0)
    assert (view.notice_version, view.draft_id) == (2, None)


# --- purposes -----------------------------------------------------------------------------------


def test_a_purpose_edit_is_saved_and_audited_with_its_field_names(officer):
    before = _purpose("marketing_sms")
    row = _edit(
        officer,
        "marketing_sms",
        name_zh="短信营销推广",
        description_en="  Offers by SMS.  ",
        lawful_basis="separate_consent",
    )
    assert (row.name_zh, row.description_en, row.lawful_basis) == (
        "短信营销推广",
        "Offers by SMS.",
        "separate_consent",
    )
    stored = _purpose("marketing_sms")
    assert (stored.name_zh, stored.lawful_basis, stored.updated_by) == (
        "短信营销推广",
        "separate_consent",
        officer.user_id,
    )
    assert stored.name_en == before.name_en and stored.consent_based is True
    (entry,) = _audit("purpose.update")
    assert entry.actor_id == officer.user_id and entry.target_id == "marketing_sms"
    assert entry.fields == "name_zh,description_en,lawful_basis"
    assert '"lawful_basis": ["consent", "separate_consent"]' in entry.detail
    assert "短信营销推广" not in entry.detail and "Offers" not in entry.detail

    _edit(officer, "marketing_sms")  # nothing changed: nothing to record
    assert len(_audit("purpose.update")) == 1


def test_a_disabled_purpose_is_refused_at_once_and_usable_again_when_enabled(officer, desk):
    customer = _customer(desk, "甲", "13800000001")
    _answer(desk, customer, marketing_sms="grant")

    def permits() -> bool:
        with session_scope() as session:
            return consent.permits(session, customer_id=customer, purpose="marketing_sms")

    assert permits()
    _edit(officer, "marketing_sms", enabled=False)
    assert not permits()
    (entry,) = _audit("purpose.update")
    assert entry.fields == "enabled" and '"enabled": [true, false]' in entry.detail
    _edit(officer, "marketing_sms", enabled=True)
    assert permits()


def test_purpose_rules(officer):
    assert _errors(lambda: _edit(officer, "service", enabled=False)) == {
        "enabled": "compliance.error.keep_enabled"
    }
    assert _errors(lambda: _edit(officer, "service", lawful_basis="consent")) == {
        "lawful_basis": "compliance.error.basis_not_consent"
    }
    assert _edit(officer, "service", lawful_basis="legal_obligation").lawful_basis == (
        "legal_obligation"
    )
    assert _errors(lambda: _edit(officer, "care", lawful_basis="contract")) == {
        "lawful_basis": "compliance.error.basis_needs_consent"
    }
    assert _errors(
        lambda: _edit(officer, "care", name_zh=" ", name_en="x" * 81, description_zh="长" * 501)
    ) == {
        "name_zh": "compliance.error.required",
        "name_en": "compliance.error.too_long_80",
        "description_zh": "compliance.error.too_long_500",
    }
    with pytest.raises(NotFound), session_scope() as session:
        compliance.update_purpose(
            session,
            actor=officer,
            code="no_such",
            name_zh="x",
            name_en="x",
            description_zh="",
            description_en="",
            lawful_basis="consent",
            enabled=True,
        )
    assert _purpose("care").name_zh == "关怀问候"


# --- drafts ---------------------------------------------------------------------------------------


def _update(actor: Actor, notice_id: int, **changes: object):  # noqa: ANN202
    with session_scope() as session:
        draft = compliance.get_notice(session, actor=actor, notice_id=notice_id)
        values = {
            "handler_zh": draft.handler_zh,
            "handler_en": draft.handler_en,
            "body_zh": draft.body_zh,
            "body_en": draft.body_en,
            "purposes": draft.purposes,
            **changes,
        }
        return compliance.update_draft(session, actor=actor, notice_id=notice_id, **values)


def _new_draft(actor: Actor):  # noqa: ANN202
    with session_scope() as session:
        return compliance.create_draft(session, actor=actor)


def test_a_draft_starts_from_the_current_version_and_only_one_is_open(officer):
    draft = _new_draft(officer)
    with session_scope() as session:
        current = consent.current_notice(session)
    assert (draft.version, draft.status, draft.current) == (2, "draft", False)
    assert (draft.handler_zh, draft.body_zh, draft.body_en) == (
        current.handler_zh,
        current.body_zh,
        current.body_en,
    )
    assert draft.purposes == consent.notice_purposes(current)
    with pytest.raises(DomainError) as refused:
        _new_draft(officer)
    assert refused.value.key == "compliance.error.draft_exists"
    (entry,) = _audit("notice.draft_create")
    assert entry.target_id == "2" and '"from_version": 1' in entry.detail


def test_a_draft_is_checked_and_saved_with_service_always_in_display_order(officer):
    draft = _new_draft(officer)
    saved = _update(officer, draft.id, purposes=["care", "marketing_sms"], handler_zh=" 某某店 ")
    assert saved.purposes == ["service", "marketing_sms", "care"]
    assert saved.handler_zh == "某某店"
    (entry,) = _audit("notice.draft_update")
    assert entry.fields == "handler_zh,purposes"

    assert _errors(
        lambda: _update(
            officer,
            draft.id,
            handler_en="",
            body_zh="我们处理您的个人信息。",
            body_en="We process your data.",
            purposes=["cross_border"],
        )
    ) == {
        "handler_en": "compliance.error.required",
        "body_zh": "compliance.error.withdraw_missing_zh",
        "body_en": "compliance.error.withdraw_missing_en",
        "purposes": "compliance.error.purpose_unusable",
    }
    assert _errors(lambda: _update(officer, draft.id, handler_zh="店" * 201)) == {
        "handler_zh": "compliance.error.too_long_200"
    }
    with session_scope() as session:
        stored = session.get(PrivacyNotice, draft.id)
    assert (stored.handler_zh, stored.purposes) == ("某某店", "service,marketing_sms,care")


def test_a_draft_with_a_purpose_disabled_since_cannot_be_published(officer):
    draft = _new_draft(officer)
    _edit(officer, "analytics", enabled=False)
    with session_scope() as session:
        with pytest.raises(ValidationFailed) as failed:
            compliance.publish_preview(session, actor=officer, notice_id=draft.id)
        assert failed.value.errors == {"purposes": "compliance.error.purpose_unusable"}
    with pytest.raises(ValidationFailed), session_scope() as session:
        compliance.publish_draft(session, actor=officer, notice_id=draft.id)
    with session_scope() as session:
        assert consent.current_notice(session).version == 1


def test_a_published_version_is_read_only_and_a_draft_may_be_discarded(officer):
    draft = _new_draft(officer)
    with session_scope() as session:
        compliance.publish_draft(session, actor=officer, notice_id=draft.id)
    for call in (
        lambda s: compliance.discard_draft(s, actor=officer, notice_id=draft.id),
        lambda s: compliance.publish_draft(s, actor=officer, notice_id=draft.id),
    ):
        with pytest.raises(DomainError) as refused, session_scope() as session:
            call(session)
        assert refused.value.key == "compliance.error.published_read_only"
    with pytest.raises(DomainError) as refused:
        _update(officer, draft.id, handler_zh="改")
    assert refused.value.key == "compliance.error.published_read_only"

    second = _new_draft(officer)
    assert second.version == 3
    with session_scope() as session:
        assert compliance.discard_draft(session, actor=officer, notice_id=second.id) == 3
        assert session.get(PrivacyNotice, second.id) is None
        assert compliance.overview(session, actor=officer).draft_id is None
    assert [e.target_id for e in _audit("notice.draft_discard")] == ["3"]


def test_versions_are_listed_newest_first_one_page_at_a_time(officer):
    for _ in range(2):
        draft = _new_draft(officer)
        with session_scope() as session:
            compliance.publish_draft(session, actor=officer, notice_id=draft.id)
    _new_draft(officer)
    with session_scope() as session:
        first, total = compliance.list_notices(session, actor=officer, page=1, page_size=2)
        second, _ = compliance.list_notices(session, actor=officer, page=2, page_size=2)
    assert total == 4
    assert [(r.version, r.status, r.current) for r in first + second] == [
        (4, "draft", False),
        (3, "published", True),
        (2, "published", False),
        (1, "published", False),
    ]
    assert first[1].published_by == "comp.officer 名" and first[0].created_by == "comp.officer 名"
    assert second[1].published_by == ""  # version 1 came with the installation


# --- who may -------------------------------------------------------------------------------------


def _someone(role: str) -> Actor:
    if role == "member":
        return Actor(user_id=None, name="member#1", kind="member", roles=frozenset({"member"}))
    return _staff(f"someone.{role}", role)


@pytest.mark.parametrize("role", OTHER_ROLES)
def test_nobody_but_compliance_manages_purposes_and_notices(officer, role):
    actor = _someone(role)
    draft = _new_draft(officer)
    calls = {
        "compliance.overview": lambda s: compliance.overview(s, actor=actor),
        "compliance.update_purpose": lambda s: compliance.update_purpose(
            s,
            actor=actor,
            code="marketing_sms",
            name_zh="x",
            name_en="x",
            description_zh="",
            description_en="",
            lawful_basis="consent",
            enabled=False,
        ),
        "compliance.create_draft": lambda s: compliance.create_draft(s, actor=actor),
        "compliance.update_draft": lambda s: compliance.update_draft(
            s,
            actor=actor,
            notice_id=draft.id,
            handler_zh="x",
            handler_en="x",
            body_zh="撤回",
            body_en="withdraw",
            purposes=[],
        ),
        "compliance.publish_draft": lambda s: compliance.publish_draft(
            s, actor=actor, notice_id=draft.id
        ),
        "consent.publish_notice": lambda s: consent.publish_notice(
            s, actor=actor, notice_id=draft.id
        ),
    }
    for action, call in calls.items():
        with pytest.raises(PermissionDenied), session_scope() as session:
            call(session)
        (entry,) = _audit(action)
        assert (entry.outcome, entry.reason) == ("denied", "consent.manage")
    with pytest.raises(PermissionDenied):
        compliance.send_change_notices(session_scope, actor=actor)
    assert _purpose("marketing_sms").enabled is True
    with session_scope() as session:
        assert consent.current_notice(session).version == 1
        assert session.get(PrivacyNotice, draft.id).handler_zh == draft.handler_zh
