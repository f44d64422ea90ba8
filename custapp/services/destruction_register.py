"""销毁登记簿 (issue 16, AU-06): the destruction register, an append-only JSON-lines file beside
the key store, outside every database backup.

Each line is one destruction: time, candidate number, customer id, data key id, scope and
category, reason kind, rule or request number, proposer, appraiser and approver ids, method. No
personal value, ever. Each line carries `seq`, the previous line's MAC (`prev`) and its own
`mac` = HMAC-SHA256(register key, prev + canonical line), the register key derived from the
audit key: a changed, removed or reordered line breaks the chain from there on (`read` raises
RegisterDamaged). Appends are serialised by an exclusive file lock and fsynced before they
return. Copies go to the backup folder and into every key-store copy; a restore takes the
newest (`newest`) and re-applies it (services/destruction.reapply).
"""

from __future__ import annotations

import fcntl
import hmac
import json
import logging
import os
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from custapp.security.keys import get_keys
from custapp.settings import get_settings, private_dir, private_file

log = logging.getLogger(__name__)

FILE_NAME = "destruction-register.jsonl"
GENESIS = "0" * 64
_TAIL = 8192  # bytes read from the end to find the last line (a line is well under this)


class RegisterDamaged(ValueError):
    """A line of the register does not verify: it was changed, removed or reordered."""


def _folder() -> Path:
    settings = get_settings()
    folder = getattr(settings, "keystore_dir", None)
    return folder if folder is not None else settings.instance_dir / "keystore"


def path() -> Path:
    """The live register: `<keystore_dir>/destruction-register.jsonl`."""
    return _folder() / FILE_NAME


def _key() -> bytes:
    return hmac.new(get_keys().audit, b"destruction-register", "sha256").digest()


def _canonical(entry: dict) -> bytes:
    body = {k: v for k, v in entry.items() if k != "mac"}
    return json.dumps(body, sort_keys=True, ensure_ascii=False, separators=(",", ":")).encode()


def _mac(entry: dict) -> str:
    return hmac.new(_key(), entry["prev"].encode() + _canonical(entry), "sha256").hexdigest()


def _last_line(handle) -> bytes:  # noqa: ANN001 (a binary file open for reading)
    handle.seek(0, os.SEEK_END)
    size = handle.tell()
    handle.seek(max(0, size - _TAIL))
    lines = handle.read().splitlines()
    return lines[-1] if lines else b""


def _cut_torn_tail(handle) -> None:  # noqa: ANN001 (a binary file open for update, locked)
    """A crash in the middle of an append leaves a last piece without its newline: it was never
    a destruction that returned (append returns after the fsync), so it is cut before the next
    line is chained on. Logged without its content."""
    handle.seek(0, os.SEEK_END)
    size = end = handle.tell()
    if size == 0:
        return
    handle.seek(size - 1)
    if handle.read(1) == b"\n":
        return
    while end > 0:
        start = max(0, end - _TAIL)
        handle.seek(start)
        piece = handle.read(end - start)
        newline = piece.rfind(b"\n")
        if newline >= 0:
            end = start + newline + 1
            break
        end = start
    log.warning("destruction register: a torn last line (%d bytes) cut", size - end)
    handle.truncate(end)
    handle.flush()
    os.fsync(handle.fileno())


def _fsync_dir(folder: Path) -> None:
    descriptor = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def append(entry: dict) -> dict:
    """Append one destruction to the live register (durable when this returns) -> the line as
    written, with its seq and MACs. The entry must hold ids and codes only."""
    return append_many([entry])[0]


