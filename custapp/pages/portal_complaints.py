"""我的投诉, the member portal's complaints page (SPEC §3 member portal, §5, §8 Complaints): a form
to file a complaint (category, what happened, what the member wants), the member's own complaints
one page at a time, newest first, and one of them opened with its customer-visible timeline and
outcome, where the member gives a satisfaction score 1-5 once told the outcome and adds photos or
scans to it (a damaged item, a receipt, a letter) while it is open.

The customer always comes from the login on the server: no handler takes one, and another
member's complaint id is simply not found by the service. The complaint's text is decrypted only
for the one complaint the member opens, and dropped when its dialog closes or the page is left;
so are the masked names of the files the member added to it (the only ones the member sees).
"""

from __future__ import annotations

import reflex as rx

from custapp import clock
from custapp.components.shell import (
    T,
    content_dialog,
    field_error,
    list_section,
    page,
    paged_table,
    two_line,
)
from custapp.models.complaints import CATEGORIES
from custapp.pages.complaint_attachments import read_upload, size_text, upload_form
from custapp.pages.profile_complaints import compensation_text
from custapp.services import complaint_attachments, complaints
from custapp.services.customer_input import row_id
from custapp.settings import get_settings
from custapp.states.paging import PagedMixin
from custapp.states.session import SessionState

PAGE_SIZE = 10
SCORES = (1, 2, 3, 4, 5)
INFORMED = ("customer_informed", "return_visit", "closed")
DESCRIPTION_INPUT = "complaint-description"
DESIRED_INPUT = "complaint-desired"
FILE_UPLOAD_ID = "complaint-photo"
STATUS_COLORS = {
    "received": "blue",
    "investigating": "amber",
    "solution_proposed": "amber",
    "customer_informed": "green",
    "return_visit": "green",
    "closed": "gray",
    "on_hold": "orange",
    "reopened": "red",
}


