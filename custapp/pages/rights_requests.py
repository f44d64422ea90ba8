"""权利请求: customers' personal-information rights requests (copy, correction, deletion,
withdrawal, explanation).

Whoever may file (front desk, cs_manager, compliance) records a request the customer made at the
counter, by phone or by letter; the front desk also sees the requests they filed, without what
was asked. Compliance works the list: soonest due first, overdue ones in red, a detail dialog to
take or assign a request, produce the copy and close it with the outcome.

The copy is sent to this browser tab alone as rx.download data (no address exists to fetch it
again) and its password appears in a separate dialog, to be given to the customer another way.
What the customer asked is shown only in the open dialog and dropped when it closes.
"""

from __future__ import annotations

import reflex as rx

from custapp import clock
from custapp.components.shell import (
    T,
    content_dialog,
    field_error,
    form_actions,
    loading,
    page,
    paged_table,
    toolbar,
)
from custapp.services import copy_bundle, customer_search, rights
from custapp.settings import get_settings
from custapp.states.paging import PagedMixin
from custapp.states.session import SessionState

PAGE_SIZE = 20
FILED_PAGE_SIZE = 10
STATUS_CHOICES = ("active", "all", *rights.STATUSES)
STATUS_COLORS = {"open": "amber", "in_progress": "blue", "done": "green", "refused": "gray"}
MAX_TYPED = 40


