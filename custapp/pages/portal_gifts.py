"""积分兑换 on 会员中心: the gifts the member can request today and the member's own requests
(paged), with filing and withdrawing. The customer is always the login's: no handler takes one,
and a request id of another customer is simply not found by the service."""

from __future__ import annotations

import reflex as rx

from custapp import clock
from custapp.components.shell import T, data_table, field_error, form_dialog, pager
from custapp.services import gifts
from custapp.states.paging import PagedMixin
from custapp.states.session import SessionState

PAGE_SIZE = 10


def gift_name(view: gifts.GiftView | gifts.RequestView, locale: str) -> str:
    if isinstance(view, gifts.GiftView):
        return view.name_en if locale == "en" and view.name_en else view.name_zh
    return view.gift_name_en if locale == "en" and view.gift_name_en else view.gift_name_zh


def request_row(view: gifts.RequestView, t, locale: str) -> dict[str, str]:  # noqa: ANN001
    """One redemption request for a table (the member's list and the approvals inbox)."""
    return {
        "id": str(view.id),
        "number": view.number,
        "gift": gift_name(view, locale),
        "quantity": str(view.quantity),
        "points": f"{view.points_total:,}",
        "status": view.status,
        "status_label": t(f"redemption.status.{view.status}"),
        "channel": t(f"redemption.channel.{view.channel}"),
        "reason": view.decision_reason,
        "time": clock.format_local(view.created_at),
        "customer": f"{view.customer_number} {view.customer_name}",
        "customer_id": str(view.customer_id),
    }


STATUS_COLOURS = {"pending": "amber", "approved": "green", "rejected": "red", "cancelled": "gray"}


def status_badge(row: rx.Var) -> rx.Component:
    return rx.badge(
        row["status_label"],
        color_scheme=rx.match(row["status"], *[(k, v) for k, v in STATUS_COLOURS.items()], "gray"),
        data_testid="request-status",
    )


class PortalGiftsState(PagedMixin, SessionState):
    catalogue: list[dict[str, str]] = []
    requests: list[dict[str, str]] = []
    dialog_open: bool = False
    gift_id: str = ""
    gift_label: str = ""
    errors: dict[str, str] = {}

    def _page_size(self) -> int:
        return PAGE_SIZE

    @rx.event
    def load(self):
        _, redirect = self._enter("member.self")
        if redirect:
            return redirect
        self.page, self.dialog_open, self.errors = 1, False, {}
        found, error = self._call(gifts.member_catalogue)
        self.catalogue = [
            {
                "id": str(g.id),
                "name": gift_name(g, self.locale),
                "cost": self._t("redemption.points_cost", points=f"{g.points_cost:,}"),
            }
            for g in (found or [])
        ]
        return rx.toast.error(error) if error else self._fetch()

    def _fetch(self):
        found, error = self._call(gifts.member_requests, page=self.page, page_size=PAGE_SIZE)
        if error:
            self.requests, self.total = [], 0
            return rx.toast.error(error)
        rows, self.total = found
        self.requests = [request_row(r, self._t, self.locale) for r in rows]
        return None

    @rx.event
    def open_request(self, gift_id: str):
        chosen = next((g for g in self.catalogue if g["id"] == str(gift_id)), None)
        if chosen is None:
            return None
        self.gift_id, self.gift_label = chosen["id"], f"{chosen['name']} · {chosen['cost']}"
        self.errors, self.dialog_open = {}, True
        return None

    @rx.event
    def close_request(self):
        self.dialog_open, self.errors = False, {}

    @rx.event
    def submit_request(self, form: dict):
        raw = str(form.get("quantity", "1")).strip()
        quantity = int(raw) if raw.isdecimal() else 0
        gift_id = int(self.gift_id) if self.gift_id.isdecimal() else 0
        filed, error = self._call(gifts.member_file_request, gift_id=gift_id, quantity=quantity)
        if error:
            self.errors = self._field_errors or {"quantity": error}
            return None
        self.dialog_open, self.errors, self.page = False, {}, 1
        self._fetch()
        return rx.toast.success(f"{self._t('redemption.filed')} · {filed.number}")

    @rx.event
    def cancel(self, request_id: str):
        rid = int(request_id) if str(request_id).isdecimal() else 0
        _, error = self._call(gifts.member_cancel_request, request_id=rid)
        if error:
            return rx.toast.error(error)
        self._fetch()
        return rx.toast.success(self._t("redemption.cancelled"))


