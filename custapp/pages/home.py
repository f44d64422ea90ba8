"""工作台: where each role starts; shows what this account may do."""

from __future__ import annotations

import reflex as rx

from custapp.components.shell import T, page
from custapp.states.session import SessionState


class HomeState(SessionState):
    @rx.event
    def load(self):
        actor, redirect = self._enter(None)
        if redirect:
            return redirect
        if actor and actor.kind == "member":
            return rx.redirect("/portal")


def _shortcut(item: rx.Var) -> rx.Component:
    return rx.cond(
        item.href != "/",
        rx.link(
            rx.card(
                rx.hstack(
                    rx.icon(item.icon, size=22),
                    rx.text(item.label, size="3", weight="medium"),
                    align="center",
                    spacing="3",
                ),
                width="220px",
                _hover={"border_color": rx.color("accent", 8)},
            ),
            href=item.href,
            underline="none",
        ),
    )


def home_page() -> rx.Component:
    S = SessionState
    return page(
        "nav.home",
        rx.card(
            rx.vstack(
                rx.text(T("home.welcome"), S.user_display, size="5", weight="bold"),
                rx.text(T("home.your_roles"), S.user_roles, size="2", color_scheme="gray"),
                rx.cond(
                    S.store_name != "",
                    rx.text(T("home.current_store"), S.store_name, size="2", color_scheme="gray"),
                ),
                spacing="1",
            ),
            width="100%",
        ),
        rx.text(T("home.shortcuts"), size="3", weight="medium"),
        rx.flex(rx.foreach(S.menu, _shortcut), wrap="wrap", spacing="3"),
    )
