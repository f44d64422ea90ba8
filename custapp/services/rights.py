"""个人信息权利请求 (SPEC §4, §8; 002 CON-10): a customer asks for a copy of their data, a
correction, a deletion, a withdrawal of consent or an explanation; compliance handles it before
its due date.

- Not to be confused with staff access requests (wave 2): these are the customer's own rights.
- Filed at the counter, by phone or by letter (`rights.file`: front desk, cs_manager,
  compliance), or by the member in the portal (`member.self`); handled by compliance
  (`rights.manage`).
- Due N local calendar days after receipt (SPEC §8 Time: CUSTAPP_RIGHTS_DUE_DAYS, default 15);
  overdue while not closed and today (local) is past the due date.
- What the customer asked and the outcome are free text about the customer: encrypted under
  the customer's data key. Audit entries hold ids, kinds and statuses, never that text.
- A withdrawal closed as done withdraws the chosen granted purposes (channel "request", the
  request number as the note); a correction changes nothing by itself: the handler does it in
  the archive and records the outcome here. The copy is built by copy_bundle.
- A deletion (删除权, issue 16): one open deletion request per customer. Compliance accepts it
  into the destruction queue (services/erasure.py) or refuses it with a legal reason
  (ErasureRefusal), which the customer is told through the outbox. An accepted request stays in
  progress until its destruction: first `deletion_notice_ready` queues the notice that the data
  is about to be deleted (it is encrypted under the customer's key, so it goes before the key),
  then `deletion_done` closes the request with the candidate's number. A deletion of some data
  only (an address, say) is done by hand in the archive and closed as done here.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from custapp import clock
from custapp.models import Customer, RightsRequest, User, UserRole
from custapp.security.permissions import ROLE_PERMISSIONS
from custapp.services import audit, consent, datakeys, rights_erasure
from custapp.services.actor import Actor
from custapp.services.customers import display_names, live_customer
from custapp.services.errors import DomainError, NotFound, ValidationFailed
from custapp.services.guard import requires
from custapp.services.paging import page_window
from custapp.settings import get_settings
from custapp.vocab import ErasureRefusal, RightsChannel, RightsKind, RightsStatus, UserKind

KINDS = tuple(RightsKind)
CHANNELS = tuple(RightsChannel)
STAFF_CHANNELS = tuple(c for c in CHANNELS if c != RightsChannel.PORTAL)
OPEN_STATUSES = (RightsStatus.OPEN, RightsStatus.IN_PROGRESS)
CLOSED_STATUSES = (RightsStatus.DONE, RightsStatus.REFUSED)
STATUSES = (*OPEN_STATUSES, *CLOSED_STATUSES)
REFUSALS = tuple(ErasureRefusal)
# list filter values besides a single status: "active" is every request not yet closed
STATUS_FILTERS = ("", "active", *STATUSES)
DETAIL_CONTEXT = "rights.detail"
OUTCOME_CONTEXT = "rights.outcome"
MAX_DETAIL = 1000
MAX_OUTCOME = 1000
MAX_PAGE_SIZE = 100
_NUMBER_TRIES = 5

# erasure (issue 16): the hooks the destruction calls, by the names lifecycle.md gives them
deletion_notice_ready = rights_erasure.deletion_notice_ready
deletion_done = rights_erasure.deletion_done
open_deletion = rights_erasure.open_deletion


# --- DTOs --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RequestRef:
    id: int
    number: str
    due_on: date


@dataclass(frozen=True)
class RequestRow:
    id: int
    number: str
    customer_id: int
    customer_number: str
    customer_name: str
    kind: str  # KINDS; label i18n key rights.kind.<kind>
    channel: str  # CHANNELS; label rights.channel.<channel>
    received_at: datetime
    due_on: date  # local calendar date
    status: str  # STATUSES; label rights.status.<status>
    handler_id: int | None
    handler_name: str
    closed_at: datetime | None
    overdue_days: int  # days past the due date while not closed, else 0
    refusal_reason: str = ""  # a refused deletion: ErasureRefusal; label rights.refusal.<code>
    outcome_ref: str = ""  # a deletion done by destruction: the candidate number (XH...)


@dataclass(frozen=True)
class RequestDetail:
    row: RequestRow
    detail: str  # what the customer asked (decrypted)
    outcome: str  # "" until closed
    filed_by_name: str
    # withdrawal still open: (purpose code, name) of what a "done" may withdraw; else []
    granted_purposes: list[tuple[str, str]]


@dataclass(frozen=True)
class MemberRequestRow:
    number: str
    kind: str
    channel: str
    received_at: datetime
    due_on: date
    status: str
    detail: str
    outcome: str
    closed_at: datetime | None
    refusal_reason: str = ""
    outcome_ref: str = ""


# --- rules -------------------------------------------------------------------------------------


def due_date(received_at: datetime) -> date:
    """The local calendar day of receipt plus the configured number of days (SPEC §8 Time)."""
    return clock.to_local(received_at).date() + timedelta(days=get_settings().rights_due_days)


def overdue_days(request: RightsRequest, today: date) -> int:
    if request.status not in OPEN_STATUSES or today <= request.due_on:
        return 0
    return (today - request.due_on).days


def _overdue_condition(today: date):  # noqa: ANN202 (a SQL condition on RightsRequest)
    return RightsRequest.status.in_(OPEN_STATUSES) & (RightsRequest.due_on < today)


def _text(value: object, *, field: str, limit: int, required: bool, errors: dict) -> str:
    text = value.strip() if isinstance(value, str) else ""
    if required and not text:
        errors[field] = f"rights.error.{field}_required"
    elif len(text) > limit:
        errors[field] = f"rights.error.{field}_too_long"
    return text


def _seal(session: Session, customer: Customer, text: str, context: str) -> str | None:
    return datakeys.encrypt(session, customer.data_key_id, text or None, context=context)


def _open(session: Session, key_id: int, token: str | None, context: str) -> str:
    try:
        return datakeys.decrypt(session, key_id, token, context=context)
    except DomainError:  # the customer's data key is destroyed: nothing left to read
        return ""


def _next_number(session: Session, day: date) -> str:
    prefix = f"Q{day:%Y%m%d}"
    last = session.exec(
        select(func.max(RightsRequest.number)).where(RightsRequest.number.startswith(prefix))
    ).scalar_one()
    sequence = int(last[len(prefix) :]) + 1 if last else 1
    if sequence > 9999:
        raise DomainError("rights.error.number_exhausted")
    return f"{prefix}{sequence:04d}"


def _insert(session: Session, request: RightsRequest) -> RightsRequest:
    """Number the request Q<local yyyymmdd><4 digits>. Two filings at the same moment may pick
    the same number: the loser's savepoint rolls back and it takes the next one."""
    day = clock.to_local(request.received_at).date()
    for _ in range(_NUMBER_TRIES):
        request.number = _next_number(session, day)
        try:
            with session.begin_nested():
                session.add(request)
                session.flush()
            return request
        except IntegrityError:
            continue
    raise DomainError("rights.error.busy")


