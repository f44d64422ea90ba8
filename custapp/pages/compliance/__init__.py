"""合规管理: the page (view.py, editor.py), its state (state.py), its dialogs as substates
(dialogs.py)."""

from custapp.pages.compliance.dialogs import (
    NoticeViewState,
    PublishConfirmState,
    PurposeDialogState,
)
from custapp.pages.compliance.rows import (
    Kpis,
    MatrixRow,
    NoticeRow,
    NoticeText,
    NoticeView,
    PurposeChoice,
    PurposeRow,
)
from custapp.pages.compliance.state import ComplianceState
from custapp.pages.compliance.view import compliance_page

__all__ = [
    "ComplianceState",
    "Kpis",
    "MatrixRow",
    "NoticeRow",
    "NoticeText",
    "NoticeView",
    "NoticeViewState",
    "PublishConfirmState",
    "PurposeChoice",
    "PurposeDialogState",
    "PurposeRow",
    "compliance_page",
]
