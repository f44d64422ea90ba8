"""Login for staff (username) and members (phone), and the notices of why one is here."""

from __future__ import annotations

import asyncio

import reflex as rx

from custapp.components.shell import T, language_switch
from custapp.db import session_scope
from custapp.services import auth
from custapp.states.session import LOGIN_REASONS, SessionState, fresh_tab


class LoginState(SessionState):
    mode: str = "staff"
    error: str = ""
    notice: str = ""
    busy: bool = False

    @rx.event
    def load(self):
        if self.locale_pref:
            self._apply_locale(self.locale_pref)
        self.error = ""
        reason = self.router.url.query_parameters.get("reason", "")
        self.notice = self._t(f"auth.reason.{reason}") if reason in LOGIN_REASONS[:-1] else ""
        if self.token and self._resolve().actor is not None:
            return rx.redirect("/")

    @rx.event
    def set_mode(self, mode: str | list[str]):
        self.mode = "member" if mode == "member" else "staff"
        self.error = ""

    @rx.event
    async def submit(self, form: dict):
        self.busy = True
        self.error = ""
        yield
        login = str(form.get("login", ""))
        password = str(form.get("password", ""))
        ip = self._ip()

        def run() -> auth.LoginResult:
            with session_scope() as session:
                if self.mode == "member":
                    return auth.login_member(session, phone=login, password=password, ip=ip)
                return auth.login_staff(session, username=login, password=password, ip=ip)

        result = await asyncio.to_thread(run)
        self.busy = False
        if not result.ok:
            self.error = self._t(result.error or "auth.invalid", **(result.params or {}))
            return
        await self._start_over()  # nothing of an earlier login on this tab travels on
        self.token = result.token or ""
        if result.must_change_password:
            yield fresh_tab("/account")
        else:
            yield fresh_tab("/portal" if result.kind == "member" else "/")


def _form() -> rx.Component:
    S = LoginState
    return rx.form(
        rx.vstack(
            rx.text(
                rx.cond(S.mode == "member", T("login.phone"), T("login.username")),
                size="2",
                weight="medium",
            ),
            rx.input(
                name="login",
                id="login",
                placeholder=rx.cond(S.mode == "member", "13800138000", ""),
                auto_complete="username",
                size="3",
                width="100%",
                required=True,
            ),
            rx.text(T("login.password"), size="2", weight="medium"),
            rx.input(
                name="password",
                id="password",
                type="password",
                auto_complete="current-password",
                size="3",
                width="100%",
                required=True,
            ),
            rx.cond(
                S.error != "",
                rx.callout(
                    S.error,
                    icon="triangle-alert",
                    color_scheme="red",
                    size="1",
                    width="100%",
                    data_testid="login-error",
                ),
            ),
            rx.button(
                T("login.submit"),
                type="submit",
                size="3",
                width="100%",
                loading=S.busy,
                data_testid="login-submit",
            ),
            spacing="2",
            width="100%",
        ),
        on_submit=S.submit,
        reset_on_submit=False,
        # Before the script takes over, Enter would send a GET with the password in the URL.
        custom_attrs={"method": "post"},
        width="100%",
    )


def login_page() -> rx.Component:
    S = LoginState
    return rx.center(
        rx.card(
            rx.vstack(
                rx.hstack(
                    rx.hstack(
                        rx.icon("contact", size=28, color=rx.color("accent", 10)),
                        rx.heading(T("app.name"), size="5"),
                        align="center",
                    ),
                    language_switch(),
                    justify="between",
                    width="100%",
                ),
                rx.text(T("login.subtitle"), size="2", color_scheme="gray"),
                rx.cond(
                    S.notice != "",
                    rx.callout(
                        S.notice, icon="info", size="1", width="100%", data_testid="login-notice"
                    ),
                ),
                rx.segmented_control.root(
                    rx.segmented_control.item(T("login.staff"), value="staff"),
                    rx.segmented_control.item(T("login.member"), value="member"),
                    value=S.mode,
                    on_change=S.set_mode,
                    width="100%",
                ),
                _form(),
                rx.cond(
                    S.mode == "member",
                    rx.link(
                        T("login.activate_link"),
                        href="/activate",
                        size="2",
                        data_testid="activate-link",
                    ),
                ),
                rx.text(T("login.privacy_hint"), size="1", color_scheme="gray"),
                spacing="4",
                width="100%",
            ),
            size="4",
            width="400px",
            max_width="94vw",
        ),
        min_height="100vh",
        background=rx.color("gray", 2),
    )
