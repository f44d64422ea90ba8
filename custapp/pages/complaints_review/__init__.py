"""投诉管理 for cs_manager (SPEC §5 Manager review): its state (state.py), the page (view.py)
and the rows it shows (rows.py)."""

from custapp.pages.complaints_review.rows import KpiFigures, QueueRow
from custapp.pages.complaints_review.state import PAGE_SIZE, ComplaintsReviewState
from custapp.pages.complaints_review.view import complaints_review_page

__all__ = [
    "PAGE_SIZE",
    "ComplaintsReviewState",
    "KpiFigures",
    "QueueRow",
    "complaints_review_page",
]
