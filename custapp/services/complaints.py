"""投诉 (SPEC §5, §8 Complaints; 000 CP-*, 003 CS-*): intake, deadlines, workflow, timeline,
closing, escalation.

- Intake (`complaint.create`: front desk and cs_manager; `member.self` from the portal, the
  customer taken from the login) numbers the complaint T<yyyymmdd><4 digits>, sets both deadlines
  from the severity (settings.complaint_deadlines), acknowledges it to the customer through the
  outbox (service purpose, when a phone is on file) and tells the store's cs_managers.
- Free text is encrypted under the customer's data key (an anonymous walk-in's complaint gets a
  key of its own); audit entries hold ids and status names only.
- Workflow (`complaint.handle`): received → investigating → solution proposed → customer informed
  → return visit, with on hold (the clocks pause: a resume leaves each deadline the time it had
  left when the hold began) and reopened. Closing (`complaint.close`) needs the return visit, a root cause, the
  solution, the day and way the customer was informed and a satisfaction score 1–5 or why there
  is none. Assigning is `complaint.assign`.
- The first-response clock stops at the first move out of "received" or the first reply the
  customer sees; the resolution clock stops at "customer informed"; reopening starts a new
  resolution clock.
- Deadlines count business time when a business-hours calendar is set (services/business_hours.py),
  round the clock otherwise.
- Escalation (`run_escalations`, a daily-jobs step that may run every few minutes): per clock a
  warning to the assignee (the store's cs_managers when nobody is assigned) at 80 % of the time, escalation to the store's cs_managers at the
  breach, a second level to every cs_manager `complaint_second_level_hours` later. Each is marked
  on the complaint by a conditional UPDATE, so it fires exactly once, and lands on the timeline
  and in the outbox.
- Every write takes the complaint's row lock first (SELECT ... FOR UPDATE).
- What the customer sees: the moves of SEEN_MOVES, holds, resumes, closing and reopening (the
  change, not its note), the outcome told at customer_informed, the solution once closed,
  compensation and replies. A note on any step is a timeline entry of its own, internal unless
  the handler passes visible=True (issue 14 item 12).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import func, or_, select, update
from sqlmodel import Session

from custapp import clock
from custapp.i18n import t
from custapp.models import Customer, Gift, User, UserRole
from custapp.models.complaints import (
    CATEGORIES,
    CHANNELS,
    INFORM_WAYS,
    OPEN_STATUSES,
    SEVERITIES,
    Complaint,
    ComplaintEvent,
    ComplaintSequence,
)
from custapp.security.permissions import ROLE_PERMISSIONS
from custapp.services import (
    audit,
    business_hours,
    complaint_files,
    customer_fields,
    datakeys,
    outbox,
)
from custapp.services.actor import Actor, system_actor
from custapp.services.customer_input import is_row_id
from custapp.services.customers import live_customer, next_in_sequence, survivor
from custapp.services.errors import DomainError, NotFound, ValidationFailed
from custapp.services.guard import requires
from custapp.services.paging import page_window
from custapp.settings import get_settings
from custapp.vocab import (
    COMPLAINT_MOVES,
    ComplaintChannel,
    ComplaintClock,
    ComplaintEventKind,
    ComplaintStatus,
    EscalationLevel,
    MessageChannel,
    PurposeCode,
    Role,
    Severity,
    UserKind,
)

MAX_TEXT = 2000
MAX_PAGE_SIZE = 100
STAFF_CHANNELS = tuple(c for c in CHANNELS if c != ComplaintChannel.PORTAL)
# status -> the statuses a handler may move it to (closing, holding and reopening have their own
# operations)
MOVES = COMPLAINT_MOVES
# the moves the customer always sees on their timeline (the others stay internal)
SEEN_MOVES = (ComplaintStatus.INVESTIGATING, ComplaintStatus.CUSTOMER_INFORMED)
CLOCKS = tuple(ComplaintClock)
LEVELS = tuple(EscalationLevel)


# --- DTOs -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ComplaintRow:
    id: int
    number: str
    customer_id: int | None
    customer_number: str
    customer_name: str  # plain column (SPEC §8); "" for an anonymous walk-in
    channel: str
    category: str
    severity: str
    status: str
    assignee_id: int | None
    assignee_name: str
    created_at: datetime
    response_by: datetime | None
    resolution_by: datetime | None
    overdue: bool
    satisfaction: int | None


@dataclass(frozen=True)
class TimelineEntry:
    kind: str  # filed | status | note | reply | outcome | assign | escalation | score | …
    from_status: str
    to_status: str
    visible: bool
    body: str
    detail: str
    actor_name: str
    created_at: datetime


@dataclass(frozen=True)
class ComplaintView:
    row: ComplaintRow
    description: str
    desired: str
    contact: str
    root_cause: str
    solution: str
    informed_on: date | None
    informed_via: str
    no_score_reason: str
    first_response_at: datetime | None
    informed_at: datetime | None
    closed_at: datetime | None
    reopened_count: int
    timeline: list[TimelineEntry]
    gifts: dict[int, tuple[str, str]]  # id -> (name_zh, name_en) of gifts given as compensation


# --- helpers ----------------------------------------------------------------------------------


def _context(part: str) -> str:
    return f"complaint.{part}"


def _seal(session: Session, complaint: Complaint, value: str, part: str) -> str | None:
    return datakeys.encrypt(session, complaint.data_key_id, value, context=_context(part))


def _open(session: Session, complaint: Complaint, token: str | None, part: str) -> str:
    return datakeys.decrypt(session, complaint.data_key_id, token, context=_context(part))


def _text(value: object, field: str, errors: dict[str, str], *, required: bool) -> str:
    text = value.strip() if isinstance(value, str) else ""
    if len(text) > MAX_TEXT:
        errors[field] = "complaint.error.too_long"
    elif required and not text:
        errors[field] = f"complaint.error.{field}_required"
    return text


def deadlines(severity: str, start: datetime) -> tuple[datetime, datetime]:
    """(response_by, resolution_by) of a complaint of `severity` received at `start`: that many
    hours of business time later (round the clock without a business-hours calendar)."""
    response, resolution = get_settings().complaint_deadlines[severity]
    return (
        business_hours.later(start, timedelta(hours=response)),
        business_hours.later(start, timedelta(hours=resolution)),
    )


def _number(session: Session, now: datetime) -> str:
    day = clock.to_local(now).date()
    key = day.year * 10_000 + day.month * 100 + day.day
    last = next_in_sequence(session, ComplaintSequence.__table__, "day", key)
    if last > 9_999:
        raise DomainError("complaint.error.number_exhausted")
    return f"T{key}{last:04d}"


def _event(
    session: Session, complaint: Complaint, actor: Actor | None, kind: str, *,
    to_status: str | None = None, from_status: str | None = None, body: str = "",
    visible: bool = False, detail: str | None = None,
) -> None:  # fmt: skip
    session.add(
        ComplaintEvent(
            complaint_id=complaint.id,
            kind=kind,
            from_status=from_status,
            to_status=to_status,
            visible=visible,
            body_enc=_seal(session, complaint, body, "event") if body else None,
            detail=detail,
            actor_id=actor.user_id if actor else None,
            created_at=clock.now(),
        )
    )


def locked(session: Session, complaint_id: object) -> Complaint:
    complaint = (
        session.exec(
            select(Complaint)
            .where(Complaint.id == complaint_id)
            .with_for_update()
            .execution_options(populate_existing=True)
        ).scalar_one_or_none()
        if is_row_id(complaint_id)
        else None
    )
    if complaint is None:
        raise NotFound("complaint.error.not_found")
    return complaint


def _own_locked(session: Session, actor: Actor, complaint_id: object) -> Complaint:
    """The member's own complaint, locked; another customer's is simply not found."""
    complaint = locked(session, complaint_id)
    if actor.customer_id is None or complaint.customer_id != actor.customer_id:
        raise NotFound("complaint.error.not_found")
    return complaint


def _audit(session: Session, actor: Actor, action: str, complaint: Complaint, **detail) -> None:  # noqa: ANN003
    audit.record(
        session,
        actor=actor,
        action=action,
        customer_id=complaint.customer_id,
        detail={"complaint": complaint.id, **detail},
    )


def _tell_customer(session: Session, complaint: Complaint, subject_key: str, body_key: str) -> bool:
    """An SMS to the customer about their complaint (the service purpose), when a phone is on
    file and the customer's consent state allows it."""
    if complaint.customer_id is None:
        return False
    customer = session.get(Customer, complaint.customer_id)
    phone = customer_fields.read(session, customer, "phone") if customer else ""
    if not phone or not outbox.purpose_allowed(
        session, customer_id=customer.id, purpose=PurposeCode.SERVICE
    ):
        return False
    outbox.queue_message(
        session,
        channel=MessageChannel.SMS,
        purpose=PurposeCode.SERVICE,
        customer_id=customer.id,
        customer_key_id=customer.data_key_id,
        recipient=phone,
        subject=t(subject_key, "zh_CN", number=complaint.number),
        body=t(body_key, "zh_CN", number=complaint.number),
    )
    return True