class PortalComplaintsState(PagedMixin, SessionState):
    loaded: bool = False
    rows: list[dict[str, str]] = []
    # 我要投诉
    category: str = ""
    errors: dict[str, str] = {}
    error: str = ""
    filed: str = ""  # the reference number of the complaint just filed
    response_hint: str = ""
    # the one complaint opened (decrypted text: only while its dialog is open)
    detail_open: bool = False
    d: dict[str, str] = {}
    timeline: list[dict[str, str]] = []
    rate_error: str = ""
    files: list[dict[str, str]] = []  # the files the member added to it, names masked
    files_can_add: bool = False
    file_error: str = ""
    uploading: bool = False
    _open_id: int = 0

    def _page_size(self) -> int:
        return PAGE_SIZE

    def _close_detail(self) -> None:
        self.detail_open, self.d, self.timeline = False, {}, []
        self.rate_error, self._open_id = "", 0
        self.files, self.files_can_add, self.file_error, self.uploading = [], False, "", False

    def _clear(self) -> None:
        self._close_detail()
        self.loaded, self.rows, self.page, self.total = False, [], 1, 0
        self.category, self.errors, self.error, self.filed = "", {}, "", ""

    @rx.event
    def load(self):
        _, redirect = self._enter("member.self")
        if redirect:
            return redirect
        self._clear()
        hours = get_settings().complaint_deadlines["normal"][0]
        self.response_hint = self._t("portal_complaints.response_hint", hours=hours)
        error = self._fetch_rows()
        self.loaded = True
        return rx.toast.error(error) if error else None

    # --- the list ----------------------------------------------------------------------------------

    def _fetch(self):
        error = self._fetch_rows()
        return rx.toast.error(error) if error else None

    def _fetch_rows(self) -> str | None:
        found, error = self._call(complaints.member_complaints, page=self.page, page_size=PAGE_SIZE)
        if error:
            self.rows, self.total = [], 0
            return error
        rows, self.total = found
        self.rows = [
            {
                "id": str(r.id),
                "number": r.number,
                "time": clock.format_local(r.created_at),
                "category": self._t(f"complaint.category.{r.category}"),
                "status": r.status,
                "status_label": self._t(f"complaint.status.{r.status}"),
                "score": str(r.satisfaction or ""),
            }
            for r in rows
        ]
        return None

    # --- 我要投诉 ----------------------------------------------------------------------------------

    @rx.event
    def choose_category(self, category: str):
        self.category = category if category in CATEGORIES else ""
        self.errors = {k: v for k, v in self.errors.items() if k != "category"}

    @rx.event
    def file_complaint(self, form: dict):
        filed, error = self._call(
            complaints.member_file_complaint,
            category=self.category,
            description=str(form.get("description", "") or ""),
            desired=str(form.get("desired", "") or ""),
        )
        if error:
            self.errors, self.error = dict(self._field_errors), error
            self.filed = ""
            return None
        self.errors, self.error, self.category = {}, "", ""
        self.filed, self.page = filed.number, 1
        problem = self._fetch_rows()
        return [
            rx.set_value(DESCRIPTION_INPUT, ""),
            rx.set_value(DESIRED_INPUT, ""),
            rx.toast.success(self._t("portal_complaints.filed", number=filed.number)),
            *([rx.toast.error(problem)] if problem else []),
        ]

    # --- one complaint -----------------------------------------------------------------------------

    @rx.event
    def open_complaint(self, complaint_id: str):
        """One of the member's own complaints, with what the customer may see of its handling."""
        self._close_detail()
        view, error = self._call(complaints.member_complaint, complaint_id=row_id(complaint_id))
        if error:
            return rx.toast.error(error)
        self._show(view)
        self._fetch_files()
        self.detail_open = True
        return None

    def _show(self, view: complaints.ComplaintView) -> None:
        row = view.row
        reply = next((e.body for e in reversed(view.timeline) if e.kind == "outcome"), "")
        via = self._t(f"portal_complaints.via.{view.informed_via}") if view.informed_via else ""
        when = (
            view.informed_on.isoformat()
            if view.informed_on
            else clock.format_local(view.informed_at, "%Y-%m-%d")
        )
        self._open_id = row.id
        self.d = {
            "number": row.number,
            "time": clock.format_local(row.created_at),
            "category": self._t(f"complaint.category.{row.category}"),
            "status": row.status,
            "status_label": self._t(f"complaint.status.{row.status}"),
            "description": view.description,
            "desired": view.desired,
            "outcome": view.solution or reply,
            "informed": " · ".join(p for p in (when, via) if p),
            "can_rate": "1" if view.informed_at or row.status in INFORMED else "",
            "score": str(row.satisfaction or ""),
            "rated": (
                self._t("portal_complaints.rated", score=row.satisfaction)
                if row.satisfaction
                else ""
            ),
        }
        self.timeline = [self._entry(e, view.gifts) for e in view.timeline]

    def _entry(self, e: complaints.TimelineEntry, gifts: dict) -> dict[str, str]:
        if e.kind == "filed":
            what = self._t("portal_complaints.event.filed")
        elif e.kind == "status":
            what = self._t(
                "portal_complaints.event.status", status=self._t(f"complaint.status.{e.to_status}")
            )
        elif e.kind == "score":
            what = self._t("portal_complaints.event.score", score=e.detail)
        elif e.kind == "compensation":
            what = self._t(
                "portal_complaints.event.compensation",
                detail=compensation_text(self, e.detail, gifts),
            )
        elif e.kind == "reply":
            what = self._t("portal_complaints.event.reply")
        elif e.kind == "outcome":
            what = self._t("portal_complaints.event.outcome")
        else:
            what = self._t("portal_complaints.event.other")
        return {
            "time": clock.format_local(e.created_at),
            "what": what,
            "body": e.body,
            "kind": e.kind,
        }

    @rx.event
    def close_complaint(self):
        self._close_detail()

    # --- the member's files on the complaint open in the dialog ------------------------------------

    def _fetch_files(self) -> None:
        found, error = self._call(
            complaint_attachments.member_attachments, complaint_id=self._open_id
        )
        if error:
            self.files, self.files_can_add = [], False
            return
        self.files_can_add = found.can_add
        self.files = [
            {
                "id": str(f.id),
                "file": f.filename_masked,
                "size": size_text(f.size),
                "time": clock.format_local(f.created_at),
            }
            for f in found.rows
        ]

    @rx.event(background=True)
    async def add_file(self, chunks: rx.UploadChunkIterator):
        """A photo or scan for the complaint open in the dialog (the server's own id, taken
        when the upload starts)."""
        async with self:
            complaint_id, self.uploading, self.file_error = self._open_id, True, ""
        filename, content, refused = await read_upload(chunks)
        async with self:
            self.uploading = False
            if refused:
                self.file_error = self._t(refused)
                return
            _, error = self._call(
                complaint_attachments.member_add_attachment,
                complaint_id=complaint_id,
                filename=filename,
                content=content,
            )
            if error:
                self.file_error = self._field_errors.get("file", error)
                return
            if self._open_id == complaint_id:
                self._fetch_files()
            message = self._t("complaint_attachment.portal.added")
        yield rx.clear_selected_files(FILE_UPLOAD_ID)
        yield rx.toast.success(message)

    @rx.event
    def download_file(self, attachment_id: str):
        """One of the files listed in the dialog, for this tab alone."""
        if str(attachment_id) not in {f["id"] for f in self.files}:
            return rx.toast.error(self._t("complaint_attachment.error.not_found"))
        opened, error = self._call(
            complaint_attachments.member_open_attachment, attachment_id=row_id(attachment_id)
        )
        if error:
            return rx.toast.error(error)
        return rx.download(
            data=opened.content, filename=opened.filename, mime_type="application/octet-stream"
        )

    @rx.event
    def rate(self, score: str):
        """The satisfaction score for the complaint open in the dialog (the server's own id)."""
        if not self._open_id:
            return rx.toast.error(self._t("complaint.error.not_found"))
        rated, error = self._call(
            complaints.member_rate, complaint_id=self._open_id, score=row_id(score)
        )
        if error:
            self.rate_error = next(iter(self._field_errors.values()), error)
            return None
        self.rate_error = ""
        view, error = self._call(complaints.member_complaint, complaint_id=rated.id)
        if view is not None:
            self._show(view)
        self._fetch_rows()
        return rx.toast.success(self._t("portal_complaints.rate_saved"))


