"""One request opened by compliance on 权利请求: its facts and what was asked, taking or assigning
it, producing the copy, and closing it with the outcome; a substate of RightsState with its view
beside it (and the dialog with the copy's password).

What the customer asked is in state only while the dialog is open. The copy is sent to this
browser tab alone as rx.download data (no address exists to fetch it again) and its password
appears in its own dialog, to be given to the customer another way."""

from __future__ import annotations

import reflex as rx

from custapp.components.shell import T, content_dialog, field_error
from custapp.pages.rights_requests.rows import RequestDetail
from custapp.pages.rights_requests.state import RightsState
from custapp.pages.rights_requests.widgets import fact, overdue_badge, status_badge
from custapp.services import copy_bundle, rights, rights_erasure
from custapp.states.options import Option
from custapp.vocab import RightsKind, RightsStatus


class RequestDetailState(RightsState):
    is_open: bool = False
    request: RequestDetail = RequestDetail()
    purposes: list[Option] = []  # the customer's granted purposes (a withdrawal)
    chosen: list[str] = []  # the purposes ticked to withdraw
    handlers: list[Option] = []  # who may be assigned (user id, name)
    handler: str = ""
    outcome: str = ""
    error: str = ""
    _detail_id: int = 0
    # the password of a copy just produced
    password_open: bool = False
    copy_password: str = ""
    copy_notice: str = ""

    def _close(self) -> None:
        self.is_open, self._detail_id, self.request = False, 0, RequestDetail()
        self.purposes, self.chosen, self.handlers = [], [], []
        self.handler = self.outcome = self.error = ""
        for part in self.substates.values():  # the deletion panel (erasure.py)
            part._clear()

    def _opened(self) -> None:
        """A request was (re)loaded into the dialog: the panels below read what they show."""
        for part in self.substates.values():
            part._opened()

    def _outcome(self, row: rights.RequestRow, outcome: str) -> str:
        """The outcome as the customer was told it: a refused deletion's legal reason, or the
        destruction that did a deletion."""
        if row.refusal_reason:
            return rights_erasure.refusal_text(row.refusal_reason, outcome, self.locale)
        if row.outcome_ref:
            return self._t("rights.erasure.done_ref", number=row.outcome_ref)
        return outcome

    def _clear(self) -> None:
        self._close()
        self.password_open, self.copy_password, self.copy_notice = False, "", ""

    def _load_detail(self) -> str | None:
        result, error = self._call(
            rights.get_request, request_id=self._detail_id, locale=self.locale
        )
        if error:
            return error
        handlers, error = self._call(rights.list_handlers)
        if error:
            return error
        self.request = RequestDetail(
            **self._row_fields(result.row),
            detail=result.detail,
            outcome=self._outcome(result.row, result.outcome),
            filed_by=result.filed_by_name or "—",
            active=result.row.status in rights.OPEN_STATUSES,
        )
        self.purposes = [Option(code, name) for code, name in result.granted_purposes]
        self.chosen = [code for code, _ in result.granted_purposes]
        self.handlers = [Option(str(i), name) for i, name in handlers]
        self.handler = str(result.row.handler_id or "")
        self._opened()
        return None

    @rx.event
    def open_detail(self, request_id: str):
        self._close()
        self._detail_id = int(request_id) if str(request_id).isdecimal() else 0
        error = self._load_detail()
        if error:
            self._close()
            return rx.toast.error(error)
        self.is_open = True
        return None

    @rx.event
    def close_detail(self):
        self._close()

    @rx.event
    def set_handler(self, value: str):
        self.handler = str(value) if str(value) in {h.value for h in self.handlers} else ""

    @rx.event
    def keep_outcome(self, value: str):
        self.outcome = str(value)[: rights.MAX_OUTCOME + 1]

    @rx.event
    def toggle_purpose(self, code: str, checked: bool):
        known = [p.value for p in self.purposes]
        chosen = [c for c in self.chosen if c != code]
        if checked and code in known:
            chosen.append(code)
        self.chosen = [c for c in known if c in chosen]

    def _after_change(self, message: str):
        error = self._load_detail()
        self._fetch()
        if error:
            self._close()
        return rx.toast.success(message)

    @rx.event
    def assign(self, to_me: bool):
        if not to_me and not self.handler.isdecimal():
            self.error = self._t("rights.error.handler")
            return None
        handler = None if to_me else int(self.handler)
        _, error = self._call(rights.assign, request_id=self._detail_id, handler_id=handler)
        if error:
            self.error = self._field_errors.get("handler", error)
            return None
        self.error = ""
        return self._after_change(self._t("rights.assigned"))

    @rx.event
    def close_request(self, status: str):
        number = self.request.number
        names = {p.value: p.label for p in self.purposes}
        withdrawal = self.request.kind_code == RightsKind.WITHDRAWAL
        withdrawn, error = self._call(
            rights.close_request,
            request_id=self._detail_id,
            status=status,
            outcome=self.outcome,
            purposes=list(self.chosen) if withdrawal else None,
        )
        if error:
            fields = self._field_errors
            self.error = fields.get("outcome") or fields.get("purposes") or error
            return None
        self._close()
        self._fetch()
        key = "rights.closed_done" if status == RightsStatus.DONE else "rights.closed_refused"
        toasts = [rx.toast.success(self._t(key, number=number))]
        if withdrawn:
            shown = "、".join(names.get(p, p) for p in withdrawn)
            toasts.append(rx.toast.info(self._t("rights.withdrawn", purposes=shown)))
        return toasts

    @rx.event
    def make_copy(self):
        result, error = self._call(
            copy_bundle.build_copy, request_id=self._detail_id, locale=self.locale
        )
        if error:
            self.error = error
            return None
        filename, content, password = result
        self._load_detail()
        self._fetch()
        self.copy_notice = self._t("rights.password_notice", filename=filename)
        self.copy_password, self.password_open = password, True
        # a data: URL in an <a download>: saved to disk, never rendered, never cached
        return rx.download(data=content, filename=filename, mime_type="application/zip")

    @rx.event
    def close_password(self):
        self.password_open, self.copy_password, self.copy_notice = False, "", ""


