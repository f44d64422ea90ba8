"""The page's dialogs, each a substate of ComplianceState holding its own vars: a purpose edited,
a version read, and the confirmation before a draft is published.

A dialog reads and refreshes the page's lists through the vars and helpers it inherits."""

from __future__ import annotations

import dataclasses

import reflex as rx

from custapp import clock
from custapp.components.form import confirm_actions
from custapp.components.shell import T, field_error, form_dialog
from custapp.pages.compliance.rows import NOTICE_FIELDS, NoticeView, PurposeRow
from custapp.pages.compliance.state import MAX_TYPED, ComplianceState
from custapp.pages.compliance.widgets import labelled
from custapp.services import compliance
from custapp.states.options import Option

PURPOSE_TEXTS = ("name_zh", "name_en", "description_zh", "description_en")


class PurposeDialogState(ComplianceState):
    is_open: bool = False
    edit: PurposeRow = PurposeRow()
    bases: list[Option] = []  # the lawful bases the purpose may take
    basis: str = ""
    enabled: bool = True
    errors: dict[str, str] = {}
    error: str = ""
    form_key: int = 0  # a new key: the form starts from the purpose's values

    def _clear(self) -> None:
        self.is_open = False

    @rx.event
    def open_purpose(self, code: str):
        row = next((r for r in self.purpose_rows if r.code == code), None)
        if row is None:
            return
        self.edit = row
        bases = compliance.allowed_bases(row.consent)
        self.bases = [Option(b, self._t(f"compliance.basis.{b}")) for b in bases]
        self.basis, self.enabled = row.basis_code, row.enabled
        self.errors, self.error = {}, ""
        self.form_key += 1
        self.is_open = True

    @rx.event
    def close_purpose(self):
        self.is_open = False

    @rx.event
    def set_purpose_basis(self, value: str):
        self.basis = str(value)[:30]

    @rx.event
    def set_purpose_enabled(self, value: bool):
        self.enabled = bool(value)

    @rx.event
    def save_purpose(self, form: dict):
        result, error = self._call(
            compliance.update_purpose,
            code=self.edit.code,
            **{f: str(form.get(f, ""))[:MAX_TYPED] for f in PURPOSE_TEXTS},
            lawful_basis=self.basis,
            enabled=self.enabled,
        )
        self.errors = dict(self._field_errors)
        if error:
            self.error = error
            return None
        self.is_open = False
        events = [self._fetch_purposes(), self._fetch_overview()]
        name = self._name(result.name_zh, result.name_en)
        return [
            *[e for e in events if e is not None],
            rx.toast.success(self._t("compliance.purpose.saved", name=name)),
        ]


class NoticeViewState(ComplianceState):
    is_open: bool = False
    notice: NoticeView = NoticeView()

    def _clear(self) -> None:
        self.is_open, self.notice = False, NoticeView()

    @rx.event
    def open_view(self, notice_id: str):
        detail, error = self._call(
            compliance.get_notice, notice_id=int(notice_id) if str(notice_id).isdecimal() else 0
        )
        if error:
            return rx.toast.error(error)
        self.notice = NoticeView(
            title=self._t("compliance.version", version=detail.version),
            status=self._t(
                "compliance.notice.current"
                if detail.current
                else f"compliance.notice.{detail.status}"
            ),
            published=clock.format_local(detail.published_at) or "—",
            purposes=self._purpose_names(detail.purposes),
            **{f: getattr(detail, f) for f in NOTICE_FIELDS},
        )
        self.is_open = True
        return None

    @rx.event
    def close_view(self):
        self.is_open = False


class PublishConfirmState(ComplianceState):
    """Publishing the draft: what is on the screen is saved, then what publishing would do is
    said before it is done."""

    is_open: bool = False
    title: str = ""
    lines: list[str] = []

    def _clear(self) -> None:
        self.is_open = False

    @rx.event
    def ask_publish(self):
        if self._save(dataclasses.asdict(self._typed)) is None:
            return None
        preview, error = self._call(compliance.publish_preview, notice_id=self.draft_id)
        if error:
            self.draft_errors = dict(self._field_errors)
            self.draft_error = error
            return None
        lines = []
        if preview.added:
            lines.append(
                self._t("compliance.publish.added", names=self._purpose_names(preview.added))
            )
        if preview.removed:
            lines.append(
                self._t("compliance.publish.removed", names=self._purpose_names(preview.removed))
            )
        if preview.changed and self.current_version:
            lines.append(self._t("compliance.publish.reconfirm", count=preview.customers))
        else:
            lines.append(self._t("compliance.publish.unchanged"))
        lines.append(self._t("compliance.publish.final"))
        self.title = self._t("compliance.publish.title", version=preview.version)
        self.lines = lines
        self.is_open = True
        return None

    @rx.event
    def close_confirm(self):
        self.is_open = False

    @rx.event
    def publish(self):
        result, error = self._call(compliance.publish_draft, notice_id=self.draft_id)
        self.is_open = False
        if error:
            self.draft_errors = dict(self._field_errors)
            self.draft_error = error
            return rx.toast.error(error)
        self._set_draft(0, 0)
        self.page = 1
        events = [self._fetch(), self._fetch_overview(), self._fetch_purposes()]
        message = (
            self._t("compliance.published_flagged", version=result.version, count=result.flagged)
            if result.flagged
            else self._t("compliance.published", version=result.version)
        )
        return [
            *[e for e in events if e is not None],
            rx.toast.success(message),
            *([ComplianceState.send_notices] if result.flagged else []),
        ]


