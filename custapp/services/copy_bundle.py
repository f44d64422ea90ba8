"""个人信息副本: the customer's data as one encrypted file (SPEC §4, §8; PIPL art. 45).

A copy is a list of sections (profile, contacts, tags, orders, order lines, payments, membership
cards, stored value, points, service log, complaints, complaint timeline, complaint attachments,
consents, consent events, rights requests); more data is added as one more Section in SECTIONS.
Each section becomes one CSV (UTF-8 with BOM, so Excel opens the Chinese) and one key of
data.json; all of them go into a zip encrypted with AES-256 (WinZip AES, which 7-Zip, WinRAR and
the usual unzip tools open) under a random password the caller shows separately from the file.
Nothing is written to disk or to the database: the bytes go straight to the browser.

Complaints are the customer's own (a merged customer's are the survivor's): their text, the
timeline's notes and replies (internal notes too: they are about the customer, like the service
log; staff names are left out) and the file names of their attachments are opened with the
complaint's data key. Attachments are listed (name, type, size, time), not included: their bytes
are given out one by one through the complaint (member portal or staff), never in the copy.

Level-3 fields (bank account, credit card, investments, health) are left out of a copy that staff
produce; only the member themself gets them (SPEC §8). The audit entry names the fields and
sections given out, never a value.
"""

from __future__ import annotations

import csv
import io
import json
import secrets
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field

import pyzipper
from sqlalchemy import select
from sqlmodel import Session

from custapp import clock
from custapp.i18n import normalize_locale, t
from custapp.models import (
    Complaint,
    ComplaintAttachment,
    ComplaintEvent,
    ConsentEvent,
    ConsentState,
    Customer,
    CustomerContact,
    CustomerTag,
    MemberCard,
    MemberTier,
    Order,
    OrderLine,
    OrderPayment,
    PointsEntry,
    RightsRequest,
    ServiceLog,
    StoredValueEntry,
)
from custapp.services import (
    audit,
    complaint_attachments,
    complaints,
    consent,
    customer_fields,
    datakeys,
    rights,
    service_log,
    stores,
)
from custapp.services.actor import Actor
from custapp.services.customer_fields import FIELDS
from custapp.services.customer_input import as_text, yuan_text
from custapp.services.customer_profile import CODED
from custapp.services.customers import CONTACT_PHONE_CONTEXT, survivor
from custapp.services.errors import DomainError, NotFound
from custapp.services.guard import requires
from custapp.vocab import RightsKind

# No 0/O, 1/l/I: the password is read out over the phone or copied from a screen.
PASSWORD_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnpqrstuvwxyz23456789"
PASSWORD_LENGTH = 12
# Spreadsheet formulas start with these: a value starting so is prefixed with ' in the CSV, so
# text the customer or staff typed cannot run as a formula when the file is opened.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


@dataclass
class CopyContext:
    """What every section reads: the customer, the language, and what was given out."""

    session: Session
    customer: Customer
    locale: str
    include_level3: bool
    revealed: list[str] = field(default_factory=list)  # encrypted fields given out

    def t(self, key: str, **params: object) -> str:
        return t(key, self.locale, **params)

    def open(self, token: str | None, context: str, name: str, *, key_id: int | None = None) -> str:
        """`token` opened with the customer's data key, or `key_id` (a complaint's own)."""
        try:
            value = datakeys.decrypt(
                self.session, key_id or self.customer.data_key_id, token, context=context
            )
        except DomainError:  # the data key is destroyed: nothing left to give
            return ""
        if value and name not in self.revealed:
            self.revealed.append(name)
        return value


@dataclass(frozen=True)
class Section:
    name: str  # the CSV's file name and data.json's key
    columns: tuple[str, ...]  # keys of each row; CSV header labels rights.copy.col.<column>
    rows: Callable[[CopyContext], list[dict[str, str]]]


def _when(value) -> str:  # noqa: ANN001 (datetime | None)
    return clock.format_local(value) if value else ""


# --- sections ------------------------------------------------------------------------------------


