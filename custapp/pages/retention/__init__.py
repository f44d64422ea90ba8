"""保存期限 (issue 16, RT): the retention rules per data category, changed by compliance with a
second approver (compliance or cs_manager), and their history.

The page (view.py), its state (state.py), its dialogs as substates with their views beside them
(dialogs.py: a change proposed, a change decided), and the rows they show (rows.py).
"""

from custapp.pages.retention.dialogs import DecideDialogState, ProposeDialogState
from custapp.pages.retention.rows import ChangeRow, RuleRow
from custapp.pages.retention.state import RetentionState
from custapp.pages.retention.view import retention_page

__all__ = [
    "ChangeRow",
    "DecideDialogState",
    "ProposeDialogState",
    "RetentionState",
    "RuleRow",
    "retention_page",
]