def _file(
    session: Session,
    *,
    actor: Actor,
    customer_id: int,
    kind: str,
    channel: str,
    detail: str,
    channels: tuple[str, ...],
) -> RequestRef:
    errors: dict[str, str] = {}
    if kind not in KINDS:
        errors["kind"] = "rights.error.kind"
    if channel not in channels:
        errors["channel"] = "rights.error.channel"
    text = _text(detail, field="detail", limit=MAX_DETAIL, required=True, errors=errors)
    if errors:
        raise ValidationFailed(errors)
    deletion = kind == RightsKind.DELETION
    # the customer's row locked: two deletion requests filed at once cannot both be the one
    customer = live_customer(session, customer_id, lock=deletion)
    if deletion and open_deletion(session, customer.id) is not None:
        raise ValidationFailed({"kind": "rights.error.deletion_open"})
    now = clock.now()
    request = _insert(
        session,
        RightsRequest(
            number="",
            customer_id=customer.id,
            kind=kind,
            channel=channel,
            detail_enc=_seal(session, customer, text, DETAIL_CONTEXT),
            received_at=now,
            due_on=due_date(now),
            status=RightsStatus.OPEN,
            created_by=actor.user_id,
            updated_at=now,
        ),
    )
    audit.record(
        session,
        actor=actor,
        action="rights.file",
        target_type="rights_request",
        target_id=request.number,
        customer_id=customer.id,
        detail={"kind": kind, "channel": channel, "due_on": request.due_on.isoformat()},
    )
    return RequestRef(request.id, request.number, request.due_on)


def _load(session: Session, request_id: int, *, lock: bool = False) -> RightsRequest:
    query = select(RightsRequest).where(RightsRequest.id == request_id)
    request = session.exec(query.with_for_update() if lock else query).scalar_one_or_none()
    if request is None:
        raise NotFound("rights.error.not_found")
    return request


