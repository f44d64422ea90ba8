"""The 积分与储值 tab's state: the card summary and the paged ledgers, the card actions (办卡,
充值, 升级, 挂失补卡, 退卡, 积分调整) and the one-time code of the member page account.

Money moves in two steps (issue 14): the form is checked by the service's preview, the amount
and the balance after it are shown, and only 确认 commits, with the request held on the server
(a backend var), checked again by the service. The one-time code is dropped from the state when
its dialog closes."""

from __future__ import annotations

import dataclasses

import reflex as rx

from custapp import clock
from custapp.components.membership import (
    LEDGER_PAGE_SIZE,
    CardSummary,
    LedgerEntry,
    discount_label,
    ledger_row,
    summary_vars,
)
from custapp.components.receipt_link import receipt_href
from custapp.money import format_fen
from custapp.pages.customer_profile.base import profile_cid
from custapp.pages.customer_profile.membership.rows import PortalAccount, TierOption
from custapp.services import approvals, member_access, membership, points
from custapp.services.customer_input import parse_fen
from custapp.settings import get_settings
from custapp.states.off_loop import run_off_loop
from custapp.states.paging import PagedMixin
from custapp.states.session import SessionState
from custapp.vocab import ApprovalKind, StoredValueKind

PAGE_SIZE = LEDGER_PAGE_SIZE
ACTIONS = ("issue", "topup", "upgrade", "replace", "close", "adjust", "ask_adjust")
# the service of each action and the message when it is done
CALLS = {
    "issue": (membership.issue_card, "membership.issued"),
    "topup": (membership.topup, "membership.topped_up"),
    "upgrade": (membership.upgrade_card, "membership.upgraded"),
    "replace": (membership.replace_lost_card, "membership.replaced"),
    "close": (membership.close_card, "membership.closed"),
    "adjust": (points.adjust_points, "membership.adjusted"),
    "ask_adjust": (approvals.request_points_adjustment, "approval.adjust_filed"),
}
MONEY_ACTIONS = ("issue", "topup", "upgrade", "close")  # confirmed before they are committed
# the payment methods of a card action's money (service field names: errors land next to them)
MONEY_METHODS = membership.MONEY_METHODS


