"""保存期限 (issue 16, RT; SPEC §8 "Retention and destruction"; 002 RET-01..04, 000-001 RT-03).

- One rule per data category (vocab.RetentionCategory): a period in whole months (1..600, never
  "forever"; the audit log at least 6, Cybersecurity Law art. 21) and what happens at the end.
  Each category allows only the actions that make sense for it (ledgers are anonymised, never
  destroyed: the money must still add up; the audit log is sealed; a file is destroyed).
- Changing a rule takes two people: compliance proposes (`retention.manage`), someone else
  approves or rejects (`retention.approve`: compliance or cs_manager). The proposer deciding their
  own change is refused and audited as a denial. An approval applies the new values in the same
  transaction and puts the new periods into the draft privacy notice (retention_notice.py): the
  notice states retention, so a changed rule reaches customers through the notice-change flow
  once compliance publishes the draft.
- `period_for` and `cutoff` are what the daily scan (retention_scan.py) and the destruction
  service read: no permission, no audit.

Audit entries name the category, the change id and the fields changed, never the texts.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import UTC, date, datetime, time

from sqlalchemy import func, select
from sqlmodel import Session

from custapp import clock
from custapp.models import RetentionChange, RetentionRule, User
from custapp.security.validators import REASON_PERSONAL, holds_personal_number
from custapp.services import audit, retention_notice
from custapp.services.actor import Actor
from custapp.services.errors import DomainError, NotFound, PermissionDenied, ValidationFailed
from custapp.services.guard import requires
from custapp.services.paging import page_window
from custapp.vocab import RetentionAction, RetentionCategory, RetentionChangeStatus

C, A = RetentionCategory, RetentionAction
CATEGORIES = tuple(RetentionCategory)
STATUSES = tuple(RetentionChangeStatus)
# what each category may do at the end of its period, the usual first
ALLOWED_ACTIONS: dict[str, tuple[str, ...]] = {
    C.CUSTOMER_ARCHIVE: (A.DESTROY, A.ANONYMISE),
    C.ORDERS_LEDGERS: (A.ANONYMISE,),
    C.SERVICE_LOG: (A.DESTROY, A.ANONYMISE),
    C.COMPLAINTS: (A.DESTROY, A.ANONYMISE),
    C.CONSENT_EVIDENCE: (A.ANONYMISE, A.DESTROY),
    C.ATTACHMENTS: (A.DESTROY,),
    C.AUDIT_LOG: (A.SEAL,),
    C.BACKUPS: (A.DESTROY,),
}
PERIOD_MIN, PERIOD_MAX = 1, 600  # 50 years: longer than any duty; "forever" is not a period
AUDIT_LOG_MIN = 6  # months: 《网络安全法》第二十一条
BASIS_MAX, REASON_MAX, NOTE_MAX = 500, 200, 200


# --- reading the rules (the scan and destruction) --------------------------------------------------


def period_for(session: Session, category: str) -> RetentionRule:
    """The rule of `category` (every category has one: migration 0018 seeds them)."""
    rule = session.exec(
        select(RetentionRule).where(RetentionRule.category == category)
    ).scalar_one_or_none()
    if rule is None:
        raise NotFound("retention.error.category")
    return rule


def months_before(day: date, months: int) -> date:
    """The same calendar day `months` months earlier (31 March - 1 month = 28/29 February)."""
    index = day.year * 12 + day.month - 1 - months
    year, month = divmod(index, 12)
    return date(year, month + 1, min(day.day, calendar.monthrange(year, month + 1)[1]))


def cutoff(session: Session, category: str) -> datetime:
    """What is older than this instant (UTC) has passed `category`'s period: the start of the
    local day the period's length before today (SPEC §8 Time: local days, never UTC days)."""
    day = months_before(clock.local_today(), period_for(session, category).period_months)
    return datetime.combine(day, time(0), tzinfo=clock.zone()).astimezone(UTC)


# --- rows ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RuleRow:
    category: str
    period_months: int
    action: str
    basis: str
    allowed_actions: tuple[str, ...]
    updated_at: datetime
    updated_by: str  # display name, "" for the seeded default
    pending_change_id: int | None  # a change waiting for its second person


