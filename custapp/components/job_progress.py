"""The progress of a durable job a page started (issue 15): its line and a bar, while it runs."""

from __future__ import annotations

import reflex as rx


def job_progress(
    active: rx.Var, text: rx.Var, done: rx.Var, total: rx.Var, testid: str
) -> rx.Component:
    return rx.cond(
        active,
        rx.callout.root(
            rx.callout.icon(rx.icon("loader", size=16)),
            rx.vstack(
                rx.callout.text(text),
                rx.progress(value=done, max=rx.cond(total > 0, total, 1), width="100%"),
                spacing="2",
                width="100%",
            ),
            color_scheme="blue",
            width="100%",
            data_testid=testid,
        ),
    )