# --- the page ------------------------------------------------------------------------------------


def _section(icon: str, title: str, *children: rx.Component, **props) -> rx.Component:
    return rx.card(
        rx.vstack(
            rx.hstack(
                rx.icon(icon, size=18, color=rx.color("accent", 10)),
                rx.heading(T(title), size="4"),
                align="center",
                spacing="2",
            ),
            *children,
            spacing="3",
            width="100%",
        ),
        width="100%",
        **props,
    )


def _field(label: str, *children: rx.Component, testid: str) -> rx.Component:
    return rx.vstack(
        rx.text(T(label), size="2", weight="medium"),
        *children,
        spacing="1",
        width="100%",
        data_testid=testid,
    )


def _invalid(S: type[PortalComplaintsState], field: str) -> rx.Var:  # noqa: N803
    return rx.cond(S.errors.get(field, "") != "", "true", "false")


def _form() -> rx.Component:
    S = PortalComplaintsState
    return rx.form(
        rx.vstack(
            _field(
                "portal_complaints.category",
                rx.select.root(
                    rx.select.trigger(
                        placeholder=T("portal_complaints.category_placeholder"),
                        width="100%",
                        data_testid="complaint-category",
                    ),
                    rx.select.content(
                        *[rx.select.item(T(f"complaint.category.{c}"), value=c) for c in CATEGORIES]
                    ),
                    value=S.category,
                    on_change=S.choose_category,
                ),
                field_error(S.errors.get("category", "")),
                testid="field-category",
            ),
            _field(
                "portal_complaints.description",
                rx.text_area(
                    name="description",
                    id=DESCRIPTION_INPUT,
                    max_length=complaints.MAX_TEXT,
                    rows="4",
                    placeholder=T("portal_complaints.description_hint"),
                    aria_invalid=_invalid(S, "description"),
                    width="100%",
                ),
                field_error(S.errors.get("description", "")),
                testid="field-description",
            ),
            _field(
                "portal_complaints.desired",
                rx.text_area(
                    name="desired",
                    id=DESIRED_INPUT,
                    max_length=complaints.MAX_TEXT,
                    rows="2",
                    placeholder=T("portal_complaints.desired_hint"),
                    aria_invalid=_invalid(S, "desired"),
                    width="100%",
                ),
                field_error(S.errors.get("desired", "")),
                testid="field-desired",
            ),
            field_error(rx.cond(S.errors.length() > 0, "", S.error)),
            rx.flex(
                rx.text(
                    S.response_hint, size="1", color_scheme="gray", flex="1", min_width="200px"
                ),
                rx.button(
                    rx.icon("send", size=14),
                    T("portal_complaints.submit"),
                    type="submit",
                    data_testid="complaint-submit",
                ),
                align="center",
                gap="8px",
                wrap="wrap",
                width="100%",
            ),
            spacing="3",
            width="100%",
        ),
        on_submit=S.file_complaint,
        width="100%",
    )


def _filed() -> rx.Component:
    S = PortalComplaintsState
    return rx.cond(
        S.filed != "",
        rx.callout(
            rx.vstack(
                rx.text(T("portal_complaints.filed_title"), weight="bold"),
                rx.hstack(
                    rx.text(T("portal_complaints.your_number")),
                    rx.code(S.filed, size="3", data_testid="complaint-filed-number"),
                    align="center",
                    spacing="2",
                    wrap="wrap",
                ),
                rx.text(T("portal_complaints.keep_number"), size="1"),
                spacing="1",
            ),
            icon="circle-check",
            color_scheme="green",
            width="100%",
            data_testid="complaint-filed",
        ),
    )


def _status_badge(label: rx.Var, code: rx.Var) -> rx.Component:
    return rx.badge(
        label,
        color_scheme=rx.match(code, *[(k, v) for k, v in STATUS_COLORS.items()], "gray"),
        variant="soft",
        white_space="nowrap",
        data_testid="complaint-status",
    )


