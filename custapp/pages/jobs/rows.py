"""What the 任务 page shows: display text prepared by the state, flags as bools."""

from __future__ import annotations

import dataclasses


@dataclasses.dataclass(frozen=True)
class StepRow:
    """A scheduled step: its schedule, last run, the run in hand and the next slot."""

    step: str = ""  # the step's code name (立即运行 names it)
    name: str = ""  # its Chinese name
    schedule: str = ""  # "每分钟" / "每天 02:00（在 … 之后）"
    last_start: str = ""  # "" when it never ran
    last_duration: str = ""
    last_outcome: str = ""  # "" | "done" | "failed" | "cancelled"
    last_text: str = ""  # "成功" / "失败：…"
    last_summary: str = ""  # its counts
    next_at: str = ""
    failures: int = 0  # runs in a row that failed
    failures_text: str = ""
    state: str = ""  # "" | "queued" | "running": the run in hand
    state_text: str = ""
    can_run: bool = True  # no run in hand


@dataclasses.dataclass(frozen=True)
class RunRow:
    """One run in the history."""

    id: int = 0
    name: str = ""
    trigger: str = ""  # "按计划" / "第 2 次重试" / "立即运行（admin）"
    start: str = ""
    duration: str = ""
    outcome: str = ""  # vocab.JobStatus
    outcome_text: str = ""
    detail: str = ""  # the counts, or why it failed
