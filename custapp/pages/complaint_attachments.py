"""附件 on the complaint page /complaints/[id] (issue 6): the complaint's files one page at a
time, names masked, an upload and a download. `read_upload` and `upload_zone` serve the member
portal's complaint too (pages/portal_complaints.py).

As on the profile's 附件 tab (pages/profile_attachments.py): an upload streams its chunks into
memory, never into Reflex's public upload folder nor any disk, stops past the size limit and
hands the bytes to the service, which checks and encrypts them. A download is an event that
sends the file to this browser tab alone as rx.download data: no address serves it. The service
checks the permission on every call; the handlers open only a file listed on the page.
"""

from __future__ import annotations

import reflex as rx

from custapp import clock
from custapp.components.shell import T, data_table, field_error, pager
from custapp.pages.profile_attachments import ACCEPT
from custapp.pages.profile_attachments import _size as size_text
from custapp.services import attachments, complaint_attachments
from custapp.services.complaint_attachments import ComplaintAttachmentRow
from custapp.services.customer_input import row_id
from custapp.states.paging import PagedMixin
from custapp.states.session import SessionState

UPLOAD_ID = "complaint-attachment-file"
PAGE_SIZE = complaint_attachments.MAX_PAGE_SIZE


def type_label(content_type: str) -> str:
    """The extension the type's files get, as a short label (JPG, PDF ...)."""
    return attachments.TYPES.get(content_type, ((), ""))[1].lstrip(".").upper()


async def read_upload(chunks) -> tuple[str, bytes, str]:  # noqa: ANN001 (rx.UploadChunkIterator)
    """(file name, bytes, refusal key or ""): the one selected file, read until the size limit;
    reading stops at the first byte past it, which also ends the upload request."""
    names: set[str] = set()
    data = bytearray()
    async for chunk in chunks:
        names.add(chunk.filename)
        if len(names) > 1:
            return "", b"", "attachment.error.too_many_files"
        if len(data) + len(chunk.data) > attachments.MAX_BYTES:
            return "", b"", "attachment.error.file_too_large"
        data += chunk.data
    if not names:
        return "", b"", "complaint_attachment.error.choose_file"
    return next(iter(names)), bytes(data), ""


def upload_zone(upload_id: str, hint_key: str) -> rx.Component:
    """A drop zone for one file of the accepted types, and the name chosen (in this browser)."""
    return rx.vstack(
        rx.upload(
            rx.vstack(
                rx.icon("upload", size=20),
                rx.text(T(hint_key), size="1", align="center"),
                align="center",
                spacing="1",
            ),
            id=upload_id,
            multiple=False,
            max_files=1,
            max_size=attachments.MAX_BYTES,
            accept=ACCEPT,
            on_drop_rejected=lambda _files: rx.toast.error(T("attachment.error.file_rejected")),
            padding="12px",
            width="100%",
            border=f"1px dashed {rx.color('gray', 7)}",
            border_radius="8px",
            cursor="pointer",
        ),
        rx.foreach(
            rx.selected_files(upload_id),
            lambda name: rx.text(rx.icon("file", size=12), " ", name, size="1"),
        ),
        width="100%",
        spacing="1",
    )


def upload_form(
    upload_id: str, handler, error: rx.Var, uploading: rx.Var, *, label: str, icon: str,  # noqa: ANN001
    testid: str,
) -> rx.Component:  # fmt: skip
    """The drop zone, the refusal under it and the button that sends the file to `handler`."""
    return rx.vstack(
        upload_zone(upload_id, "attachment.file_hint"),
        field_error(error),
        rx.hstack(
            rx.button(
                rx.icon(icon, size=14),
                T(label),
                loading=uploading,
                on_click=handler(rx.upload_files_chunk(upload_id=upload_id)),
                data_testid=testid,
            ),
            justify="end",
            width="100%",
        ),
        spacing="2",
        width="100%",
    )


