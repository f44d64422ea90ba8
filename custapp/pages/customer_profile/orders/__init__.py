"""The customer profile's 消费记录 tab: the customer's orders one page at a time, 登记消费 (items,
split payment), 退款 and 作废 with their confirmations (or the 申请 for 审批), and each order's
小票. state.py holds the state, view.py the tab, dialogs.py the three dialogs, rows.py the rows."""

from custapp.pages.customer_profile.orders.state import OrdersState
from custapp.pages.customer_profile.orders.view import orders_tab

__all__ = ["OrdersState", "orders_tab"]
