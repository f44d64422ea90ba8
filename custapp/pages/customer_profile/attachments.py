"""The profile's 附件 tab: the customer's documents, one page at a time, adding one (a file, a
paper original's storage location, or both), and downloading a file with a reason.

Files never touch Reflex's public upload folder, nor any disk: the upload handler streams the
chunks (rx.upload_files_chunk) into memory, stops past the size limit, and hands the bytes to the
service, which encrypts them. A download is an event, not a URL: the handler checks the login,
the permission and the reason, audits, and sends the file to this browser tab alone as
rx.download data; no address exists that anyone could fetch, bookmark or leak.
"""

from __future__ import annotations

import reflex as rx

from custapp import clock
from custapp.components.shell import (
    T,
    data_table,
    field_error,
    form_actions,
    form_dialog,
    pager,
    reason_fields,
)
from custapp.components.upload import ACCEPT, size_text
from custapp.models.attachments import ATTACHMENT_CATEGORIES
from custapp.pages.customer_profile.rows import AttachmentErrors, AttachmentRow, errors_for
from custapp.services import attachments
from custapp.states.off_loop import run_off_loop
from custapp.states.paging import PagedMixin
from custapp.states.session import SessionState

PAGE_SIZE = 20
UPLOAD_ID = "attachment-file"
OPEN_REASONS = ("serve_customer", "verify_identity", "handle_complaint", "archive_review")
MAX_TYPED = 200  # longer than any field allows: the service reports the limit


class AttachmentsState(PagedMixin, SessionState):
    rows: list[AttachmentRow] = []
    cid: int = 0
    can_write: bool = False
    can_open: bool = False
    # the add dialog
    add_open: bool = False
    category: str = ""
    archive_number: str = ""
    paper_location: str = ""
    errors: AttachmentErrors = AttachmentErrors()
    form_error: str = ""
    saving: bool = False
    # the download dialog
    open_dialog: bool = False
    open_id: int = 0
    open_label: str = ""
    open_error: str = ""

    def _page_size(self) -> int:
        return PAGE_SIZE

    @rx.event
    def load(self):
        """On mount of the tab: the page of the customer in the address."""
        self.rows, self.total, self.page = [], 0, 1
        raw = str(self.router.page.params.get("cid", ""))
        actor = self._actor()
        if actor is None or not raw.isdecimal():
            return None
        self.cid = int(raw)
        self.can_write = actor.can("attachment.write")
        self.can_open = actor.can("attachment.read")
        return self._fetch()

    def _fetch(self):
        result, error = self._call(
            attachments.list_attachments,
            customer_id=self.cid,
            page=self.page,
            page_size=PAGE_SIZE,
        )
        return self._show(result, error)

    def _list_detached(self) -> tuple[attachments.AttachmentPage | None, str | None]:
        """The page as `_fetch` reads it, changing nothing on the state (for `save`)."""
        result, error, _ = self._call_detached(
            attachments.list_attachments,
            customer_id=self.cid,
            page=self.page,
            page_size=PAGE_SIZE,
        )
        return result, error

    def _show(self, result: attachments.AttachmentPage | None, error: str | None):
        if error:
            self.rows, self.total = [], 0
            return rx.toast.error(error)
        self.cid, self.total = result.customer_id, result.total
        self.rows = [
            AttachmentRow(
                id=str(r.id),
                number=r.archive_number,
                category=self._t(f"attachment.category.{r.category}"),
                location=r.paper_location,
                file=r.filename_masked or (self._t("attachment.name_hidden") if r.has_file else ""),
                size=size_text(r.size) if r.has_file else "",
                has_file=bool(r.has_file),
                uploader=r.uploaded_by_name,
                time=clock.format_local(r.created_at),
            )
            for r in result.rows
        ]
        return None

    # --- adding -------------------------------------------------------------------------------

    @rx.event
    def open_add(self):
        self.category = self.archive_number = self.paper_location = ""
        self.errors, self.form_error, self.add_open = AttachmentErrors(), "", True
        return rx.clear_selected_files(UPLOAD_ID)

    @rx.event
    def close_add(self):
        self.add_open = False
        return rx.clear_selected_files(UPLOAD_ID)

    @rx.event
    def set_category(self, value: str):
        self.category = str(value)[:MAX_TYPED]

    @rx.event
    def set_archive_number(self, value: str):
        self.archive_number = str(value)[:MAX_TYPED]

    @rx.event
    def set_paper_location(self, value: str):
        self.paper_location = str(value)[:MAX_TYPED]

    @rx.event(background=True)
    async def save(self, chunks: rx.UploadChunkIterator):
        """The selected file arrives in chunks (none for a paper original alone). Reading stops
        at the first byte past the limit, which also ends the upload request. The service
        encrypts and stores it off the event loop, outside `async with self` (the tab's state
        stays free meanwhile); the state takes the outcome afterwards."""
        async with self:
            self.saving = True
            entered = {
                "customer_id": self.cid,
                "category": self.category,
                "archive_number": self.archive_number,
                "paper_location": self.paper_location,
            }
        names: set[str] = set()
        data = bytearray()
        refused = ""
        async for chunk in chunks:
            names.add(chunk.filename)
            if len(names) > 1:
                refused = "attachment.error.too_many_files"
                break
            if len(data) + len(chunk.data) > attachments.MAX_BYTES:
                refused = "attachment.error.file_too_large"
                break
            data += chunk.data
        if refused:
            async with self:
                self.saving = False
                self.errors = AttachmentErrors(file=self._t(refused))
                self.form_error = self._t("form.has_errors")
            return
        ref, error, field_errors = await run_off_loop(
            self._call_detached,
            attachments.add_attachment,
            **entered,
            filename=next(iter(names), ""),
            content=bytes(data) if names else None,
        )
        async with self:
            self.saving = False
            self.errors = errors_for(AttachmentErrors, field_errors)
            if error:
                self.form_error = error
                return
            self.form_error, self.add_open, self.page = "", False, 1
            message = self._t("attachment.added", number=ref.archive_number)
        listed = await run_off_loop(self._list_detached)
        async with self:
            self._show(*listed)
        yield rx.clear_selected_files(UPLOAD_ID)
        yield rx.toast.success(message)

    # --- downloading --------------------------------------------------------------------------

    @rx.event
    def ask_open(self, attachment_id: str, label: str):
        self.open_id = int(attachment_id) if str(attachment_id).isdecimal() else 0
        self.open_label, self.open_error, self.open_dialog = str(label)[:40], "", True

    @rx.event
    def close_open(self):
        self.open_dialog = False

    @rx.event
    def download(self, form: dict):
        reason = self._reason(form, "attachment.reason", OPEN_REASONS)
        opened, error = self._call(
            attachments.open_attachment, attachment_id=self.open_id, reason=reason
        )
        if error:
            self.open_error = self._field_errors.get("reason", error)
            return None
        self.open_dialog = False
        # a data: URL in an <a download>: saved to disk, never rendered, never cached
        return rx.download(
            data=opened.content, filename=opened.filename, mime_type="application/octet-stream"
        )


