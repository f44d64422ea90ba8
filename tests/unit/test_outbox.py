"""The outbox: encryption at rest, consent at queue and send time, retries, senders, inbox."""

from __future__ import annotations

import email
import email.policy
import socketserver
import threading
import time
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select, text

from custapp import clock, i18n
from custapp.db import session_scope
from custapp.jobs import STEPS, run_jobs
from custapp.models import AuditEntry, DataKey, OutboxMessage, Store, User, UserRole, UserStore
from custapp.security import keystore
from custapp.services import audit, datakeys, outbox
from custapp.services.actor import Actor
from custapp.services.errors import DomainError, NotFound, PermissionDenied
from custapp.services.senders import (
    ConsoleSender,
    OutgoingMessage,
    SenderUnavailable,
    SmtpSender,
    sender_from_settings,
)
from custapp.settings import get_settings

PHONE = "13812345678"
NAME = "欧阳靖雯"
T0 = datetime(2026, 3, 1, 2, 0, tzinfo=UTC)


class Recorder:
    def __init__(self, delay: float = 0) -> None:
        self.messages: list[OutgoingMessage] = []
        self.delay = delay

    def send(self, message: OutgoingMessage) -> None:
        time.sleep(self.delay)
        self.messages.append(message)


class Unreachable:
    def send(self, message: OutgoingMessage) -> None:
        raise ConnectionRefusedError(f"cannot reach {message.recipient}")


def _store(session, code: str) -> int:
    store = Store(code=code, name=code, created_at=clock.now())
    session.add(store)
    session.flush()
    return store.id


def _user(session, username: str, roles=(), *, active=True, locale=None, stores=()) -> int:
    now = clock.now()
    user = User(
        username=username,
        display_name=username,
        is_active=active,
        locale=locale,
        created_at=now,
        updated_at=now,
    )
    session.add(user)
    session.flush()
    for role in roles:
        session.add(UserRole(user_id=user.id, role=role, granted_at=now))
    for store_id in stores:
        session.add(UserStore(user_id=user.id, store_id=store_id))
    session.flush()
    return user.id


def _actor(user_id: int, roles=("front_desk",)) -> Actor:
    return Actor(user_id=user_id, name=f"user{user_id}", roles=frozenset(roles))


def _queue_customer_sms(purpose: str = "service", customer_id: int = 7, **kwargs) -> int:
    with session_scope() as session:
        key = datakeys.create_data_key(session)
        return outbox.queue_message(
            session,
            channel="sms",
            purpose=purpose,
            subject="生日问候",
            body=f"{NAME}，您好！您的积分即将到期。",
            recipient=PHONE,
            customer_id=customer_id,
            customer_key_id=key.id,
            **kwargs,
        )


def _row(message_id: int) -> OutboxMessage:
    with session_scope() as session:  # a read-only scope rolls back, which expires the row
        return session.get(OutboxMessage, message_id)


def _queue_with_consent(monkeypatch, purpose: str, **kwargs) -> int:
    """Queue as if the customer had consented; the real check is back for what follows."""
    with monkeypatch.context() as patched:
        patched.setattr(outbox, "purpose_allowed", lambda session, *, customer_id, purpose: True)
        return _queue_customer_sms(purpose=purpose, **kwargs)


# --- queuing ----------------------------------------------------------------------------------


def test_customer_message_is_encrypted_at_rest(db):
    message_id = _queue_customer_sms()
    with session_scope(write=False) as session:
        raw = session.exec(text("SELECT * FROM outbox")).all()
    dump = repr(raw)
    assert PHONE not in dump and PHONE[-4:] not in dump
    assert NAME not in dump and "生日" not in dump

    sender = Recorder()
    assert outbox.deliver_due(sender=sender).sent == 1
    [sent] = sender.messages
    assert (sent.id, sent.channel, sent.recipient) == (message_id, "sms", PHONE)
    assert NAME in sent.body and PHONE not in repr(sent) and NAME not in repr(sent)


