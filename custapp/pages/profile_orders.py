"""The profile's transactions tab (placeholder until its part of issue 3 lands)."""

from __future__ import annotations

import reflex as rx

from custapp.components.shell import T


def orders_tab() -> rx.Component:
    return rx.text(T("common.empty"), color="gray")
