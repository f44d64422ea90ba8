"""The 备份与恢复 state: the backup folder and how fresh the newest backup and the newest verified
backup are, the backups made (one page), 立即备份 and 校验 as durable jobs (issue 15) whose progress
the page shows until they finish.

Every handler acts as the logged-in user and the service checks backup.manage whatever the browser
sends; a verification names its backup by file name only, which the service resolves inside the
backup folder (a path or ".." is refused there). Nothing here holds a personal value: file names,
times, sizes and counts.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import reflex as rx

from custapp import clock, job_runner
from custapp.pages.backups.rows import BackupRow
from custapp.services import backup_runs
from custapp.services.job_queue import JobView
from custapp.states.job_watch import JobWatchMixin
from custapp.states.paging import PagedMixin
from custapp.states.session import SessionState
from custapp.vocab import BackupRunStatus, JobKind, JobStatus

PAGE_SIZE = 10
STALE_DAYS = 2  # a newest (verified) backup older than this shows red
FILE_NAME_MAX = 200


def size_text(size: int | None) -> str:
    """Bytes as the page shows them: "850 B", "12.3 KB", "4.5 GB"."""
    if size is None:
        return "—"
    value = float(size)
    for unit in ("B", "KB", "MB", "GB"):
        if value < 1024 or unit == "GB":
            return f"{int(value)} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{value:.1f} TB"  # pragma: no cover (the loop returns at GB)


class BackupsState(JobWatchMixin, PagedMixin, SessionState):
    loaded: bool = False
    # the status card
    folder: str = ""
    free_space: str = ""
    count: int = 0
    newest: str = ""  # its time and age, or "none yet"
    newest_stale: bool = True
    verified: str = ""
    verified_stale: bool = True
    # the backups made (PagedMixin: page, total)
    rows: list[BackupRow] = []
    # the job watched: what it does and, for a verification, the file it checks
    job_kind: str = ""
    job_file: str = ""

    def _page_size(self) -> int:
        return PAGE_SIZE

    def _clear(self) -> None:
        self.rows, self.total, self.page, self.loaded = [], 0, 1, False
        self.folder = self.free_space = self.newest = self.verified = ""
        self.count = 0

    @rx.event
    def load(self):
        _, redirect = self._enter("backup.manage")
        if redirect:
            return redirect
        self._clear()
        fetched = self._fetch()
        running, _ = self._call(backup_runs.current_job)  # a job still unfinished: watch it
        view = None
        if running is not None:
            self._job_ref, view = running.job.id, running.job
            self.job_kind, self.job_file = running.kind, running.file_name
        events = [e for e in (fetched, *self._watch(view)) if e is not None]
        return events or None

    # --- what the page shows ---------------------------------------------------------------------

    def _age(self, moment: datetime | None, days: int | None) -> str:
        if moment is None or days is None:
            return ""
        age = self._t("backups.age.today") if days == 0 else self._t("backups.age.days", days=days)
        return f"{clock.format_local(moment)}（{age}）"

    def _fetch(self):
        status, error = self._call(backup_runs.backup_status)
        self.loaded = True
        if error:
            self.rows, self.total = [], 0
            return rx.toast.error(error)
        self.folder = status.folder
        self.free_space = (
            self._t("backups.free", size=size_text(status.free_bytes))
            if status.free_bytes is not None
            else self._t("backups.folder_missing")
        )
        self.count = status.count
        self.newest = self._age(status.newest_at, status.newest_age_days) or self._t(
            "backups.never_backed_up"
        )
        self.newest_stale = status.newest_age_days is None or status.newest_age_days > STALE_DAYS
        last = status.last_verified
        self.verified = (
            f"{last.file_name} · {self._age(last.backup_at, last.age_days)}"
            if last
            else self._t("backups.never_verified")
        )
        self.verified_stale = last is None or last.age_days > STALE_DAYS
        found, error = self._call(backup_runs.list_runs, page=self.page, page_size=PAGE_SIZE)
        if error:
            self.rows, self.total = [], 0
            return rx.toast.error(error)
        runs, self.total = found
        self.rows = [self._row(r) for r in runs]
        return None

    def _row(self, r: backup_runs.RunView) -> BackupRow:
        ok = r.status == BackupRunStatus.OK
        rows = r.summary.get("rows")
        detail = ""
        if r.verify_status == BackupRunStatus.OK:
            verify_text, detail = self._t("backups.verify.ok"), clock.format_local(r.verify_at)
        elif r.verify_status == BackupRunStatus.FAILED:
            verify_text = self._t("backups.verify.bad")
            detail = self._t(
                r.verify_problem or "backups.problem.verify_error", **(r.verify_params or {})
            )
        else:
            verify_text = self._t("backups.verify.none") if ok else ""
        if ok and not r.present:
            verify_text, detail = self._t("backups.file_gone"), ""
        return BackupRow(
            file_name=r.file_name,
            time=clock.format_local(r.backup_at or r.started_at),
            size=size_text(r.size_bytes) if ok else "—",
            revision=str(r.summary.get("revision") or "—"),
            rows=f"{rows:,}" if isinstance(rows, int) else "—",
            by=r.by or self._t("backups.by_schedule"),
            ok=ok,
            problem=""
            if ok
            else self._t(r.problem or "backups.problem.create_failed", **r.problem_params),
            can_verify=ok and r.present,
            verify=r.verify_status,
            verify_text=verify_text,
            verify_detail=detail,
        )

    # --- 立即备份 and 校验 --------------------------------------------------------------------------

    def _started(self, job_id: int, kind: str, file_name: str):
        self._job_ref, self.job_kind, self.job_file = job_id, kind, file_name
        self.job_active, self.job_status, self.job_done, self.job_total = (
            True,
            JobStatus.QUEUED.value,
            0,
            0,
        )
        self.job_text = self._t("backups.job.queued")
        job_runner.wake()
        return BackupsState.watch_job

    @rx.event
    def backup_now(self):
        """立即备份: a backup job; a second one while one is unfinished is refused (the service)."""
        job_id, error = self._call(backup_runs.queue_backup)
        if error:
            return rx.toast.error(error)
        return self._started(job_id, JobKind.BACKUP_CREATE, "")

    @rx.event
    def verify(self, file_name: str):
        """校验 of one backup, named by its file name (the service checks it is one)."""
        name = str(file_name)[:FILE_NAME_MAX]
        job_id, error = self._call(backup_runs.queue_verify, file_name=name)
        if error:
            return rx.toast.error(error)
        return self._started(job_id, JobKind.BACKUP_VERIFY, name)

    # --- the job (JobWatchMixin) -----------------------------------------------------------------

    def _read_job(self) -> JobView | None:
        # watching is not the user's activity: the idle clock is left alone
        found, _, _ = self._call_detached(
            backup_runs.current_job, _touch=False, job_id=self._job_ref
        )
        return found.job if found is not None else None

    def _job_line(self, view: JobView) -> str:
        if view.status != JobStatus.RUNNING:
            return self._t("backups.job.queued")
        percent = view.done * 100 // view.total if view.total else 0
        if view.kind == JobKind.BACKUP_VERIFY:
            return self._t("backups.job.verifying", file=self.job_file, percent=percent)
        return self._t("backups.job.backing_up", percent=percent)

    def _job_finished(self, view: JobView) -> list[Any]:
        result = view.result or {}
        events: list[Any] = []
        if view.status == JobStatus.DONE and view.kind == JobKind.BACKUP_VERIFY:
            if result.get("ok"):
                events.append(rx.toast.success(self._t("backups.verified", file=self.job_file)))
            else:
                problem = self._t(
                    result.get("problem") or "backups.problem.verify_error",
                    **(result.get("params") or {}),
                )
                events.append(rx.toast.error(self._t("backups.verify.failed", problem=problem)))
        elif view.status == JobStatus.DONE:
            events.append(
                rx.toast.success(self._t("backups.created", file=result.get("file_name", "")))
            )
        elif view.status == JobStatus.FAILED:
            reason = self._t(view.error or "job.error.failed")
            events.append(rx.toast.error(self._t("backups.job.failed", error=reason)))
        self.job_kind = self.job_file = ""
        fetched = self._fetch()
        return [e for e in (fetched, *events) if e is not None]
