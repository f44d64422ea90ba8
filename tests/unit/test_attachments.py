"""附件 services: files and their names encrypted at rest, type by magic bytes and size limit,
paper originals without a file, archive numbers (automatic and typed, unique), the audited
download with a reason, masked names in the list, merged customers refused."""

from __future__ import annotations

import re
import threading
from datetime import UTC, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy import select

from custapp import clock
from custapp.db import get_engine, session_scope
from custapp.models import Attachment, AuditEntry, Customer
from custapp.services import attachments, bootstrap, customers
from custapp.services.actor import Actor, system_actor
from custapp.services.customers import CustomerInput
from custapp.services.errors import DomainError, NotFound, ValidationFailed
from custapp.settings import get_settings

FILENAME = "张三身份证正面.png"
MARKER = b"PLAINTEXT-PIXELS-OF-AN-ID-CARD-"
PNG = b"\x89PNG\r\n\x1a\n" + MARKER * 64
PDF = b"%PDF-1.7\n" + MARKER * 8
JPEG = b"\xff\xd8\xff\xe0" + MARKER * 8
WEBP = b"RIFF\x10\x00\x00\x00WEBPVP8 " + MARKER * 8
HEIC = b"\x00\x00\x00\x18ftypheic" + MARKER * 8
REASON = "核实客户身份"


def _staff(username: str, role: str) -> Actor:
    with session_scope() as session:
        user_id = bootstrap.create_staff_user(
            session,
            actor=system_actor("test"),
            username=username,
            display_name=f"{username} 名",
            roles=[role],
            password="Correct-horse-42",
        )
    return Actor(user_id=user_id, name=username, roles=frozenset({role}))


@pytest.fixture
def desk(db) -> Actor:
    return _staff("desk.one", "front_desk")


@pytest.fixture
def customer_id(desk) -> int:
    with session_scope() as session:
        return customers.create_customer(
            session, actor=desk, data=CustomerInput(name="张三", phone="13912345678")
        ).id


def _add(actor: Actor, customer_id: int, **kwargs) -> attachments.AttachmentRef:
    values = {"category": "id_copy", "filename": FILENAME, "content": PNG, **kwargs}
    with session_scope() as session:
        return attachments.add_attachment(session, actor=actor, customer_id=customer_id, **values)


def _errors(actor: Actor, customer_id: int, **kwargs) -> dict[str, str]:
    with pytest.raises(ValidationFailed) as refused:
        _add(actor, customer_id, **kwargs)
    return refused.value.errors


def _open(actor: Actor, attachment_id: int, reason: str = REASON) -> attachments.OpenedFile:
    with session_scope() as session:
        return attachments.open_attachment(
            session, actor=actor, attachment_id=attachment_id, reason=reason
        )


def _list(actor: Actor, customer_id: int, **kwargs) -> attachments.AttachmentPage:
    with session_scope() as session:
        return attachments.list_attachments(session, actor=actor, customer_id=customer_id, **kwargs)


def _audit(action: str) -> list[AuditEntry]:
    with session_scope() as session:
        query = select(AuditEntry).where(AuditEntry.action == action).order_by(AuditEntry.seq)
        return list(session.exec(query).scalars())


def _raw_row(attachment_id: int) -> dict:
    with get_engine().connect() as conn:
        row = conn.execute(
            sa.text("SELECT * FROM attachments WHERE id = :id"), {"id": attachment_id}
        )
        return dict(row.mappings().one())


# --- encryption at rest -----------------------------------------------------------------------


def test_file_and_its_name_are_encrypted_and_open_with_a_reason_audited(desk, customer_id):
    ref = _add(desk, customer_id)

    raw = _raw_row(ref.id)
    content = bytes(raw["content_enc"])
    assert MARKER not in content and PNG[:8] not in content
    assert len(content) > len(PNG)  # the ciphertext, with nonce and tag
    assert FILENAME not in raw["filename_enc"] and "身份证" not in raw["filename_enc"]
    assert (raw["content_type"], raw["size"]) == ("image/png", len(PNG))

    opened = _open(desk, ref.id)
    assert opened == (FILENAME, "image/png", PNG)

    (entry,) = _audit("attachment.open")
    assert (entry.actor_id, entry.customer_id, entry.reason) == (desk.user_id, customer_id, REASON)
    assert (entry.target_type, entry.target_id) == ("attachment", str(ref.id))
    (added,) = _audit("attachment.add")
    assert (added.customer_id, added.target_id) == (customer_id, str(ref.id))
    for row in (entry, added):
        text = " ".join(str(v) for v in vars(row).values())
        assert "身份证" not in text and ".png" not in text  # never the file name


def test_the_ciphertext_opens_only_under_its_customer_key_and_context(desk, customer_id):
    ref = _add(desk, customer_id)
    with session_scope() as session:
        row = session.get(Attachment, ref.id)
        key_id = session.get(Customer, customer_id).data_key_id
        # the merge re-encrypts with these exported contexts
        key = attachments.datakeys.data_key(session, key_id)
        assert (
            attachments.crypto.decrypt_bytes(
                key, row.content_enc, context=attachments.CONTENT_CONTEXT
            )
            == PNG
        )
        with pytest.raises(attachments.crypto.DecryptionError):
            attachments.crypto.decrypt_bytes(key, row.content_enc, context="customer.notes")


