"""权利请求: customers' personal-information rights requests (copy, correction, deletion,
withdrawal, explanation).

Whoever may file (front desk, cs_manager, compliance) records a request the customer made at the
counter, by phone or by letter; the front desk also sees the requests they filed, without what
was asked. Compliance works the list: soonest due first, overdue ones in red, a detail dialog to
take or assign a request, produce the copy and close it with the outcome.

The page (view.py), its state (state.py), its dialogs as substates with their views beside them
(dialogs.py: filing a request; detail.py: one request opened, and the copy's password;
erasure.py: a deletion request's 受理并提交销毁 / 拒绝删除 panel), and the rows they show (rows.py).
"""

from custapp.pages.rights_requests.detail import RequestDetailState
from custapp.pages.rights_requests.dialogs import FileDialogState
from custapp.pages.rights_requests.erasure import DeletionReviewState
from custapp.pages.rights_requests.rows import RequestDetail, RequestRow
from custapp.pages.rights_requests.state import RightsState
from custapp.pages.rights_requests.view import rights_requests_page

__all__ = [
    "DeletionReviewState",
    "FileDialogState",
    "RequestDetail",
    "RequestDetailState",
    "RequestRow",
    "RightsState",
    "rights_requests_page",
]
