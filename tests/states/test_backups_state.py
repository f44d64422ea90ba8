"""备份与恢复 handlers called directly, as any browser may call any public handler: sysadmin sees the
folder, backs up (a second click while the backup is unfinished is refused with a message), and
verifies a backup; a name that is no backup of the folder is refused. Every other role is sent
home by the page, and each handler called anyway is refused by the service, audited, and queues
nothing."""

from __future__ import annotations

import pytest
import reflex as rx
import run_async
from helpers import _member, _member_token, _staff, _staff_token, _tree
from reflex_base.event import EventSpec
from sqlalchemy import func, select

from custapp import job_runner
from custapp.db import session_scope
from custapp.i18n import t
from custapp.models import AuditEntry, BackupRun, Job
from custapp.pages.backups import BackupsState
from custapp.security.permissions import MEMBER

MEMBER_PHONE = "13700003333"
OTHER_ROLES = ["front_desk", "cs_manager", "compliance", "auditor", MEMBER]


@pytest.fixture
def world(db) -> dict[str, int]:
    ids = {"sysadmin": _staff("the.sysadmin", "sysadmin")}
    for role in OTHER_ROLES[:-1]:
        ids[role] = _staff(f"the.{role}", role)
    ids[MEMBER] = _member(MEMBER_PHONE)
    return ids


def _logged_in(role: str) -> tuple[rx.State, BackupsState]:
    token = (
        _member_token(MEMBER_PHONE, ip=None)
        if role == MEMBER
        else _staff_token(f"the.{role}", ip=None)
    )
    return _tree(token, BackupsState, "/backups")


def _events(result) -> list[EventSpec]:  # noqa: ANN001
    events = result if isinstance(result, list) else [result]
    assert events and all(isinstance(e, EventSpec) for e in events), result
    return events


def _toast(result, kind: str, message: str) -> bool:  # noqa: ANN001
    return any(
        "__toast" in str(e.args) and f'"{kind}"' in str(e.args) and message in str(e.args)
        for e in _events(result)
    )


def _run_and_watch(state: BackupsState) -> list:
    """The job runner, as the app's lifespan task would run it, then the page's watch of the
    job (the event a click chains): its events."""

    async def collect() -> list:
        job_runner.work(once=True)
        return [event async for event in BackupsState.watch_job.fn(state)]

    return run_async.run(collect())


def _counts() -> tuple[int, int]:
    with session_scope() as session:
        return (
            session.exec(select(func.count()).select_from(Job)).scalar_one(),
            session.exec(select(func.count()).select_from(BackupRun)).scalar_one(),
        )


def _denials(user_id: int) -> list[str]:
    with session_scope() as session:
        return list(
            session.exec(
                select(AuditEntry.action)
                .where(AuditEntry.actor_id == user_id, AuditEntry.outcome == "denied")
                .order_by(AuditEntry.seq)
            ).scalars()
        )


def test_sysadmin_backs_up_and_verifies_from_the_page(world):
    _, state = _logged_in("sysadmin")
    assert state.load() is None
    assert state.loaded and state.rows == [] and state.total == 0
    assert state.folder.endswith("backups") and state.count == 0
    assert state.newest == t("backups.never_backed_up", "en") and state.newest_stale
    assert state.verified == t("backups.never_verified", "en") and state.verified_stale

    assert state.backup_now() is BackupsState.watch_job
    assert state.job_active and state.job_kind == "backup.create"
    # a second click while the backup is unfinished: refused with a message
    assert _toast(state.backup_now(), "error", t("backups.error.backup_running", "en"))
    assert _counts() == (1, 0)

    events = _run_and_watch(state)
    (row,) = state.rows
    assert _toast(events, "success", t("backups.created", "en", file=row.file_name))
    assert not state.job_active and state.count == 1 and not state.newest_stale
    assert row.ok and row.can_verify and row.verify == "" and row.by == "the.sysadmin"
    assert row.verify_text == t("backups.verify.none", "en")

    assert state.verify(row.file_name) is BackupsState.watch_job
    assert state.job_active and state.job_file == row.file_name
    events = _run_and_watch(state)
    assert _toast(events, "success", t("backups.verified", "en", file=row.file_name))
    (row,) = state.rows
    assert (row.verify, row.verify_text) == ("ok", t("backups.verify.ok", "en"))
    assert row.verify_detail  # when it passed
    assert state.verified.startswith(row.file_name) and not state.verified_stale


def test_a_name_that_is_no_backup_of_the_folder_is_refused(world):
    _, state = _logged_in("sysadmin")
    state.load()
    for name, key in (
        ("../custapp.db", "backups.error.bad_file_name"),
        ("/etc/passwd", "backups.error.bad_file_name"),
        ("custapp-sqlite-20200101T000000Z.cab", "backups.error.no_such_file"),
    ):
        assert _toast(state.verify(name), "error", t(key, "en"))
    assert not state.job_active and _counts() == (0, 0)


def test_an_unfinished_job_is_watched_again_when_the_page_loads(world):
    _, state = _logged_in("sysadmin")
    state.load()
    state.backup_now()
    _, again = _logged_in("sysadmin")  # another tab, or the page loaded again
    assert again.load() == [BackupsState.watch_job]
    assert again.job_active and again.job_kind == "backup.create"
    assert again.job_text == t("backups.job.queued", "en")


@pytest.mark.parametrize("role", OTHER_ROLES)
def test_other_roles_are_sent_home_and_every_handler_is_refused(world, role):
    _, state = _logged_in(role)
    events = _events(state.load())
    assert _toast(events, "error", t("error.page_denied", "en"))
    home = "/portal" if role == MEMBER else "/"
    redirects = [str(e.args) for e in events if e.handler.fn.__qualname__ == "_redirect"]
    assert len(redirects) == 1 and f'"{home}"' in redirects[0], redirects
    assert state.folder == "" and state.rows == []

    denied = t("error.permission_denied", "en")
    assert _toast(state.backup_now(), "error", denied)
    assert _toast(state.verify("custapp-sqlite-20200101T000000Z.cab"), "error", denied)
    assert _toast(state.next_page(), "error", denied)
    assert not state.job_active and state.rows == [] and state.folder == ""
    assert _counts() == (0, 0)
    assert _denials(world[role]) == [
        "page.open:/backups",
        "backup_runs.queue_backup",
        "backup_runs.queue_verify",
        "backup_runs.backup_status",
    ]