@dataclass(frozen=True)
class ChangeRow:
    id: int
    category: str
    period_months: int
    action: str
    basis: str
    reason: str
    old_period_months: int
    old_action: str
    status: str
    proposed_by_id: int | None
    proposed_by: str
    proposed_at: datetime
    decided_by: str
    decided_at: datetime | None
    decision_note: str
    notice_version: int | None


def _names(session: Session, ids: set[int | None]) -> dict[int, str]:
    wanted = {i for i in ids if i is not None}
    if not wanted:
        return {}
    found = session.exec(select(User.id, User.display_name).where(User.id.in_(wanted))).all()
    return dict(found)


def _change_row(change: RetentionChange, names: dict[int, str]) -> ChangeRow:
    return ChangeRow(
        id=change.id,
        category=change.category,
        period_months=change.period_months,
        action=change.action,
        basis=change.basis,
        reason=change.reason,
        old_period_months=change.old_period_months,
        old_action=change.old_action,
        status=change.status,
        proposed_by_id=change.proposed_by,
        proposed_by=names.get(change.proposed_by, ""),
        proposed_at=change.proposed_at,
        decided_by=names.get(change.decided_by, ""),
        decided_at=change.decided_at,
        decision_note=change.decision_note,
        notice_version=change.notice_version,
    )


@requires("retention.read", reads=True)
def list_rules(session: Session, *, actor: Actor) -> list[RuleRow]:
    """Every rule, in the order of the categories, with a pending change's id if one waits."""
    rules = {r.category: r for r in session.exec(select(RetentionRule)).scalars()}
    pending = dict(
        session.exec(
            select(RetentionChange.category, RetentionChange.id).where(
                RetentionChange.status == RetentionChangeStatus.PENDING
            )
        ).all()
    )
    names = _names(session, {r.updated_by for r in rules.values()})
    return [
        RuleRow(
            category=rule.category,
            period_months=rule.period_months,
            action=rule.action,
            basis=rule.basis,
            allowed_actions=ALLOWED_ACTIONS.get(rule.category, ()),
            updated_at=rule.updated_at,
            updated_by=names.get(rule.updated_by, ""),
            pending_change_id=pending.get(rule.category),
        )
        for category in CATEGORIES
        if (rule := rules.get(category)) is not None
    ]


@requires("retention.read", reads=True)
def list_changes(
    session: Session, *, actor: Actor, status: str = "", page: int = 1, page_size: int = 20
) -> tuple[list[ChangeRow], int]:
    """Proposed changes, newest first (one status, or all for ""), one page, and how many."""
    window = page_window(page, page_size)
    where = [RetentionChange.status == status] if status in STATUSES else []
    total = session.exec(
        select(func.count()).select_from(RetentionChange).where(*where)
    ).scalar_one()
    changes = list(
        session.exec(
            select(RetentionChange)
            .where(*where)
            .order_by(RetentionChange.id.desc())
            .offset(window.offset)
            .limit(window.limit)
        ).scalars()
    )
    names = _names(session, {c.proposed_by for c in changes} | {c.decided_by for c in changes})
    return [_change_row(c, names) for c in changes], total


# --- proposing ----------------------------------------------------------------------------------


