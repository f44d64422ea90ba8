"""Issue 15, acceptance 2: reads run in read-only transactions.

A page load that only reads (审批 inbox) completes on SQLite while another connection holds the
write lock; a read-only transaction refuses a write on both backends; and a service declared
`reads=True` that writes is caught in any transaction, the tests' write ones included.
"""

from __future__ import annotations

import sqlite3
import threading

import pytest
from helpers import _staff, _staff_token, _tree
from sqlalchemy import text

from custapp.db import get_engine, session_scope
from custapp.models import AuditEntry
from custapp.pages.approvals import ApprovalsState
from custapp.services import audit
from custapp.services.actor import system_actor
from custapp.services.guard import OPERATIONS, WroteInARead, requires


@pytest.fixture
def manager(db) -> str:  # noqa: ANN001
    _staff("reader.mgr", "cs_manager")
    return _staff_token("reader.mgr")


def test_a_read_page_load_completes_while_a_writer_holds_sqlites_lock(manager, db):
    if db != "sqlite":
        pytest.skip("SQLite's one write lock; PostgreSQL readers never wait for writers")
    _, inbox = _tree(manager, ApprovalsState, "/approvals")
    assert inbox.load() is None  # the login's idle clock touched now: the next load reads only
    locked, release = threading.Event(), threading.Event()

    def writer() -> None:
        raw = sqlite3.connect(get_engine().url.database, isolation_level=None)
        try:
            raw.execute("BEGIN IMMEDIATE")
            locked.set()
            release.wait(timeout=30)
            raw.execute("ROLLBACK")
        finally:
            raw.close()

    holder = threading.Thread(target=writer)
    holder.start()
    assert locked.wait(10)
    finished = threading.Event()
    outcome: list[object] = []

    def load() -> None:
        outcome.append(inbox.load())
        finished.set()

    reader = threading.Thread(target=load)
    reader.start()
    try:
        # a load that wanted the write lock would wait here for the writer (busy_timeout 10 s)
        assert finished.wait(8), "the read-only load waited for the writer's lock"
    finally:
        release.set()
        holder.join(10)
        reader.join(20)
    assert outcome == [None] and inbox.loaded


def test_a_read_only_transaction_refuses_a_write(db):
    with (
        pytest.raises(Exception) as refused,  # noqa: B017 (each backend its own error class)
        session_scope(write=False) as session,
    ):
        session.execute(text("UPDATE stores SET name = name"))
    assert "read" in str(refused.value).lower()  # readonly database / read-only transaction
    with session_scope(write=False) as session:
        assert session.execute(text("SELECT count(*) FROM stores")).scalar_one() >= 0


def test_a_read_declared_service_that_writes_is_caught_in_a_write_transaction_too(db):
    @requires("customer.read", reads=True)
    def sneaky_read(session, *, actor):  # noqa: ANN001, ANN202
        audit.record(session, actor=actor, action="test.sneaky")

    OPERATIONS.pop("test_reads_take_no_lock.sneaky_read", None)  # not a real operation
    with pytest.raises(WroteInARead), session_scope() as session:
        sneaky_read(session, actor=system_actor("test"))
    with session_scope(write=False) as session:
        actions = session.execute(text("SELECT action FROM audit_log")).scalars().all()
    assert "test.sneaky" not in actions
    assert AuditEntry.__tablename__ == "audit_log"