def _tell_user(session: Session, user_id: int, subject_key: str, body_key: str, **params) -> None:  # noqa: ANN003
    user = session.get(User, user_id)
    if user is None or not user.is_active:
        return
    outbox.queue_message(
        session,
        channel=MessageChannel.IN_APP,
        purpose=PurposeCode.STAFF_ALERT,
        subject=t(subject_key, user.locale, **params),
        body=t(body_key, user.locale, **params),
        user_id=user.id,
    )


# --- intake -----------------------------------------------------------------------------------


def _file(
    session: Session, actor: Actor, *, customer: Customer | None, contact: str, channel: str,
    category: str, severity: str, description: str, desired: str, store_id: int | None,
) -> Complaint:  # fmt: skip
    now = clock.now()
    response_by, resolution_by = deadlines(severity, now)
    key_id = (
        customer.data_key_id
        if customer
        else datakeys.create_data_key(session, purpose="complaint").id
    )
    complaint = Complaint(
        number=_number(session, now),
        customer_id=customer.id if customer else None,
        store_id=store_id,
        data_key_id=key_id,
        channel=channel,
        category=category,
        severity=severity,
        status=ComplaintStatus.RECEIVED,
        description_enc="",
        created_by=actor.user_id,
        created_at=now,
        updated_at=now,
        response_by=response_by,
        resolution_by=resolution_by,
    )
    complaint.description_enc = _seal(session, complaint, description, "description") or ""
    complaint.desired_enc = _seal(session, complaint, desired, "desired")
    complaint.contact_enc = _seal(session, complaint, contact, "contact")
    session.add(complaint)
    session.flush()
    _event(
        session, complaint, actor, ComplaintEventKind.FILED,
        to_status=ComplaintStatus.RECEIVED, visible=True,
    )  # fmt: skip
    _audit(session, actor, "complaint.file", complaint, channel=channel, severity=severity)
    _tell_customer(session, complaint, "complaint.ack_subject", "complaint.ack_body")
    outbox.alert_role(
        session, role=Role.CS_MANAGER, subject_key="complaint.new_subject",
        body_key="complaint.new_body", params={"number": complaint.number, "severity": severity},
        store_id=store_id,
    )  # fmt: skip
    return complaint


