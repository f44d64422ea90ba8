"""Reflex configuration: everything comes from custapp.settings (CUSTAPP_* environment)."""

import reflex as rx

from custapp.settings import get_settings

_settings = get_settings()

config = rx.Config(
    app_name="custapp",
    db_url=_settings.database_url,
    redis_url=_settings.redis_url,
    # The client address (per-address login back-off, audit) from X-Forwarded-For, as appended
    # by this many trusted reverse proxies; 0 ignores the header, which any client can forge.
    trusted_proxy_hops=_settings.trusted_proxy_hops,
    # /_event and the API answer pages of these origins only (Reflex's default "*" reflects any)
    cors_allowed_origins=_settings.allowed_origins,
    # Memory for one worker: the default disk manager pickles backend vars to .states/ (SPEC §8).
    state_manager_mode="redis" if _settings.redis_url else "memory",
    telemetry_enabled=False,
    show_built_with_reflex=False,
    plugins=[
        rx.plugins.RadixThemesPlugin(
            theme=rx.theme(appearance="light", accent_color="teal", radius="medium")
        )
    ],
    disable_plugins=[rx.plugins.SitemapPlugin],
)
