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
