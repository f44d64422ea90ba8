"""The state of the member's 我的投诉 page: the form to file a complaint, the member's own
complaints a page at a time, and the one complaint opened with its customer-visible timeline,
the satisfaction score and the member's files on it.

The customer always comes from the login on the server: no handler takes one, and another
member's complaint id is simply not found by the service. The complaint's text is decrypted only
for the one complaint the member opens, and dropped when its dialog closes or the page is left;
so are the masked names of the files the member added to it (the only ones the member sees)."""

from __future__ import annotations

import dataclasses

import reflex as rx

from custapp import clock
from custapp.components.complaint_badges import compensation_text
from custapp.components.upload import read_upload, size_text
from custapp.pages.portal_complaints.rows import (
    ComplaintDetail,
    FileRow,
    FilingErrors,
    MemberComplaintRow,
    TimelineRow,
)
from custapp.services import complaint_attachments, complaints
from custapp.services.customer_input import row_id
from custapp.settings import get_settings
from custapp.states.off_loop import run_off_loop
from custapp.states.paging import PagedMixin
from custapp.states.session import SessionState
from custapp.vocab import ComplaintCategory, ComplaintEventKind, ComplaintStatus, Severity

PAGE_SIZE = 10
CATEGORIES = tuple(c.value for c in ComplaintCategory)
# the statuses in which the member has been told the outcome, and may give a score
INFORMED = (
    ComplaintStatus.CUSTOMER_INFORMED,
    ComplaintStatus.RETURN_VISIT,
    ComplaintStatus.CLOSED,
)
DESCRIPTION_INPUT = "complaint-description"
DESIRED_INPUT = "complaint-desired"
FILE_UPLOAD_ID = "complaint-photo"
# what the member reads of each timeline entry (any other kind: "其他处理")
EVENT_KEYS = {
    ComplaintEventKind.FILED: "portal_complaints.event.filed",
    ComplaintEventKind.REPLY: "portal_complaints.event.reply",
    ComplaintEventKind.OUTCOME: "portal_complaints.event.outcome",
}


