"""Change one's own password (forced after a temporary one)."""

from __future__ import annotations

import reflex as rx

from custapp.components.shell import T, field_error, page
from custapp.services import auth
from custapp.states.session import SessionState


class AccountState(SessionState):
    must_change: bool = False
    errors: dict[str, str] = {}
    message: str = ""
    saved: bool = False

    @rx.event
    def load(self):
        actor, redirect = self._enter(None)
        if actor is None:
            return redirect
        self.must_change = actor.must_change_password
        if actor.must_change_password:
            self._fill_shell(actor)
        self.errors, self.message, self.saved = {}, "", False

    @rx.event
    def change_password(self, form: dict):
        _, error = self._call(
            auth.change_password,
            current=str(form.get("current", "")),
            new=str(form.get("new", "")),
            confirm=str(form.get("confirm", "")),
        )
        self.errors = dict(self._field_errors)
        self.saved = error is None
        self.message = error or self._t("account.password_changed")
        if self.saved:
            was_forced = self.must_change
            self.must_change = False
            if was_forced:
                return [rx.toast.success(self.message), rx.redirect("/")]
            return rx.toast.success(self.message)


def _password_field(name: str, label: str) -> rx.Component:
    return rx.vstack(
        rx.text(T(label), size="2", weight="medium"),
        rx.input(
            name=name,
            id=name,
            type="password",
            auto_complete="new-password" if name != "current" else "current-password",
            width="100%",
        ),
        field_error(AccountState.errors.get(name, "")),
        spacing="1",
        width="100%",
    )


def account_page() -> rx.Component:
    S = AccountState
    return page(
        "nav.account",
        rx.cond(
            S.must_change,
            rx.callout(
                T("account.must_change"),
                icon="key-round",
                color_scheme="amber",
                data_testid="must-change",
            ),
        ),
        rx.card(
            rx.form(
                rx.vstack(
                    _password_field("current", "account.current"),
                    _password_field("new", "account.new"),
                    _password_field("confirm", "account.confirm"),
                    rx.text(T("account.rules"), size="1", color_scheme="gray"),
                    rx.button(T("account.save"), type="submit", data_testid="password-save"),
                    spacing="3",
                    width="100%",
                ),
                on_submit=S.change_password,
                reset_on_submit=True,
            ),
            max_width="460px",
            width="100%",
        ),
    )
