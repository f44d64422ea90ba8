"""我的信息与授权, the member's second portal page (SPEC §3 member portal, §4): the member's own
profile, masked as staff see it; their consents per purpose, with a withdraw button per granted
one and, when the privacy notice changed or a purpose was never answered, the form to answer it;
their personal-information rights requests (查阅复制、更正补充、删除、撤回同意、解释说明), filed here
and listed one page at a time; 删除我的信息 (erasure.py: what deletion means, what to settle first,
filing it and its progress); and the current privacy notice.

The page (view.py, requests.py), its state (state.py), its dialogs as substates with their views
beside them (dialogs.py) and the rows they show (rows.py). The customer always comes from the
login on the server: no handler takes one.
"""

from custapp.pages.portal_privacy.dialogs import RequestDialogState, WithdrawDialogState
from custapp.pages.portal_privacy.erasure import EraseMyDataState
from custapp.pages.portal_privacy.rows import (
    ConsentRow,
    ContactRow,
    Fact,
    MaskedFact,
    Notice,
    NoticeChoice,
    Profile,
    RequestRow,
    RequestView,
)
from custapp.pages.portal_privacy.state import PortalPrivacyState
from custapp.pages.portal_privacy.view import portal_privacy_page

__all__ = [
    "ConsentRow",
    "ContactRow",
    "EraseMyDataState",
    "Fact",
    "MaskedFact",
    "Notice",
    "NoticeChoice",
    "PortalPrivacyState",
    "Profile",
    "RequestDialogState",
    "RequestRow",
    "RequestView",
    "WithdrawDialogState",
    "portal_privacy_page",
]