def _profile(ctx: CopyContext) -> list[dict[str, str]]:
    c = ctx.customer
    rows = [
        {"field": "number", "label": ctx.t("customer.number"), "value": c.number},
        {"field": "kind", "label": ctx.t("customer.kind"), "value": ctx.t(f"customer.kind.{c.kind}")},
    ]  # fmt: skip
    for name, spec in FIELDS.items():
        if c.kind not in spec.kinds or (spec.level == 3 and not ctx.include_level3):
            continue
        if spec.encrypted:
            value = ctx.open(getattr(c, spec.column), customer_fields.context(name), name)
        else:
            value = as_text(name, getattr(c, name))
            if value and name in CODED:
                value = ctx.t(CODED[name] + value)
        if value:
            rows.append({"field": name, "label": ctx.t(spec.label_key), "value": value})
    rows += [
        {"field": "lifecycle", "label": ctx.t("customer.lifecycle"),
         "value": ctx.t(f"customer.lifecycle.{c.lifecycle}")},
        {"field": "grade", "label": ctx.t("customer.grade"), "value": c.grade_override or c.grade},
        {"field": "value_class", "label": ctx.t("customer.value_class"),
         "value": ctx.t(f"customer.value.{c.value_class}")},
        {"field": "verify_status", "label": ctx.t("customer.verify_status"),
         "value": ctx.t(f"customer.verify.{c.verify_status}")},
        {"field": "created_at", "label": ctx.t("customer.created_at"), "value": _when(c.created_at)},
    ]  # fmt: skip
    return rows


def _contacts(ctx: CopyContext) -> list[dict[str, str]]:
    contacts = ctx.session.exec(
        select(CustomerContact)
        .where(CustomerContact.customer_id == ctx.customer.id)
        .order_by(CustomerContact.id)
    ).scalars()
    return [
        {
            "name": contact.name,
            "title": contact.title or "",
            "phone": ctx.open(contact.phone_enc, CONTACT_PHONE_CONTEXT, "contacts.phone"),
        }
        for contact in contacts
    ]


def _tags(ctx: CopyContext) -> list[dict[str, str]]:
    tags = ctx.session.exec(
        select(CustomerTag.tag)
        .where(CustomerTag.customer_id == ctx.customer.id)
        .order_by(CustomerTag.tag)
    ).scalars()
    return [{"tag": tag} for tag in tags]


def _orders_of(ctx: CopyContext) -> list[Order]:
    return list(
        ctx.session.exec(
            select(Order)
            .where(Order.customer_id == ctx.customer.id)
            .order_by(Order.created_at, Order.id)
        ).scalars()
    )


def _orders(ctx: CopyContext) -> list[dict[str, str]]:
    orders = _orders_of(ctx)
    numbers = {o.id: o.number for o in orders}
    store_names = stores.store_names(ctx.session, list({o.store_id for o in orders if o.store_id}))
    return [
        {
            "number": o.number,
            "kind": ctx.t(f"orders.kind.{o.kind}"),
            "time": _when(o.created_at),
            "total": yuan_text(o.total_fen),
            "discount": yuan_text(o.discount_fen),
            "paid": yuan_text(o.paid_fen),
            "store": store_names.get(o.store_id or 0, ""),
            "original": numbers.get(o.original_order_id or 0, ""),
        }
        for o in orders
    ]


def _order_parts(ctx: CopyContext, model) -> dict[int, list]:  # noqa: ANN001 (a table)
    found: dict[int, list] = defaultdict(list)
    rows = ctx.session.exec(
        select(model)
        .join(Order, Order.id == model.order_id)
        .where(Order.customer_id == ctx.customer.id)
        .order_by(model.id)
    ).scalars()
    for row in rows:
        found[row.order_id].append(row)
    return found


def _order_lines(ctx: CopyContext) -> list[dict[str, str]]:
    lines = _order_parts(ctx, OrderLine)
    return [
        {
            "order": o.number,
            "item": line.item,
            "quantity": str(line.quantity),
            "unit_price": yuan_text(line.unit_price_fen),
            "amount": yuan_text(line.amount_fen),
        }
        for o in _orders_of(ctx)
        for line in lines[o.id]
    ]


