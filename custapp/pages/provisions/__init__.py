"""对外提供: the page (view.py), its state (state.py), its dialogs as substates (dialogs.py)."""

from custapp.pages.provisions.dialogs import (
    DisclosureDialogState,
    ProvisionCustomersState,
    RecipientDialogState,
)
from custapp.pages.provisions.rows import (
    DisclosureRow,
    ProvidedCustomerRow,
    ProvisionRow,
    RecipientRow,
    RefusedRow,
)
from custapp.pages.provisions.state import ProvisionsState
from custapp.pages.provisions.view import provisions_page

__all__ = [
    "DisclosureDialogState",
    "DisclosureRow",
    "ProvidedCustomerRow",
    "ProvisionCustomersState",
    "ProvisionRow",
    "ProvisionsState",
    "RecipientDialogState",
    "RecipientRow",
    "RefusedRow",
    "provisions_page",
]
