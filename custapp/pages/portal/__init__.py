"""会员中心 /portal, the member's own page: card, tier and discount, stored value, points and what
expires in the next 30 days, what the next tier offers, the paged ledgers, and 积分兑换 (the
gifts the member can request and the member's own requests). The customer comes from the login on
the server; nothing the browser sends chooses whose data is shown.

  state.py   PortalState: the card summary and the ledgers
  gifts.py   PortalGiftsState: 积分兑换 (loaded by the route next to PortalState)
  rows.py    the gift and request rows (typed)
  view.py    the page's layout
"""

from custapp.pages.portal.gifts import PortalGiftsState
from custapp.pages.portal.rows import GiftOffer, RequestRow
from custapp.pages.portal.state import PortalState
from custapp.pages.portal.view import portal_page, redemption_section

__all__ = [
    "GiftOffer",
    "PortalGiftsState",
    "PortalState",
    "RequestRow",
    "portal_page",
    "redemption_section",
]
