"""我的投诉, the member portal's complaints page (SPEC §3 member portal, §5, §8 Complaints): a form
to file a complaint (category, what happened, what the member wants), the member's own complaints
one page at a time, newest first, and one of them opened with its customer-visible timeline and
outcome, where the member gives a satisfaction score 1-5 once told the outcome and adds photos or
scans to it while it is open. The state (state.py), the page (view.py), the complaint's dialog
(dialogs.py) and the rows they show (rows.py)."""

from custapp.pages.portal_complaints.rows import (
    ComplaintDetail,
    FileRow,
    FilingErrors,
    MemberComplaintRow,
    TimelineRow,
)
from custapp.pages.portal_complaints.state import PortalComplaintsState
from custapp.pages.portal_complaints.view import portal_complaints_page

__all__ = [
    "ComplaintDetail",
    "FileRow",
    "FilingErrors",
    "MemberComplaintRow",
    "PortalComplaintsState",
    "TimelineRow",
    "portal_complaints_page",
]
