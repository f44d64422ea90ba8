"""What the 保存期限 page shows: display text prepared by the state, ids as ints, flags as bools."""

from __future__ import annotations

import dataclasses


@dataclasses.dataclass(frozen=True)
class RuleRow:
    category: str = ""  # vocab.RetentionCategory
    name: str = ""
    start: str = ""  # where the period counts from
    period: str = ""
    months: int = 0
    action: str = ""
    action_code: str = ""
    basis: str = ""
    updated: str = ""  # "2026-05-01 · 张三", or "默认规则"
    pending: bool = False  # a change waits for its second person


@dataclasses.dataclass(frozen=True)
class ChangeRow:
    id: int = 0
    category: str = ""
    name: str = ""
    change: str = ""  # "36 个月（3 年），期满销毁 → 24 个月（2 年），期满销毁"
    basis: str = ""
    reason: str = ""
    proposer: str = ""
    proposed: str = ""
    status: str = ""
    status_code: str = ""  # vocab.RetentionChangeStatus
    decider: str = ""
    decided: str = ""
    note: str = ""
    notice: str = ""  # the draft notice version an approval wrote
    mine: bool = False  # proposed by the user looking: someone else decides
