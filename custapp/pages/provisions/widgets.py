"""Small pieces shared by the page's form and its dialogs."""

from __future__ import annotations

import reflex as rx

from custapp.components.shell import T, field_error
from custapp.services import provision


def field(label: str, control: rx.Component, error: rx.Var | str = "") -> rx.Component:
    return rx.vstack(
        rx.text(T(label), size="2", weight="medium"),
        control,
        field_error(error),
        spacing="1",
        width="100%",
    )


def categories(selected: rx.Var, on_toggle, testid: str) -> rx.Component:  # noqa: ANN001
    """A checkbox per category of personal information; `on_toggle(code)` ticks or unticks."""

    def box(code: str) -> rx.Component:
        return rx.checkbox(
            T(f"provision.category.{code}"),
            checked=selected.contains(code),
            on_change=lambda _v: on_toggle(code),
            data_testid=f"{testid}-{code}",
        )

    return rx.flex(*[box(code) for code in provision.CATEGORIES], wrap="wrap", spacing="4")
