"""备份 from the page and the schedule (issue 16, BP), on both backends: only sysadmin queues or
reads backups; a queued backup job run by the job runner writes a backup and records it with its
manifest's summary; a verification passes on a good file and names the problem of a damaged one;
a verification names its file inside the backup folder only; the daily step makes one backup per
local day; rotation keeps the grandfather-father-son set and nothing else."""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select, text

from custapp import clock, job_runner, jobs
from custapp.db import session_scope
from custapp.models import AuditEntry, BackupRun, Job, User
from custapp.security import keystore
from custapp.services import backup_files, backup_jobs, backup_runs, bootstrap, job_queue
from custapp.services.actor import Actor, system_actor
from custapp.services.errors import DomainError, PermissionDenied
from custapp.settings import SettingsError, get_settings
from custapp.vocab import JobKind, JobStatus

PASSWORD = "Correct-horse-42"
OTHER_ROLES = ["front_desk", "cs_manager", "compliance", "auditor", "member"]


def _staff(role: str) -> Actor:
    with session_scope() as session:
        user_id = bootstrap.create_staff_user(
            session, actor=system_actor("test"), username=f"the.{role}", display_name=role,
            roles=[role], password=PASSWORD,
        )  # fmt: skip
    return Actor(user_id=user_id, name=f"the.{role}", roles=frozenset({role}))


def _actor(role: str) -> Actor:
    if role == "member":
        return Actor(user_id=None, name="member#1", kind="member", roles=frozenset({"member"}))
    return _staff(role)


def _call(fn, actor: Actor, **kwargs):  # noqa: ANN001, ANN202
    with session_scope(write=not getattr(fn, "reads", False)) as session:
        return fn(session, actor=actor, **kwargs)


def _runs(kind: str | None = None) -> list[BackupRun]:
    with session_scope() as session:
        query = select(BackupRun).order_by(BackupRun.id)
        if kind:
            query = query.where(BackupRun.kind == kind)
        return list(session.exec(query).scalars())


def _jobs() -> list[Job]:
    with session_scope() as session:
        return list(session.exec(select(Job).order_by(Job.id)).scalars())


def _audit(action: str) -> list[AuditEntry]:
    with session_scope() as session:
        return list(
            session.exec(
                select(AuditEntry).where(AuditEntry.action == action).order_by(AuditEntry.seq)
            ).scalars()
        )


def _run_jobs() -> int:
    return job_runner.work(once=True)


def _folder() -> Path:
    return Path(get_settings().backup_dir).resolve()


def _backup(admin: Actor) -> BackupRun:
    """A backup through the page's path: queued, then run by the job runner."""
    _call(backup_runs.queue_backup, admin)
    assert _run_jobs() == 1
    return _runs("backup")[-1]


# --- permissions ----------------------------------------------------------------------------


@pytest.mark.parametrize("role", OTHER_ROLES)
def test_only_sysadmin_may_back_up_verify_or_read_backups(db, role):
    admin = _staff("sysadmin")
    _call(backup_runs.queue_backup, admin)  # a job of sysadmin's that others may not see
    _folder().mkdir(parents=True, exist_ok=True)
    (_folder() / "custapp-sqlite-20260101T000000Z.cab").write_bytes(b"x")
    actor = _actor(role)
    calls = [
        (backup_runs.queue_backup, {}),
        (backup_runs.queue_verify, {"file_name": "custapp-sqlite-20260101T000000Z.cab"}),
        (backup_runs.list_runs, {}),
        (backup_runs.last_verified, {}),
        (backup_runs.backup_status, {}),
        (backup_runs.current_job, {}),
    ]
    for fn, kwargs in calls:
        with pytest.raises(PermissionDenied):
            _call(fn, actor, **kwargs)
    assert len(_jobs()) == 1
    denied = [
        e.action for e in _audit_all() if e.outcome == "denied" and e.actor_name == actor.name
    ]
    assert denied == [f"backup_runs.{fn.__name__}" for fn, _ in calls]


def _audit_all() -> list[AuditEntry]:
    with session_scope() as session:
        return list(session.exec(select(AuditEntry).order_by(AuditEntry.seq)).scalars())


def test_a_job_queued_by_a_user_who_lost_the_role_does_not_run(db):
    admin = _staff("sysadmin")
    job_id = _call(backup_runs.queue_backup, admin)
    with session_scope() as session:
        session.get(User, admin.user_id).is_active = False
    _run_jobs()
    job = next(j for j in _jobs() if j.id == job_id)
    assert (job.status, job.error) == (JobStatus.FAILED, "error.permission_denied")
    assert _runs() == [] and backup_files.backup_files() == {}


