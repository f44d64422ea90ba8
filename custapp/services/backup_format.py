"""The encrypted backup file: streamed authenticated encryption (issue 16, BK).

A backup file is

    MAGIC | u32 header length | header (JSON, plain) | record 0 | ... | record n | trailer

Each record is `u32 length | AES-256-GCM ciphertext with its tag`. The data records carry the
plaintext (a SQLite file, or a `pg_dump` archive) in chunks of CHUNK_SIZE bytes, optionally
zlib-compressed first; after the last data record comes one manifest record (JSON), and the
file ends with the manifest record's offset and number (two u64) so `read_manifest` need not
read the data.

- The file key is HKDF-SHA256(backup key, the header's random salt): no two files share a key.
- Record i's nonce is the header's 4 random bytes followed by i (8 bytes, big-endian).
- Record i's AAD is SHA-256(MAGIC + header) | i | kind (0 data, 1 last data, 2 manifest): a
  changed byte, a changed header, records swapped, dropped or cut off, a file ending early or
  a record moved from another file all fail to authenticate, and are named by record number.
- The header names the key by a fingerprint (HMAC(key, "custapp-backup-key-id"), 8 bytes), so
  a wrong key is told apart from a damaged file before anything is decrypted.
- The manifest holds the plaintext's SHA-256 and size; decrypting checks them too.

`seal_bytes`/`open_bytes` encrypt small blobs (key-store copies) under the same key, with the
purpose bound in the key derivation and the AAD.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import secrets
import struct
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import BinaryIO

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

MAGIC = b"CUSTAPP-BACKUP\x01"
SEAL_MAGIC = b"CUSTAPP-SEALED\x01"
FORMAT_VERSION = 1
CHUNK_SIZE = 1 << 20
KEY_BYTES = 32
TAG_BYTES = 16
MAX_HEADER_BYTES = 64 * 1024
MAX_MANIFEST_BYTES = 16 * 1024 * 1024
_KEY_ID_MESSAGE = b"custapp-backup-key-id"
_STREAM_INFO = b"custapp-backup-stream-v1"
_SEAL_INFO = b"custapp-sealed-v1:"
_DATA, _LAST, _MANIFEST = 0, 1, 2
_U32 = struct.Struct(">I")
_U64 = struct.Struct(">Q")
_TRAILER = struct.Struct(">QQ")  # the manifest record's offset and number

Progress = Callable[[int, int], None]


class BackupFormatError(Exception):
    """A backup file or sealed blob that cannot be opened. `key` is the i18n message key."""

    key = "backup.error.not_a_backup"

    def params(self) -> dict:
        return {}


class NotABackup(BackupFormatError):
    """No backup file of this format (wrong magic, unreadable header, unknown version)."""


class WrongBackupKey(BackupFormatError):
    """The file was encrypted under another backup key."""

    key = "backup.error.wrong_key"


class BackupDamaged(BackupFormatError):
    """Record `chunk_index` failed to authenticate, or the file ends before it (`truncated`)."""

    def __init__(self, chunk_index: int, *, truncated: bool = False) -> None:
        self.chunk_index = chunk_index
        self.truncated = truncated
        self.key = "backup.error.truncated" if truncated else "backup.error.damaged"
        what = "missing (file cut short)" if truncated else "failed authentication"
        super().__init__(f"backup record {chunk_index} {what}")

    def params(self) -> dict:
        # people count from 1: "第 1 段" is the first record
        return {"chunk": self.chunk_index + 1}


def key_fingerprint(key: bytes) -> str:
    """16 hex digits naming a backup key without revealing it."""
    _check_key(key)
    return hmac.new(key, _KEY_ID_MESSAGE, hashlib.sha256).digest()[:8].hex()


def _check_key(key: bytes) -> None:
    if not isinstance(key, bytes) or len(key) != KEY_BYTES:
        raise ValueError(f"a backup key is {KEY_BYTES} bytes")


def _derive(key: bytes, salt: bytes, info: bytes) -> AESGCM:
    hkdf = HKDF(algorithm=hashes.SHA256(), length=KEY_BYTES, salt=salt, info=info)
    return AESGCM(hkdf.derive(key))


def _aad(header_hash: bytes, index: int, kind: int) -> bytes:
    return header_hash + _U64.pack(index) + bytes([kind])


def _nonce(prefix: bytes, index: int) -> bytes:
    return prefix + _U64.pack(index)


# --- writing --------------------------------------------------------------------------------


@dataclass
class StreamDigest:
    """What encrypt_stream wrote: the plaintext's SHA-256 (hex) and size, the data records.
    The rest lets append_manifest seal the manifest record into the same file."""

    sha256: str
    size: int
    chunks: int
    header: dict
    _aead: AESGCM = field(repr=False)
    _prefix: bytes = field(repr=False)
    _header_hash: bytes = field(repr=False)
    _offset: int = field(repr=False)


def _header_bytes(header: dict) -> bytes:
    return json.dumps(header, sort_keys=True, ensure_ascii=False, separators=(",", ":")).encode()


def encrypt_stream(
    src: BinaryIO,
    dst: BinaryIO,
    key: bytes,
    *,
    header: dict,
    progress: Progress | None = None,
    total: int = 0,
    compress: bool = False,
) -> StreamDigest:
    """Write the header and the data records of `src` to `dst` (a fresh file); returns the
    digest. The file is complete once `append_manifest` has added its manifest. `total` is
    the plaintext size when known (for progress); `compress` zlib-compresses first (level 1)."""
    _check_key(key)
    salt, prefix = secrets.token_bytes(16), secrets.token_bytes(4)
    full = {
        **header,
        "format": FORMAT_VERSION,
        "key_id": key_fingerprint(key),
        "salt": base64.b64encode(salt).decode(),
        "nonce_prefix": prefix.hex(),
        "chunk_size": CHUNK_SIZE,
        "compression": "zlib" if compress else "none",
    }
    head = _header_bytes(full)
    header_hash = hashlib.sha256(MAGIC + head).digest()
    aead = _derive(key, salt, _STREAM_INFO)
    offset = _write(dst, MAGIC + _U32.pack(len(head)) + head)
    digest, size, index = hashlib.sha256(), 0, 0
    packer = zlib.compressobj(1) if compress else None
    pending = b""  # the bytes of the next record not yet written
    while True:
        block = src.read(CHUNK_SIZE)
        if block:
            digest.update(block)
            size += len(block)
            pending += packer.compress(block) if packer else block
        else:
            pending += packer.flush() if packer else b""
        # keep at least one record's worth back until the end: the last one carries the flag
        while len(pending) > CHUNK_SIZE or (not block and pending):
            piece, pending = pending[:CHUNK_SIZE], pending[CHUNK_SIZE:]
            kind = _LAST if not block and not pending else _DATA
            offset += _write_record(dst, aead, prefix, header_hash, index, kind, piece)
            index += 1
        if progress:
            progress(size, max(total, size) if total else 0)
        if not block:
            break
    if index == 0 or kind != _LAST:  # nothing at all: one empty last record
        offset += _write_record(dst, aead, prefix, header_hash, index, _LAST, b"")
        index += 1
    return StreamDigest(
        sha256=digest.hexdigest(), size=size, chunks=index, header=full,
        _aead=aead, _prefix=prefix, _header_hash=header_hash, _offset=offset,
    )  # fmt: skip


def append_manifest(dst: BinaryIO, digest: StreamDigest, manifest: dict) -> dict:
    """Seal `manifest` (with the digest's sha256, size and record count added) as the file's
    manifest record, and end the file with its offset -> the manifest as sealed."""
    full = {**manifest, "sha256": digest.sha256, "size": digest.size, "chunks": digest.chunks}
    body = _header_bytes(full)
    written = _write_record(
        dst, digest._aead, digest._prefix, digest._header_hash, digest.chunks, _MANIFEST, body
    )
    dst.write(_TRAILER.pack(digest._offset, digest.chunks))
    digest._offset += written + _TRAILER.size
    return json.loads(body)


def _write(dst: BinaryIO, data: bytes) -> int:
    dst.write(data)
    return len(data)


def _write_record(
    dst: BinaryIO, aead: AESGCM, prefix: bytes, header_hash: bytes, index: int, kind: int,
    plain: bytes,
) -> int:  # fmt: skip
    sealed = aead.encrypt(_nonce(prefix, index), plain, _aad(header_hash, index, kind))
    return _write(dst, _U32.pack(len(sealed)) + sealed)


# --- reading --------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Opened:
    header: dict
    aead: AESGCM
    prefix: bytes
    header_hash: bytes
    data_offset: int


def read_header(src: BinaryIO) -> dict:
    """The plain header (unauthenticated until a record opens): format, key_id, created_at..."""
    return _read_header(src)[0]


def _read_header(src: BinaryIO) -> tuple[dict, bytes]:
    start = src.read(len(MAGIC) + _U32.size)
    if len(start) < len(MAGIC) + _U32.size or not start.startswith(MAGIC):
        raise NotABackup("not a custapp backup file")
    (length,) = _U32.unpack(start[len(MAGIC) :])
    if length > MAX_HEADER_BYTES:
        raise NotABackup("backup header too long")
    head = src.read(length)
    try:
        header = json.loads(head)
        if not isinstance(header, dict) or header.get("format") != FORMAT_VERSION:
            raise ValueError("format")
        int(header["chunk_size"])
        base64.b64decode(header["salt"], validate=True)
        bytes.fromhex(header["nonce_prefix"])
    except (ValueError, KeyError, TypeError) as exc:
        raise NotABackup("unreadable backup header") from exc
    return header, head


def _open(src: BinaryIO, key: bytes) -> _Opened:
    _check_key(key)
    header, head = _read_header(src)
    if not hmac.compare_digest(str(header.get("key_id", "")), key_fingerprint(key)):
        raise WrongBackupKey("the backup was made with another backup key")
    return _Opened(
        header=header,
        aead=_derive(key, base64.b64decode(header["salt"]), _STREAM_INFO),
        prefix=bytes.fromhex(header["nonce_prefix"]),
        header_hash=hashlib.sha256(MAGIC + head).digest(),
        data_offset=len(MAGIC) + _U32.size + len(head),
    )


def _read_record(src: BinaryIO, index: int, limit: int) -> bytes:
    size = src.read(_U32.size)
    if len(size) < _U32.size:
        raise BackupDamaged(index, truncated=True)
    (length,) = _U32.unpack(size)
    if not TAG_BYTES <= length <= limit + TAG_BYTES:
        raise BackupDamaged(index)
    sealed = src.read(length)
    if len(sealed) < length:
        raise BackupDamaged(index, truncated=True)
    return sealed


def _decrypt(opened: _Opened, sealed: bytes, index: int, kind: int) -> bytes:
    try:
        return opened.aead.decrypt(
            _nonce(opened.prefix, index), sealed, _aad(opened.header_hash, index, kind)
        )
    except InvalidTag:
        raise BackupDamaged(index) from None


def decrypt_stream(
    src: BinaryIO, dst: BinaryIO, key: bytes, progress: Progress | None = None, *, total: int = 0
) -> dict:
    """Decrypt every record of `src` into `dst`, checking each before its bytes are written,
    then the manifest record and the plaintext's SHA-256 and size against it; returns the
    header. Raises WrongBackupKey, NotABackup or BackupDamaged(record) (`dst` may then hold
    a checked prefix: the caller discards it). `total`: the file's size, for progress."""
    opened = _open(src, key)
    unpacker = zlib.decompressobj() if opened.header["compression"] == "zlib" else None
    limit = int(opened.header["chunk_size"])
    digest, size, index, read = hashlib.sha256(), 0, 0, opened.data_offset
    while True:
        sealed = _read_record(src, index, limit)
        read += _U32.size + len(sealed)
        try:  # a record is either the last data record or another one
            plain, last = _decrypt(opened, sealed, index, _DATA), False
        except BackupDamaged:
            plain, last = _decrypt(opened, sealed, index, _LAST), True
        if unpacker is not None:
            try:
                plain = unpacker.decompress(plain) + (unpacker.flush() if last else b"")
            except zlib.error:  # authentic but not what we wrote: a bug, named as damage
                raise BackupDamaged(index) from None
        digest.update(plain)
        size += len(plain)
        dst.write(plain)
        if progress:
            progress(read, total)
        index += 1
        if last:
            break
    manifest = _manifest_record(src, opened, index)
    if manifest.get("sha256") != digest.hexdigest() or manifest.get("size") != size:
        raise BackupDamaged(index)
    tail = src.read(_TRAILER.size + 1)
    if len(tail) != _TRAILER.size:
        raise BackupDamaged(index, truncated=len(tail) < _TRAILER.size)
    if progress:
        progress(total or read, total)
    return opened.header


class _Discard:
    def write(self, data: bytes) -> int:
        return len(data)


def first_damage(src: BinaryIO, key: bytes) -> BackupFormatError | None:
    """Read the whole file from its start: the first problem (a damaged or missing record by
    number, a wrong key), or None. Names what read_manifest, reading from the end, cannot."""
    try:
        decrypt_stream(src, _Discard(), key)  # type: ignore[arg-type]
    except BackupFormatError as exc:
        return exc
    return None


def _manifest_record(src: BinaryIO, opened: _Opened, index: int) -> dict:
    sealed = _read_record(src, index, MAX_MANIFEST_BYTES)
    manifest = json.loads(_decrypt(opened, sealed, index, _MANIFEST))
    if manifest.get("chunks") != index:  # a manifest sealed for more or fewer records
        raise BackupDamaged(index)
    return manifest


def read_manifest(src: BinaryIO, key: bytes) -> dict:
    """The manifest of a backup file (seekable `src`), read from the file's end without
    decrypting the data. It is authentic; that the data records match it is decrypt_stream's
    check (verify)."""
    opened = _open(src, key)
    end = src.seek(0, os.SEEK_END)
    if end < opened.data_offset + _TRAILER.size:
        raise BackupDamaged(0, truncated=True)
    src.seek(end - _TRAILER.size)
    offset, index = _TRAILER.unpack(src.read(_TRAILER.size))
    if not opened.data_offset <= offset < end - _TRAILER.size:
        raise BackupDamaged(index, truncated=True)
    src.seek(offset)
    # the trailer is not authenticated, the manifest record's AAD checks its number
    return _manifest_record(src, opened, index)


# --- small blobs ----------------------------------------------------------------------------


def seal_bytes(data: bytes, key: bytes, *, purpose: str) -> bytes:
    """`data` encrypted under the backup key for one `purpose` (e.g. "keystore-copy"):
    SEAL_MAGIC | key fingerprint (8) | salt (16) | nonce (12) | ciphertext."""
    _check_key(key)
    key_id = bytes.fromhex(key_fingerprint(key))
    salt, nonce = secrets.token_bytes(16), secrets.token_bytes(12)
    aead = _derive(key, salt, _SEAL_INFO + purpose.encode())
    sealed = aead.encrypt(nonce, data, SEAL_MAGIC + key_id + purpose.encode())
    return SEAL_MAGIC + key_id + salt + nonce + sealed


def open_bytes(blob: bytes, key: bytes, *, purpose: str) -> bytes:
    """Inverse of seal_bytes. Raises NotABackup, WrongBackupKey or BackupDamaged(0)."""
    _check_key(key)
    at = len(SEAL_MAGIC)
    if not isinstance(blob, bytes) or not blob.startswith(SEAL_MAGIC):
        raise NotABackup("not a sealed custapp blob")
    if len(blob) < at + 8 + 16 + 12 + TAG_BYTES:
        raise BackupDamaged(0, truncated=True)
    key_id, salt, nonce = blob[at : at + 8], blob[at + 8 : at + 24], blob[at + 24 : at + 36]
    if not hmac.compare_digest(key_id.hex(), key_fingerprint(key)):
        raise WrongBackupKey("sealed with another backup key")
    aead = _derive(key, salt, _SEAL_INFO + purpose.encode())
    try:
        return aead.decrypt(nonce, blob[at + 36 :], SEAL_MAGIC + key_id + purpose.encode())
    except InvalidTag:
        raise BackupDamaged(0) from None
