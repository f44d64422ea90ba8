"""Canary values the browser tests type into logins, reasons and notes (issue 14, acceptance 6).

The audit log holds no values (SPEC §8): at the end of the browser session none of these may
appear in any text column of `audit_log`. The MAC columns are hex and are not read.
"""

from __future__ import annotations

import sqlite3

PHONE = "13408102203"
ID_NUMBER = "430103199001010624"
CARD = "6228480402564890018"
ALL = (PHONE, ID_NUMBER, CARD)
# what else would give one away: the phone as the app masks it
FORMS = (*ALL, f"{PHONE[:3]}****{PHONE[-4:]}")

_HEX_COLUMNS = {"mac", "prev_mac"}


def _text_columns(conn: sqlite3.Connection) -> list[str]:
    columns = conn.execute("PRAGMA table_info(audit_log)").fetchall()
    return [
        name
        for _cid, name, kind, *_ in columns
        if name not in _HEX_COLUMNS and any(t in kind.upper() for t in ("CHAR", "TEXT", "CLOB"))
    ]


def found_in_audit_log(database_url: str) -> list[tuple[int, str, str]]:
    """(seq, column, canary) for every canary form found in a text column of the audit log."""
    path = database_url.removeprefix("sqlite:///")
    with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as conn:
        columns = _text_columns(conn)
        assert {"actor_name", "reason", "detail", "target_id"} <= set(columns), columns
        found = []
        for column in columns:
            for canary in FORMS:
                rows = conn.execute(
                    f'SELECT seq FROM audit_log WHERE instr("{column}", ?) > 0', (canary,)
                ).fetchall()
                found += [(seq, column, canary) for (seq,) in rows]
    return found