# --- the dialogs ----------------------------------------------------------------------------------

D = RequestDetailState


def _withdrawal_hint() -> rx.Component:
    return rx.callout(
        rx.vstack(
            rx.text(T("rights.withdrawal_hint"), size="2"),
            rx.cond(
                D.purposes.length() > 0,
                rx.flex(
                    rx.foreach(
                        D.purposes,
                        lambda p: rx.checkbox(
                            p.label,
                            checked=D.chosen.contains(p.value),
                            on_change=lambda v: D.toggle_purpose(p.value, v),
                            data_testid="rights-purpose",
                        ),
                    ),
                    wrap="wrap",
                    spacing="4",
                ),
                rx.text(T("rights.withdrawal_none"), size="2", weight="medium"),
            ),
            spacing="2",
        ),
        icon="undo-2",
        color_scheme="amber",
        width="100%",
    )


def _copy_hint() -> rx.Component:
    return rx.callout(
        rx.hstack(
            rx.text(T("rights.copy_hint"), size="2"),
            rx.button(
                rx.icon("file-down", size=14),
                T("rights.make_copy"),
                size="2",
                on_click=D.make_copy,
                data_testid="rights-make-copy",
            ),
            align="center",
            spacing="3",
        ),
        icon="file-archive",
        color_scheme="blue",
        width="100%",
    )


def _kind_help() -> rx.Component:
    r = D.request
    profile = rx.link(
        rx.button(rx.icon("user-pen", size=14), T("rights.open_profile"), size="1", variant="soft"),
        href="/customers/" + r.customer_id.to_string(),
    )
    return rx.match(
        r.kind_code,
        (
            RightsKind.CORRECTION,
            rx.callout(
                rx.vstack(rx.text(T("rights.correction_hint"), size="2"), profile, spacing="2"),
                icon="pencil",
                color_scheme="blue",
                width="100%",
            ),
        ),
        (
            RightsKind.DELETION,
            rx.callout(T("rights.deletion_hint"), icon="trash-2", color_scheme="amber"),
        ),
        (RightsKind.WITHDRAWAL, rx.cond(r.active, _withdrawal_hint())),
        (RightsKind.COPY, rx.cond(r.active, _copy_hint())),
        rx.fragment(),
    )


