"""Names sealed in backups (issue 16, acceptance 2): a backup holds no plaintext value of a
customer, names included, so a customer destroyed after the backup cannot be read from it once
the key-store copies older than the destruction have expired.

Names stay plain in the live database (the name search, every list and its sorting use them:
SPEC §2, level 0). In a backup each column of SEALED holds instead, per row that belongs to a
customer, `SEALED_PREFIX<data key id>:<ciphertext>`: the value encrypted under that customer's
own data key, bound to its table and column. Destroying the customer deletes the key, and with
it the name in every backup. Rows without a customer (staff accounts) and values that have no
key (a destroyed customer's tombstone name) stay as they are.

- SQLite: the online copy in the scratch folder is sealed in place (secure_delete on, no
  journal file) before it is encrypted into the backup.
- PostgreSQL: `pg_dump --format=plain` streams through `SealingReader`, which seals the sealed
  columns of the COPY rows of the sealed tables on the way into the encryption.
- Restore unseals with the key-store copy's keys (SQLite: in the scratch file before it is
  moved into place; PostgreSQL: `UnsealingWriter` between the decryption and psql). A value
  whose key is absent (destroyed, so skipped at the restore) becomes DESTROYED_NAME; the
  register's re-applied destruction anonymises the rest of that customer.
"""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from custapp.security import crypto
from custapp.security.keys import get_keys
from custapp.services.destruction_apply import DESTROYED_NAME

SEALED_PREFIX = "SEALED1:"

BATCH = 1000

# key id -> (master version, wrapped) for the ids found (keystore.get_many and key-store copies)
KeysOf = Callable[[list[int]], dict[int, tuple[int, str]]]
# customer ids -> {customer id: data key id} (a query on the database being backed up)
CustomerKeys = Callable[[list[int]], dict[int, int]]


@dataclass(frozen=True)
class Sealed:
    table: str
    customer_column: str  # whose data key seals the row
    columns: tuple[str, ...]


SEALED = (
    Sealed("customers", "id", ("name", "legal_representative")),
    Sealed("customer_contacts", "customer_id", ("name",)),
    Sealed("users", "customer_id", ("display_name",)),  # a member's account
)
_BY_TABLE = {s.table: s for s in SEALED}


def _context(table: str, column: str) -> str:
    return f"backup.{table}.{column}"


def _data_keys(keys_of: KeysOf, key_ids: Iterable[int]) -> dict[int, bytes]:
    wanted = sorted({int(i) for i in key_ids if i is not None})
    if not wanted:
        return {}
    ring = get_keys().master
    return {i: crypto.unwrap_data_key(ring, v, w) for i, (v, w) in keys_of(wanted).items()}


def seal_value(keys: dict[int, bytes], key_id: int | None, table: str, column: str, value):  # noqa: ANN001, ANN201
    """The value sealed under the key `key_id` (unchanged: NULL, empty, or no such key). A name
    that merely looks like a seal is sealed like any other."""
    if not value or key_id is None or key_id not in keys:
        return value
    token = crypto.encrypt_field(keys[key_id], str(value), context=_context(table, column))
    return f"{SEALED_PREFIX}{key_id}:{token}"


def _sealed_key(value) -> int | None:  # noqa: ANN001
    if not isinstance(value, str) or not value.startswith(SEALED_PREFIX):
        return None
    head = value[len(SEALED_PREFIX) :].split(":", 1)[0]
    return int(head) if head.isdigit() else None


def unseal_value(keys: dict[int, bytes], table: str, column: str, value):  # noqa: ANN001, ANN201
    """A sealed value opened; DESTROYED_NAME when its key is absent; anything else unchanged."""
    key_id = _sealed_key(value)
    if key_id is None:
        return value
    if key_id not in keys:
        return DESTROYED_NAME
    token = value[len(SEALED_PREFIX) + len(str(key_id)) + 1 :]
    return crypto.decrypt_field(keys[key_id], token, context=_context(table, column))


# --- SQLite: the scratch copy, in place --------------------------------------------------------


def _sqlite_rows(conn: sqlite3.Connection, spec: Sealed) -> Iterator[list[tuple]]:
    columns = ", ".join(f'"{c}"' for c in spec.columns)
    query = (
        f'SELECT id, "{spec.customer_column}", {columns} FROM "{spec.table}" '
        f'WHERE id > ? AND "{spec.customer_column}" IS NOT NULL ORDER BY id LIMIT {BATCH}'
    )
    after = 0
    while rows := conn.execute(query, (after,)).fetchall():
        yield rows
        after = rows[-1][0]


