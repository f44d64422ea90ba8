"""备份与恢复 in the browser (issue 16): the system administrator opens the page from the menu,
clicks 立即备份 and sees the job's progress end in a backup listed with its time and revision,
clicks 校验 on it and sees 校验通过 in its row and as the newest verified backup; the restore
procedure is there as text, with no button."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect
from test_screenshots import _shot

from custapp.i18n import CATALOGUES

pytestmark = pytest.mark.e2e

ZH = CATALOGUES["zh_CN"]
JOB_TIMEOUT_MS = 120_000  # the backup and its verification run in the app's job runner


def test_sysadmin_backs_up_and_verifies_the_backup(app, page) -> None:  # noqa: ANN001
    app.login(page, "admin")
    page.get_by_test_id("menu-item").filter(has_text=ZH["nav.backups"]).click()
    expect(page).to_have_url(f"{app.url}/backups")
    expect(page.get_by_test_id("backups-folder")).to_contain_text("backups")
    restore = page.get_by_test_id("backups-restore")
    expect(restore).to_contain_text("custapp keys restore")
    expect(restore).to_contain_text("custapp backup restore")
    expect(restore.get_by_role("button")).to_have_count(0)

    rows = page.get_by_test_id("backup-row")
    before = rows.count()
    page.get_by_test_id("backups-backup-now").click()
    expect(rows).to_have_count(before + 1, timeout=JOB_TIMEOUT_MS)
    newest = rows.first
    expect(newest).to_contain_text("custapp-sqlite-")
    expect(newest).to_contain_text(ZH["backups.verify.none"])
    expect(page.get_by_test_id("backups-job")).to_be_hidden()

    newest.get_by_test_id("backup-verify").click()
    expect(newest.get_by_test_id("backup-verify-result")).to_contain_text(
        ZH["backups.verify.ok"], timeout=JOB_TIMEOUT_MS
    )
    expect(newest.get_by_test_id("backup-verify-result")).to_contain_text("✓")
    file_name = newest.locator("code").inner_text()
    expect(page.get_by_test_id("backups-last-verified")).to_contain_text(file_name)
    expect(page.get_by_test_id("backups-last-verified")).to_contain_text(ZH["backups.age.today"])
    _shot(page, "backups.png")
