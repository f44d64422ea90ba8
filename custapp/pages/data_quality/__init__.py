"""数据质量: duplicate candidates to review (and, for cs_manager, merge) and customers whose
real-name verification is missing, failed or stale.

Every list holds one page, with masked values only; the merge dialog shows a masked preview of
both customers, and the service checks customer.merge whatever the browser sends. The page
(view.py), its state (state.py), the merge dialog as a substate with its view beside it
(dialogs.py) and the rows they show (rows.py).
"""

from custapp.pages.data_quality.dialogs import MergeDialogState
from custapp.pages.data_quality.rows import GroupRow, MemberRow, PreviewRow, StaleRow
from custapp.pages.data_quality.state import DataQualityState
from custapp.pages.data_quality.view import data_quality_page

__all__ = [
    "DataQualityState",
    "GroupRow",
    "MemberRow",
    "MergeDialogState",
    "PreviewRow",
    "StaleRow",
    "data_quality_page",
]
