"""销毁的运行 (issue 16, DS): what blocks a destruction, the execution of approved candidates
(from an approval, a `destruction.run` job or the daily run), the register line and audit entry
of each. services/destruction.py holds the queue and its two people; destruction_apply.py what
a destruction does to the data; destruction_scrub.py what follows the commit (the keys shredded,
the leftovers reconciled, PostgreSQL vacuumed); destruction_reapply.py the register re-applied
after a restore.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlmodel import Session

from custapp import clock
from custapp.models import (
    ApprovalRequest,
    Complaint,
    Customer,
    DestructionCandidate,
    LegalHold,
    MemberCard,
    PointsClawback,
    PointsLot,
    RedemptionRequest,
    RightsRequest,
    StoredValueEntry,
    User,
    UserRole,
)
from custapp.models.complaints import OPEN_STATUSES as OPEN_COMPLAINTS
from custapp.security.permissions import permissions_for
from custapp.services import (
    audit,
    destruction_apply,
    destruction_register,
    destruction_scrub,
    job_queue,
    rights,
)
from custapp.services.actor import Actor, system_actor
from custapp.settings import get_settings
from custapp.vocab import (
    ApprovalStatus,
    CardStatus,
    DestructionScope,
    DestructionStatus,
    RedemptionStatus,
    RightsKind,
    RightsStatus,
)

log = logging.getLogger(__name__)

RUN_BATCH = 200
REGISTER_FOLDER = "register"  # <backup_dir>/register/, as every backup copies it (backups.py)
OPEN_REQUESTS = (RightsStatus.OPEN, RightsStatus.IN_PROGRESS)
APPROVE = "destruction.approve"
APPROVER_GONE = "destruction.blocked.approver"  # the approval no longer holds


# --- what blocks a destruction --------------------------------------------------------------------


def _any(session: Session, query) -> bool:  # noqa: ANN001 (a select of one column)
    return session.exec(query.limit(1)).first() is not None


def blockers(
    session: Session, customer_id: int, *, scope: str = DestructionScope.CUSTOMER
) -> list[str]:
    """Why the customer (or, scope 'category', a category of it) cannot be destroyed now: i18n
    keys destruction.blocked.*, [] when nothing blocks. A deletion request never blocks the
    destruction it asks for. A whole customer goes with the merged-away records that redirect
    to it (destruction_apply._with_redirects): what blocks any of them blocks it."""
    found: list[str] = []
    ids = [customer_id]
    if scope == DestructionScope.CUSTOMER:
        ids += session.exec(
            select(Customer.id).where(
                Customer.merged_into_id == customer_id, Customer.destroyed_at.is_(None)
            )
        ).scalars()
    if _any(
        session,
        select(LegalHold.id).where(LegalHold.customer_id.in_(ids), LegalHold.released_at.is_(None)),
    ):
        found.append("destruction.blocked.legal_hold")
    if _any(
        session,
        select(RightsRequest.id).where(
            RightsRequest.customer_id.in_(ids),
            RightsRequest.status.in_(OPEN_REQUESTS),
            RightsRequest.kind != RightsKind.DELETION,
        ),
    ):
        found.append("destruction.blocked.open_request")
    if scope != DestructionScope.CUSTOMER:
        return found
    if _any(
        session,
        select(Complaint.id).where(
            Complaint.customer_id.in_(ids), Complaint.status.in_(OPEN_COMPLAINTS)
        ),
    ):
        found.append("destruction.blocked.open_complaint")
    if _any(
        session,
        select(MemberCard.id).where(
            MemberCard.customer_id.in_(ids), MemberCard.status == CardStatus.ACTIVE
        ),
    ):
        found.append("destruction.blocked.open_card")
    stored = session.exec(
        select(func.coalesce(func.sum(StoredValueEntry.amount_fen), 0)).where(
            StoredValueEntry.customer_id.in_(ids)
        )
    ).scalar_one()
    if stored:
        found.append("destruction.blocked.stored_value")
    today = clock.local_today()
    live_points = session.exec(
        select(func.coalesce(func.sum(PointsLot.remaining), 0)).where(
            PointsLot.customer_id.in_(ids),
            PointsLot.remaining > 0,
            (PointsLot.expires_on.is_(None)) | (PointsLot.expires_on >= today),
        )
    ).scalar_one()
    if live_points:
        found.append("destruction.blocked.points")
    if _any(
        session,
        select(PointsClawback.customer_id).where(
            PointsClawback.customer_id.in_(ids), PointsClawback.points > 0
        ),
    ):
        found.append("destruction.blocked.clawback")
    if _any(
        session,
        select(ApprovalRequest.id).where(
            ApprovalRequest.customer_id.in_(ids),
            ApprovalRequest.status == ApprovalStatus.PENDING,
        ),
    ) or _any(
        session,
        select(RedemptionRequest.id).where(
            RedemptionRequest.customer_id.in_(ids),
            RedemptionRequest.status == RedemptionStatus.PENDING,
        ),
    ):
        found.append("destruction.blocked.pending_approval")
    return found


def blocked(session: Session, candidate: DestructionCandidate) -> list[str]:
    found = blockers(session, candidate.customer_id, scope=candidate.scope)
    candidate.blocked_reason = ",".join(found) or None
    return found


# --- the record ---------------------------------------------------------------------------------


def register_entry(
    candidate: DestructionCandidate,
    *,
    now: datetime,
    request_number: str | None,
    method: str,
    key_id: int | None = None,
    merged: list | None = None,
    before: datetime | None = None,
) -> dict:
    """The register line of a destruction: ids and codes, never a value."""
    entry = {
        "at": now.isoformat(),
        "candidate": candidate.number,
        "customer_id": candidate.customer_id,
        "scope": candidate.scope,
        "category": candidate.category or None,
        "reason": candidate.reason_kind,
        "rule": candidate.rule_category,
        "request": request_number,
        "request_id": candidate.rights_request_id,
        "proposed_by": candidate.proposed_by,
        "appraised_by": candidate.appraised_by,
        "approved_by": candidate.approved_by,
        "method": method,
    }
    if key_id is not None:
        entry["key_id"] = key_id
        entry["merged"] = merged or []
    if before is not None:
        entry["before"] = before.isoformat()
    return entry


def audit_destruction(
    session: Session, *, actor: Actor, entry: dict, counts: dict | None = None
) -> None:
    audit.record(
        session,
        actor=actor,
        action="customer.destroy"
        if entry["scope"] == DestructionScope.CUSTOMER
        else "customer.destroy_category",
        customer_id=entry["customer_id"],
        detail={
            "candidate": entry["candidate"],
            "scope": entry["scope"],
            "categories": sorted(counts) if counts else [entry["category"] or "customer"],
            "method": entry["method"],
            "reason": entry["reason"],
        },
    )


def write_register(entries: list[dict]) -> None:
    """The register lines, durable before the transaction commits, then copied to the backup
    destination (`<backup_dir>/register/`): a restore finds every destruction there even when
    the instance folder is lost. The live register is what counts, so a copy that fails (the
    folder unmounted) is logged and does not undo the destruction; the next destruction, backup or
    key-store copy copies the whole register again."""
    if not entries:
        return
    destruction_register.append_many(entries)
    try:
        destruction_register.copy_to(get_settings().backup_dir / REGISTER_FOLDER)
    except (OSError, destruction_register.RegisterDamaged) as exc:
        log.error("destruction register not copied to the backup folder: %s", type(exc).__name__)


# --- executing approved candidates ----------------------------------------------------------------------------------


def request_step(session: Session, candidate: DestructionCandidate, *, done: bool) -> bool:
    """ER's plug (删除权): before a candidate answering a deletion request is destroyed, whether
    its completion notice has gone (the first call queues it); after, the request is closed."""
    if candidate.rights_request_id is None:
        return True
    if done:
        rights.deletion_done(session, candidate.rights_request_id, candidate.number)
        return True
    return bool(rights.deletion_notice_ready(session, candidate.rights_request_id))


def _request_numbers(session: Session, candidates: list[DestructionCandidate]) -> dict[int, str]:
    ids = {c.rights_request_id for c in candidates if c.rights_request_id}
    if not ids:
        return {}
    return dict(
        session.exec(
            select(RightsRequest.id, RightsRequest.number).where(RightsRequest.id.in_(ids))
        ).all()
    )


def run_candidates(
    session: Session, candidates: list[DestructionCandidate], *, actor: Actor
) -> dict:
    """Execute approved candidates in the caller's transaction: each checked for blockers (a
    blocked one goes back to 'appraised' for a new approval) and for its completion notice (it
    waits), the rest destroyed: the customers together (one key-store call, one register
    write), the categories one by one. -> {"done", "waiting", "blocked", "blockers"}."""
    counts: dict = {"done": 0, "waiting": 0, "blocked": 0, "blockers": []}
    whole: list[DestructionCandidate] = []
    now = clock.now()
    numbers = _request_numbers(session, candidates)
    entries: list[dict] = []
    approvers = _approvers_who_may(session, candidates)
    for candidate in candidates:
        if (
            candidate.approved_by not in approvers
            or candidate.approved_by == candidate.appraised_by
        ):
            _void_approval(session, candidate, actor)
            counts["blocked"] += 1
            counts["blockers"] = [APPROVER_GONE]
            continue
        found = blocked(session, candidate)
        if found:
            candidate.status = DestructionStatus.APPRAISED
            candidate.approved_by = candidate.approved_at = None
            counts["blocked"] += 1
            counts["blockers"] = found
            continue
        if not request_step(session, candidate, done=False):
            counts["waiting"] += 1
            continue
        if candidate.scope == DestructionScope.CUSTOMER:
            whole.append(candidate)
            continue
        before = destruction_apply.category_cutoff(session, candidate.rule_category, now)
        destruction_apply.wipe_category(
            session, candidate.customer_id, candidate.category, before=before
        )
        entry = register_entry(
            candidate,
            now=now,
            request_number=numbers.get(candidate.rights_request_id),
            method=destruction_apply.METHOD_CATEGORY,
            before=before,
        )
        _finish(session, candidate, entry, actor, now, None)
        entries.append(entry)
        counts["done"] += 1
    key_ids: list[int] = []
    if whole:
        wiped = destruction_apply.wipe_customers(session, [c.customer_id for c in whole], now=now)
        by_customer = {w["id"]: w for w in wiped["customers"]}
        for candidate in whole:
            done = by_customer.get(candidate.customer_id)
            entry = register_entry(
                candidate,
                now=now,
                request_number=numbers.get(candidate.rights_request_id),
                method=destruction_apply.METHOD_CUSTOMER,
                key_id=done["key_id"] if done else None,
                merged=done["merged"] if done else None,
            )
            _finish(session, candidate, entry, actor, now, wiped["counts"])
            if done:
                key_ids += [done["key_id"], *(key for _, key in done["merged"])]
                entries.append(entry)
            counts["done"] += 1
    # the register line (intent and key ids) is durable before the commit; the keys go only
    # after it (a failed append or commit leaves them, with the rows that still need them)
    session.flush()
    write_register(entries)
    destruction_scrub.shred_after_commit(session, key_ids)
    return counts


def _approvers_who_may(session: Session, candidates: list[DestructionCandidate]) -> set[int]:
    """Of the users who approved these candidates, those who still may: active, holding
    `destruction.approve` now (a role taken away or an account disabled since voids it)."""
    ids = {c.approved_by for c in candidates if c.approved_by is not None}
    roles: dict[int, set[str]] = {}
    if ids:
        rows = session.exec(
            select(UserRole.user_id, UserRole.role)
            .join(User, User.id == UserRole.user_id)
            .where(UserRole.user_id.in_(ids), User.is_active.is_(True))
        ).all()
        for user_id, role in rows:
            roles.setdefault(user_id, set()).add(role)
    return {u for u, held in roles.items() if APPROVE in permissions_for(held)}


def _void_approval(session: Session, candidate: DestructionCandidate, actor: Actor) -> None:
    """An approval that no longer holds (the approver disabled, stripped of the permission, or
    the appraiser): back to 'appraised' for a new approval by someone who may."""
    approver = candidate.approved_by
    candidate.status = DestructionStatus.APPRAISED
    candidate.approved_by = candidate.approved_at = None
    candidate.blocked_reason = APPROVER_GONE
    audit.record(
        session,
        actor=actor,
        action="destruction.approval_void",
        target_type="destruction",
        target_id=candidate.number,
        customer_id=candidate.customer_id,
        detail={"scope": candidate.scope, "approver_id": approver, "reason": APPROVER_GONE},
    )


def _finish(
    session: Session,
    candidate: DestructionCandidate,
    entry: dict,
    actor: Actor,
    now: datetime,
    categories: dict | None,
) -> None:
    candidate.status, candidate.done_at = DestructionStatus.DONE, now
    candidate.method, candidate.blocked_reason = entry["method"], None
    request_step(session, candidate, done=True)
    audit_destruction(session, actor=actor, entry=entry, counts=categories)


def _approved_after(session: Session, after: int, batch: int, only: list[int] | None) -> list:
    query = select(DestructionCandidate).where(
        DestructionCandidate.status == DestructionStatus.APPROVED,
        DestructionCandidate.id > after,
    )
    if only is not None:
        query = query.where(DestructionCandidate.id.in_(only))
    return list(
        session.exec(query.order_by(DestructionCandidate.id).limit(batch).with_for_update())
        .scalars()
        .all()
    )


def run_approved(
    session_factory: Callable,
    *,
    progress: Callable[[int, int], None] | None = None,
    batch: int = RUN_BATCH,
    actor: Actor | None = None,
    vacuum: bool = True,
) -> dict:
    """Execute every approved candidate, `batch` per transaction (the daily step, the bench)
    -> {"done", "waiting", "blocked"}. Those waiting for their notice stay for the next run;
    an approval that no longer holds goes back to 'appraised' (counted as blocked). After
    destructions PostgreSQL vacuums the wiped tables (destruction_scrub.vacuum_wiped)."""
    actor = actor or system_actor("destruction")
    with session_factory(write=False) as session:
        total = session.exec(
            select(func.count(DestructionCandidate.id)).where(
                DestructionCandidate.status == DestructionStatus.APPROVED
            )
        ).scalar_one()
    summary = {"done": 0, "waiting": 0, "blocked": 0}
    try:
        return _run_approved(session_factory, summary, progress, batch, actor, total)
    finally:
        if vacuum and summary["done"]:  # what the wipes left in dead tuples (PostgreSQL)
            destruction_scrub.vacuum_wiped(session_factory)


def _run_approved(
    session_factory: Callable,
    summary: dict,
    progress: Callable[[int, int], None] | None,
    batch: int,
    actor: Actor,
    total: int,
) -> dict:
    after, seen = 0, 0
    while True:
        with session_factory() as session:
            candidates = _approved_after(session, after, batch, None)
            if not candidates:
                break
            counts = run_candidates(session, candidates, actor=actor)
        after = candidates[-1].id
        seen += len(candidates)
        for key in summary:
            summary[key] += counts[key]
        if progress:
            progress(seen, max(total, seen))
    return summary


def run_daily(session_factory: Callable) -> dict:
    """The daily destruction step: the approved candidates (run_approved), then the keys a
    crash left behind (shred_leftovers), then, on PostgreSQL, one VACUUM when anything was
    destroyed since the day before (this run, single approvals, `destruction.run` jobs)."""
    started = clock.now()
    summary = run_approved(session_factory, vacuum=False)
    summary["shredded"] = destruction_scrub.shred_leftovers(session_factory)
    recent = summary["done"] or destruction_scrub.destroyed_since(
        session_factory, started - timedelta(days=2)
    )
    summary["vacuumed"] = bool(recent) and destruction_scrub.vacuum_wiped(session_factory)
    return summary


def run_job(ctx: job_queue.JobContext, *, batch: int = 50) -> None:
    """The `destruction.run` job of approve_many: its candidates, `batch` per step, as the
    approver who queued it (who must still hold the permission)."""
    ids = [int(i) for i in ctx.params.get("candidate_ids", [])]
    state = ctx.state
    state.setdefault("after", 0)
    for key in ("done", "waiting", "blocked"):
        state.setdefault(key, 0)
    while True:
        with ctx.step() as session:
            actor = job_queue.acting_for(session, ctx.created_by, "destruction.approve")
            candidates = _approved_after(session, state["after"], batch, ids)
            if not candidates:
                ctx.finish({k: state[k] for k in ("done", "waiting", "blocked")})
                return
            counts = run_candidates(session, candidates, actor=actor)
            for key in ("done", "waiting", "blocked"):
                state[key] += counts[key]
            state["after"] = candidates[-1].id
            ctx.progress(state["done"] + state["waiting"] + state["blocked"], len(ids))