def _payments(ctx: CopyContext) -> list[dict[str, str]]:
    payments = _order_parts(ctx, OrderPayment)
    return [
        {
            "order": o.number,
            "method": ctx.t(f"orders.method.{p.method}"),
            "amount": yuan_text(p.amount_fen),
        }
        for o in _orders_of(ctx)
        for p in payments[o.id]
    ]


def _order_numbers(ctx: CopyContext, ids: set[int]) -> dict[int, str]:
    if not ids:
        return {}
    return dict(ctx.session.exec(select(Order.id, Order.number).where(Order.id.in_(ids))).all())


def _membership_cards(ctx: CopyContext) -> list[dict[str, str]]:
    cards = list(
        ctx.session.exec(
            select(MemberCard)
            .where(MemberCard.customer_id == ctx.customer.id)
            .order_by(MemberCard.issued_at, MemberCard.id)
        ).scalars()
    )
    if not cards:
        return []
    tiers = {
        code: name_en if ctx.locale == "en" else name_zh
        for code, name_zh, name_en in ctx.session.exec(
            select(MemberTier.code, MemberTier.name_zh, MemberTier.name_en)
        ).all()
    }
    store_names = stores.store_names(ctx.session, list({c.store_id for c in cards if c.store_id}))
    return [
        {
            "number": c.number,
            "tier": tiers.get(c.tier_code, c.tier_code),
            "member_class": ctx.t(f"membership.class.{c.member_class}"),
            "status": ctx.t(f"membership.card_status.{c.status}"),
            "store": store_names.get(c.store_id or 0, ""),
            "issued": _when(c.issued_at),
            "upgraded": _when(c.upgraded_at),
            "ended": _when(c.ended_at),
        }
        for c in cards
    ]


def _stored_value(ctx: CopyContext) -> list[dict[str, str]]:
    entries = list(
        ctx.session.exec(
            select(StoredValueEntry)
            .where(StoredValueEntry.customer_id == ctx.customer.id)
            .order_by(StoredValueEntry.created_at, StoredValueEntry.id)
        ).scalars()
    )
    numbers = _order_numbers(ctx, {e.order_id for e in entries if e.order_id})
    return [
        {
            "time": _when(e.created_at),
            "kind": ctx.t(f"membership.stored_value.{e.kind}"),
            "amount": yuan_text(e.amount_fen),
            "method": ctx.t(f"orders.method.{e.method}") if e.method else "",
            "order": numbers.get(e.order_id or 0, ""),
        }
        for e in entries
    ]


def _points(ctx: CopyContext) -> list[dict[str, str]]:
    """The points ledger; no balance is stored per entry (the balance is the ledger's sum)."""
    entries = list(
        ctx.session.exec(
            select(PointsEntry)
            .where(PointsEntry.customer_id == ctx.customer.id)
            .order_by(PointsEntry.created_at, PointsEntry.id)
        ).scalars()
    )
    numbers = _order_numbers(ctx, {e.order_id for e in entries if e.order_id})
    return [
        {
            "time": _when(e.created_at),
            "kind": ctx.t(f"points.kind.{e.kind}"),
            "points": str(e.points),
            "order": numbers.get(e.order_id or 0, ""),
            "reference": e.ref or "",  # a gift redemption's request number
            "reason": e.reason or "",  # a manual adjustment's reason
        }
        for e in entries
    ]


def _complaint_part(ctx: CopyContext, complaint: Complaint, token: str | None, part: str) -> str:
    """A complaint's text, opened with the complaint's data key (as complaints._open does)."""
    context = complaints._context(part)
    return ctx.open(token, context, context, key_id=complaint.data_key_id)


def _complaints_of(ctx: CopyContext) -> list[Complaint]:
    return list(
        ctx.session.exec(
            select(Complaint)
            .where(Complaint.customer_id == ctx.customer.id)
            .order_by(Complaint.created_at, Complaint.id)
        ).scalars()
    )