def test_bad_channel_and_address_are_refused(db):
    with session_scope() as session:
        for channel, recipient, key in [
            ("fax", PHONE, "outbox.error.bad_channel"),
            ("sms", "12345", "outbox.error.bad_recipient"),
            ("email", "not-an-address", "outbox.error.bad_recipient"),
            ("in_app", None, "outbox.error.bad_recipient"),  # in-app needs a user
        ]:
            with pytest.raises(DomainError) as refused:
                outbox.queue_message(
                    session,
                    channel=channel,
                    purpose="service",
                    subject="s",
                    body="b",
                    recipient=recipient,
                )
            assert refused.value.key == key


def test_consent_bound_purpose_is_refused_when_queued(db):
    with pytest.raises(DomainError) as refused:
        _queue_customer_sms(purpose="marketing_sms")
    assert refused.value.key == "outbox.error.no_consent"
    with session_scope(write=False) as session:
        assert session.exec(select(func.count(OutboxMessage.id))).scalar_one() == 0
        # Staff messages are not consent-bound.
        assert outbox.purpose_allowed(session, customer_id=None, purpose="marketing_sms")


def test_consent_is_checked_again_when_sending(db, monkeypatch):
    message_id = _queue_with_consent(monkeypatch, "marketing_sms")
    # ...and the consent is gone by the time the job runs.

    sender = Recorder()
    report = outbox.deliver_due(sender=sender)
    assert (report.sent, report.cancelled) == (0, 1)
    assert sender.messages == []
    row = _row(message_id)
    assert (row.status, row.last_error) == ("cancelled", "no_consent")


def test_cancel_for_purpose_cancels_only_that_customers_queued_messages(db, monkeypatch):
    care = _queue_with_consent(monkeypatch, "care")
    other_purpose = _queue_with_consent(monkeypatch, "marketing_sms")
    other_customer = _queue_with_consent(monkeypatch, "care", customer_id=8)
    with session_scope() as session:
        assert outbox.cancel_for_purpose(session, customer_id=7, purpose="care") == 1
    assert _row(care).status == "cancelled"
    assert _row(other_purpose).status == _row(other_customer).status == "queued"


def test_not_before_holds_a_message_back(db):
    clock.set_now(T0)
    _queue_customer_sms(not_before=T0 + timedelta(hours=1))
    sender = Recorder()
    assert outbox.deliver_due(sender=sender).sent == 0
    clock.advance(timedelta(hours=1))
    assert outbox.deliver_due(sender=sender).sent == 1


# --- delivery ---------------------------------------------------------------------------------


def test_failed_sends_back_off_and_finally_fail(db):
    clock.set_now(T0)
    message_id = _queue_customer_sms()
    for attempt, wait in enumerate([1, 5, 30, 120], start=1):
        report = outbox.deliver_due(sender=Unreachable())
        assert (report.retried, report.failed) == (1, 0)
        row = _row(message_id)
        assert (row.status, row.attempts) == ("queued", attempt)
        assert row.last_error == "ConnectionRefusedError"  # never the text with the number
        assert row.not_before == clock.now() + timedelta(minutes=wait)
        clock.advance(timedelta(minutes=wait) - timedelta(seconds=1))
        assert outbox.deliver_due(sender=Unreachable()) == outbox.DeliveryReport()
        clock.advance(timedelta(seconds=1))
    report = outbox.deliver_due(sender=Unreachable())
    assert (report.retried, report.failed) == (0, 1)
    row = _row(message_id)
    assert (row.status, row.attempts, row.sent_at) == ("failed", 5, None)
    assert outbox.deliver_due(sender=Recorder()) == outbox.DeliveryReport()