def _check_intake(
    channel: object, category: object, severity: object, description: object, desired: object,
    channels: tuple[str, ...],
) -> tuple[dict[str, str], str, str]:  # fmt: skip
    errors: dict[str, str] = {}
    if channel not in channels:
        errors["channel"] = "complaint.error.channel"
    if category not in CATEGORIES:
        errors["category"] = "complaint.error.category"
    if severity not in SEVERITIES:
        errors["severity"] = "complaint.error.severity"
    text = _text(description, "description", errors, required=True)
    wish = _text(desired, "desired", errors, required=False)
    return errors, text, wish


@requires("complaint.create")
def file_complaint(
    session: Session, *, actor: Actor, customer_id: int | None, channel: str, category: str,
    severity: str, description: str, desired: str = "", contact: str = "",
) -> ComplaintRow:  # fmt: skip
    """Take a complaint at the counter, by phone, letter or online: for a customer, or for an
    anonymous walk-in with a contact (name and phone). Field errors: channel, category, severity,
    description, desired, contact."""
    errors, text, wish = _check_intake(
        channel, category, severity, description, desired, STAFF_CHANNELS
    )
    who = _text(contact, "contact", errors, required=customer_id is None)
    if errors:
        raise ValidationFailed(errors)
    customer = live_customer(session, customer_id) if customer_id is not None else None
    complaint = _file(
        session, actor, customer=customer, contact=who, channel=channel, category=category,
        severity=severity, description=text, desired=wish, store_id=actor.store_id,
    )  # fmt: skip
    return _rows(session, [complaint])[0]


@requires("member.self")
def member_file_complaint(
    session: Session, *, actor: Actor, category: str, description: str, desired: str = ""
) -> ComplaintRow:
    """A member files a complaint in the portal (channel portal, severity normal)."""
    errors, text, wish = _check_intake(
        ComplaintChannel.PORTAL,
        category,
        Severity.NORMAL,
        description,
        desired,
        (ComplaintChannel.PORTAL,),
    )
    if errors:
        raise ValidationFailed(errors)
    if actor.customer_id is None:
        raise NotFound("complaint.error.not_found")
    customer = live_customer(session, actor.customer_id)
    complaint = _file(
        session, actor, customer=customer, contact="", channel=ComplaintChannel.PORTAL,
        category=category, severity=Severity.NORMAL, description=text, desired=wish, store_id=None,
    )  # fmt: skip
    return _rows(session, [complaint])[0]


# --- handling ---------------------------------------------------------------------------------


def _stop_response(complaint: Complaint, now: datetime) -> None:
    if complaint.first_response_at is None:
        complaint.first_response_at = now
        complaint.response_by = None


def _note(session: Session, complaint: Complaint, actor: Actor, body: str, visible: object) -> None:
    """A note on the timeline, an entry of its own: internal unless `visible` is exactly True
    (then a reply the customer sees, and the first one stops the first-response clock)."""
    if not body:
        return
    shown = visible is True
    if shown:
        _stop_response(complaint, clock.now())
    _event(
        session,
        complaint,
        actor,
        ComplaintEventKind.REPLY if shown else ComplaintEventKind.NOTE,
        body=body,
        visible=shown,
    )


@requires("complaint.handle")
def move(
    session: Session, *, actor: Actor, complaint_id: int, to_status: str, note: str = "",
    visible: bool = False, outcome: str = "",
) -> ComplaintRow:  # fmt: skip
    """Move a complaint one step of the workflow, with an optional note (internal unless
    `visible`) and, at customer_informed, the outcome told to the customer (which they see).
    Field errors: note, outcome. Refused: complaint.error.move (not a step from here)."""
    errors: dict[str, str] = {}
    body = _text(note, "note", errors, required=False)
    told = _text(outcome, "outcome", errors, required=False)
    if told and to_status != ComplaintStatus.CUSTOMER_INFORMED:
        errors["outcome"] = "complaint.error.outcome_not_here"
    if errors:
        raise ValidationFailed(errors)
    complaint = locked(session, complaint_id)
    if to_status not in MOVES.get(complaint.status, ()):
        raise DomainError("complaint.error.move")
    now = clock.now()
    before = complaint.status
    complaint.status = to_status
    complaint.updated_at = now
    _stop_response(complaint, now)
    informed = to_status == ComplaintStatus.CUSTOMER_INFORMED
    if informed:
        complaint.informed_at, complaint.resolution_by = now, None
    _event(
        session, complaint, actor, ComplaintEventKind.STATUS,
        from_status=before, to_status=to_status,
        visible=to_status in SEEN_MOVES,
    )  # fmt: skip
    if told:
        _event(session, complaint, actor, ComplaintEventKind.OUTCOME, body=told, visible=True)
    _note(session, complaint, actor, body, visible)
    _audit(session, actor, "complaint.move", complaint, status=to_status)
    if informed:
        _tell_customer(session, complaint, "complaint.informed_subject", "complaint.informed_body")
    return _rows(session, [complaint])[0]


