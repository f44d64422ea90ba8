"""附件 on the complaint page /complaints/[id] (issue 6): the complaint's files one page at a
time, names masked, an upload and a download; a substate of ComplaintState (the complaint is the
page's `_id`). The upload pieces (`read_upload`, `upload_form`) are in components/upload.py,
shared with the member portal's complaint.

As on the profile's 附件 tab: an upload streams its chunks into memory, never into Reflex's public
upload folder nor any disk, stops past the size limit and hands the bytes to the service, which
checks and encrypts them off the event loop (`run_off_loop`). A download is an event that sends
the file to this browser tab alone as rx.download data: no address serves it. The service checks
the permission on every call; the handlers open only a file listed on the page.
"""

from __future__ import annotations

import reflex as rx

from custapp import clock
from custapp.components.shell import T, data_table, pager
from custapp.components.upload import read_upload, size_text, upload_form
from custapp.pages.complaint.rows import AttachmentRow
from custapp.pages.complaint.state import ComplaintState
from custapp.services import attachments, complaint_attachments
from custapp.services.complaint_attachments import ComplaintAttachmentRow
from custapp.states.off_loop import run_off_loop
from custapp.states.paging import PagedMixin

UPLOAD_ID = "complaint-attachment-file"
PAGE_SIZE = complaint_attachments.MAX_PAGE_SIZE


def type_label(content_type: str) -> str:
    """The extension the type's files get, as a short label (JPG, PDF ...)."""
    return attachments.TYPES.get(content_type, ((), ""))[1].lstrip(".").upper()


class ComplaintAttachmentsState(PagedMixin, ComplaintState):
    files_loaded: bool = False
    files: list[AttachmentRow] = []
    can_add: bool = False
    hint: str = ""
    upload_error: str = ""
    uploading: bool = False

    def _page_size(self) -> int:
        return PAGE_SIZE

    def _clear(self) -> None:
        self.files_loaded, self.files, self.total, self.page = False, [], 0, 1
        self.can_add, self.upload_error, self.uploading = False, "", False

    @rx.event
    def load_files(self):
        """With the complaint page (the route's on_load, after ComplaintState.load, which set
        `_id` and sends away someone who may not handle complaints)."""
        self._clear()
        actor = self._actor()
        if actor is None or not actor.can("complaint.handle"):
            return None
        self.hint = self._t("complaint_attachment.hint", limit=complaint_attachments.MAX_FILES)
        if not self._id:
            return None
        return self._fetch()

    def _fetch(self):
        found, error = self._call(
            complaint_attachments.list_complaint_attachments,
            complaint_id=self._id,
            page=self.page,
            page_size=PAGE_SIZE,
        )
        if error:
            self._clear()
            return rx.toast.error(error)
        self.total, self.can_add, self.files_loaded = found.total, found.can_add, True
        self.files = [self._row(r) for r in found.rows]
        return None

    def _row(self, r: ComplaintAttachmentRow) -> AttachmentRow:
        return AttachmentRow(
            id=r.id,
            file=r.filename_masked,
            type=type_label(r.content_type),
            size=size_text(r.size),
            who=(
                self._t("complaint_attachment.from_member") if r.by_member else r.uploaded_by_name
            ),
            by_member=bool(r.by_member),
            time=clock.format_local(r.created_at),
        )

    def _refresh(self) -> None:
        """After an upload: the first page of files, and the complaint (its timeline has the
        new entry)."""
        self.page = 1
        self._fetch()
        self._fetch_view()

    @rx.event(background=True)
    async def upload(self, chunks: rx.UploadChunkIterator):
        async with self:
            # the complaint on screen when the upload began: the user may move to another one
            # while the file travels, and the file must not follow them there
            complaint_id = self._id
            self.uploading, self.upload_error = True, ""
        filename, content, refused = await read_upload(chunks)
        async with self:
            still_here = self.files_loaded and self._id == complaint_id
            self.uploading = False
            if refused:
                self.upload_error = self._t(refused) if still_here else ""
                return
            # checked and encrypted (up to 10 MB) in the handler pool: the event loop serves the
            # other tabs meanwhile; this tab's next event waits for the lock as before
            _, error = await run_off_loop(
                self._call,
                complaint_attachments.add_complaint_attachment,
                complaint_id=complaint_id,
                filename=filename,
                content=content,
            )
            if error:
                self.upload_error = self._field_errors.get("file", error) if still_here else ""
            elif still_here:
                await run_off_loop(self._refresh)
            message = self._t("complaint_attachment.uploaded")
        if error:  # shown next to the upload, or as a toast once the user left the complaint
            if not still_here:
                yield rx.toast.error(error)
            return
        yield rx.clear_selected_files(UPLOAD_ID)
        yield rx.toast.success(message)

    @rx.event
    def download(self, attachment_id: int):
        """A file listed on this page, decrypted for this tab alone; audited by the service."""
        if attachment_id not in {r.id for r in self.files}:
            return rx.toast.error(self._t("complaint_attachment.error.not_found"))
        opened, error = self._call(
            complaint_attachments.open_complaint_attachment, attachment_id=attachment_id
        )
        if error:
            return rx.toast.error(error)
        return rx.download(
            data=opened.content, filename=opened.filename, mime_type="application/octet-stream"
        )