def test_a_message_whose_worker_died_is_taken_again_after_the_lease(db):
    clock.set_now(T0)
    message_id = _queue_customer_sms()
    with session_scope() as session:
        row = session.get(OutboxMessage, message_id)
        row.status, row.not_before = "sending", T0 + outbox.LEASE
    assert outbox.deliver_due(sender=Recorder()).sent == 0
    clock.advance(outbox.LEASE)
    assert outbox.deliver_due(sender=Recorder()).sent == 1


def test_a_destroyed_data_key_cancels_the_message(db):
    message_id = _queue_customer_sms()
    with session_scope() as session:
        key = session.get(DataKey, _row(message_id).data_key_id)
        key.destroyed_at = clock.now()
    keystore.destroy([key.id])
    report = outbox.deliver_due(sender=Recorder())
    assert report.cancelled == 1
    assert _row(message_id).last_error == "data_destroyed"


def test_a_delivery_run_writes_one_audit_entry_with_counts_only(db, monkeypatch):
    for _ in range(3):
        _queue_customer_sms()
    _queue_with_consent(monkeypatch, "marketing_sms")
    report = outbox.deliver_due(sender=Recorder(), limit=2)  # several batches, one entry
    assert (report.sent, report.cancelled) == (3, 1)
    with session_scope(write=False) as session:
        entries = session.exec(select(AuditEntry)).scalars().all()
        assert [e.action for e in entries] == ["outbox.deliver"]
        assert entries[0].actor_name == "jobs"
        assert PHONE not in entries[0].detail and NAME not in entries[0].detail
        assert '"sent": 3' in entries[0].detail and '"cancelled": 1' in entries[0].detail
        assert audit.verify_chain(session).ok
    outbox.deliver_due(sender=Recorder())  # an idle run is not audited
    with session_scope(write=False) as session:
        assert session.exec(select(func.count(AuditEntry.id))).scalar_one() == 1


def test_concurrent_runs_send_every_message_exactly_once(db):
    for _ in range(20):
        _queue_customer_sms()
    sender = Recorder(delay=0.01)
    reports = []
    workers = [
        threading.Thread(target=lambda: reports.append(outbox.deliver_due(sender=sender, limit=3)))
        for _ in range(2)
    ]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    ids = [message.id for message in sender.messages]
    assert len(ids) == len(set(ids)) == 20
    assert sum(report.sent for report in reports) == 20
    with session_scope(write=False) as session:
        assert audit.verify_chain(session).ok


# --- senders ----------------------------------------------------------------------------------


def test_console_sender_prints_masked_recipient_and_never_the_body(capsys):
    sender = ConsoleSender()
    sender.send(OutgoingMessage(1, "sms", PHONE, "积分提醒", f"{NAME} 您好"))
    sender.send(OutgoingMessage(2, "email", "ouyang.jingwen@example.com", "Hi", "secret body"))
    out = capsys.readouterr().out
    assert len(out.splitlines()) == 2
    assert "138****5678" in out and PHONE not in out
    assert "o***@example.com" in out and "ouyang.jingwen" not in out
    assert NAME not in out and "secret body" not in out
    assert "#1" in out and "积分提醒" in out


class _SmtpHandler(socketserver.StreamRequestHandler):
    """Just enough SMTP for smtplib: EHLO, MAIL, RCPT, DATA, QUIT (no STARTTLS, no AUTH)."""

    def reply(self, line: str) -> None:
        self.wfile.write(f"{line}\r\n".encode())

    def handle(self) -> None:
        self.reply("220 test ESMTP")
        envelope: dict = {"rcpt": []}
        while line := self.rfile.readline().decode().rstrip("\r\n"):
            verb = line[:4].upper()
            if verb == "EHLO":
                self.reply("250-test")
                self.reply("250 8BITMIME")
            elif verb == "MAIL":
                envelope["from"] = line.partition("<")[2].rstrip(">")
                self.reply("250 OK")
            elif verb == "RCPT":
                envelope["rcpt"].append(line.partition("<")[2].rstrip(">"))
                self.reply("250 OK")
            elif verb == "DATA":
                self.reply("354 go on")
                data = []
                while (chunk := self.rfile.readline()) not in (b".\r\n", b""):
                    data.append(chunk)
                envelope["data"] = b"".join(data)
                self.server.received.append(envelope)
                self.reply("250 queued")
            elif verb == "QUIT":
                self.reply("221 bye")
                return
            else:
                self.reply("250 OK")


