"""One-file upload pieces: the accepted types, the size as text, reading an upload's chunks into
memory (never onto disk) and the drop zone with its send button. Used by the profile's 附件 tab,
the complaint page's 附件 and the member portal's complaint."""

from __future__ import annotations

import reflex as rx

from custapp.components.shell import T, field_error
from custapp.services import attachments

ACCEPT = {mime: list(extensions) for mime, (extensions, _) in attachments.TYPES.items()}


def size_text(size: int) -> str:
    if size < 1024:
        return f"{size} B"
    if size < 1024 * 1024:
        return f"{size / 1024:.0f} KB"
    return f"{size / (1024 * 1024):.1f} MB"


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
