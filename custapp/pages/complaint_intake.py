"""登记投诉 (SPEC §5 intake): the one intake form, used in the profile's 投诉 tab (for the customer
shown) and on /complaints/new (for a customer found by number or phone, or an anonymous walk-in
with a contact).

What is typed is kept on the server as it is typed (every field's on_change, debounced): a
dropped websocket, a reconnect or a reload of the page loses nothing. The draft lives in a
backend-only var (`_draft`, never sent to the browser); the form's visible copy (`intake`) is
emptied whenever Reflex hydrates a page (so the text does not travel with the state tree to other
pages) and filled again from the draft when the form shows. Filing or 清空 drops the draft.
"""

from __future__ import annotations

import dataclasses

import reflex as rx

from custapp.components.complaint_intake import contact_field, intake_error, intake_fields
from custapp.components.shell import T, field_error, form_actions, page
from custapp.services import customer_search
from custapp.states.complaint_intake import IntakeMixin
from custapp.states.session import SessionState

MAX_LOOKUP = 40
WHO = ("customer", "anonymous")


@dataclasses.dataclass(frozen=True)
class LookupDraft:
    """Who the draft is for, kept on the server with the intake draft: a customer (the lookup
    text and the customer it found) or an anonymous walk-in."""

    who: str = "customer"
    lookup: str = ""
    customer_label: str = ""


# --- /complaints/new ------------------------------------------------------------------------------


class ComplaintNewState(IntakeMixin, SessionState):
    """登记投诉 for a customer found by customer number or phone (the exact lookup of the
    customer search), or for an anonymous walk-in."""

    who: str = "customer"
    lookup_text: str = ""
    customer_label: str = ""
    customer_href: str = ""
    customer_error: str = ""
    _draft_cid: int = 0
    _lookup: LookupDraft = LookupDraft()

    def _drop_draft(self) -> None:
        super()._drop_draft()
        self._lookup = LookupDraft()

    def _clear(self) -> None:
        """A full page load sends the whole state tree to the new page: not the draft."""
        self._hide_draft()
        self.lookup_text = self.customer_label = self.customer_href = self.customer_error = ""

    @rx.event
    def load(self):
        _, redirect = self._enter("complaint.create")
        if redirect:
            return redirect
        self._show_draft()
        self.who = self._lookup.who
        self.lookup_text = self._lookup.lookup
        self.customer_label = self._lookup.customer_label
        self.customer_href = f"/customers/{self._draft_cid}" if self._draft_cid else ""
        self.customer_error = ""
        return None

    @rx.event
    def set_who(self, value: str):
        if value not in WHO:
            return
        self.who = value
        self._lookup = dataclasses.replace(self._lookup, who=value)
        self.customer_error = ""
        self.intake_errors = {k: v for k, v in self.intake_errors.items() if k != "contact"}

    @rx.event
    def set_lookup_text(self, value: str):
        text = value[:MAX_LOOKUP] if isinstance(value, str) else ""
        self.lookup_text = text
        self._draft_cid, self.customer_label, self.customer_href = 0, "", ""
        self._lookup = dataclasses.replace(self._lookup, lookup=text, customer_label="")

    @rx.event
    def lookup(self):
        """The customer with exactly this customer number or phone."""
        self._draft_cid, self.customer_label, self.customer_href = 0, "", ""
        self._lookup = dataclasses.replace(self._lookup, customer_label="")
        mode, _ = customer_search.classify_query(self.lookup_text)
        if mode not in ("number", "phone"):
            self.customer_error = self._t("complaint_pages.error.lookup_format")
            return None
        result, error = self._call(
            customer_search.search_customers, query=self.lookup_text, page_size=2
        )
        if error:
            self.customer_error = error
            return None
        if result.total != 1:
            key = "no_customer" if result.total == 0 else "several_customers"
            self.customer_error = self._t(f"complaint_pages.error.{key}")
            return None
        found = result.rows[0]
        self.customer_error = ""
        self._draft_cid, self.customer_label = found.id, f"{found.number} {found.name}"
        self.customer_href = f"/customers/{found.id}"
        self._lookup = dataclasses.replace(self._lookup, customer_label=self.customer_label)
        return None

    @rx.event
    def submit(self, form: dict | None = None):
        anonymous = self.who == "anonymous"
        if not anonymous and not self._draft_cid and self.lookup_text.strip():
            return self.lookup()  # Enter in the lookup box: find the customer first
        if not anonymous and not self._draft_cid:
            self.customer_error = self._t("complaint_pages.error.customer_required")
            return None
        self.customer_error = ""
        row = self._file_draft(None if anonymous else self._draft_cid, form)
        if row is None:
            return None
        self._draft_cid, self.who, self.lookup_text = 0, "customer", ""
        self.customer_label = self.customer_href = ""
        return [
            rx.redirect(f"/complaints/{row.id}"),
            rx.toast.success(self._t("complaint_pages.filed", number=row.number)),
        ]

    @rx.event
    def discard(self):
        """清空: the draft is dropped."""
        self._drop_draft()
        self._draft_cid, self.who, self.lookup_text = 0, "customer", ""
        self.customer_label = self.customer_href = self.customer_error = ""


