"""The rows the 积分与储值 tab shows besides the card summary and the ledger (those are shared
with the member portal: custapp/components/membership.py)."""

from __future__ import annotations

import dataclasses


@dataclasses.dataclass(frozen=True)
class TierOption:
    """A tier offered in 办卡 or 升级: its code and its label with discount, minimum and fee."""

    code: str = ""
    label: str = ""


@dataclasses.dataclass(frozen=True)
class PortalAccount:
    """The customer's member page account (会员中心) as the tab shows it."""

    state: str = ""  # none | pending | active, as a label
    activated: bool = False
    last_login: str = ""
    code_valid_until: str = ""  # a one-time code waiting to be used, else ""