def _catalogue() -> rx.Component:
    S = PortalGiftsState
    return rx.cond(
        S.catalogue.length() > 0,
        rx.grid(
            rx.foreach(
                S.catalogue,
                lambda g: rx.card(
                    rx.hstack(
                        rx.icon("gift", size=18),
                        rx.text(g["name"], weight="bold"),
                        rx.spacer(),
                        rx.text(g["cost"], size="2", color_scheme="gray"),
                        align="center",
                        width="100%",
                    ),
                    rx.button(
                        T("redemption.request"),
                        size="1",
                        variant="soft",
                        margin_top="8px",
                        on_click=S.open_request(g["id"]),
                        data_testid="gift-request",
                    ),
                    data_testid="gift-card",
                ),
            ),
            columns=rx.breakpoints(initial="1", sm="2"),
            spacing="3",
            width="100%",
        ),
        rx.callout(T("redemption.none_available"), icon="info", color_scheme="gray", width="100%"),
    )


def _requests() -> rx.Component:
    S = PortalGiftsState
    return rx.cond(
        S.total == 0,
        rx.text(T("redemption.empty"), size="2", color_scheme="gray"),
        rx.vstack(
            data_table(
                (
                    "redemption.number",
                    "redemption.gift",
                    "redemption.points_total",
                    "redemption.status",
                    "",
                ),
                S.requests,
                lambda r: rx.table.row(
                    rx.table.cell(r["number"], rx.text(r["time"], size="1", color_scheme="gray")),
                    rx.table.cell(r["gift"], " × ", r["quantity"]),
                    rx.table.cell(r["points"]),
                    rx.table.cell(
                        status_badge(r),
                        rx.cond(r["reason"] != "", rx.text(r["reason"], size="1")),
                    ),
                    rx.table.cell(
                        rx.cond(
                            r["status"] == "pending",
                            rx.button(
                                T("redemption.cancel"),
                                size="1",
                                variant="ghost",
                                color_scheme="gray",
                                on_click=S.cancel(r["id"]),
                                data_testid="request-cancel",
                            ),
                        )
                    ),
                    data_testid="request-row",
                ),
            ),  # fmt: skip
            pager(S.page, S.pages, S.total, S.prev_page, S.next_page),
            width="100%",
        ),
    )


def redemption_section() -> rx.Component:
    S = PortalGiftsState
    return rx.vstack(
        rx.heading(T("redemption.title"), size="4"),
        rx.text(T("redemption.no_reservation"), size="2", color_scheme="gray"),
        _catalogue(),
        rx.heading(T("redemption.my_requests"), size="3", margin_top="8px"),
        _requests(),
        form_dialog(
            rx.text(S.gift_label, weight="bold", data_testid="request-gift"),
            rx.text(T("redemption.quantity"), size="2"),
            rx.input(
                name="quantity",
                default_value="1",
                type="number",
                min=1,
                max=10,
                id="request-quantity",
            ),  # fmt: skip
            field_error(S.errors.get("quantity", "")),
            field_error(S.errors.get("gift", "")),
            title=T("redemption.request"),
            is_open=S.dialog_open,
            on_close=S.close_request,
            on_submit=S.submit_request,
            error=S.errors.get("_", ""),
            submit_label="redemption.request",
            submit_testid="request-submit",
            reset_on_submit=True,
        ),
        spacing="3",
        width="100%",
        data_testid="portal-redemption",
    )
