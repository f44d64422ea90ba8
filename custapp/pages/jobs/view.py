"""The 任务 page: the scheduled steps (schedule, last run, next run, failures, 立即运行 with the
run's state while it runs) over the history of runs, paged."""

from __future__ import annotations

import reflex as rx

from custapp.components.job_progress import job_progress
from custapp.components.shell import T, data_table, list_section, loading, page, pager
from custapp.pages.jobs.rows import RunRow, StepRow
from custapp.pages.jobs.state import JobsState

OUTCOME_COLOURS = (("done", "green"), ("failed", "red"), ("cancelled", "gray"))


def _outcome_badge(outcome: rx.Var, text: rx.Var) -> rx.Component:
    return rx.badge(
        text,
        color_scheme=rx.match(outcome, *OUTCOME_COLOURS, "gray"),
        variant="soft",
    )


def _last_run(row: StepRow) -> rx.Component:
    return rx.cond(
        row.last_outcome == "",
        rx.text(row.last_text, size="2", color_scheme="gray"),
        rx.vstack(
            rx.hstack(
                _outcome_badge(row.last_outcome, row.last_text),
                rx.text(row.last_start, size="2"),
                rx.text(row.last_duration, size="1", color_scheme="gray"),
                spacing="2",
                align="center",
            ),
            rx.text(
                row.last_summary,
                size="1",
                color_scheme="gray",
                white_space="normal",
                max_width="320px",
            ),  # fmt: skip
            spacing="1",
        ),
    )


def _step_action(row: StepRow) -> rx.Component:
    return rx.cond(
        row.can_run,
        rx.button(
            rx.icon("play", size=14),
            T("jobs.run_now"),
            size="1",
            variant="soft",
            on_click=JobsState.run_now(row.step),
            data_testid="jobs-run-now",
        ),
        rx.badge(
            rx.spinner(size="1"),
            row.state_text,
            color_scheme="blue",
            variant="soft",
            data_testid="jobs-step-state",
        ),
    )


def _step(row: StepRow) -> rx.Component:
    return rx.table.row(
        rx.table.cell(rx.text(row.name, weight="medium", size="2")),
        rx.table.cell(rx.text(row.schedule, size="2", white_space="normal", max_width="220px")),
        rx.table.cell(_last_run(row), data_testid="jobs-last-run"),
        rx.table.cell(rx.text(row.next_at, size="2")),
        rx.table.cell(
            rx.cond(
                row.failures > 0,
                rx.badge(row.failures_text, color_scheme="red", data_testid="jobs-failures"),
                rx.text("—", color_scheme="gray"),
            )
        ),
        rx.table.cell(_step_action(row)),
        data_testid="jobs-step",
    )


def _steps() -> rx.Component:
    S = JobsState
    return rx.vstack(
        rx.text(T("jobs.hint"), size="2", color_scheme="gray"),
        rx.cond(
            S.loaded,
            data_table(
                (
                    "jobs.col.step",
                    "jobs.col.schedule",
                    "jobs.col.last_run",
                    "jobs.col.next_run",
                    "jobs.col.failures",
                    "common.actions",
                ),
                S.steps,
                _step,
            ),
            loading(),
        ),
        spacing="3",
        width="100%",
    )


def _run(row: RunRow) -> rx.Component:
    return rx.table.row(
        rx.table.cell(row.name),
        rx.table.cell(row.trigger),
        rx.table.cell(row.start),
        rx.table.cell(row.duration),
        rx.table.cell(_outcome_badge(row.outcome, row.outcome_text)),
        rx.table.cell(
            rx.text(row.detail, size="1", white_space="normal", max_width="360px"),
        ),
        data_testid="jobs-run",
    )


def _history() -> rx.Component:
    S = JobsState
    return rx.vstack(
        rx.hstack(
            rx.heading(T("jobs.history"), size="4"),
            rx.spacer(),
            rx.button(
                rx.icon("refresh-cw", size=14),
                T("jobs.refresh"),
                size="1",
                variant="ghost",
                on_click=S.refresh,
            ),
            width="100%",
            align="center",
        ),
        list_section(
            rx.fragment(),
            S.loaded,
            S.total,
            rx.callout(
                T("jobs.empty"),
                icon="calendar-clock",
                color_scheme="gray",
                width="100%",
                data_testid="jobs-empty",
            ),
            rx.vstack(
                data_table(
                    (
                        "jobs.col.step",
                        "jobs.col.trigger",
                        "jobs.col.start",
                        "jobs.col.duration",
                        "jobs.col.outcome",
                        "jobs.col.detail",
                    ),
                    S.rows,
                    _run,
                    white_space="nowrap",
                ),
                pager(S.page, S.pages, S.total, S.prev_page, S.next_page),
                spacing="3",
                width="100%",
            ),
        ),
        spacing="3",
        width="100%",
    )


def jobs_page() -> rx.Component:
    S = JobsState
    return page(
        "nav.jobs",
        _steps(),
        job_progress(S.job_active, S.job_text, S.job_done, S.job_total, "jobs-job"),
        _history(),
    )