def _handling() -> rx.Component:
    return rx.vstack(
        rx.hstack(
            rx.text(T("rights.handler"), size="2", weight="medium"),
            rx.select.root(
                rx.select.trigger(placeholder=T("rights.unassigned"), data_testid="rights-handler"),
                rx.select.content(
                    rx.foreach(D.handlers, lambda h: rx.select.item(h.label, value=h.value))
                ),
                value=D.handler,
                on_change=D.set_handler,
            ),
            rx.button(T("rights.assign"), size="1", variant="soft", on_click=D.assign(False)),
            rx.button(
                rx.icon("hand", size=14),
                T("rights.assign_me"),
                size="1",
                variant="soft",
                on_click=D.assign(True),
                data_testid="rights-assign-me",
            ),
            align="center",
            spacing="2",
            wrap="wrap",
        ),
        rx.vstack(
            rx.text(T("rights.outcome"), size="2", weight="medium"),
            rx.text_area(
                default_value="",
                on_blur=D.keep_outcome,
                placeholder=T("rights.outcome_hint"),
                max_length=rights.MAX_OUTCOME,
                rows="3",
                id="rights-outcome",
                width="100%",
            ),
            spacing="1",
            width="100%",
        ),
        field_error(D.error),
        rx.hstack(
            rx.button(
                T("common.cancel"), variant="soft", color_scheme="gray", on_click=D.close_detail
            ),
            rx.cond(  # a deletion is refused with its legal reason (erasure.py)
                D.request.kind_code != RightsKind.DELETION,
                rx.button(
                    rx.icon("ban", size=14),
                    T("rights.close_refuse"),
                    color_scheme="red",
                    variant="soft",
                    on_click=D.close_request(RightsStatus.REFUSED),
                    data_testid="rights-refuse",
                ),
            ),
            rx.button(
                rx.icon("check", size=14),
                T("rights.close_done"),
                color_scheme="green",
                on_click=D.close_request(RightsStatus.DONE),
                data_testid="rights-done",
            ),
            justify="end",
            width="100%",
        ),
        spacing="3",
        width="100%",
    )


def _closed() -> rx.Component:
    r = D.request
    return rx.vstack(
        rx.text(T("rights.outcome"), size="2", weight="medium"),
        rx.text(r.outcome, size="2", white_space="pre-wrap"),
        rx.text(T("rights.closed_at"), " ", r.closed, size="1", color_scheme="gray"),
        rx.hstack(
            rx.button(T("common.done"), variant="soft", on_click=D.close_detail),
            justify="end",
            width="100%",
        ),
        spacing="2",
        width="100%",
    )


def detail_dialog(*panels: rx.Component) -> rx.Component:
    """`panels`: shown below the handling, each deciding itself when (the deletion panel)."""
    r = D.request
    return content_dialog(
        rx.data_list.root(
            fact(
                "rights.customer",
                rx.link(r.customer, href="/customers/" + r.customer_id.to_string()),
            ),
            fact("rights.kind", r.kind),
            fact("rights.channel", r.channel),
            fact("rights.received", r.received),
            fact("rights.due_on", r.due),
            fact("rights.filed_by", r.filed_by),
            fact("rights.handler", r.handler),
            size="2",
            orientation=rx.breakpoints(initial="vertical", sm="horizontal"),
        ),
        rx.vstack(
            rx.text(T("rights.detail"), size="2", weight="medium"),
            rx.box(
                rx.text(r.detail, size="2", white_space="pre-wrap"),
                padding="8px 12px",
                border_radius="6px",
                background=rx.color("gray", 3),
                width="100%",
                data_testid="rights-detail-text",
            ),
            spacing="1",
            width="100%",
        ),
        _kind_help(),
        rx.cond(r.active, _handling(), _closed()),
        *panels,
        title=rx.hstack(
            rx.text(T("rights.detail_title")),
            rx.code(r.number),
            status_badge(r.status, r.status_code),
            overdue_badge(r.overdue),
            align="center",
            spacing="2",
        ),
        is_open=D.is_open,
        on_close=D.close_detail,
        max_width="680px",
        spacing="4",
    )


def password_dialog() -> rx.Component:
    return rx.alert_dialog.root(
        rx.alert_dialog.content(
            rx.alert_dialog.title(T("rights.password_title")),
            rx.vstack(
                rx.callout(D.copy_notice, icon="shield-alert", color_scheme="amber"),
                rx.center(
                    rx.code(
                        D.copy_password,
                        size="8",
                        variant="outline",
                        letter_spacing="0.12em",
                        data_testid="copy-password",
                    ),
                    padding="12px",
                    width="100%",
                ),
                rx.hstack(
                    rx.button(
                        T("rights.password_done"),
                        on_click=D.close_password,
                        data_testid="copy-password-done",
                    ),
                    justify="end",
                    width="100%",
                ),
                spacing="3",
                width="100%",
            ),
            max_width="480px",
        ),
        open=D.password_open,
    )
