"""The member sets a password with the one-time code from the front desk (first activation, a
forgotten password or a changed phone) and is logged in."""

from __future__ import annotations

import asyncio

import reflex as rx

from custapp.components.shell import T, language_switch
from custapp.db import session_scope
from custapp.services import member_access
from custapp.services.errors import ValidationFailed
from custapp.states.session import SessionState, fresh_tab


class ActivateState(SessionState):
    error: str = ""
    password_error: str = ""
    confirm_error: str = ""
    busy: bool = False

    @rx.event
    def load(self):
        if self.locale_pref:
            self._apply_locale(self.locale_pref)
        self.error = self.password_error = self.confirm_error = ""

    @rx.event
    async def submit(self, form: dict):
        self.busy, self.error, self.password_error, self.confirm_error = True, "", "", ""
        yield
        phone = str(form.get("phone", ""))
        code = str(form.get("code", ""))
        password = str(form.get("password", ""))
        if password != str(form.get("confirm", "")):
            self.busy = False
            self.confirm_error = self._t("password.mismatch")
            return
        ip = self._ip()

        def run():  # noqa: ANN202
            with session_scope() as session:
                return member_access.activate(
                    session, phone=phone, code=code, password=password, ip=ip
                )

        try:
            result = await asyncio.to_thread(run)
        except ValidationFailed as refused:
            self.busy = False
            self.password_error = self._t(refused.errors.get("password", refused.key))
            return
        self.busy = False
        if not result.ok:
            self.error = self._t(result.error or "member.activate.invalid", **(result.params or {}))
            return
        await self._start_over()  # nothing of an earlier login on this tab travels on
        self.token = result.token or ""
        yield fresh_tab("/portal")


def _field(label: str, name: str, error=None, **props) -> rx.Component:  # noqa: ANN001, ANN003
    return rx.vstack(
        rx.text(T(label), size="2", weight="medium"),
        rx.input(name=name, id=f"activate-{name}", size="3", width="100%", required=True, **props),
        rx.cond(
            error != "", rx.text(error, size="1", color_scheme="red", data_testid="field-error")
        )
        if error is not None
        else rx.fragment(),
        spacing="1",
        width="100%",
        data_testid=f"field-{name}",
    )


def activate_page() -> rx.Component:
    S = ActivateState
    return rx.center(
        rx.card(
            rx.vstack(
                rx.hstack(
                    rx.heading(T("activate.title"), size="5"),
                    language_switch(),
                    justify="between",
                    width="100%",
                ),
                rx.text(T("activate.hint"), size="2", color_scheme="gray"),
                rx.form(
                    rx.vstack(
                        _field("login.phone", "phone", auto_complete="username"),
                        _field(
                            "activate.code",
                            "code",
                            input_mode="numeric",
                            auto_complete="one-time-code",
                            max_length=8,
                        ),
                        _field(
                            "account.new",
                            "password",
                            S.password_error,
                            type="password",
                            auto_complete="new-password",
                        ),
                        _field(
                            "account.confirm",
                            "confirm",
                            S.confirm_error,
                            type="password",
                            auto_complete="new-password",
                        ),
                        rx.text(T("account.rules"), size="1", color_scheme="gray"),
                        rx.cond(
                            S.error != "",
                            rx.callout(
                                S.error,
                                icon="triangle-alert",
                                color_scheme="red",
                                size="1",
                                width="100%",
                                data_testid="activate-error",
                            ),
                        ),
                        rx.button(
                            T("activate.submit"),
                            type="submit",
                            size="3",
                            width="100%",
                            loading=S.busy,
                            data_testid="activate-submit",
                        ),
                        spacing="3",
                        width="100%",
                    ),
                    on_submit=S.submit,
                    reset_on_submit=False,
                    custom_attrs={"method": "post"},
                    width="100%",
                ),
                rx.link(T("activate.back"), href="/login", size="2"),
                spacing="4",
                width="100%",
            ),
            size="4",
            width="420px",
            max_width="94vw",
        ),
        min_height="100vh",
        background=rx.color("gray", 2),
    )
