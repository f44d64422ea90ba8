"""合并 on 数据质量 (cs_manager): two customers of a duplicate group, which one is kept, a masked
preview of both and what the kept one would take from the other, and the reason; a substate of
DataQualityState with its view beside it. The service checks `customer.merge` whatever the
browser sends."""

from __future__ import annotations

import reflex as rx

from custapp import clock
from custapp.components.shell import T, content_dialog, field_error, form_actions, loading
from custapp.pages.data_quality.rows import PreviewRow
from custapp.pages.data_quality.state import DataQualityState
from custapp.services import merge
from custapp.states.options import Option
from custapp.vocab import CustomerKind


class MergeDialogState(DataQualityState):
    is_open: bool = False
    options: list[Option] = []  # the group's customers: id, "number name"
    survivor_id: str = ""
    merged_id: str = ""
    preview: list[PreviewRow] = []
    preview_fills: str = ""
    preview_loading: bool = False
    error: str = ""
    reason_error: str = ""

    def _clear(self) -> None:
        self.is_open, self.preview, self.options = False, [], []

    def _chosen(self) -> tuple[int, int] | None:
        if not (self.survivor_id.isdecimal() and self.merged_id.isdecimal()):
            return None
        return int(self.survivor_id), int(self.merged_id)

    def _fetch_preview(self) -> None:
        self.preview, self.preview_fills, self.error = [], "", ""
        chosen = self._chosen()
        if chosen is None or chosen[0] == chosen[1]:
            self.error = self._t("merge.error.choose")
            return
        result, error = self._call(merge.merge_preview, survivor_id=chosen[0], merged_id=chosen[1])
        if error:
            self.error = error
            return
        kept, gone = result.survivor, result.merged

        def row(key: str, a: object, b: object) -> PreviewRow:
            return PreviewRow(self._t(key), str(a) or "—", str(b) or "—")

        self.preview = [
            row("customer.number", kept.number, gone.number),
            row("customer.field.name", kept.name, gone.name),
            row("customer.field.phone", kept.phone_masked, gone.phone_masked),
            *(
                [row("customer.field.id_number", kept.id_number_masked, gone.id_number_masked)]
                if kept.kind == CustomerKind.INDIVIDUAL
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
        if not self.can_merge or not 0 <= index < len(self.members):
            return None
        members = self.members[index]
        self.options = [Option(str(m.id), f"{m.number} {m.name}") for m in members]
        self.survivor_id, self.merged_id = str(members[0].id), str(members[1].id)
        self.reason_error, self.is_open, self.preview_loading = "", True, True
        return MergeDialogState.load_preview

    @rx.event
    def load_preview(self):
        self._fetch_preview()
        self.preview_loading = False

    @rx.event
    def choose(self, role: str, value: str):
        if value not in [o.value for o in self.options]:
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
        return MergeDialogState.load_preview

    @rx.event
    def close_merge(self):
        self._clear()

    @rx.event
    def confirm_merge(self, form: dict):
        chosen = self._chosen()
        if chosen is None:
            self.error = self._t("merge.error.choose")
            return None
        result, error = self._call(
            merge.merge_customers,
            survivor_id=chosen[0],
            merged_id=chosen[1],
            reason=str(form.get("reason", "")),
        )
        if error:
            self.reason_error = self._field_errors.get("reason", "")
            self.error = "" if self.reason_error else error
            return None
        self._clear()
        self._fetch()
        self._fetch_stale()
        return rx.toast.success(
            self._t("merge.done", merged=result.merged_number, survivor=result.survivor_number)
        )


# --- the dialog -----------------------------------------------------------------------------------

M = MergeDialogState


def _pick(role: str, label: str, value: rx.Var) -> rx.Component:
    return rx.vstack(
        rx.text(T(label), size="2", weight="medium"),
        rx.select.root(
            rx.select.trigger(width="100%", data_testid=f"merge-{role}"),
            rx.select.content(
                rx.foreach(M.options, lambda o: rx.select.item(o.label, value=o.value))
            ),
            value=value,
            on_change=lambda v: M.choose(role, v),
        ),
        spacing="1",
        width="100%",
    )


def _preview() -> rx.Component:
    return rx.cond(
        M.preview_loading,
        loading(),
        rx.cond(
            M.preview.length() > 0,
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
                            M.preview,
                            lambda r: rx.table.row(
                                rx.table.row_header_cell(r.label),
                                rx.table.cell(r.survivor),
                                rx.table.cell(r.merged),
                            ),
                        )
                    ),
                    size="1",
                    width="100%",
                    data_testid="merge-preview",
                ),
                rx.text(
                    rx.cond(
                        M.preview_fills != "",
                        rx.fragment(T("merge.fills"), " ", M.preview_fills),
                        T("merge.no_fills"),
                    ),
                    size="2",
                ),
                spacing="2",
                width="100%",
            ),
        ),
    )


def merge_dialog() -> rx.Component:
    return content_dialog(
        rx.hstack(
            _pick("survivor", "merge.survivor", M.survivor_id),
            _pick("merged", "merge.merged", M.merged_id),
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
                field_error(M.reason_error),
                field_error(M.error),
                form_actions(
                    M.close_merge,
                    "merge.confirm",
                    "merge-confirm",
                    submit_icon="merge",
                    submit_color="red",
                    submit_disabled=M.preview_loading | (M.preview.length() == 0),
                ),
                spacing="2",
                width="100%",
            ),
            on_submit=M.confirm_merge,
        ),
        title=T("merge.title"),
        description=T("merge.notice"),
        is_open=M.is_open,
        on_close=M.close_merge,
        max_width="640px",
    )
