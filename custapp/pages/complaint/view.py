"""The complaint page /complaints/[id] (SPEC §5): the header with the deadlines in the configured
zone, what the customer said and wants, the 附件, the actions the status allows and the whole
timeline (internal entries marked). Each dialog's view sits with its state (dialogs.py,
compensation.py, closing.py); this module lays out the page."""

from __future__ import annotations

import reflex as rx

from custapp.components.complaint_badges import overdue_badge, severity_badge, status_badge
from custapp.components.shell import T, loading, page
from custapp.pages.complaint.attachments import complaint_attachments_section
from custapp.pages.complaint.closing import CloseComplaintDialog, close_dialog
from custapp.pages.complaint.compensation import CompensationDialog, compensation_dialog
from custapp.pages.complaint.dialogs import ActionDialog, AssignDialog, action_dialog, assign_dialog
from custapp.pages.complaint.state import ComplaintState
from custapp.vocab import ComplaintStatus

ON_HOLD, CLOSED = ComplaintStatus.ON_HOLD.value, ComplaintStatus.CLOSED.value


def _fact(label: str, *value: rx.Component | rx.Var, testid: str | None = None) -> rx.Component:
    return rx.data_list.item(
        rx.data_list.label(T(label), min_width="96px"),
        rx.data_list.value(
            rx.hstack(*value, spacing="2", align="center", wrap="wrap"),
            **({"data_testid": testid} if testid else {}),
        ),
        align="center",
    )


def _deadline(which: str) -> rx.Component:
    h = ComplaintState.h
    by, mark, color = (getattr(h, f"{which}_{part}") for part in ("by", "mark", "color"))
    return rx.cond(
        by != "",
        rx.fragment(
            rx.text(by, size="2"),
            rx.badge(
                mark,
                color_scheme=rx.match(
                    color, ("red", "red"), ("amber", "amber"), ("orange", "orange"), "gray"
                ),
                variant="soft",
                data_testid=f"{which}-mark",
            ),
        ),
        rx.text(T(f"complaint_pages.{which}_stopped"), size="2", color_scheme="gray"),
    )


def _or_dash(value: rx.Var) -> rx.Component:
    return rx.text(rx.cond(value != "", value, "—"))


def _header() -> rx.Component:
    S = ComplaintState
    h = S.h
    return rx.card(
        rx.vstack(
            rx.hstack(
                rx.heading(h.number, size="5", data_testid="complaint-number"),
                status_badge(h.status, h.status_label),
                severity_badge(h.severity, h.severity_label),
                overdue_badge(h.overdue),
                rx.cond(
                    h.reopened != "",
                    rx.badge(T("complaint_pages.reopened_times"), " ", h.reopened),
                ),
                align="center",
                wrap="wrap",
                width="100%",
            ),
            rx.grid(
                rx.data_list.root(
                    _fact(
                        "complaint_pages.field.customer",
                        rx.cond(
                            h.customer_href != "",
                            rx.link(h.customer, href=h.customer_href),
                            rx.fragment(
                                rx.badge(T("complaint_pages.anonymous"), variant="outline"),
                                rx.text(S.contact, size="2"),
                            ),
                        ),
                        testid="complaint-customer",
                    ),
                    _fact("complaint_pages.field.channel", rx.text(h.channel)),
                    _fact("complaint_pages.field.category", rx.text(h.category)),
                    _fact(
                        "complaint_pages.field.assignee",
                        rx.text(h.assignee),
                        testid="complaint-assignee",
                    ),
                    _fact("complaint_pages.field.created", rx.text(h.created)),
                    size="2",
                ),
                rx.data_list.root(
                    _fact("complaint_pages.field.response_by", _deadline("response")),
                    _fact("complaint_pages.field.resolution_by", _deadline("resolution")),
                    _fact("complaint_pages.field.first_response", _or_dash(h.first_response)),
                    _fact("complaint_pages.field.informed_at", _or_dash(h.informed)),
                    _fact("complaint_pages.field.satisfaction", _or_dash(h.satisfaction)),
                    size="2",
                ),
                columns=rx.breakpoints(initial="1", md="2"),
                spacing="4",
                width="100%",
            ),
            rx.text(T("complaint_pages.zone_note"), " ", h.zone, size="1", color_scheme="gray"),
            spacing="3",
            width="100%",
        ),
        width="100%",
    )


def _said() -> rx.Component:
    S = ComplaintState
    return rx.card(
        rx.vstack(
            rx.text(T("complaint_pages.field.description"), weight="bold", size="2"),
            rx.text(S.description, white_space="pre-wrap", data_testid="complaint-description"),
            rx.cond(
                S.desired != "",
                rx.fragment(
                    rx.text(T("complaint_pages.field.desired"), weight="bold", size="2"),
                    rx.text(S.desired, white_space="pre-wrap", data_testid="complaint-desired"),
                ),
            ),
            rx.cond(
                S.closing.length() > 0,
                rx.data_list.root(
                    rx.foreach(
                        S.closing,
                        lambda c: rx.data_list.item(
                            rx.data_list.label(c.label),
                            rx.data_list.value(rx.text(c.value, white_space="pre-wrap")),
                        ),
                    ),
                    size="2",
                    padding_top="8px",
                    data_testid="complaint-closing",
                ),
            ),
            spacing="2",
            width="100%",
        ),
        width="100%",
    )


