"""The profile's dialogs: reveal one sensitive value with a reason, real-name verification, and
the grade override. Their vars are few and the state tests read them on ProfileState, so they
stay there."""

from __future__ import annotations

import reflex as rx

from custapp.components.shell import T, form_dialog, reason_fields
from custapp.pages.customer_profile.state import REVEAL_REASONS, ProfileState
from custapp.services.customer_fields import GRADES


def _choice(placeholder: str, name: str, items: list[tuple[str, rx.Var | str]]) -> rx.Component:
    return rx.select.root(
        rx.select.trigger(placeholder=T(placeholder), width="100%"),
        rx.select.content(*[rx.select.item(label, value=value) for value, label in items]),
        name=name,
    )


def reveal_dialog() -> rx.Component:
    S = ProfileState
    return form_dialog(
        reason_fields("customer.reveal.reason", REVEAL_REASONS, "reveal-reason"),
        title=rx.fragment(T("customer.reveal"), " ", S.reveal_label),
        description="customer.reveal_notice",
        is_open=S.reveal_open,
        on_close=S.close_reveal,
        on_submit=S.reveal,
        error=S.reveal_error,
        submit_label="customer.reveal",
        submit_testid="reveal-confirm",
        reset_on_submit=True,
    )


def verify_dialog() -> rx.Component:
    S = ProfileState
    return form_dialog(
        _choice(
            "customer.verify_status",
            "status",
            [(v, T(f"customer.verify.{v}")) for v in ("verified", "failed", "unverified")],
        ),
        _choice(
            "customer.verify_method",
            "method",
            [(m, T(f"customer.verify_method.{m}")) for m in ("id_card_at_counter", "other")],
        ),
        title=T("customer.verify_action"),
        is_open=S.verify_open,
        on_close=S.close_dialogs,
        on_submit=S.save_verification,
        error=S.dialog_error,
    )


def grade_dialog() -> rx.Component:
    S = ProfileState
    return form_dialog(
        _choice(
            "customer.grade",
            "grade",
            [("auto", T("customer.grade_auto")), *[(g, g) for g in GRADES]],
        ),
        rx.input(name="reason", placeholder=T("customer.grade_override_reason"), width="100%"),
        title=T("customer.grade_override"),
        is_open=S.grade_open,
        on_close=S.close_dialogs,
        on_submit=S.save_grade,
        error=S.dialog_error,
    )
