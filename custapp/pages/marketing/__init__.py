"""营销名单 for cs_manager: the page (view.py), its state (state.py), the rows it shows (rows.py)."""

from custapp.pages.marketing.rows import BuiltList, CampaignRow, ListRow, PurposeChoice, Stat
from custapp.pages.marketing.state import PAGE_SIZE, MarketingState
from custapp.pages.marketing.view import marketing_page

__all__ = [
    "PAGE_SIZE",
    "BuiltList",
    "CampaignRow",
    "ListRow",
    "MarketingState",
    "PurposeChoice",
    "Stat",
    "marketing_page",
]