# --- the backup job -------------------------------------------------------------------------


def test_a_queued_backup_runs_as_a_job_and_is_recorded_with_its_manifest(db):
    admin = _staff("sysadmin")
    job_id = _call(backup_runs.queue_backup, admin)
    with pytest.raises(DomainError) as refused:  # a second click while the first is queued
        _call(backup_runs.queue_backup, admin)
    assert refused.value.key == "backups.error.backup_running"
    running = _call(backup_runs.current_job, admin)
    assert (running.job.id, running.kind, running.file_name) == (job_id, JobKind.BACKUP_CREATE, "")

    assert _run_jobs() == 1
    job = next(j for j in _jobs() if j.id == job_id)
    assert job.status == JobStatus.DONE and job.progress_done == job.progress_total > 0
    (run,) = _runs()
    assert (run.kind, run.status, run.actor_id, run.job_id) == (
        "backup",
        "ok",
        admin.user_id,
        job_id,
    )
    assert json.loads(job.result)["file_name"] == run.file_name
    path = _folder() / run.file_name
    assert path.is_file() and run.size_bytes == path.stat().st_size
    assert run.file_name.startswith(f"custapp-{db}-") and run.file_name.endswith(".cab")
    summary = json.loads(run.manifest)
    with session_scope(write=False) as session:
        head = session.exec(text("SELECT version_num FROM alembic_version")).scalar_one()
    assert summary["revision"] == head
    assert summary["rows"] > 0 and summary["audit_seq"] >= 1
    assert run.backup_at is not None

    (entry,) = _audit("backup.create")
    assert (entry.outcome, entry.actor_id, entry.target_id) == ("ok", admin.user_id, str(run.id))
    assert json.loads(entry.detail)["file_name"] == run.file_name

    rows, total = _call(backup_runs.list_runs, admin)
    assert total == 1 and rows[0].file_name == run.file_name and rows[0].present
    assert rows[0].verify_status == "" and rows[0].by == "the.sysadmin"
    status = _call(backup_runs.backup_status, admin)
    assert (status.count, status.newest_file, status.newest_age_days) == (1, run.file_name, 0)
    assert status.folder == str(_folder()) and status.free_bytes > 0
    assert status.last_verified is None
    # another one may be queued once the first is done
    assert _call(backup_runs.queue_backup, admin) > job_id


def test_verify_passes_on_a_good_backup_and_names_the_problem_of_a_damaged_one(db):
    admin = _staff("sysadmin")
    run = _backup(admin)
    job_id = _call(backup_runs.queue_verify, admin, file_name=run.file_name)
    with pytest.raises(DomainError) as refused:
        _call(backup_runs.queue_verify, admin, file_name=run.file_name)
    assert refused.value.key == "backups.error.verify_running"
    current = _call(backup_runs.current_job, admin, job_id=job_id)
    assert (current.kind, current.file_name) == (JobKind.BACKUP_VERIFY, run.file_name)
    assert _run_jobs() == 1

    (check,) = _runs("verify")
    assert (check.status, check.problem, check.file_name) == ("ok", None, run.file_name)
    assert check.backup_at == run.backup_at
    job = next(j for j in _jobs() if j.id == job_id)
    assert job.status == JobStatus.DONE and json.loads(job.result)["ok"] is True
    last = _call(backup_runs.last_verified, admin)
    assert (last.file_name, last.age_days) == (run.file_name, 0)
    rows, _ = _call(backup_runs.list_runs, admin)
    assert rows[0].verify_status == "ok"

    # one byte changed in the middle of the file
    path = _folder() / run.file_name
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0x01
    path.write_bytes(bytes(data))
    _call(backup_runs.queue_verify, admin, file_name=run.file_name)
    assert _run_jobs() == 1
    damaged = _runs("verify")[-1]
    assert damaged.status == "failed" and damaged.problem
    result = json.loads(_jobs()[-1].result)
    assert result["ok"] is False and result["problem"] == damaged.problem
    entries = _audit("backup.verify")
    assert [e.outcome for e in entries] == ["ok", "failed"]
    assert json.loads(entries[-1].detail)["problem"] == damaged.problem
    rows, _ = _call(backup_runs.list_runs, admin)
    assert (rows[0].verify_status, rows[0].verify_problem) == ("failed", damaged.problem)
    # its newest verification failed: it no longer counts as the last verified backup
    assert _call(backup_runs.last_verified, admin) is None


