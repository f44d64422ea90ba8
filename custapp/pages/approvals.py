"""审批 for cs_manager: every pending approval in one paged list, oldest first (gift redemptions,
voids, cash refunds and points adjustments asked for at the counter), with approve and reject (with a reason).
The services decide and check every permission again; the page only lists and forwards."""

from __future__ import annotations

import dataclasses

import reflex as rx

from custapp import clock
from custapp.components.gifts import gift_name
from custapp.components.shell import T, data_table, field_error, form_dialog, page, pager
from custapp.money import format_fen
from custapp.services import approvals, gifts
from custapp.states.paging import PagedMixin
from custapp.states.session import SessionState

PAGE_SIZE = 20
KIND_COLOURS = {
    "redemption": "violet",
    "order_void": "red",
    "order_refund": "amber",
    "points_adjust": "blue",
    "compensation": "orange",
}


@dataclasses.dataclass(frozen=True)
class InboxRow:
    """One pending approval; `key` ("<kind>:<id>") names it for the decision handlers."""

    key: str = ""
    kind: str = ""  # redemption or a vocab.ApprovalKind value
    number: str = ""
    customer: str = ""
    customer_id: int = 0
    detail: str = ""
    requested: str = ""
    time: str = ""
    reason: str = ""


@dataclasses.dataclass(frozen=True)
class InboxCounts:
    """What is pending, per kind and in all (the counts on the kind choices)."""

    all: int = 0
    redemption: int = 0
    order_void: int = 0
    order_refund: int = 0
    points_adjust: int = 0
    compensation: int = 0


def inbox_row(item: approvals.InboxItem, t, locale: str) -> InboxRow:  # noqa: ANN001
    """One pending approval for the table."""
    if item.redemption is not None:
        r = item.redemption
        return InboxRow(
            key=f"redemption:{r.id}",
            kind="redemption",
            number=r.number,
            customer=f"{r.customer_number} {r.customer_name}",
            customer_id=r.customer_id,
            detail=t(
                "approval.redemption_detail",
                gift=gift_name(r, locale),
                quantity=r.quantity,
                points=f"{r.points_total:,}",
            ),
            requested=t(f"redemption.channel.{r.channel}"),
            time=clock.format_local(r.created_at),
        )
    a = item.approval
    assert a is not None
    if a.kind == "order_void":
        detail = t(
            "approval.void_detail", number=a.order_number, amount=format_fen(a.order_paid_fen)
        )
    elif a.kind == "order_refund":
        detail = t("approval.refund_detail", number=a.order_number, amount=format_fen(a.amount_fen))
    elif a.kind == "compensation":
        detail = t(
            f"approval.compensation.{a.form}", complaint=a.complaint_number,
            points=f"{a.points:,}", amount=format_fen(a.amount_fen), gift=a.gift_name,
        )  # fmt: skip
    else:
        detail = t("approval.adjust_detail", points=f"{a.points:+,}")
    return InboxRow(
        key=f"{a.kind}:{a.id}",
        kind=a.kind,
        number=a.number,
        customer=f"{a.customer_number} {a.customer_name}",
        customer_id=a.customer_id,
        detail=detail,
        requested=a.requested_by,
        time=clock.format_local(a.created_at),
        reason=a.reason,
    )


def _parse(key: str) -> tuple[str, int]:
    kind, _, raw = str(key).partition(":")
    return kind, int(raw) if raw.isdecimal() else 0