def _complaints(ctx: CopyContext) -> list[dict[str, str]]:
    return [
        {
            "number": c.number,
            "channel": ctx.t(f"complaint.channel.{c.channel}"),
            "category": ctx.t(f"complaint.category.{c.category}"),
            "severity": ctx.t(f"complaint.severity.{c.severity}"),
            "received": _when(c.created_at),
            "status": ctx.t(f"complaint.status.{c.status}"),
            "description": _complaint_part(ctx, c, c.description_enc, "description"),
            "desired": _complaint_part(ctx, c, c.desired_enc, "desired"),
            "contact": _complaint_part(ctx, c, c.contact_enc, "contact"),
            "root_cause": _complaint_part(ctx, c, c.root_cause_enc, "root_cause"),
            "solution": _complaint_part(ctx, c, c.solution_enc, "solution"),
            "informed_on": c.informed_on.isoformat() if c.informed_on else "",
            "informed_via": ctx.t(f"complaint.inform.{c.informed_via}") if c.informed_via else "",
            "satisfaction": str(c.satisfaction or ""),
            "no_score_reason": _complaint_part(ctx, c, c.no_score_reason_enc, "no_score_reason"),
            "closed": _when(c.closed_at),
        }
        for c in _complaints_of(ctx)
    ]


def _complaint_timeline(ctx: CopyContext) -> list[dict[str, str]]:
    """The timeline entries that carry text: notes, replies, outcomes told to the customer. Internal
    notes too (they are about the customer); who wrote them is left out."""
    complaints = {c.id: c for c in _complaints_of(ctx)}
    if not complaints:
        return []
    events = ctx.session.exec(
        select(ComplaintEvent)
        .where(
            ComplaintEvent.complaint_id.in_(list(complaints)), ComplaintEvent.body_enc.is_not(None)
        )
        .order_by(ComplaintEvent.created_at, ComplaintEvent.id)
    ).scalars()
    rows = []
    for e in events:
        c = complaints[e.complaint_id]
        rows.append(
            {
                "complaint": c.number,
                "time": _when(e.created_at),
                "kind": ctx.t(f"complaint_pages.kind.{e.kind}"),
                "status": ctx.t(f"complaint.status.{e.to_status}") if e.to_status else "",
                "visible": ctx.t("rights.copy.yes" if e.visible else "rights.copy.no"),
                "body": _complaint_part(ctx, c, e.body_enc, "event"),
            }
        )
    return rows


def _complaint_attachments(ctx: CopyContext) -> list[dict[str, str]]:
    """The list of a complaint's files, never their bytes (those are opened one by one)."""
    complaints = {c.id: c for c in _complaints_of(ctx)}
    if not complaints:
        return []
    files = ctx.session.exec(
        select(
            ComplaintAttachment.complaint_id,
            ComplaintAttachment.filename_enc,
            ComplaintAttachment.content_type,
            ComplaintAttachment.size,
            ComplaintAttachment.created_at,
        )
        .where(ComplaintAttachment.complaint_id.in_(list(complaints)))
        .order_by(ComplaintAttachment.created_at, ComplaintAttachment.id)
    ).all()
    return [
        {
            "complaint": complaints[f.complaint_id].number,
            "file_name": ctx.open(
                f.filename_enc,
                complaint_attachments.FILENAME_CONTEXT,
                "complaint_attachment.filename",
                key_id=complaints[f.complaint_id].data_key_id,
            ),
            "content_type": f.content_type,
            "size": str(f.size),
            "time": _when(f.created_at),
        }
        for f in files
    ]


def _service_log(ctx: CopyContext) -> list[dict[str, str]]:
    entries = ctx.session.exec(
        select(ServiceLog)
        .where(ServiceLog.customer_id == ctx.customer.id)
        .order_by(ServiceLog.created_at, ServiceLog.id)
    ).scalars()
    return [
        {
            "time": _when(e.created_at),
            "kind": ctx.t(f"service_log.kind.{e.kind}"),
            "content": ctx.open(e.content_enc, service_log.CONTENT_CONTEXT, "service_log.content"),
            "outcome": ctx.open(e.outcome_enc, service_log.OUTCOME_CONTEXT, "service_log.outcome"),
            "next_follow_up": e.next_follow_up.isoformat() if e.next_follow_up else "",
        }
        for e in entries
    ]


def _purpose_names(ctx: CopyContext) -> dict[str, str]:
    return {p.code: consent.purpose_name(p, ctx.locale) for p in consent.purposes(ctx.session)}


