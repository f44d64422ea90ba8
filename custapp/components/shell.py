"""The app shell: a sidebar with only what the user's roles allow, the user, store and language."""

from __future__ import annotations

import reflex as rx

from custapp.states.session import SessionState

S = SessionState


def T(key: str) -> rx.Var:  # noqa: N802 (reads like the gettext "_" it stands for)
    """A catalogue string that follows the user's language."""
    return S.msgs[key]


def language_switch() -> rx.Component:
    return rx.select.root(
        rx.select.trigger(aria_label="language", variant="ghost"),
        rx.select.content(
            rx.select.item("中文", value="zh_CN"),
            rx.select.item("English", value="en"),
        ),
        value=S.locale,
        on_change=S.set_language,
        size="1",
    )


def _menu_item(item: rx.Var) -> rx.Component:
    active = item.href == S.active_href
    return rx.link(
        rx.hstack(
            rx.icon(item.icon, size=18),
            rx.text(item.label, size="3"),
            align="center",
            spacing="3",
            padding_x="12px",
            padding_y="8px",
            border_radius="8px",
            width="100%",
            background=rx.cond(active, rx.color("accent", 4), "transparent"),
            color=rx.cond(active, rx.color("accent", 11), rx.color("gray", 12)),
            _hover={"background": rx.color("accent", 3)},
        ),
        href=item.href,
        underline="none",
        width="100%",
        data_testid="menu-item",
    )


def sidebar() -> rx.Component:
    return rx.vstack(
        rx.hstack(
            rx.icon("contact", size=26, color=rx.color("accent", 10)),
            rx.heading(T("app.name"), size="4"),
            align="center",
            padding_bottom="12px",
        ),
        rx.vstack(rx.foreach(S.menu, _menu_item), spacing="1", width="100%"),
        rx.spacer(),
        rx.vstack(
            rx.text(S.user_display, weight="bold", size="2", data_testid="user-name"),
            rx.text(S.user_roles, size="1", color_scheme="gray", data_testid="user-roles"),
            rx.cond(
                S.store_options.length() > 1,
                rx.select.root(
                    rx.select.trigger(aria_label="store", width="100%"),
                    rx.select.content(
                        rx.foreach(
                            S.store_options, lambda o: rx.select.item(o.label, value=o.value)
                        )
                    ),
                    value=S.current_store,
                    on_change=S.switch_store,
                    size="1",
                ),
                rx.cond(
                    S.store_name != "",
                    rx.badge(rx.icon("store", size=12), S.store_name, variant="soft"),
                ),
            ),
            rx.hstack(
                language_switch(),
                rx.button(
                    rx.icon("log-out", size=14),
                    T("nav.logout"),
                    on_click=S.logout,
                    variant="soft",
                    size="1",
                    data_testid="logout",
                ),
                justify="between",
                width="100%",
            ),
            width="100%",
            spacing="2",
            padding_top="12px",
            border_top=f"1px solid {rx.color('gray', 5)}",
        ),
        width="230px",
        min_width="230px",
        height="100vh",
        # a manager's menu is longer than a 768 px laptop screen: it scrolls, and 退出登录 with it
        overflow_y="auto",
        padding="16px",
        background=rx.color("gray", 2),
        border_right=f"1px solid {rx.color('gray', 5)}",
    )


def mobile_bar() -> rx.Component:
    """On a phone the sidebar would take half the screen: the menu becomes a bar on top."""
    return rx.vstack(
        rx.hstack(
            rx.text(S.user_display, weight="bold", size="2"),
            rx.spacer(),
            language_switch(),
            rx.icon_button(
                rx.icon("log-out", size=14), on_click=S.logout, variant="soft", size="1"
            ),
            align="center",
            width="100%",
        ),
        rx.flex(
            rx.foreach(
                S.menu,
                lambda item: rx.link(
                    rx.badge(rx.icon(item.icon, size=12), item.label, variant="soft", size="2"),
                    href=item.href,
                    underline="none",
                ),
            ),
            wrap="wrap",
            spacing="2",
        ),
        spacing="2",
        padding_bottom="12px",
        margin_bottom="12px",
        border_bottom=f"1px solid {rx.color('gray', 5)}",
        width="100%",
    )


