"""投诉附件 (issue 6): photos of a damaged item, a receipt, a letter scan on a complaint.

- Staff who handle complaints (`complaint.handle`) add, list and open a complaint's files. A
  member (`member.self`) adds, lists and opens the files they added to their own complaint in
  the portal; another member's complaint is simply not found. What staff add stays internal, as
  an internal timeline note does: the member never sees it.
- A file passes the archive's checks (attachments.checked_file): a type its first bytes prove,
  at most attachments.MAX_BYTES, a cleaned name carrying its type's extension. A complaint holds
  at most MAX_FILES, and a closed one takes none.
- The file and its name are encrypted under the complaint's data key, as its text is: the
  customer's, or an anonymous walk-in complaint's own. A merge re-encrypts them under the
  survivor's key with the complaint's text (complaint_files.rekey, called by
  complaints.merge_complaints).
- Lists show the name masked ("收***.jpg"); the name and bytes leave this module only through an
  open, which is audited. Audit entries hold ids, the type and the size, never the name.
- Adding puts an internal "attachment" entry on the complaint's timeline.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlmodel import Session

from custapp import clock
from custapp.models import Complaint, ComplaintAttachment
from custapp.security import crypto
from custapp.services import attachments, audit, complaints, datakeys
from custapp.services.actor import Actor
from custapp.services.attachments import OpenedFile

# The files' encryption contexts and the merge's re-encryption live below complaints.py, which
# calls `rekey` (complaint_files.py); they stay part of this module's interface.
from custapp.services.complaint_files import CONTENT_CONTEXT, FILENAME_CONTEXT
from custapp.services.complaint_files import rekey as rekey
from custapp.services.customer_input import is_row_id
from custapp.services.customers import display_names
from custapp.services.errors import DomainError, NotFound, ValidationFailed
from custapp.services.guard import requires
from custapp.services.paging import page_window
from custapp.vocab import ComplaintStatus

MAX_FILES = 10
MAX_PAGE_SIZE = MAX_FILES


@dataclass(frozen=True)
class ComplaintAttachmentRow:
    id: int
    filename_masked: str  # "收***.jpg"; "" once the data key is destroyed
    content_type: str
    size: int  # bytes
    by_member: bool  # added by the member in the portal
    uploaded_by_name: str  # the staff user's name; "" for the member's own files
    created_at: datetime


@dataclass(frozen=True)
class ComplaintAttachmentPage:
    rows: list[ComplaintAttachmentRow]
    total: int
    can_add: bool  # the complaint is open and holds fewer than MAX_FILES


# --- helpers ----------------------------------------------------------------------------------


def _count(session: Session, complaint_id: int, *more) -> int:  # noqa: ANN002
    return session.exec(
        select(func.count(ComplaintAttachment.id)).where(
            ComplaintAttachment.complaint_id == complaint_id, *more
        )
    ).scalar_one()


def _audit(
    session: Session, actor: Actor, action: str, complaint: Complaint, row: ComplaintAttachment
) -> None:
    audit.record(
        session,
        actor=actor,
        action=action,
        target_type="complaint_attachment",
        target_id=row.id,
        customer_id=complaint.customer_id,
        detail={
            "complaint": complaint.id,
            "type": row.content_type,
            "size": row.size,
            "by_member": row.by_member,
        },
    )


def _add(
    session: Session, actor: Actor, complaint: Complaint, filename: object, content: object, *,
    by_member: bool,
) -> int:  # fmt: skip
    """The checks and the encrypted row; `complaint` is locked, so the count cannot race."""
    if complaint.status == ComplaintStatus.CLOSED:
        raise DomainError("complaint_attachment.error.closed")
    if _count(session, complaint.id) >= MAX_FILES:
        raise DomainError("complaint_attachment.error.too_many", limit=MAX_FILES)
    errors: dict[str, str] = {}
    checked = attachments.checked_file(
        filename if isinstance(filename, str) else "",
        content if isinstance(content, bytes) else b"",
        errors,
    )
    if checked is None:
        raise ValidationFailed(errors)
    name, content_type = checked
    key = datakeys.data_key(session, complaint.data_key_id)
    now = clock.now()
    row = ComplaintAttachment(
        complaint_id=complaint.id,
        filename_enc=crypto.encrypt_field(key, name, context=FILENAME_CONTEXT),
        content_type=content_type,
        size=len(content),
        content_enc=crypto.encrypt_bytes(key, content, context=CONTENT_CONTEXT),
        uploaded_by=actor.user_id,
        by_member=by_member,
        created_at=now,
    )
    session.add(row)
    session.flush()
    complaint.updated_at = now
    complaints._event(session, complaint, actor, "attachment")
    _audit(session, actor, "complaint_attachment.add", complaint, row)
    return row.id


def _list(
    session: Session, complaint: Complaint, page: object, page_size: object, *, member_side: bool
) -> ComplaintAttachmentPage:
    window = page_window(page, page_size, default_size=MAX_PAGE_SIZE, max_size=MAX_PAGE_SIZE)
    where = [ComplaintAttachment.complaint_id == complaint.id]
    if member_side:
        where.append(ComplaintAttachment.by_member.is_(True))
    total = _count(session, complaint.id, *where[1:])
    found = session.exec(
        select(
            ComplaintAttachment.id,
            ComplaintAttachment.filename_enc,
            ComplaintAttachment.content_type,
            ComplaintAttachment.size,
            ComplaintAttachment.by_member,
            ComplaintAttachment.uploaded_by,
            ComplaintAttachment.created_at,
        )
        .where(*where)
        .order_by(ComplaintAttachment.created_at.desc(), ComplaintAttachment.id.desc())
        .offset(window.offset)
        .limit(window.limit)
    ).all()
    names = display_names(session, [r.uploaded_by for r in found if not r.by_member])
    try:
        key = datakeys.data_key(session, complaint.data_key_id)
    except DomainError:  # the data key is destroyed: nothing left to show
        key = None
    rows = [
        ComplaintAttachmentRow(
            id=r.id,
            filename_masked=attachments.masked_filename(
                crypto.decrypt_field(key, r.filename_enc, context=FILENAME_CONTEXT)
            )
            if key
            else "",
            content_type=r.content_type,
            size=r.size,
            by_member=bool(r.by_member),
            uploaded_by_name="" if r.by_member else names.get(r.uploaded_by or 0, ""),
            created_at=r.created_at,
        )
        for r in found
    ]
    all_files = total if not member_side else _count(session, complaint.id)
    can_add = complaint.status != ComplaintStatus.CLOSED and all_files < MAX_FILES
    return ComplaintAttachmentPage(rows, int(total), can_add)


def _opened(
    session: Session, actor: Actor, complaint: Complaint, row: ComplaintAttachment
) -> OpenedFile:
    key = datakeys.data_key(session, complaint.data_key_id)
    content = crypto.decrypt_bytes(key, row.content_enc, context=CONTENT_CONTEXT)
    name = crypto.decrypt_field(key, row.filename_enc, context=FILENAME_CONTEXT)
    _audit(session, actor, "complaint_attachment.open", complaint, row)
    return OpenedFile(name, row.content_type, content)


def _complaint(session: Session, complaint_id: object) -> Complaint:
    complaint = session.get(Complaint, complaint_id) if is_row_id(complaint_id) else None
    if complaint is None:
        raise NotFound("complaint.error.not_found")
    return complaint


def _attachment(session: Session, attachment_id: object) -> ComplaintAttachment:
    row = session.get(ComplaintAttachment, attachment_id) if is_row_id(attachment_id) else None
    if row is None:
        raise NotFound("complaint_attachment.error.not_found")
    return row


# --- staff ------------------------------------------------------------------------------------


@requires("complaint.handle")
def add_complaint_attachment(
    session: Session, *, actor: Actor, complaint_id: int, filename: str, content: bytes
) -> int:
    """Add a file to an open complaint; its id. Field error: file (the archive's messages);
    refused: complaint_attachment.error.closed, complaint_attachment.error.too_many."""
    return _add(
        session, actor, complaints.locked(session, complaint_id), filename, content,
        by_member=False,
    )  # fmt: skip


@requires("complaint.handle", reads=True)
def list_complaint_attachments(
    session: Session, *, actor: Actor, complaint_id: int, page: int = 1,
    page_size: int = MAX_PAGE_SIZE,
) -> ComplaintAttachmentPage:  # fmt: skip
    """One page of the complaint's files, newest first, names masked (opening the complaint is
    audited by complaints.get_complaint; the bytes are not even read)."""
    return _list(session, _complaint(session, complaint_id), page, page_size, member_side=False)


@requires("complaint.handle")
def open_complaint_attachment(session: Session, *, actor: Actor, attachment_id: int) -> OpenedFile:
    """The decrypted file and its name, for the one download the handler asked for; audited."""
    row = _attachment(session, attachment_id)
    return _opened(session, actor, session.get(Complaint, row.complaint_id), row)


# --- the member's own ---------------------------------------------------------------------------


def _own(session: Session, actor: Actor, complaint_id: object) -> Complaint:
    complaint = _complaint(session, complaint_id)
    if actor.customer_id is None or complaint.customer_id != actor.customer_id:
        raise NotFound("complaint.error.not_found")
    return complaint


@requires("member.self")
def member_add_attachment(
    session: Session, *, actor: Actor, complaint_id: int, filename: str, content: bytes
) -> int:
    """The member adds a photo or scan to their own open complaint; its id."""
    complaint = complaints._own_locked(session, actor, complaint_id)
    return _add(session, actor, complaint, filename, content, by_member=True)


@requires("member.self", reads=True)
def member_attachments(
    session: Session, *, actor: Actor, complaint_id: int, page: int = 1,
    page_size: int = MAX_PAGE_SIZE,
) -> ComplaintAttachmentPage:  # fmt: skip
    """The files the member added to their own complaint, newest first, names masked."""
    return _list(session, _own(session, actor, complaint_id), page, page_size, member_side=True)


@requires("member.self")
def member_open_attachment(session: Session, *, actor: Actor, attachment_id: int) -> OpenedFile:
    """One file the member added to their own complaint; anything else is not found."""
    row = _attachment(session, attachment_id)
    if not row.by_member:
        raise NotFound("complaint_attachment.error.not_found")
    try:
        complaint = _own(session, actor, row.complaint_id)
    except NotFound:
        raise NotFound("complaint_attachment.error.not_found") from None
    return _opened(session, actor, complaint, row)