def _rows(session: Session, requests: list[RightsRequest]) -> list[RequestRow]:
    today = clock.local_today()
    ids = {r.customer_id for r in requests}
    customers = (
        {
            c[0]: (c[1], c[2])
            for c in session.exec(
                select(Customer.id, Customer.number, Customer.name).where(Customer.id.in_(ids))
            ).all()
        }
        if ids
        else {}
    )
    names = display_names(session, [r.handler_id for r in requests])
    return [
        RequestRow(
            id=r.id,
            number=r.number,
            customer_id=r.customer_id,
            customer_number=customers.get(r.customer_id, ("", ""))[0],
            customer_name=customers.get(r.customer_id, ("", ""))[1],
            kind=r.kind,
            channel=r.channel,
            received_at=r.received_at,
            due_on=r.due_on,
            status=r.status,
            handler_id=r.handler_id,
            handler_name=names.get(r.handler_id or 0, ""),
            closed_at=r.closed_at,
            overdue_days=overdue_days(r, today),
            refusal_reason=r.refusal_reason or "",
            outcome_ref=r.outcome_ref or "",
        )
        for r in requests
    ]


# --- filing --------------------------------------------------------------------------------------


@requires("rights.file")
def file_request(
    session: Session, *, actor: Actor, customer_id: int, kind: str, channel: str, detail: str
) -> RequestRef:
    """Record a request the customer made at the counter, by phone or by letter."""
    return _file(
        session, actor=actor, customer_id=customer_id, kind=kind, channel=channel, detail=detail,
        channels=STAFF_CHANNELS,
    )  # fmt: skip


@requires("member.self")
def member_file_request(session: Session, *, actor: Actor, kind: str, detail: str) -> RequestRef:
    """The member files a request about their own archive in the portal."""
    if actor.customer_id is None:
        raise NotFound("customer.error.not_found")
    return _file(
        session, actor=actor, customer_id=actor.customer_id, kind=kind,
        channel=RightsChannel.PORTAL, detail=detail, channels=(RightsChannel.PORTAL,),
    )  # fmt: skip


@requires("rights.file", reads=True)
def list_filed(
    session: Session, *, actor: Actor, page: int = 1, page_size: int = 10
) -> tuple[list[RequestRow], int]:
    """The requests the acting user filed, newest first, without what was asked or answered:
    the front desk can tell a customer who calls back where their request stands."""
    window = page_window(page, page_size, max_size=MAX_PAGE_SIZE)
    where = RightsRequest.created_by == actor.user_id
    total = session.exec(select(func.count(RightsRequest.id)).where(where)).scalar_one()
    requests = list(
        session.exec(
            select(RightsRequest)
            .where(where)
            .order_by(RightsRequest.received_at.desc(), RightsRequest.id.desc())
            .offset(window.offset)
            .limit(window.limit)
        ).scalars()
    )
    return _rows(session, requests), total


# --- the compliance list -----------------------------------------------------------------------


@requires("rights.manage", reads=True)
def list_requests(
    session: Session,
    *,
    actor: Actor,
    status: str = "",
    kind: str = "",
    overdue_only: bool = False,
    page: int = 1,
    page_size: int = 20,
) -> tuple[list[RequestRow], int]:
    """One page of requests, soonest due first, and their number. `status` is one of
    STATUS_FILTERS ("active": not closed), `kind` one of KINDS or ""."""
    if status not in STATUS_FILTERS or kind not in ("", *KINDS):
        raise ValidationFailed({"filter": "rights.error.filter"})
    window = page_window(page, page_size, max_size=MAX_PAGE_SIZE)
    conditions = []
    if status == "active":
        conditions.append(RightsRequest.status.in_(OPEN_STATUSES))
    elif status:
        conditions.append(RightsRequest.status == status)
    if kind:
        conditions.append(RightsRequest.kind == kind)
    if overdue_only:
        conditions.append(_overdue_condition(clock.local_today()))
    total = session.exec(select(func.count(RightsRequest.id)).where(*conditions)).scalar_one()
    requests = list(
        session.exec(
            select(RightsRequest)
            .where(*conditions)
            .order_by(RightsRequest.due_on, RightsRequest.id)
            .offset(window.offset)
            .limit(window.limit)
        ).scalars()
    )
    return _rows(session, requests), total


def overdue_count(session: Session) -> int:
    """How many requests are past their due date and not closed (the compliance dashboard)."""
    return session.exec(
        select(func.count(RightsRequest.id)).where(_overdue_condition(clock.local_today()))
    ).scalar_one()