def page(title_key: str, *children: rx.Component) -> rx.Component:
    """A signed-in page: the sidebar and the content. Nothing shows until the login is known."""
    return rx.hstack(
        rx.moment(interval=60_000, on_change=S.heartbeat, display="none"),
        # sticky on the row's full height: the menu stays in view while a long page scrolls
        rx.box(
            sidebar(),
            display=rx.breakpoints(initial="none", md="block"),
            position="sticky",
            top="0",
        ),
        rx.box(
            rx.box(mobile_bar(), display=rx.breakpoints(initial="block", md="none")),
            rx.cond(
                S.user_display != "",
                rx.vstack(
                    rx.heading(T(title_key), size="6", padding_bottom="8px"),
                    *children,
                    width="100%",
                    max_width="1200px",
                    spacing="4",
                ),
                rx.center(rx.spinner(size="3"), padding="80px"),
            ),
            padding=rx.breakpoints(initial="12px", md="24px 32px"),
            width="100%",
            min_height="100vh",
        ),
        spacing="0",
        align="start",
        width="100%",
    )


def field_error(message: rx.Var) -> rx.Component:
    """The message under a field; nothing for "" or a key missing from an errors dict."""
    return rx.cond(
        message,
        rx.text(message, color_scheme="red", size="1", data_testid="field-error"),
    )


def reason_fields(key: str, reasons: tuple[str, ...], input_id: str) -> rx.Component:
    """Why a value or file is opened: one of `reasons` (labels `<key>.<reason>`) or typed text
    (placeholder `<key>_other`); SessionState._reason reads the answer."""
    return rx.fragment(
        rx.select.root(
            rx.select.trigger(placeholder=T(key), width="100%"),
            rx.select.content(*[rx.select.item(T(f"{key}.{r}"), value=r) for r in reasons]),
            name="reason_choice",
        ),
        rx.input(name="reason_text", placeholder=T(f"{key}_other"), width="100%", id=input_id),
    )


def loading() -> rx.Component:
    """A spinner standing in for a list or a panel until its data is there."""
    return rx.center(rx.spinner(size="3"), padding="40px", width="100%")


def list_section(
    head: rx.Component,
    loaded: rx.Var,
    total: rx.Var,
    empty: rx.Component,
    body: rx.Component,
) -> rx.Component:
    """A tab's list: `head` (a hint or a toolbar) over a spinner until `loaded`, then `empty`
    when `total` is 0, else `body`."""
    return rx.vstack(
        head,
        rx.cond(~loaded, loading(), rx.cond(total == 0, empty, body)),
        spacing="3",
        width="100%",
    )


def data_table(columns, rows: rx.Var, row, **props) -> rx.Component:  # noqa: ANN001
    """A list page's table: header cells from catalogue keys ("" for an unnamed column), one row
    per item of `rows` rendered by `row`, scrolling sideways on narrow screens."""
    return rx.box(
        rx.table.root(
            rx.table.header(
                rx.table.row(*[rx.table.column_header_cell(T(k) if k else "") for k in columns])
            ),
            rx.table.body(rx.foreach(rows, row)),
            variant="surface",
            width="100%",
            **props,
        ),
        overflow_x="auto",
        width="100%",
    )


def pager(page: rx.Var, pages: rx.Var, total: rx.Var, on_prev, on_next) -> rx.Component:  # noqa: ANN001
    return rx.hstack(
        rx.text(T("paging.total"), " ", total, size="2", color_scheme="gray"),
        rx.spacer(),
        rx.button(
            rx.icon("chevron-left", size=14),
            on_click=on_prev,
            disabled=page <= 1,
            variant="soft",
            size="1",
        ),
        rx.text(page, " / ", pages, size="2"),
        rx.button(
            rx.icon("chevron-right", size=14),
            on_click=on_next,
            disabled=page >= pages,
            variant="soft",
            size="1",
        ),
        align="center",
        width="100%",
    )