class RightsState(PagedMixin, SessionState):
    can_file: bool = False
    can_manage: bool = False
    hint: str = ""
    loaded: bool = False
    # compliance: the list
    rows: list[dict[str, str]] = []
    f_status: str = "active"
    f_kind: str = "all"
    f_overdue: bool = False
    # front desk: the requests they filed
    filed_rows: list[dict[str, str]] = []
    filed_total: int = 0
    filed_page: int = 1
    # the filing dialog
    file_open: bool = False
    lookup_text: str = ""
    customer_label: str = ""
    errors: dict[str, str] = {}
    form_error: str = ""
    _file_cid: int = 0
    # the detail dialog (compliance)
    detail_open: bool = False
    d: dict[str, str] = {}
    d_purposes: list[list[str]] = []  # [code, name] of the granted purposes (withdrawal)
    d_chosen: list[str] = []
    d_handlers: list[list[str]] = []  # [user id, name]
    d_handler: str = ""
    d_outcome: str = ""
    d_error: str = ""
    _detail_id: int = 0
    # the password of a copy just produced
    password_open: bool = False
    copy_password: str = ""
    copy_notice: str = ""

    def _page_size(self) -> int:
        return PAGE_SIZE

    @rx.var
    def filed_pages(self) -> int:
        return max(1, -(-self.filed_total // FILED_PAGE_SIZE))

    def _close_detail(self) -> None:
        self.detail_open, self._detail_id = False, 0
        self.d, self.d_purposes, self.d_chosen, self.d_handlers = {}, [], [], []
        self.d_handler = self.d_outcome = self.d_error = ""

    def _clear(self) -> None:
        self.rows, self.filed_rows, self.total, self.filed_total = [], [], 0, 0
        self.page = self.filed_page = 1
        self.loaded = self.file_open = self.password_open = False
        self.copy_password = self.copy_notice = ""
        self._close_detail()

    @rx.event
    def load(self):
        actor, redirect = self._enter("rights.file")
        if redirect:
            return redirect
        self._clear()
        self.can_file = actor.can("rights.file")
        self.can_manage = actor.can("rights.manage")
        self.hint = self._t("rights.hint", days=get_settings().rights_due_days)
        return RightsState.fetch_all

    @rx.event
    def fetch_all(self):
        """A second event after load, so the page shows its loading state first."""
        event = self._fetch() if self.can_manage else self._fetch_filed()
        self.loaded = True
        return event

    # --- rows -----------------------------------------------------------------------------------

    def _row(self, r: rights.RequestRow) -> dict[str, str]:
        return {
            "id": str(r.id),
            "number": r.number,
            "customer_id": str(r.customer_id),
            "customer": f"{r.customer_number} {r.customer_name}",
            "kind": self._t(f"rights.kind.{r.kind}"),
            "kind_code": r.kind,
            "channel": self._t(f"rights.channel.{r.channel}"),
            "received": clock.format_local(r.received_at),
            "due": r.due_on.isoformat(),
            "status": self._t(f"rights.status.{r.status}"),
            "status_code": r.status,
            "handler": r.handler_name or self._t("rights.unassigned"),
            "closed": clock.format_local(r.closed_at),
            "overdue": self._t("rights.overdue", days=r.overdue_days) if r.overdue_days else "",
        }

    def _fetch(self):
        result, error = self._call(
            rights.list_requests,
            status="" if self.f_status == "all" else self.f_status,
            kind="" if self.f_kind == "all" else self.f_kind,
            overdue_only=self.f_overdue,
            page=self.page,
            page_size=PAGE_SIZE,
        )
        if error:
            self.rows, self.total = [], 0
            return rx.toast.error(error)
        rows, self.total = result
        self.rows = [self._row(r) for r in rows]
        return None

    def _fetch_filed(self):
        result, error = self._call(
            rights.list_filed, page=self.filed_page, page_size=FILED_PAGE_SIZE
        )
        if error:
            self.filed_rows, self.filed_total = [], 0
            return rx.toast.error(error)
        rows, self.filed_total = result
        self.filed_rows = [self._row(r) for r in rows]
        return None

    @rx.event
    def set_f_status(self, value: str):
        self.f_status, self.page = (value if value in STATUS_CHOICES else "active"), 1
        return self._fetch()

    @rx.event
    def set_f_kind(self, value: str):
        self.f_kind, self.page = (value if value in rights.KINDS else "all"), 1
        return self._fetch()

    @rx.event
    def set_f_overdue(self, value: bool):
        self.f_overdue, self.page = bool(value), 1
        return self._fetch()

    @rx.event
    def filed_prev(self):
        self.filed_page = max(1, self.filed_page - 1)
        return self._fetch_filed()

    @rx.event
    def filed_next(self):
        self.filed_page = min(self.filed_pages, self.filed_page + 1)
        return self._fetch_filed()

    # --- filing -----------------------------------------------------------------------------------

    @rx.event
    def open_file(self):
        self.lookup_text = self.customer_label = self.form_error = ""
        self.errors, self._file_cid, self.file_open = {}, 0, True

    @rx.event
    def close_file(self):
        self.file_open, self._file_cid, self.customer_label = False, 0, ""

    @rx.event
    def set_lookup_text(self, value: str):
        self.lookup_text = str(value)[:MAX_TYPED]
        self._file_cid, self.customer_label = 0, ""

    @rx.event
    def lookup(self):
        self._file_cid, self.customer_label = 0, ""
        self.errors = {k: v for k, v in self.errors.items() if k != "customer"}
        mode, _ = customer_search.classify_query(self.lookup_text)
        if mode not in ("number", "phone"):
            self.errors = {**self.errors, "customer": self._t("rights.error.lookup_format")}
            return None
        result, error = self._call(
            customer_search.search_customers, query=self.lookup_text, page_size=2
        )
        if error:
            self.errors = {**self.errors, "customer": error}
            return None
        if result.total != 1:
            key = "no_customer" if result.total == 0 else "several_customers"
            self.errors = {**self.errors, "customer": self._t(f"rights.error.{key}")}
            return None
        found = result.rows[0]
        self._file_cid, self.customer_label = found.id, f"{found.number} {found.name}"
        return None

    @rx.event
    def file(self, form: dict):
        if not self._file_cid:
            self.errors = {"customer": self._t("rights.error.customer_required")}
            self.form_error = self._t("form.has_errors")
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
            self.form_error = error
            return None
        self.file_open, self._file_cid, self.customer_label, self.form_error = False, 0, "", ""
        self.page = self.filed_page = 1
        refresh = self._fetch() if self.can_manage else self._fetch_filed()
        toast = rx.toast.success(
            self._t("rights.filed", number=ref.number, due=ref.due_on.isoformat())
        )
        return [e for e in (refresh, toast) if e is not None]

    # --- the detail dialog -------------------------------------------------------------------------

    def _load_detail(self) -> str | None:
        result, error = self._call(
            rights.get_request, request_id=self._detail_id, locale=self.locale
        )
        if error:
            return error
        handlers, error = self._call(rights.list_handlers)
        if error:
            return error
        self.d = {
            **self._row(result.row),
            "detail": result.detail,
            "outcome": result.outcome,
            "filed_by": result.filed_by_name or "—",
            "open": "1" if result.row.status in rights.OPEN_STATUSES else "",
        }
        self.d_purposes = [[code, name] for code, name in result.granted_purposes]
        self.d_chosen = [code for code, _ in result.granted_purposes]
        self.d_handlers = [[str(i), name] for i, name in handlers]
        self.d_handler = str(result.row.handler_id or "")
        return None

    @rx.event
    def open_detail(self, request_id: str):
        self._close_detail()
        self._detail_id = int(request_id) if str(request_id).isdecimal() else 0
        error = self._load_detail()
        if error:
            self._close_detail()
            return rx.toast.error(error)
        self.detail_open = True
        return None

    @rx.event
    def close_detail(self):
        self._close_detail()

    @rx.event
    def set_d_handler(self, value: str):
        self.d_handler = str(value) if [str(value)] in [[h[0]] for h in self.d_handlers] else ""

    @rx.event
    def keep_outcome(self, value: str):
        self.d_outcome = str(value)[: rights.MAX_OUTCOME + 1]

    @rx.event
    def toggle_purpose(self, code: str, checked: bool):
        known = [p[0] for p in self.d_purposes]
        chosen = [c for c in self.d_chosen if c != code]
        if checked and code in known:
            chosen.append(code)
        self.d_chosen = [c for c in known if c in chosen]

    def _after_change(self, message: str):
        error = self._load_detail()
        self._fetch()
        if error:
            self._close_detail()
        return rx.toast.success(message)

    @rx.event
    def assign(self, to_me: bool):
        if not to_me and not self.d_handler.isdecimal():
            self.d_error = self._t("rights.error.handler")
            return None
        handler = None if to_me else int(self.d_handler)
        _, error = self._call(rights.assign, request_id=self._detail_id, handler_id=handler)
        if error:
            self.d_error = self._field_errors.get("handler", error)
            return None
        self.d_error = ""
        return self._after_change(self._t("rights.assigned"))

    @rx.event
    def close_request(self, status: str):
        number = self.d.get("number", "")
        names = dict(self.d_purposes)
        withdrawn, error = self._call(
            rights.close_request,
            request_id=self._detail_id,
            status=status,
            outcome=self.d_outcome,
            purposes=list(self.d_chosen) if self.d.get("kind_code") == "withdrawal" else None,
        )
        if error:
            fields = self._field_errors
            self.d_error = fields.get("outcome") or fields.get("purposes") or error
            return None
        self._close_detail()
        self._fetch()
        key = "rights.closed_done" if status == "done" else "rights.closed_refused"
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
            self.d_error = error
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


# --- the page -------------------------------------------------------------------------------------


def _status_badge(label: rx.Var, code: rx.Var) -> rx.Component:
    return rx.badge(
        label,
        color_scheme=rx.match(code, *[(k, v) for k, v in STATUS_COLORS.items()], "gray"),
        variant="soft",
    )


def _overdue_badge(text: rx.Var) -> rx.Component:
    return rx.cond(
        text != "",
        rx.badge(
            rx.icon("alarm-clock", size=12),
            text,
            color_scheme="red",
            variant="solid",
            data_testid="overdue-badge",
        ),
    )


def _row(row: rx.Var) -> rx.Component:
    overdue = row["overdue"] != ""
    return rx.table.row(
        rx.table.cell(rx.code(row["number"], variant="ghost"), white_space="nowrap"),
        rx.table.cell(
            rx.link(row["customer"], href="/customers/" + row["customer_id"]),
            white_space="nowrap",
        ),
        rx.table.cell(rx.badge(row["kind"], variant="outline")),
        rx.table.cell(row["channel"], white_space="nowrap"),
        rx.table.cell(row["received"], white_space="nowrap"),
        rx.table.cell(
            rx.vstack(
                rx.text(row["due"], weight=rx.cond(overdue, "bold", "regular")),
                _overdue_badge(row["overdue"]),
                spacing="1",
            ),
            white_space="nowrap",
        ),
        rx.table.cell(_status_badge(row["status"], row["status_code"])),
        rx.table.cell(row["handler"], white_space="nowrap"),
        rx.table.cell(
            rx.button(
                rx.icon("folder-open", size=14),
                T("rights.open"),
                size="1",
                variant="soft",
                on_click=RightsState.open_detail(row["id"]),
                data_testid="rights-open",
            )
        ),
        background=rx.cond(overdue, rx.color("red", 3), "transparent"),
        data_testid="rights-row",
    )


def _filed_row(row: rx.Var) -> rx.Component:
    return rx.table.row(
        rx.table.cell(rx.code(row["number"], variant="ghost"), white_space="nowrap"),
        rx.table.cell(row["customer"], white_space="nowrap"),
        rx.table.cell(rx.badge(row["kind"], variant="outline")),
        rx.table.cell(row["received"], white_space="nowrap"),
        rx.table.cell(row["due"], white_space="nowrap"),
        rx.table.cell(_status_badge(row["status"], row["status_code"])),
        data_testid="filed-row",
    )


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
        field_error(RightsState.errors.get(error, "")),
        spacing="1",
        width="100%",
    )


def _file_dialog() -> rx.Component:
    S = RightsState
    return content_dialog(
        _labelled(
            "rights.customer",
            rx.vstack(
                rx.hstack(
                    rx.input(
                        value=S.lookup_text,
                        on_change=S.set_lookup_text,
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
                        on_click=S.lookup,
                        data_testid="rights-find",
                    ),
                    width="100%",
                ),
                rx.cond(
                    S.customer_label != "",
                    rx.badge(
                        rx.icon("user-check", size=14),
                        S.customer_label,
                        color_scheme="green",
                        size="2",
                        data_testid="rights-customer",
                    ),
                ),
                spacing="2",
                width="100%",
            ),
            "customer",
        ),
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
                field_error(S.form_error),
                form_actions(S.close_file, submit_testid="rights-save"),
                spacing="3",
                width="100%",
            ),
            on_submit=S.file,
            width="100%",
        ),
        title=T("rights.file"),
        description=T("rights.file_notice"),
        is_open=S.file_open,
        on_close=S.close_file,
        max_width="560px",
    )