@requires("rights.manage")
def get_request(
    session: Session, *, actor: Actor, request_id: int, locale: str | None = None
) -> RequestDetail:
    """One request with what the customer asked and the outcome, decrypted. Audited (open)."""
    request = _load(session, request_id)
    customer = session.get(Customer, request.customer_id)
    (row,) = _rows(session, [request])
    granted = []
    if request.kind == RightsKind.WITHDRAWAL and request.status in OPEN_STATUSES:
        names = {p.code: consent.purpose_name(p, locale) for p in consent.purposes(session)}
        granted = [
            (code, names.get(code, code)) for code in consent.granted_purposes(session, customer.id)
        ]
    detail = RequestDetail(
        row=row,
        detail=_open(session, customer.data_key_id, request.detail_enc, DETAIL_CONTEXT),
        outcome=_open(session, customer.data_key_id, request.outcome_enc, OUTCOME_CONTEXT),
        filed_by_name=display_names(session, [request.created_by]).get(request.created_by or 0, ""),
        granted_purposes=granted,
    )
    audit.record(
        session,
        actor=actor,
        action="rights.open",
        target_type="rights_request",
        target_id=request.number,
        customer_id=request.customer_id,
    )
    return detail


# --- handling ------------------------------------------------------------------------------------


def _handler_user_ids(session: Session) -> list[int]:
    """Active staff users whose roles grant rights.manage."""
    roles = [role for role, granted in ROLE_PERMISSIONS.items() if "rights.manage" in granted]
    return list(
        session.exec(
            select(User.id)
            .join(UserRole, UserRole.user_id == User.id)
            .where(UserRole.role.in_(roles), User.is_active, User.kind == UserKind.STAFF)
            .distinct()
            .order_by(User.id)
        ).scalars()
    )


@requires("rights.manage", reads=True)
def list_handlers(session: Session, *, actor: Actor) -> list[tuple[int, str]]:
    """Who may be assigned a request: (user id, display name) of active compliance users."""
    ids = _handler_user_ids(session)
    names = display_names(session, ids)
    return [(i, names.get(i, "")) for i in ids]


def _open_request(session: Session, request_id: int) -> RightsRequest:
    request = _load(session, request_id, lock=True)
    if request.status not in OPEN_STATUSES:
        raise DomainError("rights.error.closed")
    return request


def start_handling(session: Session, *, actor: Actor, request: RightsRequest) -> None:
    """The actor takes an unassigned request on (producing the copy, closing it). Called from
    services that checked rights.manage themselves."""
    if request.handler_id is None:
        request.handler_id = actor.user_id
    if request.status == RightsStatus.OPEN:
        request.status = RightsStatus.IN_PROGRESS
    request.updated_at = clock.now()


@requires("rights.manage")
def assign(
    session: Session, *, actor: Actor, request_id: int, handler_id: int | None = None
) -> None:
    """Give the request to a compliance user (None: the acting user takes it); it is then in
    progress."""
    request = _open_request(session, request_id)
    handler = actor.user_id if handler_id is None else handler_id
    if handler is None or handler not in _handler_user_ids(session):
        raise ValidationFailed({"handler": "rights.error.handler"})
    request.handler_id = handler
    request.status = RightsStatus.IN_PROGRESS
    request.updated_at = clock.now()
    audit.record(
        session,
        actor=actor,
        action="rights.assign",
        target_type="rights_request",
        target_id=request.number,
        customer_id=request.customer_id,
        detail={"handler": handler},
    )


