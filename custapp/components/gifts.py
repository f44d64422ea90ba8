"""Gift names in the reader's language (the portal's 积分兑换, 礼品 and 审批)."""

from __future__ import annotations

from custapp.services import gifts


def gift_name(view: gifts.GiftView | gifts.RequestView, locale: str) -> str:
    if isinstance(view, gifts.GiftView):
        return view.name_en if locale == "en" and view.name_en else view.name_zh
    return view.gift_name_en if locale == "en" and view.gift_name_en else view.gift_name_zh
