"""用户管理 for sysadmin: accounts, roles, stores, temporary passwords. The service checks
`user.manage` and separation of duties on every call."""

from __future__ import annotations

import dataclasses

import reflex as rx

from custapp import clock
from custapp.components.shell import T, data_table, field_error, form_actions, page, pager
from custapp.security.permissions import STAFF_ROLES
from custapp.services import users
from custapp.services.customer_input import row_id
from custapp.states.options import Option
from custapp.states.paging import PagedMixin
from custapp.states.session import SessionState

PAGE_SIZE = 20


@dataclasses.dataclass(frozen=True)
class UserRow:
    id: int = 0
    username: str = ""
    display_name: str = ""
    roles: str = ""  # the roles' labels
    role_codes: list[str] = dataclasses.field(default_factory=list)
    stores: str = ""  # the stores' names
    store_ids: list[str] = dataclasses.field(default_factory=list)  # as the choices' values
    status: str = ""
    active: bool = False
    last_login: str = ""


class UsersState(PagedMixin, SessionState):
    rows: list[UserRow] = []
    query: str = ""
    store_choices: list[Option] = []  # value: the store id
    # the create / edit dialog
    dialog_open: bool = False
    editing_id: int = 0
    form_username: str = ""
    form_name: str = ""
    sel_roles: list[str] = []
    sel_stores: list[str] = []
    errors: dict[str, str] = {}
    # a temporary password is shown once, then cleared
    issued_for: str = ""
    issued_password: str = ""

    @rx.var
    def role_choices(self) -> list[Option]:
        return [Option(r, self.msgs.get(f"role.{r}", r)) for r in STAFF_ROLES]

    @rx.event
    def load(self):
        actor, redirect = self._enter("user.manage")
        if redirect:
            return redirect
        self.issued_password = ""
        choices, _ = self._call(users.list_stores)
        self.store_choices = [Option(str(i), name) for i, name in choices or []]
        return self._fetch()

    def _fetch(self):
        result, error = self._call(
            users.list_users, query=self.query, page=self.page, page_size=PAGE_SIZE
        )
        if error:
            return rx.toast.error(error)
        rows, self.total = result
        names = {int(o.value): o.label for o in self.store_choices}
        self.rows = [
            UserRow(
                id=r.id,
                username=r.username,
                display_name=r.display_name,
                roles="、".join(self._t(f"role.{x}") for x in r.roles),
                role_codes=list(r.roles),
                stores="、".join(names.get(s, str(s)) for s in r.store_ids),
                store_ids=[str(s) for s in r.store_ids],
                status=self._t("users.status.active" if r.is_active else "users.status.disabled")
                + (" · " + self._t("users.status.locked") if r.locked else "")
                + (" · " + self._t("users.status.temporary") if r.must_change_password else ""),
                active=r.is_active,
                last_login=clock.format_local(r.last_login_at),
            )
            for r in rows
        ]

    @rx.event
    def search(self, form: dict):
        self.query = str(form.get("q", ""))[:50]
        self.page = 1
        return self._fetch()

    @rx.event
    def open_create(self):
        self.editing_id, self.form_username, self.form_name = 0, "", ""
        self.sel_roles, self.sel_stores, self.errors = [], [], {}
        self.dialog_open = True

    @rx.event
    def open_edit(self, user_id: str):
        """The dialog for one of the accounts on this page (the browser names it by id only)."""
        row = next((r for r in self.rows if str(r.id) == user_id), None)
        if row is None:
            return
        self.editing_id = row.id
        self.form_username, self.form_name = row.username, row.display_name
        self.sel_roles = list(row.role_codes)
        self.sel_stores = list(row.store_ids)
        self.errors = {}
        self.dialog_open = True

    @rx.event
    def close_dialog(self):
        self.dialog_open = False

    @rx.event
    def set_form_username(self, value: str):
        self.form_username = value

    @rx.event
    def set_form_name(self, value: str):
        self.form_name = value

    @rx.event
    def toggle_role(self, role: str):
        self.sel_roles = (
            [r for r in self.sel_roles if r != role]
            if role in self.sel_roles
            else [*self.sel_roles, role]
        )

    @rx.event
    def toggle_store(self, store: str):
        self.sel_stores = (
            [s for s in self.sel_stores if s != store]
            if store in self.sel_stores
            else [*self.sel_stores, store]
        )

    @rx.event
    def save(self):
        store_ids = [int(s) for s in self.sel_stores if s.isdecimal()]
        if self.editing_id:
            _, error = self._call(
                users.set_roles, user_id=self.editing_id, roles=list(self.sel_roles)
            )
            if error is None:
                _, error = self._call(
                    users.set_stores, user_id=self.editing_id, store_ids=store_ids
                )
        else:
            result, error = self._call(
                users.create_user,
                username=self.form_username,
                display_name=self.form_name,
                roles=list(self.sel_roles),
                store_ids=store_ids,
            )
            if error is None:
                self.issued_for = self.form_username.strip().lower()
                self.issued_password = result.temporary_password
        self.errors = dict(self._field_errors)
        if error:
            return rx.toast.error(error)
        self.dialog_open = False
        return [rx.toast.success(self._t("users.saved")), *self._refetch()]

    def _refetch(self) -> list:
        event = self._fetch()
        return [event] if event else []

    @rx.event
    def set_active(self, user_id: str, active: bool):
        _, error = self._call(users.set_active, user_id=row_id(user_id), active=active)
        if error:
            return rx.toast.error(error)
        return [rx.toast.success(self._t("users.saved")), *self._refetch()]

    @rx.event
    def reset_password(self, user_id: str, username: str):
        result, error = self._call(users.reset_password, user_id=row_id(user_id))
        if error:
            return rx.toast.error(error)
        self.issued_for, self.issued_password = username, result.temporary_password
        return self._refetch()

    @rx.event
    def dismiss_password(self):
        self.issued_for, self.issued_password = "", ""