# --- the tab ----------------------------------------------------------------------------------

COLUMNS = (
    "attachment.col.archive_number",
    "attachment.col.category",
    "attachment.col.paper_location",
    "attachment.col.file",
    "attachment.col.size",
    "attachment.col.uploader",
    "attachment.col.time",
    "common.actions",
)


def _row(row: rx.Var) -> rx.Component:
    S = AttachmentsState
    return rx.table.row(
        rx.table.cell(rx.code(row.number, variant="ghost"), white_space="nowrap"),
        rx.table.cell(row.category),
        rx.table.cell(rx.cond(row.location != "", row.location, "—")),
        rx.table.cell(
            rx.cond(
                row.has_file,
                rx.text(row.file, size="2"),
                rx.badge(T("attachment.paper_only"), variant="soft", color_scheme="gray"),
            )
        ),
        rx.table.cell(row.size, white_space="nowrap"),
        rx.table.cell(row.uploader),
        rx.table.cell(row.time, white_space="nowrap"),
        rx.table.cell(
            rx.cond(
                S.can_open & row.has_file,
                rx.button(
                    rx.icon("download", size=14),
                    T("attachment.download"),
                    size="1",
                    variant="soft",
                    on_click=S.ask_open(row.id, row.number),
                    data_testid="attachment-download",
                ),
            )
        ),
        data_testid="attachment-row",
    )


def _labelled(label: str, control: rx.Component, error: rx.Var) -> rx.Component:
    return rx.vstack(
        rx.text(T(label), size="2", weight="medium"),
        control,
        field_error(error),
        spacing="1",
        width="100%",
    )


