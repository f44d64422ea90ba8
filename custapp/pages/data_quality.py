"""数据质量: duplicate candidates to review (and merge) and customers whose real-name
verification is missing or stale."""

from __future__ import annotations

import reflex as rx

from custapp.components.shell import T, page
from custapp.states.session import SessionState


class DataQualityState(SessionState):
    @rx.event
    def load(self):
        _, redirect = self._enter("customer.read")
        return redirect


def data_quality_page() -> rx.Component:
    return page("nav.data_quality", rx.text(T("common.empty"), color="gray"))
