"""The dialog of the one complaint the member opened: what they wrote, the outcome, the
satisfaction score, the customer-visible timeline and the member's files on it. Its vars live
on PortalComplaintsState: it opens from the list and its handlers are the page's."""

from __future__ import annotations

import reflex as rx

from custapp.components.complaint_badges import status_badge
from custapp.components.shell import T, content_dialog, field_error
from custapp.components.upload import upload_form
from custapp.pages.portal_complaints.state import FILE_UPLOAD_ID, PortalComplaintsState
from custapp.vocab import ComplaintEventKind

S = PortalComplaintsState
SCORES = (1, 2, 3, 4, 5)


def _pair(label: str, value: rx.Component | rx.Var) -> rx.Component:
    return rx.data_list.item(
        rx.data_list.label(T(label), min_width="72px"),
        rx.data_list.value(value),
    )


def _boxed(text: rx.Var, **props) -> rx.Component:
    return rx.box(
        rx.text(text, size="2", white_space="pre-wrap", **props),
        padding="8px 12px",
        border_radius="6px",
        background=rx.color("gray", 3),
        width="100%",
    )


def _timeline_entry(e: rx.Var) -> rx.Component:
    return rx.hstack(
        rx.box(
            width="8px",
            height="8px",
            min_width="8px",
            border_radius="50%",
            margin_top="6px",
            background=rx.cond(
                e.kind == ComplaintEventKind.FILED.value,
                rx.color("accent", 9),
                rx.color("accent", 7),
            ),
        ),
        rx.vstack(
            rx.hstack(
                rx.text(e.what, size="2", weight="medium"),
                rx.text(e.time, size="1", color_scheme="gray", white_space="nowrap"),
                align="baseline",
                spacing="2",
                wrap="wrap",
            ),
            rx.cond(
                e.body != "",
                rx.text(e.body, size="2", white_space="pre-wrap", data_testid="timeline-body"),
            ),
            spacing="1",
            width="100%",
        ),
        spacing="2",
        align="start",
        width="100%",
        data_testid="timeline-entry",
    )


def _score_button(n: int) -> rx.Component:
    given = S.d.score
    chosen = rx.cond(given == "", False, given.to(int) >= n)
    return rx.button(
        rx.icon("star", size=14),
        str(n),
        size="2",
        variant=rx.cond(chosen, "solid", "soft"),
        color_scheme="amber",
        aria_label=f"{n}",
        on_click=S.rate(str(n)),
        data_testid=f"rate-{n}",
    )


def _rating() -> rx.Component:
    d = S.d
    return rx.cond(
        d.can_rate,
        rx.vstack(
            rx.text(T("portal_complaints.rate_title"), size="2", weight="medium"),
            rx.hstack(*[_score_button(n) for n in SCORES], spacing="2", wrap="wrap"),
            rx.text(
                rx.cond(d.rated != "", d.rated, T("portal_complaints.rate_hint")),
                size="1",
                color_scheme="gray",
                data_testid="complaint-rated",
            ),
            field_error(S.rate_error),
            spacing="2",
            width="100%",
            padding="12px",
            border=f"1px solid {rx.color('amber', 6)}",
            border_radius="8px",
            data_testid="complaint-rating",
        ),
        rx.text(T("portal_complaints.rate_later"), size="1", color_scheme="gray"),
    )


def _file_row(f: rx.Var) -> rx.Component:
    return rx.hstack(
        rx.icon("file-image", size=16, color=rx.color("gray", 10)),
        rx.vstack(
            rx.text(f.file, size="2"),
            rx.text(f.time, " · ", f.size, size="1", color_scheme="gray"),
            spacing="0",
        ),
        rx.spacer(),
        rx.button(
            rx.icon("download", size=14),
            size="1",
            variant="soft",
            aria_label=T("attachment.download"),
            on_click=S.download_file(f.id),
            data_testid="complaint-file-download",
        ),
        align="center",
        width="100%",
        data_testid="complaint-file",
    )


def _files() -> rx.Component:
    return rx.vstack(
        rx.text(T("complaint_attachment.portal.title"), size="2", weight="medium"),
        rx.cond(
            S.files.length() > 0,
            rx.vstack(rx.foreach(S.files, _file_row), spacing="2", width="100%"),
            rx.text(T("complaint_attachment.portal.empty"), size="1", color_scheme="gray"),
        ),
        rx.cond(
            S.files_can_add,
            rx.vstack(
                rx.text(T("complaint_attachment.portal.hint"), size="1", color_scheme="gray"),
                upload_form(
                    FILE_UPLOAD_ID,
                    S.add_file,
                    S.file_error,
                    S.uploading,
                    label="complaint_attachment.portal.upload",
                    icon="image-up",
                    testid="complaint-file-upload",
                ),  # fmt: skip
                spacing="2",
                width="100%",
            ),
        ),
        spacing="2",
        width="100%",
        data_testid="complaint-files",
    )


def complaint_dialog() -> rx.Component:
    d = S.d
    return content_dialog(
        rx.data_list.root(
            _pair("portal_complaints.number", rx.code(d.number, variant="ghost")),
            _pair("portal_complaints.time", d.time),
            _pair("portal_complaints.category", d.category),
            rx.cond(d.informed != "", _pair("portal_complaints.informed", d.informed)),
            size="2",
        ),
        rx.text(T("portal_complaints.your_description"), size="2", weight="medium"),
        _boxed(d.description, data_testid="complaint-description"),
        rx.cond(
            d.desired != "",
            rx.vstack(
                rx.text(T("portal_complaints.your_desired"), size="2", weight="medium"),
                _boxed(d.desired),
                spacing="1",
                width="100%",
            ),
        ),
        rx.text(T("portal_complaints.outcome"), size="2", weight="medium"),
        rx.cond(
            d.outcome != "",
            rx.callout(
                rx.text(d.outcome, white_space="pre-wrap"),
                icon="message-square-reply",
                color_scheme="green",
                size="1",
                width="100%",
                data_testid="complaint-outcome",
            ),
            rx.text(T("portal_complaints.no_outcome"), size="2", color_scheme="gray"),
        ),
        _rating(),
        rx.text(T("portal_complaints.progress"), size="2", weight="medium"),
        rx.vstack(
            rx.foreach(S.timeline, _timeline_entry),
            spacing="3",
            width="100%",
            data_testid="complaint-timeline",
        ),
        _files(),
        rx.hstack(
            rx.button(T("common.done"), variant="soft", on_click=S.close_complaint),
            justify="end",
            width="100%",
        ),
        title=rx.hstack(
            rx.text(T("portal_complaints.detail_title")),
            status_badge(d.status, d.status_label),
            align="center",
            spacing="2",
            wrap="wrap",
        ),
        is_open=S.detail_open,
        on_close=S.close_complaint,
        max_width="600px",
    )
