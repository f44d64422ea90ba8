"""附件: documents in a customer's archive, each with an archive number (档案编号), a category, and
for a paper original its storage location (存放地点) (001 RT-01, RT-02, DM-18).

The file and its name are encrypted under the customer's data key (SPEC §8) and kept in the
database; nothing is ever written to Reflex's public upload folder. The bytes leave this module
only through open_attachment: attachment.read, a reason, an audit entry. A file is accepted when
its first bytes say it is one of TYPES (the name alone proves nothing) and it is at most
MAX_BYTES. Lists never show a file name in plaintext: it can carry the person's name.
"""

from __future__ import annotations

import re
import unicodedata
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import NamedTuple

from sqlalchemy import func, select, text
from sqlmodel import Session

from custapp import clock
from custapp.models import Attachment, Customer
from custapp.models.attachments import ATTACHMENT_CATEGORIES
from custapp.security import crypto, masking
from custapp.services import audit, datakeys
from custapp.services.actor import Actor
from custapp.services.customer_input import check_reason
from custapp.services.customers import display_names, live_customer, survivor
from custapp.services.errors import DomainError, NotFound, ValidationFailed
from custapp.services.guard import requires
from custapp.services.paging import page_window

MAX_BYTES = 10 * 1024 * 1024
MAX_ARCHIVE_NUMBER = 30
MAX_PAPER_LOCATION = 100
MAX_FILENAME = 120
MAX_PAGE_SIZE = 100

# Accepted types: MIME type -> (extensions a name may carry, the one added when it has none).
# HEIC is what a phone photographing a paper original produces.
TYPES: dict[str, tuple[tuple[str, ...], str]] = {
    "application/pdf": ((".pdf",), ".pdf"),
    "image/jpeg": ((".jpg", ".jpeg", ".jpe", ".jfif"), ".jpg"),
    "image/png": ((".png",), ".png"),
    "image/webp": ((".webp",), ".webp"),
    "image/heic": ((".heic", ".heif"), ".heic"),
}
_HEIF_BRANDS = {b"heic", b"heix", b"heim", b"heis", b"hevc", b"hevx", b"mif1", b"msf1"}

# RT-02: <category code><year><sequence>. The sequence is the row id, unique without a counter
# table; numbers of this shape are reserved for the system so a typed one never collides.
CATEGORY_CODES = {
    "id_copy": "ZJ",  # 证件
    "application": "SQ",  # 申请
    "contract": "HT",  # 合同
    "consent_form": "TY",  # 同意书
    "invoice": "FP",  # 发票
    "other": "QT",  # 其他
}
_RESERVED = re.compile(rf"({'|'.join(CATEGORY_CODES.values())})\d{{10,}}")
_ARCHIVE_CHARS = re.compile(r"[\w\-/.#()]+")
# Typed archive numbers are checked for uniqueness under this transaction lock (PostgreSQL;
# SQLite writers are serialised by BEGIN IMMEDIATE already).
_ARCHIVE_LOCK = 0x61726368  # "arch"


# Encryption contexts (AAD): constant, not bound to the customer, whose key changes when a merge
# re-encrypts the moved attachments with them (services/merge.py).
CONTENT_CONTEXT = "attachment.content"
FILENAME_CONTEXT = "attachment.filename"


@dataclass(frozen=True)
class AttachmentRow:
    id: int
    archive_number: str
    category: str  # ATTACHMENT_CATEGORIES; label i18n key attachment.category.<category>
    paper_location: str
    filename_masked: str  # "身***.pdf"; "" without a file or without attachment.read
    content_type: str
    size: int  # bytes
    has_file: bool
    uploaded_by_name: str
    created_at: datetime


@dataclass(frozen=True)
class AttachmentPage:
    rows: list[AttachmentRow]
    total: int
    customer_id: int  # the customer listed: the survivor when a merged customer was asked for


@dataclass(frozen=True)
class AttachmentRef:
    id: int
    archive_number: str


class OpenedFile(NamedTuple):
    filename: str
    content_type: str
    content: bytes


# --- rules ------------------------------------------------------------------------------------


def detect_type(data: bytes) -> str | None:
    """The MIME type the file's first bytes prove, or None when it is not an accepted type."""
    if data.startswith(b"%PDF-"):
        return "application/pdf"
    if data.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    if data[4:8] == b"ftyp" and data[8:12] in _HEIF_BRANDS:
        return "image/heic"
    return None


