"""The complaint page /complaints/[id] (SPEC §5): the header with the deadlines in the configured
zone, what the customer said and wants, the whole timeline (internal entries marked), and the
actions the status allows: the workflow moves (complaints.MOVES), 添加备注 / 回复客户, 挂起 /
恢复, 重新打开, and for cs_manager 分派 and 结案.

A button a role may not use is hidden, but every handler calls the service, which checks the
permission and the status itself. The decrypted text (description, desired resolution, contact,
notes, closing text) is held only while this page is open: it is dropped on leaving it
(on_unmount) and before Reflex sends the state tree to another page (a full page load).
"""

from __future__ import annotations

import math
from datetime import date

import reflex as rx

from custapp import clock
from custapp.components.shell import (
    T,
    content_dialog,
    field_error,
    form_actions,
    form_dialog,
    loading,
    page,
)
from custapp.models.approvals import COMPENSATION_FORMS
from custapp.models.complaints import INFORM_WAYS
from custapp.pages.complaint_attachments import complaint_attachments_section
from custapp.pages.complaint_intake import labelled
from custapp.pages.profile_complaints import (
    compensation_text,
    overdue_badge,
    severity_badge,
    status_badge,
)
from custapp.services import approvals, complaints, gifts
from custapp.services.complaints import MAX_TEXT, MOVES
from custapp.services.customer_input import parse_fen, row_id
from custapp.states.session import SessionState

# action -> (label key, icon): the dialogs of the one-text actions
ACTIONS = {
    "note": ("complaint_pages.action.note", "notebook-pen"),
    "reply": ("complaint_pages.action.reply", "message-circle-reply"),
    "hold": ("complaint_pages.action.hold", "circle-pause"),
    "reopen": ("complaint_pages.action.reopen", "rotate-ccw"),
    "move": ("complaint_pages.action.move", "arrow-right"),
}
SCORES = ("1", "2", "3", "4", "5")
CLOSE_FIELDS = (
    "root_cause",
    "solution",
    "informed_on",
    "informed_via",
    "satisfaction",
    "no_score_reason",
)


def _text(form: object, name: str) -> str:
    value = form.get(name, "") if isinstance(form, dict) else ""
    return value if isinstance(value, str) else ""


