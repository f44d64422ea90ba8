"""The tamper-evident audit log (SPEC §6, §8): edits, deletions and truncation are detected, by the
service and by `custapp audit verify`; entries never hold values; concurrent writers keep one
chain."""

from __future__ import annotations

import json
import threading

import pytest
from sqlalchemy import select, text

from custapp import cli
from custapp.db import session_scope
from custapp.models import AuditEntry
from custapp.services import audit, audit_check, auth, bootstrap, users
from custapp.services.actor import Actor, system_actor

PASSWORD = "Correct-horse-42"


def _write(count: int, *, name: str = "writer") -> None:
    actor = Actor(user_id=None, name=name)
    for n in range(count):
        with session_scope() as session:
            audit.record(session, actor=actor, action="test.event", reason=f"entry {n}")


def _verify() -> audit.VerifyResult:
    with session_scope() as session:
        return audit.verify_chain(session)


def _sql(statement: str) -> None:
    with session_scope() as session:
        session.exec(text(statement))


@pytest.fixture
def log(db) -> int:
    _write(6)
    return 6


def test_a_clean_log_verifies(log):
    result = _verify()
    assert result.ok and result.checked == log


def test_editing_one_column_is_detected_at_that_row(log):
    _sql("UPDATE audit_log SET reason = 'x' WHERE seq = 3")
    result = _verify()
    assert not result.ok
    assert result.bad_seq == 3
    assert result.problem == "audit.verify.altered_row"


def test_deleting_a_middle_row_names_the_missing_row(log):
    _sql("DELETE FROM audit_log WHERE seq = 4")
    result = _verify()
    assert not result.ok
    assert result.bad_seq == 4
    assert result.problem == "audit.verify.missing_row"


def test_deleting_the_newest_rows_is_detected_by_the_head_checkpoint(log):
    _sql("DELETE FROM audit_log WHERE seq > 4")
    with session_scope() as session:
        rows = session.exec(select(AuditEntry).order_by(AuditEntry.seq)).scalars().all()
        # what remains is a valid chain on its own ...
        prev = audit.GENESIS
        for entry in rows:
            assert entry.prev_mac == prev and entry.mac == audit._mac(prev, entry)
            prev = entry.mac
    # ... so only the checkpoint outside the database can tell
    result = _verify()
    assert not result.ok
    assert result.problem == "audit.verify.truncated"
    assert result.bad_seq == 5


def test_cli_audit_verify_returns_zero_on_a_clean_log(log, capsys):
    assert cli.main(["audit", "verify"]) == 0
    assert str(log) in capsys.readouterr().out


def test_cli_audit_verify_fails_and_names_the_row_when_tampered(log, capsys):
    _sql("UPDATE audit_log SET reason = 'x' WHERE seq = 3")
    assert cli.main(["audit", "verify"]) != 0
    assert "3" in capsys.readouterr().err


def test_cli_audit_verify_names_a_deleted_row(log, capsys):
    _sql("DELETE FROM audit_log WHERE seq = 2")
    assert cli.main(["audit", "verify"]) != 0
    err = capsys.readouterr().err
    assert "2" in err and "6" not in err


def test_entries_never_hold_passwords(db):
    with session_scope() as session:
        admin_id = bootstrap.create_staff_user(
            session,
            actor=system_actor("test"),
            username="root.admin",
            display_name="Admin",
            roles=["sysadmin"],
            password=PASSWORD,
        )
    admin = Actor(user_id=admin_id, name="root.admin", roles=frozenset({"sysadmin"}))
    wrong = "Wrong-horse-77"
    for password in (wrong, PASSWORD):
        with session_scope() as session:
            auth.login_staff(session, username="root.admin", password=password, ip="10.0.0.1")
    with session_scope() as session:
        issued = users.create_user(
            session,
            actor=admin,
            username="new.clerk",
            display_name="New clerk",
            roles=["front_desk"],
            store_ids=[],
        )
    with session_scope() as session:
        rows = session.exec(select(AuditEntry)).scalars().all()
    values = [str(v) for row in rows for v in row.model_dump().values() if v is not None]
    assert {r.action for r in rows} >= {"auth.login", "user.create", "user.role_grant"}
    for secret in (PASSWORD, wrong, issued.temporary_password):
        assert not any(secret in value for value in values)


