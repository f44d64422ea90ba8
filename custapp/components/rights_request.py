"""Rights request pieces shared by 权利请求 and the member portal's 隐私."""

from __future__ import annotations

STATUS_COLORS = {"open": "amber", "in_progress": "blue", "done": "green", "refused": "gray"}