def _check(label: rx.Var, checked: rx.Var, on_change) -> rx.Component:  # noqa: ANN001
    return rx.checkbox(label, checked=checked, on_change=on_change)


def _dialog() -> rx.Component:
    S = UsersState
    return rx.dialog.root(
        rx.dialog.content(
            rx.dialog.title(rx.cond(S.editing_id == 0, T("users.create"), T("users.edit"))),
            rx.vstack(
                rx.text(T("users.username"), size="2", weight="medium"),
                rx.input(
                    value=S.form_username,
                    on_change=S.set_form_username,
                    disabled=S.editing_id != 0,
                    id="form-username",
                    width="100%",
                ),
                field_error(S.errors.get("username", "")),
                rx.text(T("users.display_name"), size="2", weight="medium"),
                rx.input(
                    value=S.form_name,
                    on_change=S.set_form_name,
                    disabled=S.editing_id != 0,
                    id="form-name",
                    width="100%",
                ),
                field_error(S.errors.get("display_name", "")),
                rx.text(T("users.roles"), size="2", weight="medium"),
                rx.flex(
                    rx.foreach(
                        S.role_choices,
                        lambda c: _check(
                            c.label,
                            S.sel_roles.contains(c.value),
                            lambda _v: S.toggle_role(c.value),
                        ),
                    ),
                    wrap="wrap",
                    spacing="3",
                ),
                rx.text(T("users.sod_hint"), size="1", color_scheme="gray"),
                field_error(S.errors.get("roles", "")),
                rx.text(T("users.stores"), size="2", weight="medium"),
                rx.flex(
                    rx.foreach(
                        S.store_choices,
                        lambda c: _check(
                            c.label,
                            S.sel_stores.contains(c.value),
                            lambda _v: S.toggle_store(c.value),
                        ),
                    ),
                    wrap="wrap",
                    spacing="3",
                ),
                field_error(S.errors.get("stores", "")),
                form_actions(
                    S.close_dialog,
                    "common.save",
                    "user-save",
                    submit_type="button",
                    on_click=S.save,
                ),
                spacing="2",
            ),
        ),
        open=S.dialog_open,
        on_open_change=lambda _o: S.close_dialog(),
    )


def _row(row: rx.Var) -> rx.Component:
    S = UsersState
    return rx.table.row(
        rx.table.cell(row.username),
        rx.table.cell(row.display_name),
        rx.table.cell(row.roles),
        rx.table.cell(row.stores),
        rx.table.cell(row.status),
        rx.table.cell(row.last_login),
        rx.table.cell(
            rx.hstack(
                rx.button(T("users.edit"), size="1", variant="soft", on_click=S.open_edit(row.id)),
                rx.button(
                    T("users.reset_password"),
                    size="1",
                    variant="soft",
                    on_click=S.reset_password(row.id, row.username),
                ),
                rx.cond(
                    row.active,
                    rx.button(
                        T("users.disable"),
                        size="1",
                        variant="soft",
                        color_scheme="red",
                        on_click=S.set_active(row.id, False),
                    ),
                    rx.button(
                        T("users.enable"),
                        size="1",
                        variant="soft",
                        color_scheme="green",
                        on_click=S.set_active(row.id, True),
                    ),
                ),
                spacing="1",
            )
        ),
    )


def users_page() -> rx.Component:
    S = UsersState
    return page(
        "nav.users",
        rx.cond(
            S.issued_password != "",
            rx.callout(
                rx.hstack(
                    rx.text(
                        T("users.temporary_for"),
                        " ",
                        rx.code(S.issued_for),
                        " : ",
                        rx.code(S.issued_password, data_testid="temp-password"),
                    ),
                    rx.button(
                        T("common.done"), size="1", variant="soft", on_click=S.dismiss_password
                    ),
                    align="center",
                    spacing="3",
                ),
                icon="key-round",
                color_scheme="amber",
                width="100%",
            ),
        ),
        rx.hstack(
            rx.form(
                rx.hstack(
                    rx.input(name="q", placeholder=T("users.search"), width="260px"),
                    rx.button(T("common.search"), type="submit", variant="soft"),
                ),
                on_submit=S.search,
            ),
            rx.spacer(),
            rx.button(
                rx.icon("user-plus", size=16),
                T("users.create"),
                on_click=S.open_create,
                data_testid="user-create",
            ),
            width="100%",
        ),
        data_table(
            (
                "users.username",
                "users.display_name",
                "users.roles",
                "users.stores",
                "users.status",
                "users.last_login",
                "common.actions",
            ),
            S.rows,
            _row,
        ),
        rx.cond(S.total == 0, rx.text(T("common.empty"), color_scheme="gray")),
        pager(S.page, S.pages, S.total, S.prev_page, S.next_page),
        _dialog(),
    )
