"""The member's own page: who they are logged in as. Membership details join in issue 5."""

from __future__ import annotations

import reflex as rx

from custapp.components.shell import T, page
from custapp.states.session import SessionState


class PortalState(SessionState):
    @rx.event
    def load(self):
        _, redirect = self._enter("member.self")
        if redirect:
            return redirect


def portal_page() -> rx.Component:
    S = SessionState
    return page(
        "nav.portal",
        rx.card(
            rx.vstack(
                rx.text(T("portal.hello"), S.user_display, size="5", weight="bold"),
                rx.text(T("portal.intro"), size="2", color_scheme="gray"),
                rx.link(T("nav.account"), href="/account"),
                spacing="2",
            ),
            width="100%",
        ),
    )