# --- the dialogs --------------------------------------------------------------------------------

P, V, C = PurposeDialogState, NoticeViewState, PublishConfirmState


def _purpose_text(field: str, control, **props: object) -> rx.Component:  # noqa: ANN001
    """One of the purpose's names or descriptions: `control` (input or text area) labelled."""
    return labelled(
        f"compliance.{field}",
        control(name=field, default_value=getattr(P.edit, field), width="100%", **props),
        P.errors.get(field, ""),
    )


def purpose_dialog() -> rx.Component:
    E, errors = P.edit, P.errors
    return form_dialog(
        rx.grid(
            _purpose_text("name_zh", rx.input, id="p-name-zh"),
            _purpose_text("name_en", rx.input, id="p-name-en"),
            _purpose_text("description_zh", rx.text_area, rows="3"),
            _purpose_text("description_en", rx.text_area, rows="3"),
            columns="2",
            spacing="3",
            width="100%",
        ),
        labelled(
            "compliance.lawful_basis",
            rx.select.root(
                rx.select.trigger(width="100%", data_testid="p-basis"),
                rx.select.content(
                    rx.foreach(P.bases, lambda b: rx.select.item(b.label, value=b.value))
                ),
                value=P.basis,
                on_change=P.set_purpose_basis,
            ),
            errors.get("lawful_basis", ""),
        ),
        rx.text(
            rx.cond(
                E.consent,
                T("compliance.purpose.consent_fixed"),
                T("compliance.purpose.not_consent_fixed"),
            ),
            size="1",
            color_scheme="gray",
        ),
        rx.hstack(
            rx.switch(
                checked=P.enabled,
                on_change=P.set_purpose_enabled,
                disabled=~E.consent,
                data_testid="p-enabled",
            ),
            rx.text(T("compliance.purpose.enabled_label"), size="2"),
            align="center",
            spacing="2",
        ),
        rx.text(
            rx.cond(
                E.consent,
                T("compliance.purpose.disable_hint"),
                T("compliance.purpose.keep_enabled_hint"),
            ),
            size="1",
            color_scheme="gray",
        ),
        field_error(errors.get("enabled", "")),
        title=rx.fragment(T("compliance.purpose.edit_title"), " · ", E.name),
        is_open=P.is_open,
        on_close=P.close_purpose,
        on_submit=P.save_purpose,
        error=rx.cond(errors.length() > 0, "", P.error),
        submit_testid="purpose-save",
        max_width="640px",
        form_props={"key": P.form_key},
        stack_props={"width": "100%"},
    )


def _text_box(label: str, text: rx.Var) -> rx.Component:
    return rx.vstack(
        rx.text(T(label), size="2", weight="medium"),
        rx.scroll_area(
            rx.text(text, size="2", white_space="pre-wrap"),
            type="auto",
            scrollbars="vertical",
            max_height="300px",
            padding_right="12px",
        ),
        spacing="1",
        padding="12px",
        border=f"1px solid {rx.color('gray', 6)}",
        border_radius="8px",
        background=rx.color("gray", 2),
        width="100%",
    )


def view_dialog() -> rx.Component:
    N = V.notice
    return rx.dialog.root(
        rx.dialog.content(
            rx.dialog.title(T("compliance.view_title"), " · ", N.title),
            rx.vstack(
                rx.hstack(
                    rx.badge(N.status, variant="soft"),
                    rx.text(T("compliance.published_at"), "：", N.published, size="2"),
                    align="center",
                    spacing="3",
                ),
                rx.text(T("compliance.purposes"), "：", N.purposes, size="2"),
                rx.grid(
                    _text_box("compliance.field.handler_zh", N.handler_zh),
                    _text_box("compliance.field.handler_en", N.handler_en),
                    _text_box("compliance.field.body_zh", N.body_zh),
                    _text_box("compliance.field.body_en", N.body_en),
                    columns="2",
                    spacing="3",
                    width="100%",
                ),
                rx.text(T("compliance.view.read_only"), size="1", color_scheme="gray"),
                rx.hstack(
                    rx.button(T("compliance.close"), variant="soft", on_click=V.close_view),
                    justify="end",
                    width="100%",
                ),
                spacing="3",
                width="100%",
                data_testid="notice-view-dialog",
            ),
            max_width="900px",
        ),
        open=V.is_open,
        on_open_change=lambda _o: V.close_view(),
    )


def confirm_dialog() -> rx.Component:
    return rx.alert_dialog.root(
        rx.alert_dialog.content(
            rx.alert_dialog.title(C.title),
            rx.vstack(
                rx.foreach(
                    C.lines,
                    lambda line: rx.text(line, size="2", data_testid="confirm-line"),
                ),
                spacing="2",
                padding_y="8px",
            ),
            confirm_actions(
                C.close_confirm,
                "compliance.publish.confirm",
                C.publish,
                "publish-confirm",
                confirm_icon="send",
                spacing="2",
                width="100%",
            ),
            max_width="520px",
        ),
        open=C.is_open,
        on_open_change=lambda _o: C.close_confirm(),
    )