def _fact(label: str, value: rx.Component | rx.Var) -> rx.Component:
    return rx.data_list.item(
        rx.data_list.label(T(label), min_width="88px"),
        rx.data_list.value(value),
    )


def _kind_help() -> rx.Component:
    S = RightsState
    d = S.d
    profile = rx.link(
        rx.button(rx.icon("user-pen", size=14), T("rights.open_profile"), size="1", variant="soft"),
        href="/customers/" + d["customer_id"],
    )
    return rx.match(
        d["kind_code"],
        (
            "correction",
            rx.callout(
                rx.vstack(rx.text(T("rights.correction_hint"), size="2"), profile, spacing="2"),
                icon="pencil",
                color_scheme="blue",
                width="100%",
            ),
        ),
        (
            "deletion",
            rx.callout(T("rights.deletion_hint"), icon="trash-2", color_scheme="amber"),
        ),
        (
            "withdrawal",
            rx.cond(
                d["open"] != "",
                rx.callout(
                    rx.vstack(
                        rx.text(T("rights.withdrawal_hint"), size="2"),
                        rx.cond(
                            S.d_purposes.length() > 0,
                            rx.flex(
                                rx.foreach(
                                    S.d_purposes,
                                    lambda p: rx.checkbox(
                                        p[1],
                                        checked=S.d_chosen.contains(p[0]),
                                        on_change=lambda v: S.toggle_purpose(p[0], v),
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
                ),
            ),
        ),
        (
            "copy",
            rx.cond(
                d["open"] != "",
                rx.callout(
                    rx.hstack(
                        rx.text(T("rights.copy_hint"), size="2"),
                        rx.button(
                            rx.icon("file-down", size=14),
                            T("rights.make_copy"),
                            size="2",
                            on_click=S.make_copy,
                            data_testid="rights-make-copy",
                        ),
                        align="center",
                        spacing="3",
                    ),
                    icon="file-archive",
                    color_scheme="blue",
                    width="100%",
                ),
            ),
        ),
        rx.fragment(),
    )


def _handling() -> rx.Component:
    S = RightsState
    return rx.vstack(
        rx.hstack(
            rx.text(T("rights.handler"), size="2", weight="medium"),
            rx.select.root(
                rx.select.trigger(placeholder=T("rights.unassigned"), data_testid="rights-handler"),
                rx.select.content(
                    rx.foreach(S.d_handlers, lambda h: rx.select.item(h[1], value=h[0]))
                ),
                value=S.d_handler,
                on_change=S.set_d_handler,
            ),
            rx.button(T("rights.assign"), size="1", variant="soft", on_click=S.assign(False)),
            rx.button(
                rx.icon("hand", size=14),
                T("rights.assign_me"),
                size="1",
                variant="soft",
                on_click=S.assign(True),
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
                on_blur=S.keep_outcome,
                placeholder=T("rights.outcome_hint"),
                max_length=rights.MAX_OUTCOME,
                rows="3",
                id="rights-outcome",
                width="100%",
            ),
            spacing="1",
            width="100%",
        ),
        field_error(S.d_error),
        rx.hstack(
            rx.button(
                T("common.cancel"),
                variant="soft",
                color_scheme="gray",
                on_click=S.close_detail,
            ),
            rx.button(
                rx.icon("ban", size=14),
                T("rights.close_refuse"),
                color_scheme="red",
                variant="soft",
                on_click=S.close_request("refused"),
                data_testid="rights-refuse",
            ),
            rx.button(
                rx.icon("check", size=14),
                T("rights.close_done"),
                color_scheme="green",
                on_click=S.close_request("done"),
                data_testid="rights-done",
            ),
            justify="end",
            width="100%",
        ),
        spacing="3",
        width="100%",
    )


def _detail_dialog() -> rx.Component:
    S = RightsState
    d = S.d
    return content_dialog(
        rx.data_list.root(
            _fact(
                "rights.customer",
                rx.link(d["customer"], href="/customers/" + d["customer_id"]),
            ),
            _fact("rights.kind", d["kind"]),
            _fact("rights.channel", d["channel"]),
            _fact("rights.received", d["received"]),
            _fact("rights.due_on", d["due"]),
            _fact("rights.filed_by", d["filed_by"]),
            _fact("rights.handler", d["handler"]),
            size="2",
            orientation=rx.breakpoints(initial="vertical", sm="horizontal"),
        ),
        rx.vstack(
            rx.text(T("rights.detail"), size="2", weight="medium"),
            rx.box(
                rx.text(d["detail"], size="2", white_space="pre-wrap"),
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
        rx.cond(
            d["open"] != "",
            _handling(),
            rx.vstack(
                rx.text(T("rights.outcome"), size="2", weight="medium"),
                rx.text(d["outcome"], size="2", white_space="pre-wrap"),
                rx.text(T("rights.closed_at"), " ", d["closed"], size="1", color_scheme="gray"),
                rx.hstack(
                    rx.button(T("common.done"), variant="soft", on_click=S.close_detail),
                    justify="end",
                    width="100%",
                ),
                spacing="2",
                width="100%",
            ),
        ),
        title=rx.hstack(
            rx.text(T("rights.detail_title")),
            rx.code(d["number"]),
            _status_badge(d["status"], d["status_code"]),
            _overdue_badge(d["overdue"]),
            align="center",
            spacing="2",
        ),
        is_open=S.detail_open,
        on_close=S.close_detail,
        max_width="680px",
        spacing="4",
    )


def _password_dialog() -> rx.Component:
    S = RightsState
    return rx.alert_dialog.root(
        rx.alert_dialog.content(
            rx.alert_dialog.title(T("rights.password_title")),
            rx.vstack(
                rx.callout(
                    S.copy_notice,
                    icon="shield-alert",
                    color_scheme="amber",
                ),
                rx.center(
                    rx.code(
                        S.copy_password,
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
                        on_click=S.close_password,
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
        open=S.password_open,
    )


def _filters() -> rx.Component:
    S = RightsState
    return rx.hstack(
        rx.select.root(
            rx.select.trigger(data_testid="rights-f-status"),
            rx.select.content(
                *[rx.select.item(T(f"rights.status.{s}"), value=s) for s in STATUS_CHOICES]
            ),
            value=S.f_status,
            on_change=S.set_f_status,
        ),
        rx.select.root(
            rx.select.trigger(data_testid="rights-f-kind"),
            rx.select.content(
                rx.select.item(T("rights.kind.all"), value="all"),
                *[rx.select.item(T(f"rights.kind.{k}"), value=k) for k in rights.KINDS],
            ),
            value=S.f_kind,
            on_change=S.set_f_kind,
        ),
        rx.hstack(
            rx.switch(
                checked=S.f_overdue, on_change=S.set_f_overdue, data_testid="rights-f-overdue"
            ),
            rx.text(T("rights.overdue_only"), size="2"),
            align="center",
            spacing="2",
        ),
        align="center",
        spacing="4",
        wrap="wrap",
        width="100%",
    )


LIST_COLUMNS = (
    "rights.number",
    "rights.customer",
    "rights.kind",
    "rights.channel",
    "rights.received",
    "rights.due_on",
    "rights.status",
    "rights.handler",
    "common.actions",
)
FILED_COLUMNS = (
    "rights.number",
    "rights.customer",
    "rights.kind",
    "rights.received",
    "rights.due_on",
    "rights.status",
)


def _compliance_list() -> rx.Component:
    S = RightsState
    return rx.vstack(
        _filters(),
        rx.cond(
            S.total == 0,
            rx.callout(
                T("rights.empty"),
                icon="circle-check",
                color_scheme="green",
                width="100%",
                data_testid="rights-empty",
            ),  # fmt: skip
            paged_table(
                LIST_COLUMNS, S.rows, _row, S.page, S.pages, S.total, S.prev_page, S.next_page
            ),
        ),
        spacing="3",
        width="100%",
    )


def _filed_list() -> rx.Component:
    S = RightsState
    return rx.vstack(
        rx.heading(T("rights.my_filed"), size="4"),
        rx.cond(
            S.filed_total == 0,
            rx.callout(T("rights.my_filed_empty"), icon="info", color_scheme="gray", width="100%"),
            paged_table(
                FILED_COLUMNS,
                S.filed_rows,
                _filed_row,
                S.filed_page,
                S.filed_pages,
                S.filed_total,
                S.filed_prev,
                S.filed_next,
            ),
        ),
        spacing="3",
        width="100%",
    )


def rights_requests_page() -> rx.Component:
    S = RightsState
    return page(
        "nav.rights",
        toolbar(
            S.hint,
            rx.cond(
                S.can_file,
                rx.button(
                    rx.icon("file-plus", size=14),
                    T("rights.file"),
                    on_click=S.open_file,
                    data_testid="rights-file",
                ),
            ),
            max_width="760px",
        ),
        rx.cond(
            ~S.loaded,
            loading(),
            rx.cond(S.can_manage, _compliance_list(), _filed_list()),
        ),
        _file_dialog(),
        _detail_dialog(),
        _password_dialog(),
    )
