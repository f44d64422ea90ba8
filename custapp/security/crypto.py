"""Field encryption, the master key ring, data keys and keyed hashes.

See DESIGN "Security building blocks" and SPEC §8 "What is encrypted" / "Keys". Pure functions:
no database, no settings; callers pass the keys in.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import re
import secrets
import unicodedata
from dataclasses import dataclass
from functools import lru_cache

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

KEY_BYTES = 32
NONCE_BYTES = 12
FIELD_SCHEME = 1
MIN_HMAC_KEY_BYTES = 16

# Fixed AAD prefixes keep the three uses of AES-GCM apart: a wrapped data key can never be fed
# to decrypt_field and a file blob never to decrypt_field, even under the same key.
_DATA_KEY_AAD = b"custapp-data-key"
_FIELD_AAD = b"custapp-field\x00"
_BYTES_AAD = b"custapp-bytes\x00"

_B64_RE = re.compile(r"[A-Za-z0-9_-]*={0,2}")
_RING_SEPARATORS = re.compile(r"[,;]")


class KeyRingError(ValueError):
    """The master key ring text or a requested key version is unusable."""


class DecryptionError(Exception):
    """A ciphertext could not be authenticated or parsed; never carries key or plaintext."""


def _b64encode(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def _b64decode(text: str) -> bytes:
    """Strict urlsafe base64 with optional padding; raises ValueError on anything else."""
    if not _B64_RE.fullmatch(text):
        raise ValueError("not urlsafe base64")
    stripped = text.rstrip("=")
    try:
        return base64.urlsafe_b64decode(stripped + "=" * (-len(stripped) % 4))
    except binascii.Error:
        raise ValueError("not urlsafe base64") from None


@dataclass(frozen=True, repr=False)
class KeyRing:
    """Master key versions; new data keys are wrapped with the highest version."""

    versions: dict[int, bytes]

    def __post_init__(self) -> None:
        if not self.versions:
            raise KeyRingError("key ring is empty")
        for version, key in self.versions.items():
            if isinstance(version, bool) or not isinstance(version, int) or version < 1:
                raise KeyRingError(f"key version must be a positive integer, got {version!r}")
            if not isinstance(key, bytes) or len(key) != KEY_BYTES:
                raise KeyRingError(f"key version {version} must be {KEY_BYTES} bytes")
        # A private copy so the caller's dict cannot change a "frozen" ring afterwards.
        object.__setattr__(self, "versions", dict(self.versions))

    def __repr__(self) -> str:
        # Never print key material (logs, tracebacks).
        return f"KeyRing(versions={sorted(self.versions)})"

    @property
    def current_version(self) -> int:
        return max(self.versions)

    def key(self, version: int) -> bytes:
        try:
            return self.versions[version]
        except (KeyError, TypeError):
            raise KeyRingError(f"no master key with version {version!r}") from None

    @classmethod
    def parse(cls, text: str) -> KeyRing:
        """Parse ``"1:<b64>,2:<b64>"`` (``,`` or ``;`` separated, whitespace tolerated)."""
        if not isinstance(text, str) or not text.strip():
            raise KeyRingError("key ring text is empty")
        versions: dict[int, bytes] = {}
        for position, entry in enumerate(_RING_SEPARATORS.split(text), start=1):
            entry = entry.strip()
            if not entry:
                continue
            # Messages name the entry by position, never echo it: it is key material.
            label, sep, encoded = entry.partition(":")
            label = label.strip()
            if not sep or not label.isascii() or not label.isdigit():
                raise KeyRingError(f"key ring entry {position}: expected '<version>:<base64 key>'")
            version = int(label)
            if version < 1:
                raise KeyRingError(f"key ring entry {position}: version must be 1 or more")
            if version in versions:
                raise KeyRingError(f"key ring entry {position}: duplicate version {version}")
            try:
                key = _b64decode(encoded.strip())
            except ValueError:
                raise KeyRingError(
                    f"key ring entry {position} (version {version}): key is not urlsafe base64"
                ) from None
            if len(key) != KEY_BYTES:
                raise KeyRingError(
                    f"key ring entry {position} (version {version}): key must decode to "
                    f"{KEY_BYTES} bytes, got {len(key)}"
                )
            versions[version] = key
        if not versions:
            raise KeyRingError("key ring text holds no keys")
        return cls(versions)

    @classmethod
    def generate(cls, version: int = 1) -> KeyRing:
        return cls({version: secrets.token_bytes(KEY_BYTES)})

    def with_new_version(self) -> KeyRing:
        """A ring with a fresh random key as version current+1 (key rotation)."""
        return KeyRing({**self.versions, self.current_version + 1: secrets.token_bytes(KEY_BYTES)})

    def serialize(self) -> str:
        return ",".join(
            f"{version}:{base64.urlsafe_b64encode(self.versions[version]).decode('ascii')}"
            for version in sorted(self.versions)
        )


@lru_cache(maxsize=4096)
def _aead(key: bytes) -> AESGCM:
    # Building AESGCM validates and expands the key; caching it per key keeps a field
    # round-trip in the low microseconds when a page decrypts many fields of one customer.
    if len(key) != KEY_BYTES:
        raise ValueError(f"AES-256 key must be {KEY_BYTES} bytes")
    return AESGCM(key)


def generate_data_key() -> bytes:
    return secrets.token_bytes(KEY_BYTES)


def wrap_data_key(ring: KeyRing, data_key: bytes) -> tuple[int, str]:
    """Encrypt a customer's data key with the ring's current version -> (version, wrapped)."""
    if len(data_key) != KEY_BYTES:
        raise ValueError(f"data key must be {KEY_BYTES} bytes")
    version = ring.current_version
    nonce = secrets.token_bytes(NONCE_BYTES)
    ciphertext = _aead(ring.key(version)).encrypt(nonce, data_key, _DATA_KEY_AAD)
    return version, f"{_b64encode(nonce)}.{_b64encode(ciphertext)}"


def unwrap_data_key(ring: KeyRing, version: int, wrapped: str) -> bytes:
    """Inverse of wrap_data_key; KeyRingError if the ring lacks ``version``."""
    key = ring.key(version)
    try:
        nonce_text, ct_text = wrapped.split(".")
        nonce, ciphertext = _b64decode(nonce_text), _b64decode(ct_text)
    except (ValueError, AttributeError):
        raise DecryptionError("wrapped data key is malformed") from None
    data_key = _open(key, nonce, ciphertext, _DATA_KEY_AAD, "wrapped data key")
    if len(data_key) != KEY_BYTES:
        raise DecryptionError("wrapped data key has the wrong length")
    return data_key


def _open(key: bytes, nonce: bytes, ciphertext: bytes, aad: bytes, what: str) -> bytes:
    if len(nonce) != NONCE_BYTES:
        raise DecryptionError(f"{what} is malformed")
    try:
        return _aead(key).decrypt(nonce, ciphertext, aad)
    except InvalidTag:
        raise DecryptionError(
            f"{what} failed authentication (wrong key, wrong context or tampered data)"
        ) from None


def encrypt_field(data_key: bytes, plaintext: str, *, context: str = "") -> str:
    """AES-256-GCM -> ``"1:<nonce>:<ciphertext>"``; ``context`` (e.g. "customer.phone") is
    bound as AAD so a ciphertext copied into another column fails to decrypt."""
    nonce = secrets.token_bytes(NONCE_BYTES)
    ciphertext = _aead(data_key).encrypt(
        nonce, plaintext.encode("utf-8"), _FIELD_AAD + context.encode("utf-8")
    )
    return f"{FIELD_SCHEME}:{_b64encode(nonce)}:{_b64encode(ciphertext)}"


def decrypt_field(data_key: bytes, token: str, *, context: str = "") -> str:
    try:
        scheme, nonce_text, ct_text = token.split(":")
        if scheme != str(FIELD_SCHEME):
            raise ValueError("unknown scheme")
        nonce, ciphertext = _b64decode(nonce_text), _b64decode(ct_text)
    except (ValueError, AttributeError):
        raise DecryptionError("encrypted field is malformed") from None
    plaintext = _open(
        data_key, nonce, ciphertext, _FIELD_AAD + context.encode("utf-8"), "encrypted field"
    )
    try:
        return plaintext.decode("utf-8")
    except UnicodeDecodeError:
        raise DecryptionError("encrypted field is not UTF-8 text") from None


def encrypt_bytes(data_key: bytes, data: bytes, *, context: str = "") -> bytes:
    """For files: 1-byte scheme version + 12-byte nonce + ciphertext (with tag)."""
    nonce = secrets.token_bytes(NONCE_BYTES)
    ciphertext = _aead(data_key).encrypt(nonce, data, _BYTES_AAD + context.encode("utf-8"))
    return bytes([FIELD_SCHEME]) + nonce + ciphertext


def decrypt_bytes(data_key: bytes, blob: bytes, *, context: str = "") -> bytes:
    if not isinstance(blob, bytes | bytearray | memoryview):
        raise DecryptionError("encrypted blob is malformed")
    blob = bytes(blob)
    if len(blob) < 1 + NONCE_BYTES or blob[0] != FIELD_SCHEME:
        raise DecryptionError("encrypted blob is malformed")
    nonce, ciphertext = blob[1 : 1 + NONCE_BYTES], blob[1 + NONCE_BYTES :]
    return _open(
        data_key, nonce, ciphertext, _BYTES_AAD + context.encode("utf-8"), "encrypted blob"
    )


def normalize_for_index(kind: str, value: str) -> str:
    """The canonical form a blind index is computed over, so equal values match however typed.

    NFKC first folds full-width digits and letters from Chinese input methods to ASCII.
    """
    text = unicodedata.normalize("NFKC", value)
    if kind == "phone":
        digits = "".join(ch for ch in text if "0" <= ch <= "9")
        if len(digits) == 15 and digits.startswith("0086"):
            return digits[4:]
        if len(digits) == 13 and digits.startswith("86"):
            return digits[2:]
        return digits
    if kind == "id_number":
        return "".join(text.split()).upper()
    if kind == "email":
        return text.strip().lower()
    return text.strip().casefold()


def blind_index(key: bytes, kind: str, value: str) -> str:
    """HMAC-SHA256 hex of ``kind + "\\x00" + normalized value``: exact lookup without plaintext.

    ``kind`` is part of the MAC so equal strings of different kinds never share an index.
    """
    message = f"{kind}\x00{normalize_for_index(kind, value)}".encode()
    return hmac.new(_hmac_key(key), message, hashlib.sha256).hexdigest()


def keyed_hash(key: bytes, value: str) -> str:
    """HMAC-SHA256 hex, e.g. of an audited search term (SPEC §8: store the hash, not the term)."""
    return hmac.new(_hmac_key(key), value.encode("utf-8"), hashlib.sha256).hexdigest()


def _hmac_key(key: bytes) -> bytes:
    # HMAC accepts any key, even b""; a missing or truncated setting must fail loudly instead
    # of producing hashes that anyone could recompute.
    if len(key) < MIN_HMAC_KEY_BYTES:
        raise ValueError(f"HMAC key must be at least {MIN_HMAC_KEY_BYTES} bytes")
    return key
