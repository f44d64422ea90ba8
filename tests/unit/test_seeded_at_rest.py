"""After seeding 10,000 demo customers (with their orders and service logs), no sensitive value
is in the SQLite file in plaintext (issue 3, acceptance 4).

Every value is read back through the decryption path and then looked for in the raw bytes: all
phones, ID numbers and e-mail addresses (by pattern: every 11-digit run, 18-character ID-shaped
run and address-shaped run of the file is checked against them), and a sample of addresses,
contact phones and service-log texts by direct search.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from sqlalchemy import select

from custapp.db import get_engine, session_scope
from custapp.demo import accounts as demo_accounts
from custapp.demo import customers as demo_customers
from custapp.models import Customer, CustomerContact, ServiceLog
from custapp.services import customer_fields, datakeys, service_log
from custapp.services.actor import system_actor
from custapp.services.customers import CONTACT_PHONE_CONTEXT
from custapp.settings import get_settings

N = 10_000
SAMPLE = 300


def _plaintexts() -> tuple[set[bytes], set[bytes], set[bytes], list[bytes]]:
    """(phones, ID numbers, e-mails, a sample of long texts) as stored, decrypted."""
    phones, ids, emails, texts = set(), set(), set(), []
    with session_scope(write=False) as session:
        customers = session.exec(select(Customer)).scalars().all()
        datakeys.preload(session, {c.data_key_id for c in customers})
        for i, c in enumerate(customers):
            for field, bucket in (("phone", phones), ("phone2", phones), ("id_number", ids)):
                value = customer_fields.read(session, c, field)
                if value:
                    bucket.add(value.encode())
            email = customer_fields.read(session, c, "email")
            if email:
                emails.add(email.encode())
            if i % (N // SAMPLE) == 0:
                # (not the employer: "市第一人民医院" is also part of plain organisation names)
                address = customer_fields.read(session, c, "address")
                if address:
                    texts.append(address.encode())
        keys = {c.id: c.data_key_id for c in customers}
        for contact in session.exec(select(CustomerContact).limit(SAMPLE)).scalars():
            phone = datakeys.decrypt(
                session, keys[contact.customer_id], contact.phone_enc, context=CONTACT_PHONE_CONTEXT
            )
            phones.add(phone.encode())
        for log in session.exec(select(ServiceLog).limit(SAMPLE)).scalars():
            texts.append(
                datakeys.decrypt(
                    session,
                    keys[log.customer_id],
                    log.content_enc,
                    context=service_log.CONTENT_CONTEXT,
                ).encode()
            )
    return phones, ids, emails, texts


def _assert_absent(blob: bytes, where: str, plain: tuple) -> None:
    phones, ids, emails, texts = plain
    digit_runs = set(re.findall(rb"(?<![0-9])1[0-9]{10}(?![0-9])", blob))
    assert not digit_runs & phones, f"a phone number in {where}"
    id_runs = set(re.findall(rb"(?<![0-9])[0-9]{17}[0-9Xx](?![0-9])", blob))
    assert not id_runs & ids, f"an ID number in {where}"
    email_runs = set(re.findall(rb"[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+", blob))
    assert not email_runs & emails, f"an e-mail address in {where}"
    for text in texts:
        assert text not in blob, f"{text.decode()!r} in {where}"


@pytest.mark.parametrize("db", ["sqlite"], indirect=True)
def test_ten_thousand_seeded_customers_leave_no_plaintext_in_the_file(db):
    with session_scope() as session:
        demo_accounts.seed_demo_accounts(session, actor=system_actor("test"))
    assert demo_customers.seed_customers(session_scope, n=N) == N
    plain = _plaintexts()
    assert len(plain[0]) > N * 0.9 and len(plain[1]) > N * 0.7 and plain[2] and plain[3]
    with get_engine().connect() as conn:
        conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    database = Path(get_settings().database_url.removeprefix("sqlite:///"))
    raw = database.read_bytes()
    assert b"SQLite format 3" in raw and len(raw) > 1_000_000
    # the scan does find what is there: customer numbers and names are plain by design
    assert re.search(rb"C20[0-9]{2}[0-9]{7}", raw)
    _assert_absent(raw, "the database file", plain)
    wal = database.with_name(database.name + "-wal")
    if wal.exists():
        _assert_absent(wal.read_bytes(), "the WAL file", plain)
