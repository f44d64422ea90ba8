"""销毁的安全 (issue 16, DS review): the order of a destruction (register line before the commit,
keys shredded only after it, a reconciler for a crash in between), an approval that no longer
holds by the time the run comes, a legal hold on a merged-away record, a torn register line,
and PostgreSQL's dead tuples vacuumed after a run. Both backends."""

from __future__ import annotations

import logging

import pytest
from sqlalchemy import delete, event, select

from custapp import clock
from custapp import db as custapp_db
from custapp.db import session_scope
from custapp.models import AuditEntry, Customer, DataKey, DestructionCandidate, User, UserRole
from custapp.security import keystore
from custapp.services import destruction, destruction_register, merge
from custapp.services.destruction_apply import DESTROYED_NAME
from tests.unit.test_destruction import (
    T0,
    _appraise,
    _approve,
    _call,
    _customer,
    _propose,
    _staff,
)


@pytest.fixture
def w(db) -> dict:  # noqa: ANN001
    """The people of test_destruction.py, and Y, a customer nobody destroys."""
    clock.set_now(T0)
    world = {
        "desk": _staff("desk.one", "front_desk"),
        "boss": _staff("boss.one", "cs_manager"),
        "comp_a": _staff("comp.a", "compliance"),
        "comp_b": _staff("comp.b", "compliance"),
    }
    world["y"] = _customer(world["desk"], "路人乙", "13800001111")
    return world


def _appraised(w: dict, name: str, phone: str) -> tuple[int, int]:  # noqa: ANN001
    cid = _customer(w["desk"], name, phone)
    candidate_id = _propose(w["comp_a"], cid)
    assert _appraise(w["comp_a"], candidate_id).status == "appraised"
    return cid, candidate_id


def _state(cid: int, candidate_id: int) -> tuple:
    with session_scope(write=False) as session:
        customer = session.get(Customer, cid)
        candidate = session.get(DestructionCandidate, candidate_id)
        key = session.get(DataKey, customer.data_key_id)
        return (
            customer.name,
            customer.destroyed_at is not None,
            key.destroyed_at is not None,
            bool(keystore.get_many([key.id])),
            candidate.status,
        )


# --- 1. the register line before the commit, the keys after it -------------------------------------


def test_a_register_that_cannot_be_written_changes_nothing(w, monkeypatch):  # noqa: ANN001
    cid, candidate_id = _appraised(w, "登记失败", "13700000201")
    many = _call(destruction.approve_many, w["comp_b"], candidate_ids=[candidate_id])
    assert many.approved

    def broken(entries):  # noqa: ANN001, ANN202
        raise OSError("disk full")

    monkeypatch.setattr(destruction_register, "append_many", broken)
    with pytest.raises(OSError):
        destruction.run_approved(session_scope)
    # nothing happened: the customer is whole, the key is there, the candidate still approved
    assert _state(cid, candidate_id) == ("登记失败", False, False, True, "approved")
    # an approval that executes at once rolls back the same way, approval and all
    other, other_candidate = _appraised(w, "登记失败乙", "13700000202")
    with pytest.raises(OSError):
        _approve(w["comp_b"], other_candidate)
    assert _state(other, other_candidate) == ("登记失败乙", False, False, True, "appraised")
    assert destruction_register.read() == []
    monkeypatch.undo()
    assert destruction.run_approved(session_scope)["done"] == 1
    assert _state(cid, candidate_id) == (DESTROYED_NAME, True, True, False, "done")


def test_keys_left_by_a_shred_that_failed_after_the_commit_are_shredded_later(
    w, monkeypatch, caplog
):  # noqa: ANN001
    cid, candidate_id = _appraised(w, "粉碎失败", "13700000203")

    def broken(ids):  # noqa: ANN001, ANN202
        raise OSError("key store unreachable")

    monkeypatch.setattr(keystore, "destroy", broken)
    with caplog.at_level(logging.ERROR):
        assert _approve(w["comp_b"], candidate_id).status == "done"
    assert "粉碎失败" not in caplog.text
    # committed: the customer is wiped and the register has it; only the key is still there
    assert _state(cid, candidate_id) == (DESTROYED_NAME, True, True, True, "done")
    assert [e["customer_id"] for e in destruction_register.read()] == [cid]
    monkeypatch.undo()
    with session_scope(write=False) as session:
        live_key = session.get(Customer, w["y"]).data_key_id
    assert destruction.shred_leftovers(session_scope) == 1
    assert _state(cid, candidate_id) == (DESTROYED_NAME, True, True, False, "done")
    assert keystore.get_many([live_key])  # a key still in use is never touched
    assert destruction.shred_leftovers(session_scope) == 0
    # the daily step runs the reconciler
    summary = destruction.run_daily(session_scope)
    assert summary["shredded"] == 0 and summary["done"] == 0


def test_the_reconciler_pages_through_many_destroyed_keys(w, monkeypatch):  # noqa: ANN001
    ids = [_appraised(w, f"多键{i}", f"1370000030{i}") for i in range(5)]
    monkeypatch.setattr(keystore, "destroy", lambda ids: 0)  # every shred "lost"
    for _, candidate_id in ids:
        _approve(w["comp_b"], candidate_id)
    monkeypatch.undo()
    assert destruction.shred_leftovers(session_scope, batch=2) == 5
    assert all(_state(cid, c)[3] is False for cid, c in ids)


# --- 2. an approval that no longer holds ------------------------------------------------------------