def _months(value: object) -> int | None:
    """A period as typed (an int, or ASCII digits) -> whole months, else None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().isascii() and value.strip().isdigit():
        return int(value.strip()[:6])
    return None


def _text_error(value: str, limit: int, *, required: bool, too_long: str) -> str | None:
    if required and not value:
        return "retention.error.basis_required"
    if len(value) > limit:
        return too_long
    if holds_personal_number(value):
        return REASON_PERSONAL
    return None


def _check(
    category: str, period_months: object, action: str, basis: str, reason: str
) -> tuple[int, dict[str, str]]:
    errors: dict[str, str] = {}
    months = _months(period_months)
    if months is None or not PERIOD_MIN <= months <= PERIOD_MAX:
        errors["period_months"] = "retention.error.period_range"
    elif category == C.AUDIT_LOG and months < AUDIT_LOG_MIN:
        errors["period_months"] = "retention.error.audit_log_min"
    if action not in ALLOWED_ACTIONS[category]:
        errors["action"] = "retention.error.action_not_allowed"
    for field, value, limit, required, too_long in (
        ("basis", basis, BASIS_MAX, True, "retention.error.basis_too_long"),
        ("reason", reason, REASON_MAX, False, "retention.error.reason_too_long"),
    ):
        if problem := _text_error(value, limit, required=required, too_long=too_long):
            errors[field] = problem
    return months or 0, errors


@requires("retention.manage")
def propose_change(
    session: Session,
    *,
    actor: Actor,
    category: str,
    period_months: int | str,
    action: str,
    basis: str,
    reason: str = "",
) -> ChangeRow:
    """Propose new values for one rule; nothing changes until another person approves. One
    pending change per category. Field errors: period_months, action, basis, reason."""
    if category not in CATEGORIES:
        raise ValidationFailed({"category": "retention.error.category"})
    basis, reason = (basis or "").strip(), (reason or "").strip()
    months, errors = _check(category, period_months, str(action or ""), basis, reason)
    if errors:
        raise ValidationFailed(errors)
    rule = period_for(session, category)
    changed = [
        field
        for field, value in (("period_months", months), ("action", action), ("basis", basis))
        if getattr(rule, field) != value
    ]
    if not changed:
        raise DomainError("retention.error.unchanged")
    if _pending(session, category) is not None:
        raise DomainError("retention.error.pending_exists")
    change = RetentionChange(
        category=category,
        period_months=months,
        action=action,
        basis=basis,
        reason=reason,
        old_period_months=rule.period_months,
        old_action=rule.action,
        proposed_by=actor.user_id,
        proposed_at=clock.now(),
    )
    session.add(change)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="retention.propose",
        target_type="retention_rule",
        target_id=category,
        fields=changed,
        detail={"change_id": change.id},
    )
    return _change_row(change, _names(session, {actor.user_id}))


def _pending(session: Session, category: str) -> RetentionChange | None:
    return session.exec(
        select(RetentionChange).where(
            RetentionChange.category == category,
            RetentionChange.status == RetentionChangeStatus.PENDING,
        )
    ).scalar_one_or_none()


# --- deciding -----------------------------------------------------------------------------------


@requires("retention.approve")
def decide_change(
    session: Session, *, actor: Actor, change_id: int, approve: bool, note: str = ""
) -> ChangeRow:
    """The second person approves (the rule takes the new values, the draft notice its new
    retention section) or rejects with a note. Never the proposer: refused and audited."""
    change = session.exec(
        select(RetentionChange).where(RetentionChange.id == change_id).with_for_update()
    ).scalar_one_or_none()
    if change is None:
        raise NotFound("retention.error.change_not_found")
    if change.proposed_by is not None and change.proposed_by == actor.user_id:
        raise PermissionDenied(
            "retention.error.own_change",
            action="retention.decide_change",
            permission="retention.second_person",  # what the audit names as missing
            actor=actor,
            target_type="retention_change",
            target_id=change.id,
        )
    if change.status != RetentionChangeStatus.PENDING:
        raise DomainError("retention.error.not_pending")
    note = (note or "").strip()
    if not approve and not note:
        raise ValidationFailed({"note": "retention.error.note_required"})
    if problem := _text_error(
        note, NOTE_MAX, required=False, too_long="retention.error.note_too_long"
    ):
        raise ValidationFailed({"note": problem})
    now = clock.now()
    change.decided_by, change.decided_at, change.decision_note = actor.user_id, now, note
    if approve:
        rule = session.exec(
            select(RetentionRule).where(RetentionRule.category == change.category).with_for_update()
        ).scalar_one()
        fields = [
            f
            for f in ("period_months", "action", "basis")
            if getattr(rule, f) != getattr(change, f)
        ]
        rule.period_months, rule.action, rule.basis = (
            change.period_months,
            change.action,
            change.basis,
        )
        rule.updated_at, rule.updated_by = now, actor.user_id
        change.status = RetentionChangeStatus.APPROVED
        session.add(rule)
        session.flush()
        change.notice_version = retention_notice.update_draft_notice(session, actor=actor)
    else:
        fields = []
        change.status = RetentionChangeStatus.REJECTED
    session.add(change)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="retention.approve" if approve else "retention.reject",
        target_type="retention_rule",
        target_id=change.category,
        fields=fields or None,
        detail={"change_id": change.id, "notice_version": change.notice_version},
    )
    return _change_row(change, _names(session, {change.proposed_by, actor.user_id}))
