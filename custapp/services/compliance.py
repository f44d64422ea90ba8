"""合规管理 (SPEC §4, 000 CN-02/06/11, 002 CON-04/08): what compliance sees and manages of the
consent machinery: the overview (consents by purpose and state, re-confirm needed, rights
requests), the purposes with their lawful basis, and the versioned privacy notice (drafts,
publishing, the change notices to the customers affected).

Everything here needs `consent.manage` (compliance only). Purposes hold no personal data, so their
audit entries may name old and new codes; the notices' text is public.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import case, func, select
from sqlmodel import Session

from custapp import clock
from custapp.models import ConsentState, Customer, PrivacyNotice, Purpose, RightsRequest, User
from custapp.services import audit, consent
from custapp.services.actor import Actor
from custapp.services.errors import DomainError, NotFound, ValidationFailed
from custapp.services.guard import ensure, requires
from custapp.services.paging import page_window
from custapp.vocab import ConsentStatus, LawfulBasis, NoticeStatus, RightsStatus

STATES = tuple(ConsentStatus)
# A purpose's lawful basis stays on its side of consent: a consent-based purpose is used only
# with the customer's (separate) consent; service rests on the contract or a legal obligation.
CONSENT_BASES = (LawfulBasis.CONSENT, LawfulBasis.SEPARATE_CONSENT)
OTHER_BASES = (LawfulBasis.CONTRACT, LawfulBasis.LEGAL_OBLIGATION)
LAWFUL_BASES = (*OTHER_BASES, *CONSENT_BASES)
NAME_ZH_MAX, NAME_EN_MAX, DESCRIPTION_MAX = 60, 80, 500
HANDLER_MAX, BODY_MAX = 200, 20000
RIGHTS_OPEN = (RightsStatus.OPEN, RightsStatus.IN_PROGRESS)
# How to withdraw must be in the notice (002 CON-04); each language names it.
WITHDRAW_WORDS = {"body_zh": "撤回", "body_en": "withdraw"}


# --- the overview --------------------------------------------------------------------------------


@dataclass(frozen=True)
class PurposeCounts:
    code: str
    name_zh: str
    name_en: str
    lawful_basis: str
    enabled: bool
    consent_based: bool
    in_notice: bool
    granted: int
    refused: int
    withdrawn: int
    reconfirm: int  # granted states flagged "re-confirm needed"


@dataclass(frozen=True)
class Overview:
    purposes: list[PurposeCounts]
    reconfirm_customers: int  # customers with a consent flagged "re-confirm needed"
    notices_to_queue: int  # ... whose change notice is not queued yet
    rights_open: int
    rights_overdue: int
    notice_version: int | None
    notice_published_at: datetime | None
    draft_id: int | None  # the open draft (one at a time)
    draft_version: int | None


def _live():  # noqa: ANN202 (a SQL condition on consent_states)
    """Not a merged customer's states (they stay behind the redirect; the survivor has its own).
    The merged are few and have their own partial index: NOT IN stays cheap at 1M customers."""
    merged = select(Customer.id).where(Customer.merged_into_id.is_not(None))
    return ConsentState.customer_id.not_in(merged)


def _rights_counts(session: Session) -> tuple[int, int]:
    """Open and overdue rights requests (overdue: due before today, in the configured zone)."""
    overdue = case((RightsRequest.due_on < clock.local_today(), 1), else_=0)
    open_, late = session.exec(
        select(func.count(), func.coalesce(func.sum(overdue), 0)).where(
            RightsRequest.status.in_(RIGHTS_OPEN)
        )
    ).one()
    return int(open_), int(late)


@requires("consent.manage", reads=True)
def overview(session: Session, *, actor: Actor) -> Overview:
    """One grouped query over consent_states for the purpose × state table (index-only on
    (purpose, state, customer_id)), one for the re-confirm figures, one for rights requests."""
    counts: dict[tuple[str, str], int] = {}
    reconfirm: dict[str, int] = {}
    for purpose, state, flagged, n in session.exec(
        select(
            ConsentState.purpose,
            ConsentState.state,
            ConsentState.reconfirm_needed,
            func.count(),
        )
        .where(_live())
        .group_by(ConsentState.purpose, ConsentState.state, ConsentState.reconfirm_needed)
    ).all():
        counts[purpose, state] = counts.get((purpose, state), 0) + n
        if flagged:
            reconfirm[purpose] = reconfirm.get(purpose, 0) + n
    not_told = case((~ConsentState.reconfirm_notified, ConsentState.customer_id), else_=None)
    flagged_customers, to_queue = session.exec(
        select(
            func.count(func.distinct(ConsentState.customer_id)),
            func.count(func.distinct(not_told)),
        ).where(ConsentState.reconfirm_needed, _live())
    ).one()
    rights_open, rights_overdue = _rights_counts(session)
    notice = consent.current_notice(session)
    in_notice = set(consent.notice_purposes(notice))
    draft = _open_draft(session)
    return Overview(
        purposes=[
            PurposeCounts(
                code=p.code,
                name_zh=p.name_zh,
                name_en=p.name_en,
                lawful_basis=p.lawful_basis,
                enabled=p.enabled,
                consent_based=p.consent_based,
                in_notice=p.code in in_notice,
                granted=counts.get((p.code, ConsentStatus.GRANTED), 0),
                refused=counts.get((p.code, ConsentStatus.REFUSED), 0),
                withdrawn=counts.get((p.code, ConsentStatus.WITHDRAWN), 0),
                reconfirm=reconfirm.get(p.code, 0),
            )
            for p in consent.purposes(session)
        ],
        reconfirm_customers=int(flagged_customers),
        notices_to_queue=int(to_queue),
        rights_open=rights_open,
        rights_overdue=rights_overdue,
        notice_version=notice.version if notice else None,
        notice_published_at=notice.published_at if notice else None,
        draft_id=draft.id if draft else None,
        draft_version=draft.version if draft else None,
    )


# --- purposes ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PurposeRow:
    code: str
    name_zh: str
    name_en: str
    description_zh: str
    description_en: str
    lawful_basis: str
    consent_based: bool
    channel: str | None
    enabled: bool
    in_notice: bool
    updated_at: datetime | None


def _purpose_row(purpose: Purpose, in_notice: set[str]) -> PurposeRow:
    return PurposeRow(
        code=purpose.code,
        name_zh=purpose.name_zh,
        name_en=purpose.name_en,
        description_zh=purpose.description_zh,
        description_en=purpose.description_en,
        lawful_basis=purpose.lawful_basis,
        consent_based=purpose.consent_based,
        channel=purpose.channel,
        enabled=purpose.enabled,
        in_notice=purpose.code in in_notice,
        updated_at=purpose.updated_at,
    )


@requires("consent.manage", reads=True)
def list_purposes(session: Session, *, actor: Actor) -> list[PurposeRow]:
    """Every purpose in display order (a handful: no paging)."""
    in_notice = set(consent.notice_purposes(consent.current_notice(session)))
    return [_purpose_row(p, in_notice) for p in consent.purposes(session)]


def allowed_bases(consent_based: bool) -> tuple[str, ...]:
    return CONSENT_BASES if consent_based else OTHER_BASES


@requires("consent.manage")
def update_purpose(
    session: Session,
    *,
    actor: Actor,
    code: str,
    name_zh: str,
    name_en: str,
    description_zh: str,
    description_en: str,
    lawful_basis: str,
    enabled: bool,
) -> PurposeRow:
    """Names, descriptions, lawful basis and whether the purpose may be used. Whether it rests on
    consent is fixed (changing it would make recorded consents mean something else), and a
    purpose is never deleted (consent events name it). Disabling one stops every use at once
    (consent.permits refuses a disabled purpose); service cannot be disabled: the customers'
    own service and the notices the law requires travel under it."""
    purpose = session.get(Purpose, code)
    if purpose is None:
        raise NotFound("compliance.error.purpose_not_found")
    values = {
        "name_zh": (name_zh or "").strip(),
        "name_en": (name_en or "").strip(),
        "description_zh": (description_zh or "").strip(),
        "description_en": (description_en or "").strip(),
        "lawful_basis": lawful_basis,
        "enabled": bool(enabled),
    }
    errors: dict[str, str] = {}
    for field, limit in (("name_zh", NAME_ZH_MAX), ("name_en", NAME_EN_MAX)):
        if not values[field]:
            errors[field] = "compliance.error.required"
        elif len(values[field]) > limit:
            errors[field] = f"compliance.error.too_long_{limit}"
    for field in ("description_zh", "description_en"):
        if len(values[field]) > DESCRIPTION_MAX:
            errors[field] = f"compliance.error.too_long_{DESCRIPTION_MAX}"
    if lawful_basis not in allowed_bases(purpose.consent_based):
        errors["lawful_basis"] = (
            "compliance.error.basis_needs_consent"
            if purpose.consent_based
            else "compliance.error.basis_not_consent"
        )
    if not values["enabled"] and not purpose.consent_based:
        errors["enabled"] = "compliance.error.keep_enabled"
    if errors:
        raise ValidationFailed(errors)
    changed = [f for f, v in values.items() if getattr(purpose, f) != v]
    if changed:
        detail: dict[str, object] = {"purpose": code}
        for field in ("lawful_basis", "enabled"):  # codes, not text: old → new
            if field in changed:
                detail[field] = [getattr(purpose, field), values[field]]
        for field in changed:
            setattr(purpose, field, values[field])
        purpose.updated_at, purpose.updated_by = clock.now(), actor.user_id
        session.add(purpose)
        audit.record(
            session,
            actor=actor,
            action="purpose.update",
            target_type="purpose",
            target_id=code,
            fields=changed,
            detail=detail,
        )
    in_notice = set(consent.notice_purposes(consent.current_notice(session)))
    return _purpose_row(purpose, in_notice)


# --- privacy notices -----------------------------------------------------------------------------


@dataclass(frozen=True)
class NoticeRow:
    id: int
    version: int
    status: str  # draft | published
    purposes: list[str]
    created_at: datetime
    created_by: str
    published_at: datetime | None
    published_by: str
    current: bool


@dataclass(frozen=True)
class NoticeDetail:
    id: int
    version: int
    status: str
    handler_zh: str
    handler_en: str
    body_zh: str
    body_en: str
    purposes: list[str]
    published_at: datetime | None
    current: bool


def _open_draft(session: Session) -> PrivacyNotice | None:
    return session.exec(
        select(PrivacyNotice).where(PrivacyNotice.status == NoticeStatus.DRAFT).limit(1)
    ).scalar_one_or_none()


def _detail(notice: PrivacyNotice, current: PrivacyNotice | None) -> NoticeDetail:
    return NoticeDetail(
        id=notice.id,
        version=notice.version,
        status=notice.status,
        handler_zh=notice.handler_zh,
        handler_en=notice.handler_en,
        body_zh=notice.body_zh,
        body_en=notice.body_en,
        purposes=consent.notice_purposes(notice),
        published_at=notice.published_at,
        current=current is not None and current.id == notice.id,
    )


@requires("consent.manage", reads=True)
def list_notices(
    session: Session, *, actor: Actor, page: int = 1, page_size: int = 20
) -> tuple[list[NoticeRow], int]:
    """The versions, newest first (a draft on top), one page, and how many there are."""
    window = page_window(page, page_size)
    total = session.exec(select(func.count()).select_from(PrivacyNotice)).scalar_one()
    creator = select(User.display_name).where(User.id == PrivacyNotice.created_by)
    publisher = select(User.display_name).where(User.id == PrivacyNotice.published_by)
    found = session.exec(
        select(
            PrivacyNotice,
            creator.scalar_subquery().label("creator"),
            publisher.scalar_subquery().label("publisher"),
        )
        .order_by(PrivacyNotice.version.desc())
        .offset(window.offset)
        .limit(window.limit)
    ).all()
    current = consent.current_notice(session)
    rows = [
        NoticeRow(
            id=n.id,
            version=n.version,
            status=n.status,
            purposes=consent.notice_purposes(n),
            created_at=n.created_at,
            created_by=creator_name or "",
            published_at=n.published_at,
            published_by=publisher_name or "",
            current=current is not None and current.id == n.id,
        )
        for n, creator_name, publisher_name in found
    ]
    return rows, total


@requires("consent.manage", reads=True)
def get_notice(session: Session, *, actor: Actor, notice_id: int) -> NoticeDetail:
    notice = session.get(PrivacyNotice, notice_id)
    if notice is None:
        raise NotFound("notice.error.not_found")
    return _detail(notice, consent.current_notice(session))


@requires("consent.manage")
def create_draft(session: Session, *, actor: Actor) -> NoticeDetail:
    """The next version as a draft, its text and purposes copied from the current version. One
    draft at a time: two would compete for the next version number and confuse whoever
    publishes."""
    if _open_draft(session) is not None:
        raise DomainError("compliance.error.draft_exists")
    current = consent.current_notice(session)
    top = session.exec(select(func.max(PrivacyNotice.version))).scalar_one() or 0
    # the current purposes that are still enabled, service always
    codes = _chosen_purposes(session, consent.notice_purposes(current), {})
    draft = PrivacyNotice(
        version=top + 1,
        handler_zh=current.handler_zh if current else "",
        handler_en=current.handler_en if current else "",
        body_zh=current.body_zh if current else "",
        body_en=current.body_en if current else "",
        purposes=",".join(codes),
        status=NoticeStatus.DRAFT,
        created_at=clock.now(),
        created_by=actor.user_id,
    )
    session.add(draft)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="notice.draft_create",
        target_type="privacy_notice",
        target_id=draft.version,
        detail={"from_version": current.version if current else None},
    )
    return _detail(draft, current)


def _draft(session: Session, notice_id: int) -> PrivacyNotice:
    notice = session.get(PrivacyNotice, notice_id)
    if notice is None:
        raise NotFound("notice.error.not_found")
    if notice.status != NoticeStatus.DRAFT:
        raise DomainError("compliance.error.published_read_only")
    return notice


def _chosen_purposes(session: Session, chosen: list[str], errors: dict[str, str]) -> list[str]:
    """The chosen purposes in display order, service (not consent-based) always included; only
    enabled purposes may be named."""
    enabled = [p for p in consent.purposes(session) if p.enabled]
    usable = {p.code for p in enabled}
    if any(code not in usable for code in chosen):
        errors["purposes"] = "compliance.error.purpose_unusable"
    wanted = set(chosen)
    return [p.code for p in enabled if p.code in wanted or not p.consent_based]


def _text_errors(values: dict[str, str]) -> dict[str, str]:
    errors: dict[str, str] = {}
    for field, limit in (
        ("handler_zh", HANDLER_MAX),
        ("handler_en", HANDLER_MAX),
        ("body_zh", BODY_MAX),
        ("body_en", BODY_MAX),
    ):
        if not values[field]:
            errors[field] = "compliance.error.required"
        elif len(values[field]) > limit:
            errors[field] = f"compliance.error.too_long_{limit}"
    for field, word in WITHDRAW_WORDS.items():
        if field not in errors and word not in values[field].lower():
            errors[field] = f"compliance.error.withdraw_missing_{field[-2:]}"
    return errors


@requires("consent.manage")
def update_draft(
    session: Session,
    *,
    actor: Actor,
    notice_id: int,
    handler_zh: str,
    handler_en: str,
    body_zh: str,
    body_en: str,
    purposes: list[str],
) -> NoticeDetail:
    """Save the draft's text and purposes (checked as for publishing: a saved draft is always
    publishable unless a purpose is disabled afterwards)."""
    draft = _draft(session, notice_id)
    values = {
        "handler_zh": (handler_zh or "").strip(),
        "handler_en": (handler_en or "").strip(),
        "body_zh": (body_zh or "").strip(),
        "body_en": (body_en or "").strip(),
    }
    errors = _text_errors(values)
    codes = _chosen_purposes(session, [str(c) for c in purposes], errors)
    if errors:
        raise ValidationFailed(errors)
    values["purposes"] = ",".join(codes)
    changed = [f for f, v in values.items() if getattr(draft, f) != v]
    if changed:
        for field in changed:
            setattr(draft, field, values[field])
        session.add(draft)
        audit.record(
            session,
            actor=actor,
            action="notice.draft_update",
            target_type="privacy_notice",
            target_id=draft.version,
            fields=changed,
        )
    return _detail(draft, consent.current_notice(session))


@requires("consent.manage")
def discard_draft(session: Session, *, actor: Actor, notice_id: int) -> int:
    """A draft was never shown to anyone: it may go. -> its version number."""
    draft = _draft(session, notice_id)
    version = draft.version
    session.delete(draft)
    audit.record(
        session,
        actor=actor,
        action="notice.draft_discard",
        target_type="privacy_notice",
        target_id=version,
    )
    return version


def _publish_errors(session: Session, draft: PrivacyNotice) -> dict[str, str]:
    errors = _text_errors(
        {f: getattr(draft, f) for f in ("handler_zh", "handler_en", "body_zh", "body_en")}
    )
    codes = consent.notice_purposes(draft)
    if _chosen_purposes(session, codes, errors) != codes and "purposes" not in errors:
        errors["purposes"] = "compliance.error.purpose_unusable"
    return errors


@dataclass(frozen=True)
class PublishPreview:
    version: int
    added: list[str]
    removed: list[str]
    customers: int  # how many customers will be flagged "re-confirm needed"

    @property
    def changed(self) -> bool:
        return bool(self.added or self.removed)


@requires("consent.manage", reads=True)
def publish_preview(session: Session, *, actor: Actor, notice_id: int) -> PublishPreview:
    """What publishing the draft would do, for the confirmation: the purposes added and removed
    and how many customers would have to re-confirm (nobody when the purposes are the same)."""
    draft = _draft(session, notice_id)
    errors = _publish_errors(session, draft)
    if errors:
        raise ValidationFailed(errors)
    current = consent.current_notice(session)
    before, after = consent.notice_purposes(current), consent.notice_purposes(draft)
    added = [c for c in after if c not in before]
    removed = [c for c in before if c not in after]
    customers = consent.customers_to_reconfirm(session) if current and (added or removed) else 0
    return PublishPreview(draft.version, added, removed, customers)


@dataclass(frozen=True)
class Published:
    version: int
    flagged: int


@requires("consent.manage")
def publish_draft(session: Session, *, actor: Actor, notice_id: int) -> Published:
    """Check the draft once more, then publish it (consent.publish_notice flags the customers
    to re-confirm when the purposes changed). The change notices are queued afterwards by
    `send_change_notices`, in batches of their own transactions."""
    draft = _draft(session, notice_id)
    errors = _publish_errors(session, draft)
    if errors:
        raise ValidationFailed(errors)
    flagged = consent.publish_notice(session, actor=actor, notice_id=notice_id)
    return Published(draft.version, flagged)


def send_change_notices(session_factory: Callable, *, actor: Actor) -> dict:
    """Queue the change notice to every flagged customer not yet told, now rather than at the
    next daily job (consent.notify_reconfirm: batches, one transaction each, never twice).
    Checked like any operation; the run is audited with its counts."""
    with session_factory():  # a denial is audited by the session scope
        ensure(actor, "consent.manage", action="compliance.send_change_notices")
    result = consent.notify_reconfirm(session_factory)
    if not any(result.values()):
        return result
    with session_factory() as session:
        audit.record(
            session,
            actor=actor,
            action="notice.change_notices",
            target_type="privacy_notice",
            detail=result,
        )
    return result