def _who() -> rx.Component:
    S = ComplaintNewState
    return rx.vstack(
        rx.radio_group.root(
            rx.hstack(
                rx.radio_group.item(value="customer", id="who-customer"),
                rx.text(T("complaint_pages.who.customer"), as_="label", html_for="who-customer"),
                rx.radio_group.item(value="anonymous", id="who-anonymous", margin_left="16px"),
                rx.text(T("complaint_pages.who.anonymous"), as_="label", html_for="who-anonymous"),
                align="center",
                spacing="2",
            ),
            value=S.who,
            on_change=S.set_who,
            data_testid="intake-who",
        ),
        rx.cond(
            S.who == "customer",
            rx.vstack(
                rx.text(T("complaint_pages.field.customer"), size="2", weight="medium"),
                rx.hstack(
                    rx.input(
                        value=S.lookup_text,
                        on_change=S.set_lookup_text,
                        debounce_timeout=300,
                        placeholder=T("complaint_pages.lookup_hint"),
                        max_length=MAX_LOOKUP,
                        id="intake-lookup",
                        width="100%",
                        max_width="320px",
                    ),
                    rx.button(
                        rx.icon("search", size=14),
                        T("complaint_pages.lookup"),
                        type="button",
                        variant="soft",
                        on_click=S.lookup,
                        data_testid="intake-lookup-button",
                    ),
                    align="center",
                    width="100%",
                ),
                rx.cond(
                    S.customer_label != "",
                    rx.badge(
                        rx.icon("user-check", size=14),
                        rx.link(S.customer_label, href=S.customer_href, is_external=True),
                        color_scheme="green",
                        variant="soft",
                        size="2",
                        data_testid="intake-customer",
                    ),
                ),
                field_error(S.customer_error),
                spacing="1",
                width="100%",
                data_testid="intake-customer-field",
            ),
            contact_field(S),
        ),
        spacing="3",
        width="100%",
    )


def complaint_new_page() -> rx.Component:
    S = ComplaintNewState
    return page(
        "complaint_pages.new_title",
        rx.card(
            rx.form(
                rx.vstack(
                    _who(),
                    *intake_fields(S),
                    intake_error(S),
                    rx.hstack(
                        rx.button(
                            T("complaint_pages.discard"),
                            type="button",
                            variant="ghost",
                            color_scheme="gray",
                            on_click=S.discard,
                            data_testid="intake-discard",
                        ),
                        rx.spacer(),
                        form_actions(
                            rx.redirect("/my-complaints"),
                            "complaint_pages.file",
                            "intake-submit",
                            submit_icon="send",
                        ),
                        align="center",
                        width="100%",
                    ),
                    spacing="4",
                    width="100%",
                ),
                on_submit=S.submit,
                width="100%",
            ),
            width="100%",
            max_width="760px",
        ),
    )
