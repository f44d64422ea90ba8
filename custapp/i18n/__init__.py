"""Message catalogues (zh_CN default, en) and t(). Every user-visible string comes from here."""

from __future__ import annotations

from custapp.i18n.en import MESSAGES as EN
from custapp.i18n.zh_CN import MESSAGES as ZH

CATALOGUES: dict[str, dict[str, str]] = {"zh_CN": ZH, "en": EN}
LOCALES = ("zh_CN", "en")


def normalize_locale(locale: str | None) -> str:
    if locale in CATALOGUES:
        return locale  # type: ignore[return-value]
    from custapp.settings import get_settings

    default = get_settings().locale
    return default if default in CATALOGUES else "zh_CN"


def t(key: str, locale: str | None = None, **params: object) -> str:
    """The message for `key` in `locale`; a missing key shows itself rather than failing."""
    text = CATALOGUES[normalize_locale(locale)].get(key) or ZH.get(key) or key
    if params:
        try:
            return text.format(**params)
        except (KeyError, IndexError, ValueError):
            return text
    return text