class ApprovalsState(PagedMixin, SessionState):
    kind: str = "all"
    rows: list[InboxRow] = []
    counts: InboxCounts = InboxCounts()
    loaded: bool = False
    reject_open: bool = False
    reject_key: str = ""
    reject_label: str = ""
    errors: dict[str, str] = {}

    def _page_size(self) -> int:
        return PAGE_SIZE

    @rx.event
    def load(self):
        _, redirect = self._enter("approval.decide")
        if redirect:
            return redirect
        self.page, self.kind, self.reject_open = 1, "all", False
        return self._fetch()

    def _fetch(self):
        kind = "" if self.kind == "all" else self.kind
        found, error = self._call(approvals.inbox, kind=kind, page=self.page, page_size=PAGE_SIZE)
        self.loaded = True
        if error:
            self.rows, self.total, self.counts = [], 0, InboxCounts()
            return rx.toast.error(error)
        self.total = found.total
        known = {f.name for f in dataclasses.fields(InboxCounts)}
        self.counts = InboxCounts(
            all=sum(found.counts.values()),
            **{k: v for k, v in found.counts.items() if k in known},
        )
        self.rows = [inbox_row(i, self._t, self.locale) for i in found.items]
        return None

    @rx.event
    def show_kind(self, kind: str | list[str]):
        self.kind = kind if kind in approvals.INBOX_KINDS else "all"
        self.page = 1
        return self._fetch()

    @rx.event
    def approve(self, key: str):
        kind, request_id = _parse(key)
        decide = gifts.approve if kind == "redemption" else approvals.approve
        _, error = self._call(decide, request_id=request_id)
        if error:
            return rx.toast.error(error)
        self._fetch()
        return rx.toast.success(self._t("approval.approved"))

    @rx.event
    def open_reject(self, key: str):
        row = next((r for r in self.rows if r.key == key), None)
        if row is None:
            return
        self.reject_key, self.reject_label = key, f"{row.number} · {row.detail}"
        self.errors, self.reject_open = {}, True

    @rx.event
    def close_reject(self):
        self.reject_open, self.errors = False, {}

    @rx.event
    def submit_reject(self, form: dict):
        kind, request_id = _parse(self.reject_key)
        decide = gifts.reject if kind == "redemption" else approvals.reject
        reason = str(form.get("reason", ""))
        _, error = self._call(decide, request_id=request_id, reason=reason)
        if error:
            self.errors = self._field_errors or {"_": error}
            return None
        self.reject_open, self.errors = False, {}
        self._fetch()
        return rx.toast.success(self._t("approval.rejected"))


def _kind_choice(kind: str) -> rx.Component:
    return rx.segmented_control.item(
        rx.hstack(
            rx.text(T(f"approval.kind.{kind}")),
            rx.badge(getattr(ApprovalsState.counts, kind), variant="soft", radius="full"),
            spacing="1",
            align="center",
        ),
        value=kind,
    )


def _row(r: rx.Var) -> rx.Component:
    S = ApprovalsState
    kind = r.kind
    return rx.table.row(
        rx.table.cell(
            rx.badge(
                rx.match(
                    kind,
                    *[(k, T(f"approval.kind.{k}")) for k in KIND_COLOURS],
                    "",
                ),
                color_scheme=rx.match(kind, *KIND_COLOURS.items(), "gray"),
            ),
            rx.text(r.number, size="1", color_scheme="gray"),
        ),
        rx.table.cell(rx.link(r.customer, href="/customers/" + r.customer_id.to(str))),
        rx.table.cell(
            rx.text(r.detail, data_testid="approval-detail"),
            rx.cond(r.reason != "", rx.text(r.reason, size="1", color_scheme="gray")),
        ),
        rx.table.cell(rx.text(r.requested), rx.text(r.time, size="1", color_scheme="gray")),
        rx.table.cell(
            rx.hstack(
                rx.button(
                    T("approval.approve"),
                    size="1",
                    color_scheme="green",
                    on_click=S.approve(r.key),
                    data_testid="approval-approve",
                ),
                rx.button(
                    T("approval.reject"),
                    size="1",
                    variant="soft",
                    color_scheme="red",
                    on_click=S.open_reject(r.key),
                    data_testid="approval-reject",
                ),
                spacing="2",
            )
        ),
        data_testid="approval-row",
    )


def approvals_page() -> rx.Component:
    S = ApprovalsState
    return page(
        "nav.approvals",
        rx.vstack(
            rx.text(T("approval.hint"), size="2", color_scheme="gray"),
            rx.segmented_control.root(
                *[_kind_choice(k) for k in ("all", *approvals.INBOX_KINDS)],
                value=S.kind,
                on_change=S.show_kind,
            ),
            rx.cond(
                S.loaded,
                rx.cond(
                    S.total == 0,
                    rx.callout(
                        T("approval.empty"),
                        icon="circle-check",
                        color_scheme="green",
                        width="100%",
                        data_testid="approvals-empty",
                    ),  # fmt: skip
                    rx.vstack(
                        data_table(
                            (
                                "approval.kind",
                                "approval.customer",
                                "approval.detail",
                                "approval.requested",
                                "",
                            ),
                            S.rows,
                            _row,
                        ),  # fmt: skip
                        pager(S.page, S.pages, S.total, S.prev_page, S.next_page),
                        width="100%",
                    ),
                ),
                rx.spinner(),
            ),
            form_dialog(
                rx.text(S.reject_label, weight="bold"),
                rx.text(T("approval.reject_reason"), size="2"),
                rx.input(name="reason", id="reject-reason", width="100%"),
                field_error(S.errors.get("reason", "")),
                title=T("approval.reject"),
                is_open=S.reject_open,
                on_close=S.close_reject,
                on_submit=S.submit_reject,
                error=S.errors.get("_", ""),
                submit_label="approval.reject",
                submit_testid="reject-submit",
                reset_on_submit=True,
            ),
            spacing="4",
            width="100%",
        ),
    )
