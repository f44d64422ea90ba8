"""Complaint list pieces shared by the profile's 投诉 tab, the complaint page, 我的投诉 and the
member portal: a list row, the compensation text, the status, severity and overdue badges and the
number cell."""

from __future__ import annotations

import dataclasses

import reflex as rx

from custapp import clock
from custapp.components.shell import T, two_line
from custapp.money import format_fen
from custapp.services import complaints
from custapp.states.session import SessionState

STATUS_COLORS = {
    "received": "blue",
    "investigating": "amber",
    "solution_proposed": "amber",
    "customer_informed": "green",
    "return_visit": "green",
    "closed": "gray",
    "on_hold": "orange",
    "reopened": "red",
}
SEVERITY_COLORS = {"low": "gray", "normal": "blue", "high": "orange", "critical": "red"}


@dataclasses.dataclass(frozen=True)
class ComplaintListRow:
    """A list row of a complaint (no text of it): what the lists of the staff pages show."""

    id: str = ""
    href: str = ""
    number: str = ""
    time: str = ""
    customer: str = ""
    category: str = ""
    severity: str = ""
    severity_label: str = ""
    status: str = ""
    status_label: str = ""
    assignee: str = ""
    overdue: bool = False
    satisfaction: str = ""
    due: str = ""


def complaint_list_row(state: SessionState, r: complaints.ComplaintRow) -> ComplaintListRow:
    """The typed list row of a complaint."""
    return ComplaintListRow(
        id=str(r.id),
        href=f"/complaints/{r.id}",
        number=r.number,
        time=clock.format_local(r.created_at),
        customer=(
            f"{r.customer_name} {r.customer_number}".strip()
            if r.customer_id
            else state._t("complaint_pages.anonymous")
        ),
        category=state._t(f"complaint.category.{r.category}"),
        severity=r.severity,
        severity_label=state._t(f"complaint.severity.{r.severity}"),
        status=r.status,
        status_label=state._t(f"complaint.status.{r.status}"),
        assignee=r.assignee_name or state._t("complaint_pages.unassigned"),
        overdue=bool(r.overdue),
        satisfaction=str(r.satisfaction) if r.satisfaction else "—",
        due=clock.format_local(r.response_by or r.resolution_by),
    )


def compensation_text(state: SessionState, detail: str, gifts: dict[int, tuple[str, str]]) -> str:
    """What an approved compensation gave, in the reader's language: "points:50" → "50 积分",
    "money:2000:card" → "¥20.00，已存入储值卡", "gift:7" → "礼品：保温杯"."""
    kind, _, rest = detail.partition(":")
    if kind == "points" and rest.isdecimal():
        return state._t("complaint.compensation.points", points=f"{int(rest):,}")
    if kind == "money":
        amount, _, via = rest.partition(":")
        if amount.isdecimal() and via in ("card", "counter"):
            return state._t(f"complaint.compensation.money_{via}", amount=format_fen(int(amount)))
    if kind == "gift" and rest.isdecimal():
        zh, en = gifts.get(int(rest), ("", ""))
        name = (en or zh) if state.locale.startswith("en") else zh
        return state._t("complaint.compensation.gift", gift=name or "—")
    return detail


def status_badge(code: rx.Var, label: rx.Var) -> rx.Component:
    return rx.badge(
        label,
        color_scheme=rx.match(code, *STATUS_COLORS.items(), "gray"),
        variant="soft",
        white_space="nowrap",
        data_testid="complaint-status",
    )


def severity_badge(code: rx.Var, label: rx.Var) -> rx.Component:
    return rx.badge(
        label,
        color_scheme=rx.match(code, *SEVERITY_COLORS.items(), "gray"),
        variant="outline",
        white_space="nowrap",
    )


def overdue_badge(flag: rx.Var) -> rx.Component:
    """The 逾期 badge when `flag` is true (a bool, or "1" of an untyped row)."""
    return rx.cond(
        flag,
        rx.badge(
            rx.icon("alarm-clock", size=12),
            T("complaint_pages.overdue"),
            color_scheme="red",
            variant="solid",
            white_space="nowrap",
            data_testid="complaint-overdue",
        ),
    )


def number_cell(r: rx.Var) -> rx.Component:
    return rx.table.cell(
        rx.link(
            two_line(r["number"], r["time"], size="2", weight="medium", white_space="nowrap"),
            href=r["href"],
            underline="none",
            data_testid="complaint-link",
        ),
    )