def _add_dialog() -> rx.Component:
    S = AttachmentsState
    return rx.dialog.root(
        rx.dialog.content(
            rx.dialog.title(T("attachment.add_title")),
            rx.vstack(
                _labelled(
                    "attachment.col.category",
                    rx.select.root(
                        rx.select.trigger(
                            placeholder=T("attachment.choose_category"),
                            width="100%",
                            data_testid="attachment-category",
                        ),
                        rx.select.content(
                            *[
                                rx.select.item(T(f"attachment.category.{c}"), value=c)
                                for c in ATTACHMENT_CATEGORIES
                            ]
                        ),
                        value=S.category,
                        on_change=S.set_category,
                    ),
                    S.errors.category,
                ),
                _labelled(
                    "attachment.col.archive_number",
                    rx.input(
                        value=S.archive_number,
                        on_change=S.set_archive_number,
                        placeholder=T("attachment.archive_number_hint"),
                        max_length=attachments.MAX_ARCHIVE_NUMBER,
                        id="attachment-archive-number",
                        width="100%",
                    ),
                    S.errors.archive_number,
                ),
                _labelled(
                    "attachment.col.paper_location",
                    rx.input(
                        value=S.paper_location,
                        on_change=S.set_paper_location,
                        placeholder=T("attachment.paper_location_hint"),
                        max_length=attachments.MAX_PAPER_LOCATION,
                        id="attachment-paper-location",
                        width="100%",
                    ),
                    S.errors.paper_location,
                ),
                _labelled(
                    "attachment.col.file",
                    rx.vstack(
                        rx.upload(
                            rx.vstack(
                                rx.icon("upload", size=20),
                                rx.text(T("attachment.file_hint"), size="1", align="center"),
                                align="center",
                                spacing="1",
                            ),
                            id=UPLOAD_ID,
                            multiple=False,
                            max_files=1,
                            max_size=attachments.MAX_BYTES,
                            accept=ACCEPT,
                            on_drop_rejected=lambda _files: rx.toast.error(
                                T("attachment.error.file_rejected")
                            ),
                            padding="12px",
                            width="100%",
                            border=f"1px dashed {rx.color('gray', 7)}",
                            border_radius="8px",
                            cursor="pointer",
                        ),
                        rx.foreach(
                            rx.selected_files(UPLOAD_ID),
                            lambda name: rx.text(rx.icon("file", size=12), " ", name, size="1"),
                        ),
                        width="100%",
                        spacing="1",
                    ),
                    S.errors.file,
                ),
                field_error(S.form_error),
                form_actions(
                    S.close_add,
                    "common.save",
                    "attachment-save",
                    submit_type="button",
                    loading=S.saving,
                    on_click=S.save(rx.upload_files_chunk(upload_id=UPLOAD_ID)),
                ),
                spacing="3",
            ),
        ),
        open=S.add_open,
        on_open_change=lambda _o: S.close_add(),
    )


def _open_dialog() -> rx.Component:
    S = AttachmentsState
    return form_dialog(
        reason_fields("attachment.reason", OPEN_REASONS, "attachment-reason"),
        title=rx.fragment(T("attachment.download_title"), " ", S.open_label),
        description="attachment.download_notice",
        is_open=S.open_dialog,
        on_close=S.close_open,
        on_submit=S.download,
        error=S.open_error,
        submit_label="attachment.download",
        submit_testid="attachment-download-confirm",
        reset_on_submit=True,
    )


def attachments_tab() -> rx.Component:
    S = AttachmentsState
    return rx.vstack(
        rx.hstack(
            rx.text(T("attachment.encrypted_note"), size="1", color_scheme="gray"),
            rx.spacer(),
            rx.cond(
                S.can_write,
                rx.button(
                    rx.icon("paperclip", size=14),
                    T("attachment.add"),
                    on_click=S.open_add,
                    data_testid="attachment-add",
                ),
            ),
            align="center",
            width="100%",
        ),
        rx.cond(
            S.total == 0,
            rx.callout(T("attachment.empty"), icon="info", color_scheme="gray", width="100%"),
            data_table(COLUMNS, S.rows, _row),
        ),
        pager(S.page, S.pages, S.total, S.prev_page, S.next_page),
        _add_dialog(),
        _open_dialog(),
        on_mount=S.load,
        width="100%",
    )