def _clean_filename(name: str) -> str:
    """The last path component, without control characters, at most MAX_FILENAME long."""
    base = re.split(r"[/\\]", name or "")[-1]
    base = "".join(ch for ch in base if unicodedata.category(ch)[0] != "C").strip()
    if len(base) > MAX_FILENAME:
        stem, dot, ext = base.rpartition(".")
        ext = dot + ext if dot and len(ext) <= 10 else ""
        base = (stem if ext else base)[: MAX_FILENAME - len(ext)] + ext
    return base


def checked_file(filename: str, content: bytes, errors: dict[str, str]) -> tuple[str, str] | None:
    """(file name, MIME type) of an acceptable file; else an error on the "file" field. Shared
    with complaint attachments (services/complaint_attachments.py)."""
    if not content:
        errors["file"] = "attachment.error.file_empty"
        return None
    if len(content) > MAX_BYTES:
        errors["file"] = "attachment.error.file_too_large"
        return None
    content_type = detect_type(content)
    if content_type is None:
        errors["file"] = "attachment.error.file_type"
        return None
    extensions, default = TYPES[content_type]
    name = _clean_filename(filename)
    stem, dot, ext = name.rpartition(".")
    if not dot or not stem:
        name = (name or "attachment") + default
    elif "." + ext.lower() not in extensions:
        # a PNG named .html would open as a page once saved: the name must say what it is
        errors["file"] = "attachment.error.extension_mismatch"
        return None
    return name, content_type


def _checked_archive_number(session: Session, value: str, errors: dict[str, str]) -> str:
    """A typed archive number, NFKC-folded and upper-cased; "" asks for an automatic one."""
    number = unicodedata.normalize("NFKC", value or "").strip().upper()
    if not number:
        return ""
    if len(number) > MAX_ARCHIVE_NUMBER:
        errors["archive_number"] = "attachment.error.archive_number_too_long"
    elif not _ARCHIVE_CHARS.fullmatch(number):
        errors["archive_number"] = "attachment.error.archive_number_format"
    elif _RESERVED.fullmatch(number):
        errors["archive_number"] = "attachment.error.archive_number_reserved"
    else:
        if session.get_bind().dialect.name == "postgresql":
            session.exec(text("SELECT pg_advisory_xact_lock(:key)").bindparams(key=_ARCHIVE_LOCK))
        taken = session.exec(
            select(Attachment.id).where(Attachment.archive_number == number).limit(1)
        ).first()
        if taken is not None:
            errors["archive_number"] = "attachment.error.archive_number_taken"
    return number


def masked_filename(name: str) -> str:
    """The stem masked, the extension kept ("身***.pdf"): it says what the file is."""
    stem, dot, ext = name.rpartition(".")
    if not dot or not stem or len(ext) > 10:
        return masking.mask_generic(name)
    return masking.mask_generic(stem) + "." + ext


def _masked_name(session: Session, key_id: int, token: str) -> str:
    try:
        key = datakeys.data_key(session, key_id)
    except DomainError:  # the data key is destroyed: nothing left to show
        return ""
    return masked_filename(crypto.decrypt_field(key, token, context=FILENAME_CONTEXT))


# --- operations -------------------------------------------------------------------------------


