"""我的待跟进: the signed-in staff user's service-log entries whose follow-up date is due."""

from __future__ import annotations

import reflex as rx

from custapp.components.shell import T, page
from custapp.states.session import SessionState


class FollowUpsState(SessionState):
    @rx.event
    def load(self):
        _, redirect = self._enter("service_log.write")
        return redirect


def follow_ups_page() -> rx.Component:
    return page("nav.follow_ups", rx.text(T("common.empty"), color="gray"))