class ComplaintState(SessionState):
    loaded: bool = False
    h: dict[str, str] = {}  # the header
    description: str = ""
    desired: str = ""
    contact: str = ""
    closing: list[list[str]] = []  # label, value of the closing record
    timeline: list[dict[str, str]] = []
    moves: list[list[str]] = []  # to_status, its label
    can_assign: bool = False
    can_close: bool = False
    # the one-text action dialog
    action_open: bool = False
    action: str = ""
    action_title: str = ""
    action_to: str = ""
    action_visible: bool = False  # 客户可见: ticked by the handler only (a reply always is)
    action_locked: bool = False  # 回复客户: the customer sees it, no checkbox
    action_field_error: str = ""
    action_outcome_error: str = ""
    action_error: str = ""
    # 分派
    assign_open: bool = False
    handlers: list[list[str]] = []
    assign_to: str = ""
    assign_error: str = ""
    # 结案
    close_open: bool = False
    close_score: str = ""
    close_errors: dict[str, str] = {}
    close_error: str = ""
    close_hint: str = ""
    # 申请补偿
    comp_open: bool = False
    comp_form: str = "points"
    comp_gifts: list[list[str]] = []  # id, name and points cost
    comp_errors: dict[str, str] = {}
    comp_error: str = ""
    _id: int = 0

    def _clear(self) -> None:
        self.loaded, self.h, self.description, self.desired, self.contact = False, {}, "", "", ""
        self.closing, self.timeline, self.moves = [], [], []
        self.action_open = self.assign_open = self.close_open = self.comp_open = False
        self.handlers, self.close_errors, self.comp_gifts, self.comp_errors = [], {}, [], {}

    @rx.event
    def load(self):
        actor, redirect = self._enter("complaint.handle")
        if redirect:
            return redirect
        self._clear()
        self._id = row_id(self.router.page.params.get("id", ""))
        self.can_assign = actor.can("complaint.assign")
        self.can_close = actor.can("complaint.close")
        error = self._fetch_view()
        if error:
            return [rx.redirect("/my-complaints"), rx.toast.error(error)]
        return None

    @rx.event
    def leave(self):
        self._clear()

    # --- reading ----------------------------------------------------------------------------

    def _fetch_view(self) -> str | None:
        view, error = self._call(complaints.get_complaint, complaint_id=self._id)
        if error:
            self._clear()
            return error
        self._show(view)
        return None

    def _due(self, by, status: str) -> tuple[str, str, str]:  # noqa: ANN001
        """(the deadline in the configured zone, its marker, its colour)."""
        if by is None:
            return "", "", ""
        text = clock.format_local(by)
        if status == "on_hold":
            return text, self._t("complaint_pages.paused"), "orange"
        left = (by - clock.now()).total_seconds() / 3600
        if left < 0:
            return text, self._t("complaint_pages.overdue"), "red"
        hours = max(1, math.ceil(left))
        return (
            text,
            self._t("complaint_pages.hours_left", hours=hours),
            ("amber" if left < 4 else "gray"),
        )

    def _show(self, view: complaints.ComplaintView) -> None:
        r = view.row
        self._id = r.id
        response, response_mark, response_color = self._due(r.response_by, r.status)
        resolution, resolution_mark, resolution_color = self._due(r.resolution_by, r.status)
        self.h = {
            "number": r.number,
            "status": r.status,
            "status_label": self._t(f"complaint.status.{r.status}"),
            "severity": r.severity,
            "severity_label": self._t(f"complaint.severity.{r.severity}"),
            "channel": self._t(f"complaint.channel.{r.channel}"),
            "category": self._t(f"complaint.category.{r.category}"),
            "overdue": "1" if r.overdue else "",
            "customer": f"{r.customer_name} {r.customer_number}".strip() if r.customer_id else "",
            "customer_href": f"/customers/{r.customer_id}" if r.customer_id else "",
            "assignee": r.assignee_name or self._t("complaint_pages.unassigned"),
            "created": clock.format_local(r.created_at),
            "response_by": response,
            "response_mark": response_mark,
            "response_color": response_color,
            "resolution_by": resolution,
            "resolution_mark": resolution_mark,
            "resolution_color": resolution_color,
            "first_response": clock.format_local(view.first_response_at),
            "informed": clock.format_local(view.informed_at),
            "closed": clock.format_local(view.closed_at),
            "zone": str(clock.zone()),
            "reopened": str(view.reopened_count) if view.reopened_count else "",
            "satisfaction": str(r.satisfaction or ""),
        }
        self.description, self.desired, self.contact = view.description, view.desired, view.contact
        via = self._t(f"complaint.inform.{view.informed_via}") if view.informed_via else ""
        closing = [
            ("complaint_pages.field.root_cause", view.root_cause),
            ("complaint_pages.field.solution", view.solution),
            (
                "complaint_pages.field.informed",
                " · ".join(
                    p for p in (view.informed_on.isoformat() if view.informed_on else "", via) if p
                ),
            ),
            (
                "complaint_pages.field.satisfaction",
                str(r.satisfaction) if r.satisfaction else view.no_score_reason,
            ),
        ]
        self.closing = [[self._t(k), v] for k, v in closing if v]
        self.timeline = [self._entry(e, view.gifts) for e in reversed(view.timeline)]
        self.moves = [[to, self._t(f"complaint.status.{to}")] for to in MOVES.get(r.status, ())]
        self.loaded = True

    def _entry(self, e: complaints.TimelineEntry, gifts: dict) -> dict[str, str]:
        change = ""
        if e.to_status:
            to = self._t(f"complaint.status.{e.to_status}")
            change = (
                f"{self._t(f'complaint.status.{e.from_status}')} → {to}" if e.from_status else to
            )
        detail = e.detail
        if e.kind == "escalation" and ":" in detail:
            clock_name, level = detail.split(":", 1)
            detail = self._t(
                "complaint_pages.escalation",
                clock=self._t(f"complaint_pages.clock.{clock_name}"),
                level=self._t(f"complaint_pages.level.{level}"),
            )
        elif e.kind == "compensation":
            detail = compensation_text(self, detail, gifts)
        return {
            "time": clock.format_local(e.created_at),
            "who": e.actor_name or self._t("complaint_pages.system"),
            "kind": e.kind,
            "kind_label": self._t(f"complaint_pages.kind.{e.kind}"),
            "change": change,
            "body": e.body,
            "detail": detail,
            "visible": "1" if e.visible else "",
        }

    def _done(self, message_key: str, **params: object):
        """After an action: the complaint read again, a toast."""
        error = self._fetch_view()
        return rx.toast.error(error) if error else rx.toast.success(self._t(message_key, **params))

    # --- the one-text actions -------------------------------------------------------------------

    @rx.event
    def open_action(self, action: str, to_status: str = ""):
        if action not in ACTIONS:
            return
        self.action, self.action_to = action, ""
        if action == "move":
            if to_status not in MOVES.get(self.h.get("status", ""), ()):
                return
            self.action_to = to_status
            self.action_title = self._t(
                "complaint_pages.move_to", status=self._t(f"complaint.status.{to_status}")
            )
        else:
            self.action_title = self._t(ACTIONS[action][0])
        self.action_visible = self.action_locked = action == "reply"
        self.action_field_error = self.action_outcome_error = self.action_error = ""
        self.action_open = True

    @rx.event
    def set_action_visible(self, value: bool):
        if self.action_open and not self.action_locked:
            self.action_visible = value is True

    @rx.event
    def close_dialogs(self):
        self.action_open = self.assign_open = self.close_open = self.comp_open = False

    @rx.event
    def submit_action(self, form: dict):
        # clicks queued while the first submit ran arrive after it closed the dialog: the note
        # was written once, so they do nothing
        if not self.action_open:
            return None
        text = _text(form, "text")
        action, visible = self.action, self.action_visible
        if action == "move":
            _, error = self._call(
                complaints.move,
                complaint_id=self._id,
                to_status=self.action_to,
                note=text,
                visible=visible,
                outcome=_text(form, "outcome") if self.action_to == "customer_informed" else "",
            )
        elif action in ("note", "reply"):
            _, error = self._call(
                complaints.add_note, complaint_id=self._id, body=text, visible=visible
            )
        elif action == "hold":
            _, error = self._call(
                complaints.hold, complaint_id=self._id, note=text, visible=visible
            )
        elif action == "reopen":
            _, error = self._call(
                complaints.reopen, complaint_id=self._id, note=text, visible=visible
            )
        else:
            return None
        if error:
            fields = self._field_errors
            self.action_outcome_error = fields.get("outcome", "")
            self.action_field_error = next((m for f, m in fields.items() if f != "outcome"), "")
            self.action_error = "" if fields else error
            return None
        self.action_open = False
        return self._done(f"complaint_pages.done.{action}")

    @rx.event
    def resume(self):
        _, error = self._call(complaints.resume, complaint_id=self._id)
        if error:
            return rx.toast.error(error)
        return self._done("complaint_pages.done.resume")

    # --- 分派 -----------------------------------------------------------------------------------

    @rx.event
    def open_assign(self):
        found, error = self._call(complaints.handlers)
        if error:
            return rx.toast.error(error)
        self.handlers = [[str(i), name] for i, name in found]
        self.assign_to, self.assign_error, self.assign_open = "", "", True
        return None

    @rx.event
    def set_assign_to(self, value: str):
        self.assign_to = value if any(value == h[0] for h in self.handlers) else ""

    @rx.event
    def assign(self, _form: dict | None = None):
        _, error = self._call(
            complaints.assign, complaint_ids=[self._id], assignee_id=row_id(self.assign_to)
        )
        if error:
            self.assign_error = self._field_errors.get("assignee", error)
            return None
        self.assign_open, self.handlers = False, []
        return self._done("complaint_pages.done.assign")

    # --- 申请补偿 -------------------------------------------------------------------------------

    @rx.event
    def open_compensation(self):
        found, error = self._call(gifts.list_gifts, include_inactive=False)
        if error:
            return rx.toast.error(error)
        self.comp_gifts = [
            [
                str(g.id),
                self._t("complaint_pages.gift_choice", name=g.name_zh, points=g.points_cost),
            ]
            for g in found
            if g.available
        ]
        self.comp_form, self.comp_errors, self.comp_error = "points", {}, ""
        self.comp_open = True
        return None

    @rx.event
    def set_comp_form(self, value: str | list[str]):
        if isinstance(value, str) and value in COMPENSATION_FORMS:
            self.comp_form, self.comp_errors, self.comp_error = value, {}, ""

    @rx.event
    def request_compensation(self, form: dict):
        if not self.comp_open:  # a click queued behind the submit that closed the dialog
            return None
        kind = self.comp_form
        points_text = _text(form, "points").strip().lstrip("+")
        amount_text = _text(form, "amount").strip()
        amount = parse_fen(amount_text)[0] if amount_text else None
        _, error = self._call(
            approvals.request_compensation,
            complaint_id=self._id,
            form=kind,
            reason=_text(form, "reason"),
            points=int(points_text) if points_text.isdecimal() and len(points_text) <= 9 else None,
            amount_fen=amount,
            gift_id=row_id(_text(form, "gift")) or None,
        )
        if error:
            self.comp_errors = dict(self._field_errors)
            self.comp_error = "" if self.comp_errors else error
            return None
        self.comp_open, self.comp_gifts = False, []
        return self._done("complaint_pages.done.compensate")

    # --- 结案 -----------------------------------------------------------------------------------

    @rx.event
    def open_close(self):
        self.close_score, self.close_errors, self.close_error = "", {}, ""
        status = self.h.get("status", "")
        self.close_hint = (
            ""
            if status == "return_visit"
            else self._t(
                "complaint_pages.close_not_yet", status=self._t(f"complaint.status.{status}")
            )
        )
        self.close_open = True

    @rx.event
    def set_close_score(self, value: str):
        self.close_score = value if value in (*SCORES, "none") else ""
        self.close_errors = {
            k: v
            for k, v in self.close_errors.items()
            if k not in ("satisfaction", "no_score_reason")
        }

    @rx.event
    def close_complaint(self, form: dict):
        try:
            informed_on = date.fromisoformat(_text(form, "informed_on").strip())
        except ValueError:
            informed_on = None
        score = self.close_score
        _, error = self._call(
            complaints.close,
            complaint_id=self._id,
            root_cause=_text(form, "root_cause"),
            solution=_text(form, "solution"),
            informed_on=informed_on,
            informed_via=_text(form, "informed_via"),
            satisfaction=int(score) if score in SCORES else None,
            no_score_reason=_text(form, "no_score_reason") if score == "none" else "",
        )
        if error:
            self.close_errors = {f: m for f, m in self._field_errors.items() if f in CLOSE_FIELDS}
            self.close_error = "" if self.close_errors else error
            return None
        self.close_open = False
        return self._done("complaint_pages.done.close")


