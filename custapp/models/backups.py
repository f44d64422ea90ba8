"""Backup runs (issue 16): each backup written and each verification of one, with its outcome.

`file_name` is a bare name inside the backup folder (CUSTAPP_BACKUP_DIR), never a path.
`backup_at` is the time the backup was taken (its manifest's created_at), on both kinds: a verify
row names the backup it checked by it too, so "the newest backup that passed a verification" is
one indexed query. `manifest` is a JSON summary (revision, total rows, audit head seq, size): no
personal value. `problem` is a message key. `deleted_at` is set when rotation removed the file.
"""

from datetime import datetime

from sqlalchemy import BigInteger, Index, Text
from sqlmodel import Field, SQLModel


class BackupRun(SQLModel, table=True):
    __tablename__ = "backup_runs"
    __table_args__ = (
        # the page's list, the daily step's "a backup today?", the newest verified backup
        Index("ix_backup_runs_kind", "kind", "status", "backup_at"),
        # a backup file's verifications
        Index("ix_backup_runs_file", "file_name", "kind", "id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    kind: str = Field(max_length=10)  # vocab.BackupRunKind
    status: str = Field(max_length=10)  # vocab.BackupRunStatus
    started_at: datetime
    finished_at: datetime | None = None
    file_name: str | None = Field(default=None, max_length=200)
    backup_at: datetime | None = None
    size_bytes: int | None = Field(default=None, sa_type=BigInteger)
    manifest: str = Field(default="{}", sa_type=Text)
    problem: str | None = Field(default=None, max_length=100)
    actor_id: int | None = Field(default=None, foreign_key="users.id")  # None: the daily step
    job_id: int | None = Field(default=None, foreign_key="jobs.id")
    deleted_at: datetime | None = None
