"""备份与恢复 for sysadmin: the page (view.py), its state (state.py), the rows it shows (rows.py)."""

from custapp.pages.backups.rows import BackupRow
from custapp.pages.backups.state import PAGE_SIZE, BackupsState
from custapp.pages.backups.view import backups_page

__all__ = ["PAGE_SIZE", "BackupRow", "BackupsState", "backups_page"]
