"""任务 for sysadmin (issue 17): the scheduled steps, their runs and 立即运行. The page (view.py),
its state (state.py), the rows it shows (rows.py)."""

from custapp.pages.jobs.rows import RunRow, StepRow
from custapp.pages.jobs.state import PAGE_SIZE, JobsState
from custapp.pages.jobs.view import jobs_page

__all__ = ["PAGE_SIZE", "JobsState", "RunRow", "StepRow", "jobs_page"]
