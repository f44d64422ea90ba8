"""保存期限 (issue 16, RT): the default rules, a change proposed by compliance and applied only
once a different person approves it (the proposer never decides), the draft notice that carries
the new periods, refusals with a message per field, and the daily scan that puts ended
relationships, merged-away records and expired attachments into the 销毁 queue."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from sqlalchemy import select, update

from custapp import clock, jobs
from custapp.db import session_scope
from custapp.i18n import t
from custapp.models import (
    AuditEntry,
    Customer,
    DestructionCandidate,
    PrivacyNotice,
    RetentionChange,
    RetentionRule,
)
from custapp.services import (
    attachments,
    bootstrap,
    classification,
    compliance,
    consent,
    customers,
    merge,
    orders,
    retention,
    retention_scan,
    service_log,
)
from custapp.services.actor import Actor, system_actor
from custapp.services.customers import CustomerInput
from custapp.services.errors import DomainError, PermissionDenied, ValidationFailed
from custapp.vocab import NoticeStatus

PASSWORD = "Correct-horse-42"
DEFAULTS = {
    "customer_archive": (36, "destroy"),
    "orders_ledgers": (360, "anonymise"),
    "service_log": (36, "destroy"),
    "complaints": (36, "destroy"),
    "consent_evidence": (72, "anonymise"),
    "attachments": (36, "destroy"),
    "audit_log": (36, "seal"),
    "backups": (12, "destroy"),
}
START = datetime(2020, 1, 10, 4, 0, tzinfo=UTC)  # 12:00 in Shanghai
PNG = b"\x89PNG\r\n\x1a\n" + bytes(24)


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
def people(db) -> dict[str, Actor]:  # noqa: ANN001
    return {
        "officer": _staff("comp.one", "compliance"),
        "officer2": _staff("comp.two", "compliance"),
        "manager": _staff("cs.manager", "cs_manager"),
        "desk": _staff("desk.one", "front_desk"),
        "auditor": _staff("audit.one", "auditor"),
        "sysadmin": _staff("sys.one", "sysadmin"),
        "member": Actor(user_id=None, name="member#1", kind="member", roles=frozenset({"member"})),
    }


def _rules() -> dict[str, RetentionRule]:
    with session_scope() as session:
        return {r.category: r for r in session.exec(select(RetentionRule)).scalars()}


def _propose(actor: Actor, category: str = "customer_archive", **values: object):  # noqa: ANN202
    fields = {"period_months": 24, "action": "destroy", "basis": "业务关系结束后两年足以处理售后"}
    fields.update(values)
    with session_scope() as session:
        return retention.propose_change(session, actor=actor, category=category, **fields)


def _decide(actor: Actor, change_id: int, approve: bool = True, note: str = ""):  # noqa: ANN202
    with session_scope() as session:
        return retention.decide_change(
            session, actor=actor, change_id=change_id, approve=approve, note=note
        )


def _last_audit() -> AuditEntry:
    with session_scope() as session:
        return session.exec(select(AuditEntry).order_by(AuditEntry.seq.desc()).limit(1)).scalar()


# --- the rules ------------------------------------------------------------------------------------


def test_every_category_has_its_default_rule(people):
    with session_scope() as session:
        rows = retention.list_rules(session, actor=people["officer"])
    assert [r.category for r in rows] == list(DEFAULTS)
    assert {r.category: (r.period_months, r.action) for r in rows} == DEFAULTS
    for row in rows:
        assert row.basis and row.updated_by == "" and row.pending_change_id is None
        assert row.action in row.allowed_actions
    assert "会计档案管理办法" in rows[1].basis and "网络安全法" in rows[6].basis
    with session_scope() as session:  # cs_manager reads them too (the second approver)
        assert len(retention.list_rules(session, actor=people["manager"])) == len(DEFAULTS)
        assert retention.period_for(session, "audit_log").period_months == 36


@pytest.mark.parametrize("role", ["desk", "auditor", "sysadmin", "member"])
def test_other_roles_do_not_read_the_rules(people, role):
    with pytest.raises(PermissionDenied), session_scope() as session:
        retention.list_rules(session, actor=people[role])
    entry = _last_audit()
    assert (entry.action, entry.outcome, entry.reason) == (
        "retention.list_rules",
        "denied",
        "retention.read",
    )


# --- two people change a rule ---------------------------------------------------------------------


def test_a_change_applies_only_once_another_person_approves_it(people):
    change = _propose(people["officer"], reason="缩短到两年")
    assert change.status == "pending" and (change.old_period_months, change.period_months) == (
        36,
        24,
    )
    assert _rules()["customer_archive"].period_months == 36  # nothing changes yet
    proposed = _last_audit()
    assert (proposed.action, proposed.target_id, proposed.actor_id) == (
        "retention.propose",
        "customer_archive",
        people["officer"].user_id,
    )
    assert "两年" not in (proposed.detail or "") and "24" not in (proposed.fields or "")
    with session_scope() as session:
        rows = retention.list_rules(session, actor=people["manager"])
    assert rows[0].pending_change_id == change.id

    decided = _decide(people["manager"], change.id)
    assert decided.status == "approved" and decided.decided_by == "cs.manager 名"
    rule = _rules()["customer_archive"]
    assert (rule.period_months, rule.updated_by) == (24, people["manager"].user_id)
    assert rule.basis == "业务关系结束后两年足以处理售后"
    approved = _last_audit()
    assert (approved.action, approved.target_id, approved.actor_id) == (
        "retention.approve",
        "customer_archive",
        people["manager"].user_id,
    )
    assert "basis" in approved.fields and "售后" not in (approved.detail or "")


def test_an_approval_writes_the_new_periods_into_a_draft_notice(people):
    with session_scope() as session:
        published = consent.current_notice(session)
        before = (published.version, published.body_zh)
    change = _propose(people["officer"], period_months=48)
    decided = _decide(people["officer2"], change.id)
    assert decided.notice_version == before[0] + 1
    with session_scope() as session:
        draft = session.exec(
            select(PrivacyNotice).where(PrivacyNotice.version == decided.notice_version)
        ).scalar_one()
        current = consent.current_notice(session)
    assert draft.status == NoticeStatus.DRAFT and draft.created_by == people["officer2"].user_id
    assert (current.version, current.body_zh) == before  # the published version is untouched
    line = next(x for x in draft.body_zh.split("\n") if x.startswith("保存期限："))
    assert "客户档案自业务关系结束起保存48 个月（4 年），期满销毁" in line
    assert "审计日志自记录起保存36 个月（3 年），期满封存" in line and "35天" in line
    assert draft.body_zh.count("保存期限：") == 1 and "撤回" in draft.body_zh
    english = next(x for x in draft.body_en.split("\n") if x.startswith("How long:"))
    assert "Customer archive 48 months (4 years) from the end of the relationship" in english
    # what publishing checks holds: compliance publishes it through the notice-change flow
    with session_scope() as session:
        assert compliance.publish_preview(
            session, actor=people["officer"], notice_id=draft.id
        ).version == (decided.notice_version)


def test_a_second_approval_updates_the_open_draft(people):
    with session_scope() as session:
        draft = compliance.create_draft(session, actor=people["officer"])
    first = _propose(people["officer"], category="service_log", period_months=18)
    assert _decide(people["manager"], first.id).notice_version == draft.version
    second = _propose(people["officer2"], category="backups", period_months=6)
    assert _decide(people["officer"], second.id).notice_version == draft.version
    with session_scope() as session:
        drafts = session.exec(
            select(PrivacyNotice).where(PrivacyNotice.status == NoticeStatus.DRAFT)
        ).all()
    assert len(drafts) == 1
    body = drafts[0][0].body_zh
    assert "服务/沟通记录自记录起保存18 个月" in body and "备份自备份起保存6 个月" in body


def test_the_proposer_cannot_decide_their_own_change(people):
    change = _propose(people["officer"])
    for approve in (True, False):
        with pytest.raises(PermissionDenied) as refused, session_scope() as session:
            retention.decide_change(
                session, actor=people["officer"], change_id=change.id, approve=approve, note="否"
            )
        assert refused.value.key == "retention.error.own_change"
        entry = _last_audit()
        assert (entry.action, entry.outcome, entry.actor_id, entry.target_id) == (
            "retention.decide_change",
            "denied",
            people["officer"].user_id,
            str(change.id),
        )
    assert t("retention.error.own_change", "zh_CN").startswith("不能审批自己提出的变更")
    assert _rules()["customer_archive"].period_months == 36
    with session_scope() as session:
        assert session.get(RetentionChange, change.id).status == "pending"


@pytest.mark.parametrize("role", ["desk", "auditor", "sysadmin", "member", "manager"])
def test_only_compliance_proposes(people, role):
    with pytest.raises(PermissionDenied), session_scope() as session:
        retention.propose_change(
            session,
            actor=people[role],
            category="customer_archive",
            period_months=24,
            action="destroy",
            basis="依据",
        )
    with session_scope() as session:
        assert session.exec(select(RetentionChange)).first() is None


@pytest.mark.parametrize("role", ["desk", "auditor", "sysadmin", "member"])
def test_only_compliance_or_cs_manager_decides(people, role):
    change = _propose(people["officer"])
    with pytest.raises(PermissionDenied), session_scope() as session:
        retention.decide_change(session, actor=people[role], change_id=change.id, approve=True)
    assert _last_audit().reason == "retention.approve"
    assert _rules()["customer_archive"].period_months == 36


def test_a_rejection_needs_a_reason_and_changes_nothing(people):
    change = _propose(people["officer"])
    with pytest.raises(ValidationFailed) as refused:
        _decide(people["manager"], change.id, approve=False)
    assert refused.value.errors == {"note": "retention.error.note_required"}
    rejected = _decide(people["manager"], change.id, approve=False, note="会计部门不同意")
    assert rejected.status == "rejected" and rejected.notice_version is None
    assert _rules()["customer_archive"].period_months == 36
    entry = _last_audit()
    assert (entry.action, entry.target_id) == ("retention.reject", "customer_archive")
    assert "会计" not in (entry.detail or "") and entry.reason is None
    with pytest.raises(DomainError) as again:
        _decide(people["officer2"], change.id)
    assert again.value.key == "retention.error.not_pending"
    # the category is free for a new proposal
    assert _propose(people["officer"], period_months=30).status == "pending"


@pytest.mark.parametrize(
    ("category", "values", "field", "key"),
    [
        ("customer_archive", {"period_months": 0}, "period_months", "retention.error.period_range"),
        ("customer_archive", {"period_months": 601}, "period_months", "retention.error.period_range"),
        ("customer_archive", {"period_months": "永久"}, "period_months", "retention.error.period_range"),
        ("customer_archive", {"period_months": ""}, "period_months", "retention.error.period_range"),
        ("customer_archive", {"period_months": True}, "period_months", "retention.error.period_range"),
        ("audit_log", {"period_months": 5, "action": "seal"}, "period_months", "retention.error.audit_log_min"),
        ("orders_ledgers", {"action": "destroy"}, "action", "retention.error.action_not_allowed"),
        ("attachments", {"action": "anonymise"}, "action", "retention.error.action_not_allowed"),
        ("customer_archive", {"action": "forever"}, "action", "retention.error.action_not_allowed"),
        ("customer_archive", {"basis": "  "}, "basis", "retention.error.basis_required"),
        ("customer_archive", {"basis": "长" * 501}, "basis", "retention.error.basis_too_long"),
        ("customer_archive", {"reason": "客户来电13408102203要求"}, "reason", "validation.reason.personal_number"),
        ("nonsense", {}, "category", "retention.error.category"),
    ],
)  # fmt: skip
def test_bad_input_is_refused_with_a_message_per_field(people, category, values, field, key):
    with pytest.raises(ValidationFailed) as refused:
        _propose(people["officer"], category=category, **values)
    assert refused.value.errors[field] == key
    assert t(key, "zh_CN") != key  # a Chinese message, not the key
    with session_scope() as session:
        assert session.exec(select(RetentionChange)).first() is None


def test_the_audit_log_keeps_six_months_at_least(people):
    change = _propose(people["officer"], category="audit_log", period_months="6", action="seal")
    assert change.period_months == 6
    with pytest.raises(ValidationFailed):
        _propose(people["officer2"], category="backups", period_months=0)


def test_one_pending_change_per_category_and_no_empty_change(people):
    _propose(people["officer"])
    with pytest.raises(DomainError) as pending:
        _propose(people["officer2"], period_months=30)
    assert pending.value.key == "retention.error.pending_exists"
    rule = _rules()["service_log"]
    with pytest.raises(DomainError) as same:
        _propose(
            people["officer"],
            category="service_log",
            period_months=rule.period_months,
            action=rule.action,
            basis=rule.basis,
        )
    assert same.value.key == "retention.error.unchanged"


def test_the_history_is_paged_newest_first(people):
    ids = []
    for months in (20, 21, 22):
        change = _propose(people["officer"], period_months=months)
        _decide(people["manager"], change.id, approve=False, note="暂不调整")
        ids.append(change.id)
    with session_scope() as session:
        rows, total = retention.list_changes(session, actor=people["manager"], page=1, page_size=2)
        pending, none = retention.list_changes(session, actor=people["officer"], status="pending")
    assert total == 3 and [r.id for r in rows] == ids[::-1][:2]
    assert rows[0].proposed_by == "comp.one 名" and rows[0].decision_note == "暂不调整"
    assert (pending, none) == ([], 0)


def test_months_before_keeps_to_the_calendar():
    assert retention.months_before(date(2026, 3, 31), 1) == date(2026, 2, 28)
    assert retention.months_before(date(2024, 3, 31), 1) == date(2024, 2, 29)
    assert retention.months_before(date(2026, 1, 15), 36) == date(2023, 1, 15)
    assert retention.months_before(date(2026, 1, 15), 600) == date(1976, 1, 15)


# --- the daily scan ---------------------------------------------------------------------------------


def _customer(name: str, phone: str) -> int:
    with session_scope() as session:
        return customers.create_customer(
            session, actor=system_actor("test"), data=CustomerInput(name=name, phone=phone)
        ).id


def _buy(customer_id: int) -> None:
    with session_scope() as session:
        orders.post_purchase(
            session,
            actor=system_actor("test"),
            customer_id=customer_id,
            lines=[("美式咖啡", 1, 1800)],
            payments=[("cash", 1800)],
        )


def _months_later(months: int) -> None:
    day = START.date()
    index = day.year * 12 + day.month - 1 + months
    clock.set_now(START.replace(year=index // 12, month=index % 12 + 1))


def _candidates() -> dict[tuple[int, str], tuple[str, str, str]]:
    with session_scope() as session:
        return {
            (c.customer_id, c.scope): (c.category, c.reason_kind, c.rule_category)
            for c in session.exec(select(DestructionCandidate)).scalars()
        }


def test_the_scan_proposes_ended_relationships_past_their_period(db):
    clock.set_now(START)
    ended = _customer("已流失", "13800000001")
    _buy(ended)
    never = _customer("未成交", "13800000002")
    recent = _customer("近期客户", "13800000003")
    _buy(recent)
    served = _customer("有服务记录", "13800000004")
    _buy(served)
    _months_later(30)
    _buy(recent)
    with session_scope() as session:
        service_log.add_entry(
            session, actor=system_actor("test"), customer_id=served, kind="call",
            content="电话回访",
        )  # fmt: skip
    _months_later(37)
    classification.run_daily()
    summary = retention_scan.scan(session_scope)
    assert (summary["ended_bought"], summary["ended_never_bought"]) == (1, 1)
    rule = ("", "rule", "customer_archive")
    assert _candidates() == {(ended, "customer"): rule, (never, "customer"): rule}
    # idempotent: the next day proposes nothing again
    again = retention_scan.scan(session_scope)
    assert again["ended_bought"] == again["ended_never_bought"] == 0
    assert len(_candidates()) == 2


def test_the_scan_waits_for_the_period_and_for_a_rejection_to_age(db):
    clock.set_now(START)
    ended = _customer("已流失", "13800000001")
    _buy(ended)
    _months_later(35)
    classification.run_daily()
    assert retention_scan.scan(session_scope)["ended_bought"] == 0  # 35 months: not yet
    _months_later(37)
    assert retention_scan.scan(session_scope)["ended_bought"] == 1
    with session_scope() as session:  # compliance said no (appraisal)
        session.exec(
            update(DestructionCandidate).values(status="rejected", appraised_at=clock.now())
        )
    _months_later(40)
    assert retention_scan.scan(session_scope)["ended_bought"] == 0
    _months_later(44)  # more than RECHECK_DAYS since the rejection
    assert retention_scan.scan(session_scope)["ended_bought"] == 1


def test_the_scan_proposes_merged_away_records(db):
    manager = _staff("cs.manager", "cs_manager")
    clock.set_now(START)
    survivor = _customer("保留档案", "13800000001")
    merged = _customer("重复档案", "13800000002")
    with session_scope() as session:
        merge.merge_customers(
            session, actor=manager, survivor_id=survivor, merged_id=merged,
            reason="同一客户重复建档",
        )  # fmt: skip
    _months_later(36)
    _buy(survivor)  # the survivor is an active customer
    _months_later(37)
    summary = retention_scan.scan(session_scope)
    assert summary["merged_away"] == 1
    assert _candidates() == {(merged, "customer"): ("", "rule", "customer_archive")}


def test_the_scan_proposes_expired_attachments_but_not_consent_forms(db):
    clock.set_now(START)
    filed = _customer("有附件", "13800000001")
    forms = _customer("只有同意书", "13800000002")
    with session_scope() as session:
        for customer_id, category in ((filed, "contract"), (forms, "consent_form")):
            attachments.add_attachment(
                session, actor=system_actor("test"), customer_id=customer_id,
                category=category, filename="scan.png", content=PNG,
            )  # fmt: skip
    _months_later(36)
    for customer_id in (filed, forms):
        _buy(customer_id)  # both are active customers: only the files are old
    _months_later(37)
    summary = retention_scan.scan(session_scope)
    assert summary["attachments"] == 1
    assert _candidates() == {(filed, "category"): ("attachments", "rule", "attachments")}
    assert retention_scan.scan(session_scope)["attachments"] == 0


def test_the_scan_skips_destroyed_customers_and_seals_the_audit_log(db):
    clock.set_now(START)
    gone = _customer("已销毁", "13800000001")
    _buy(gone)
    with session_scope() as session:
        session.exec(update(Customer).where(Customer.id == gone).values(destroyed_at=clock.now()))
    _months_later(37)
    classification.run_daily()
    summary = retention_scan.scan(session_scope)
    assert summary["ended_bought"] == 0 and _candidates() == {}
    assert summary["audit_sealed"] > 0  # the entries of 2020 are past the audit log's period
    with session_scope() as session:
        cut = retention.cutoff(session, "audit_log")
        older = session.exec(select(AuditEntry.seq).where(AuditEntry.created_at < cut)).first()
    assert older is None


def test_the_scan_is_a_daily_step():
    assert ("retention_scan", retention_scan.run_retention_scan) in jobs.STEPS
    names = [name for name, _ in jobs.STEPS]
    assert names.index("classification") < names.index("retention_scan")
