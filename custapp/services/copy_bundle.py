"""个人信息副本: the customer's data as one encrypted file (SPEC §4, §8; PIPL art. 45).

A copy is a list of sections (profile, contacts, tags, orders, order lines, payments, service
log, consents, consent events, rights requests); a later issue adds complaints or points by
adding one Section to SECTIONS. Each section becomes one CSV (UTF-8 with BOM, so Excel opens the
Chinese) and one key of data.json; all of them go into a zip encrypted with AES-256 (WinZip AES,
which 7-Zip, WinRAR and the usual unzip tools open) under a random password the caller shows
separately from the file. Nothing is written to disk or to the database: the bytes go straight to
the browser.

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
    ConsentEvent,
    ConsentState,
    Customer,
    CustomerContact,
    CustomerTag,
    Order,
    OrderLine,
    OrderPayment,
    RightsRequest,
    ServiceLog,
)
from custapp.services import (
    audit,
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

    def open(self, token: str | None, context: str, name: str) -> str:
        try:
            value = datakeys.decrypt(
                self.session, self.customer.data_key_id, token, context=context
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
    Section("service_log", ("time", "kind", "content", "outcome", "next_follow_up"), _service_log),
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
    if request.kind != "copy":
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