def test_concurrent_writers_keep_one_valid_chain(db):
    errors: list[BaseException] = []

    def worker(n: int) -> None:
        try:
            _write(25, name=f"thread{n}")
        except BaseException as exc:  # collected and re-raised in the main thread
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    result = _verify()
    assert result.ok and result.checked == 100
    assert audit.read_checkpoint()["seq"] == 100


def _write_many(count: int, *, name: str = "batch") -> None:
    actor = Actor(user_id=None, name=name)
    with session_scope() as session:
        written = audit.record_many(
            session,
            [
                {"actor": actor, "action": "test.batch", "customer_id": n + 1,
                 "detail": {"n": n}, "reason": f"batch {n}"}
                for n in range(count)
            ],
        )  # fmt: skip
    assert written == count


def test_record_many_interleaved_with_record_keeps_one_chain(db):
    _write(2)
    _write_many(5)
    _write(1)
    with session_scope() as session:
        assert audit.record_many(session, []) == 0  # nothing to write: the head is not touched
    _write_many(3, name="second batch")
    _write(1)
    result = _verify()
    assert result.ok and result.checked == 12
    assert audit.read_checkpoint()["seq"] == 12
    with session_scope() as session:
        rows = session.exec(select(AuditEntry).order_by(AuditEntry.seq)).scalars().all()
    assert [r.action for r in rows] == (
        ["test.event"] * 2 + ["test.batch"] * 5 + ["test.event"] + ["test.batch"] * 3
        + ["test.event"]
    )  # fmt: skip
    batch = rows[2:7]
    assert [(r.target_type, r.target_id, r.customer_id) for r in batch] == [
        ("customer", str(n + 1), n + 1) for n in range(5)
    ]
    assert [r.detail for r in batch] == [f'{{"n": {n}}}' for n in range(5)]
    assert len({r.created_at for r in batch}) == 1


def test_a_tampered_entry_of_a_batch_is_caught(db):
    _write(1)
    _write_many(4)
    _write(1)
    assert _verify().ok
    _sql("UPDATE audit_log SET detail = '{\"n\": 9}' WHERE seq = 4")
    result = _verify()
    assert not result.ok
    assert (result.bad_seq, result.problem) == (4, "audit.verify.altered_row")


def test_deleting_the_end_of_a_batch_is_caught_by_the_checkpoint(db):
    _write(1)
    _write_many(4)
    _sql("DELETE FROM audit_log WHERE seq = 5")
    result = _verify()
    assert not result.ok
    assert (result.bad_seq, result.problem) == (5, "audit.verify.truncated")


def _slots() -> list[int]:
    """The seq in each of the checkpoint file's two slots."""
    from custapp.settings import get_settings

    data = get_settings().audit_checkpoint.read_bytes()
    return sorted(
        json.loads(data[i * 512 : (i + 1) * 512].replace(b"\0", b"").strip())["seq"]
        for i in range(2)
    )


def test_after_a_batch_the_checkpoint_holds_its_last_two_entries(db):
    """A torn write of the newest slot then loses one entry of the batch, not all of it."""
    _write(1)
    _write_many(6)
    last = _verify().checked
    assert _slots() == [last - 1, last]


def test_a_rolled_back_entry_never_reaches_the_checkpoint(db):
    _write(2)
    before = _slots()
    with pytest.raises(RuntimeError), session_scope() as session:
        audit.record(session, actor=system_actor("test"), action="test.undone")
        raise RuntimeError("the work failed")
    _write(1)
    assert _slots() == [before[1], before[1] + 1]
    assert _verify().ok


# --- a rewritten tail: delete the newest rows, rewind the head, write past the checkpoint ---


def _rewrite_tail(first_deleted: int) -> None:
    """What someone with write access to the database alone can do: delete the rows from
    `first_deleted` on and rewind the head to the row before, so new entries chain on."""
    with session_scope() as session:
        mac = session.exec(
            select(AuditEntry.mac).where(AuditEntry.seq == first_deleted - 1)
        ).scalar_one()
    _sql(f"DELETE FROM audit_log WHERE seq >= {first_deleted}")
    _sql(f"UPDATE audit_head SET seq = {first_deleted - 1}, mac = '{mac}' WHERE id = 1")


