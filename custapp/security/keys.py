"""Where the keys live: CUSTAPP_* variables, or files in the instance folder made on first start.

The keys are never in the database or the repository. Losing them loses the data.
"""

from __future__ import annotations

import base64
import os
import secrets
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from custapp.security.crypto import KeyRing
from custapp.settings import get_settings, private_dir, private_file

MASTER_FILE = "master.keyring"
INDEX_FILE = "index.key"
AUDIT_FILE = "audit.key"


@dataclass(frozen=True)
class Keys:
    master: KeyRing
    index: bytes  # blind index (HMAC) key, separate from the master ring
    audit: bytes  # audit chain HMAC key
    master_from_env: bool


def _write_private(path: Path, text: str) -> None:
    private_dir(path.parent)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(text)


def _read_private(path: Path) -> str:
    """A key file's text; its folder and the file tightened first (0700, 0600), as an older
    install or a copied backup may have left them readable to others."""
    private_dir(path.parent)
    private_file(path)
    return path.read_text()


def _secret_file(path: Path) -> bytes:
    if not path.exists():
        _write_private(path, base64.urlsafe_b64encode(secrets.token_bytes(32)).decode())
    return base64.urlsafe_b64decode(_read_private(path).strip())


def master_key_path() -> Path:
    return get_settings().instance_dir / MASTER_FILE


@lru_cache(maxsize=1)
def get_keys() -> Keys:
    settings = get_settings()
    folder = settings.instance_dir
    if settings.master_key:
        ring, from_env = KeyRing.parse(settings.master_key), True
    else:
        path = folder / MASTER_FILE
        if not path.exists():
            _write_private(path, KeyRing.generate().serialize())
        ring, from_env = KeyRing.parse(_read_private(path)), False
    index = (
        base64.urlsafe_b64decode(settings.index_key)
        if settings.index_key
        else _secret_file(folder / INDEX_FILE)
    )
    audit = (
        base64.urlsafe_b64decode(settings.audit_key)
        if settings.audit_key
        else _secret_file(folder / AUDIT_FILE)
    )
    return Keys(master=ring, index=index, audit=audit, master_from_env=from_env)


def save_master_ring(ring: KeyRing) -> None:
    """Replace the instance key file atomically (rotate-key adds a version, keeps the old ones)."""
    path = master_key_path()
    tmp = path.with_suffix(".tmp")
    tmp.unlink(missing_ok=True)
    _write_private(tmp, ring.serialize())
    os.replace(tmp, path)
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
    folder = get_settings().instance_dir
    targets = {MASTER_FILE: keys["master"], INDEX_FILE: keys["index"], AUDIT_FILE: keys["audit"]}
    if any((folder / name).exists() for name in targets):
        raise FileExistsError("keys.error.keys_exist")
    for name, text in targets.items():
        _write_private(folder / name, text)
    get_keys.cache_clear()
