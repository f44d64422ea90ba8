"""Sealing Reflex state for Redis (issue 17): each pickled state is AES-256-GCM encrypted before it
is stored, with the Redis key it is stored under as associated data, so a blob copied to another
tab's key (or another state's) does not open.

The key is derived (HKDF-SHA256) from the blind-index key, which every worker and host already
shares and which never rotates: every worker derives the same key, and nothing new has to be
distributed or backed up. A state is short-lived (Reflex expires it), so losing the key only
starts the open tabs over.

Blob: MAGIC, a 16-byte salt, a 12-byte nonce, ciphertext and tag. Each blob is sealed under a
subkey HKDF(state key, salt); a process draws a new salt every SALT_USES seals, so no subkey
meets a random nonce anywhere near the 2^32 messages AES-GCM allows per key. Readers keep the
subkeys of the salts they met.
"""

from __future__ import annotations

import secrets
import threading
from collections import OrderedDict
from functools import lru_cache

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from custapp.security.keys import get_keys

MAGIC = b"cst1"
_SALT, _NONCE = 16, 12
_HEADER = len(MAGIC) + _SALT + _NONCE
SALT_USES = 1 << 20
_KNOWN_SALTS = 256  # subkeys a reader keeps: a few per worker between rotations


def _hkdf(secret: bytes, info: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=info).derive(secret)


@lru_cache(maxsize=2)
def _state_key(index_key: bytes) -> bytes:
    return _hkdf(index_key, b"custapp redis state v1")


class _Sealer:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._subkeys: OrderedDict[tuple[bytes, bytes], AESGCM] = OrderedDict()
        self._salt = b""
        self._uses = 0

    def _subkey(self, base: bytes, salt: bytes) -> AESGCM:
        with self._lock:
            aead = self._subkeys.get((base, salt))
            if aead is not None:
                self._subkeys.move_to_end((base, salt))
                return aead
        aead = AESGCM(_hkdf(base, b"custapp redis state salt " + salt))
        with self._lock:
            self._subkeys[(base, salt)] = aead
            while len(self._subkeys) > _KNOWN_SALTS:
                self._subkeys.popitem(last=False)
        return aead

    def _writing_salt(self) -> bytes:
        with self._lock:
            if not self._salt or self._uses >= SALT_USES:
                self._salt, self._uses = secrets.token_bytes(_SALT), 0
            self._uses += 1
            return self._salt

    def seal(self, key_name: str | bytes, payload: bytes) -> bytes:
        base = _state_key(get_keys().index)
        salt, nonce = self._writing_salt(), secrets.token_bytes(_NONCE)
        sealed = self._subkey(base, salt).encrypt(nonce, payload, _associated(key_name))
        return MAGIC + salt + nonce + sealed

    def open(self, key_name: str | bytes, blob: bytes) -> bytes | None:
        """The payload, or None when the blob is not one this instance sealed for this key
        (another key, another tab's key, an unsealed or altered value)."""
        if len(blob) < _HEADER + 16 or not blob.startswith(MAGIC):
            return None
        salt = blob[len(MAGIC) : len(MAGIC) + _SALT]
        nonce = blob[len(MAGIC) + _SALT : _HEADER]
        aead = self._subkey(_state_key(get_keys().index), salt)
        try:
            return aead.decrypt(nonce, blob[_HEADER:], _associated(key_name))
        except InvalidTag:
            return None


def _associated(key_name: str | bytes) -> bytes:
    name = key_name.encode() if isinstance(key_name, str) else key_name
    return b"custapp-state\x00" + name


_sealer = _Sealer()
seal = _sealer.seal
open_sealed = _sealer.open