def _row(r: rx.Var) -> rx.Component:
    S = PortalComplaintsState
    return rx.table.row(
        rx.table.cell(
            two_line(r["number"], r["time"], size="2", weight="medium", white_space="nowrap"),
            data_testid="complaint-number",
        ),
        rx.table.cell(
            rx.vstack(
                _status_badge(r["status_label"], r["status"]),
                rx.text(r["category"], size="1", color_scheme="gray"),
                spacing="1",
                align="start",
            )
        ),
        rx.table.cell(
            rx.button(
                T("portal_complaints.open"),
                size="1",
                variant="soft",
                on_click=S.open_complaint(r["id"]),
                white_space="nowrap",
                data_testid="complaint-open",
            ),
            text_align="right",
        ),
        align="center",
        data_testid="complaint-row",
    )


def _list() -> rx.Component:
    S = PortalComplaintsState
    return list_section(
        rx.fragment(),
        S.loaded,
        S.total,
        rx.text(T("portal_complaints.empty"), size="2", color_scheme="gray"),
        paged_table(
            ("portal_complaints.number", "portal_complaints.status", ""),
            S.rows,
            _row,
            S.page,
            S.pages,
            S.total,
            S.prev_page,
            S.next_page,
            size="1",
        ),
    )


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
            background=rx.cond(e["kind"] == "filed", rx.color("accent", 9), rx.color("accent", 7)),
        ),
        rx.vstack(
            rx.hstack(
                rx.text(e["what"], size="2", weight="medium"),
                rx.text(e["time"], size="1", color_scheme="gray", white_space="nowrap"),
                align="baseline",
                spacing="2",
                wrap="wrap",
            ),
            rx.cond(
                e["body"] != "",
                rx.text(e["body"], size="2", white_space="pre-wrap", data_testid="timeline-body"),
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
    S = PortalComplaintsState
    given = S.d["score"].to(str)
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
    S = PortalComplaintsState
    d = S.d
    return rx.cond(
        d["can_rate"] != "",
        rx.vstack(
            rx.text(T("portal_complaints.rate_title"), size="2", weight="medium"),
            rx.hstack(*[_score_button(n) for n in SCORES], spacing="2", wrap="wrap"),
            rx.text(
                rx.cond(d["rated"] != "", d["rated"], T("portal_complaints.rate_hint")),
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
            rx.text(f["file"], size="2"),
            rx.text(f["time"], " · ", f["size"], size="1", color_scheme="gray"),
            spacing="0",
        ),
        rx.spacer(),
        rx.button(
            rx.icon("download", size=14),
            size="1",
            variant="soft",
            aria_label=T("attachment.download"),
            on_click=PortalComplaintsState.download_file(f["id"]),
            data_testid="complaint-file-download",
        ),
        align="center",
        width="100%",
        data_testid="complaint-file",
    )


def _files() -> rx.Component:
    S = PortalComplaintsState
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


def _detail() -> rx.Component:
    S = PortalComplaintsState
    d = S.d
    return content_dialog(
        rx.data_list.root(
            _pair("portal_complaints.number", rx.code(d["number"], variant="ghost")),
            _pair("portal_complaints.time", d["time"]),
            _pair("portal_complaints.category", d["category"]),
            rx.cond(d["informed"] != "", _pair("portal_complaints.informed", d["informed"])),
            size="2",
        ),
        rx.text(T("portal_complaints.your_description"), size="2", weight="medium"),
        _boxed(d["description"], data_testid="complaint-description"),
        rx.cond(
            d["desired"] != "",
            rx.vstack(
                rx.text(T("portal_complaints.your_desired"), size="2", weight="medium"),
                _boxed(d["desired"]),
                spacing="1",
                width="100%",
            ),
        ),
        rx.text(T("portal_complaints.outcome"), size="2", weight="medium"),
        rx.cond(
            d["outcome"] != "",
            rx.callout(
                rx.text(d["outcome"], white_space="pre-wrap"),
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
            _status_badge(d["status_label"], d["status"]),
            align="center",
            spacing="2",
            wrap="wrap",
        ),
        is_open=S.detail_open,
        on_close=S.close_complaint,
        max_width="600px",
    )


def portal_complaints_page() -> rx.Component:
    S = PortalComplaintsState
    return page(
        "nav.portal_complaints",
        rx.vstack(
            rx.link(
                rx.hstack(
                    rx.icon("arrow-left", size=14), T("portal_complaints.back"), align="center"
                ),
                href="/portal",
                size="2",
                data_testid="complaints-back",
            ),
            rx.text(T("portal_complaints.intro"), size="2", color_scheme="gray"),
            _section(
                "message-circle-warning",
                "portal_complaints.new",
                _filed(),
                _form(),
                data_testid="complaint-form",
            ),
            _section("list", "portal_complaints.mine", _list()),
            _detail(),
            spacing="4",
            width="100%",
            max_width="860px",
            on_unmount=S.close_complaint,
        ),
    )
