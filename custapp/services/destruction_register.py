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
import os
import tempfile
from collections.abc import Iterable
from pathlib import Path

from custapp.security.keys import get_keys
from custapp.settings import get_settings, private_dir, private_file

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


def parse(data: bytes) -> list[dict]:
    """The entries of a register's bytes, each verified -> RegisterDamaged on the first that
    does not (a bad MAC, a broken chain, a line that is no JSON)."""
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
            raise RegisterDamaged(f"line {number}")
        entries.append(entry)
        prev = entry["mac"]
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
