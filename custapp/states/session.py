"""The login state every page state derives from.

The browser holds only the session token (a cookie); the actor is resolved from the database on
every event, so a handler called with any arguments still acts as the logged-in user, and a
disabled or expired session stops working at its next event.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable
from typing import Any

import reflex as rx
from reflex.state import _override_base_method  # Reflex's own marker for a base-method override
from reflex_base.event import EventHandler

from custapp.db import session_scope
from custapp.i18n import CATALOGUES, normalize_locale, t
from custapp.security.permissions import ALL_ROLES
from custapp.services import auth, stores
from custapp.services.actor import Actor
from custapp.services.errors import DomainError, PermissionDenied, ValidationFailed
from custapp.services.guard import ensure, writes
from custapp.settings import get_settings
from custapp.states.event_arguments import CheckedSetVar, checked
from custapp.states.off_loop import OffLoopEventHandler, off_loop, run_off_loop
from custapp.states.options import Option

SESSION_COOKIE = "custapp_session"
# why the login page is shown (login: not logged in); the login page names each but the last
LOGIN_REASONS = (
    "idle",
    "expired",
    "disabled",
    "logout",
    "password_reset",
    "password_change",
    "login",
)

# route, label key, icon, permission (None: every logged-in staff user)
MENU = (
    ("/", "nav.home", "layout-dashboard", None),
    ("/portal", "nav.portal", "id-card", "member.self"),
    ("/portal/privacy", "nav.portal_privacy", "shield-user", "member.self"),
    ("/portal/complaints", "nav.portal_complaints", "message-circle-warning", "member.self"),
    ("/customers", "nav.customers", "contact", "customer.read"),
    ("/follow-ups", "nav.follow_ups", "calendar-clock", "service_log.write"),
    ("/my-complaints", "nav.my_complaints", "message-square-warning", "complaint.handle"),
    ("/data-quality", "nav.data_quality", "list-checks", "customer.read"),
    ("/approvals", "nav.approvals", "inbox", "approval.decide"),
    ("/complaints", "nav.complaints", "clipboard-list", "complaint.assign"),
    # --- consent menu entries (issue 4) ---
    ("/provisions", "nav.provisions", "share-2", "provision.manage"),
    ("/rights-requests", "nav.rights", "file-question", "rights.file"),
    ("/compliance", "nav.compliance", "shield-check", "consent.manage"),
    ("/retention", "nav.retention", "hourglass", "retention.read"),  # issue 16 (RT)
    ("/destruction", "nav.destruction", "shredder", "destruction.read"),  # issue 16 (DS)
    ("/marketing", "nav.marketing", "megaphone", "campaign.manage"),
    ("/care", "nav.care", "calendar-heart", "campaign.manage"),
    ("/tiers", "nav.tiers", "crown", "card.tier.manage"),
    ("/gifts", "nav.gifts", "gift", "gift.manage"),
    ("/users", "nav.users", "users", "user.manage"),
    ("/backups", "nav.backups", "archive", "backup.manage"),  # issue 16 (BP)
    ("/jobs", "nav.jobs", "timer", "jobs.manage"),  # issue 17
    ("/audit", "nav.audit", "scroll-text", "audit.read"),
    ("/messages", "nav.messages", "bell", "message.read"),
    ("/account", "nav.account", "key-round", None),
)


@dataclasses.dataclass(frozen=True)
class MenuItem:
    """One entry of the shell's menu (and of 工作台's shortcuts)."""

    href: str = ""
    label: str = ""
    icon: str = ""


def fresh_tab(path: str) -> rx.event.EventSpec:
    """A full page load of `path` under a new Reflex client token. Reflex keys a tab's state
    tree by the token it keeps in sessionStorage, which outlives a login; a new one starts an
    empty tree, so not even a var the server-side reset missed can reach the next user."""
    return rx.call_script(f"sessionStorage.clear(); location.replace({json.dumps(path)})")


def _refused(state: SessionState) -> rx.event.EventSpec:
    """What the browser gets for an event whose arguments do not fit the handler."""
    return rx.toast.error(t("error.bad_request", state.locale))


class SessionState(rx.State):
    token: str = rx.Cookie(
        "",
        name=SESSION_COOKIE,
        same_site="strict",
        max_age=12 * 3600,
        secure=get_settings().secure_cookies,  # CUSTAPP_SECURE_COOKIES behind HTTPS
    )
    locale_pref: str = rx.Cookie("", name="custapp_locale", max_age=365 * 86400)
    locale: str = "zh_CN"
    msgs: dict[str, str] = CATALOGUES["zh_CN"]
    user_display: str = ""
    user_roles: str = ""
    store_name: str = ""
    store_options: list[Option] = []  # value: the store id
    current_store: str = ""
    is_member: bool = False
    menu: list[MenuItem] = []
    active_href: str = ""
    _field_errors: dict[str, str] = {}

    # --- arguments from the browser (issue 14, item 9) -------------------------------------

    @classmethod
    @_override_base_method
    def _create_event_handler(cls, fn: Any, event_handler_cls: type = EventHandler):  # noqa: ANN401, ANN206
        """Reflex registers every handler of this state and of every page state here: each one
        refuses, with a message, arguments that do not fit its type hints
        (custapp/states/event_arguments.py). custapp's own synchronous handlers run off the event
        loop (custapp/states/off_loop.py); Reflex's generated setters stay on it."""
        fn = checked(fn, _refused)
        if event_handler_cls is EventHandler and fn.__module__.startswith("custapp."):
            return super()._create_event_handler(off_loop(fn), OffLoopEventHandler)
        return super()._create_event_handler(fn, event_handler_cls)

    @classmethod
    @_override_base_method
    def _create_setvar(cls) -> None:
        cls.setvar = cls.event_handlers["setvar"] = CheckedSetVar(cls, _refused)

    # --- leaving a page ------------------------------------------------------------------

    def _clear(self) -> None:
        """Drop what this page holds that must not travel to another page (rows, decrypted
        text, drafts shown). A page's state overrides it; the base has nothing to drop."""

    @_override_base_method
    def _reset_client_storage(self) -> None:
        """Leaving a page by a full page load (typed address, reload, bookmark) runs no
        on_unmount; Reflex calls this on every hydrate, on every state of the tree, just before
        it sends the whole tree to the new page: each page's state drops its data first (SPEC §8;
        tests/e2e/test_secrets_stay_out.py)."""
        super()._reset_client_storage()
        self._clear()

    # --- helpers (not events: leading underscore keeps them off the wire) ---------------

    async def _start_over(self) -> None:
        """Reset every state of this tab's tree to its defaults, backend vars too: at logout, at
        login and on the way to the login page, nothing of the previous user stays. The tab's
        language choice is the device's, not the user's."""
        locale_pref = self.locale_pref
        pending = [rx.State]
        while pending:
            cls = pending.pop()
            await self.get_state(cls)  # with Redis, loads the states this event did not
            pending.extend(cls.get_substates())
        # Reflex's root holds only its own vars: router data, and is_hydrated, which must stay
        # True or the browser writes no cookie from this event's changes (the new token).
        for state in (await self.get_state(rx.State)).substates.values():
            state.reset()
        self.locale_pref = locale_pref

    async def _to_login(self, reason: str) -> rx.event.EventSpec:
        await self._start_over()
        return fresh_tab(f"/login?reason={reason}")

    def _ip(self) -> str:
        return self.router.session.client_ip or ""

    def _t(self, key: str, **params: object) -> str:
        return t(key, self.locale, **params)

    def _reason(self, form: dict, key: str, reasons: tuple[str, ...]) -> str:
        """The reason given in shell.reason_fields: typed text, else the chosen one's label."""
        typed = str(form.get("reason_text", "")).strip()
        choice = str(form.get("reason_choice", ""))
        return typed or (self._t(f"{key}.{choice}") if choice in reasons else "")

    def _apply_locale(self, locale: str | None) -> None:
        self.locale = normalize_locale(locale)
        self.msgs = CATALOGUES[self.locale]

    def _resolve(self, *, touch: bool = True) -> auth.SessionCheck:
        """The login behind this tab, read in a read-only transaction; a write one only when the
        session ends now or its idle clock is due a touch (at most once a minute)."""
        token, ip = self.token, self._ip()
        with session_scope(write=False) as session:
            check = auth.resolve_session(session, token=token, ip=ip, touch=touch, read_only=True)
        if check.must_write:
            with session_scope() as session:
                check = auth.resolve_session(session, token=token, ip=ip, touch=touch)
        return check

    def _fill_shell(self, actor: Actor) -> None:
        if actor.locale and not self.locale_pref:
            self._apply_locale(actor.locale)
        with session_scope(write=False) as session:
            names = stores.store_names(session, actor.store_ids)
        self.user_display = actor.display_name
        self.user_roles = " · ".join(self._t(f"role.{r}") for r in ALL_ROLES if r in actor.roles)
        self.is_member = actor.kind == "member"
        self.store_name = names.get(actor.store_id, "") if actor.store_id else ""
        self.store_options = [Option(str(i), names[i]) for i in actor.store_ids if i in names]
        self.current_store = str(actor.store_id or "")
        self.menu = [
            MenuItem(href, self._t(label), icon)
            for href, label, icon, permission in MENU
            if (permission is None and actor.kind == "staff")
            or (permission and actor.can(permission))
            or (href == "/account" and actor.kind == "member")
        ]
        path = self.router.url.path
        # the menu item of this page: the longest href the path starts with (/portal/privacy
        # lights 我的信息与授权, not 会员中心 too)
        matches = [
            item.href
            for item in self.menu
            if path == item.href or (item.href != "/" and path.startswith(item.href + "/"))
        ]
        self.active_href = max(matches, key=len, default="")

    def _enter(self, permission: str | None) -> tuple[Actor | None, list | None]:
        """Start of every page load: the login, the forced password change, the permission."""
        if self.locale_pref:
            self._apply_locale(self.locale_pref)
        check = self._resolve()
        if check.actor is None:
            return None, [SessionState.leave(check.ended or "login")]
        actor = check.actor
        path = self.router.url.path
        if actor.must_change_password and path != "/account":
            return actor, [rx.redirect("/account")]
        self._fill_shell(actor)
        if permission and not actor.can(permission):
            try:
                with session_scope():
                    ensure(actor, permission, action=f"page.open:{path}")
            except PermissionDenied:
                pass
            home = "/portal" if actor.kind == "member" else "/"
            return actor, [rx.redirect(home), rx.toast.error(self._t("error.page_denied"))]
        return actor, None

    def _actor(self) -> Actor | None:
        return self._resolve().actor

    def _call(self, fn: Callable[..., Any], **kwargs: Any) -> tuple[Any, str | None]:
        """Run one service call as the logged-in user in one transaction, read-only unless the
        service writes (custapp.services.guard.writes).

        Returns (result, None) or (None, message). Field errors of ValidationFailed are left
        for the page via `_field_errors`.
        """
        result, error, self._field_errors = self._call_detached(fn, **kwargs)
        return result, error

    def _call_detached(
        self, fn: Callable[..., Any], *, _touch: bool = True, **kwargs: Any
    ) -> tuple[Any, str | None, dict[str, str]]:
        """`_call` that only reads the state (the login, the language) and changes nothing on it:
        (result, message, field errors). A background event runs it off the loop outside
        `async with self` (`await run_off_loop(self._call_detached, fn, ...)`), then stores what
        it returned inside `async with self`. _touch=False: a call the page makes by itself (a
        job's progress), which is not the user's activity and leaves the idle clock alone."""
        check = self._resolve(touch=_touch)
        actor = check.actor
        if actor is None:
            reason = f"auth.reason.{check.ended}" if check.ended else "auth.login_required"
            return None, self._t(reason), {}
        try:
            with session_scope(write=writes(fn)) as session:
                return fn(session, actor=actor, **kwargs), None, {}
        except ValidationFailed as exc:
            return None, self._t(exc.key), {f: self._t(k) for f, k in exc.errors.items()}
        except DomainError as exc:
            return None, self._t(exc.key, **exc.params), {}

    # --- events --------------------------------------------------------------------------

    @rx.event
    def set_language(self, locale: str):
        self._apply_locale(locale)
        self.locale_pref = self.locale
        actor = self._actor()
        if actor is not None:
            self._call(auth.set_locale, locale=self.locale)
            self._fill_shell(actor)

    @rx.event
    def switch_store(self, store_id: str):
        actor = self._actor()
        if actor is None or not store_id.isdecimal():
            return
        _, error = self._call(auth.switch_store, store_id=int(store_id))
        if error:
            return rx.toast.error(error)
        actor = self._actor()
        if actor:
            self._fill_shell(actor)

    @rx.event
    async def logout(self):
        token, ip = self.token, self._ip()

        def run() -> None:
            with session_scope() as session:
                auth.logout(session, token=token, ip=ip)

        await run_off_loop(run)
        return await self._to_login("logout")

    @rx.event
    async def leave(self, reason: str):
        """To the login page from a page whose login is gone (or never was), the tab's tree
        started over. Called by any browser it only empties that browser's own tab."""
        return await self._to_login(reason if reason in LOGIN_REASONS else "login")

    @rx.event
    async def heartbeat(self):
        """Every minute from the open page: leave it for the login page once the session ended
        (idle, absolute expiry, disabled user). Does not count as activity."""
        if not self.user_display:
            return
        check = await run_off_loop(self._resolve, touch=False)
        if check.actor is None:
            return await self._to_login(check.ended or "login")
