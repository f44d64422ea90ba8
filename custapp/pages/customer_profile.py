"""客户档案 profile: overview with masked sensitive values (reveal one field with a reason),
classification, real-name verification, and the change history."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

import reflex as rx

from custapp import clock
from custapp.components.shell import T, data_table, form_dialog, page, pager, reason_fields
from custapp.money import format_fen
from custapp.pages.profile_attachments import attachments_tab
from custapp.pages.profile_complaints import complaints_tab
from custapp.pages.profile_consents import consents_tab
from custapp.pages.profile_membership import membership_tab
from custapp.pages.profile_orders import orders_tab
from custapp.pages.profile_service import service_tab
from custapp.services import customer_profile, customers
from custapp.services.customer_fields import GRADES
from custapp.states.session import SessionState

HISTORY_PAGE = 20
REVEAL_SECONDS = 60
REVEAL_REASONS = ("serve_customer", "verify_identity", "contact_customer", "correct_record")
CHOICE_FIELDS = {"gender", "nature", "source_channel", "id_type"}


class ProfileState(SessionState):
    cid: int = 0
    number: str = ""
    name: str = ""
    kind: str = ""
    badges: dict[str, str] = {}
    completeness: int = 0
    stale: bool = False
    redirected_from: str = ""
    general: list[list[str]] = []
    sensitive: list[dict[str, str]] = []
    notes: str = ""
    tags: str = ""
    contacts: list[dict[str, str]] = []
    facts: list[list[str]] = []
    tab: str = "overview"
    history: list[dict[str, str]] = []
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
        self.badges = {
            "grade": p.effective_grade,
            "lifecycle": self._t(f"customer.lifecycle.{p.lifecycle}"),
            "value": self._t(f"customer.value.{p.value_class}"),
            "verify": self._t(f"customer.verify.{p.verify_status}"),
            "verify_code": p.verify_status,
            "override": p.grade_override,
        }
        self.general = [
            [
                self._t(f"customer.field.{k}"),
                self._t(f"customer.{k}.{v}") if k in CHOICE_FIELDS and v else v,
            ]
            for k, v in p.general.items()
            if k != "name" and v
        ]
        self.sensitive = [
            {
                "field": s.field,
                "label": self._t(f"customer.field.{s.field}"),
                "masked": s.masked,
                "level": str(s.level),
            }
            for s in p.sensitive
            if s.present
        ]
        self.notes, self.tags = p.notes, "、".join(p.tags)
        self.contacts = [
            {"name": c.name, "title": c.title, "phone": c.phone_masked} for c in p.contacts
        ]
        verified = (
            p.verified_by_name and f"{p.verified_by_name} · {clock.format_local(p.verified_at)}"
        )
        self.facts = [
            [self._t("customer.number"), p.number],
            [self._t("customer.spend_12m"), format_fen(p.spend_12m_fen)],
            [
                self._t("customer.last_purchase"),
                clock.format_local(p.last_purchase_at, "%Y-%m-%d") or "—",
            ],
            [self._t("customer.field.owner"), p.owner_name or "—"],
            [self._t("customer.second_contact"), p.second_contact_name or "—"],
            [self._t("customer.verified_by"), verified or "—"],
            [self._t("customer.grade_override_reason"), p.grade_override_reason or "—"],
            [self._t("customer.created_at"), clock.format_local(p.created_at)],
        ]
        return None

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
            {
                "time": clock.format_local(r.changed_at, "%Y-%m-%d %H:%M:%S"),
                "actor": r.actor_name,
                "field": self._t(f"customer.field.{r.field}"),
                "old": text(r, r.old) or "—",
                "new": text(r, r.new) or "—",
            }
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


def _badge(text: rx.Var, color: str = "gray") -> rx.Component:
    return rx.badge(text, color_scheme=color, variant="soft", size="2")


def _header() -> rx.Component:
    S = ProfileState
    return rx.vstack(
        rx.cond(
            S.redirected_from != "",
            rx.callout(
                T("customer.redirected") + " " + S.redirected_from, icon="merge", width="100%"
            ),
        ),
        rx.hstack(
            rx.heading(S.name, size="6", data_testid="customer-name"),
            rx.code(S.number),
            _badge(S.kind),
            _badge(T("customer.grade") + " " + S.badges["grade"], "teal"),
            _badge(S.badges["lifecycle"], "blue"),
            _badge(S.badges["value"], "violet"),
            _badge(
                S.badges["verify"], rx.cond(S.badges["verify_code"] == "verified", "green", "amber")
            ),
            rx.cond(
                S.stale & (S.badges["verify_code"] == "verified"),
                _badge(T("customer.stale"), "red"),
            ),
            rx.spacer(),
            rx.cond(
                S.can_update,
                rx.link(
                    rx.button(rx.icon("pencil", size=14), T("customer.edit"), variant="soft"),
                    href="/customers/" + S.cid.to_string() + "/edit",
                ),
            ),
            align="center",
            wrap="wrap",
            width="100%",
        ),
        rx.hstack(
            rx.text(T("customer.completeness"), size="2", color_scheme="gray"),
            rx.progress(value=S.completeness, max=100, width="160px"),
            rx.text(S.completeness, "%", size="2"),
            align="center",
        ),
        width="100%",
    )


def _sensitive_row(item: rx.Var) -> rx.Component:
    S = ProfileState
    shown = S.revealed_field == item["field"]
    return rx.table.row(
        rx.table.cell(item["label"]),
        rx.table.cell(
            rx.cond(
                shown,
                rx.code(S.revealed_value, color_scheme="amber", data_testid="revealed-value"),
                rx.code(item["masked"], variant="ghost", data_testid="masked-value"),
            )
        ),
        rx.table.cell(rx.badge(T("customer.level"), " ", item["level"], variant="outline")),
        rx.table.cell(
            rx.cond(
                item["level"] == "3",
                rx.text(T("customer.l3_hint"), size="1", color_scheme="gray"),
                rx.cond(
                    ~S.reveal_levels.contains(item["level"]),
                    rx.text(T("customer.no_reveal_permission"), size="1", color_scheme="gray"),
                    rx.cond(
                        shown,
                        rx.button(
                            rx.icon("eye-off", size=14),
                            T("customer.hide"),
                            size="1",
                            variant="soft",
                            on_click=S.leave,
                        ),
                        rx.button(
                            rx.icon("eye", size=14),
                            T("customer.reveal"),
                            size="1",
                            variant="soft",
                            on_click=S.ask_reveal(item["field"], item["label"]),
                            data_testid="reveal-" + item["field"],
                        ),
                    ),
                ),
            )
        ),
    )


def _pairs(rows: rx.Var) -> rx.Component:
    return rx.data_list.root(
        rx.foreach(
            rows, lambda r: rx.data_list.item(rx.data_list.label(r[0]), rx.data_list.value(r[1]))
        ),
        size="2",
    )


def _overview() -> rx.Component:
    S = ProfileState
    return rx.grid(
        rx.card(
            rx.vstack(
                rx.heading(T("customer.section.general"), size="3"),
                _pairs(S.general),
                rx.cond(S.tags != "", rx.text(T("customer.tags"), ": ", S.tags, size="2")),
                rx.cond(
                    S.notes != "",
                    rx.box(
                        rx.text(T("customer.field.notes"), weight="medium", size="2"),
                        rx.text(S.notes, size="2", white_space="pre-wrap"),
                    ),
                ),
                rx.cond(
                    S.contacts.length() > 0,
                    rx.vstack(
                        rx.text(T("customer.section.contacts"), weight="medium", size="2"),
                        rx.foreach(
                            S.contacts,
                            lambda c: rx.text(
                                c["name"], " · ", c["title"], " · ", c["phone"], size="2"
                            ),
                        ),
                        spacing="1",
                    ),
                ),
                spacing="3",
            ),
        ),
        rx.card(
            rx.vstack(
                rx.hstack(
                    rx.heading(T("customer.section.sensitive"), size="3"),
                    rx.spacer(),
                    rx.text(T("customer.masked_hint"), size="1", color_scheme="gray"),
                    width="100%",
                ),
                rx.cond(
                    S.sensitive.length() > 0,
                    rx.table.root(
                        rx.table.body(rx.foreach(S.sensitive, _sensitive_row)),
                        size="1",
                        width="100%",
                    ),
                    rx.text(T("customer.no_sensitive"), size="2", color_scheme="gray"),
                ),
                spacing="3",
                width="100%",
            ),
        ),
        rx.card(
            rx.vstack(
                rx.heading(T("customer.section.classification"), size="3"),
                _pairs(S.facts),
                rx.hstack(
                    rx.cond(
                        S.can_update,
                        rx.button(
                            rx.icon("badge-check", size=14),
                            T("customer.verify_action"),
                            size="1",
                            variant="soft",
                            on_click=S.open_verify,
                            data_testid="verify-open",
                        ),
                    ),
                    rx.cond(
                        S.can_override,
                        rx.button(
                            rx.icon("award", size=14),
                            T("customer.grade_override"),
                            size="1",
                            variant="soft",
                            on_click=S.open_grade,
                        ),
                    ),
                ),
                spacing="3",
            ),
        ),
        columns=rx.breakpoints(initial="1", md="2"),
        spacing="4",
        width="100%",
    )


def _history() -> rx.Component:
    S = ProfileState
    return rx.vstack(
        data_table(
            (
                "audit.col.time",
                "audit.col.actor",
                "customer.history.field",
                "customer.history.old",
                "customer.history.new",
            ),
            S.history,
            lambda r: rx.table.row(
                rx.table.cell(r["time"], white_space="nowrap"),
                rx.table.cell(r["actor"]),
                rx.table.cell(r["field"]),
                rx.table.cell(r["old"]),
                rx.table.cell(r["new"]),
            ),
        ),
        rx.cond(S.history_total == 0, rx.text(T("common.empty"), color_scheme="gray")),
        pager(S.history_page, S.history_pages, S.history_total, S.history_prev, S.history_next),
        width="100%",
    )


def _choice(placeholder: str, name: str, items: list[tuple[str, rx.Var | str]]) -> rx.Component:
    return rx.select.root(
        rx.select.trigger(placeholder=T(placeholder), width="100%"),
        rx.select.content(*[rx.select.item(label, value=value) for value, label in items]),
        name=name,
    )


def _reveal_dialog() -> rx.Component:
    S = ProfileState
    return form_dialog(
        reason_fields("customer.reveal.reason", REVEAL_REASONS, "reveal-reason"),
        title=rx.fragment(T("customer.reveal"), " ", S.reveal_label),
        description="customer.reveal_notice",
        is_open=S.reveal_open,
        on_close=S.close_reveal,
        on_submit=S.reveal,
        error=S.reveal_error,
        submit_label="customer.reveal",
        submit_testid="reveal-confirm",
        reset_on_submit=True,
    )


def _verify_dialog() -> rx.Component:
    S = ProfileState
    return form_dialog(
        _choice(
            "customer.verify_status",
            "status",
            [(v, T(f"customer.verify.{v}")) for v in ("verified", "failed", "unverified")],
        ),
        _choice(
            "customer.verify_method",
            "method",
            [(m, T(f"customer.verify_method.{m}")) for m in ("id_card_at_counter", "other")],
        ),
        title=T("customer.verify_action"),
        is_open=S.verify_open,
        on_close=S.close_dialogs,
        on_submit=S.save_verification,
        error=S.dialog_error,
    )


def _grade_dialog() -> rx.Component:
    S = ProfileState
    return form_dialog(
        _choice(
            "customer.grade",
            "grade",
            [("auto", T("customer.grade_auto")), *[(g, g) for g in GRADES]],
        ),
        rx.input(name="reason", placeholder=T("customer.grade_override_reason"), width="100%"),
        title=T("customer.grade_override"),
        is_open=S.grade_open,
        on_close=S.close_dialogs,
        on_submit=S.save_grade,
        error=S.dialog_error,
    )


# tab value -> its content; each linked-record tab loads its own page when it mounts
TABS: tuple[tuple[str, Callable[[], rx.Component]], ...] = (
    ("overview", _overview),
    ("transactions", orders_tab),
    ("service", service_tab),
    ("points", membership_tab),
    ("consents", consents_tab),
    ("complaints", complaints_tab),
    ("attachments", attachments_tab),
    ("history", _history),
)
TAB_NAMES = frozenset(tab for tab, _ in TABS)


def customer_profile_page() -> rx.Component:
    S = ProfileState
    return page(
        "customer.profile",
        rx.box(
            _header(),
            rx.tabs.root(
                rx.tabs.list(
                    *[
                        rx.tabs.trigger(
                            T(f"customer.tab.{tab}"), value=tab, data_testid=f"tab-{tab}"
                        )
                        for tab, _ in TABS
                    ],
                    overflow_x="auto",
                ),
                *[
                    rx.tabs.content(content(), value=tab, padding_top="16px")
                    for tab, content in TABS
                ],
                value=S.tab,
                on_change=S.set_tab,
                width="100%",
                margin_top="16px",
            ),
            _reveal_dialog(),
            _verify_dialog(),
            _grade_dialog(),
            on_unmount=S.leave,
            width="100%",
        ),
    )
