"""Pieces the 权利请求 lists and the detail dialog share."""

from __future__ import annotations

import reflex as rx

from custapp.components.rights_request import STATUS_COLORS
from custapp.components.shell import T


def status_badge(label: rx.Var, code: rx.Var) -> rx.Component:
    return rx.badge(
        label,
        color_scheme=rx.match(code, *[(k, v) for k, v in STATUS_COLORS.items()], "gray"),
        variant="soft",
    )


def overdue_badge(text: rx.Var) -> rx.Component:
    return rx.cond(
        text != "",
        rx.badge(
            rx.icon("alarm-clock", size=12),
            text,
            color_scheme="red",
            variant="solid",
            data_testid="overdue-badge",
        ),
    )


def fact(label: str, value: rx.Component | rx.Var) -> rx.Component:
    return rx.data_list.item(
        rx.data_list.label(T(label), min_width="88px"),
        rx.data_list.value(value),
    )
