"""The link to a 小票 (pages/receipt.py serves it at /receipt/<kind>/<number>): the profile's
orders and membership tabs print from here."""

from __future__ import annotations

import reflex as rx

from custapp.components.shell import T


def receipt_href(kind: str, number: str) -> str:
    return f"/receipt/{kind}/{number}"


def receipt_link(href: rx.Var, label: str, testid: str) -> rx.Component:
    """A link that opens a receipt in a new tab (the list or dialog stays where it was)."""
    return rx.link(
        rx.hstack(rx.icon("printer", size=14), T(label), spacing="1", align="center"),
        href=href,
        is_external=True,
        size="2",
        white_space="nowrap",
        data_testid=testid,
    )