@requires("complaint.handle")
def add_note(
    session: Session, *, actor: Actor, complaint_id: int, body: str, visible: bool = False
) -> ComplaintRow:
    """A note on the timeline; `visible` makes it a reply the customer sees (and the first one
    stops the first-response clock). Field error: body."""
    errors: dict[str, str] = {}
    text = _text(body, "body", errors, required=True)
    if errors:
        raise ValidationFailed(errors)
    complaint = locked(session, complaint_id)
    complaint.updated_at = clock.now()
    _note(session, complaint, actor, text, visible)
    _audit(session, actor, "complaint.note", complaint, visible=visible is True)
    return _rows(session, [complaint])[0]


@requires("complaint.handle")
def hold(
    session: Session, *, actor: Actor, complaint_id: int, note: str = "", visible: bool = False
) -> ComplaintRow:
    """On hold, waiting for the customer: both clocks pause. The note is internal unless
    `visible`."""
    errors: dict[str, str] = {}
    body = _text(note, "note", errors, required=False)
    if errors:
        raise ValidationFailed(errors)
    complaint = locked(session, complaint_id)
    if complaint.status in (ComplaintStatus.CLOSED, ComplaintStatus.ON_HOLD):
        raise DomainError("complaint.error.move")
    now = clock.now()
    before = complaint.status
    complaint.held_status, complaint.held_since = before, now
    complaint.status, complaint.updated_at = ComplaintStatus.ON_HOLD, now
    _event(session, complaint, actor, ComplaintEventKind.STATUS,
           from_status=before, to_status=ComplaintStatus.ON_HOLD, visible=True)  # fmt: skip
    _note(session, complaint, actor, body, visible)
    _audit(session, actor, "complaint.hold", complaint)
    return _rows(session, [complaint])[0]


@requires("complaint.handle")
def resume(session: Session, *, actor: Actor, complaint_id: int) -> ComplaintRow:
    """Back to the status before the hold; the business time each deadline had left when the
    hold began is left again (round the clock: both move on by the hold's length)."""
    complaint = locked(session, complaint_id)
    if complaint.status != ComplaintStatus.ON_HOLD or complaint.held_since is None:
        raise DomainError("complaint.error.move")
    now, held = clock.now(), complaint.held_since
    if complaint.response_by is not None:
        complaint.response_by = business_hours.after_hold(complaint.response_by, held, now)
    if complaint.resolution_by is not None:
        complaint.resolution_by = business_hours.after_hold(complaint.resolution_by, held, now)
    complaint.status = complaint.held_status or ComplaintStatus.INVESTIGATING
    complaint.held_status, complaint.held_since, complaint.updated_at = None, None, now
    _event(session, complaint, actor, ComplaintEventKind.STATUS,
           from_status=ComplaintStatus.ON_HOLD, to_status=complaint.status,
           visible=True)  # fmt: skip
    _audit(session, actor, "complaint.resume", complaint)
    return _rows(session, [complaint])[0]


@requires("complaint.assign")
def assign(session: Session, *, actor: Actor, complaint_ids: list[int], assignee_id: int) -> int:
    """Assign one or more open complaints (bulk) to an active front-desk or cs_manager user;
    the assignee is told in the app. Returns how many were assigned."""
    user = session.get(User, assignee_id) if is_row_id(assignee_id) else None
    if user is None or not user.is_active or user.kind != UserKind.STAFF:
        raise ValidationFailed({"assignee": "complaint.error.assignee"})
    roles = session.exec(select(UserRole.role).where(UserRole.user_id == user.id)).scalars()
    if not any("complaint.handle" in ROLE_PERMISSIONS.get(role, ()) for role in roles):
        raise ValidationFailed({"assignee": "complaint.error.assignee"})
    ids = (
        [i for i in complaint_ids if is_row_id(i)][:MAX_PAGE_SIZE]
        if isinstance(complaint_ids, list)
        else []
    )
    done = 0
    for complaint_id in ids:
        complaint = locked(session, complaint_id)
        if complaint.status == ComplaintStatus.CLOSED or complaint.assignee_id == user.id:
            continue
        complaint.assignee_id, complaint.updated_at = user.id, clock.now()
        _event(session, complaint, actor, ComplaintEventKind.ASSIGN, detail=user.display_name[:60])
        _audit(session, actor, "complaint.assign", complaint, assignee=user.id)
        _tell_user(session, user.id, "complaint.assigned_subject", "complaint.assigned_body",
                   number=complaint.number)  # fmt: skip
        done += 1
    return done


def _check_close(
    root_cause: object, solution: object, informed_on: object, informed_via: object,
    satisfaction: object, no_score_reason: object,
) -> tuple[dict[str, str], dict]:  # fmt: skip
    errors: dict[str, str] = {}
    values = {
        "root_cause": _text(root_cause, "root_cause", errors, required=True),
        "solution": _text(solution, "solution", errors, required=True),
        "no_score_reason": _text(no_score_reason, "no_score_reason", errors, required=False),
    }
    if not isinstance(informed_on, date) or informed_on > clock.local_today():
        errors["informed_on"] = "complaint.error.informed_on"
    if informed_via not in INFORM_WAYS:
        errors["informed_via"] = "complaint.error.informed_via"
    if satisfaction is None:
        if not values["no_score_reason"] and "no_score_reason" not in errors:
            errors["satisfaction"] = "complaint.error.satisfaction"
    elif not is_row_id(satisfaction) or not 1 <= satisfaction <= 5:
        errors["satisfaction"] = "complaint.error.satisfaction"
    return errors, values


