"""数据质量: duplicate candidates to review (and, for cs_manager, merge) and customers whose
real-name verification is missing, failed or stale.

Every list holds one page, with masked values only; the merge dialog shows a masked preview of
both customers, and the service checks customer.merge whatever the browser sends.
"""

from __future__ import annotations

import reflex as rx

from custapp import clock
from custapp.components.shell import (
    T,
    content_dialog,
    field_error,
    form_actions,
    list_section,
    loading,
    page,
    paged_table,
    pager,
)
from custapp.services import customer_profile, merge
from custapp.states.paging import PagedMixin
from custapp.states.session import SessionState

PAGE_SIZE = 10  # duplicate groups per page (each holds two or more customers)
STALE_PAGE_SIZE = 20
TABS = ("duplicates", "verification")


class DataQualityState(PagedMixin, SessionState):
    tab: str = "duplicates"
    can_merge: bool = False
    # 重复客户: one page of groups; members[i] are the customers of groups[i]
    groups: list[dict[str, str]] = []
    members: list[list[dict[str, str]]] = []
    dup_loaded: bool = False
    # 实名核验待复核
    stale_rows: list[dict[str, str]] = []
    stale_total: int = 0
    stale_page: int = 1
    stale_loaded: bool = False
    # the merge dialog
    merge_open: bool = False
    merge_options: list[list[str]] = []  # [id, "number name"] of the group's customers
    survivor_id: str = ""
    merged_id: str = ""
    preview: list[list[str]] = []  # [label, survivor's value, merged customer's value]
    preview_fills: str = ""
    preview_loading: bool = False
    merge_error: str = ""
    reason_error: str = ""
    _group_ids: list[list[int]] = []

    def _page_size(self) -> int:
        return PAGE_SIZE

    @rx.var
    def stale_pages(self) -> int:
        return max(1, -(-self.stale_total // STALE_PAGE_SIZE))

    def _clear(self) -> None:
        self.groups, self.members, self._group_ids, self.stale_rows = [], [], [], []
        self.total = self.stale_total = 0
        self.page = self.stale_page = 1
        self.dup_loaded = self.stale_loaded = self.merge_open = False
        self.preview, self.merge_options = [], []

    @rx.event
    def load(self):
        actor, redirect = self._enter("customer.read")
        if redirect:
            return redirect
        self._clear()
        self.can_merge = actor.can("customer.merge")
        self.tab = self.tab if self.tab in TABS else "duplicates"
        return DataQualityState.fetch_all

    @rx.event
    def fetch_all(self):
        """A second event after load, so the page shows its loading state first."""
        return [e for e in (self._fetch(), self._fetch_stale()) if e is not None]

    @rx.event
    def set_tab(self, tab: str | list[str]):
        self.tab = tab if isinstance(tab, str) and tab in TABS else "duplicates"

    # --- 重复客户 ------------------------------------------------------------------------------

    def _fetch(self):
        result, error = self._call(merge.duplicate_review, page=self.page, page_size=PAGE_SIZE)
        self.dup_loaded = True
        if error:
            self.groups, self.members, self._group_ids, self.total = [], [], [], 0
            return rx.toast.error(error)
        groups, self.total = result
        self.groups = [
            {"reason": "、".join(self._t(r) for r in g.reasons), "index": str(i)}
            for i, g in enumerate(groups)
        ]
        self.members = [
            [
                {
                    "id": str(m.id),
                    "number": m.number,
                    "name": m.name,
                    "phone": m.phone_masked or "—",
                    "created": clock.format_local(m.created_at, "%Y-%m-%d"),
                }
                for m in g.members
            ]
            for g in groups
        ]
        self._group_ids = [[m.id for m in g.members] for g in groups]
        return None

    # --- 实名核验待复核 --------------------------------------------------------------------------

    def _fetch_stale(self):
        result, error = self._call(
            customer_profile.list_stale_verification,
            page=self.stale_page,
            page_size=STALE_PAGE_SIZE,
        )
        self.stale_loaded = True
        if error:
            self.stale_rows, self.stale_total = [], 0
            return rx.toast.error(error)
        rows, self.stale_total = result
        self.stale_rows = [
            {
                "id": str(r.id),
                "number": r.number,
                "name": r.name,
                "kind": self._t(f"customer.kind.{r.kind}"),
                "status": self._t(f"customer.verify.{r.verify_status}"),
                "status_code": r.verify_status,
                "verified_at": clock.format_local(r.verified_at, "%Y-%m-%d") or "—",
                "owner": r.owner_name or "—",
            }
            for r in rows
        ]
        return None

    @rx.event
    def stale_prev(self):
        self.stale_page = max(1, self.stale_page - 1)
        return self._fetch_stale()

    @rx.event
    def stale_next(self):
        self.stale_page = min(self.stale_pages, self.stale_page + 1)
        return self._fetch_stale()

    # --- 合并 ---------------------------------------------------------------------------------

    def _chosen(self) -> tuple[int, int] | None:
        if not (self.survivor_id.isdecimal() and self.merged_id.isdecimal()):
            return None
        return int(self.survivor_id), int(self.merged_id)

    def _fetch_preview(self) -> None:
        self.preview, self.preview_fills, self.merge_error = [], "", ""
        chosen = self._chosen()
        if chosen is None or chosen[0] == chosen[1]:
            self.merge_error = self._t("merge.error.choose")
            return
        result, error = self._call(merge.merge_preview, survivor_id=chosen[0], merged_id=chosen[1])
        if error:
            self.merge_error = error
            return
        kept, gone = result.survivor, result.merged

        def row(key: str, a: object, b: object) -> list[str]:
            return [self._t(key), str(a) or "—", str(b) or "—"]

        self.preview = [
            row("customer.number", kept.number, gone.number),
            row("customer.field.name", kept.name, gone.name),
            row("customer.field.phone", kept.phone_masked, gone.phone_masked),
            *(
                [row("customer.field.id_number", kept.id_number_masked, gone.id_number_masked)]
                if kept.kind == "individual"
                else []
            ),
            row(
                "customer.created_at",
                clock.format_local(kept.created_at, "%Y-%m-%d"),
                clock.format_local(gone.created_at, "%Y-%m-%d"),
            ),
            row("customer.completeness", f"{kept.completeness}%", f"{gone.completeness}%"),
            row("customer.tab.transactions", kept.orders, gone.orders),
            row("customer.tab.service", kept.service_logs, gone.service_logs),
            row("customer.tab.attachments", kept.attachments, gone.attachments),
        ]
        self.preview_fills = "、".join(self._t(f"customer.field.{f}") for f in result.fills)

    @rx.event
    def open_merge(self, index: int):
        index = int(index)
        if not self.can_merge or not 0 <= index < len(self._group_ids):
            return None
        ids = self._group_ids[index]
        self.merge_options = [[m["id"], f"{m['number']} {m['name']}"] for m in self.members[index]]
        self.survivor_id, self.merged_id = str(ids[0]), str(ids[1])
        self.reason_error, self.merge_open, self.preview_loading = "", True, True
        return DataQualityState.load_preview

    @rx.event
    def load_preview(self):
        self._fetch_preview()
        self.preview_loading = False

    @rx.event
    def choose(self, role: str, value: str):
        if value not in [o[0] for o in self.merge_options]:
            return None
        if role == "survivor":
            if value == self.merged_id:  # picking the other one as the keeper swaps the two
                self.merged_id = self.survivor_id
            self.survivor_id = value
        elif role == "merged":
            if value == self.survivor_id:
                self.survivor_id = self.merged_id
            self.merged_id = value
        self.preview_loading = True
        return DataQualityState.load_preview

    def _close_merge(self) -> None:
        self.merge_open = False
        self.preview, self.merge_options = [], []

    @rx.event
    def close_merge(self):
        self._close_merge()

    @rx.event
    def confirm_merge(self, form: dict):
        chosen = self._chosen()
        if chosen is None:
            self.merge_error = self._t("merge.error.choose")
            return None
        result, error = self._call(
            merge.merge_customers,
            survivor_id=chosen[0],
            merged_id=chosen[1],
            reason=str(form.get("reason", "")),
        )
        if error:
            self.reason_error = self._field_errors.get("reason", "")
            self.merge_error = "" if self.reason_error else error
            return None
        self._close_merge()
        self._fetch()
        self._fetch_stale()
        return rx.toast.success(
            self._t("merge.done", merged=result.merged_number, survivor=result.survivor_number)
        )


# --- the page -----------------------------------------------------------------------------------


def _empty(key: str, testid: str) -> rx.Component:
    return rx.callout(T(key), icon="circle-check", color_scheme="green", data_testid=testid)


def _member(m: rx.Var) -> rx.Component:
    return rx.table.row(
        rx.table.cell(rx.link(m["number"], href="/customers/" + m["id"])),
        rx.table.cell(rx.link(m["name"], href="/customers/" + m["id"], weight="medium")),
        rx.table.cell(rx.code(m["phone"], variant="ghost")),
        rx.table.cell(m["created"]),
    )


def _group(group: rx.Var, index: rx.Var) -> rx.Component:
    S = DataQualityState
    return rx.card(
        rx.vstack(
            rx.hstack(
                rx.badge(group["reason"], color_scheme="amber", variant="soft", size="2"),
                rx.spacer(),
                rx.cond(
                    S.can_merge,
                    rx.button(
                        rx.icon("merge", size=14),
                        T("merge.action"),
                        size="1",
                        variant="soft",
                        on_click=S.open_merge(index),
                        data_testid="merge-open",
                    ),
                ),
                align="center",
                width="100%",
            ),
            rx.table.root(
                rx.table.header(
                    rx.table.row(
                        *[
                            rx.table.column_header_cell(T(k))
                            for k in (
                                "customer.number",
                                "customer.field.name",
                                "customer.field.phone",
                                "customer.created_at",
                            )
                        ]
                    )
                ),
                rx.table.body(rx.foreach(S.members[index], _member)),
                size="1",
                width="100%",
            ),
            spacing="2",
            width="100%",
        ),
        width="100%",
        data_testid="dup-group",
    )


def _duplicates() -> rx.Component:
    S = DataQualityState
    return list_section(
        rx.text(T("dq.duplicates.hint"), size="2", color_scheme="gray"),
        S.dup_loaded,
        S.total,
        _empty("dq.duplicates.empty", "dup-empty"),
        rx.vstack(
            rx.foreach(S.groups, _group),
            pager(S.page, S.pages, S.total, S.prev_page, S.next_page),
            spacing="3",
            width="100%",
        ),
    )


def _stale_row(row: rx.Var) -> rx.Component:
    return rx.table.row(
        rx.table.cell(rx.link(row["number"], href="/customers/" + row["id"])),
        rx.table.cell(rx.link(row["name"], href="/customers/" + row["id"], weight="medium")),
        rx.table.cell(row["kind"]),
        rx.table.cell(
            rx.badge(
                row["status"],
                color_scheme=rx.match(
                    row["status_code"], ("failed", "red"), ("verified", "amber"), "gray"
                ),
                variant="soft",
            )
        ),
        rx.table.cell(row["verified_at"]),
        rx.table.cell(row["owner"]),
        rx.table.cell(
            rx.link(
                rx.button(T("dq.open_profile"), size="1", variant="soft"),
                href="/customers/" + row["id"],
            )
        ),
    )


def _verification() -> rx.Component:
    S = DataQualityState
    return list_section(
        rx.text(T("dq.verification.hint"), size="2", color_scheme="gray"),
        S.stale_loaded,
        S.stale_total,
        _empty("dq.verification.empty", "stale-empty"),
        paged_table(
            (
                "customer.number",
                "customer.field.name",
                "customer.kind",
                "customer.verify_status",
                "dq.verified_at",
                "customer.field.owner",
                "common.actions",
            ),
            S.stale_rows,
            _stale_row,
            S.stale_page,
            S.stale_pages,
            S.stale_total,
            S.stale_prev,
            S.stale_next,
            white_space="nowrap",
        ),
    )


def _pick(role: str, label: str, value: rx.Var) -> rx.Component:
    S = DataQualityState
    return rx.vstack(
        rx.text(T(label), size="2", weight="medium"),
        rx.select.root(
            rx.select.trigger(width="100%", data_testid=f"merge-{role}"),
            rx.select.content(
                rx.foreach(S.merge_options, lambda o: rx.select.item(o[1], value=o[0]))
            ),
            value=value,
            on_change=lambda v: S.choose(role, v),
        ),
        spacing="1",
        width="100%",
    )


def _preview() -> rx.Component:
    S = DataQualityState
    return rx.cond(
        S.preview_loading,
        loading(),
        rx.cond(
            S.preview.length() > 0,
            rx.vstack(
                rx.table.root(
                    rx.table.header(
                        rx.table.row(
                            rx.table.column_header_cell(""),
                            rx.table.column_header_cell(T("merge.survivor")),
                            rx.table.column_header_cell(T("merge.merged")),
                        )
                    ),
                    rx.table.body(
                        rx.foreach(
                            S.preview,
                            lambda r: rx.table.row(
                                rx.table.row_header_cell(r[0]),
                                rx.table.cell(r[1]),
                                rx.table.cell(r[2]),
                            ),
                        )
                    ),
                    size="1",
                    width="100%",
                    data_testid="merge-preview",
                ),
                rx.text(
                    rx.cond(
                        S.preview_fills != "",
                        rx.fragment(T("merge.fills"), " ", S.preview_fills),
                        T("merge.no_fills"),
                    ),
                    size="2",
                ),
                spacing="2",
                width="100%",
            ),
        ),
    )


def _merge_dialog() -> rx.Component:
    S = DataQualityState
    return content_dialog(
        rx.hstack(
            _pick("survivor", "merge.survivor", S.survivor_id),
            _pick("merged", "merge.merged", S.merged_id),
            width="100%",
        ),
        _preview(),
        rx.form(
            rx.vstack(
                rx.input(
                    name="reason",
                    id="merge-reason",
                    placeholder=T("merge.reason"),
                    width="100%",
                ),
                field_error(S.reason_error),
                field_error(S.merge_error),
                form_actions(
                    S.close_merge,
                    "merge.confirm",
                    "merge-confirm",
                    submit_icon="merge",
                    submit_color="red",
                    submit_disabled=S.preview_loading | (S.preview.length() == 0),
                ),
                spacing="2",
                width="100%",
            ),
            on_submit=S.confirm_merge,
        ),
        title=T("merge.title"),
        description=T("merge.notice"),
        is_open=S.merge_open,
        on_close=S.close_merge,
        max_width="640px",
    )


def data_quality_page() -> rx.Component:
    S = DataQualityState
    return page(
        "nav.data_quality",
        rx.tabs.root(
            rx.tabs.list(
                rx.tabs.trigger(
                    T("dq.tab.duplicates"), value="duplicates", data_testid="tab-duplicates"
                ),
                rx.tabs.trigger(
                    T("dq.tab.verification"), value="verification", data_testid="tab-verification"
                ),
            ),
            rx.tabs.content(_duplicates(), value="duplicates", padding_top="16px"),
            rx.tabs.content(_verification(), value="verification", padding_top="16px"),
            value=S.tab,
            on_change=S.set_tab,
            width="100%",
        ),
        _merge_dialog(),
    )
