"""The privacy notice states how long data is kept (SPEC §4): an approved retention change puts
the rules' periods into the draft notice, and compliance publishes it through the notice-change
flow (合规管理 → 隐私告知).

The retention section is one line of each body, the line that starts with 保存期限： (Chinese)
or "How long:" (English), as in the seeded notice; it is replaced, or added when a body has
none. There is one draft at a time (compliance.create_draft): an open draft gets the new line,
else a draft is made from the current version. Published versions are never touched.
"""

from __future__ import annotations

from sqlalchemy import func, select
from sqlmodel import Session

from custapp import clock
from custapp.i18n import t
from custapp.models import PrivacyNotice, RetentionRule
from custapp.services import audit
from custapp.services.actor import Actor
from custapp.services.consent_rules import current_notice
from custapp.settings import get_settings
from custapp.vocab import NoticeStatus, RetentionCategory

# the line of each body that is the retention section
PREFIXES = {"body_zh": ("zh_CN", "保存期限："), "body_en": ("en", "How long:")}


def period_text(months: int, locale: str) -> str:
    if months % 12 == 0:
        return t("retention.period_years", locale, months=months, years=months // 12)
    return t("retention.period", locale, months=months)


def retention_line(session: Session, field: str) -> str:
    """The retention section of one body, from the rules as they are now."""
    locale, _ = PREFIXES[field]
    rules = {r.category: r for r in session.exec(select(RetentionRule)).scalars()}
    items = [
        t(
            "retention.notice.item",
            locale,
            category=t(f"retention.category.{category}", locale),
            start=t(f"retention.start.{category}", locale),
            period=period_text(rules[category].period_months, locale),
            action=t(f"retention.notice.action.{rules[category].action}", locale),
        )
        for category in RetentionCategory
        if category in rules
    ]
    return t(
        "retention.notice.line",
        locale,
        items=t("retention.notice.separator", locale).join(items),
        days=get_settings().keystore_copy_days,
    )


def with_line(body: str, prefix: str, line: str) -> str:
    """`body` with its retention line replaced by `line` (added at the end when it has none)."""
    lines = body.split("\n")
    at = next((i for i, text in enumerate(lines) if text.strip().startswith(prefix)), None)
    if at is None:
        return f"{body.rstrip()}\n{line}" if body.strip() else line
    lines[at] = line
    return "\n".join(lines)


def update_draft_notice(session: Session, *, actor: Actor) -> int | None:
    """Put the current retention periods into the draft notice (made from the current version
    when there is no draft) -> the draft's version; None when there is no notice at all. The
    caller checked its own permission (retention.approve); this is its consequence."""
    draft = session.exec(
        select(PrivacyNotice).where(PrivacyNotice.status == NoticeStatus.DRAFT).limit(1)
    ).scalar_one_or_none()
    current = current_notice(session)
    created = draft is None
    if draft is None:
        if current is None:
            return None
        top = session.exec(select(func.max(PrivacyNotice.version))).scalar_one() or 0
        draft = PrivacyNotice(
            version=top + 1,
            handler_zh=current.handler_zh,
            handler_en=current.handler_en,
            body_zh=current.body_zh,
            body_en=current.body_en,
            purposes=current.purposes,
            status=NoticeStatus.DRAFT,
            created_at=clock.now(),
            created_by=actor.user_id,
        )
    changed = []
    for field, (_, prefix) in PREFIXES.items():
        text = with_line(getattr(draft, field), prefix, retention_line(session, field))
        if text != getattr(draft, field):
            setattr(draft, field, text)
            changed.append(field)
    if not created and not changed:
        return draft.version
    session.add(draft)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="notice.draft_create" if created else "notice.draft_update",
        target_type="privacy_notice",
        target_id=draft.version,
        fields=changed,
        detail={"from_version": current.version if current else None, "cause": "retention"},
    )
    return draft.version
