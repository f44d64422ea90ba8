"""客户档案 profile page package.

- base.py: `ProfileBase` (the customer the profile shows, `cid`) and the helpers the tabs use;
  the tabs import only it, never the profile's state or view (which import the tabs).
- state.py: `ProfileState` (a `ProfileBase`): overview, reveal, verification, grade, history.
- view.py: the page and its tabs; dialogs.py: its dialogs; rows.py: typed rows.
- the tabs: attachments.py (附件), complaints.py (投诉), consents/ (授权同意), service.py
  (服务/沟通记录), membership/ (积分/会员), orders/ (交易).
"""

from custapp.pages.customer_profile.attachments import AttachmentsState
from custapp.pages.customer_profile.base import ProfileBase
from custapp.pages.customer_profile.complaints import ProfileComplaintsState
from custapp.pages.customer_profile.consents import ConsentTabState
from custapp.pages.customer_profile.service import ServiceLogState
from custapp.pages.customer_profile.state import ProfileState
from custapp.pages.customer_profile.view import customer_profile_page

__all__ = [
    "AttachmentsState",
    "ConsentTabState",
    "ProfileBase",
    "ProfileComplaintsState",
    "ProfileState",
    "ServiceLogState",
    "customer_profile_page",
]
