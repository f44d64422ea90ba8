"""销毁: the destruction queue (待鉴定, 待批准), the register (已销毁, 登记簿) and the legal holds
(诉讼保留) of issue 16.

Compliance proposes (提出销毁) and appraises (鉴定); a different person, compliance or cs_manager,
approves; the auditor reads the register. Buttons show only for who may use them; the services
check every call again. The page (view.py), its state (state.py), the dialogs as substates with
their views beside them (dialogs.py), and the rows they show (rows.py).
"""

from custapp.pages.destruction.dialogs import (
    DecisionDialogState,
    HoldDialogState,
    ProposeDialogState,
)
from custapp.pages.destruction.rows import CandidateView, HoldView
from custapp.pages.destruction.state import DestructionState
from custapp.pages.destruction.view import destruction_page

__all__ = [
    "CandidateView",
    "DecisionDialogState",
    "DestructionState",
    "HoldDialogState",
    "HoldView",
    "ProposeDialogState",
    "destruction_page",
]
