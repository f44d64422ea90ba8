"""Publishing a privacy-notice version (002 CON-08): a change of purposes flags exactly the
customers who had granted a purpose as "re-confirm needed" (their consents stay granted), the
change notice goes to each of them once, a fresh answer clears the flag, and a version with the
same purposes flags nobody."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from custapp.db import session_scope
from custapp.models import AuditEntry, ConsentState, OutboxMessage
from custapp.services import bootstrap, compliance, consent, customers, merge
from custapp.services.actor import Actor, system_actor
from custapp.services.customers import CustomerInput
from custapp.services.errors import PermissionDenied

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


@pytest.fixture
def officer(db) -> Actor:
    return _staff("comp.officer", "compliance")


@pytest.fixture
def desk(db) -> Actor:
    return _staff("desk.one", "front_desk")


def _customer(desk: Actor, name: str, phone: str = "", email: str = "") -> int:
    with session_scope() as session:
        return customers.create_customer(
            session, actor=desk, data=CustomerInput(name=name, phone=phone, email=email)
        ).id


def _answer(desk: Actor, customer_id: int, **choices: str) -> None:
    with session_scope() as session:
        consent.record_consents(
            session, actor=desk, customer_id=customer_id, choices=choices, evidence_ref="F-001"
        )


def _withdraw(desk: Actor, customer_id: int, purpose: str) -> None:
    with session_scope() as session:
        consent.withdraw_consent(session, actor=desk, customer_id=customer_id, purpose=purpose)


def _states() -> dict[tuple[int, str], tuple[str, bool, bool]]:
    with session_scope() as session:
        rows = session.exec(select(ConsentState)).scalars().all()
        return {
            (s.customer_id, s.purpose): (s.state, s.reconfirm_needed, s.reconfirm_notified)
            for s in rows
        }


def _flagged_customers() -> set[int]:
    return {cid for (cid, _), (_, flagged, _) in _states().items() if flagged}


def _enable(officer: Actor, code: str) -> None:
    with session_scope() as session:
        row = next(p for p in compliance.list_purposes(session, actor=officer) if p.code == code)
        compliance.update_purpose(
            session,
            actor=officer,
            code=code,
            name_zh=row.name_zh,
            name_en=row.name_en,
            description_zh=row.description_zh,
            description_en=row.description_en,
            lawful_basis=row.lawful_basis,
            enabled=True,
        )


def _draft(officer: Actor, *, add: tuple[str, ...] = (), drop: tuple[str, ...] = ()) -> int:
    """A new draft from the current version with purposes added or dropped (text edited too)."""
    with session_scope() as session:
        draft = compliance.create_draft(session, actor=officer)
        chosen = [c for c in draft.purposes if c not in drop] + list(add)
        compliance.update_draft(
            session,
            actor=officer,
            notice_id=draft.id,
            handler_zh=draft.handler_zh,
            handler_en=draft.handler_en,
            body_zh=draft.body_zh + "\n联系电话：010-12345678。",
            body_en=draft.body_en + "\nPhone: 010-12345678.",
            purposes=chosen,
        )
        return draft.id


def _preview(officer: Actor, notice_id: int) -> compliance.PublishPreview:
    with session_scope() as session:
        return compliance.publish_preview(session, actor=officer, notice_id=notice_id)


def _publish(officer: Actor, notice_id: int) -> compliance.Published:
    with session_scope() as session:
        return compliance.publish_draft(session, actor=officer, notice_id=notice_id)


def _change_notices() -> dict[int, int]:
    with session_scope() as session:
        rows = session.exec(
            select(OutboxMessage.customer_id, func.count())
            .where(OutboxMessage.purpose == "service", OutboxMessage.channel == "sms")
            .group_by(OutboxMessage.customer_id)
        ).all()
        return dict(rows)


@pytest.fixture
def people(officer, desk) -> dict[str, int]:
    """granted: agreed to two purposes, refused one; refused: refused everything asked;
    withdrawn: agreed, then withdrew; silent: never asked; by_email: agreed, no phone."""
    ids = {
        "granted": _customer(desk, "已同意", phone="13800000001"),
        "refused": _customer(desk, "全拒绝", phone="13800000002"),
        "withdrawn": _customer(desk, "已撤回", phone="13800000003"),
        "silent": _customer(desk, "未询问", phone="13800000004"),
        "by_email": _customer(desk, "邮箱客户", email="mail@example.com"),
    }
    _answer(desk, ids["granted"], marketing_sms="grant", care="grant", analytics="refuse")
    _answer(desk, ids["refused"], marketing_sms="refuse", care="refuse", analytics="refuse")
    _answer(desk, ids["withdrawn"], care="grant")
    _withdraw(desk, ids["withdrawn"], "care")
    _answer(desk, ids["by_email"], marketing_email="grant")
    return ids


def test_adding_a_purpose_flags_exactly_the_customers_with_a_granted_purpose(officer, people):
    _enable(officer, "cross_border")
    draft = _draft(officer, add=("cross_border",))
    before = _states()

    preview = _preview(officer, draft)
    assert (preview.added, preview.removed, preview.customers) == (["cross_border"], [], 2)
    published = _publish(officer, draft)

    assert published.flagged == 2
    assert _flagged_customers() == {people["granted"], people["by_email"]}
    after = _states()
    assert after[people["granted"], "marketing_sms"] == ("granted", True, False)
    assert after[people["granted"], "care"] == ("granted", True, False)
    # only granted consents are flagged; nothing else moved
    assert after[people["granted"], "analytics"] == before[people["granted"], "analytics"]
    for who in ("refused", "withdrawn"):
        assert {k: v for k, v in after.items() if k[0] == people[who]} == {
            k: v for k, v in before.items() if k[0] == people[who]
        }
    assert not any(k[0] == people["silent"] for k in after)
    with session_scope() as session:
        assert consent.current_notice(session).version == published.version == 2
        assert "cross_border" in consent.notice_purposes(consent.current_notice(session))
        assert consent.permits(session, customer_id=people["granted"], purpose="marketing_sms")
        entry = session.exec(
            select(AuditEntry).where(AuditEntry.action == "notice.publish")
        ).scalar_one()
    assert entry.actor_id == officer.user_id and '"flagged_customers": 2' in entry.detail


def test_taking_a_purpose_out_flags_them_too(officer, people):
    published = _publish(officer, _draft(officer, drop=("analytics",)))
    assert published.flagged == 2
    assert _flagged_customers() == {people["granted"], people["by_email"]}


def test_the_same_purposes_flag_nobody(officer, people):
    draft = _draft(officer)
    preview = _preview(officer, draft)
    assert (preview.changed, preview.customers) == (False, 0)
    before = _states()
    assert _publish(officer, draft).flagged == 0
    assert _states() == before
    assert consent.notify_reconfirm(session_scope) == {"queued": 0, "no_phone": 0}
    assert _change_notices() == {}


def test_each_flagged_customer_with_a_phone_is_told_once(officer, people):
    _publish(officer, _draft(officer, drop=("analytics",)))

    result = consent.notify_reconfirm(session_scope, batch=1)  # one customer per transaction
    assert result == {"queued": 1, "no_phone": 1}
    assert _change_notices() == {people["granted"]: 1}
    flagged = {k: v for k, v in _states().items() if v[1]}
    assert flagged and all(notified for _, _, notified in flagged.values())

    assert consent.notify_reconfirm(session_scope) == {"queued": 0, "no_phone": 0}
    assert _change_notices() == {people["granted"]: 1}

    # a later change of purposes tells them again, about the newer version
    _enable(officer, "cross_border")
    _publish(officer, _draft(officer, add=("cross_border",)))
    assert consent.notify_reconfirm(session_scope) == {"queued": 1, "no_phone": 1}
    assert _change_notices() == {people["granted"]: 2}


def test_a_fresh_answer_clears_the_flag(officer, desk, people):
    _publish(officer, _draft(officer, drop=("analytics",)))
    consent.notify_reconfirm(session_scope)
    _answer(desk, people["granted"], marketing_sms="grant")
    states = _states()
    assert states[people["granted"], "marketing_sms"] == ("granted", False, False)
    assert states[people["granted"], "care"] == ("granted", True, True)  # not answered yet
    _answer(desk, people["granted"], care="refuse")
    assert _flagged_customers() == {people["by_email"]}
    with session_scope() as session:
        assert compliance.overview(session, actor=officer).reconfirm_customers == 1


def test_a_merged_customer_is_not_flagged_twice(officer, desk, people):
    twin = _customer(desk, "已同意", phone="13800000001")
    _answer(desk, twin, care="grant")
    with session_scope() as session:
        merge.merge_customers(
            session,
            actor=system_actor("test"),
            survivor_id=people["granted"],
            merged_id=twin,
            reason="同一客户重复建档",
        )
    draft = _draft(officer, drop=("analytics",))
    assert _preview(officer, draft).customers == 2
    assert _publish(officer, draft).flagged == 2
    assert twin not in _flagged_customers()


def test_sending_the_change_notices_from_the_page_is_compliance_only_and_audited(
    officer, desk, people
):
    _publish(officer, _draft(officer, drop=("analytics",)))
    with pytest.raises(PermissionDenied):
        compliance.send_change_notices(session_scope, actor=desk)
    assert _change_notices() == {}
    result = compliance.send_change_notices(session_scope, actor=officer)
    assert result == {"queued": 1, "no_phone": 1}
    with session_scope() as session:
        entries = session.exec(
            select(AuditEntry.action, AuditEntry.outcome, AuditEntry.actor_id).where(
                AuditEntry.action.in_(["compliance.send_change_notices", "notice.change_notices"])
            )
        ).all()
    assert sorted(tuple(e) for e in entries) == [
        ("compliance.send_change_notices", "denied", desk.user_id),
        ("notice.change_notices", "ok", officer.user_id),
    ]
