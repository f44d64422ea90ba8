"""The profile's 授权同意 tab: state.py (ConsentTabState), view.py (the tab and its dialogs),
rows.py."""

from custapp.pages.customer_profile.consents.state import ConsentTabState
from custapp.pages.customer_profile.consents.view import consents_tab

__all__ = ["ConsentTabState", "consents_tab"]
