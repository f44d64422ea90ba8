"""The audit chain across a restore and across sealed segments (issue 16, part AU).

A restore brings back an older log than the checkpoint outside the database remembers: verify
fails until a sysadmin and a compliance officer approve the re-anchoring, then passes, and still
fails on any tampering. Sealing removes entries past their period (never younger than 180 days)
behind a signed anchor that verification starts from; an altered or deleted anchor fails.
"""

from __future__ import annotations

import json
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select, text

from custapp import clock
from custapp.db import session_scope
from custapp.models import AuditAnchor, AuditEntry
from custapp.services import audit, audit_anchors, bootstrap
from custapp.services.actor import Actor, system_actor
from custapp.services.audit_anchors import AnchorRefused

PASSWORD = "Correct-horse-42"
TODAY = datetime(2027, 6, 1, 9, 0, tzinfo=UTC)


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


def _staff(username: str, roles: list[str], *, active: bool = True) -> int:
    with session_scope() as session:
        user_id = bootstrap.create_staff_user(
            session, actor=system_actor("test"), username=username, display_name=username,
            roles=roles, password=PASSWORD,
        )  # fmt: skip
    if not active:
        _sql(f"UPDATE users SET is_active = false WHERE id = {user_id}")
    return user_id


def _seqs() -> list[int]:
    with session_scope(write=False) as session:
        return list(session.exec(select(AuditEntry.seq).order_by(AuditEntry.seq)).scalars())


def _anchors() -> list[AuditAnchor]:
    with session_scope() as session:  # a read-only scope's rollback would expire the rows
        return list(session.exec(select(AuditAnchor).order_by(AuditAnchor.id)).scalars())


# --- restore -------------------------------------------------------------------------------


@pytest.fixture
def approvers(db) -> dict[str, int]:
    return {
        "admin": _staff("root.admin", ["sysadmin"]),
        "admin2": _staff("second.admin", ["sysadmin"]),
        "comp": _staff("comp.one", ["compliance"]),
        "desk": _staff("desk.one", ["front_desk"]),
        "gone": _staff("comp.gone", ["compliance"], active=False),
    }


def _restore_older_backup(keep: int) -> str:
    """What restoring a backup taken at entry `keep` leaves: the log up to it, the head there.
    The checkpoint outside the database still names the newer, lost head. -> the backup's head
    MAC (as its manifest holds it)."""
    with session_scope() as session:
        mac = session.exec(select(AuditEntry.mac).where(AuditEntry.seq == keep)).scalar_one()
    _sql(f"DELETE FROM audit_log WHERE seq > {keep}")
    _sql(f"UPDATE audit_head SET seq = {keep}, mac = '{mac}' WHERE id = 1")
    return mac


def _reanchor(head: int, mac: str, ids: list[int], *, lost_to: int | None = None):  # noqa: ANN202
    with session_scope() as session:
        return audit_anchors.reanchor_after_restore(
            session, backup_head_seq=head, backup_head_mac=mac, lost_to=lost_to,
            approver_ids=ids,
        )  # fmt: skip


@pytest.fixture
def restored(approvers) -> dict:
    """Entries 1..N written, then an older backup (head H = N - 3) restored."""
    _write(6)
    lost = _verify().checked
    head = lost - 3
    mac = _restore_older_backup(head)
    return {"head": head, "mac": mac, "lost": lost, **approvers}