@pytest.fixture
def smtp_server():
    server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), _SmtpHandler)
    server.daemon_threads = True
    server.received = []
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def test_smtp_sender_delivers_email_and_refuses_sms(db, smtp_server):
    port = smtp_server.server_address[1]
    assert port != 587
    with session_scope() as session:
        key = datakeys.create_data_key(session)
        outbox.queue_message(
            session,
            channel="email",
            purpose="service",
            subject="Your receipt",
            body=f"Dear {NAME}, thank you.",
            recipient="jingwen@example.com",
            customer_id=7,
            customer_key_id=key.id,
        )
    sms_id = _queue_customer_sms()
    sender = SmtpSender(host="127.0.0.1", port=port, from_address="shop@example.com", timeout=5)
    report = outbox.deliver_due(sender=sender)
    assert (report.sent, report.retried) == (1, 1)
    [mail] = smtp_server.received
    assert (mail["from"], mail["rcpt"]) == ("shop@example.com", ["jingwen@example.com"])
    parsed = email.message_from_bytes(mail["data"], policy=email.policy.default)
    assert (parsed["Subject"], parsed["To"]) == ("Your receipt", "jingwen@example.com")
    assert parsed.get_content().strip() == f"Dear {NAME}, thank you."
    assert _row(sms_id).last_error == SenderUnavailable.__name__


@pytest.fixture
def fresh_settings():
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


def test_sender_from_settings(monkeypatch, fresh_settings):
    assert isinstance(sender_from_settings(), ConsoleSender)
    monkeypatch.setenv("CUSTAPP_MAIL_SENDER", "smtp")
    monkeypatch.setenv("CUSTAPP_SMTP_HOST", "mail.example.com")
    monkeypatch.setenv("CUSTAPP_SMTP_PORT", "2525")
    get_settings.cache_clear()
    sender = sender_from_settings()
    assert isinstance(sender, SmtpSender) and (sender.host, sender.port) == (
        "mail.example.com",
        2525,
    )
    monkeypatch.setenv("CUSTAPP_MAIL_SENDER", "pigeon")
    get_settings.cache_clear()
    with pytest.raises(ValueError):
        sender_from_settings()


def test_run_jobs_delivers_the_outbox(db, capsys):
    _queue_customer_sms()
    steps = []
    summary = run_jobs(progress=lambda done, total, name: steps.append((done, total, name)))
    assert summary["outbox"]["sent"] == 1
    names = [name for name, _ in STEPS]
    assert steps == [(done, len(names), name) for done, name in enumerate(names, start=1)]
    assert names[:6] == [
        "notice_changes",
        "outbox",
        "classification",
        "points_expiry",
        "complaint_escalations",
        "birthday_index",
    ]
    assert names[-1] == "backup"  # issue 16: the backup holds what the steps before it did
    assert "138****5678" in capsys.readouterr().out


# --- staff alerts and the inbox ---------------------------------------------------------------


