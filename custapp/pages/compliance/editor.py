"""The editor of the draft notice: its texts in both languages and the purposes it names."""

from __future__ import annotations

import reflex as rx

from custapp.components.shell import T, field_error
from custapp.pages.compliance.dialogs import PublishConfirmState
from custapp.pages.compliance.state import ComplianceState
from custapp.pages.compliance.widgets import labelled

S = ComplianceState


def _purpose_choice(choice: rx.Var) -> rx.Component:
    fixed = choice.fixed
    return rx.checkbox(
        rx.text(
            choice.label,
            rx.text.span(" · ", choice.basis, color_scheme="gray", size="1"),
            size="2",
        ),
        checked=fixed | S.draft_purposes.contains(choice.code),
        disabled=fixed,
        on_change=lambda _v: S.toggle_purpose(choice.code),
        data_testid="draft-purpose",
    )


def _text_field(field: str, area: bool) -> rx.Component:
    common = {
        "name": field,
        "id": f"draft-{field.replace('_', '-')}",
        "default_value": getattr(S.draft, field),
        "on_blur": lambda v: S.keep(field, v),
        "width": "100%",
    }
    control = rx.text_area(rows="12", **common) if area else rx.input(**common)
    return labelled(f"compliance.field.{field}", control, S.draft_errors.get(field, ""))


def editor() -> rx.Component:
    return rx.card(
        rx.form(
            rx.vstack(
                rx.hstack(
                    rx.heading(T("compliance.editor.title"), " · ", S.draft_label, size="4"),
                    rx.badge(T("compliance.notice.draft"), color_scheme="amber", variant="soft"),
                    align="center",
                    spacing="2",
                ),
                rx.callout(T("compliance.editor.checklist"), icon="list-checks", width="100%"),
                rx.grid(
                    _text_field("handler_zh", False),
                    _text_field("handler_en", False),
                    _text_field("body_zh", True),
                    _text_field("body_en", True),
                    columns=rx.breakpoints(initial="1", md="2"),
                    spacing="3",
                    width="100%",
                ),
                rx.vstack(
                    rx.text(T("compliance.editor.purposes"), size="2", weight="medium"),
                    rx.text(T("compliance.editor.purposes_hint"), size="1", color_scheme="gray"),
                    rx.flex(
                        rx.foreach(S.purpose_choices, _purpose_choice),
                        wrap="wrap",
                        spacing="4",
                    ),
                    field_error(S.draft_errors.get("purposes", "")),
                    spacing="2",
                    width="100%",
                ),
                field_error(rx.cond(S.draft_errors.length() > 0, "", S.draft_error)),
                rx.hstack(
                    rx.button(
                        rx.icon("trash-2", size=14),
                        T("compliance.draft.discard"),
                        type="button",
                        variant="soft",
                        color_scheme="red",
                        on_click=S.discard_draft,
                        data_testid="draft-discard",
                    ),
                    rx.spacer(),
                    rx.button(
                        T("compliance.close"),
                        type="button",
                        variant="soft",
                        color_scheme="gray",
                        on_click=S.close_editor,
                    ),
                    rx.button(
                        rx.icon("save", size=14),
                        T("compliance.draft.save"),
                        type="submit",
                        variant="soft",
                        data_testid="draft-save",
                    ),
                    rx.button(
                        rx.icon("send", size=14),
                        T("compliance.draft.publish"),
                        type="button",
                        on_click=PublishConfirmState.ask_publish,
                        data_testid="draft-publish",
                    ),
                    width="100%",
                    align="center",
                ),
                spacing="3",
                width="100%",
            ),
            on_submit=S.save_draft,
            reset_on_submit=False,
            key=S.draft_key,
        ),
        width="100%",
        data_testid="draft-editor",
    )