@requires("attachment.write")
def add_attachment(
    session: Session,
    *,
    actor: Actor,
    customer_id: int,
    category: str,
    archive_number: str = "",
    paper_location: str = "",
    filename: str = "",
    content: bytes | None = None,
    content_type: str = "",
) -> AttachmentRef:
    """Record a document of a live customer: a file, a paper original's location, or both.

    `content_type` is what the browser claimed and is not trusted: the stored type is the one
    the bytes prove. An empty archive number gets <category code><year><id> (RT-02). Audited
    with the category, never the file name.
    """
    del content_type  # the claim of the client; detect_type decides
    customer = live_customer(session, customer_id)
    errors: dict[str, str] = {}
    if category not in ATTACHMENT_CATEGORIES:
        errors["category"] = "attachment.error.category"
    location = (paper_location or "").strip()
    if len(location) > MAX_PAPER_LOCATION:
        errors["paper_location"] = "attachment.error.paper_location_too_long"
    checked = checked_file(filename, content, errors) if content is not None else None
    if content is None and not location:
        errors["file"] = "attachment.error.file_or_location"
    number = _checked_archive_number(session, archive_number, errors)
    if errors:
        raise ValidationFailed(errors)

    row = Attachment(
        customer_id=customer.id,
        archive_number=f"~{uuid.uuid4().hex[:20]}",  # replaced below, once the id is known
        category=category,
        paper_location=location or None,
        uploaded_by=actor.user_id,
        created_at=clock.now(),
    )
    session.add(row)
    session.flush()
    row.archive_number = number or (
        f"{CATEGORY_CODES[category]}{clock.local_today().year:04d}{row.id:06d}"
    )
    if checked is not None:
        name, detected = checked
        key = datakeys.data_key(session, customer.data_key_id)
        row.filename_enc = crypto.encrypt_field(key, name, context=FILENAME_CONTEXT)
        row.content_enc = crypto.encrypt_bytes(key, content, context=CONTENT_CONTEXT)
        row.content_type, row.size = detected, len(content)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="attachment.add",
        target_type="attachment",
        target_id=row.id,
        customer_id=customer.id,
        detail={"category": category, "has_file": checked is not None},
    )
    return AttachmentRef(row.id, row.archive_number)


@requires("customer.read", reads=True)
def list_attachments(
    session: Session, *, actor: Actor, customer_id: int, page: int = 1, page_size: int = 20
) -> AttachmentPage:
    """One page of the customer's attachments, newest first, and their number (the customer's
    opening is audited by the profile). File names are masked for holders of attachment.read
    and hidden from everyone else; the file bytes are not even read."""
    window = page_window(page, page_size, max_size=MAX_PAGE_SIZE)
    customer, _ = survivor(session, customer_id)
    where = Attachment.customer_id == customer.id
    total = session.exec(select(func.count(Attachment.id)).where(where)).scalar_one()
    result = session.exec(
        select(
            Attachment.id,
            Attachment.archive_number,
            Attachment.category,
            Attachment.paper_location,
            Attachment.filename_enc,
            Attachment.content_type,
            Attachment.size,
            Attachment.content_enc.is_not(None).label("has_file"),
            Attachment.uploaded_by,
            Attachment.created_at,
        )
        .where(where)
        .order_by(Attachment.created_at.desc(), Attachment.id.desc())
        .offset(window.offset)
        .limit(window.limit)
    ).all()
    names = display_names(session, [r.uploaded_by for r in result])
    show_names = actor.can("attachment.read")
    rows = []
    for r in result:
        masked = ""
        if show_names and r.filename_enc:
            masked = _masked_name(session, customer.data_key_id, r.filename_enc)
        rows.append(
            AttachmentRow(
                id=r.id,
                archive_number=r.archive_number,
                category=r.category,
                paper_location=r.paper_location or "",
                filename_masked=masked,
                content_type=r.content_type or "",
                size=r.size,
                has_file=bool(r.has_file),
                uploaded_by_name=names.get(r.uploaded_by or 0, ""),
                created_at=r.created_at,
            )
        )
    return AttachmentPage(rows, total, customer.id)


@requires("attachment.read")
def open_attachment(
    session: Session, *, actor: Actor, attachment_id: int, reason: str = ""
) -> OpenedFile:
    """The decrypted file and its name, for the one download the user asked for. Needs a reason
    (2-200 characters: 查阅理由, 000 L231), which is audited with the attachment and customer."""
    reason = check_reason(reason)
    row = session.get(Attachment, attachment_id)
    if row is None:
        raise NotFound("error.not_found")
    if row.content_enc is None:
        raise NotFound("attachment.error.no_file")
    customer = session.get(Customer, row.customer_id)
    key = datakeys.data_key(session, customer.data_key_id)
    content = crypto.decrypt_bytes(key, row.content_enc, context=CONTENT_CONTEXT)
    name = crypto.decrypt_field(key, row.filename_enc, context=FILENAME_CONTEXT)
    audit.record(
        session,
        actor=actor,
        action="attachment.open",
        target_type="attachment",
        target_id=row.id,
        customer_id=row.customer_id,
        reason=reason,
    )
    return OpenedFile(name, row.content_type or "application/octet-stream", content)