# --- the page ------------------------------------------------------------------------------------


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
    S = ComplaintState
    return rx.cond(
        S.h[f"{which}_by"] != "",
        rx.fragment(
            rx.text(S.h[f"{which}_by"], size="2"),
            rx.badge(
                S.h[f"{which}_mark"],
                color_scheme=rx.match(
                    S.h[f"{which}_color"],
                    ("red", "red"),
                    ("amber", "amber"),
                    ("orange", "orange"),
                    "gray",
                ),
                variant="soft",
                data_testid=f"{which}-mark",
            ),
        ),
        rx.text(T(f"complaint_pages.{which}_stopped"), size="2", color_scheme="gray"),
    )


def _header() -> rx.Component:
    S = ComplaintState
    h = S.h
    return rx.card(
        rx.vstack(
            rx.hstack(
                rx.heading(h["number"], size="5", data_testid="complaint-number"),
                status_badge(h["status"], h["status_label"]),
                severity_badge(h["severity"], h["severity_label"]),
                overdue_badge(h["overdue"]),
                rx.cond(
                    h["reopened"] != "",
                    rx.badge(T("complaint_pages.reopened_times"), " ", h["reopened"]),
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
                            h["customer_href"] != "",
                            rx.link(h["customer"], href=h["customer_href"]),
                            rx.fragment(
                                rx.badge(T("complaint_pages.anonymous"), variant="outline"),
                                rx.text(S.contact, size="2"),
                            ),
                        ),
                        testid="complaint-customer",
                    ),
                    _fact("complaint_pages.field.channel", rx.text(h["channel"])),
                    _fact("complaint_pages.field.category", rx.text(h["category"])),
                    _fact(
                        "complaint_pages.field.assignee",
                        rx.text(h["assignee"]),
                        testid="complaint-assignee",
                    ),
                    _fact("complaint_pages.field.created", rx.text(h["created"])),
                    size="2",
                ),
                rx.data_list.root(
                    _fact("complaint_pages.field.response_by", _deadline("response")),
                    _fact("complaint_pages.field.resolution_by", _deadline("resolution")),
                    _fact(
                        "complaint_pages.field.first_response",
                        rx.text(rx.cond(h["first_response"] != "", h["first_response"], "—")),
                    ),
                    _fact(
                        "complaint_pages.field.informed_at",
                        rx.text(rx.cond(h["informed"] != "", h["informed"], "—")),
                    ),
                    _fact(
                        "complaint_pages.field.satisfaction",
                        rx.text(rx.cond(h["satisfaction"] != "", h["satisfaction"], "—")),
                    ),
                    size="2",
                ),
                columns=rx.breakpoints(initial="1", md="2"),
                spacing="4",
                width="100%",
            ),
            rx.text(T("complaint_pages.zone_note"), " ", h["zone"], size="1", color_scheme="gray"),
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
                            rx.data_list.label(c[0]),
                            rx.data_list.value(rx.text(c[1], white_space="pre-wrap")),
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
    S = ComplaintState
    status = S.h["status"]
    return rx.flex(
        rx.foreach(
            S.moves,
            lambda m: _action_button(
                T("complaint_pages.action.move") + " " + m[1],
                "arrow-right",
                S.open_action("move", m[0]),
                "move-" + m[0],
            ),
        ),
        rx.cond(
            status == "on_hold",
            _action_button(
                T("complaint_pages.action.resume"), "circle-play", S.resume, "action-resume"
            ),
        ),
        _action_button(
            T("complaint_pages.action.reply"),
            "message-circle-reply",
            S.open_action("reply", ""),
            "action-reply",
            variant="soft",
        ),
        _action_button(
            T("complaint_pages.action.note"),
            "notebook-pen",
            S.open_action("note", ""),
            "action-note",
            variant="soft",
        ),
        rx.cond(
            (status != "on_hold") & (status != "closed"),
            _action_button(
                T("complaint_pages.action.hold"),
                "circle-pause",
                S.open_action("hold", ""),
                "action-hold",
                variant="soft",
                color_scheme="orange",
            ),
        ),
        rx.cond(
            status == "closed",
            _action_button(
                T("complaint_pages.action.reopen"),
                "rotate-ccw",
                S.open_action("reopen", ""),
                "action-reopen",
                variant="soft",
                color_scheme="red",
            ),
        ),
        rx.cond(
            S.can_assign & (status != "closed"),
            _action_button(
                T("complaint_pages.action.assign"),
                "user-plus",
                S.open_assign,
                "action-assign",
                variant="outline",
            ),
        ),
        rx.cond(
            (S.h["customer_href"] != "") & (status != "closed"),
            _action_button(
                T("complaint_pages.action.compensate"),
                "gift",
                S.open_compensation,
                "action-compensate",
                variant="outline",
                color_scheme="amber",
            ),
        ),
        rx.cond(
            S.can_close & (status != "closed"),
            _action_button(
                T("complaint_pages.action.close"),
                "circle-check-big",
                S.open_close,
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


def _entry(e: rx.Var) -> rx.Component:
    return rx.box(
        rx.hstack(
            rx.text(e["time"], size="1", color_scheme="gray", white_space="nowrap"),
            rx.text(e["who"], size="2", weight="medium"),
            rx.badge(e["kind_label"], variant="outline"),
            rx.cond(e["change"] != "", rx.badge(e["change"], color_scheme="blue", variant="soft")),
            rx.cond(
                e["visible"] != "",
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
            ),
            align="center",
            wrap="wrap",
            spacing="2",
        ),
        rx.cond(
            e["detail"] != "",
            rx.text(e["detail"], size="2", color_scheme="gray"),
        ),
        rx.cond(
            e["body"] != "",
            rx.text(e["body"], size="2", white_space="pre-wrap", padding_top="4px"),
        ),
        padding="10px 12px",
        border_left=rx.cond(
            e["visible"] != "",
            f"3px solid {rx.color('green', 8)}",
            f"3px solid {rx.color('gray', 6)}",
        ),
        background=rx.color("gray", 2),
        border_radius="6px",
        width="100%",
        data_testid="timeline-entry",
    )


def _timeline() -> rx.Component:
    S = ComplaintState
    return rx.card(
        rx.vstack(
            rx.hstack(
                rx.heading(T("complaint_pages.timeline"), size="4"),
                rx.text(T("complaint_pages.timeline_hint"), size="1", color_scheme="gray"),
                align="baseline",
                wrap="wrap",
            ),
            rx.foreach(S.timeline, _entry),
            spacing="2",
            width="100%",
            data_testid="complaint-timeline",
        ),
        width="100%",
    )


def _outcome_field() -> rx.Component:
    """At 已告知客户: the outcome told to the customer, which they see in the portal."""
    S = ComplaintState
    return rx.cond(
        S.action_to == "customer_informed",
        labelled(
            "complaint_pages.field.outcome",
            rx.vstack(
                rx.text_area(
                    name="outcome",
                    id="action-outcome",
                    rows="3",
                    max_length=MAX_TEXT,
                    placeholder=T("complaint_pages.outcome_hint"),
                    width="100%",
                ),
                rx.text(T("complaint_pages.outcome_visible"), size="1", color_scheme="gray"),
                spacing="1",
                width="100%",
            ),
            S.action_outcome_error,
            "action-outcome-field",
        ),
    )


def _action_dialog() -> rx.Component:
    S = ComplaintState
    return form_dialog(
        _outcome_field(),
        rx.text_area(
            name="text",
            id="action-text",
            rows="4",
            max_length=MAX_TEXT,
            placeholder=rx.match(
                S.action,
                ("reopen", T("complaint_pages.reason_hint")),
                ("reply", T("complaint_pages.reply_hint")),
                ("note", T("complaint_pages.note_hint")),
                T("complaint_pages.optional_note_hint"),
            ),
            width="100%",
        ),
        field_error(S.action_field_error),
        rx.cond(
            ~S.action_locked,
            rx.text(
                rx.hstack(
                    rx.checkbox(
                        checked=S.action_visible,
                        on_change=S.set_action_visible,
                        data_testid="action-visible",
                    ),
                    T("complaint_pages.customer_visible"),
                    spacing="2",
                    align="center",
                ),
                as_="label",
                size="2",
            ),
        ),
        rx.text(
            rx.cond(
                S.action_visible,
                T("complaint_pages.will_be_visible"),
                T("complaint_pages.will_be_internal"),
            ),
            size="1",
            color_scheme="gray",
            data_testid="action-visibility",
        ),
        title=rx.text(S.action_title),
        is_open=S.action_open,
        on_close=S.close_dialogs,
        on_submit=S.submit_action,
        error=S.action_error,
        submit_label="complaint_pages.confirm",
        submit_testid="action-submit",
    )


def _assign_dialog() -> rx.Component:
    S = ComplaintState
    return form_dialog(
        rx.select.root(
            rx.select.trigger(
                placeholder=T("complaint_pages.choose_handler"),
                width="100%",
                data_testid="assign-select",
            ),
            rx.select.content(
                rx.foreach(S.handlers, lambda u: rx.select.item(u[1], value=u[0])),
            ),
            value=S.assign_to,
            on_change=S.set_assign_to,
        ),
        title=T("complaint_pages.action.assign"),
        is_open=S.assign_open,
        on_close=S.close_dialogs,
        on_submit=S.assign,
        error=S.assign_error,
        submit_label="complaint_pages.action.assign",
        submit_testid="assign-submit",
    )


def _compensation_dialog() -> rx.Component:
    S = ComplaintState
    e = S.comp_errors
    return form_dialog(
        rx.text(T("complaint_pages.compensation_hint"), size="2", color_scheme="gray"),
        labelled(
            "complaint_pages.field.comp_form",
            rx.segmented_control.root(
                *[
                    rx.segmented_control.item(T(f"complaint_pages.comp_form.{f}"), value=f)
                    for f in COMPENSATION_FORMS
                ],
                value=S.comp_form,
                on_change=S.set_comp_form,
                width="100%",
                data_testid="comp-form",
            ),
            e["form"],
            "comp-form-field",
        ),
        rx.match(
            S.comp_form,
            (
                "money",
                labelled(
                    "complaint_pages.field.comp_amount",
                    rx.input(
                        name="amount",
                        placeholder="50.00",
                        input_mode="decimal",
                        data_testid="comp-amount",
                    ),  # fmt: skip
                    e["amount"],
                    "comp-amount-field",
                ),
            ),
            (
                "gift",
                labelled(
                    "complaint_pages.field.comp_gift",
                    rx.cond(
                        S.comp_gifts.length() > 0,
                        rx.el.select(
                            rx.foreach(S.comp_gifts, lambda g: rx.el.option(g[1], value=g[0])),
                            name="gift",
                            data_testid="comp-gift",
                            style={"width": "100%", "padding": "6px"},
                        ),
                        rx.text(T("complaint_pages.no_gifts"), size="2", color_scheme="gray"),
                    ),
                    e["gift"],
                    "comp-gift-field",
                ),
            ),
            labelled(
                "complaint_pages.field.comp_points",
                rx.input(
                    name="points",
                    placeholder="100",
                    input_mode="numeric",
                    data_testid="comp-points",
                ),  # fmt: skip
                e["points"],
                "comp-points-field",
            ),
        ),
        labelled(
            "complaint_pages.field.comp_reason",
            rx.text_area(
                name="reason", rows="3", max_length=500, width="100%", data_testid="comp-reason"
            ),  # fmt: skip
            e["reason"],
            "comp-reason-field",
        ),
        title=T("complaint_pages.action.compensate"),
        is_open=S.comp_open,
        on_close=S.close_dialogs,
        on_submit=S.request_compensation,
        error=S.comp_error,
        submit_label="complaint_pages.comp_submit",
        submit_testid="comp-submit",
        stack_props={"width": "100%"},
    )


def _close_field(field: str, control: rx.Component) -> rx.Component:
    return labelled(
        f"complaint_pages.field.{field}",
        control,
        ComplaintState.close_errors.get(field, ""),
        f"close-{field}",
    )


def _close_dialog() -> rx.Component:
    S = ComplaintState
    return content_dialog(
        rx.cond(
            S.close_hint != "",
            rx.callout(
                S.close_hint,
                icon="triangle-alert",
                color_scheme="amber",
                size="1",
                width="100%",
                data_testid="close-not-yet",
            ),
        ),
        rx.form(
            rx.vstack(
                _close_field(
                    "root_cause",
                    rx.text_area(
                        name="root_cause",
                        id="close-root-cause",
                        rows="3",
                        max_length=MAX_TEXT,
                        width="100%",
                    ),
                ),  # fmt: skip
                _close_field(
                    "solution",
                    rx.vstack(
                        rx.text_area(
                            name="solution",
                            id="close-solution",
                            rows="3",
                            max_length=MAX_TEXT,
                            width="100%",
                        ),
                        rx.text(
                            T("complaint_pages.solution_visible"), size="1", color_scheme="gray"
                        ),
                        spacing="1",
                        width="100%",
                    ),
                ),  # fmt: skip
                rx.grid(
                    _close_field(
                        "informed_on",
                        rx.input(
                            type="date", name="informed_on", id="close-informed-on", width="100%"
                        ),
                    ),  # fmt: skip
                    _close_field(
                        "informed_via",
                        rx.select.root(
                            rx.select.trigger(
                                placeholder=T("complaint_pages.choose"),
                                width="100%",
                                data_testid="close-informed-via-select",
                            ),
                            rx.select.content(
                                *[
                                    rx.select.item(T(f"complaint.inform.{w}"), value=w)
                                    for w in INFORM_WAYS
                                ]
                            ),
                            name="informed_via",
                        ),
                    ),
                    columns=rx.breakpoints(initial="1", sm="2"),
                    spacing="3",
                    width="100%",
                ),
                _close_field(
                    "satisfaction",
                    rx.vstack(
                        rx.radio_group.root(
                            rx.hstack(
                                *[
                                    rx.text(
                                        rx.hstack(
                                            rx.radio_group.item(value=s),
                                            s,
                                            spacing="1",
                                            align="center",
                                        ),
                                        as_="label",
                                        size="2",
                                    )
                                    for s in SCORES
                                ],
                                rx.text(
                                    rx.hstack(
                                        rx.radio_group.item(value="none"),
                                        T("complaint_pages.no_score"),
                                        spacing="1",
                                        align="center",
                                    ),
                                    as_="label",
                                    size="2",
                                ),
                                spacing="4",
                                wrap="wrap",
                            ),
                            value=S.close_score,
                            on_change=S.set_close_score,
                            data_testid="close-score",
                        ),  # fmt: skip
                        rx.cond(
                            S.h["satisfaction"] != "",
                            rx.text(
                                T("complaint_pages.member_scored"),
                                " ",
                                S.h["satisfaction"],
                                size="1",
                                color_scheme="gray",
                            ),
                        ),
                        spacing="2",
                        width="100%",
                    ),
                ),
                rx.cond(
                    S.close_score == "none",
                    _close_field(
                        "no_score_reason",
                        rx.input(
                            name="no_score_reason",
                            id="close-no-score-reason",
                            max_length=MAX_TEXT,
                            width="100%",
                        ),
                    ),  # fmt: skip
                ),
                field_error(S.close_error),
                form_actions(
                    S.close_dialogs,
                    "complaint_pages.action.close",
                    "close-submit",
                    submit_color="green",
                ),
                spacing="3",
                width="100%",
            ),
            on_submit=S.close_complaint,
            width="100%",
        ),
        title=T("complaint_pages.close_title"),
        description=T("complaint_pages.close_note"),
        is_open=S.close_open,
        on_close=S.close_dialogs,
        max_width="640px",
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
            _action_dialog(),
            _assign_dialog(),
            _compensation_dialog(),
            _close_dialog(),
            on_unmount=S.leave,
            width="100%",
        ),
    )
