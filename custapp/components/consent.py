"""The privacy notice and the consent choices, shared by the profile's 授权同意 tab, 新建客户 and the
member portal's 隐私: each purpose its own choice, nothing preselected (000 CN-06)."""

from __future__ import annotations

import dataclasses

import reflex as rx

from custapp.components.shell import T, field_error
from custapp.i18n import t
from custapp.services import consent
from custapp.states.session import SessionState

STATE_COLORS = {"granted": "green", "refused": "gray", "withdrawn": "orange", "": "gray"}


@dataclasses.dataclass(frozen=True)
class NoticeView:
    """The notice as a state value (version "" = none)."""

    version: str = ""
    version_zh: str = ""
    version_en: str = ""
    handler_zh: str = ""
    handler_en: str = ""
    body_zh: str = ""
    body_en: str = ""


@dataclasses.dataclass(frozen=True)
class ConsentChoice:
    """A consent-based purpose of the notice, as a typed row."""

    code: str = ""
    name_zh: str = ""
    name_en: str = ""
    description_zh: str = ""
    description_en: str = ""


def notice_rows(notice: consent.NoticeText | None) -> tuple[NoticeView, list[ConsentChoice]]:
    """The notice and its choices as state values, in both languages (the page picks by the
    user's language, so switching language needs no reload)."""
    if notice is None:
        return NoticeView(), []
    text = NoticeView(
        version=str(notice.version),
        version_zh=t("consent.tab.version", "zh_CN", version=notice.version),
        version_en=t("consent.tab.version", "en", version=notice.version),
        handler_zh=notice.handler_zh,
        handler_en=notice.handler_en,
        body_zh=notice.body_zh,
        body_en=notice.body_en,
    )
    choices = [
        ConsentChoice(
            code=c.code,
            name_zh=c.name_zh,
            name_en=c.name_en,
            description_zh=c.description_zh,
            description_en=c.description_en,
        )
        for c in notice.choices
    ]
    return text, choices


def notice_vars(notice: consent.NoticeText | None) -> tuple[dict, list[dict]]:
    """`notice_rows` as plain dicts, for a page state not yet holding the typed rows."""
    if notice is None:
        return {}, []
    text, choices = notice_rows(notice)
    return dataclasses.asdict(text), [dataclasses.asdict(c) for c in choices]


def read_answers(form: dict, choices: list[dict[str, str]] | list[ConsentChoice]) -> dict[str, str]:
    """{purpose: "grant" | "refuse"} for the purposes the customer answered; one left unanswered
    records nothing. Only the purposes the page offered are read; any other value of an offered
    one is passed on for the service to refuse."""
    answers = {}
    for choice in choices:
        code = choice.code if isinstance(choice, ConsentChoice) else choice["code"]
        value = str(form.get(f"consent_{code}", "") or "")
        if value:
            answers[code] = value
    return answers


def answer_errors(form: dict, answers: dict[str, str], *, scan: bool = False) -> dict[str, str]:
    """What the page checks before saving, so every message shows at once: the notice was shown
    (002 CON-01), and an answer needs written evidence (the service checks it too)."""
    errors = {}
    if not form.get("notice_shown"):
        errors["notice_shown"] = "consent.counter.notice_required"
    if answers and not str(form.get("evidence_ref", "")).strip() and not scan:
        errors["evidence_ref"] = "consent.counter.evidence_required"
    return errors


def _pick(values: rx.Var, name: str) -> rx.Var:
    return rx.cond(SessionState.locale == "en", values[f"{name}_en"], values[f"{name}_zh"])


def notice_panel(notice: rx.Var) -> rx.Component:
    """The current privacy notice: version, handler, and the text in a scrolling box."""
    return rx.cond(
        notice["version"],
        rx.box(
            rx.hstack(
                rx.icon("scroll-text", size=16),
                rx.text(T("consent.counter.notice_title"), weight="bold", size="2"),
                rx.badge(_pick(notice, "version"), variant="soft", data_testid="notice-version"),
                align="center",
                spacing="2",
            ),
            rx.text(
                T("consent.counter.handler"),
                "：",
                _pick(notice, "handler"),
                size="2",
                margin_top="6px",
            ),
            rx.scroll_area(
                rx.text(_pick(notice, "body"), size="2", white_space="pre-wrap"),
                type="auto",
                scrollbars="vertical",
                max_height="150px",
                margin_top="6px",
                padding_right="12px",
            ),
            padding="12px",
            border=f"1px solid {rx.color('gray', 6)}",
            border_radius="8px",
            background=rx.color("gray", 2),
            width="100%",
            data_testid="notice-panel",
        ),
        rx.callout(
            T("consent.error.no_notice"), icon="triangle-alert", color_scheme="red", width="100%"
        ),
    )


def _choice_row(choice: rx.Var, errors: rx.Var) -> rx.Component:
    code = choice["code"].to(str)
    message = errors.get("purpose." + code, "")
    return rx.box(
        rx.hstack(
            rx.vstack(
                rx.text(_pick(choice, "name"), weight="medium", size="2"),
                rx.text(_pick(choice, "description"), size="1", color_scheme="gray"),
                spacing="0",
                flex="1",
            ),
            rx.radio_group.root(
                rx.hstack(
                    rx.radio_group.item(T("consent.counter.choice.grant"), value="grant"),
                    rx.radio_group.item(T("consent.counter.choice.refuse"), value="refuse"),
                    spacing="5",
                ),
                name="consent_" + code,
                aria_label=_pick(choice, "name"),
            ),
            align="center",
            spacing="4",
            width="100%",
        ),
        field_error(message),
        padding_y="8px",
        border_bottom=f"1px solid {rx.color('gray', 4)}",
        width="100%",
        data_testid="consent-choice-" + code,
    )


def consent_choices(choices: rx.Var, errors: rx.Var) -> rx.Component:
    """Each consent-based purpose of the notice as its own choice, 同意 / 不同意, none chosen."""
    return rx.cond(
        choices.length() > 0,
        rx.vstack(
            rx.foreach(choices, lambda c: _choice_row(c, errors)),
            spacing="0",
            width="100%",
            max_width="760px",  # the choices stay near the purpose they answer
            data_testid="consent-choices",
        ),
        rx.text(T("consent.counter.no_purposes"), size="2", color_scheme="gray"),
    )


def evidence_field(errors: rx.Var, hint: str) -> rx.Component:
    message = errors.get("evidence_ref", "")
    return rx.vstack(
        rx.text(T("consent.counter.evidence"), size="2", weight="medium"),
        rx.input(
            name="evidence_ref",
            id="consent-evidence",
            max_length=consent.EVIDENCE_MAX,
            aria_invalid=rx.cond(message != "", "true", "false"),
            width="100%",
        ),
        field_error(message),
        rx.text(T(hint), size="1", color_scheme="gray"),
        spacing="1",
        width="100%",
        data_testid="field-evidence_ref",
    )


def notice_shown_field(errors: rx.Var) -> rx.Component:
    return rx.vstack(
        rx.checkbox(
            T("consent.counter.notice_shown"),
            name="notice_shown",
            size="2",
            data_testid="notice-shown",
        ),
        field_error(errors.get("notice_shown", "")),
        spacing="1",
        data_testid="field-notice_shown",
    )
