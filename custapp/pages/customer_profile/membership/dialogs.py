"""The 积分与储值 tab's dialogs: one dialog for the card actions (its form, then the confirmation
of a money action) and the one-time code of the member page account."""

from __future__ import annotations

import reflex as rx

from custapp.components.membership import confirm_panel
from custapp.components.shell import T, field_error, form_actions
from custapp.pages.customer_profile.membership.state import (
    ACTIONS,
    MONEY_METHODS,
    MembershipTabState,
)


def _labelled(label: str, name: str, control: rx.Component) -> rx.Component:
    return rx.vstack(
        rx.text(T(label), size="2", weight="medium"),
        control,
        field_error(MembershipTabState.errors.get(name, "")),
        spacing="1",
        width="100%",
        data_testid=f"field-{name}",
    )


def _method_field(name: str, label: str) -> rx.Component:
    return _labelled(
        label,
        name,
        rx.select.root(
            rx.select.trigger(placeholder=T("orders.choose_method"), data_testid=f"action-{name}"),
            rx.select.content(
                *[rx.select.item(T(f"orders.method.{m}"), value=m) for m in MONEY_METHODS]
            ),
            name=name,
        ),
    )


def _amount_field(label: str) -> rx.Component:
    return _labelled(
        label,
        "amount",
        rx.input(name="amount", id="action-amount", input_mode="decimal", placeholder="0.00"),
    )


def _tier_field() -> rx.Component:
    S = MembershipTabState
    return _labelled(
        "membership.tier",
        "tier",
        rx.select.root(
            rx.select.trigger(placeholder=T("common.choose"), data_testid="action-tier"),
            rx.select.content(rx.foreach(S.tiers, lambda t: rx.select.item(t.label, value=t.code))),
            name="tier",
        ),
    )


def _confirm(label: str) -> rx.Component:
    return rx.box(
        rx.checkbox(T(label), name="confirmed", data_testid="action-confirmed"),
        field_error(MembershipTabState.errors.get("confirmed", "")),
        data_testid="field-confirmed",
    )


def _reason() -> rx.Component:
    return _labelled(
        "membership.reason", "reason", rx.input(name="reason", id="action-reason", max_length=200)
    )


def _action_fields() -> rx.Component:
    S = MembershipTabState
    return rx.match(
        S.action,
        (
            "issue",
            rx.vstack(
                _tier_field(),
                _labelled(
                    "membership.member_class",
                    "member_class",
                    rx.select.root(
                        rx.select.trigger(placeholder=T("membership.class_default")),
                        rx.select.content(
                            rx.select.item(T("membership.class.vip"), value="vip"),
                            rx.select.item(T("membership.class.unit"), value="unit"),
                        ),
                        name="member_class",
                    ),
                ),
                _amount_field("membership.first_topup"),
                _method_field("method", "membership.topup_method"),
                _method_field("fee_method", "membership.fee_method"),
                rx.text(T("membership.fee_hint"), size="1", color_scheme="gray"),
                _confirm("membership.application_signed"),
                spacing="3",
                width="100%",
            ),
        ),
        (
            "topup",
            rx.vstack(
                _amount_field("membership.topup_amount"),
                _method_field("method", "membership.topup_method"),
                spacing="3",
                width="100%",
            ),
        ),
        (
            "upgrade",
            rx.vstack(
                _tier_field(),
                _amount_field("membership.upgrade_topup"),
                _method_field("method", "membership.topup_method"),
                _method_field("fee_method", "membership.fee_method"),
                _confirm("membership.signature_confirmed"),
                spacing="3",
                width="100%",
            ),
        ),
        (
            "replace",
            rx.vstack(
                rx.text(T("membership.replace_hint"), size="2"),
                _confirm("membership.identity_checked"),
                spacing="3",
                width="100%",
            ),
        ),
        (
            "close",
            rx.vstack(
                rx.text(T("membership.close_hint"), S.summary.balance, size="2"),
                _method_field("method", "membership.refund_method"),
                _reason(),
                spacing="3",
                width="100%",
            ),
        ),
        rx.vstack(
            rx.text(
                rx.cond(
                    S.action == "ask_adjust",
                    T("approval.adjust_ask_hint"),
                    T("membership.adjust_hint"),
                ),
                size="2",
                color_scheme="gray",
            ),
            _labelled(
                "membership.adjust_points",
                "points",
                rx.input(
                    name="points",
                    id="action-points",
                    input_mode="numeric",
                    placeholder="+100 / -50",
                ),
            ),
            _reason(),
            spacing="3",
            width="100%",
        ),
    )


def action_dialog() -> rx.Component:
    S = MembershipTabState
    confirming = S.confirm_text != ""
    return rx.dialog.root(
        rx.dialog.content(
            rx.dialog.title(
                rx.match(
                    S.action,
                    *[(a, T(f"membership.action.{a}")) for a in ACTIONS],
                    "",
                )
            ),
            rx.form(
                rx.vstack(
                    # hidden, not removed, while confirming: 返回修改 finds the form as typed
                    rx.vstack(
                        rx.cond(
                            S.limits_hint != "",
                            rx.text(S.limits_hint, size="1", color_scheme="gray"),
                        ),
                        _action_fields(),
                        field_error(S.action_error),
                        form_actions(S.close_action, "common.save", "action-submit"),
                        spacing="3",
                        width="100%",
                        display=rx.cond(confirming, "none", "flex"),
                    ),
                    rx.cond(
                        confirming, confirm_panel(S.confirm_text, S.confirm_action, S.back_action)
                    ),
                    spacing="3",
                    width="100%",
                ),
                on_submit=S.submit_action,
                reset_on_submit=False,
            ),
            max_width="480px",
        ),
        open=S.action != "",
        on_open_change=lambda _open: S.close_action(),
    )


def code_dialog() -> rx.Component:
    S = MembershipTabState
    issued = rx.vstack(
        rx.cond(S.code_first, rx.callout(T("member.code.first"), icon="user-plus", size="1")),
        rx.text(T("member.code.shown"), size="2"),
        rx.heading(
            S.code,
            size="8",
            letter_spacing="0.2em",
            font_family="monospace",
            data_testid="member-code",
        ),
        rx.text(S.code_note, size="2", color_scheme="gray", data_testid="member-code-note"),
        rx.hstack(
            rx.button(T("common.done"), on_click=S.close_code, data_testid="member-code-close"),
            justify="end",
            width="100%",
        ),
        spacing="3",
        width="100%",
    )
    ask = rx.form(
        rx.vstack(
            rx.text(T("member.code.explain"), size="2"),
            rx.box(
                rx.checkbox(
                    T("member.code.identity_checked"),
                    name="identity_checked",
                    data_testid="member-code-identity",
                ),
                field_error(S.identity_error),
                data_testid="field-identity_checked",
            ),
            field_error(S.code_error),
            form_actions(S.close_code, "member.code.issue", "member-code-issue"),
            spacing="3",
            width="100%",
        ),
        on_submit=S.issue_code,
        reset_on_submit=False,
    )
    return rx.dialog.root(
        rx.dialog.content(
            rx.dialog.title(T("member.code.title")),
            rx.cond(S.code != "", issued, ask),
            max_width="460px",
        ),
        open=S.code_open,
        on_open_change=lambda _open: S.close_code(),
    )