class ComplaintAttachmentsState(PagedMixin, SessionState):
    loaded: bool = False
    rows: list[dict[str, str]] = []
    can_add: bool = False
    hint: str = ""
    error: str = ""
    uploading: bool = False
    _complaint_id: int = 0

    def _page_size(self) -> int:
        return PAGE_SIZE

    def _clear(self) -> None:
        self.loaded, self.rows, self.total, self.page = False, [], 0, 1
        self.can_add, self.error, self.uploading = False, "", False

    @rx.event
    def load(self):
        """With the complaint page (the route's on_load): the files of the complaint in the
        address. Someone who may not handle complaints is sent away by ComplaintState.load."""
        self._clear()
        actor = self._actor()
        if actor is None or not actor.can("complaint.handle"):
            return None
        self._complaint_id = row_id(self.router.page.params.get("id", ""))
        self.hint = self._t("complaint_attachment.hint", limit=complaint_attachments.MAX_FILES)
        if not self._complaint_id:
            return None
        return self._fetch()

    @rx.event
    def leave(self):
        self._clear()

    def _fetch(self):
        found, error = self._call(
            complaint_attachments.list_complaint_attachments,
            complaint_id=self._complaint_id,
            page=self.page,
            page_size=PAGE_SIZE,
        )
        if error:
            self._clear()
            return rx.toast.error(error)
        self.total, self.can_add, self.loaded = found.total, found.can_add, True
        self.rows = [self._row(r) for r in found.rows]
        return None

    def _row(self, r: ComplaintAttachmentRow) -> dict[str, str]:
        return {
            "id": str(r.id),
            "file": r.filename_masked,
            "type": type_label(r.content_type),
            "size": size_text(r.size),
            "who": self._t("complaint_attachment.from_member")
            if r.by_member
            else r.uploaded_by_name,
            "by_member": "1" if r.by_member else "",
            "time": clock.format_local(r.created_at),
        }

    @rx.event(background=True)
    async def upload(self, chunks: rx.UploadChunkIterator):
        async with self:
            # the complaint on screen when the upload began: the user may move to another one
            # while the file travels, and the file must not follow them there
            complaint_id = self._complaint_id
            self.uploading, self.error = True, ""
        filename, content, refused = await read_upload(chunks)
        async with self:
            still_here = self.loaded and self._complaint_id == complaint_id
            self.uploading = False
            if refused:
                self.error = self._t(refused) if still_here else ""
                return
            _, error = self._call(
                complaint_attachments.add_complaint_attachment,
                complaint_id=complaint_id,
                filename=filename,
                content=content,
            )
            if error:
                self.error = self._field_errors.get("file", error) if still_here else ""
            elif still_here:
                self.page = 1
                self._fetch()
            message = self._t("complaint_attachment.uploaded")
        from custapp.pages.complaint import ComplaintState  # that page imports this module

        if error:  # shown next to the upload, or as a toast once the user left the complaint
            if not still_here:
                yield rx.toast.error(error)
            return
        yield rx.clear_selected_files(UPLOAD_ID)
        yield rx.toast.success(message)
        if still_here:
            yield ComplaintState.load  # the timeline shows the new entry

    @rx.event
    def download(self, attachment_id: str):
        """A file listed on this page, decrypted for this tab alone; audited by the service."""
        if str(attachment_id) not in {r["id"] for r in self.rows}:
            return rx.toast.error(self._t("complaint_attachment.error.not_found"))
        opened, error = self._call(
            complaint_attachments.open_complaint_attachment, attachment_id=row_id(attachment_id)
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
        rx.table.cell(rx.text(row["file"], size="2")),
        rx.table.cell(rx.badge(row["type"], variant="soft", color_scheme="gray")),
        rx.table.cell(row["size"], white_space="nowrap"),
        rx.table.cell(
            rx.cond(
                row["by_member"] != "",
                rx.badge(row["who"], variant="soft", color_scheme="green"),
                rx.text(row["who"], size="2"),
            )
        ),
        rx.table.cell(row["time"], white_space="nowrap"),
        rx.table.cell(
            rx.button(
                rx.icon("download", size=14),
                T("attachment.download"),
                size="1",
                variant="soft",
                on_click=S.download(row["id"]),
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
            S.error,
            S.uploading,
            label="complaint_attachment.upload",
            icon="paperclip",
            testid="complaint-attachment-upload",
        ),  # fmt: skip
        rx.text(T("complaint_attachment.cannot_add"), size="1", color_scheme="gray"),
    )


def complaint_attachments_section() -> rx.Component:
    """The 附件 card of the complaint page; it loads itself when shown."""
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
                S.loaded,
                rx.vstack(
                    rx.cond(
                        S.total == 0,
                        rx.text(T("complaint_attachment.empty"), size="2", color_scheme="gray"),
                        rx.vstack(
                            data_table(COLUMNS, S.rows, _row),
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
        on_unmount=S.leave,  # loaded by the route's on_load (custapp.py)
        width="100%",
        data_testid="complaint-attachments",
    )