def test_a_verification_names_a_file_in_the_backup_folder_only(db, tmp_path):
    admin = _staff("sysadmin")
    folder = _folder()
    folder.mkdir(parents=True, exist_ok=True)
    outside = tmp_path / "outside.cab"
    outside.write_bytes(b"not yours")
    (folder / "link.cab").symlink_to(outside)
    (folder / "notes.txt").write_text("x")
    refused = {
        "../custapp.db": "backups.error.bad_file_name",
        "../outside.cab": "backups.error.bad_file_name",
        str(outside): "backups.error.bad_file_name",
        "sub/x.cab": "backups.error.bad_file_name",
        ".hidden.cab": "backups.error.bad_file_name",
        "notes.txt": "backups.error.bad_file_name",
        "": "backups.error.bad_file_name",
        "link.cab": "backups.error.no_such_file",
        "custapp-sqlite-20200101T000000Z.cab": "backups.error.no_such_file",
    }
    for name, key in refused.items():
        with pytest.raises(DomainError) as caught:
            _call(backup_runs.queue_verify, admin, file_name=name)
        assert caught.value.key == key, name
    assert _jobs() == []
    # a job whose params were changed in the database is refused by the job itself
    with session_scope() as session:
        job_queue.enqueue(
            session,
            kind=JobKind.BACKUP_VERIFY,
            params={"file_name": "../custapp.db"},
            created_by=admin.user_id,
        )
    _run_jobs()
    job = _jobs()[-1]
    assert (job.status, job.error) == (JobStatus.FAILED, "backups.error.bad_file_name")
    assert _runs() == []


# --- the daily step -------------------------------------------------------------------------


def test_the_daily_step_backs_up_once_per_local_day(db):
    assert ("backup", backup_jobs.run_daily_backup) in jobs.STEPS
    # 23:30 in Shanghai (15:30 UTC): the local day ends at 16:00 UTC
    clock.set_now(datetime(2026, 3, 10, 15, 30, tzinfo=UTC))
    first = backup_jobs.run_daily_backup()
    assert first["backup"] == "ok" and first["verified"] == "ok"
    clock.set_now(datetime(2026, 3, 10, 15, 50, tzinfo=UTC))
    again = backup_jobs.run_daily_backup()
    assert again == {"backup": "done_today", "file_name": first["file_name"]}
    assert [r.kind for r in _runs()] == ["backup", "verify"]
    # the same UTC day, but the next local day
    clock.set_now(datetime(2026, 3, 10, 16, 5, tzinfo=UTC))
    second = backup_jobs.run_daily_backup()
    assert second["backup"] == "ok" and second["file_name"] != first["file_name"]
    assert [r.kind for r in _runs()] == ["backup", "verify", "backup", "verify"]
    assert all(r.actor_id is None and r.status == "ok" for r in _runs())
    assert [e.actor_name for e in _audit("backup.create")] == ["jobs", "jobs"]


def test_a_backup_made_on_the_page_today_counts_and_is_verified_by_the_daily_step(db):
    admin = _staff("sysadmin")
    run = _backup(admin)
    summary = backup_jobs.run_daily_backup()
    assert summary == {"backup": "done_today", "file_name": run.file_name, "verified": "ok"}
    assert [r.kind for r in _runs()] == ["backup", "verify"]
    assert backup_jobs.run_daily_backup() == {"backup": "done_today", "file_name": run.file_name}


# --- rotation -------------------------------------------------------------------------------

# Monday 15 June 2026, 10:00 in Shanghai
NOW = datetime(2026, 6, 15, 2, 0, tzinfo=UTC)


def _stamp_name(local: datetime) -> str:
    return f"custapp-sqlite-{local.astimezone(UTC).strftime('%Y%m%dT%H%M%SZ')}.cab"


def made_day(y: int, m: int, d: int) -> datetime:
    return datetime(y, m, d, 2, 0, tzinfo=clock.zone())


def _make(folder: Path, name: str, taken: datetime) -> None:
    path = folder / name
    path.write_bytes(b"backup")
    os.utime(path, (taken.timestamp(), taken.timestamp()))