@requires("complaint.close")
def close(
    session: Session, *, actor: Actor, complaint_id: int, root_cause: str, solution: str,
    informed_on: date | None, informed_via: str, satisfaction: int | None = None,
    no_score_reason: str = "",
) -> ComplaintRow:  # fmt: skip
    """结案 after the return visit: root cause, solution, when and how the customer was told, and
    the satisfaction score 1-5 or why there is none (the member's own score counts). Field
    errors: root_cause, solution, informed_on, informed_via, satisfaction, no_score_reason."""
    errors, values = _check_close(
        root_cause, solution, informed_on, informed_via, satisfaction, no_score_reason
    )
    complaint = locked(session, complaint_id)
    if satisfaction is None and complaint.satisfaction is not None:
        errors.pop("satisfaction", None)  # the customer gave it in the portal
    if errors:
        raise ValidationFailed(errors)
    if complaint.status != ComplaintStatus.RETURN_VISIT:
        raise DomainError("complaint.error.close_before_visit")
    now = clock.now()
    complaint.root_cause_enc = _seal(session, complaint, values["root_cause"], "root_cause")
    complaint.solution_enc = _seal(session, complaint, values["solution"], "solution")
    complaint.no_score_reason_enc = _seal(
        session, complaint, values["no_score_reason"], "no_score_reason"
    )
    complaint.informed_on, complaint.informed_via = informed_on, informed_via
    if satisfaction is not None:
        complaint.satisfaction = satisfaction
    complaint.status, complaint.closed_at, complaint.closed_by = (
        ComplaintStatus.CLOSED,
        now,
        actor.user_id,
    )
    complaint.updated_at = now
    _event(session, complaint, actor, ComplaintEventKind.STATUS,
           from_status=ComplaintStatus.RETURN_VISIT, to_status=ComplaintStatus.CLOSED,
           visible=True)  # fmt: skip
    _audit(session, actor, "complaint.close", complaint, satisfaction=complaint.satisfaction)
    return _rows(session, [complaint])[0]


@requires("complaint.handle")
def reopen(
    session: Session, *, actor: Actor, complaint_id: int, note: str, visible: bool = False
) -> ComplaintRow:
    """Reopen a closed complaint with a reason (internal unless `visible`): a new resolution
    clock starts."""
    errors: dict[str, str] = {}
    body = _text(note, "note", errors, required=True)
    if errors:
        raise ValidationFailed(errors)
    complaint = locked(session, complaint_id)
    if complaint.status != ComplaintStatus.CLOSED:
        raise DomainError("complaint.error.move")
    now = clock.now()
    _, complaint.resolution_by = deadlines(complaint.severity, now)
    complaint.informed_at = complaint.closed_at = complaint.closed_by = None
    complaint.resolution_warned_at = complaint.resolution_escalated_at = None
    complaint.resolution_escalated2_at = None
    complaint.status, complaint.updated_at = ComplaintStatus.REOPENED, now
    complaint.reopened_count += 1
    _event(session, complaint, actor, ComplaintEventKind.STATUS,
           from_status=ComplaintStatus.CLOSED, to_status=ComplaintStatus.REOPENED,
           visible=True)  # fmt: skip
    _note(session, complaint, actor, body, visible)
    _audit(session, actor, "complaint.reopen", complaint)
    return _rows(session, [complaint])[0]


def record_compensation(session: Session, actor: Actor, complaint: Complaint, detail: str) -> None:
    """An approved compensation on the timeline (the customer sees it); approvals.py gives it."""
    complaint.updated_at = clock.now()
    _event(
        session, complaint, actor, ComplaintEventKind.COMPENSATION, detail=detail[:60], visible=True
    )
    _audit(session, actor, "complaint.compensation", complaint, given=detail)


# --- the member's side --------------------------------------------------------------------------


@requires("member.self")
def member_rate(session: Session, *, actor: Actor, complaint_id: int, score: int) -> ComplaintRow:
    """The member's satisfaction score 1-5, once they were informed of the outcome."""
    if not is_row_id(score) or not 1 <= score <= 5:
        raise ValidationFailed({"score": "complaint.error.satisfaction"})
    complaint = _own_locked(session, actor, complaint_id)
    if complaint.informed_at is None and complaint.status != ComplaintStatus.CLOSED:
        raise DomainError("complaint.error.not_informed")
    complaint.satisfaction, complaint.updated_at = score, clock.now()
    _event(session, complaint, actor, ComplaintEventKind.SCORE, detail=str(score), visible=True)
    _audit(session, actor, "complaint.score", complaint, score=score)
    return _rows(session, [complaint])[0]


# --- reading ----------------------------------------------------------------------------------


def _overdue(c: Complaint, now: datetime) -> bool:
    if c.status in (ComplaintStatus.CLOSED, ComplaintStatus.ON_HOLD):
        return False
    return any(by is not None and by < now for by in (c.response_by, c.resolution_by))


def _rows(session: Session, complaints: list[Complaint]) -> list[ComplaintRow]:
    customer_ids = {c.customer_id for c in complaints if c.customer_id}
    customers = (
        {
            cid: (number, name)
            for cid, number, name in session.exec(
                select(Customer.id, Customer.number, Customer.name).where(
                    Customer.id.in_(customer_ids)
                )
            ).all()
        }
        if customer_ids
        else {}
    )
    user_ids = {c.assignee_id for c in complaints if c.assignee_id}
    users = (
        dict(session.exec(select(User.id, User.display_name).where(User.id.in_(user_ids))).all())
        if user_ids
        else {}
    )
    now = clock.now()
    rows = []
    for c in complaints:
        number, name = customers.get(c.customer_id or 0, ("", ""))
        rows.append(
            ComplaintRow(
                c.id,
                c.number,
                c.customer_id,
                number,
                name,
                c.channel,
                c.category,
                c.severity,
                c.status,
                c.assignee_id,
                users.get(c.assignee_id or 0, ""),
                c.created_at,
                c.response_by,
                c.resolution_by,
                _overdue(c, now),
                c.satisfaction,
            )  # fmt: skip
        )
    return rows