def _sqlite_customer_keys(conn: sqlite3.Connection) -> CustomerKeys:
    def customer_keys(ids: list[int]) -> dict[int, int]:
        marks = ",".join("?" * len(ids))
        query = f"SELECT id, data_key_id FROM customers WHERE id IN ({marks})"
        return dict(conn.execute(query, ids).fetchall()) if ids else {}

    return customer_keys


def _open_scratch(path: Path) -> sqlite3.Connection:
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA secure_delete = ON")  # a replaced value leaves zeros, not the name
    conn.execute("PRAGMA journal_mode = MEMORY")  # and no journal file holds it
    return conn


def _rewrite_sqlite(
    path: Path, change: Callable[[sqlite3.Connection, Sealed, list[tuple]], list[tuple]]
) -> int:
    """Every row of every sealed table through `change` (-> (new values..., id) for UPDATE),
    one transaction on one connection (a second one would find the file locked once the
    writer spills its cache). Returns the rows changed."""
    changed = 0
    conn = _open_scratch(path)
    try:
        conn.execute("BEGIN")
        for spec in SEALED:
            found = conn.execute(
                "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", (spec.table,)
            ).fetchone()
            if not found:
                continue
            assign = ", ".join(f'"{c}" = ?' for c in spec.columns)
            update = f'UPDATE "{spec.table}" SET {assign} WHERE id = ?'
            for rows in _sqlite_rows(conn, spec):
                updates = change(conn, spec, rows)
                conn.executemany(update, updates)
                changed += len(updates)
        conn.execute("COMMIT")
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise
    finally:
        conn.close()
    return changed


def seal_sqlite(path: Path, keys_of: KeysOf) -> int:
    """Seal the sealed columns of the SQLite file at `path` (a scratch copy) in place."""

    def change(conn: sqlite3.Connection, spec: Sealed, rows: list[tuple]) -> list[tuple]:
        key_of = _sqlite_customer_keys(conn)(sorted({r[1] for r in rows}))
        keys = _data_keys(keys_of, key_of.values())
        return [
            (
                *(
                    seal_value(keys, key_of.get(r[1]), spec.table, c, v)
                    for c, v in zip(spec.columns, r[2:], strict=True)
                ),
                r[0],
            )
            for r in rows
        ]

    return _rewrite_sqlite(path, change)


def unseal_sqlite(path: Path, keys_of: KeysOf) -> int:
    """Open the sealed columns of a restored SQLite file (before it is moved into place)."""

    def change(_conn: sqlite3.Connection, spec: Sealed, rows: list[tuple]) -> list[tuple]:
        keys = _data_keys(keys_of, (_sealed_key(v) for r in rows for v in r[2:]))
        return [
            (
                *(
                    unseal_value(keys, spec.table, c, v)
                    for c, v in zip(spec.columns, r[2:], strict=True)
                ),
                r[0],
            )
            for r in rows
        ]

    return _rewrite_sqlite(path, change)


# --- PostgreSQL: the COPY rows of a plain dump, streamed ---------------------------------------

_COPY = re.compile(rb"^COPY (?:[\w\"]+\.)?\"?(\w+)\"? \((.*)\) FROM stdin;\n$")
_END = b"\\.\n"
_DECODE = {"b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t", "v": "\v", "\\": "\\"}
_ENCODE = {
    "\\": "\\\\",
    "\b": "\\b",
    "\f": "\\f",
    "\n": "\\n",
    "\r": "\\r",
    "\t": "\\t",
    "\v": "\\v",
}
_ESCAPED = re.compile(r"\\(.)")
_SPECIAL = re.compile(r"[\\\b\f\n\r\t\v]")


def copy_decode(field: str) -> str | None:
    """One field of a COPY text row -> its value (None for \\N)."""
    if field == "\\N":
        return None
    return _ESCAPED.sub(lambda m: _DECODE.get(m.group(1), m.group(1)), field)


def copy_encode(value: str | None) -> str:
    if value is None:
        return "\\N"
    return _SPECIAL.sub(lambda m: _ENCODE[m.group(0)], value)


