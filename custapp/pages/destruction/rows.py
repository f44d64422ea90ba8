"""What the 销毁 page shows: display text prepared by the state, ids as ints, flags as bools.
No value of a customer's data: the customer number identifies the row."""

from __future__ import annotations

import dataclasses


@dataclasses.dataclass(frozen=True)
class CandidateView:
    """One candidate of the queue or one line of the register."""

    id: int = 0
    number: str = ""
    customer_id: int = 0
    customer_number: str = ""
    what: str = ""  # 整个客户 / one category
    why: str = ""  # the rule, the request or "by hand"
    note: str = ""
    status: str = ""
    status_code: str = ""  # DestructionStatus
    blockers: str = ""  # the reasons, joined; "" when nothing blocks
    created: str = ""
    proposed_by: str = ""
    appraised_by: str = ""
    appraisal_note: str = ""
    approved_by: str = ""
    done: str = ""
    method: str = ""
    may_appraise: bool = False
    may_approve: bool = False
    may_reject: bool = False
    own_appraisal: bool = False  # this user appraised it: someone else approves


@dataclasses.dataclass(frozen=True)
class HoldView:
    id: int = 0
    customer_number: str = ""
    reason: str = ""
    set_by: str = ""
    set_at: str = ""