def _paged(session: Session, where: list, page: object, page_size: object, order) -> tuple:  # noqa: ANN001
    window = page_window(page, page_size, max_size=MAX_PAGE_SIZE)
    total = session.exec(select(func.count(Complaint.id)).where(*where)).scalar_one()
    found = list(
        session.exec(
            select(Complaint)
            .where(*where)
            .order_by(*order)
            .offset(window.offset)
            .limit(window.limit)
        ).scalars()
    )
    return _rows(session, found), int(total)


def _view(session: Session, complaint: Complaint, *, customer_side: bool) -> ComplaintView:
    query = select(ComplaintEvent).where(ComplaintEvent.complaint_id == complaint.id)
    if customer_side:
        query = query.where(ComplaintEvent.visible.is_(True))
    events = list(session.exec(query.order_by(ComplaintEvent.id)).scalars())
    names = dict(
        session.exec(
            select(User.id, User.display_name).where(
                User.id.in_({e.actor_id for e in events if e.actor_id})
            )
        ).all()
    )
    timeline = [
        TimelineEntry(
            e.kind,
            e.from_status or "",
            e.to_status or "",
            e.visible,
            _open(session, complaint, e.body_enc, "event"),
            e.detail or "",
            ""
            if customer_side and e.kind != ComplaintEventKind.SCORE
            else names.get(e.actor_id or 0, ""),
            e.created_at,
        )  # fmt: skip
        for e in events
    ]
    given = {
        int(e.detail[5:]) for e in timeline
        if e.kind == ComplaintEventKind.COMPENSATION
        and e.detail.startswith("gift:") and e.detail[5:].isdecimal()
    }  # fmt: skip
    gifts = {
        g.id: (g.name_zh, g.name_en)
        for g in session.exec(select(Gift).where(Gift.id.in_(given))).scalars()
    } if given else {}  # fmt: skip
    row = _rows(session, [complaint])[0]
    if customer_side:
        row = ComplaintRow(**{**row.__dict__, "assignee_id": None, "assignee_name": ""})
    hidden = customer_side
    return ComplaintView(
        row=row,
        description=_open(session, complaint, complaint.description_enc, "description"),
        desired=_open(session, complaint, complaint.desired_enc, "desired"),
        contact="" if hidden else _open(session, complaint, complaint.contact_enc, "contact"),
        root_cause="" if hidden else _open(session, complaint, complaint.root_cause_enc, "root_cause"),
        solution=_open(session, complaint, complaint.solution_enc, "solution"),
        informed_on=complaint.informed_on,
        informed_via=complaint.informed_via or "",
        no_score_reason="" if hidden else _open(
            session, complaint, complaint.no_score_reason_enc, "no_score_reason"
        ),
        first_response_at=complaint.first_response_at,
        informed_at=complaint.informed_at,
        closed_at=complaint.closed_at,
        reopened_count=complaint.reopened_count,
        timeline=timeline,
        gifts=gifts,
    )  # fmt: skip


@requires("complaint.handle")
def get_complaint(session: Session, *, actor: Actor, complaint_id: int) -> ComplaintView:
    """One complaint with its whole timeline, decrypted for a handler; audited."""
    complaint = session.get(Complaint, complaint_id) if is_row_id(complaint_id) else None
    if complaint is None:
        raise NotFound("complaint.error.not_found")
    _audit(session, actor, "complaint.open", complaint)
    return _view(session, complaint, customer_side=False)


@requires("complaint.handle", reads=True)
def customer_complaints(
    session: Session, *, actor: Actor, customer_id: int, page: int = 1, page_size: int = 20
) -> tuple[list[ComplaintRow], int]:
    """A customer's complaints (a merged customer's id shows the survivor's), newest first."""
    customer, _ = survivor(session, customer_id)
    return _paged(
        session, [Complaint.customer_id == customer.id], page, page_size,
        (Complaint.created_at.desc(), Complaint.id.desc()),
    )  # fmt: skip


@requires("member.self", reads=True)
def member_complaints(
    session: Session, *, actor: Actor, page: int = 1, page_size: int = 20
) -> tuple[list[ComplaintRow], int]:
    """The member's own complaints, newest first, without who handles them."""
    if actor.customer_id is None:
        raise NotFound("complaint.error.not_found")
    rows, total = _paged(
        session, [Complaint.customer_id == actor.customer_id], page, page_size,
        (Complaint.created_at.desc(), Complaint.id.desc()),
    )  # fmt: skip
    return [
        ComplaintRow(**{**r.__dict__, "assignee_id": None, "assignee_name": ""}) for r in rows
    ], total


@requires("member.self", reads=True)
def member_complaint(session: Session, *, actor: Actor, complaint_id: int) -> ComplaintView:
    """The member's own complaint with the customer-visible timeline only."""
    complaint = session.get(Complaint, complaint_id) if is_row_id(complaint_id) else None
    if complaint is None or actor.customer_id is None or complaint.customer_id != actor.customer_id:
        raise NotFound("complaint.error.not_found")
    return _view(session, complaint, customer_side=True)


# --- escalation -------------------------------------------------------------------------------

