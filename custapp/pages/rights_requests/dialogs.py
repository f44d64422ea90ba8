"""Filing a request on 权利请求 (front desk, cs_manager, compliance): the customer found by number
or phone, the kind, the channel and what was asked; a substate of RightsState with its view beside
it. The service checks `rights.file` whatever the browser sends."""

from __future__ import annotations

import reflex as rx

from custapp.components.shell import T, content_dialog, field_error, form_actions
from custapp.pages.rights_requests.state import RightsState
from custapp.services import customer_search, rights

MAX_TYPED = 40


class FileDialogState(RightsState):
    is_open: bool = False
    lookup_text: str = ""
    customer_label: str = ""  # the customer found, "number name"
    errors: dict[str, str] = {}
    error: str = ""
    _file_cid: int = 0

    def _clear(self) -> None:
        self.is_open, self._file_cid, self.customer_label = False, 0, ""

    @rx.event
    def open_file(self):
        self.lookup_text = self.customer_label = self.error = ""
        self.errors, self._file_cid, self.is_open = {}, 0, True

    @rx.event
    def close_file(self):
        self._clear()

    @rx.event
    def set_lookup_text(self, value: str):
        self.lookup_text = str(value)[:MAX_TYPED]
        self._file_cid, self.customer_label = 0, ""

    def _lookup_failed(self, message: str) -> None:
        self.errors = {**self.errors, "customer": message}

    @rx.event
    def lookup(self):
        self._file_cid, self.customer_label = 0, ""
        self.errors = {k: v for k, v in self.errors.items() if k != "customer"}
        mode, _ = customer_search.classify_query(self.lookup_text)
        if mode not in ("number", "phone"):
            return self._lookup_failed(self._t("rights.error.lookup_format"))
        result, error = self._call(
            customer_search.search_customers, query=self.lookup_text, page_size=2
        )
        if error:
            return self._lookup_failed(error)
        if result.total != 1:
            key = "no_customer" if result.total == 0 else "several_customers"
            return self._lookup_failed(self._t(f"rights.error.{key}"))
        found = result.rows[0]
        self._file_cid, self.customer_label = found.id, f"{found.number} {found.name}"
        return None

    @rx.event
    def file(self, form: dict):
        if not self._file_cid:
            self.errors = {"customer": self._t("rights.error.customer_required")}
            self.error = self._t("form.has_errors")
            return None
        ref, error = self._call(
            rights.file_request,
            customer_id=self._file_cid,
            kind=str(form.get("kind", "")),
            channel=str(form.get("channel", "")),
            detail=str(form.get("detail", "")),
        )
        self.errors = dict(self._field_errors)
        if error:
            self.error = error
            return None
        self._clear()
        self.error = ""
        self.page = self.filed_page = 1
        refresh = self._refresh()
        toast = rx.toast.success(
            self._t("rights.filed", number=ref.number, due=ref.due_on.isoformat())
        )
        return [e for e in (refresh, toast) if e is not None]


# --- the dialog -----------------------------------------------------------------------------------

F = FileDialogState


def _select(name: str, placeholder: str, items: list[tuple[str, str]], testid: str):  # noqa: ANN202
    return rx.select.root(
        rx.select.trigger(placeholder=T(placeholder), width="100%", data_testid=testid),
        rx.select.content(*[rx.select.item(T(label), value=value) for value, label in items]),
        name=name,
    )


def _labelled(label: str, control: rx.Component, error: str) -> rx.Component:
    return rx.vstack(
        rx.text(T(label), size="2", weight="medium"),
        control,
        field_error(F.errors.get(error, "")),
        spacing="1",
        width="100%",
    )


def _customer() -> rx.Component:
    return rx.vstack(
        rx.hstack(
            rx.input(
                value=F.lookup_text,
                on_change=F.set_lookup_text,
                placeholder=T("rights.lookup"),
                max_length=MAX_TYPED,
                id="rights-lookup",
                width="100%",
            ),
            rx.button(
                rx.icon("search", size=14),
                T("rights.find"),
                type="button",
                variant="soft",
                on_click=F.lookup,
                data_testid="rights-find",
            ),
            width="100%",
        ),
        rx.cond(
            F.customer_label != "",
            rx.badge(
                rx.icon("user-check", size=14),
                F.customer_label,
                color_scheme="green",
                size="2",
                data_testid="rights-customer",
            ),
        ),
        spacing="2",
        width="100%",
    )


def file_dialog() -> rx.Component:
    return content_dialog(
        _labelled("rights.customer", _customer(), "customer"),
        rx.form(
            rx.vstack(
                rx.hstack(
                    _labelled(
                        "rights.kind",
                        _select(
                            "kind",
                            "rights.choose_kind",
                            [(k, f"rights.kind.{k}") for k in rights.KINDS],
                            "rights-kind",
                        ),
                        "kind",
                    ),
                    _labelled(
                        "rights.channel",
                        _select(
                            "channel",
                            "rights.choose_channel",
                            [(c, f"rights.channel.{c}") for c in rights.STAFF_CHANNELS],
                            "rights-channel",
                        ),
                        "channel",
                    ),
                    width="100%",
                ),
                _labelled(
                    "rights.detail",
                    rx.text_area(
                        name="detail",
                        placeholder=T("rights.detail_hint"),
                        max_length=rights.MAX_DETAIL,
                        rows="4",
                        id="rights-detail",
                        width="100%",
                    ),
                    "detail",
                ),
                field_error(F.error),
                form_actions(F.close_file, submit_testid="rights-save"),
                spacing="3",
                width="100%",
            ),
            on_submit=F.file,
            width="100%",
        ),
        title=T("rights.file"),
        description=T("rights.file_notice"),
        is_open=F.is_open,
        on_close=F.close_file,
        max_width="560px",
    )
