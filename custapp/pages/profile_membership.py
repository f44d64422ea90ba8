"""The profile's 积分与储值 tab: the membership card (办卡, 充值, 升级, 挂失补卡, 退卡), stored value and
points with their ledgers (paged), manual points adjustments, and the customer's member page
account (会员中心) with the one-time code the front desk hands over after an identity check. The
code is shown once in the dialog and dropped from the state when the dialog closes.

Money moves in two steps (issue 14): the form is checked by the service's preview, the amount
and the balance after it are shown, and only 确认 commits, with the request held on the server
(a backend var), checked again by the service."""

from __future__ import annotations

import reflex as rx

from custapp import clock
from custapp.components.shell import T, data_table, field_error, pager
from custapp.money import format_fen
from custapp.pages.receipt import receipt_href, receipt_link
from custapp.services import approvals, member_access, membership, points
from custapp.services.customer_input import parse_fen
from custapp.settings import get_settings
from custapp.states.paging import PagedMixin
from custapp.states.session import SessionState

PAGE_SIZE = 10
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
# the fields each card action's form holds (service field names: errors land next to them)
MONEY_METHODS = membership.MONEY_METHODS


def discount_label(pct: int, t, locale: str) -> str:  # noqa: ANN001
    """The tier discount as a price tag shows it: 90 → "9 折" in Chinese, "90% of price" in
    English; 100 → no discount."""
    if pct >= 100:
        return t("membership.no_discount")
    return t("membership.discount", value=f"{pct / 10:g}" if locale != "en" else pct)


def summary_vars(summary: membership.MemberSummary, t, locale: str) -> dict[str, str]:  # noqa: ANN001
    """The card, balance and points as the page shows them (the staff tab and the portal)."""
    card = summary.card

    def tier_name(tier: membership.TierView) -> str:
        return tier.name_en if locale == "en" else tier.name_zh

    def discount(pct: int) -> str:
        return discount_label(pct, t, locale)

    nxt = summary.next_tier
    return {
        "has_card": "1" if card else "",
        "tier": tier_name(card.tier) if card else "",
        "tier_code": card.tier.code if card else "",
        "number": card.number if card else "",
        "discount": discount(card.tier.discount_pct) if card else "",
        "class": t(f"membership.class.{summary.member_class}"),
        "issued": clock.format_local(card.issued_at, "%Y-%m-%d") if card else "",
        "balance": format_fen(summary.balance_fen),
        "points": f"{summary.points_available:,}",
        "clawback": t("points.clawback_open", points=summary.clawback_points)
        if summary.clawback_points
        else "",
        "expiring": "；".join(
            t("points.expiring", points=e.points, date=e.expires_on.isoformat())
            for e in summary.expiring
        ),
        "next_tier": t(
            "membership.next_tier",
            tier=tier_name(nxt),
            discount=discount(nxt.discount_pct),
            topup=format_fen(nxt.min_first_topup_fen),
            fee=format_fen(nxt.card_fee_fen),
        )
        if nxt
        else "",
    }


def ledger_row(row: membership.LedgerRow, kind: str, t) -> dict[str, str]:  # noqa: ANN001
    """One stored-value or points ledger entry for a table."""
    money = kind == "stored_value"
    label = t(f"membership.stored_value.{row.kind}") if money else t(f"points.kind.{row.kind}")
    amount = format_fen(row.amount) if money else f"{row.amount:+,}"
    if money and row.amount > 0:
        amount = "+" + amount
    detail = " · ".join(
        part
        for part in (
            t(f"orders.method.{row.method}") if row.method else "",
            row.order_number,
            row.note,
        )
        if part
    )
    return {
        "time": clock.format_local(row.created_at),
        "kind": label,
        "amount": amount,
        "negative": "1" if row.amount < 0 else "",
        "detail": detail or "—",
    }


