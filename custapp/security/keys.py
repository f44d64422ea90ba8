"""Where the keys live: CUSTAPP_* variables, or files in the key folder (CUSTAPP_KEYS_DIR, by
default the instance folder) made on first start.

Precedence, key by key: CUSTAPP_MASTER_KEY / CUSTAPP_INDEX_KEY / CUSTAPP_AUDIT_KEY (the key
file's content in a variable) over `<keys_dir>/master.keyring`, `index.key`, `audit.key`. The
key folder may be a mounted secret or a share every host reads (issue 17): several workers and
hosts then read one ring.

Workers pick up a rotation without a restart: `get_keys()` looks at its source (the variables'
values and the files' inode, mtime and size, a few `stat` calls) at most once every
REFRESH_SECONDS and re-reads it only when it changed; a wrapped key naming a master version the
ring lacks makes the caller re-read at once (`reload_for_version`, at most once every
REFRESH_SECONDS per process, whatever asks). The keys are never in the database or the
repository. Losing them loses the data.
"""

from __future__ import annotations

import base64
import os
import secrets
import tempfile
import threading
import time
from contextlib import suppress
from dataclasses import dataclass
from pathlib import Path

from custapp.security.crypto import KeyRing
from custapp.settings import Settings, get_settings, private_dir, private_file

MASTER_FILE = "master.keyring"
INDEX_FILE = "index.key"
AUDIT_FILE = "audit.key"
KEY_FILES = (MASTER_FILE, INDEX_FILE, AUDIT_FILE)
# how often a worker looks whether its key source changed (a rotation on another host)
REFRESH_SECONDS = 1.0


class KeySourceError(RuntimeError):
    """The key folder cannot give the keys (read-only without them, or the keys were left in
    the instance folder when CUSTAPP_KEYS_DIR was set); the message names files, never keys."""


@dataclass(frozen=True)
class Keys:
    master: KeyRing
    index: bytes  # blind index (HMAC) key, separate from the master ring
    audit: bytes  # audit chain HMAC key
    master_from_env: bool


def key_folder() -> Path:
    """CUSTAPP_KEYS_DIR, else the instance folder."""
    return get_settings().keys_dir


def _fsync_dir(folder: Path) -> None:
    descriptor = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def _write_private(path: Path, text: str) -> None:
    private_dir(path.parent)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(text)
        handle.flush()
        os.fsync(handle.fileno())


def _create_once(path: Path, text: str) -> None:
    """Create a key file whole or not at all: written under a private temporary name, then
    linked into place. Two workers (or hosts on a share) starting at once both end up reading
    the one that was linked first, never a half-written file."""
    try:
        private_dir(path.parent)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    except OSError as exc:
        raise KeySourceError(
            f"no {path.name} in {path.parent}, and the folder is not writable: put the key "
            "files there (a mounted secret) or set the CUSTAPP_*_KEY variables"
        ) from exc
    try:
        with os.fdopen(fd, "w") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        try:
            os.link(tmp, path)
        except FileExistsError:
            return  # another process made it first: use theirs
        except OSError:  # a file system without hard links: exclusive create, then write
            with suppress(FileExistsError):
                _write_private(path, text)
        _fsync_dir(path.parent)
    finally:
        os.unlink(tmp)


def _read_private(path: Path) -> str:
    """A key file's text; its folder and the file tightened first (0700, 0600), as an older
    install or a copied backup may have left them readable to others. A read-only folder (a
    mounted secret) is read as it is."""
    with suppress(OSError):
        private_dir(path.parent)
        private_file(path)
    return path.read_text()


def _secret_text() -> str:
    return base64.urlsafe_b64encode(secrets.token_bytes(32)).decode()


def master_key_path() -> Path:
    return key_folder() / MASTER_FILE


def _file_state(path: Path) -> tuple[int, int, int] | None:
    try:
        info = path.stat()
    except FileNotFoundError:
        return None
    return info.st_ino, info.st_mtime_ns, info.st_size


def _signature(settings: Settings) -> tuple:
    """What the keys were read from: the variables and the state of the files they do not
    override. Equal signatures: nothing to re-read."""
    folder = settings.keys_dir
    values = (settings.master_key, settings.index_key, settings.audit_key)
    files = tuple(
        None if value else _file_state(folder / name)
        for value, name in zip(values, KEY_FILES, strict=True)
    )
    return (str(folder), *values, *files)


def _files_missing(signature: tuple) -> bool:
    values, files = signature[1:4], signature[4:]
    return any(not value and state is None for value, state in zip(values, files, strict=True))


def _refuse_keys_left_behind(settings: Settings) -> None:
    """CUSTAPP_KEYS_DIR set to a folder without the key files while the instance folder holds
    them: making new keys there would leave every customer unreadable."""
    folder, instance = settings.keys_dir, settings.instance_dir
    if folder == instance:
        return
    values = (settings.master_key, settings.index_key, settings.audit_key)
    for value, name in zip(values, KEY_FILES, strict=True):
        if not value and not (folder / name).exists() and (instance / name).exists():
            raise KeySourceError(
                f"{name} is in {instance}, not in CUSTAPP_KEYS_DIR ({folder}): move the key "
                "files there (keep their modes), or unset CUSTAPP_KEYS_DIR"
            )


def _load(settings: Settings) -> Keys:
    _refuse_keys_left_behind(settings)
    folder = settings.keys_dir

    def text_of(value: str | None, name: str, make) -> str:  # noqa: ANN001 (text factory)
        if value:
            return value
        path = folder / name
        if not path.exists():
            _create_once(path, make())
        return _read_private(path)

    master = text_of(settings.master_key, MASTER_FILE, lambda: KeyRing.generate().serialize())
    index = text_of(settings.index_key, INDEX_FILE, _secret_text)
    audit = text_of(settings.audit_key, AUDIT_FILE, _secret_text)
    return Keys(
        master=KeyRing.parse(master),
        index=base64.urlsafe_b64decode(index.strip()),
        audit=base64.urlsafe_b64decode(audit.strip()),
        master_from_env=bool(settings.master_key),
    )