def append_many(entries: list[dict]) -> list[dict]:
    """Append several destructions under one lock and one fsync (a queue run's batch) -> the
    lines as written."""
    if not entries:
        return []
    target = path()
    private_dir(target.parent)
    fresh = not target.exists()
    private_file(target, create=True)
    written: list[dict] = []
    with open(target, "r+b") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            _cut_torn_tail(handle)
            last = _last_line(handle)
            previous = json.loads(last) if last else None
            chunk = []
            for entry in entries:
                line = dict(entry)
                line["seq"] = previous["seq"] + 1 if previous else 1
                line["prev"] = previous["mac"] if previous else GENESIS
                line["mac"] = _mac(line)
                text = json.dumps(line, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
                chunk.append(text.encode() + b"\n")
                written.append(line)
                previous = line
            handle.seek(0, os.SEEK_END)
            handle.write(b"".join(chunk))
            handle.flush()
            os.fsync(handle.fileno())
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
    if fresh:
        _fsync_dir(target.parent)
    return written


def verified_prefix(data: bytes) -> tuple[list[dict], int | None]:
    """The entries of a register's bytes that verify from its start, and the number of the
    first line that does not (None when every line verifies)."""
    entries: list[dict] = []
    prev = GENESIS
    for number, raw in enumerate(data.splitlines(), start=1):
        try:
            entry = json.loads(raw)
            ok = (
                isinstance(entry, dict)
                and entry.get("seq") == number
                and entry.get("prev") == prev
                and hmac.compare_digest(str(entry.get("mac", "")), _mac(entry))
            )
        except (ValueError, TypeError, AttributeError):
            ok = False
        if not ok:
            return entries, number
        entries.append(entry)
        prev = entry["mac"]
    return entries, None


def parse(data: bytes) -> list[dict]:
    """The entries of a register's bytes, each verified -> RegisterDamaged on the first that
    does not (a bad MAC, a broken chain, a line that is no JSON)."""
    entries, bad_line = verified_prefix(data)
    if bad_line is not None:
        raise RegisterDamaged(f"line {bad_line}")
    return entries


def read(register: Path | None = None) -> list[dict]:
    """Every entry of a register file (the live one by default), verified; [] when it does not
    exist yet (nothing was ever destroyed)."""
    register = Path(register) if register is not None else path()
    if not register.exists():
        return []
    return parse(register.read_bytes())


def head(register: Path | None = None) -> tuple[int, str]:
    """(how many entries, the last MAC) of a verified register; (0, GENESIS) when empty."""
    entries = read(register)
    return (len(entries), entries[-1]["mac"]) if entries else (0, GENESIS)


def contains(entries: list[dict], at: tuple[int, str]) -> bool:
    """Whether `entries` hold the head `at` = (count, mac) of an earlier state of the register
    (a backup's manifest): a register that does not is older than that backup, or another one."""
    count, mac = at
    if count == 0:
        return True
    return len(entries) >= count and entries[count - 1]["mac"] == mac


def copy_to(dest_dir: Path) -> Path:
    """Copy the live register (verified) into dest_dir, atomically, 0600 -> the copy's path. A
    copy already there with more entries is never replaced by a shorter register."""
    dest_dir = private_dir(Path(dest_dir))
    source = path()
    data = source.read_bytes() if source.exists() else b""
    entries = parse(data)
    target = dest_dir / FILE_NAME
    if target.exists():
        try:
            kept = read(target)
        except RegisterDamaged:
            kept = []
        if len(kept) > len(entries):
            raise RegisterDamaged("the live register is shorter than its copy")
    fd, scratch = tempfile.mkstemp(prefix=".register-", dir=dest_dir)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(scratch, 0o600)
        os.replace(scratch, target)
    except BaseException:
        Path(scratch).unlink(missing_ok=True)
        raise
    _fsync_dir(dest_dir)
    return target


def newest(paths: Iterable[Path]) -> Path:
    """Of the register files given, the verified one with the most entries (the first of equals).
    Missing files are skipped; damaged ones too, as long as one verifies (RegisterDamaged when
    none does; FileNotFoundError when none exists)."""
    best: tuple[int, Path] | None = None
    seen = False
    for candidate in paths:
        candidate = Path(candidate)
        if not candidate.is_file():
            continue
        seen = True
        try:
            count = len(read(candidate))
        except RegisterDamaged:
            continue
        if best is None or count > best[0]:
            best = (count, candidate)
    if best is None:
        if seen:
            raise RegisterDamaged("no register verifies")
        raise FileNotFoundError("no destruction register found")
    return best[1]


@dataclass(frozen=True)
class Merged:
    """What every register file found says, together (a restore's view of the destructions)."""

    entries: list[dict]  # the union by candidate number: each destruction once
    sources: dict[Path, list[dict]]  # each file's verified entries (its prefix when damaged)
    damaged: dict[Path, int]  # damaged file -> number of its first line that does not verify

    @property
    def longest(self) -> Path | None:
        """The file with the most verified entries (the first of equals)."""
        best: Path | None = None
        for found, entries in self.sources.items():
            if best is None or len(entries) > len(self.sources[best]):
                best = found
        return best


def _identity(entry: dict) -> object:
    return entry.get("candidate") or ("seq", entry.get("seq"), entry.get("mac"))


def merge(paths: Iterable[Path]) -> Merged:
    """Every register file given that exists, read as far as it verifies; the union of their
    entries by candidate number (the longest file's order first, then what only others hold).
    A damaged or torn file never makes an older copy win: its verified prefix counts, and it
    is named in `damaged` for the caller to refuse or accept."""
    sources: dict[Path, list[dict]] = {}
    damaged: dict[Path, int] = {}
    for candidate in paths:
        candidate = Path(candidate)
        if candidate in sources or not candidate.is_file():
            continue
        entries, bad_line = verified_prefix(candidate.read_bytes())
        sources[candidate] = entries
        if bad_line is not None:
            damaged[candidate] = bad_line
    merged = Merged([], sources, damaged)
    order = sorted(sources, key=lambda found: found != merged.longest)
    seen: set[object] = set()
    for found in order:
        for entry in sources[found]:
            if _identity(entry) not in seen:
                seen.add(_identity(entry))
                merged.entries.append(entry)
    return merged


def write_verified(dest: Path, entries: list[dict], extra: list[dict]) -> None:
    """Make `dest` the register of `entries` (a verified chain, written as it was) followed by
    `extra` (destructions only other copies held, chained on anew), atomically, 0600."""
    dest = Path(dest)
    private_dir(dest.parent)
    lines = [
        json.dumps(e, sort_keys=True, ensure_ascii=False, separators=(",", ":")).encode() + b"\n"
        for e in entries
    ]
    fd, scratch = tempfile.mkstemp(prefix=".register-", dir=dest.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(b"".join(lines))
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(scratch, 0o600)
        os.replace(scratch, dest)
    except BaseException:
        Path(scratch).unlink(missing_ok=True)
        raise
    _fsync_dir(dest.parent)
    if extra and dest == path():
        append_many(
            [{k: v for k, v in e.items() if k not in ("seq", "prev", "mac")} for e in extra]
        )