class MembershipTabState(PagedMixin, SessionState):
    loaded: bool = False
    can_issue: bool = False
    can_topup: bool = False
    can_close: bool = False
    can_adjust: bool = False
    can_ask_adjust: bool = False  # the front desk asks cs_manager (审批) instead
    pending_note: str = ""  # the customer's requests waiting in 审批
    summary: dict[str, str] = {}
    ledger: str = "stored_value"  # stored_value | points
    rows: list[dict[str, str]] = []
    # 办卡 / 充值 / 升级 / 挂失补卡 / 退卡 / 积分调整: one dialog, one action at a time
    action: str = ""
    tiers: list[list[str]] = []  # [code, label with discount, minimum and fee]
    errors: dict[str, str] = {}
    action_error: str = ""
    limits_hint: str = ""
    confirm_text: str = ""  # the amount and the balance after it, before 确认
    _pending: dict = {}  # what 确认 commits: {"action": ..., "kwargs": {...}}
    _card_id: int = 0
    portal: dict[str, str] = {}
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
        self.loaded, self.portal, self.summary, self.rows = False, {}, {}, []
        self.page, self.total, self.ledger, self.action = 1, 0, "stored_value", ""
        self.topup_note = self.topup_href = ""
        self._pending, self.confirm_text = {}, ""
        self._close_code()

    def _close_code(self) -> None:
        self.code_open, self.code, self.code_note, self.code_first = False, "", "", False
        self.identity_error = self.code_error = ""

    @rx.event
    async def load(self):
        from custapp.pages.customer_profile import ProfileState  # the profile imports this tab

        self._clear()
        actor = self._actor()
        profile = await self.get_state(ProfileState)
        if actor is None or not profile.cid:
            return None
        self._cid, self.can_issue = profile.cid, actor.can("card.issue")
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
            + (f"{a.points:+,}" if a.kind == "points_adjust" else a.order_number)
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
            {**ledger_row(r, self.ledger, self._t), "receipt": self._receipt_href(r)} for r in rows
        ]
        return None

    def _receipt_href(self, row: membership.LedgerRow) -> str:
        """A top-up's 小票; other entries print with their order, or not at all."""
        if self.ledger != "stored_value" or row.kind != "topup":
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
            current = ranks.get(self.summary.get("tier_code", ""), -1)
            self.tiers = [
                [
                    tier.code,
                    self._t(
                        "membership.tier_option",
                        tier=tier.name_en if self.locale == "en" else tier.name_zh,
                        discount=discount_label(tier.discount_pct, self._t, self.locale),
                        topup=format_fen(tier.min_first_topup_fen),
                        fee=format_fen(tier.card_fee_fen),
                    ),
                ]
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
        self.portal = {
            "state": state,
            "activated": "1" if status.activated else "",
            "last_login": clock.format_local(status.last_login_at) or "—",
            "code_valid_until": clock.format_local(status.code_valid_until),
        }
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


def _portal_card() -> rx.Component:
    S = MembershipTabState
    return rx.card(
        rx.hstack(
            rx.vstack(
                rx.hstack(
                    rx.icon("smartphone", size=16),
                    rx.text(T("member.portal.title"), weight="bold"),
                    rx.badge(
                        S.portal["state"],
                        color_scheme=rx.cond(S.portal["activated"], "green", "gray"),
                        data_testid="portal-state",
                    ),
                    align="center",
                    spacing="2",
                ),
                rx.text(
                    T("member.portal.last_login"),
                    "：",
                    S.portal["last_login"],
                    size="2",
                    color_scheme="gray",
                ),
                rx.cond(
                    S.portal["code_valid_until"],
                    rx.text(
                        T("member.portal.code_waiting"),
                        S.portal["code_valid_until"],
                        size="2",
                        color_scheme="amber",
                    ),
                ),
                spacing="1",
            ),
            rx.spacer(),
            rx.cond(
                S.can_issue,
                rx.button(
                    rx.icon("key-round", size=14),
                    T("member.code.button"),
                    variant="soft",
                    on_click=S.open_code,
                    data_testid="member-code-open",
                ),
            ),
            align="center",
            width="100%",
        ),
        width="100%",
    )


def _code_dialog() -> rx.Component:
    S = MembershipTabState
    issued = rx.vstack(
        rx.cond(S.code_first, rx.callout(T("member.code.first"), icon="user-plus", size="1")),
        rx.text(T("member.code.shown"), size="2"),
        rx.heading(
            S.code,
            size="8",
            letter_spacing="0.2em",
            font_family="monospace",
            data_testid="member-code",
        ),
        rx.text(S.code_note, size="2", color_scheme="gray", data_testid="member-code-note"),
        rx.hstack(
            rx.button(T("common.done"), on_click=S.close_code, data_testid="member-code-close"),
            justify="end",
            width="100%",
        ),
        spacing="3",
        width="100%",
    )
    ask = rx.form(
        rx.vstack(
            rx.text(T("member.code.explain"), size="2"),
            rx.box(
                rx.checkbox(
                    T("member.code.identity_checked"),
                    name="identity_checked",
                    data_testid="member-code-identity",
                ),
                field_error(S.identity_error),
                data_testid="field-identity_checked",
            ),
            field_error(S.code_error),
            rx.hstack(
                rx.button(
                    T("common.cancel"),
                    type="button",
                    variant="soft",
                    color_scheme="gray",
                    on_click=S.close_code,
                ),
                rx.button(T("member.code.issue"), type="submit", data_testid="member-code-issue"),
                justify="end",
                width="100%",
            ),
            spacing="3",
            width="100%",
        ),
        on_submit=S.issue_code,
        reset_on_submit=False,
    )
    return rx.dialog.root(
        rx.dialog.content(
            rx.dialog.title(T("member.code.title")),
            rx.cond(S.code != "", issued, ask),
            max_width="460px",
        ),
        open=S.code_open,
        on_open_change=lambda _open: S.close_code(),
    )


def _figure(label: str, value: rx.Var, testid: str) -> rx.Component:
    return rx.vstack(
        rx.text(T(label), size="1", color_scheme="gray"),
        rx.text(value, size="5", weight="bold", data_testid=testid),
        spacing="0",
    )


def _action_button(action: str, icon: str, allowed: rx.Var, **props) -> rx.Component:  # noqa: ANN003
    return rx.cond(
        allowed,
        rx.button(
            rx.icon(icon, size=14),
            T(f"membership.action.{action}"),
            size="2",
            on_click=MembershipTabState.open_action(action),
            data_testid=f"membership-{action}",
            **props,
        ),
    )


def _card_panel() -> rx.Component:
    S = MembershipTabState
    m = S.summary
    member = rx.vstack(
        rx.hstack(
            rx.icon("credit-card", size=18),
            rx.text(m["tier"], weight="bold", size="4", data_testid="card-tier"),
            rx.badge(m["discount"], color_scheme="green"),
            rx.badge(m["class"], variant="soft"),
            rx.text(
                T("membership.card_number"), "：", m["number"], size="2", data_testid="card-number"
            ),
            rx.text(T("membership.issued_on"), "：", m["issued"], size="2", color_scheme="gray"),
            align="center",
            spacing="3",
            wrap="wrap",
        ),
        rx.hstack(
            _figure("membership.balance", m["balance"], "card-balance"),
            _figure("membership.points", m["points"], "card-points"),
            spacing="8",
        ),
        rx.cond(m["clawback"], rx.text(m["clawback"], size="2", color_scheme="amber")),
        rx.cond(
            m["expiring"],
            rx.text(m["expiring"], size="2", color_scheme="amber", data_testid="card-expiring"),
        ),
        rx.cond(m["next_tier"], rx.text(m["next_tier"], size="2", color_scheme="gray")),
        rx.hstack(
            _action_button("topup", "wallet", S.can_topup),
            _action_button(
                "upgrade", "circle-arrow-up", S.can_issue & (m["next_tier"] != ""), variant="soft"
            ),
            _action_button("replace", "refresh-cw", S.can_issue, variant="soft"),
            _action_button("adjust", "sliders-horizontal", S.can_adjust, variant="soft"),
            _action_button("ask_adjust", "sliders-horizontal", S.can_ask_adjust, variant="soft"),
            _action_button("close", "circle-x", S.can_close, variant="soft", color_scheme="red"),
            spacing="2",
            wrap="wrap",
        ),
        spacing="3",
        width="100%",
    )
    non_member = rx.hstack(
        rx.vstack(
            rx.text(T("membership.class.non_member"), weight="bold", data_testid="card-tier"),
            rx.text(T("membership.no_card"), size="2", color_scheme="gray"),
            rx.hstack(
                _figure("membership.balance", m["balance"], "card-balance"),
                _figure("membership.points", m["points"], "card-points"),
                spacing="8",
            ),
            spacing="2",
        ),
        rx.spacer(),
        _action_button("issue", "credit-card", S.can_issue),
        _action_button("adjust", "sliders-horizontal", S.can_adjust, variant="soft"),
        _action_button("ask_adjust", "sliders-horizontal", S.can_ask_adjust, variant="soft"),
        align="center",
        width="100%",
    )
    return rx.card(rx.cond(m["has_card"], member, non_member), width="100%")


def _ledger() -> rx.Component:
    S = MembershipTabState
    return rx.vstack(
        rx.segmented_control.root(
            rx.segmented_control.item(T("membership.ledger.stored_value"), value="stored_value"),
            rx.segmented_control.item(T("membership.ledger.points"), value="points"),
            value=S.ledger,
            on_change=S.show_ledger,
            data_testid="ledger-switch",
        ),
        rx.cond(
            S.total == 0,
            rx.callout(
                T("membership.ledger.empty"), icon="info", color_scheme="gray", width="100%"
            ),
            rx.vstack(
                data_table(
                    (
                        "membership.ledger.time",
                        "membership.ledger.kind",
                        "membership.ledger.amount",
                        "membership.ledger.detail",
                    ),
                    S.rows,
                    lambda r: rx.table.row(
                        rx.table.cell(r["time"], white_space="nowrap"),
                        rx.table.cell(r["kind"]),
                        rx.table.cell(
                            rx.text(
                                r["amount"], color_scheme=rx.cond(r["negative"], "red", "green")
                            ),
                            white_space="nowrap",
                        ),
                        rx.table.cell(
                            rx.hstack(
                                rx.text(r["detail"]),
                                rx.cond(
                                    r["receipt"] != "",
                                    receipt_link(r["receipt"], "receipt.short", "ledger-receipt"),
                                ),
                                spacing="3",
                                align="center",
                                wrap="wrap",
                            )
                        ),
                        data_testid="ledger-row",
                    ),
                ),
                pager(S.page, S.pages, S.total, S.prev_page, S.next_page),
                width="100%",
            ),
        ),
        spacing="3",
        width="100%",
    )


def _labelled(label: str, name: str, control: rx.Component) -> rx.Component:
    return rx.vstack(
        rx.text(T(label), size="2", weight="medium"),
        control,
        field_error(MembershipTabState.errors.get(name, "")),
        spacing="1",
        width="100%",
        data_testid=f"field-{name}",
    )


def _method_field(name: str, label: str) -> rx.Component:
    return _labelled(
        label,
        name,
        rx.select.root(
            rx.select.trigger(placeholder=T("orders.choose_method"), data_testid=f"action-{name}"),
            rx.select.content(
                *[rx.select.item(T(f"orders.method.{m}"), value=m) for m in MONEY_METHODS]
            ),
            name=name,
        ),
    )


def _amount_field(label: str) -> rx.Component:
    return _labelled(
        label,
        "amount",
        rx.input(name="amount", id="action-amount", input_mode="decimal", placeholder="0.00"),
    )


def _tier_field() -> rx.Component:
    S = MembershipTabState
    return _labelled(
        "membership.tier",
        "tier",
        rx.select.root(
            rx.select.trigger(placeholder=T("common.choose"), data_testid="action-tier"),
            rx.select.content(rx.foreach(S.tiers, lambda t: rx.select.item(t[1], value=t[0]))),
            name="tier",
        ),
    )


def _confirm(label: str) -> rx.Component:
    return rx.box(
        rx.checkbox(T(label), name="confirmed", data_testid="action-confirmed"),
        field_error(MembershipTabState.errors.get("confirmed", "")),
        data_testid="field-confirmed",
    )


def _reason() -> rx.Component:
    return _labelled(
        "membership.reason", "reason", rx.input(name="reason", id="action-reason", max_length=200)
    )


def _action_fields() -> rx.Component:
    S = MembershipTabState
    return rx.match(
        S.action,
        (
            "issue",
            rx.vstack(
                _tier_field(),
                _labelled(
                    "membership.member_class",
                    "member_class",
                    rx.select.root(
                        rx.select.trigger(placeholder=T("membership.class_default")),
                        rx.select.content(
                            rx.select.item(T("membership.class.vip"), value="vip"),
                            rx.select.item(T("membership.class.unit"), value="unit"),
                        ),
                        name="member_class",
                    ),
                ),
                _amount_field("membership.first_topup"),
                _method_field("method", "membership.topup_method"),
                _method_field("fee_method", "membership.fee_method"),
                rx.text(T("membership.fee_hint"), size="1", color_scheme="gray"),
                _confirm("membership.application_signed"),
                spacing="3",
                width="100%",
            ),
        ),
        (
            "topup",
            rx.vstack(
                _amount_field("membership.topup_amount"),
                _method_field("method", "membership.topup_method"),
                spacing="3",
                width="100%",
            ),
        ),
        (
            "upgrade",
            rx.vstack(
                _tier_field(),
                _amount_field("membership.upgrade_topup"),
                _method_field("method", "membership.topup_method"),
                _method_field("fee_method", "membership.fee_method"),
                _confirm("membership.signature_confirmed"),
                spacing="3",
                width="100%",
            ),
        ),
        (
            "replace",
            rx.vstack(
                rx.text(T("membership.replace_hint"), size="2"),
                _confirm("membership.identity_checked"),
                spacing="3",
                width="100%",
            ),
        ),
        (
            "close",
            rx.vstack(
                rx.text(T("membership.close_hint"), S.summary["balance"], size="2"),
                _method_field("method", "membership.refund_method"),
                _reason(),
                spacing="3",
                width="100%",
            ),
        ),
        rx.vstack(
            rx.text(
                rx.cond(
                    S.action == "ask_adjust",
                    T("approval.adjust_ask_hint"),
                    T("membership.adjust_hint"),
                ),
                size="2",
                color_scheme="gray",
            ),
            _labelled(
                "membership.adjust_points",
                "points",
                rx.input(
                    name="points",
                    id="action-points",
                    input_mode="numeric",
                    placeholder="+100 / -50",
                ),
            ),
            _reason(),
            spacing="3",
            width="100%",
        ),
    )


def confirm_panel(
    text: rx.Var,
    on_confirm,  # noqa: ANN001
    on_back,  # noqa: ANN001
    label: rx.Var | None = None,
) -> rx.Component:
    """The confirmation of a money operation: what will happen, 返回修改 and 确认 (or `label`)."""
    return rx.vstack(
        rx.text(T("money.confirm_title"), weight="medium", size="2"),
        rx.callout(text, icon="banknote", color_scheme="amber", data_testid="money-confirm-text"),
        rx.hstack(
            rx.button(
                T("money.back"),
                type="button",
                variant="soft",
                color_scheme="gray",
                on_click=on_back,
                data_testid="money-back",
            ),
            rx.button(
                label if label is not None else T("money.confirm"),
                type="button",
                on_click=on_confirm,
                data_testid="money-confirm",
            ),
            justify="end",
            width="100%",
        ),
        spacing="3",
        width="100%",
    )


def _action_dialog() -> rx.Component:
    S = MembershipTabState
    confirming = S.confirm_text != ""
    return rx.dialog.root(
        rx.dialog.content(
            rx.dialog.title(
                rx.match(
                    S.action,
                    *[(a, T(f"membership.action.{a}")) for a in ACTIONS],
                    "",
                )
            ),
            rx.form(
                rx.vstack(
                    # hidden, not removed, while confirming: 返回修改 finds the form as typed
                    rx.vstack(
                        rx.cond(
                            S.limits_hint != "",
                            rx.text(S.limits_hint, size="1", color_scheme="gray"),
                        ),
                        _action_fields(),
                        field_error(S.action_error),
                        rx.hstack(
                            rx.button(
                                T("common.cancel"),
                                type="button",
                                variant="soft",
                                color_scheme="gray",
                                on_click=S.close_action,
                            ),
                            rx.button(T("common.save"), type="submit", data_testid="action-submit"),
                            justify="end",
                            width="100%",
                        ),
                        spacing="3",
                        width="100%",
                        display=rx.cond(confirming, "none", "flex"),
                    ),
                    rx.cond(
                        confirming, confirm_panel(S.confirm_text, S.confirm_action, S.back_action)
                    ),
                    spacing="3",
                    width="100%",
                ),
                on_submit=S.submit_action,
                reset_on_submit=False,
            ),
            max_width="480px",
        ),
        open=S.action != "",
        on_open_change=lambda _open: S.close_action(),
    )


def membership_tab() -> rx.Component:
    S = MembershipTabState
    return rx.vstack(
        rx.cond(
            S.loaded,
            rx.vstack(
                _card_panel(),
                rx.cond(
                    S.pending_note != "",
                    rx.callout(
                        S.pending_note,
                        icon="hourglass",
                        color_scheme="amber",
                        size="1",
                        width="100%",
                        data_testid="approval-pending",
                    ),  # fmt: skip
                ),
                rx.cond(
                    S.topup_href != "",
                    rx.callout(
                        rx.hstack(
                            rx.text(S.topup_note),
                            receipt_link(S.topup_href, "receipt.open", "topup-receipt"),
                            spacing="3",
                            align="center",
                            wrap="wrap",
                        ),
                        icon="circle-check",
                        color_scheme="green",
                        size="1",
                        width="100%",
                    ),
                ),
                _ledger(),
                _portal_card(),
                spacing="4",
                width="100%",
            ),
            rx.spinner(),
        ),
        _action_dialog(),
        _code_dialog(),
        on_mount=S.load,
        on_unmount=S.leave,
        spacing="4",
        width="100%",
    )
