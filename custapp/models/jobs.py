"""Durable jobs (issue 15): long work (a greeting campaign, a marketing campaign) queued in the
database and run by whichever runner claims it, under a lease that a dead runner lets lapse.

`params` is JSON holding ids and settings only, never a plaintext personal value (a greeting's
text travels encrypted under the system key). `result` is the job's checkpoint while it runs
(committed with each chunk of work, so a second runner continues where the first stopped) and its
summary once done. `error` is a message key, never a stack trace.
"""

from datetime import datetime

from sqlalchemy import Index, Text
from sqlmodel import Field, SQLModel


class Job(SQLModel, table=True):
    __tablename__ = "jobs"
    __table_args__ = (
        # the runners' claim: queued jobs, and running ones whose lease ran out, oldest first
        Index("ix_jobs_claim", "status", "lease_until", "id"),
        # a page's latest job of its kind
        Index("ix_jobs_kind", "kind", "id"),
        # the scheduler (issue 17): one job per step, slot and try, whoever ticks
        Index("ux_jobs_slot_key", "slot_key", unique=True),
    )

    id: int | None = Field(default=None, primary_key=True)
    kind: str = Field(max_length=40)  # vocab.JobKind
    params: str = Field(default="{}", sa_type=Text)
    status: str = Field(default="queued", max_length=10)  # vocab.JobStatus
    progress_done: int = 0
    progress_total: int = 0
    lease_owner: str | None = Field(default=None, max_length=100)
    lease_until: datetime | None = None
    attempts: int = 0  # claims so far; a job claimed too often is failed, not run again
    error: str | None = Field(default=None, max_length=100)  # a message key
    created_by: int | None = Field(default=None, foreign_key="users.id")
    created_at: datetime
    started_at: datetime | None = None
    finished_at: datetime | None = None
    result: str = Field(default="{}", sa_type=Text)
    # a scheduled step's run: "<step>@<slot, UTC>#<try>" (services/scheduler.py); None for a
    # job queued by a page or a 立即运行 (NULLs never collide in a unique index)
    slot_key: str | None = Field(default=None, max_length=80)