@pytest.mark.parametrize("db", ["sqlite"], indirect=True)
def test_the_sqlite_file_holds_neither_the_file_nor_its_name(desk, customer_id):
    _add(desk, customer_id)
    _add(desk, customer_id, category="contract", filename="张三合同.pdf", content=PDF)
    with get_engine().connect() as conn:
        conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    database = Path(get_settings().database_url.removeprefix("sqlite:///"))
    blobs = [database.read_bytes()]
    wal = database.with_name(database.name + "-wal")
    if wal.exists():
        blobs.append(wal.read_bytes())
    assert b"SQLite format 3" in blobs[0] and b"attachments" in blobs[0]
    for blob in blobs:
        assert MARKER not in blob
        for name in (FILENAME, "张三合同", "身份证"):
            assert name.encode("utf-8") not in blob
            assert name.encode("utf-16-le") not in blob


@pytest.mark.parametrize("db", ["postgresql"], indirect=True)
def test_postgresql_stores_the_file_as_ciphertext_bytea(desk, customer_id):
    ref = _add(desk, customer_id)
    with get_engine().connect() as conn:
        kind = conn.execute(
            sa.text(
                "SELECT data_type FROM information_schema.columns "
                "WHERE table_name = 'attachments' AND column_name = 'content_enc'"
            )
        ).scalar_one()
        found = conn.execute(
            sa.text("SELECT position(:marker IN content_enc) FROM attachments WHERE id = :id"),
            {"marker": MARKER, "id": ref.id},
        ).scalar_one()
        dumped = conn.execute(sa.text("SELECT t::text FROM attachments t")).scalars().all()
    assert kind == "bytea"
    assert found == 0
    assert all("身份证" not in row for row in dumped)


# --- what is accepted -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("filename", "content", "content_type"),
    [
        ("合同.pdf", PDF, "application/pdf"),
        ("照片.JPG", JPEG, "image/jpeg"),
        ("照片.webp", WEBP, "image/webp"),
        ("手机拍照.heic", HEIC, "image/heic"),
    ],
)
def test_accepted_types_are_told_by_their_first_bytes(
    desk, customer_id, filename, content, content_type
):
    ref = _add(desk, customer_id, filename=filename, content=content)
    assert _open(desk, ref.id) == (filename, content_type, content)


@pytest.mark.parametrize(
    ("filename", "content", "error"),
    [
        ("假图片.png", b"<html><script>alert(1)</script></html>", "attachment.error.file_type"),
        ("动图.gif", b"GIF89a" + MARKER, "attachment.error.file_type"),
        ("程序.exe", b"MZ\x90\x00" + MARKER, "attachment.error.file_type"),
        ("页面.html", PNG, "attachment.error.extension_mismatch"),
        ("扫描件.pdf", PNG, "attachment.error.extension_mismatch"),
        ("空的.png", b"", "attachment.error.file_empty"),
    ],
)
def test_a_file_is_judged_by_its_content_not_its_name(desk, customer_id, filename, content, error):
    assert _errors(desk, customer_id, filename=filename, content=content) == {"file": error}


def test_the_size_limit_is_ten_megabytes(desk, customer_id):
    limit = attachments.MAX_BYTES
    assert limit == 10 * 1024 * 1024
    at_limit = PNG + bytes(limit - len(PNG))
    ref = _add(desk, customer_id, content=at_limit)
    assert _list(desk, customer_id).rows[0].size == limit
    assert _errors(desk, customer_id, content=at_limit + b"\0") == {
        "file": "attachment.error.file_too_large"
    }
    assert _open(desk, ref.id).content == at_limit


def test_a_file_name_is_cleaned_and_given_the_extension_of_its_type(desk, customer_id):
    bare = _add(desk, customer_id, filename="C:\\扫描\\身份证\x00复印件", content=PNG)
    assert _open(desk, bare.id).filename == "身份证复印件.png"
    long = _add(desk, customer_id, filename="长" * 300 + ".png", content=PNG)
    name = _open(desk, long.id).filename
    assert len(name) == attachments.MAX_FILENAME and name.endswith(".png")


def test_a_paper_original_needs_only_its_storage_location(desk, customer_id):
    ref = _add(
        desk,
        customer_id,
        category="contract",
        filename="",
        content=None,
        paper_location="档案室 2 号柜第 3 层",
    )
    (row,) = _list(desk, customer_id).rows
    assert (row.id, row.has_file, row.size, row.filename_masked, row.content_type) == (
        ref.id,
        False,
        0,
        "",
        "",
    )
    assert row.paper_location == "档案室 2 号柜第 3 层"
    with pytest.raises(NotFound) as refused:
        _open(desk, ref.id)
    assert refused.value.key == "attachment.error.no_file"

    both = _add(desk, customer_id, paper_location="前台文件柜")
    assert _open(desk, both.id).content == PNG