def _consents(ctx: CopyContext) -> list[dict[str, str]]:
    names = _purpose_names(ctx)
    states = ctx.session.exec(
        select(ConsentState)
        .where(ConsentState.customer_id == ctx.customer.id)
        .order_by(ConsentState.purpose)
    ).scalars()
    return [
        {
            "purpose": names.get(s.purpose, s.purpose),
            "state": ctx.t(f"consent.state.{s.state}"),
            "notice_version": str(s.notice_version or ""),
            "time": _when(s.updated_at),
        }
        for s in states
    ]


def _consent_events(ctx: CopyContext) -> list[dict[str, str]]:
    names = _purpose_names(ctx)
    events = ctx.session.exec(
        select(ConsentEvent)
        .where(ConsentEvent.customer_id == ctx.customer.id)
        .order_by(ConsentEvent.id)
    ).scalars()
    return [
        {
            "time": _when(e.created_at),
            "purpose": names.get(e.purpose, e.purpose),
            "action": ctx.t(f"consent.action.{e.action}"),
            "notice_version": str(e.notice_version or ""),
            "channel": ctx.t(f"consent.channel.{e.channel}"),
            "evidence": e.evidence_ref or "",
        }
        for e in events
    ]


def _rights_requests(ctx: CopyContext) -> list[dict[str, str]]:
    requests = ctx.session.exec(
        select(RightsRequest)
        .where(RightsRequest.customer_id == ctx.customer.id)
        .order_by(RightsRequest.received_at, RightsRequest.id)
    ).scalars()
    return [
        {
            "number": r.number,
            "kind": ctx.t(f"rights.kind.{r.kind}"),
            "channel": ctx.t(f"rights.channel.{r.channel}"),
            "received": _when(r.received_at),
            "due": r.due_on.isoformat(),
            "status": ctx.t(f"rights.status.{r.status}"),
            "detail": ctx.open(r.detail_enc, rights.DETAIL_CONTEXT, "rights.detail"),
            "outcome": ctx.open(r.outcome_enc, rights.OUTCOME_CONTEXT, "rights.outcome"),
            "closed": _when(r.closed_at),
        }
        for r in requests
    ]


SECTIONS: list[Section] = [
    Section("profile", ("field", "label", "value"), _profile),
    Section("contacts", ("name", "title", "phone"), _contacts),
    Section("tags", ("tag",), _tags),
    Section(
        "orders",
        ("number", "kind", "time", "total", "discount", "paid", "store", "original"),
        _orders,
    ),
    Section("order_lines", ("order", "item", "quantity", "unit_price", "amount"), _order_lines),
    Section("payments", ("order", "method", "amount"), _payments),
    Section(
        "membership_cards",
        ("number", "tier", "member_class", "status", "store", "issued", "upgraded", "ended"),
        _membership_cards,
    ),
    Section("stored_value", ("time", "kind", "amount", "method", "order"), _stored_value),
    Section("points", ("time", "kind", "points", "order", "reference", "reason"), _points),
    Section("service_log", ("time", "kind", "content", "outcome", "next_follow_up"), _service_log),
    Section(
        "complaints",
        (
            "number",
            "channel",
            "category",
            "severity",
            "received",
            "status",
            "description",
            "desired",
            "contact",
            "root_cause",
            "solution",
            "informed_on",
            "informed_via",
            "satisfaction",
            "no_score_reason",
            "closed",
        ),
        _complaints,
    ),  # fmt: skip
    Section(
        "complaint_timeline",
        ("complaint", "time", "kind", "status", "visible", "body"),
        _complaint_timeline,
    ),
    Section(
        "complaint_attachments",
        ("complaint", "file_name", "content_type", "size", "time"),
        _complaint_attachments,
    ),
    Section("consents", ("purpose", "state", "notice_version", "time"), _consents),
    Section(
        "consent_events",
        ("time", "purpose", "action", "notice_version", "channel", "evidence"),
        _consent_events,
    ),
    Section(
        "rights_requests",
        ("number", "kind", "channel", "received", "due", "status", "detail", "outcome", "closed"),
        _rights_requests,
    ),
]


# --- the file ------------------------------------------------------------------------------------


def new_password() -> str:
    return "".join(secrets.choice(PASSWORD_ALPHABET) for _ in range(PASSWORD_LENGTH))