class _KeySource:
    """`get_keys()`: the keys, cached per process and re-read when their source changed."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._keys: Keys | None = None
        self._signature: tuple | None = None
        self._checked = 0.0
        self._forced = float("-inf")

    def __call__(self) -> Keys:
        keys = self._keys
        if keys is not None and time.monotonic() - self._checked < REFRESH_SECONDS:
            return keys  # the normal path: no disk at all
        with self._lock:
            return self._refresh(force=False)

    def _refresh(self, *, force: bool) -> Keys:
        settings = get_settings()
        signature = _signature(settings)  # taken first: a change while reading shows next time
        if force or self._keys is None or signature != self._signature:
            self._keys = _load(settings)
            if _files_missing(signature):  # made just now, on first start: what was read
                signature = _signature(settings)
            self._signature = signature
        self._checked = time.monotonic()
        return self._keys

    def reload_for_version(self, version: int) -> Keys:
        """A wrapped key names master `version`, which the ring lacks: a rotation elsewhere.
        Re-read the source now (the file's content, whatever its stat says: a share may cache
        attributes), at most once every REFRESH_SECONDS; within that, the cheap check only."""
        with self._lock:
            keys = self._keys
            if keys is not None and version in keys.master.versions:
                return keys  # another thread re-read it meanwhile
            now = time.monotonic()
            if now - self._forced < REFRESH_SECONDS:
                return self._refresh(force=False)
            self._forced = now
            return self._refresh(force=True)

    def cache_clear(self) -> None:
        """Forget the keys (tests switching instance folders; after writing key files)."""
        with self._lock:
            self._keys = self._signature = None
            self._forced = float("-inf")


get_keys = _KeySource()


def reload_for_version(version: int) -> Keys:
    return get_keys.reload_for_version(version)


def keys_present() -> bool:
    """Whether every key is there (a variable or a file in the key folder): get_keys() would
    otherwise make new ones."""
    settings = get_settings()
    values = (settings.master_key, settings.index_key, settings.audit_key)
    return all(
        value or (settings.keys_dir / name).exists()
        for value, name in zip(values, KEY_FILES, strict=True)
    )


def ring_managed_outside(keys: Keys) -> bool:
    """The ring comes from CUSTAPP_MASTER_KEY or a key folder this process cannot write (a
    mounted secret): a new version is added there by the operator, not by rotate-key."""
    if keys.master_from_env:
        return True
    folder = key_folder()
    return not os.access(folder, os.W_OK | os.X_OK)


def save_master_ring(ring: KeyRing) -> None:
    """Replace the key file atomically and durably (rotate-key adds a version, keeps the old
    ones); other workers see it within REFRESH_SECONDS, or at once when they meet the version."""
    path = master_key_path()
    tmp = path.with_suffix(".tmp")
    tmp.unlink(missing_ok=True)
    _write_private(tmp, ring.serialize())
    os.replace(tmp, path)
    _fsync_dir(path.parent)
    get_keys.cache_clear()


# --- key backup (`custapp keys export` / `keys restore`) ---------------------------------

_SCRYPT = {"n": 2**15, "r": 8, "p": 1}


def _derive(passphrase: str, salt: bytes) -> bytes:
    from cryptography.hazmat.primitives.kdf.scrypt import Scrypt

    return Scrypt(salt=salt, length=32, **_SCRYPT).derive(passphrase.encode())


def export_bundle(passphrase: str) -> bytes:
    """Every key, encrypted with a key derived from the passphrase (scrypt + AES-256-GCM)."""
    import json

    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    if len(passphrase) < 12:
        raise ValueError("keys.error.passphrase_short")
    keys = get_keys()
    payload = json.dumps(
        {
            "master": keys.master.serialize(),
            "index": base64.urlsafe_b64encode(keys.index).decode(),
            "audit": base64.urlsafe_b64encode(keys.audit).decode(),
        }
    ).encode()
    salt, nonce = secrets.token_bytes(16), secrets.token_bytes(12)
    sealed = AESGCM(_derive(passphrase, salt)).encrypt(nonce, payload, b"custapp-keys")
    return json.dumps(
        {
            "format": "custapp-keys-1",
            "kdf": {"name": "scrypt", **_SCRYPT},
            "salt": base64.b64encode(salt).decode(),
            "nonce": base64.b64encode(nonce).decode(),
            "ciphertext": base64.b64encode(sealed).decode(),
        }
    ).encode()


def restore_bundle(data: bytes, passphrase: str) -> None:
    """Write the keys of a backup into an instance folder that has none yet."""
    import json

    from cryptography.exceptions import InvalidTag
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    outer = json.loads(data)
    try:
        inner = AESGCM(_derive(passphrase, base64.b64decode(outer["salt"]))).decrypt(
            base64.b64decode(outer["nonce"]), base64.b64decode(outer["ciphertext"]), b"custapp-keys"
        )
    except InvalidTag:
        raise ValueError("keys.error.wrong_passphrase") from None
    keys = json.loads(inner)
    folder = key_folder()
    targets = {MASTER_FILE: keys["master"], INDEX_FILE: keys["index"], AUDIT_FILE: keys["audit"]}
    if any((folder / name).exists() for name in targets):
        raise FileExistsError("keys.error.keys_exist")
    for name, text in targets.items():
        _write_private(folder / name, text)
    get_keys.cache_clear()