def _action_button(label: rx.Var, icon: str, on_click, testid: str, **props) -> rx.Component:  # noqa: ANN001
    return rx.button(rx.icon(icon, size=14), label, on_click=on_click, data_testid=testid, **props)


def _actions() -> rx.Component:
    S, A = ComplaintState, ActionDialog
    status = S.h.status
    open_ = status != CLOSED
    return rx.flex(
        rx.foreach(
            S.moves,
            lambda m: _action_button(
                T("complaint_pages.action.move") + " " + m.label,
                "arrow-right",
                A.open_action("move", m.value),
                "move-" + m.value,
            ),
        ),
        rx.cond(
            status == ON_HOLD,
            _action_button(
                T("complaint_pages.action.resume"), "circle-play", S.resume, "action-resume"
            ),
        ),
        _action_button(
            T("complaint_pages.action.reply"),
            "message-circle-reply",
            A.open_action("reply", ""),
            "action-reply",
            variant="soft",
        ),
        _action_button(
            T("complaint_pages.action.note"),
            "notebook-pen",
            A.open_action("note", ""),
            "action-note",
            variant="soft",
        ),
        rx.cond(
            (status != ON_HOLD) & open_,
            _action_button(
                T("complaint_pages.action.hold"),
                "circle-pause",
                A.open_action("hold", ""),
                "action-hold",
                variant="soft",
                color_scheme="orange",
            ),
        ),
        rx.cond(
            status == CLOSED,
            _action_button(
                T("complaint_pages.action.reopen"),
                "rotate-ccw",
                A.open_action("reopen", ""),
                "action-reopen",
                variant="soft",
                color_scheme="red",
            ),
        ),
        rx.cond(
            S.can_assign & open_,
            _action_button(
                T("complaint_pages.action.assign"),
                "user-plus",
                AssignDialog.open_assign,
                "action-assign",
                variant="outline",
            ),
        ),
        rx.cond(
            (S.h.customer_href != "") & open_,
            _action_button(
                T("complaint_pages.action.compensate"),
                "gift",
                CompensationDialog.open_compensation,
                "action-compensate",
                variant="outline",
                color_scheme="amber",
            ),
        ),
        rx.cond(
            S.can_close & open_,
            _action_button(
                T("complaint_pages.action.close"),
                "circle-check-big",
                CloseComplaintDialog.open_close,
                "action-close",
                variant="outline",
                color_scheme="green",
            ),
        ),
        gap="8px",
        wrap="wrap",
        width="100%",
        data_testid="complaint-actions",
    )


def _visibility(visible: rx.Var) -> rx.Component:
    return rx.cond(
        visible,
        rx.badge(
            rx.icon("eye", size=12),
            T("complaint_pages.visible"),
            color_scheme="green",
            variant="soft",
            data_testid="entry-visible",
        ),
        rx.badge(
            rx.icon("lock", size=12),
            T("complaint_pages.internal"),
            color_scheme="gray",
            variant="soft",
            data_testid="entry-internal",
        ),
    )


def _entry(e: rx.Var) -> rx.Component:
    return rx.box(
        rx.hstack(
            rx.text(e.time, size="1", color_scheme="gray", white_space="nowrap"),
            rx.text(e.who, size="2", weight="medium"),
            rx.badge(e.kind_label, variant="outline"),
            rx.cond(e.change != "", rx.badge(e.change, color_scheme="blue", variant="soft")),
            _visibility(e.visible),
            align="center",
            wrap="wrap",
            spacing="2",
        ),
        rx.cond(e.detail != "", rx.text(e.detail, size="2", color_scheme="gray")),
        rx.cond(
            e.body != "",
            rx.text(e.body, size="2", white_space="pre-wrap", padding_top="4px"),
        ),
        padding="10px 12px",
        border_left=rx.cond(
            e.visible,
            f"3px solid {rx.color('green', 8)}",
            f"3px solid {rx.color('gray', 6)}",
        ),
        background=rx.color("gray", 2),
        border_radius="6px",
        width="100%",
        data_testid="timeline-entry",
    )


def _timeline() -> rx.Component:
    return rx.card(
        rx.vstack(
            rx.hstack(
                rx.heading(T("complaint_pages.timeline"), size="4"),
                rx.text(T("complaint_pages.timeline_hint"), size="1", color_scheme="gray"),
                align="baseline",
                wrap="wrap",
            ),
            rx.foreach(ComplaintState.timeline, _entry),
            spacing="2",
            width="100%",
            data_testid="complaint-timeline",
        ),
        width="100%",
    )


def complaint_page() -> rx.Component:
    S = ComplaintState
    return page(
        "complaint_pages.title",
        rx.box(
            rx.cond(
                S.loaded,
                rx.vstack(
                    rx.hstack(
                        rx.link(
                            rx.hstack(rx.icon("arrow-left", size=14), T("complaint_pages.back")),
                            href="/my-complaints",
                            size="2",
                        ),
                        width="100%",
                    ),
                    _header(),
                    _said(),
                    complaint_attachments_section(),
                    _actions(),
                    _timeline(),
                    spacing="4",
                    width="100%",
                ),
                loading(),
            ),
            action_dialog(),
            assign_dialog(),
            compensation_dialog(),
            close_dialog(),
            on_unmount=S.leave,  # drops the text, closes the dialogs, empties the 附件
            width="100%",
        ),
    )
