"""消息: the staff member's in-app messages (alerts such as role grants)."""

from __future__ import annotations

import dataclasses

import reflex as rx

from custapp import clock
from custapp.components.shell import T, page, pager
from custapp.services import outbox
from custapp.services.customer_input import row_id
from custapp.states.paging import PagedMixin
from custapp.states.session import SessionState

PAGE_SIZE = 20


@dataclasses.dataclass(frozen=True)
class MessageRow:
    id: int = 0
    subject: str = ""
    body: str = ""
    time: str = ""
    read: bool = False


class MessagesState(PagedMixin, SessionState):
    rows: list[MessageRow] = []

    @rx.event
    def load(self):
        _, redirect = self._enter("message.read")
        if redirect:
            return redirect
        return self._fetch()

    def _fetch(self):
        result, error = self._call(outbox.list_inbox, page=self.page, page_size=PAGE_SIZE)
        if error:
            return rx.toast.error(error)
        rows, self.total = result
        self.rows = [
            MessageRow(
                id=r.id,
                subject=r.subject,
                body=r.body,
                time=clock.format_local(r.created_at),
                read=r.read,
            )
            for r in rows
        ]
        return None

    @rx.event
    def mark_read(self, message_id: str):
        _, error = self._call(outbox.mark_read, message_id=row_id(message_id))
        if error:
            return rx.toast.error(error)
        return self._fetch()


def _message(row: rx.Var) -> rx.Component:
    return rx.card(
        rx.hstack(
            rx.vstack(
                rx.hstack(
                    rx.cond(~row.read, rx.badge(T("messages.new"), color_scheme="blue")),
                    rx.text(row.subject, weight="bold"),
                    align="center",
                ),
                rx.text(row.body, size="2"),
                rx.text(row.time, size="1", color_scheme="gray"),
                spacing="1",
            ),
            rx.spacer(),
            rx.cond(
                ~row.read,
                rx.button(
                    T("messages.mark_read"),
                    size="1",
                    variant="soft",
                    on_click=MessagesState.mark_read(row.id),
                ),
            ),
            width="100%",
        ),
        width="100%",
    )


def messages_page() -> rx.Component:
    S = MessagesState
    return page(
        "nav.messages",
        rx.vstack(rx.foreach(S.rows, _message), width="100%", spacing="2"),
        rx.cond(S.total == 0, rx.text(T("messages.empty"), color_scheme="gray")),
        pager(S.page, S.pages, S.total, S.prev_page, S.next_page),
    )