def test_a_restored_older_log_fails_verify_until_reanchored(restored):
    head, lost = restored["head"], restored["lost"]
    assert (_verify().ok, _verify().problem) == (False, "audit.verify.truncated")
    entry = _reanchor(head, restored["mac"], [restored["admin"], restored["comp"]], lost_to=lost)
    assert entry.seq == head + 1 and entry.action == "audit.reanchor"
    result = _verify()
    assert result.ok and result.checked == head + 1
    assert (audit.read_checkpoint()["seq"], audit.read_checkpoint()["mac"]) == (
        entry.seq,
        entry.mac,
    )
    (anchor,) = _anchors()
    assert (anchor.kind, anchor.seq, anchor.mac) == ("restore", head, restored["mac"])
    assert (anchor.lost_from, anchor.lost_to) == (head + 1, lost)
    assert json.loads(anchor.approved_by) == sorted([restored["admin"], restored["comp"]])
    assert entry.target_type == "audit_anchor" and entry.target_id == str(anchor.id)
    assert json.loads(entry.detail) == {
        "backup_head_seq": head,
        "lost_from": head + 1,
        "lost_to": lost,
        "approved_by": sorted([restored["admin"], restored["comp"]]),
    }
    _write(3)  # the chain and the checkpoint go on from the re-anchoring
    assert _verify().ok and audit.read_checkpoint()["seq"] == entry.seq + 3


def test_entries_written_between_the_restore_and_the_reanchoring_stay_on_the_chain(restored):
    """The restore may write (reapplied destructions) before it re-anchors: the anchor still
    names the backup's head and the re-anchoring entry chains after them."""
    head = restored["head"]
    _write(2, name="reapply")
    entry = _reanchor(head, restored["mac"], [restored["comp"], restored["admin"]])
    assert entry.seq == head + 3
    assert _verify().ok
    assert (_anchors()[0].lost_from, _anchors()[0].lost_to) == (None, None)


@pytest.mark.parametrize(
    "tamper, problem, at",
    [
        ("UPDATE audit_log SET reason = 'x' WHERE seq = 2", "audit.verify.altered_row", 2),
        ("DELETE FROM audit_log WHERE seq = 3", "audit.verify.missing_row", 3),
        ("DELETE FROM audit_log WHERE seq > {top}", "audit.verify.truncated", "top"),
    ],
)
def test_tampering_after_a_reanchoring_still_fails(restored, tamper, problem, at):
    entry = _reanchor(restored["head"], restored["mac"], [restored["admin"], restored["comp"]])
    _write(2)
    top = entry.seq
    _sql(tamper.format(top=top))
    result = _verify()
    assert (result.ok, result.problem) == (False, problem)
    assert result.bad_seq == (top + 1 if at == "top" else at)


@pytest.mark.parametrize(
    "who",
    [
        ["admin", "admin2"],  # two sysadmins
        ["comp", "comp"],  # one person twice
        ["admin"],  # one person alone
        ["admin", "desk"],  # no compliance officer
        ["admin", "gone"],  # a compliance officer no longer active
        ["admin", "comp", "desk"],  # not exactly two
    ],
)
def test_a_reanchoring_without_a_sysadmin_and_a_compliance_officer_is_refused(restored, who):
    before = audit.read_checkpoint()
    with pytest.raises(AnchorRefused) as refused:
        _reanchor(restored["head"], restored["mac"], [restored[w] for w in who])
    assert refused.value.key == "audit.reanchor.approvers"
    assert _anchors() == [] and audit.read_checkpoint() == before
    assert _verify().problem == "audit.verify.truncated"


def test_a_reanchoring_that_does_not_match_the_backup_head_is_refused(restored):
    ids = [restored["admin"], restored["comp"]]
    with pytest.raises(AnchorRefused) as refused:
        _reanchor(restored["head"], "f" * 64, ids)
    assert refused.value.key == "audit.reanchor.head_mismatch"
    with pytest.raises(AnchorRefused):  # a head beyond what the database holds
        _reanchor(restored["head"] + 1, restored["mac"], ids)
    assert _anchors() == []


def test_a_reanchoring_over_a_tampered_log_is_refused(restored):
    _sql("UPDATE audit_log SET reason = 'x' WHERE seq = 2")
    with pytest.raises(AnchorRefused) as refused:
        _reanchor(restored["head"], restored["mac"], [restored["admin"], restored["comp"]])
    assert (refused.value.key, refused.value.params) == ("audit.verify.altered_row", {"seq": 2})
    assert _anchors() == []