def paged_table(
    columns,  # noqa: ANN001
    rows: rx.Var,
    row,  # noqa: ANN001
    page: rx.Var,
    pages: rx.Var,
    total: rx.Var,
    on_prev,  # noqa: ANN001
    on_next,  # noqa: ANN001
    **props,
) -> rx.Component:
    """`data_table` (extra `props` go to its table) with the `pager` under it."""
    return rx.vstack(
        data_table(columns, rows, row, **props),
        pager(page, pages, total, on_prev, on_next),
        width="100%",
    )


def toolbar(hint: rx.Var, *actions: rx.Component, **hint_props) -> rx.Component:
    """The row above a list: a gray hint on the left, the actions on the right."""
    return rx.hstack(
        rx.text(hint, size="2", color_scheme="gray", **hint_props),
        rx.spacer(),
        *actions,
        align="center",
        width="100%",
    )


def two_line(main: rx.Var, sub: rx.Var, **main_props) -> rx.Component:
    """A table cell's text (`main_props` style it) with a small gray second line under it."""
    return rx.vstack(
        rx.text(main, **main_props),
        rx.text(sub, size="1", color_scheme="gray"),
        spacing="0",
    )


def content_dialog(
    *children: rx.Component,
    title: rx.Component,
    is_open: rx.Var,
    on_close,  # noqa: ANN001
    description: rx.Component | None = None,
    max_width: str | None = None,
    spacing: str = "3",
) -> rx.Component:
    """A dialog that is more than one form: the title, an optional description, then `children`
    in a column. Closing it any way runs `on_close`."""
    return rx.dialog.root(
        rx.dialog.content(
            rx.dialog.title(title),
            *([rx.dialog.description(description, size="2")] if description is not None else []),
            rx.vstack(*children, spacing=spacing, margin_top="12px", width="100%"),
            **({"max_width": max_width} if max_width else {}),
        ),
        open=is_open,
        on_open_change=lambda _o: on_close(),
    )


def form_actions(
    on_cancel,  # noqa: ANN001
    submit_label: str = "common.save",
    submit_testid: str = "dialog-submit",
    *,
    submit_icon: str | None = None,
    submit_color: str | None = None,
    submit_disabled: rx.Var | bool | None = None,
    submit_type: str = "submit",
    **submit_props,
) -> rx.Component:
    """A form's last row: cancel (a plain button that runs `on_cancel`) and submit.
    `submit_props` (e.g. `loading`, `on_click` with `submit_type="button"`) go to the submit button."""
    extra: dict = dict(submit_props)
    if submit_color is not None:
        extra["color_scheme"] = submit_color
    if submit_disabled is not None:
        extra["disabled"] = submit_disabled
    return rx.hstack(
        rx.button(
            T("common.cancel"),
            type="button",
            variant="soft",
            color_scheme="gray",
            on_click=on_cancel,
        ),
        rx.button(
            *([rx.icon(submit_icon, size=14)] if submit_icon else []),
            T(submit_label),
            type=submit_type,
            data_testid=submit_testid,
            **extra,
        ),
        justify="end",
        width="100%",
    )


def form_dialog(
    *fields: rx.Component,
    title: rx.Component,
    is_open: rx.Var,
    on_close,  # noqa: ANN001
    on_submit,  # noqa: ANN001
    error: rx.Var,
    submit_label: str = "common.save",
    submit_testid: str = "dialog-submit",
    description: str | None = None,
    reset_on_submit: bool = False,
    max_width: str | None = None,
    form_props: dict | None = None,
    stack_props: dict | None = None,
) -> rx.Component:
    """A dialog holding one small form: fields, the error next to them, cancel and submit.
    `max_width` sizes the dialog; `form_props` (e.g. a `key`) go to the form and `stack_props`
    to the column that holds the fields."""
    return rx.dialog.root(
        rx.dialog.content(
            rx.dialog.title(title),
            *([rx.dialog.description(T(description), size="2")] if description else []),
            rx.form(
                rx.vstack(
                    *fields,
                    field_error(error),
                    form_actions(on_close, submit_label, submit_testid),
                    spacing="3",
                    **(stack_props or {}),
                ),
                on_submit=on_submit,
                reset_on_submit=reset_on_submit,
                **(form_props or {}),
            ),
            **({"max_width": max_width} if max_width else {}),
        ),
        open=is_open,
        on_open_change=lambda _o: on_close(),
    )
