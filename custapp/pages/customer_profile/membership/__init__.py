"""The customer profile's 积分与储值 tab: the membership card (办卡, 充值, 升级, 挂失补卡, 退卡),
stored value and points with their paged ledgers, manual points adjustments, and the member page
account (会员中心) with its one-time code. state.py holds the state, view.py the tab, dialogs.py
the card action and code dialogs, rows.py the rows."""

from custapp.pages.customer_profile.membership.state import MembershipTabState
from custapp.pages.customer_profile.membership.view import membership_tab

__all__ = ["MembershipTabState", "membership_tab"]