@pytest.mark.parametrize(
    "tamper, problem",
    [
        ("UPDATE audit_anchors SET lost_to = 1", "audit.verify.bad_anchor"),
        ("DELETE FROM audit_anchors", "audit.verify.missing_anchor"),
    ],
)
def test_an_altered_or_deleted_restore_anchor_fails(restored, tamper, problem):
    _reanchor(restored["head"], restored["mac"], [restored["admin"], restored["comp"]], lost_to=9)
    assert _verify().ok
    _sql(tamper)
    assert (_verify().ok, _verify().problem) == (False, problem)


# --- sealed segments -----------------------------------------------------------------------


@pytest.fixture
def aged(db) -> dict[str, int]:
    """Entries written 400, 200 and 100 days ago, then today: how many of each, in that order."""
    counts = {400: 4, 200: 3, 100: 2, 0: 2}
    for days, count in counts.items():
        clock.set_now(TODAY - timedelta(days=days))
        _write(count, name=f"aged{days}")
    clock.set_now(TODAY)
    return counts


def test_sealing_removes_the_old_entries_and_verify_starts_at_the_anchor(aged):
    deleted = audit_anchors.seal_before(session_scope, TODAY - timedelta(days=300))
    assert deleted == 4
    (anchor,) = _anchors()
    assert (anchor.kind, anchor.seq, anchor.lost_from, anchor.lost_to) == ("seal", 4, 1, 4)
    assert _seqs() == list(range(5, 13))  # 11 entries left and the seal's own, seq 12
    result = _verify()
    assert result.ok and result.checked == 8
    with session_scope() as session:
        seal = session.exec(select(AuditEntry).where(AuditEntry.seq == 12)).scalar_one()
    assert (seal.action, seal.target_id) == ("audit.seal", str(anchor.id))
    assert json.loads(seal.detail) == {"from": 1, "to": 4, "before": "2026-08-05"}
    _write(2)  # the chain and its checkpoint carry on after a seal
    assert _verify().ok and audit.read_checkpoint()["seq"] == 14


def test_sealing_is_safe_daily_and_seals_on_from_the_newest_anchor(aged):
    assert audit_anchors.seal_before(session_scope, TODAY - timedelta(days=300)) == 4
    assert audit_anchors.seal_before(session_scope, TODAY - timedelta(days=300)) == 0
    assert len(_anchors()) == 1 and _seqs()[-1] == 12  # no new anchor, no new entry
    assert audit_anchors.seal_before(session_scope, TODAY - timedelta(days=190), batch=2) == 3
    assert [(a.seq, a.lost_from) for a in _anchors()] == [(4, 1), (7, 5)]
    assert _seqs()[0] == 8 and _verify().ok


def test_no_entry_younger_than_180_days_is_ever_sealed(aged):
    """A cutoff of today (a period of zero) still keeps six months of log."""
    deleted = audit_anchors.seal_before(session_scope, TODAY, batch=3)
    assert deleted == 7  # the 400- and 200-day-old entries, in three batches
    assert _anchors()[0].seq == 7
    with session_scope(write=False) as session:
        oldest = session.exec(select(func.min(AuditEntry.created_at))).scalar_one()
    assert oldest == TODAY - timedelta(days=100)
    assert _verify().ok


def test_an_interrupted_seal_is_finished_by_the_next_run(aged):
    """The anchor and the first batch commit together; a worker dying after leaves the rest
    to the next run, and verify passes in between."""
    writes = {"n": 0}

    @contextmanager
    def dies_after_first_write(*, write: bool = True):  # noqa: ANN202
        if write:
            writes["n"] += 1
            if writes["n"] > 1:
                raise RuntimeError("the worker died")
        with session_scope(write=write) as session:
            yield session

    cutoff = TODAY - timedelta(days=190)
    with pytest.raises(RuntimeError):
        audit_anchors.seal_before(dies_after_first_write, cutoff, batch=2)
    assert _seqs()[:2] == [3, 4] and _verify().ok  # leftovers below the anchor are ignored
    assert audit_anchors.seal_before(session_scope, cutoff) == 5
    assert len(_anchors()) == 1 and _seqs()[0] == 8 and _verify().ok


