"""The encryption of complaint attachments: their contexts, and the re-encryption a merge needs.

Below both complaints.py (a merge moves the merged customer's complaints, re-encrypting their
text and, through `rekey`, their files) and complaint_attachments.py (adding, listing and opening
the files, which imports complaints.py).
"""

from __future__ import annotations

from sqlalchemy import select
from sqlmodel import Session

from custapp.models import Complaint, ComplaintAttachment
from custapp.security import crypto
from custapp.services import datakeys

# Encryption contexts (AAD): constant, as the archive's, so a merge can re-encrypt a file under
# another key with the same context.
CONTENT_CONTEXT = "complaint_attachment.content"
FILENAME_CONTEXT = "complaint_attachment.filename"


def rekey(session: Session, complaint: Complaint, key_id: int) -> int:
    """Re-encrypt the complaint's files from its data key to `key_id`, before a merge moves the
    complaint to the survivor. One file at a time: files can be large, and a merge must not hold
    them all at once. Returns how many were re-encrypted."""
    if key_id == complaint.data_key_id:
        return 0
    old = datakeys.data_key(session, complaint.data_key_id)
    new = datakeys.data_key(session, key_id)
    ids = (
        session.exec(
            select(ComplaintAttachment.id)
            .where(ComplaintAttachment.complaint_id == complaint.id)
            .order_by(ComplaintAttachment.id)
        )
        .scalars()
        .all()
    )
    for attachment_id in ids:
        row = session.get(ComplaintAttachment, attachment_id)
        name = crypto.decrypt_field(old, row.filename_enc, context=FILENAME_CONTEXT)
        row.filename_enc = crypto.encrypt_field(new, name, context=FILENAME_CONTEXT)
        content = crypto.decrypt_bytes(old, row.content_enc, context=CONTENT_CONTEXT)
        row.content_enc = crypto.encrypt_bytes(new, content, context=CONTENT_CONTEXT)
        session.flush()
        session.expunge(row)
    return len(ids)
