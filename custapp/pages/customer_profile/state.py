"""The state of 客户档案: the overview with masked sensitive values (reveal one field with a
reason), classification, real-name verification, the grade override and the change history.

`ProfileState` subclasses `ProfileBase` (base.py), which holds `cid`: the tabs read the customer
from there and never import this module."""

from __future__ import annotations

import asyncio
import time

import reflex as rx

from custapp import clock
from custapp.money import format_fen
from custapp.pages.customer_profile.base import ProfileBase
from custapp.pages.customer_profile.rows import Badges, ContactRow, HistoryRow, Pair, SensitiveRow
from custapp.services import customer_profile, customers

HISTORY_PAGE = 20
REVEAL_SECONDS = 60
REVEAL_REASONS = ("serve_customer", "verify_identity", "contact_customer", "correct_record")
CHOICE_FIELDS = {"gender", "nature", "source_channel", "id_type"}
# the tabs, in their order; each linked-record tab loads its own page when it mounts (view.py)
TAB_NAMES = (
    "overview",
    "transactions",
    "service",
    "points",
    "consents",
    "complaints",
    "attachments",
    "history",
)


class ProfileState(ProfileBase):
    number: str = ""
    name: str = ""
    kind: str = ""
    badges: Badges = Badges()
    completeness: int = 0
    stale: bool = False
    redirected_from: str = ""
    general: list[Pair] = []
    sensitive: list[SensitiveRow] = []
    notes: str = ""
    tags: str = ""
    contacts: list[ContactRow] = []
    facts: list[Pair] = []
    tab: str = "overview"
    history: list[HistoryRow] = []
    history_total: int = 0
    history_page: int = 1
    can_update: bool = False
    can_override: bool = False
    reveal_levels: list[str] = []
    # the one revealed value (SPEC §8): cleared on leaving the profile or after 60 seconds
    reveal_open: bool = False
    reveal_field: str = ""
    reveal_label: str = ""
    reveal_error: str = ""
    revealed_field: str = ""
    revealed_value: str = ""
    _revealed_at: float = 0.0
    # dialogs
    verify_open: bool = False
    grade_open: bool = False
    dialog_error: str = ""

    @rx.var
    def history_pages(self) -> int:
        return max(1, -(-self.history_total // HISTORY_PAGE))

    @rx.event
    def load(self):
        actor, redirect = self._enter("customer.read")
        if redirect:
            return redirect
        self._clear_reveal()
        raw = str(self.router.page.params.get("cid", ""))
        if not raw.isdecimal():
            return [rx.redirect("/customers"), rx.toast.error(self._t("error.not_found"))]
        self.cid, self.tab, self.history_page = int(raw), "overview", 1
        self.can_update = actor.can("customer.update")
        self.can_override = actor.can("customer.grade_override")
        self.reveal_levels = [lv for lv in ("1", "2") if actor.can(f"customer.reveal.l{lv}")]
        return self._fetch()

    def _fetch(self):
        profile, error = self._call(customer_profile.get_profile, customer_id=self.cid)
        if error:
            return [rx.redirect("/customers"), rx.toast.error(error)]
        p = profile
        self.cid, self.number, self.name = p.id, p.number, p.name
        self.kind = self._t(f"customer.kind.{p.kind}")
        self.redirected_from = p.redirected_from
        self.completeness, self.stale = p.completeness, p.stale_verification
        self.badges = Badges(
            grade=p.effective_grade,
            lifecycle=self._t(f"customer.lifecycle.{p.lifecycle}"),
            value=self._t(f"customer.value.{p.value_class}"),
            verify=self._t(f"customer.verify.{p.verify_status}"),
            verify_code=p.verify_status,
            override=p.grade_override,
        )
        self.general = [
            Pair(
                self._t(f"customer.field.{k}"),
                self._t(f"customer.{k}.{v}") if k in CHOICE_FIELDS and v else v,
            )
            for k, v in p.general.items()
            if k != "name" and v
        ]
        self.sensitive = [
            SensitiveRow(
                field=s.field,
                label=self._t(f"customer.field.{s.field}"),
                masked=s.masked,
                level=str(s.level),
            )
            for s in p.sensitive
            if s.present
        ]
        self.notes, self.tags = p.notes, "、".join(p.tags)
        self.contacts = [ContactRow(c.name, c.title, c.phone_masked) for c in p.contacts]
        verified = (
            p.verified_by_name and f"{p.verified_by_name} · {clock.format_local(p.verified_at)}"
        )
        self.facts = [
            Pair(self._t("customer.number"), p.number),
            Pair(self._t("customer.spend_12m"), format_fen(p.spend_12m_fen)),
            Pair(
                self._t("customer.last_purchase"),
                clock.format_local(p.last_purchase_at, "%Y-%m-%d") or "—",
            ),
            Pair(self._t("customer.field.owner"), p.owner_name or "—"),
            Pair(self._t("customer.second_contact"), p.second_contact_name or "—"),
            Pair(self._t("customer.verified_by"), verified or "—"),
            Pair(self._t("customer.grade_override_reason"), p.grade_override_reason or "—"),
            Pair(self._t("customer.created_at"), clock.format_local(p.created_at)),
        ]
        return None

    def _refetch(self) -> list[rx.event.EventSpec]:
        """A tab changed the facts (a purchase): the overview reads them again."""
        return self._fetch() or []

    def _fetch_history(self):
        result, error = self._call(
            customer_profile.change_history,
            customer_id=self.cid,
            page=self.history_page,
            page_size=HISTORY_PAGE,
        )
        if error:
            return rx.toast.error(error)
        rows, self.history_total = result

        def text(row, value: str) -> str:  # noqa: ANN001
            return self._t(value) if row.coded and value else value

        self.history = [
            HistoryRow(
                time=clock.format_local(r.changed_at, "%Y-%m-%d %H:%M:%S"),
                actor=r.actor_name,
                field=self._t(f"customer.field.{r.field}"),
                old=text(r, r.old) or "—",
                new=text(r, r.new) or "—",
            )
            for r in rows
        ]
        return None

    @rx.event
    def set_tab(self, tab: str | list[str]):
        self.tab = tab if isinstance(tab, str) and tab in TAB_NAMES else "overview"
        if self.tab == "history":
            return self._fetch_history()
        return None

    @rx.event
    def history_prev(self):
        self.history_page = max(1, self.history_page - 1)
        return self._fetch_history()

    @rx.event
    def history_next(self):
        self.history_page = min(self.history_pages, self.history_page + 1)
        return self._fetch_history()

    # --- reveal ---------------------------------------------------------------------------

    def _clear_reveal(self) -> None:
        self.revealed_field, self.revealed_value, self._revealed_at = "", "", 0.0

    def _clear(self) -> None:
        """The revealed plaintext never travels to another page (SPEC §8: cleared on leaving
        the profile)."""
        self._clear_reveal()

    @rx.event
    def leave(self):
        self._clear_reveal()

    @rx.event
    def ask_reveal(self, field: str, label: str):
        self.reveal_field, self.reveal_label, self.reveal_error = field, label, ""
        self.reveal_open = True

    @rx.event
    def close_reveal(self):
        self.reveal_open = False

    @rx.event
    def reveal(self, form: dict):
        reason = self._reason(form, "customer.reveal.reason", REVEAL_REASONS)
        value, error = self._call(
            customer_profile.reveal_field,
            customer_id=self.cid,
            field=self.reveal_field,
            reason=reason,
        )
        if error:
            self.reveal_error = self._field_errors.get("reason", error)
            return None
        self.reveal_open = False
        self.revealed_field, self.revealed_value = self.reveal_field, value
        self._revealed_at = time.monotonic()
        return ProfileState.expire_reveal

    @rx.event(background=True)
    async def expire_reveal(self):
        """Sixty seconds after a reveal, the value goes (no service call: nothing leaves the
        loop)."""
        await asyncio.sleep(REVEAL_SECONDS)
        async with self:
            if self._revealed_at and time.monotonic() - self._revealed_at >= REVEAL_SECONDS - 1:
                self._clear_reveal()

    # --- verification and grade override --------------------------------------------------

    @rx.event
    def open_verify(self):
        self.dialog_error, self.verify_open = "", True

    @rx.event
    def close_dialogs(self):
        self.verify_open = self.grade_open = False

    @rx.event
    def save_verification(self, form: dict):
        _, error = self._call(
            customers.set_verification,
            customer_id=self.cid,
            status=str(form.get("status", "")),
            method=str(form.get("method", "")),
        )
        if error:
            self.dialog_error = error
            return None
        self.verify_open = False
        self._fetch()
        return rx.toast.success(self._t("customer.saved"))

    @rx.event
    def open_grade(self):
        self.dialog_error, self.grade_open = "", True

    @rx.event
    def save_grade(self, form: dict):
        grade = str(form.get("grade", ""))
        _, error = self._call(
            customers.override_grade,
            customer_id=self.cid,
            grade=None if grade in ("", "auto") else grade,
            reason=str(form.get("reason", "")),
        )
        if error:
            self.dialog_error = self._field_errors.get("reason", error)
            return None
        self.grade_open = False
        self._fetch()
        return rx.toast.success(self._t("customer.saved"))
