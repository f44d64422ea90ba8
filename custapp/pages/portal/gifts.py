"""PortalGiftsState, 积分兑换 on 会员中心: the gifts the member can request today and the member's
own requests (paged), with filing and withdrawing. The customer is always the login's: no handler
takes one, and a request id of another customer is simply not found by the service."""

from __future__ import annotations

import reflex as rx

from custapp.pages.portal.rows import GiftOffer, RequestRow, gift_offer, request_row
from custapp.services import gifts
from custapp.states.paging import PagedMixin
from custapp.states.session import SessionState

PAGE_SIZE = 10


class PortalGiftsState(PagedMixin, SessionState):
    catalogue: list[GiftOffer] = []
    requests: list[RequestRow] = []
    dialog_open: bool = False
    gift_id: int = 0
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
        self.catalogue = [gift_offer(g, self._t, self.locale) for g in found or []]
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
        chosen = next((g for g in self.catalogue if str(g.id) == str(gift_id)), None)
        if chosen is None:
            return None
        self.gift_id, self.gift_label = chosen.id, f"{chosen.name} · {chosen.cost}"
        self.errors, self.dialog_open = {}, True
        return None

    @rx.event
    def close_request(self):
        self.dialog_open, self.errors = False, {}

    @rx.event
    def submit_request(self, form: dict):
        raw = str(form.get("quantity", "1")).strip()
        quantity = int(raw) if raw.isdecimal() else 0
        filed, error = self._call(
            gifts.member_file_request, gift_id=self.gift_id, quantity=quantity
        )
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
