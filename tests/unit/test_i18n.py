"""Every user-visible string comes from the catalogue, in both languages."""

import re
from pathlib import Path

from custapp.i18n import CATALOGUES, t

SOURCE = Path(__file__).resolve().parents[2] / "custapp"
LITERAL_KEY = re.compile(r"""\b(?:T|_t|t)\(\s*["']([a-z0-9_.\-]+)["']\s*[,)]""")


def test_both_languages_have_the_same_keys():
    assert set(CATALOGUES["zh_CN"]) == set(CATALOGUES["en"])


def test_every_literal_key_in_the_code_is_in_the_catalogue():
    used = set()
    for path in SOURCE.rglob("*.py"):
        used |= set(LITERAL_KEY.findall(path.read_text()))
    missing = sorted(k for k in used if k not in CATALOGUES["zh_CN"])
    assert missing == []


def test_placeholders_match_between_languages():
    fields = re.compile(r"{(\w+)}")
    for key, zh in CATALOGUES["zh_CN"].items():
        assert set(fields.findall(zh)) == set(fields.findall(CATALOGUES["en"][key])), key


def test_missing_key_shows_itself_and_bad_params_do_not_raise():
    assert t("no.such.key", "en") == "no.such.key"
    assert t("auth.locked", "en").startswith("Too many")