@requires("rights.manage")
def close_request(
    session: Session,
    *,
    actor: Actor,
    request_id: int,
    status: str,
    outcome: str = "",
    purposes: list[str] | None = None,
    refusal: str = "",
) -> list[str]:
    """Close as done or refused, with the outcome told to the customer (a refusal needs its
    reason). A withdrawal closed as done withdraws `purposes`, each currently granted (None:
    every granted one; []: none, e.g. the customer had already withdrawn elsewhere).
    A refused deletion names its legal reason `refusal` (ErasureRefusal; "other" needs the
    outcome text) and the customer is told through the outbox; a deletion waiting for its
    destruction cannot be closed by hand. -> the purposes withdrawn."""
    request = _open_request(session, request_id)
    deletion = request.kind == RightsKind.DELETION
    if deletion and rights_erasure.open_candidate(session, request.id) is not None:
        raise DomainError("rights.error.erasure_pending")
    errors: dict[str, str] = {}
    if status not in CLOSED_STATUSES:
        errors["status"] = "rights.error.status"
    refusing_deletion = deletion and status == RightsStatus.REFUSED
    if refusing_deletion and refusal not in REFUSALS:
        errors["refusal"] = "rights.error.refusal"
    text = _text(
        outcome,
        field="outcome",
        limit=MAX_OUTCOME,
        required=status == RightsStatus.REFUSED
        and (not refusing_deletion or refusal == ErasureRefusal.OTHER),
        errors=errors,
    )
    withdrawing = request.kind == RightsKind.WITHDRAWAL and status == RightsStatus.DONE
    if withdrawing and purposes is not None:
        granted = set(consent.granted_purposes(session, request.customer_id))
        if not set(purposes) <= granted:
            errors["purposes"] = "rights.error.purposes"
    if errors:
        raise ValidationFailed(errors)
    customer = session.get(Customer, request.customer_id)
    withdrawn = (
        consent.withdraw_by_request(
            session, actor=actor, customer_id=customer.id, purposes=purposes, note=request.number
        )
        if withdrawing
        else []
    )
    start_handling(session, actor=actor, request=request)
    request.status = status
    request.outcome_enc = _seal(session, customer, text, OUTCOME_CONTEXT)
    request.closed_at = request.updated_at = clock.now()
    told = None
    if refusing_deletion:
        request.refusal_reason = refusal
        told = rights_erasure.tell_refusal(session, customer, request, text)
    audit.record(
        session,
        actor=actor,
        action="rights.close",
        target_type="rights_request",
        target_id=request.number,
        customer_id=request.customer_id,
        detail={
            "kind": request.kind,
            "status": status,
            "overdue_days": overdue_days_at_close(request),
            **({"withdrawn": withdrawn} if withdrawing else {}),
            **({"refusal": refusal, "told": told is not None} if refusing_deletion else {}),
        },
    )
    return withdrawn


def overdue_days_at_close(request: RightsRequest) -> int:
    """How late the request was closed (0: on time), in local calendar days."""
    closed = clock.to_local(request.closed_at).date() if request.closed_at else clock.local_today()
    return max(0, (closed - request.due_on).days)


# --- the member's own ----------------------------------------------------------------------------


@requires("member.self", reads=True)
def member_list_requests(
    session: Session, *, actor: Actor, page: int = 1, page_size: int = 10
) -> tuple[list[MemberRequestRow], int]:
    """The member's own requests, newest first, with what they asked and the outcome."""
    if actor.customer_id is None:
        raise NotFound("customer.error.not_found")
    window = page_window(page, page_size, max_size=MAX_PAGE_SIZE)
    customer = session.get(Customer, actor.customer_id)
    if customer is None:
        raise NotFound("customer.error.not_found")
    where = RightsRequest.customer_id == customer.id
    total = session.exec(select(func.count(RightsRequest.id)).where(where)).scalar_one()
    requests = session.exec(
        select(RightsRequest)
        .where(where)
        .order_by(RightsRequest.received_at.desc(), RightsRequest.id.desc())
        .offset(window.offset)
        .limit(window.limit)
    ).scalars()
    return [member_row(session, customer.data_key_id, r) for r in requests], total


def member_row(session: Session, key_id: int, r: RightsRequest) -> MemberRequestRow:
    """One of the member's requests as the member sees it (`key_id`: the customer's key)."""
    return MemberRequestRow(
        number=r.number,
        kind=r.kind,
        channel=r.channel,
        received_at=r.received_at,
        due_on=r.due_on,
        status=r.status,
        detail=_open(session, key_id, r.detail_enc, DETAIL_CONTEXT),
        outcome=_open(session, key_id, r.outcome_enc, OUTCOME_CONTEXT),
        closed_at=r.closed_at,
        refusal_reason=r.refusal_reason or "",
        outcome_ref=r.outcome_ref or "",
    )


# --- merge ---------------------------------------------------------------------------------------


def merge_requests(m) -> int:  # noqa: ANN001 (merge.Merge; importing it would be circular)
    """A merge mover: the merged customer's requests move to the survivor, their texts
    re-encrypted under the survivor's key."""
    requests = m.session.exec(
        select(RightsRequest).where(RightsRequest.customer_id == m.merged.id)
    ).scalars()
    count = 0
    for request in requests.all():
        request.detail_enc = m.rekey(request.detail_enc, context=DETAIL_CONTEXT)
        request.outcome_enc = m.rekey(request.outcome_enc, context=OUTCOME_CONTEXT)
        request.customer_id = m.survivor.id
        count += 1
    return count