class MembershipTabState(PagedMixin, SessionState):
    loaded: bool = False
    can_issue: bool = False
    can_topup: bool = False
    can_close: bool = False
    can_adjust: bool = False
    can_ask_adjust: bool = False  # the front desk asks cs_manager (审批) instead
    pending_note: str = ""  # the customer's requests waiting in 审批
    summary: CardSummary = CardSummary()
    ledger: str = "stored_value"  # stored_value | points
    rows: list[LedgerEntry] = []
    # 办卡 / 充值 / 升级 / 挂失补卡 / 退卡 / 积分调整: one dialog, one action at a time
    action: str = ""
    tiers: list[TierOption] = []
    errors: dict[str, str] = {}
    action_error: str = ""
    limits_hint: str = ""
    confirm_text: str = ""  # the amount and the balance after it, before 确认
    _pending: dict = {}  # what 确认 commits: {"action": ..., "kwargs": {...}}
    _card_id: int = 0
    portal: PortalAccount = PortalAccount()
    code_open: bool = False
    code: str = ""  # the one-time code, only while its dialog is open
    code_note: str = ""
    code_first: bool = False
    identity_error: str = ""
    code_error: str = ""
    _cid: int = 0
    # the top-up just taken, with its 小票
    topup_note: str = ""
    topup_href: str = ""

    def _page_size(self) -> int:
        return PAGE_SIZE

    def _clear(self) -> None:
        self.loaded, self.portal, self.summary, self.rows = (
            False,
            PortalAccount(),
            CardSummary(),
            [],
        )
        self.page, self.total, self.ledger, self.action = 1, 0, "stored_value", ""
        self.topup_note = self.topup_href = ""
        self._pending, self.confirm_text = {}, ""
        self._close_code()

    def _close_code(self) -> None:
        self.code_open, self.code, self.code_note, self.code_first = False, "", "", False
        self.identity_error = self.code_error = ""

    @rx.event
    async def load(self):
        return await run_off_loop(self._load_customer, await profile_cid(self))

    def _load_customer(self, cid: int):  # noqa: ANN202
        self._clear()
        actor = self._actor()
        if actor is None or not cid:
            return None
        self._cid, self.can_issue = cid, actor.can("card.issue")
        self.can_topup, self.can_close = actor.can("topup.post"), actor.can("card.close")
        self.can_adjust = actor.can("points.adjust")
        self.can_ask_adjust = actor.can("purchase.post") and not self.can_adjust
        return self._fetch_all()

    @rx.event
    def leave(self):
        self._clear()

    def _fetch_all(self):
        summary, error = self._call(membership.customer_membership, customer_id=self._cid)
        if error:
            self.loaded = True
            return rx.toast.error(error)
        self.summary = summary_vars(summary, self._t, self.locale)
        self._card_id = summary.card.id if summary.card else 0
        waiting, _ = self._call(approvals.customer_pending, customer_id=self._cid)
        items = [
            f"{self._t(f'approval.kind.{a.kind}')} "
            + (f"{a.points:+,}" if a.kind == ApprovalKind.POINTS_ADJUST else a.order_number)
            + f"（{a.number}）"
            for a in waiting or ()
        ]
        self.pending_note = (
            self._t("approval.pending_on_customer", items="、".join(items)) if items else ""
        )
        return self._fetch_portal() or self._fetch()

    def _fetch(self):
        fetch = (
            membership.stored_value_ledger
            if self.ledger == "stored_value"
            else membership.points_ledger
        )
        result, error = self._call(
            fetch, customer_id=self._cid, page=self.page, page_size=PAGE_SIZE
        )
        self.loaded = True
        if error:
            self.rows, self.total = [], 0
            return rx.toast.error(error)
        rows, self.total = result
        self.rows = [
            dataclasses.replace(ledger_row(r, self.ledger, self._t), receipt=self._receipt_href(r))
            for r in rows
        ]
        return None

    def _receipt_href(self, row: membership.LedgerRow) -> str:
        """A top-up's 小票; other entries print with their order, or not at all."""
        if self.ledger != "stored_value" or row.kind != StoredValueKind.TOPUP:
            return ""
        return receipt_href("topup", membership.topup_number(row.created_at, row.id))

    @rx.event
    def show_ledger(self, ledger: str | list[str]):
        self.ledger = "points" if ledger == "points" else "stored_value"
        self.page = 1
        return self._fetch()

    # --- card actions --------------------------------------------------------------------------

    @rx.event
    def open_action(self, action: str):
        if action not in ACTIONS:
            return None
        self.errors, self.action_error = {}, ""
        self._pending, self.confirm_text = {}, ""
        settings = get_settings()
        self.limits_hint = (
            self._t(
                "membership.limits_hint",
                topup=format_fen(settings.topup_max_fen),
                cap=format_fen(settings.stored_value_cap_fen),
            )
            if action in ("issue", "topup", "upgrade")
            else ""
        )
        if action in ("issue", "upgrade"):
            tiers, error = self._call(lambda session, actor: membership.list_tiers(session))
            if error:
                return rx.toast.error(error)
            ranks = {tier.code: tier.rank for tier in tiers}
            current = ranks.get(self.summary.tier_code, -1)
            self.tiers = [
                TierOption(
                    code=tier.code,
                    label=self._t(
                        "membership.tier_option",
                        tier=tier.name_en if self.locale == "en" else tier.name_zh,
                        discount=discount_label(tier.discount_pct, self._t, self.locale),
                        topup=format_fen(tier.min_first_topup_fen),
                        fee=format_fen(tier.card_fee_fen),
                    ),
                )
                for tier in tiers
                if action == "issue" or tier.rank > current
            ]
        self.action = action
        return None

    @rx.event
    def close_action(self):
        self.action, self.errors, self.action_error = "", {}, ""
        self._pending, self.confirm_text = {}, ""

    @rx.event
    def back_action(self):
        """From the confirmation back to the form, as it was typed."""
        self._pending, self.confirm_text = {}, ""

    def _money(self, form: dict, name: str) -> int | str | None:
        """Yuan typed at the counter → fen; empty or unreadable text goes on for the service to
        name next to the field."""
        text = str(form.get(name, "")).strip()
        fen = parse_fen(text)[0] if text else None
        return fen if fen is not None else (text or None)

    def _request(self, form: dict) -> dict:
        """The service arguments of the open action, from the submitted form."""
        checked = bool(form.get("confirmed"))
        method = str(form.get("method", "")) or None
        fee_method = str(form.get("fee_method", "")) or None
        if self.action == "issue":
            return {
                "customer_id": self._cid,
                "tier_code": str(form.get("tier", "")),
                "application_signed": checked,
                "first_topup_fen": self._money(form, "amount"),
                "topup_method": method,
                "fee_method": fee_method,
                "member_class": str(form.get("member_class", "")) or None,
            }
        if self.action == "topup":
            return {
                "card_id": self._card_id,
                "amount_fen": self._money(form, "amount"),
                "method": method,
            }
        if self.action == "upgrade":
            return {
                "card_id": self._card_id,
                "tier_code": str(form.get("tier", "")),
                "signature_confirmed": checked,
                "topup_fen": self._money(form, "amount"),
                "topup_method": method,
                "fee_method": fee_method,
            }
        if self.action == "replace":
            return {"card_id": self._card_id, "identity_checked": checked}
        if self.action == "close":
            return {
                "card_id": self._card_id,
                "refund_method": method,
                "reason": str(form.get("reason", "")),
            }
        text = str(form.get("points", "")).strip().lstrip("+")
        amount = int(text) if text.lstrip("-").isdecimal() and len(text) <= 9 else text
        return {"customer_id": self._cid, "points": amount, "reason": str(form.get("reason", ""))}

    def _show_errors(self, error: str | None) -> bool:
        """The services name the fields; the dialog's inputs carry these names."""
        aliases = {
            "first_topup": "amount", "topup": "amount", "topup_method": "method",
            "refund_method": "method", "application_signed": "confirmed",
            "signature_confirmed": "confirmed", "identity_checked": "confirmed",
        }  # fmt: skip
        self.errors = {aliases.get(f, f): m for f, m in self._field_errors.items()}
        self.action_error = "" if self.errors or not error else error
        return error is not None

    @rx.event
    def submit_action(self, form: dict):
        if self.action not in ACTIONS:
            return None
        kwargs = self._request(form)
        fn, _ = CALLS[self.action]
        if self.action not in MONEY_ACTIONS:
            return self._commit(self.action, kwargs)
        preview, error = self._call(fn, **kwargs, preview=True)
        if self._show_errors(error):
            return None
        self._pending = {"action": self.action, "kwargs": kwargs}
        self.confirm_text = self._t(
            f"membership.confirm.{self.action}",
            amount=format_fen(preview.amount_fen),
            fee=format_fen(preview.fee_fen),
            balance=format_fen(preview.balance_fen),
        )
        return None

    @rx.event
    def confirm_action(self):
        """确认: commit what the confirmation showed (held on the server, never sent back by
        the browser); the service checks it all again."""
        pending, self._pending, self.confirm_text = self._pending, {}, ""
        if not pending or pending["action"] != self.action:
            return None
        return self._commit(pending["action"], pending["kwargs"])

    def _commit(self, action: str, kwargs: dict):  # noqa: ANN202
        fn, done = CALLS[action]
        result, error = self._call(fn, **kwargs)
        if self._show_errors(error):
            return None
        self._note_topup(result)
        self.action = ""
        self.page = 1
        message = self._t(done, number=getattr(result, "number", ""))
        events = [self._fetch_all(), rx.toast.success(message)]
        return [event for event in events if event is not None]

    def _note_topup(self, result: object) -> None:
        """After a top-up (or a card issued or upgraded with one): its 小票 to print."""
        receipt = getattr(result, "topup_receipt", result)
        if isinstance(receipt, membership.TopupReceipt):
            self.topup_note = self._t(
                "receipt.topup_note", amount=format_fen(receipt.amount_fen), number=receipt.number
            )
            self.topup_href = receipt_href("topup", receipt.number)
        else:
            self.topup_note = self.topup_href = ""

    # --- the member page account ---------------------------------------------------------------

    def _fetch_portal(self):
        status, error = self._call(member_access.portal_status, customer_id=self._cid)
        if error:
            return rx.toast.error(error)
        if not status.account:
            state = self._t("member.portal.none")
        elif status.activated:
            state = self._t("member.portal.active")
        else:
            state = self._t("member.portal.pending")
        self.portal = PortalAccount(
            state=state,
            activated=bool(status.activated),
            last_login=clock.format_local(status.last_login_at) or "—",
            code_valid_until=clock.format_local(status.code_valid_until),
        )
        return None

    @rx.event
    def open_code(self):
        self._close_code()
        self.code_open = True

    @rx.event
    def close_code(self):
        self._close_code()
        return self._fetch_portal()

    @rx.event
    def issue_code(self, form: dict):
        self.identity_error = self.code_error = ""
        issued, error = self._call(
            member_access.issue_code,
            customer_id=self._cid,
            identity_checked=bool(form.get("identity_checked")),
        )
        if error:
            self.identity_error = self._field_errors.get("identity_checked", "")
            self.code_error = "" if self.identity_error else error
            return None
        self.code, self.code_first = issued.code, issued.first
        self.code_note = self._t(
            "member.code.expires",
            phone=issued.phone_masked,
            time=clock.format_local(issued.expires_at),
        )
        return None
