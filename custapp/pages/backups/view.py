"""The 备份与恢复 page: the status card, 立即备份 with the job's progress, the backups made with a
校验 button each, and how a restore is done (command line only, into an empty instance)."""

from __future__ import annotations

import reflex as rx

from custapp.components.job_progress import job_progress
from custapp.components.shell import T, data_table, list_section, page, pager
from custapp.pages.backups.rows import BackupRow
from custapp.pages.backups.state import BackupsState
from custapp.vocab import JobKind

RESTORE_STEPS = (
    "backups.restore.step1",
    "backups.restore.step2",
    "backups.restore.step3",
    "backups.restore.step4",
)


def _fact(label: str, value: rx.Component) -> rx.Component:
    return rx.vstack(
        rx.text(T(label), size="1", color_scheme="gray"),
        value,
        spacing="1",
        min_width="220px",
    )


def _fresh(text: rx.Var, stale: rx.Var, testid: str) -> rx.Component:
    """A time and its age: red when older than two days, or never."""
    return rx.text(
        text,
        size="2",
        weight="medium",
        color_scheme=rx.cond(stale, "red", "green"),
        data_testid=testid,
    )


def _status() -> rx.Component:
    S = BackupsState
    return rx.card(
        rx.vstack(
            rx.hstack(
                _fact(
                    "backups.folder",
                    rx.vstack(
                        rx.code(S.folder, variant="ghost", data_testid="backups-folder"),
                        rx.text(S.free_space, size="1", color_scheme="gray"),
                        spacing="1",
                    ),
                ),
                _fact("backups.count", rx.text(S.count, size="2", weight="medium")),
                _fact("backups.newest", _fresh(S.newest, S.newest_stale, "backups-newest")),
                _fact(
                    "backups.last_verified",
                    _fresh(S.verified, S.verified_stale, "backups-last-verified"),
                ),
                wrap="wrap",
                spacing="6",
                align="start",
            ),
            rx.hstack(
                rx.text(T("backups.hint"), size="1", color_scheme="gray"),
                rx.spacer(),
                rx.button(
                    rx.icon("hard-drive-download", size=16),
                    T("backups.backup_now"),
                    on_click=BackupsState.backup_now,
                    data_testid="backups-backup-now",
                ),
                align="center",
                width="100%",
            ),
            spacing="4",
            width="100%",
        ),
        width="100%",
    )


def _verify_cell(row: BackupRow) -> rx.Component:
    """The newest verification: ✓/✗ and its label, the time it passed or the problem under it;
    a spinner while this row's verification runs."""
    S = BackupsState
    checking = (
        S.job_active & (S.job_kind == JobKind.BACKUP_VERIFY.value) & (S.job_file == row.file_name)
    )
    detail = rx.text(
        row.verify_detail,
        size="1",
        color_scheme="gray",
        white_space="normal",
        max_width="220px",
    )
    return rx.cond(
        checking,
        rx.hstack(rx.spinner(size="1"), rx.text(T("backups.verify.running"), size="2")),
        rx.match(
            row.verify,
            (
                "ok",
                rx.vstack(
                    rx.text("✓ ", row.verify_text, color_scheme="green", size="2"),
                    detail,
                    spacing="0",
                ),
            ),
            (
                "failed",
                rx.vstack(
                    rx.text("✗ ", row.verify_text, color_scheme="red", size="2"),
                    detail,
                    spacing="0",
                ),
            ),
            rx.text(row.verify_text, color_scheme="gray", size="2"),
        ),
    )


def _row(row: BackupRow) -> rx.Component:
    return rx.table.row(
        rx.table.cell(
            rx.cond(
                row.ok,
                rx.code(row.file_name, variant="ghost", size="1"),
                rx.text("✗ ", row.problem, color_scheme="red", size="2", white_space="normal"),
            )
        ),
        rx.table.cell(row.time),
        rx.table.cell(row.size),
        rx.table.cell(row.revision),
        rx.table.cell(row.rows),
        rx.table.cell(row.by),
        rx.table.cell(_verify_cell(row), data_testid="backup-verify-result"),
        rx.table.cell(
            rx.cond(
                row.can_verify,
                rx.button(
                    rx.icon("shield-check", size=14),
                    T("backups.verify"),
                    size="1",
                    variant="soft",
                    on_click=BackupsState.verify(row.file_name),
                    data_testid="backup-verify",
                ),
            )
        ),
        data_testid="backup-row",
    )


def _list() -> rx.Component:
    S = BackupsState
    return rx.vstack(
        rx.heading(T("backups.list"), size="4"),
        list_section(
            rx.fragment(),
            S.loaded,
            S.total,
            rx.callout(
                T("backups.empty"),
                icon="archive",
                color_scheme="gray",
                width="100%",
                data_testid="backups-empty",
            ),
            rx.vstack(
                data_table(
                    (
                        "backups.col.file",
                        "backups.col.time",
                        "backups.col.size",
                        "backups.col.revision",
                        "backups.col.rows",
                        "backups.col.by",
                        "backups.col.verify",
                        "common.actions",
                    ),
                    S.rows,
                    _row,
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


def _restore() -> rx.Component:
    return rx.card(
        rx.vstack(
            rx.heading(T("backups.restore.title"), size="4"),
            rx.text(T("backups.restore.intro"), size="2"),
            rx.el.ol(
                *[
                    rx.el.li(rx.text(T(step), size="2"), style={"marginBottom": "4px"})
                    for step in RESTORE_STEPS
                ],
                style={"paddingLeft": "1.5em", "listStyleType": "decimal"},
            ),
            rx.text(T("backups.restore.note"), size="1", color_scheme="gray"),
            spacing="3",
            width="100%",
        ),
        width="100%",
        data_testid="backups-restore",
    )


def backups_page() -> rx.Component:
    S = BackupsState
    return page(
        "nav.backups",
        _status(),
        job_progress(S.job_active, S.job_text, S.job_done, S.job_total, "backups-job"),
        _list(),
        _restore(),
    )