@pytest.mark.parametrize(
    "tamper",
    [
        "UPDATE audit_anchors SET seq = 3",
        "UPDATE audit_anchors SET mac = '{mac}'",
        "UPDATE audit_anchors SET created_at = created_at - INTERVAL '1 day'",
    ],
)
def test_an_altered_seal_anchor_fails(aged, tamper, db):
    audit_anchors.seal_before(session_scope, TODAY - timedelta(days=300))
    if "INTERVAL" in tamper and db == "sqlite":
        tamper = "UPDATE audit_anchors SET created_at = '2020-01-01 00:00:00.000000'"
    _sql(tamper.format(mac="a" * 64))
    result = _verify()
    assert (result.ok, result.problem) == (False, "audit.verify.bad_anchor")


def test_a_deleted_seal_anchor_fails(aged):
    audit_anchors.seal_before(session_scope, TODAY - timedelta(days=300))
    _sql("DELETE FROM audit_anchors")
    result = _verify()
    assert (result.ok, result.problem, result.bad_seq) == (False, "audit.verify.missing_anchor", 12)


def test_a_deleted_newer_seal_anchor_fails(aged):
    """Two seals; the newer anchor deleted: the chain after the older one does not fit."""
    audit_anchors.seal_before(session_scope, TODAY - timedelta(days=300))
    audit_anchors.seal_before(session_scope, TODAY - timedelta(days=190))
    newest = max(a.id for a in _anchors())
    _sql(f"DELETE FROM audit_anchors WHERE id = {newest}")
    result = _verify()
    assert (result.ok, result.problem, result.bad_seq) == (False, "audit.verify.missing_anchor", 13)


def test_rows_cut_without_any_anchor_fail(aged):
    _sql("DELETE FROM audit_log WHERE seq <= 3")
    result = _verify()
    assert (result.ok, result.problem, result.bad_seq) == (False, "audit.verify.unsealed_cut", 1)


def test_rows_cut_just_after_a_seal_fail(aged):
    audit_anchors.seal_before(session_scope, TODAY - timedelta(days=300))
    _sql("DELETE FROM audit_log WHERE seq <= 6")
    result = _verify()
    assert (result.ok, result.problem, result.bad_seq) == (False, "audit.verify.unsealed_cut", 5)


def test_a_forged_seal_anchor_does_not_hide_deleted_rows(aged):
    with session_scope() as session:
        mac = session.exec(select(AuditEntry.mac).where(AuditEntry.seq == 3)).scalar_one()
        session.add(
            AuditAnchor(
                kind="seal", seq=3, mac=mac, lost_from=1, lost_to=3, created_at=TODAY,
                signature="0" * 64,
            )
        )  # fmt: skip
    _sql("DELETE FROM audit_log WHERE seq <= 3")
    result = _verify()
    assert (result.ok, result.problem, result.bad_seq) == (False, "audit.verify.bad_anchor", 3)


def test_a_tampered_segment_is_never_sealed_away(aged):
    _sql("UPDATE audit_log SET reason = 'x' WHERE seq = 2")
    with pytest.raises(AnchorRefused) as refused:
        audit_anchors.seal_before(session_scope, TODAY - timedelta(days=300))
    assert (refused.value.key, refused.value.params) == ("audit.verify.altered_row", {"seq": 2})
    assert _anchors() == [] and _seqs()[0] == 1


def test_sealing_then_restoring_an_older_backup_reanchors_after_the_seal(aged):
    admin, comp = _staff("root.admin", ["sysadmin"]), _staff("comp.one", ["compliance"])
    audit_anchors.seal_before(session_scope, TODAY - timedelta(days=300))
    _write(3)
    head = _seqs()[-1] - 3
    mac = _restore_older_backup(head)
    assert not _verify().ok
    _reanchor(head, mac, [admin, comp], lost_to=head + 3)
    assert _verify().ok