class _CopyFilter:
    """Line by line through a plain dump: the rows of a COPY block of a sealed table are
    collected BATCH at a time and changed by `change(spec, positions, rows)`; everything else
    passes unchanged."""

    def __init__(self, change: Callable[[Sealed, dict[str, int], list[list[str]]], None]) -> None:
        self.change = change
        self.spec: Sealed | None = None
        self.positions: dict[str, int] = {}
        self.rows: list[list[str]] = []

    def _flush(self) -> list[bytes]:
        if not self.rows:
            return []
        self.change(self.spec, self.positions, self.rows)  # type: ignore[arg-type]
        out = [("\t".join(r) + "\n").encode("utf-8") for r in self.rows]
        self.rows = []
        return out

    def line(self, line: bytes) -> list[bytes]:
        if self.spec is None:
            match = _COPY.match(line) if line.startswith(b"COPY ") else None
            if match and match.group(1).decode() in _BY_TABLE:
                names = [c.strip().strip('"') for c in match.group(2).decode().split(",")]
                self.spec = _BY_TABLE[match.group(1).decode()]
                self.positions = {n: i for i, n in enumerate(names)}
            return [line]
        if line == _END:
            out = [*self._flush(), line]
            self.spec = None
            return out
        self.rows.append(line.decode("utf-8").rstrip("\n").split("\t"))
        return self._flush() if len(self.rows) >= BATCH else []

    def finish(self) -> list[bytes]:
        return self._flush()


def _sealing_change(keys_of: KeysOf, customer_keys: CustomerKeys) -> Callable:
    def change(spec: Sealed, at: dict[str, int], rows: list[list[str]]) -> None:
        owner = at[spec.customer_column]
        owners = {int(r[owner]) for r in rows if r[owner] != "\\N"}
        key_of = customer_keys(sorted(owners)) if owners else {}
        keys = _data_keys(keys_of, key_of.values())
        for row in rows:
            key_id = key_of.get(int(row[owner])) if row[owner] != "\\N" else None
            for column in spec.columns:
                if column in at:
                    value = copy_decode(row[at[column]])
                    sealed = seal_value(keys, key_id, spec.table, column, value)
                    row[at[column]] = copy_encode(sealed)

    return change


def _unsealing_change(keys_of: KeysOf) -> Callable:
    def change(spec: Sealed, at: dict[str, int], rows: list[list[str]]) -> None:
        places = [at[c] for c in spec.columns if c in at]
        keys = _data_keys(keys_of, (_sealed_key(copy_decode(r[p])) for r in rows for p in places))
        for row in rows:
            for column in spec.columns:
                if column in at:
                    value = unseal_value(keys, spec.table, column, copy_decode(row[at[column]]))
                    row[at[column]] = copy_encode(value)

    return change


class SealingReader:
    """A plain dump (pg_dump's stdout) read through sealing: `read(n)` as a file's."""

    def __init__(self, src: BinaryIO, keys_of: KeysOf, customer_keys: CustomerKeys) -> None:
        self.src = src
        self.filter = _CopyFilter(_sealing_change(keys_of, customer_keys))
        self.buffer = bytearray()
        self.done = False

    def read(self, size: int = -1) -> bytes:
        while not self.done and (size < 0 or len(self.buffer) < size):
            line = self.src.readline()
            if not line:
                self.buffer += b"".join(self.filter.finish())
                self.done = True
                break
            self.buffer += b"".join(self.filter.line(line))
        size = len(self.buffer) if size < 0 else min(size, len(self.buffer))
        out = bytes(self.buffer[:size])
        del self.buffer[:size]
        return out


class UnsealingWriter:
    """The decrypted plain dump on its way to psql, unsealed: `write(data)` as a file's;
    `close()` writes what is left."""

    def __init__(self, dst: BinaryIO, keys_of: KeysOf) -> None:
        self.dst = dst
        self.filter = _CopyFilter(_unsealing_change(keys_of))
        self.partial = b""

    def write(self, data: bytes) -> int:
        lines = (self.partial + bytes(data)).split(b"\n")
        self.partial = lines.pop()
        self.dst.write(b"".join(out for line in lines for out in self.filter.line(line + b"\n")))
        return len(data)

    def flush(self) -> None:
        self.dst.flush()

    def close(self) -> None:
        tail = [*self.filter.line(self.partial)] if self.partial else []
        self.dst.write(b"".join([*tail, *self.filter.finish()]))
        self.partial = b""
