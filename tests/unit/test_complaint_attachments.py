"""投诉附件 (issue 6): staff and the member add, list and open files on a complaint; the archive's
file checks; closed complaints and the per-complaint limit refused; auditors and other members
refused; file and name encrypted under the complaint's key (an anonymous walk-in's own too),
never in the database file or the audit trail; a merge re-encrypts them under the survivor's."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy import select
from test_complaints import _member
from test_membership import _customer, _staff, _store, call, errors_of, refusal

from custapp import clock
from custapp.db import get_engine, session_scope
from custapp.models import AuditEntry, Complaint, ComplaintAttachment, Customer
from custapp.security import crypto
from custapp.services import attachments, complaint_attachments, complaints, datakeys, merge
from custapp.services.errors import NotFound, PermissionDenied
from custapp.settings import get_settings

NOON = datetime(2026, 3, 2, 4, 0, tzinfo=UTC)
FILENAME = "王小明的破损行李箱.jpg"
MARKER = b"PLAINTEXT-PIXELS-OF-A-BROKEN-SUITCASE-"
JPEG = b"\xff\xd8\xff\xe0" + MARKER * 32
PDF = b"%PDF-1.7\n" + MARKER * 8
CA = complaint_attachments


@pytest.fixture
def world(db):  # noqa: ANN001, ANN201
    clock.set_now(NOON)
    store = _store()
    cid = _customer("王小明", "13911112222")
    return {
        "desk": _staff("desk.one", "front_desk", store),
        "boss": _staff("boss.one", "cs_manager", store),
        "auditor": _staff("the.auditor", "auditor", store),
        "cid": cid,
        "member": _member(cid),
    }


def _file(world, customer_id: int | None = None, **more) -> int:  # noqa: ANN001
    return call(
        complaints.file_complaint, world["desk"], customer_id=customer_id, channel="counter",
        category="product", severity="normal", description="行李箱托运后破损",
        **({"contact": "王先生 13700001111"} if customer_id is None else {}), **more,
    ).id  # fmt: skip


def _add(world, complaint_id: int, filename: str = FILENAME, content: bytes = JPEG) -> int:  # noqa: ANN001
    return call(
        CA.add_complaint_attachment, world["desk"], complaint_id=complaint_id, filename=filename,
        content=content,
    )  # fmt: skip


def _member_add(world, complaint_id: int, filename: str = "小票.pdf", content: bytes = PDF) -> int:  # noqa: ANN001
    return call(
        CA.member_add_attachment, world["member"], complaint_id=complaint_id, filename=filename,
        content=content,
    )  # fmt: skip


def _audit(action: str) -> list[AuditEntry]:
    with session_scope() as session:
        query = select(AuditEntry).where(AuditEntry.action == action).order_by(AuditEntry.seq)
        return list(session.exec(query).scalars())


def _raw(attachment_id: int) -> dict:
    with get_engine().connect() as conn:
        row = conn.execute(
            sa.text("SELECT * FROM complaint_attachments WHERE id = :id"), {"id": attachment_id}
        )
        return dict(row.mappings().one())


def _count() -> int:
    with session_scope() as session:
        return session.exec(select(sa.func.count(ComplaintAttachment.id))).scalar_one()


def _close(world, complaint_id: int) -> None:  # noqa: ANN001
    for step in ("investigating", "solution_proposed", "customer_informed", "return_visit"):
        call(complaints.move, world["desk"], complaint_id=complaint_id, to_status=step)
    call(
        complaints.close, world["boss"], complaint_id=complaint_id, root_cause="托运粗暴",
        solution="赔偿维修费", informed_on=clock.local_today(), informed_via="phone",
        satisfaction=4,
    )  # fmt: skip


# --- adding, listing, opening -------------------------------------------------------------------


def test_staff_add_list_and_open_encrypted_and_audited_without_the_name(world) -> None:  # noqa: ANN001
    complaint_id = _file(world, world["cid"])
    attachment_id = _add(world, complaint_id)

    raw = _raw(attachment_id)
    assert MARKER not in bytes(raw["content_enc"]) and JPEG[:4] not in bytes(raw["content_enc"])
    assert "行李箱" not in raw["filename_enc"] and ".jpg" not in raw["filename_enc"]
    assert (raw["content_type"], raw["size"], raw["uploaded_by"], bool(raw["by_member"])) == (
        "image/jpeg", len(JPEG), world["desk"].user_id, False,
    )  # fmt: skip

    found = call(CA.list_complaint_attachments, world["desk"], complaint_id=complaint_id)
    assert (found.total, found.can_add) == (1, True)
    (row,) = found.rows
    assert (row.id, row.filename_masked, row.content_type, row.size) == (
        attachment_id, "王***.jpg", "image/jpeg", len(JPEG),
    )  # fmt: skip
    assert (row.by_member, row.uploaded_by_name) == (False, "desk.one")

    opened = call(CA.open_complaint_attachment, world["boss"], attachment_id=attachment_id)
    assert opened == (FILENAME, "image/jpeg", JPEG)

    (added,) = _audit("complaint_attachment.add")
    (seen,) = _audit("complaint_attachment.open")
    assert (added.actor_id, added.customer_id, added.target_id) == (
        world["desk"].user_id, world["cid"], str(attachment_id),
    )  # fmt: skip
    assert (seen.actor_id, seen.customer_id) == (world["boss"].user_id, world["cid"])
    for entry in (added, seen):
        text = " ".join(str(v) for v in vars(entry).values())
        assert "行李箱" not in text and "王小明" not in text and ".jpg" not in text


def test_an_add_is_an_internal_entry_on_the_timeline(world) -> None:  # noqa: ANN001
    complaint_id = _file(world, world["cid"])
    _add(world, complaint_id)
    _member_add(world, complaint_id)
    view = call(complaints.get_complaint, world["desk"], complaint_id=complaint_id)
    entries = [(e.kind, e.visible, e.actor_name) for e in view.timeline if e.kind == "attachment"]
    assert entries == [("attachment", False, "desk.one"), ("attachment", False, "投诉客户")]
    seen = call(complaints.member_complaint, world["member"], complaint_id=complaint_id)
    assert "attachment" not in [e.kind for e in seen.timeline]


def test_the_member_adds_to_their_own_complaint_and_sees_only_their_own_files(world) -> None:  # noqa: ANN001
    complaint_id = _file(world, world["cid"])
    staff_file = _add(world, complaint_id)
    own_file = _member_add(world, complaint_id)

    mine = call(CA.member_attachments, world["member"], complaint_id=complaint_id)
    assert [(r.id, r.filename_masked, r.by_member, r.uploaded_by_name) for r in mine.rows] == [
        (own_file, "小***.pdf", True, "")
    ]
    assert (mine.total, mine.can_add) == (1, True)
    assert call(CA.member_open_attachment, world["member"], attachment_id=own_file) == (
        "小票.pdf", "application/pdf", PDF,
    )  # fmt: skip
    # a file staff added stays internal
    with pytest.raises(NotFound):
        call(CA.member_open_attachment, world["member"], attachment_id=staff_file)

    listed = call(CA.list_complaint_attachments, world["desk"], complaint_id=complaint_id)
    assert [(r.id, r.by_member) for r in listed.rows] == [(own_file, True), (staff_file, False)]
    (member_added,) = [
        e for e in _audit("complaint_attachment.add") if e.actor_id == world["member"].user_id
    ]
    assert member_added.customer_id == world["cid"]


def test_an_anonymous_walk_in_complaint_uses_its_own_key(world) -> None:  # noqa: ANN001
    complaint_id = _file(world, None)
    attachment_id = _add(world, complaint_id)
    with session_scope() as session:
        complaint = session.get(Complaint, complaint_id)
        customer_keys = set(session.exec(select(Customer.data_key_id)).scalars())
        key = datakeys.data_key(session, complaint.data_key_id)
        row = session.get(ComplaintAttachment, attachment_id)
        assert complaint.data_key_id not in customer_keys
        assert crypto.decrypt_bytes(key, row.content_enc, context=CA.CONTENT_CONTEXT) == JPEG
        with pytest.raises(crypto.DecryptionError):
            crypto.decrypt_bytes(key, row.content_enc, context=attachments.CONTENT_CONTEXT)
    opened = call(CA.open_complaint_attachment, world["desk"], attachment_id=attachment_id)
    assert opened.filename == FILENAME
    (entry,) = _audit("complaint_attachment.open")
    assert entry.customer_id is None


# --- refusals -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("filename", "content", "error"),
    [
        ("破损.gif", b"GIF89a" + MARKER, "attachment.error.file_type"),
        ("破损.html", JPEG, "attachment.error.extension_mismatch"),
        ("空.jpg", b"", "attachment.error.file_empty"),
        ("大.jpg", JPEG + b"\0" * attachments.MAX_BYTES, "attachment.error.file_too_large"),
        ("不是字节.jpg", "\xff\xd8\xff text", "attachment.error.file_empty"),
    ],
)
def test_the_archive_file_checks_apply(world, filename, content, error) -> None:  # noqa: ANN001
    complaint_id = _file(world, world["cid"])
    assert errors_of(
        CA.add_complaint_attachment, world["desk"], complaint_id=complaint_id, filename=filename,
        content=content,
    ) == {"file": error}  # fmt: skip
    assert errors_of(
        CA.member_add_attachment, world["member"], complaint_id=complaint_id, filename=filename,
        content=content,
    ) == {"file": error}  # fmt: skip
    assert _count() == 0


def test_a_name_without_extension_gets_its_types(world) -> None:  # noqa: ANN001
    complaint_id = _file(world, world["cid"])
    attachment_id = _add(world, complaint_id, filename="C:\\扫描\\来信", content=PDF)
    opened = call(CA.open_complaint_attachment, world["desk"], attachment_id=attachment_id)
    assert (opened.filename, opened.content_type) == ("来信.pdf", "application/pdf")


def test_a_closed_complaint_takes_no_file_but_still_lists_and_opens(world) -> None:  # noqa: ANN001
    complaint_id = _file(world, world["cid"])
    attachment_id = _add(world, complaint_id)
    own = _member_add(world, complaint_id)
    _close(world, complaint_id)
    assert (
        refusal(CA.add_complaint_attachment, world["desk"], complaint_id=complaint_id,
                filename=FILENAME, content=JPEG)
        == "complaint_attachment.error.closed"
    )  # fmt: skip
    assert (
        refusal(CA.member_add_attachment, world["member"], complaint_id=complaint_id,
                filename="小票.pdf", content=PDF)
        == "complaint_attachment.error.closed"
    )  # fmt: skip
    listed = call(CA.list_complaint_attachments, world["desk"], complaint_id=complaint_id)
    assert (listed.total, listed.can_add) == (2, False)
    assert call(CA.member_attachments, world["member"], complaint_id=complaint_id).can_add is False
    assert call(CA.open_complaint_attachment, world["desk"], attachment_id=attachment_id).content
    assert call(CA.member_open_attachment, world["member"], attachment_id=own).content == PDF
    assert _count() == 2


def test_a_complaint_holds_at_most_ten_files_listed_a_page_at_a_time(world) -> None:  # noqa: ANN001
    complaint_id = _file(world, world["cid"])
    for n in range(CA.MAX_FILES - 1):
        clock.set_now(NOON.replace(minute=n))
        _add(world, complaint_id, filename=f"照片{n}.jpg")
    _member_add(world, complaint_id)
    assert (
        refusal(CA.member_add_attachment, world["member"], complaint_id=complaint_id,
                filename="又一张.jpg", content=JPEG)
        == "complaint_attachment.error.too_many"
    )  # fmt: skip
    assert (
        refusal(CA.add_complaint_attachment, world["desk"], complaint_id=complaint_id,
                filename="又一张.jpg", content=JPEG)
        == "complaint_attachment.error.too_many"
    )  # fmt: skip
    first = call(CA.list_complaint_attachments, world["desk"], complaint_id=complaint_id,
                 page=1, page_size=4)  # fmt: skip
    third = call(CA.list_complaint_attachments, world["desk"], complaint_id=complaint_id,
                 page=3, page_size=4)  # fmt: skip
    assert (first.total, len(first.rows), len(third.rows), first.can_add) == (10, 4, 2, False)
    assert first.rows[0].by_member and third.rows[-1].filename_masked == "照***.jpg"
    mine = call(CA.member_attachments, world["member"], complaint_id=complaint_id)
    assert (mine.total, mine.can_add) == (1, False)
    huge = call(CA.list_complaint_attachments, world["desk"], complaint_id=complaint_id,
                page_size=10_000)  # fmt: skip
    assert len(huge.rows) == CA.MAX_PAGE_SIZE


def test_auditors_are_refused_everything(world) -> None:  # noqa: ANN001
    complaint_id = _file(world, world["cid"])
    attachment_id = _add(world, complaint_id)
    for fn, kwargs in (
        (CA.add_complaint_attachment, {"complaint_id": complaint_id, "filename": FILENAME,
                                       "content": JPEG}),
        (CA.list_complaint_attachments, {"complaint_id": complaint_id}),
        (CA.open_complaint_attachment, {"attachment_id": attachment_id}),
        (CA.member_attachments, {"complaint_id": complaint_id}),
        (CA.member_open_attachment, {"attachment_id": attachment_id}),
    ):  # fmt: skip
        with pytest.raises(PermissionDenied):
            call(fn, world["auditor"], **kwargs)
    assert _audit("complaint_attachment.open") == []
    denied = [e.action for e in _audit("complaint_attachments.open_complaint_attachment")]
    assert denied == ["complaint_attachments.open_complaint_attachment"]
    assert _count() == 1


def test_a_member_finds_nothing_of_another_members_complaint(world) -> None:  # noqa: ANN001
    other_cid = _customer("李别人", "13822229999")
    other = _member(other_cid)
    complaint_id = _file(world, world["cid"])
    theirs = _member_add(world, complaint_id)
    for fn, kwargs in (
        (CA.member_add_attachment, {"complaint_id": complaint_id, "filename": "x.pdf",
                                    "content": PDF}),
        (CA.member_attachments, {"complaint_id": complaint_id}),
        (CA.member_open_attachment, {"attachment_id": theirs}),
        (CA.member_open_attachment, {"attachment_id": 10**12}),
        (CA.member_attachments, {"complaint_id": "1"}),
    ):  # fmt: skip
        with pytest.raises(NotFound):
            call(fn, other, **kwargs)
    # nor may a member use the staff operations on their own complaint
    with pytest.raises(PermissionDenied):
        call(CA.open_complaint_attachment, world["member"], attachment_id=theirs)
    assert _count() == 1
    assert [e.actor_id for e in _audit("complaint_attachment.open")] == []


# --- at rest ------------------------------------------------------------------------------------


@pytest.mark.parametrize("db", ["sqlite"], indirect=True)
def test_the_sqlite_file_holds_neither_the_file_nor_its_name(world) -> None:  # noqa: ANN001
    complaint_id = _file(world, world["cid"])
    _add(world, complaint_id)
    _member_add(world, complaint_id, filename="王小明的来信扫描.pdf")
    with get_engine().connect() as conn:
        conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    database = Path(get_settings().database_url.removeprefix("sqlite:///"))
    blobs = [database.read_bytes()]
    wal = database.with_name(database.name + "-wal")
    if wal.exists():
        blobs.append(wal.read_bytes())
    assert b"SQLite format 3" in blobs[0] and b"complaint_attachments" in blobs[0]
    for blob in blobs:
        assert MARKER not in blob
        for name in ("行李箱", "来信扫描", FILENAME):
            assert name.encode("utf-8") not in blob
            assert name.encode("utf-16-le") not in blob


@pytest.mark.parametrize("db", ["postgresql"], indirect=True)
def test_postgresql_holds_ciphertext_only(world) -> None:  # noqa: ANN001
    complaint_id = _file(world, world["cid"])
    attachment_id = _add(world, complaint_id)
    with get_engine().connect() as conn:
        found = conn.execute(
            sa.text("SELECT position(:m IN content_enc) FROM complaint_attachments WHERE id = :id"),
            {"m": MARKER, "id": attachment_id},
        ).scalar_one()
        dumped = conn.execute(sa.text("SELECT t::text FROM complaint_attachments t")).scalars()
        assert found == 0
        assert all("行李箱" not in row for row in dumped)


# --- merge --------------------------------------------------------------------------------------


def test_a_merge_re_encrypts_the_files_under_the_survivors_key(world) -> None:  # noqa: ANN001
    complaint_id = _file(world, world["cid"])
    staff_file = _add(world, complaint_id)
    member_file = _member_add(world, complaint_id)
    walk_in = _file(world, None)
    walk_in_file = _add(world, walk_in, filename="匿名来信.pdf", content=PDF)
    before = {i: _raw(i) for i in (staff_file, member_file, walk_in_file)}
    survivor = _customer("王小明", "13700000000")

    call(merge.merge_customers, world["boss"], survivor_id=survivor, merged_id=world["cid"],
         reason="重复建档")  # fmt: skip

    with session_scope() as session:
        survivor_key = session.get(Customer, survivor).data_key_id
        merged_key = session.get(Customer, world["cid"]).data_key_id
        assert session.get(Complaint, complaint_id).data_key_id == survivor_key
        old, new = datakeys.data_key(session, merged_key), datakeys.data_key(session, survivor_key)
    for attachment_id in (staff_file, member_file):
        after = _raw(attachment_id)
        assert after["content_enc"] != before[attachment_id]["content_enc"]
        assert after["filename_enc"] != before[attachment_id]["filename_enc"]
        content = crypto.decrypt_bytes(new, after["content_enc"], context=CA.CONTENT_CONTEXT)
        assert content in (JPEG, PDF)
        with pytest.raises(crypto.DecryptionError):
            crypto.decrypt_bytes(old, after["content_enc"], context=CA.CONTENT_CONTEXT)
    assert _raw(walk_in_file) == before[walk_in_file]  # not the merged customer's

    assert call(CA.open_complaint_attachment, world["desk"], attachment_id=staff_file) == (
        FILENAME, "image/jpeg", JPEG,
    )  # fmt: skip
    listed = call(CA.list_complaint_attachments, world["desk"], complaint_id=complaint_id)
    assert [r.filename_masked for r in listed.rows] == ["小***.pdf", "王***.jpg"]
    heir = _member(survivor)
    assert call(CA.member_open_attachment, heir, attachment_id=member_file).content == PDF
