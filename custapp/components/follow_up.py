"""Follow-up pieces shared by the profile's 服务/沟通记录 tab and 待跟进: the due badge, a labelled
field and the 完成跟进 dialog (bound to the state passed in)."""

from __future__ import annotations

import reflex as rx

from custapp.components.shell import T, field_error, form_dialog
from custapp.services import service_log

DUE_COLORS = {"overdue": "red", "due": "amber", "upcoming": "gray"}


def due_badge(due: rx.Var, label: rx.Var) -> rx.Component:
    return rx.match(
        due,
        *[
            (code, rx.badge(label, color_scheme=color, variant="soft", data_testid="due-badge"))
            for code, color in DUE_COLORS.items()
        ],
        rx.fragment(),
    )


def labelled(label_key: str, control: rx.Component, error: rx.Var | None = None) -> rx.Component:
    return rx.vstack(
        rx.text(T(label_key), size="2", weight="medium"),
        control,
        *([field_error(error)] if error is not None else []),
        spacing="1",
        width="100%",
    )


def complete_dialog(state: type[rx.State]) -> rx.Component:
    """完成跟进 with an optional outcome; `state` has complete_open, complete_error, complete and
    close_dialogs."""
    return form_dialog(
        labelled(
            "service_log.outcome",
            rx.text_area(
                name="outcome",
                placeholder=T("service_log.complete_hint"),
                max_length=service_log.MAX_OUTCOME,
                width="100%",
                id="complete-outcome",
            ),
        ),
        title=T("service_log.complete_title"),
        is_open=state.complete_open,
        on_close=state.close_dialogs,
        on_submit=state.complete,
        error=state.complete_error,
        submit_label="service_log.complete",
        submit_testid="complete-confirm",
    )