def _cell(value: str) -> str:
    return "'" + value if value.startswith(_FORMULA_START) else value


def _csv(ctx: CopyContext, section: Section, rows: list[dict[str, str]]) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow([ctx.t(f"rights.copy.col.{c}") for c in section.columns])
    for row in rows:
        writer.writerow([_cell(row.get(c, "")) for c in section.columns])
    return out.getvalue().encode("utf-8-sig")


def _zip(files: list[tuple[str, bytes]], password: str) -> bytes:
    buffer = io.BytesIO()
    with pyzipper.AESZipFile(
        buffer, "w", compression=pyzipper.ZIP_DEFLATED, encryption=pyzipper.WZ_AES
    ) as archive:
        archive.setpassword(password.encode())
        archive.setencryption(pyzipper.WZ_AES, nbits=256)
        for name, content in files:
            archive.writestr(name, content)
    return buffer.getvalue()


def _build(ctx: CopyContext, *, reference: str) -> tuple[bytes, str, list[str]]:
    """(the encrypted zip, its password, the sections that held data)."""
    data: dict[str, list[dict[str, str]]] = {}
    files: list[tuple[str, bytes]] = []
    for section in SECTIONS:
        rows = section.rows(ctx)
        data[section.name] = rows
        files.append((f"{section.name}.csv", _csv(ctx, section, rows)))
    document = {
        "customer_number": ctx.customer.number,
        "reference": reference,
        "generated_at": clock.to_local(clock.now()).isoformat(timespec="seconds"),
        "level3_included": ctx.include_level3,
        "note": ctx.t("rights.copy.note_full" if ctx.include_level3 else "rights.copy.note_l3"),
        "sections": data,
    }
    payload = json.dumps(document, ensure_ascii=False, indent=2).encode("utf-8")
    password = new_password()
    content = _zip([("data.json", payload), *files], password)
    return content, password, [name for name, rows in data.items() if rows]


def _audit(
    session: Session, actor: Actor, ctx: CopyContext, sections: list[str], **target: object
) -> None:
    audit.record(
        session,
        actor=actor,
        action="rights.copy",
        customer_id=ctx.customer.id,
        **target,
        fields=ctx.revealed,
        detail={"sections": sections, "level3": ctx.include_level3},
    )


@requires("rights.manage")
def build_copy(
    session: Session, *, actor: Actor, request_id: int, locale: str | None = None
) -> tuple[str, bytes, str]:
    """The copy a copy request asks for, without level-3 fields: (file name, the encrypted zip,
    its password). The request is taken on by the actor if nobody handles it yet; the handler
    closes it once the customer has the file and the password."""
    request = session.exec(
        select(RightsRequest).where(RightsRequest.id == request_id).with_for_update()
    ).scalar_one_or_none()
    if request is None:
        raise NotFound("rights.error.not_found")
    if request.kind != RightsKind.COPY:
        raise DomainError("rights.error.not_copy")
    if request.status not in rights.OPEN_STATUSES:
        raise DomainError("rights.error.closed")
    customer, _ = survivor(session, request.customer_id)
    ctx = CopyContext(session, customer, normalize_locale(locale or actor.locale), False)
    content, password, sections = _build(ctx, reference=request.number)
    rights.start_handling(session, actor=actor, request=request)
    _audit(session, actor, ctx, sections, target_type="rights_request", target_id=request.number)
    return f"{request.number}-copy.zip", content, password


@requires("member.self")
def member_build_copy(
    session: Session, *, actor: Actor, locale: str | None = None
) -> tuple[str, bytes, str]:
    """The member's own copy, level-3 fields included: (file name, encrypted zip, password)."""
    if actor.customer_id is None:
        raise NotFound("customer.error.not_found")
    customer = session.get(Customer, actor.customer_id)
    if customer is None:
        raise NotFound("customer.error.not_found")
    ctx = CopyContext(session, customer, normalize_locale(locale or actor.locale), True)
    day = clock.local_today().strftime("%Y%m%d")
    content, password, sections = _build(ctx, reference=f"{customer.number}-{day}")
    _audit(session, actor, ctx, sections)
    return f"{customer.number}-{day}-copy.zip", content, password