def test_rotation_keeps_the_daily_weekly_and_monthly_set(db):
    clock.set_now(NOW)
    zone = clock.zone()
    folder = _folder()
    folder.mkdir(parents=True)
    # one backup at 02:00 local every day for 420 days, a second one at 01:00 on some days
    day = datetime(2026, 6, 15, 2, 0, tzinfo=zone)
    made = {}
    for i in range(420):
        taken = day - timedelta(days=i)
        made[_stamp_name(taken)] = taken
        if i % 10 == 0:
            earlier = taken - timedelta(hours=1)
            made[_stamp_name(earlier)] = earlier
    for name, taken in made.items():
        _make(folder, name, taken)
    # a backup named without a time: its file's time counts (7 March: not kept)
    _make(folder, "manual.cab", datetime(2026, 3, 7, 12, 0, tzinfo=zone))
    # not a backup, however old: never touched
    (folder / "notes.txt").write_text("keep me")
    old = (NOW - timedelta(days=500)).timestamp()
    os.utime(folder / "notes.txt", (old, old))
    # the newest verified backup, older than the 12 months: kept all the same
    verified = _stamp_name(datetime(2025, 6, 1, 2, 0, tzinfo=zone))
    with session_scope() as session:
        for name, status in ((verified, "ok"), (_stamp_name(day - timedelta(days=60)), "failed")):
            session.add(
                BackupRun(
                    kind="verify", status=status, started_at=NOW, finished_at=NOW,
                    file_name=name, backup_at=made[name],
                )
            )  # fmt: skip
        session.add(
            BackupRun(
                kind="backup", status="ok", started_at=NOW, file_name=_stamp_name(made_day(2025, 9, 2)),
                backup_at=made_day(2025, 9, 2),
            )
        )  # fmt: skip
    # key-store copies: one past CUSTAPP_KEYSTORE_COPY_DAYS (35), one within
    copies = folder / "keystore"
    copies.mkdir()
    for age in (40, 30):
        (copies / keystore.copy_name(NOW - timedelta(days=age))).write_bytes(b"copy")

    result = backup_runs.prune_backups()

    local_dates = [
        (2026, 6, 15), (2026, 6, 14), (2026, 6, 13), (2026, 6, 12), (2026, 6, 11),
        (2026, 6, 10), (2026, 6, 9),  # the last 7 days
        (2026, 6, 7), (2026, 5, 31),  # the newest of the ISO weeks before (Sundays)
        (2026, 4, 30), (2026, 3, 31), (2026, 2, 28), (2026, 1, 31), (2025, 12, 31),
        (2025, 11, 30), (2025, 10, 31), (2025, 9, 30), (2025, 8, 31), (2025, 7, 31),
    ]  # fmt: skip
    expected = {_stamp_name(datetime(y, m, d, 2, 0, tzinfo=zone)) for y, m, d in local_dates}
    expected.add(verified)
    left = {p.name for p in folder.glob("*.cab")}
    assert left == expected
    assert (folder / "notes.txt").read_text() == "keep me"
    assert [p.name for p in copies.iterdir()] == [keystore.copy_name(NOW - timedelta(days=30))]
    assert result == {
        "kept": len(expected),
        "deleted": len(made) + 1 - len(expected),
        "keystore_copies_deleted": 1,
    }
    with session_scope(write=False) as session:
        gone = session.exec(
            select(BackupRun.deleted_at).where(BackupRun.kind == "backup")
        ).scalar_one()
    assert gone == NOW
    (entry,) = _audit("backup.prune")
    detail = json.loads(entry.detail)
    assert detail["deleted"] == result["deleted"] and entry.actor_name == "jobs"
    assert detail["files"] == sorted((set(made) | {"manual.cab"}) - expected)[:20]
    # a second run the same day deletes nothing more
    assert backup_runs.prune_backups()["deleted"] == 0


def test_rotation_always_keeps_the_newest_backup_however_old(db):
    clock.set_now(NOW)
    folder = _folder()
    folder.mkdir(parents=True)
    names = [_stamp_name(NOW - timedelta(days=d)) for d in (800, 900)]
    for name, days in zip(names, (800, 900), strict=True):
        _make(folder, name, NOW - timedelta(days=days))
    assert backup_runs.prune_backups(keep="7d")["deleted"] == 1
    assert [p.name for p in folder.glob("*.cab")] == [names[0]]


def test_the_keep_setting_is_checked_when_read(db, monkeypatch):
    for bad, words in (
        ("7x", "'7x' is not a count"),
        ("0d,0w", "keeps no backup"),
        ("3d,4d", "'d' is given twice"),
        ("d", "'d' is not a count"),
    ):
        monkeypatch.setenv("CUSTAPP_BACKUP_KEEP", bad)
        get_settings.cache_clear()
        with pytest.raises(SettingsError, match="CUSTAPP_BACKUP_KEEP") as caught:
            get_settings()
        assert words in str(caught.value)
    monkeypatch.setenv("CUSTAPP_BACKUP_KEEP", "14d, 8w")
    get_settings.cache_clear()
    assert get_settings().backup_keep == "14d, 8w"
