"""关怀日历 for cs_manager: the page (view.py), its state (state.py), the rows it shows
(rows.py)."""

from custapp.pages.care.rows import CalendarRow, HolidayRow
from custapp.pages.care.state import PAGE_SIZE, CareState
from custapp.pages.care.view import care_page

__all__ = ["PAGE_SIZE", "CalendarRow", "CareState", "HolidayRow", "care_page"]