# --- the section --------------------------------------------------------------------------------

COLUMNS = (
    "attachment.col.file",
    "complaint_attachment.col.type",
    "attachment.col.size",
    "attachment.col.uploader",
    "attachment.col.time",
    "common.actions",
)


def _row(row: rx.Var) -> rx.Component:
    S = ComplaintAttachmentsState
    return rx.table.row(
        rx.table.cell(rx.text(row.file, size="2")),
        rx.table.cell(rx.badge(row.type, variant="soft", color_scheme="gray")),
        rx.table.cell(row.size, white_space="nowrap"),
        rx.table.cell(
            rx.cond(
                row.by_member,
                rx.badge(row.who, variant="soft", color_scheme="green"),
                rx.text(row.who, size="2"),
            )
        ),
        rx.table.cell(row.time, white_space="nowrap"),
        rx.table.cell(
            rx.button(
                rx.icon("download", size=14),
                T("attachment.download"),
                size="1",
                variant="soft",
                on_click=S.download(row.id),
                data_testid="complaint-attachment-download",
            )
        ),
        data_testid="complaint-attachment-row",
    )


def _adder() -> rx.Component:
    S = ComplaintAttachmentsState
    return rx.cond(
        S.can_add,
        upload_form(
            UPLOAD_ID,
            S.upload,
            S.upload_error,
            S.uploading,
            label="complaint_attachment.upload",
            icon="paperclip",
            testid="complaint-attachment-upload",
        ),
        rx.text(T("complaint_attachment.cannot_add"), size="1", color_scheme="gray"),
    )


def complaint_attachments_section() -> rx.Component:
    """The 附件 card of the complaint page; the route's on_load fills it, the page's leave (and
    ComplaintState._clear) empties it."""
    S = ComplaintAttachmentsState
    return rx.card(
        rx.vstack(
            rx.hstack(
                rx.heading(T("complaint_attachment.title"), size="4"),
                rx.text(S.hint, size="1", color_scheme="gray"),
                align="baseline",
                wrap="wrap",
            ),
            rx.cond(
                S.files_loaded,
                rx.vstack(
                    rx.cond(
                        S.total == 0,
                        rx.text(T("complaint_attachment.empty"), size="2", color_scheme="gray"),
                        rx.vstack(
                            data_table(COLUMNS, S.files, _row),
                            pager(S.page, S.pages, S.total, S.prev_page, S.next_page),
                            width="100%",
                        ),
                    ),
                    _adder(),
                    spacing="3",
                    width="100%",
                ),
            ),
            spacing="3",
            width="100%",
        ),
        width="100%",
        data_testid="complaint-attachments",
    )