class PortalComplaintsState(PagedMixin, SessionState):
    loaded: bool = False
    rows: list[MemberComplaintRow] = []
    # 我要投诉
    category: str = ""
    errors: FilingErrors = FilingErrors()
    error: str = ""  # a refusal not of one field
    filed: str = ""  # the reference number of the complaint just filed
    response_hint: str = ""
    # the one complaint opened (decrypted text: only while its dialog is open)
    detail_open: bool = False
    d: ComplaintDetail = ComplaintDetail()
    timeline: list[TimelineRow] = []
    rate_error: str = ""
    files: list[FileRow] = []  # the files the member added to it, names masked
    files_can_add: bool = False
    file_error: str = ""
    uploading: bool = False
    _open_id: int = 0

    def _page_size(self) -> int:
        return PAGE_SIZE

    def _close_detail(self) -> None:
        self.detail_open, self.d, self.timeline = False, ComplaintDetail(), []
        self.rate_error, self._open_id = "", 0
        self.files, self.files_can_add, self.file_error, self.uploading = [], False, "", False

    def _clear(self) -> None:
        self._close_detail()
        self.loaded, self.rows, self.page, self.total = False, [], 1, 0
        self.category, self.errors, self.error, self.filed = "", FilingErrors(), "", ""

    @rx.event
    def load(self):
        _, redirect = self._enter("member.self")
        if redirect:
            return redirect
        self._clear()
        hours = get_settings().complaint_deadlines[Severity.NORMAL][0]
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
            MemberComplaintRow(
                id=str(r.id),
                number=r.number,
                time=clock.format_local(r.created_at),
                category=self._t(f"complaint.category.{r.category}"),
                status=r.status,
                status_label=self._t(f"complaint.status.{r.status}"),
                score=str(r.satisfaction or ""),
            )
            for r in rows
        ]
        return None

    # --- 我要投诉 ----------------------------------------------------------------------------------

    @rx.event
    def choose_category(self, category: str):
        self.category = category if category in CATEGORIES else ""
        self.errors = dataclasses.replace(self.errors, category="")

    @rx.event
    def file_complaint(self, form: dict):
        filed, error = self._call(
            complaints.member_file_complaint,
            category=self.category,
            description=str(form.get("description", "") or ""),
            desired=str(form.get("desired", "") or ""),
        )
        if error:
            self.errors = FilingErrors.of(self._field_errors)
            self.error = "" if self.errors != FilingErrors() else error
            self.filed = ""
            return None
        self.errors, self.error, self.category = FilingErrors(), "", ""
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
        reply = next(
            (e.body for e in reversed(view.timeline) if e.kind == ComplaintEventKind.OUTCOME), ""
        )
        via = self._t(f"portal_complaints.via.{view.informed_via}") if view.informed_via else ""
        when = (
            view.informed_on.isoformat()
            if view.informed_on
            else clock.format_local(view.informed_at, "%Y-%m-%d")
        )
        self._open_id = row.id
        self.d = ComplaintDetail(
            number=row.number,
            time=clock.format_local(row.created_at),
            category=self._t(f"complaint.category.{row.category}"),
            status=row.status,
            status_label=self._t(f"complaint.status.{row.status}"),
            description=view.description,
            desired=view.desired,
            outcome=view.solution or reply,
            informed=" · ".join(p for p in (when, via) if p),
            can_rate=bool(view.informed_at) or row.status in INFORMED,
            score=str(row.satisfaction or ""),
            rated=(
                self._t("portal_complaints.rated", score=row.satisfaction)
                if row.satisfaction
                else ""
            ),
        )
        self.timeline = [self._entry(e, view.gifts) for e in view.timeline]

    def _entry(self, e: complaints.TimelineEntry, gifts: dict) -> TimelineRow:
        if e.kind == ComplaintEventKind.STATUS:
            what = self._t(
                "portal_complaints.event.status", status=self._t(f"complaint.status.{e.to_status}")
            )
        elif e.kind == ComplaintEventKind.SCORE:
            what = self._t("portal_complaints.event.score", score=e.detail)
        elif e.kind == ComplaintEventKind.COMPENSATION:
            what = self._t(
                "portal_complaints.event.compensation",
                detail=compensation_text(self, e.detail, gifts),
            )
        else:
            what = self._t(EVENT_KEYS.get(e.kind, "portal_complaints.event.other"))
        return TimelineRow(
            time=clock.format_local(e.created_at), what=what, body=e.body, kind=e.kind
        )

    @rx.event
    def close_complaint(self):
        self._close_detail()

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
            FileRow(
                id=str(f.id),
                file=f.filename_masked,
                size=size_text(f.size),
                time=clock.format_local(f.created_at),
            )
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
            # checked, encrypted and stored in the handler pool: the event loop serves the other
            # tabs meanwhile; this tab's next event waits for its lock as before
            _, error = await run_off_loop(
                self._call,
                complaint_attachments.member_add_attachment,
                complaint_id=complaint_id,
                filename=filename,
                content=content,
            )
            if error:
                self.file_error = self._field_errors.get("file", error)
                return
            if self._open_id == complaint_id:
                await run_off_loop(self._fetch_files)
            message = self._t("complaint_attachment.portal.added")
        yield rx.clear_selected_files(FILE_UPLOAD_ID)
        yield rx.toast.success(message)

    @rx.event
    def download_file(self, attachment_id: str):
        """One of the files listed in the dialog, for this tab alone."""
        if str(attachment_id) not in {f.id for f in self.files}:
            return rx.toast.error(self._t("complaint_attachment.error.not_found"))
        opened, error = self._call(
            complaint_attachments.member_open_attachment, attachment_id=row_id(attachment_id)
        )
        if error:
            return rx.toast.error(error)
        return rx.download(
            data=opened.content, filename=opened.filename, mime_type="application/octet-stream"
        )
