"""What the 备份与恢复 page shows: display text prepared by the state, flags as bools."""

from __future__ import annotations

import dataclasses


@dataclasses.dataclass(frozen=True)
class BackupRow:
    """A backup made (or one that failed), with its newest verification."""

    file_name: str = ""
    time: str = ""  # when it was taken, in the configured zone
    size: str = ""  # "12.3 MB"
    revision: str = ""
    rows: str = ""  # "12,345"
    by: str = ""  # who asked for it, or the daily step
    ok: bool = False  # the backup was written
    problem: str = ""  # why it failed, in the user's language
    can_verify: bool = False  # written, and its file still in the folder
    verify: str = ""  # "" (never verified) | "ok" | "failed"
    verify_text: str = ""  # "校验通过" / "校验失败" / "尚未校验"
    verify_detail: str = ""  # when it passed, or the problem named ("第 3 段校验失败")
