"""任务 in the browser (issue 17): the system administrator opens the page from the menu, sees
every scheduled step with its schedule and next run, clicks 立即运行 on one and sees the run end
in the history as 成功, with the step's last run filled in."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect
from test_screenshots import _shot

from custapp.i18n import CATALOGUES
from custapp.jobs import SCHEDULE

pytestmark = pytest.mark.e2e

ZH = CATALOGUES["zh_CN"]
JOB_TIMEOUT_MS = 60_000  # the step runs in the app's job runner


def test_sysadmin_runs_a_step_now_from_the_jobs_page(app, page) -> None:  # noqa: ANN001
    app.login(page, "admin")
    page.get_by_test_id("menu-item").filter(has_text=ZH["nav.jobs"]).click()
    expect(page).to_have_url(f"{app.url}/jobs")
    steps = page.get_by_test_id("jobs-step")
    expect(steps).to_have_count(len(SCHEDULE))
    expect(steps.first).to_contain_text(ZH["jobs.schedule.every_minutes"].format(minutes=5))
    step = steps.nth(list(SCHEDULE).index("birthday_index"))
    expect(step).to_contain_text(ZH["jobs.step.birthday_index"])
    expect(step).to_contain_text(ZH["jobs.never_run"])

    step.get_by_test_id("jobs-run-now").click()
    runs = page.get_by_test_id("jobs-run").filter(has_text=ZH["jobs.step.birthday_index"])
    expect(runs.first).to_contain_text(ZH["jobs.outcome.done"], timeout=JOB_TIMEOUT_MS)
    expect(runs.first).to_contain_text("admin")
    expect(step.get_by_test_id("jobs-last-run")).to_contain_text(ZH["jobs.outcome.done"])
    expect(page.get_by_test_id("jobs-job")).to_be_hidden()
    expect(step.get_by_test_id("jobs-run-now")).to_be_visible()
    expect(page.locator("[data-sonner-toast]")).to_have_count(
        0, timeout=15_000
    )  # not over the rows
    _shot(page, "jobs.png")