@pytest.mark.parametrize("k", [1, 3])
def test_a_rewritten_tail_that_overtakes_the_checkpoint_is_caught(log, k):
    _rewrite_tail(log - k + 1)
    _write(k + 1, name="after")
    result = _verify()
    assert not result.ok
    assert (result.bad_seq, result.problem) == (log, "audit.verify.rewritten")
    assert audit.read_checkpoint()["seq"] == log  # the checkpoint never left the old chain


def test_a_rewritten_tail_written_in_one_transaction_is_caught(log):
    _rewrite_tail(log - 1)
    _write_many(4)
    result = _verify()
    assert (result.ok, result.bad_seq, result.problem) == (False, log, "audit.verify.rewritten")


def test_failed_logins_after_a_rewound_head_do_not_make_verify_green(log, capsys):
    _rewrite_tail(log - 2)
    for _ in range(4):
        with session_scope() as session:
            auth.login_staff(session, username="nobody", password="Wrong-1234", ip="10.0.0.9")
    assert cli.main(["audit", "verify"]) != 0
    assert str(log) in capsys.readouterr().err


def test_the_checkpoint_follows_the_chain_when_commits_finish_out_of_order(log):
    """A later transaction's checkpoint write may run before an earlier one's: the later one
    still descends from the stored checkpoint, through rows it did not write itself."""
    with session_scope() as session:
        audit.record(session, actor=system_actor("test"), action="test.first")
        pending = list(session.info[audit._PENDING])
        session.info[audit._PENDING] = []  # hold this transaction's checkpoint write back
    _write(2)
    for seq, mac in pending:
        audit.write_checkpoint(seq, mac)
    assert audit.read_checkpoint()["seq"] == log + 3
    assert _verify().ok


def test_writing_after_a_clean_commit_reads_no_audit_row(log):
    """The hot path: the transaction's base is the checkpoint, so descent costs no query."""
    from sqlalchemy import event

    from custapp.db import get_engine

    statements: list[str] = []

    def seen(_conn, _cursor, statement, *_args) -> None:  # noqa: ANN001
        statements.append(statement)

    event.listen(get_engine(), "before_cursor_execute", seen)
    try:
        _write(1)
    finally:
        event.remove(get_engine(), "before_cursor_execute", seen)
    assert not [s for s in statements if "FROM audit_log" in s]


def _staff(username: str, roles: list[str]) -> int:
    with session_scope() as session:
        return bootstrap.create_staff_user(
            session, actor=system_actor("test"), username=username, display_name=username,
            roles=roles, password=PASSWORD,
        )  # fmt: skip


def _alerted() -> list[int]:
    from custapp.models import OutboxMessage

    with session_scope() as session:
        return sorted(
            session.exec(
                select(OutboxMessage.user_id).where(OutboxMessage.purpose == "staff_alert")
            ).scalars()
        )


def test_a_failed_verify_alerts_compliance_and_the_auditors(db):
    ids = [_staff("comp.one", ["compliance"]), _staff("audit.one", ["auditor"])]
    _staff("desk.one", ["front_desk"])
    _write(4)
    before = _alerted()
    assert cli.main(["audit", "verify"]) == 0 and _alerted() == before
    total = _verify().checked
    _rewrite_tail(total - 1)
    _write(3)
    assert cli.main(["audit", "verify"]) != 0
    assert _alerted() == sorted(before + ids)


def test_the_auditors_verify_button_alerts_too(db):
    auditor = Actor(
        user_id=_staff("audit.one", ["auditor"]), name="audit.one", roles=frozenset({"auditor"})
    )
    comp_id = _staff("comp.one", ["compliance"])
    _write(3)
    before = _alerted()
    _sql("UPDATE audit_log SET reason = 'x' WHERE seq = 2")
    with session_scope() as session:
        result = audit_check.check_chain(session, actor=auditor)
    assert (result.ok, result.bad_seq) == (False, 2)
    assert _alerted() == sorted([*before, auditor.user_id, comp_id])
