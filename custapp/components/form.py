"""Small form pieces."""

from __future__ import annotations

import reflex as rx

from custapp.components.shell import T, field_error


def labelled(label: str, control: rx.Component, error: rx.Var, testid: str) -> rx.Component:
    return rx.vstack(
        rx.text(T(label), size="2", weight="medium"),
        control,
        field_error(error),
        spacing="1",
        width="100%",
        data_testid=testid,
    )


def confirm_actions(
    on_cancel,  # noqa: ANN001
    confirm_label: str,
    on_confirm,  # noqa: ANN001
    confirm_testid: str,
    *,
    confirm_icon: str | None = None,
    **stack_props,
) -> rx.Component:
    """An alert dialog's last row: cancel (runs `on_cancel`) and the confirming action.
    `stack_props` (spacing, width, margin) go to the row."""
    return rx.hstack(
        rx.alert_dialog.cancel(
            rx.button(T("common.cancel"), variant="soft", color_scheme="gray", on_click=on_cancel)
        ),
        rx.alert_dialog.action(
            rx.button(
                *([rx.icon(confirm_icon, size=14)] if confirm_icon else []),
                T(confirm_label),
                on_click=on_confirm,
                data_testid=confirm_testid,
            )
        ),
        justify="end",
        **stack_props,
    )
