"""Pieces the sections and dialogs of 我的信息与授权 share."""

from __future__ import annotations

import reflex as rx

from custapp.components.rights_request import STATUS_COLORS
from custapp.components.shell import T


def section(icon: str, title: str, *children: rx.Component, **props) -> rx.Component:
    return rx.card(
        rx.vstack(
            rx.hstack(
                rx.icon(icon, size=18, color=rx.color("accent", 10)),
                rx.heading(T(title), size="4"),
                align="center",
                spacing="2",
            ),
            *children,
            spacing="3",
            width="100%",
        ),
        width="100%",
        **props,
    )


def pair(label: rx.Var, value: rx.Component | rx.Var) -> rx.Component:
    return rx.data_list.item(
        rx.data_list.label(label, min_width="84px"),
        rx.data_list.value(value),
    )


def status_badge(label: rx.Var, code: rx.Var) -> rx.Component:
    return rx.badge(
        label,
        color_scheme=rx.match(code, *[(k, v) for k, v in STATUS_COLORS.items()], "gray"),
        variant="soft",
        data_testid="request-status",
    )