def test_without_file_and_location_or_with_bad_fields_nothing_is_saved(desk, customer_id):
    assert _errors(desk, customer_id, content=None, paper_location="  ") == {
        "file": "attachment.error.file_or_location"
    }
    assert _errors(desk, customer_id, category="secret", paper_location="柜" * 101) == {
        "category": "attachment.error.category",
        "paper_location": "attachment.error.paper_location_too_long",
    }
    assert _list(desk, customer_id).total == 0
    assert _audit("attachment.add") == []


# --- archive numbers --------------------------------------------------------------------------


def test_archive_numbers_are_assigned_per_category_code_year_and_row(desk, customer_id):
    clock.set_now(datetime(2025, 12, 31, 16, 30, tzinfo=UTC))  # 00:30 on 1 January in Shanghai
    refs = [
        _add(desk, customer_id, category=category)
        for category in ("id_copy", "contract", "contract", "other")
    ]
    numbers = [r.archive_number for r in refs]
    assert [n[:6] for n in numbers] == ["ZJ2026", "HT2026", "HT2026", "QT2026"]
    assert all(re.fullmatch(r"[A-Z]{2}2026\d{6}", n) for n in numbers)
    assert len(set(numbers)) == 4
    assert [int(n[6:]) for n in numbers] == [r.id for r in refs]
    listed = {r.id: r.archive_number for r in _list(desk, customer_id).rows}
    assert listed == {r.id: r.archive_number for r in refs}


def test_a_typed_archive_number_is_checked_and_unique(desk, customer_id):
    first = _add(desk, customer_id, archive_number=" ｈｔ-2024-001 ")  # full-width, spaces
    assert first.archive_number == "HT-2024-001"
    assert _errors(desk, customer_id, archive_number="ht-2024-001") == {
        "archive_number": "attachment.error.archive_number_taken"
    }
    for typed, error in (
        ("A" * 31, "too_long"),
        ("HT 2024 002", "format"),
        ("<script>", "format"),
        ("HT2026000001", "reserved"),
        ("zj2025123456", "reserved"),
    ):
        assert _errors(desk, customer_id, archive_number=typed) == {
            "archive_number": f"attachment.error.archive_number_{error}"
        }, typed
    assert _add(desk, customer_id, archive_number="档2024/合同(3)#1").archive_number == (
        "档2024/合同(3)#1"
    )


def test_two_concurrent_uploads_with_the_same_typed_number_save_one(desk, customer_id):
    barrier, outcomes = threading.Barrier(2), []

    def upload() -> None:
        barrier.wait()
        try:
            outcomes.append(_add(desk, customer_id, archive_number="HT-2024-777").id)
        except ValidationFailed as exc:
            outcomes.append(exc.errors)

    threads = [threading.Thread(target=upload) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes, key=lambda o: isinstance(o, dict))[1] == {
        "archive_number": "attachment.error.archive_number_taken"
    }
    with session_scope() as session:
        count = session.exec(
            select(sa.func.count(Attachment.id)).where(Attachment.archive_number == "HT-2024-777")
        ).scalar_one()
    assert count == 1


# --- listing and opening ----------------------------------------------------------------------


def test_the_list_pages_newest_first_and_masks_names_by_permission(desk, customer_id):
    for i in range(3):
        clock.set_now(datetime(2026, 3, 1 + i, 2, tzinfo=UTC))
        _add(desk, customer_id, filename=f"第{i}份身份证.png")
    first = _list(desk, customer_id, page=1, page_size=2)
    assert (first.total, len(first.rows), first.customer_id) == (3, 2, customer_id)
    assert [r.filename_masked for r in first.rows] == ["第***.png", "第***.png"]
    assert first.rows[0].created_at > first.rows[1].created_at
    assert first.rows[0].uploaded_by_name == "desk.one 名"
    assert len(_list(desk, customer_id, page=2, page_size=2).rows) == 1

    compliance = _staff("compliance.one", "compliance")
    hidden = _list(compliance, customer_id)
    assert all(r.filename_masked == "" and r.has_file for r in hidden.rows)


def test_opening_needs_a_reason_and_an_existing_file(desk, customer_id):
    ref = _add(desk, customer_id)
    with pytest.raises(ValidationFailed) as refused:
        _open(desk, ref.id, reason=" ")
    assert refused.value.errors == {"reason": "customer.error.reason_required"}
    with pytest.raises(NotFound):
        _open(desk, ref.id + 1000)
    assert _audit("attachment.open") == []


def test_a_merged_customer_takes_no_attachment_and_lists_its_survivor(desk, customer_id):
    with session_scope() as session:
        survivor = customers.create_customer(
            session, actor=desk, data=CustomerInput(name="张三", phone="13812345678")
        ).id
    kept = _add(desk, survivor)
    with session_scope() as session:
        session.get(Customer, customer_id).merged_into_id = survivor
    with pytest.raises(DomainError) as refused:
        _add(desk, customer_id)
    assert refused.value.key == "customer.error.merged"
    listed = _list(desk, customer_id)
    assert (listed.customer_id, [r.id for r in listed.rows]) == (survivor, [kept.id])