ESCALATING = tuple(s for s in OPEN_STATUSES if s != ComplaintStatus.ON_HOLD)  # the clocks run
MAX_NUMBERS = 20  # complaint numbers named in one grouped alert


def _due_column(clock_name: str):  # noqa: ANN202
    return getattr(Complaint, f"{clock_name}_by")


def _mark_column(clock_name: str, level: str):  # noqa: ANN202
    return getattr(Complaint, f"{clock_name}_{level}_at")


def _limit(level: str, now: datetime, span: timedelta, second: timedelta) -> datetime:
    """A clock of length `span` reached `level` at `now` when it is due by this instant: the
    warning at 80 % of the span (the last 20 % counted in business time when a calendar is set),
    the escalation at the breach, the second level `second` (wall-clock) after."""
    if level == EscalationLevel.WARNED:
        return business_hours.later(now, span * 0.2)
    if level == EscalationLevel.ESCALATED:
        return now
    return now - second


def _reached(clock_name: str, level: str, now: datetime):  # noqa: ANN202 (a SQL condition)
    """Complaints whose `clock_name` clock reached `level` at `now`, marked or not: one
    (severity, limit) pair per severity, under one range on the due column for its index."""
    settings = get_settings()
    second = timedelta(hours=settings.complaint_second_level_hours)
    due = _due_column(clock_name)
    index = CLOCKS.index(clock_name)
    limits = {
        severity: _limit(level, now, timedelta(hours=hours[index]), second)
        for severity, hours in settings.complaint_deadlines.items()
    }
    return (
        Complaint.status.in_(ESCALATING)
        & (due <= max(limits.values()))
        & or_(*((Complaint.severity == sev) & (due <= limit) for sev, limit in limits.items()))
    )


def run_escalations(now: datetime | None = None) -> dict[str, int]:
    """One escalation scan (a jobs step): for each clock and level, mark the complaints that
    reached it and were not marked yet (one conditional UPDATE ... RETURNING per clock and
    level: exactly once), then follow up on all of them together (`_escalated`): timeline,
    alerts, audit. Returns the marks per "clock:level"."""
    from custapp.db import session_scope

    now = now or clock.now()
    counts: dict[str, int] = {}
    marked: list[tuple[str, str, list]] = []  # (clock, level, the marked complaints' rows)
    with session_scope() as session:
        connection = session.connection()  # Core statements: nothing here needs the ORM
        for clock_name in CLOCKS:
            for level in LEVELS:
                mark = _mark_column(clock_name, level)
                rows = connection.execute(
                    update(Complaint.__table__)
                    .where(_reached(clock_name, level, now), mark.is_(None))
                    .values({mark.key: now})
                    # what the follow-up needs, so it reads nothing more of the complaints
                    .returning(
                        Complaint.id, Complaint.number, Complaint.customer_id,
                        Complaint.store_id, Complaint.assignee_id,
                    )
                ).all()  # fmt: skip
                counts[f"{clock_name}:{level}"] = len(rows)
                if rows:
                    marked.append((clock_name, level, sorted(rows, key=lambda r: r.id)))
        if marked:
            _escalated(session, system_actor("jobs"), now, marked)
    return counts


def _escalated(session: Session, jobs: Actor, now: datetime, marked: list) -> None:
    """The follow-up of one scan's marks, set-based: the timeline entries in one INSERT; the
    alerts grouped (a warning to its assignee: one message per assignee, clock and level; any
    other: one alert per store, clock and level to its cs_managers, every cs_manager at the
    second level), the recipients read once; one audit entry per mark, chained together."""
    session.connection().execute(
        ComplaintEvent.__table__.insert(),
        [
            {"complaint_id": row.id, "kind": ComplaintEventKind.ESCALATION, "from_status": None,
             "to_status": None, "visible": False, "body_enc": None,
             "detail": f"{clock_name}:{level}", "actor_id": None, "created_at": now}
            for clock_name, level, rows in marked
            for row in rows
        ],
    )  # fmt: skip
    to_assignee: dict[tuple[str, str, int], list] = {}
    to_store: dict[tuple[str, str, int | None], list] = {}
    for clock_name, level, rows in marked:
        for row in rows:
            if level == EscalationLevel.WARNED and row.assignee_id:
                to_assignee.setdefault((clock_name, level, row.assignee_id), []).append(row)
            else:
                store_id = None if level == EscalationLevel.ESCALATED2 else row.store_id
                to_store.setdefault((clock_name, level, store_id), []).append(row)
    if to_assignee:
        assignees = {
            user.id: user
            for user in session.exec(
                select(User).where(User.id.in_({key[2] for key in to_assignee}))
            ).scalars()
            if user.is_active
        }
        for (clock_name, level, user_id), rows in to_assignee.items():
            if user_id in assignees:
                outbox.alert_users(session, [assignees[user_id]], **_alert(level, clock_name, rows))
    if to_store:
        holders = outbox.role_holders(
            session, role=Role.CS_MANAGER, store_ids={key[2] for key in to_store}
        )
        for (clock_name, level, store_id), rows in to_store.items():
            outbox.alert_users(session, holders[store_id], **_alert(level, clock_name, rows))
    audit.record_many(
        session,
        [
            {"actor": jobs, "action": f"complaint.{level}", "customer_id": row.customer_id,
             "detail": {"complaint": row.id, "clock": clock_name}}
            for clock_name, level, rows in marked
            for row in rows
        ],
    )  # fmt: skip