def test_alert_role_reaches_exactly_the_active_holders(db, monkeypatch):
    monkeypatch.setitem(i18n.ZH, "test.alert.subject", "新授权：{role}")
    monkeypatch.setitem(i18n.EN, "test.alert.subject", "New grant: {role}")
    monkeypatch.setitem(i18n.ZH, "test.alert.body", "已授予 {role}")
    monkeypatch.setitem(i18n.EN, "test.alert.body", "Granted {role}")
    with session_scope() as session:
        north, south, empty = _store(session, "N"), _store(session, "S"), _store(session, "E")
        zh = _user(session, "c1", ["compliance"], stores=[north])
        en = _user(session, "c2", ["compliance", "auditor"], locale="en", stores=[south])
        _user(session, "c3", ["compliance"], active=False, stores=[north])
        _user(session, "f1", ["front_desk"], stores=[north])
        assert (
            outbox.alert_role(
                session,
                role="compliance",
                subject_key="test.alert.subject",
                body_key="test.alert.body",
                params={"role": "cs_manager"},
            )
            == 2
        )
        rows = session.exec(select(OutboxMessage).order_by(OutboxMessage.id)).scalars().all()
        assert [(r.user_id, r.channel, r.status, r.purpose) for r in rows] == [
            (zh, "in_app", "sent", "staff_alert"),
            (en, "in_app", "sent", "staff_alert"),
        ]
        assert {r.data_key_id for r in rows} == {datakeys.system_key(session)[0]}
        for store_id, expected in [(north, [zh]), (empty, [zh, en])]:
            before = len(rows)
            assert outbox.alert_role(
                session,
                role="compliance",
                subject_key="test.alert.subject",
                body_key="test.alert.body",
                params={"role": "x"},
                store_id=store_id,
            ) == len(expected)
            rows = session.exec(select(OutboxMessage).order_by(OutboxMessage.id)).scalars().all()
            assert [r.user_id for r in rows[before:]] == expected
        [zh_first] = outbox.list_inbox(session, actor=_actor(zh, ["compliance"]), page_size=3)[0][
            -1:
        ]
        [en_first] = outbox.list_inbox(session, actor=_actor(en, ["compliance"]), page_size=3)[0][
            -1:
        ]
    assert (zh_first.subject, zh_first.body) == ("新授权：cs_manager", "已授予 cs_manager")
    assert (en_first.subject, en_first.body) == ("New grant: cs_manager", "Granted cs_manager")


def test_inbox_pages_newest_first_and_marks_only_own_messages(db):
    clock.set_now(T0)
    with session_scope() as session:
        alice, bob = _user(session, "alice", ["front_desk"]), _user(session, "bob", ["front_desk"])
        for n in range(5):
            clock.advance(timedelta(minutes=1))
            outbox.queue_message(
                session,
                channel="in_app",
                purpose="staff_alert",
                subject=f"提醒 {n}",
                body=f"内容 {n}",
                user_id=alice,
            )
        bobs = outbox.queue_message(
            session, channel="in_app", purpose="staff_alert", subject="b", body="b", user_id=bob
        )
    with session_scope() as session:
        first, total = outbox.list_inbox(session, actor=_actor(alice), page=1, page_size=2)
        third, _ = outbox.list_inbox(session, actor=_actor(alice), page=3, page_size=2)
        assert total == 5
        assert [r.subject for r in first] == ["提醒 4", "提醒 3"]
        assert [r.body for r in third] == ["内容 0"]
        assert not any(r.read for r in first)
        outbox.mark_read(session, actor=_actor(alice), message_id=first[0].id)
        with pytest.raises(NotFound):
            outbox.mark_read(session, actor=_actor(alice), message_id=bobs)
        with pytest.raises(NotFound):
            outbox.mark_read(session, actor=_actor(alice), message_id=999_999)
    with session_scope(write=False) as session:
        rows, _ = outbox.list_inbox(session, actor=_actor(alice), page_size=2)
        assert [r.read for r in rows] == [True, False]
        assert session.get(OutboxMessage, bobs).read_at is None


def test_inbox_needs_message_read(db):
    member = Actor(user_id=None, name="member#1", kind="member", roles=frozenset({"member"}))
    with pytest.raises(PermissionDenied), session_scope() as session:
        outbox.list_inbox(session, actor=member)
    with session_scope(write=False) as session:
        denial = session.exec(select(AuditEntry)).scalars().one()
        assert (denial.action, denial.outcome) == ("outbox.list_inbox", "denied")