def test_a_run_sends_back_candidates_whose_approver_may_no_longer_approve(w):  # noqa: ANN001
    disabled = _appraised(w, "停用审批", "13700000211")
    demoted = _appraised(w, "撤权审批", "13700000212")
    forged = _appraised(w, "自批", "13700000213")
    valid = _appraised(w, "有效审批", "13700000214")
    boss2 = _staff("boss.two", "cs_manager")
    _call(destruction.approve_many, w["comp_b"], candidate_ids=[disabled[1]])
    _call(destruction.approve_many, boss2, candidate_ids=[demoted[1]])
    _call(destruction.approve_many, w["boss"], candidate_ids=[forged[1], valid[1]])
    with session_scope() as session:
        session.get(User, w["comp_b"].user_id).is_active = False
        session.exec(delete(UserRole).where(UserRole.user_id == boss2.user_id))
        # the appraiser as the approver (written past the service): never valid
        session.get(DestructionCandidate, forged[1]).approved_by = w["comp_a"].user_id
    summary = destruction.run_approved(session_scope)
    assert summary == {"done": 1, "waiting": 0, "blocked": 3}
    assert _state(*valid)[4] == "done"
    with session_scope(write=False) as session:
        for cid, candidate_id in (disabled, demoted, forged):
            row = session.get(DestructionCandidate, candidate_id)
            assert (row.status, row.approved_by, row.approved_at) == ("appraised", None, None)
            assert row.blocked_reason == "destruction.blocked.approver"
            assert session.get(Customer, cid).destroyed_at is None
        voided = session.exec(
            select(AuditEntry.target_id).where(AuditEntry.action == "destruction.approval_void")
        ).scalars()
        numbers = session.exec(
            select(DestructionCandidate.number).where(
                DestructionCandidate.id.in_([disabled[1], demoted[1], forged[1]])
            )
        ).scalars()
        assert set(voided) == set(numbers)
    # a new approval by someone who may: it goes through
    assert _approve(w["boss"], disabled[1]).status == "done"


# --- 3. a legal hold on a merged-away record ---------------------------------------------------------


def test_a_legal_hold_on_a_merged_away_record_blocks_the_survivor(w):  # noqa: ANN001
    survivor = _customer(w["desk"], "存续", "13700000221")
    merged = _customer(w["desk"], "被合并", "13700000222")
    _call(
        merge.merge_customers, w["boss"], survivor_id=survivor, merged_id=merged, reason="重复建档"
    )
    with session_scope(write=False) as session:
        merged_number = session.get(Customer, merged).number
    hold = _call(
        destruction.set_hold,
        w["comp_a"],
        customer_number=merged_number,
        reason="（2026）沪01民初2号",
    )
    candidate_id = _propose(w["comp_a"], survivor)
    outcome = _appraise(w["comp_a"], candidate_id)
    assert (outcome.status, outcome.blockers) == ("queued", ["destruction.blocked.legal_hold"])
    _call(destruction.release_hold, w["comp_a"], hold_id=hold, reason="案件已结")
    assert _appraise(w["comp_a"], candidate_id).status == "appraised"
    # a hold set after the appraisal stops the approval
    _call(destruction.set_hold, w["comp_a"], customer_number=merged_number, reason="新案件")
    outcome = _approve(w["comp_b"], candidate_id)
    assert (outcome.status, outcome.blockers) == ("appraised", ["destruction.blocked.legal_hold"])
    with session_scope(write=False) as session:
        assert session.get(Customer, survivor).destroyed_at is None
        assert session.get(Customer, merged).name == "被合并"


# --- 5. a torn last line -----------------------------------------------------------------------------


def test_a_torn_last_register_line_is_cut_before_the_next_append(w, caplog):  # noqa: ANN001
    for i in range(2):
        destruction_register.append({"candidate": f"XH202604100{i:03d}", "customer_id": i + 1})
    path = destruction_register.path()
    whole = path.read_bytes()
    with open(path, "ab") as handle:  # a crash in the middle of the third line
        handle.write(b'{"candidate":"XH2026041000')
    with caplog.at_level(logging.WARNING):
        destruction_register.append({"candidate": "XH202604100002", "customer_id": 3})
    entries = destruction_register.read()
    assert [e["customer_id"] for e in entries] == [1, 2, 3]
    assert path.read_bytes().startswith(whole)
    assert "torn" in caplog.text and "XH2026041000" not in caplog.text


# --- 6. PostgreSQL: no wiped value left in dead tuples ------------------------------------------------


def test_a_run_vacuums_the_wiped_tables_on_postgresql(w, db):  # noqa: ANN001
    cid, candidate_id = _appraised(w, "清理", "13700000231")
    _call(destruction.approve_many, w["comp_b"], candidate_ids=[candidate_id])
    statements: list[str] = []
    engine = custapp_db.get_engine()

    def seen(conn, cursor, statement, *args):  # noqa: ANN001, ANN002, ANN202
        statements.append(statement)

    event.listen(engine, "before_cursor_execute", seen)
    try:
        assert destruction.run_approved(session_scope)["done"] == 1
        vacuums = [s for s in statements if s.startswith("VACUUM")]
        if db == "postgresql":
            assert len(vacuums) == 1 and '"customers"' in vacuums[0]
            assert '"login_sessions"' in vacuums[0] and "FULL" not in vacuums[0]
        else:  # SQLite: secure_delete zeroed the pages, the log is checkpointed instead
            assert vacuums == []
        statements.clear()
        # nothing destroyed in this run: no vacuum
        assert destruction.run_approved(session_scope)["done"] == 0
        assert not [s for s in statements if s.startswith("VACUUM")]
        # the daily step vacuums after the day's single approvals too
        summary = destruction.run_daily(session_scope)
        assert summary["vacuumed"] is (db == "postgresql")
    finally:
        event.remove(engine, "before_cursor_execute", seen)