def _alert(level: str, clock_name: str, rows: list) -> dict:
    """The message keys and parameters of an alert about `rows` (one complaint: its number;
    several: how many, and their numbers, at most MAX_NUMBERS, then an ellipsis)."""
    if len(rows) == 1:
        return {
            "subject_key": f"complaint.{level}_subject",
            "body_key": f"complaint.{level}_body",
            "params": {"number": rows[0].number, "clock": clock_name},
        }
    numbers = sorted(row.number for row in rows)
    listed = ", ".join(numbers[:MAX_NUMBERS]) + (", …" if len(numbers) > MAX_NUMBERS else "")
    return {
        "subject_key": f"complaint.{level}_many_subject",
        "body_key": f"complaint.{level}_many_body",
        "params": {"count": len(rows), "numbers": listed, "clock": clock_name},
    }


# --- the manager's review ------------------------------------------------------------------------


@dataclass(frozen=True)
class QueueFilter:
    overdue: bool = False
    severity: str = ""
    category: str = ""
    assignee_id: int | None = None  # 0: unassigned
    older_than_days: int | None = None
    status: str = "open"  # open | closed | all | a status


@requires("complaint.assign", reads=True)
def queue(
    session: Session, *, actor: Actor, filters: QueueFilter, page: int = 1, page_size: int = 20
) -> tuple[list[ComplaintRow], int]:
    """The manager's queue, oldest first, filtered on the server."""
    now = clock.now()
    where: list = []
    if filters.status == "open":
        where.append(Complaint.status != ComplaintStatus.CLOSED)
    elif filters.status in (ComplaintStatus.CLOSED, *OPEN_STATUSES):
        where.append(Complaint.status == filters.status)
    if filters.overdue:
        where += [
            Complaint.status.not_in((ComplaintStatus.CLOSED, ComplaintStatus.ON_HOLD)),
            or_(Complaint.response_by < now, Complaint.resolution_by < now),
        ]
    if filters.severity in SEVERITIES:
        where.append(Complaint.severity == filters.severity)
    if filters.category in CATEGORIES:
        where.append(Complaint.category == filters.category)
    if filters.assignee_id == 0:
        where.append(Complaint.assignee_id.is_(None))
    elif is_row_id(filters.assignee_id):
        where.append(Complaint.assignee_id == filters.assignee_id)
    if is_row_id(filters.older_than_days):
        where.append(Complaint.created_at <= now - timedelta(days=filters.older_than_days))
    return _paged(session, where, page, page_size, (Complaint.created_at, Complaint.id))


# --- merge ------------------------------------------------------------------------------------

TEXT_PARTS = ("description", "desired", "contact", "root_cause", "solution", "no_score_reason")


def merge_complaints(m) -> int:  # noqa: ANN001 (merge.Merge: it imports this module)
    """A merge moves the merged customer's complaints, their text re-encrypted under the
    survivor's key (the timeline's notes too)."""
    moved = list(
        m.session.exec(select(Complaint).where(Complaint.customer_id == m.merged.id)).scalars()
    )
    for complaint in moved:
        for part in TEXT_PARTS:
            column = f"{part}_enc"
            token = getattr(complaint, column)
            setattr(complaint, column, m.rekey(token, context=_context(part)) if token else token)
        events = m.session.exec(
            select(ComplaintEvent).where(
                ComplaintEvent.complaint_id == complaint.id, ComplaintEvent.body_enc.is_not(None)
            )
        ).scalars()
        for event in events:
            event.body_enc = m.rekey(event.body_enc, context=_context("event"))
        complaint_files.rekey(m.session, complaint, m.survivor.data_key_id)  # its files too
        complaint.customer_id, complaint.data_key_id = m.survivor.id, m.survivor.data_key_id
    return len(moved)


# --- for the pages ----------------------------------------------------------------------------

MAX_HANDLERS = 200


@requires("complaint.assign", reads=True)
def handlers(session: Session, *, actor: Actor) -> list[tuple[int, str]]:
    """Who a complaint may be assigned to: (user id, display name) of the active staff users
    whose roles grant complaint.handle, by name."""
    roles = [role for role, granted in ROLE_PERMISSIONS.items() if "complaint.handle" in granted]
    return [
        (int(user_id), name)
        for user_id, name in session.exec(
            select(User.id, User.display_name)
            .join(UserRole, UserRole.user_id == User.id)
            .where(UserRole.role.in_(roles), User.is_active, User.kind == UserKind.STAFF)
            .distinct()
            .order_by(User.display_name, User.id)
            .limit(MAX_HANDLERS)
        ).all()
    ]


@requires("complaint.handle", reads=True)
def my_complaints(
    session: Session, *, actor: Actor, page: int = 1, page_size: int = 20
) -> tuple[list[ComplaintRow], int]:
    """The handler's work list (待处理投诉): the open complaints assigned to the acting user and the
    unassigned open ones of the store they work in now; overdue first, then by the nearest
    deadline, then oldest."""
    now = clock.now()
    mine = Complaint.assignee_id == actor.user_id
    if actor.store_id is not None:
        mine = or_(mine, (Complaint.assignee_id.is_(None)) & (Complaint.store_id == actor.store_id))
    overdue = (Complaint.status != ComplaintStatus.ON_HOLD) & func.coalesce(
        or_(Complaint.response_by < now, Complaint.resolution_by < now), False
    )
    return _paged(
        session, [Complaint.status != ComplaintStatus.CLOSED, mine], page, page_size,
        (
            overdue.desc(),
            func.coalesce(Complaint.response_by, Complaint.resolution_by).asc().nulls_last(),
            Complaint.created_at, Complaint.id,
        ),
    )  # fmt: skip
