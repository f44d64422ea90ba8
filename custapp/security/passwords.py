"""Password hashing (bcrypt in a bounded pool), password rules and generated secrets."""

from __future__ import annotations

import base64
import hashlib
import secrets
import string
import threading
from collections.abc import Iterator
from contextlib import contextmanager

import bcrypt

MIN_LENGTH = 10
DEFAULT_POOL_SIZE = 4

# Temporary passwords are read out or handed over at the front desk: no 0/O, 1/l/I look-alikes.
_TEMP_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnpqrstuvwxyz23456789"
_TEMP_LENGTH = 14

# Lower-case; compared case-insensitively. Kept as text so the list stays readable.
_COMMON_PASSWORDS_TEXT = """
    123456 123456789 12345678 1234567890 12345 1234567 111111 000000 123123 654321
    666666 888888 112233 123321 147258369 987654321 1234554321 0123456789 11111111 88888888
    1111111111 0000000000 1122334455 1357924680 1314520 5201314 5211314 woaini woaini1314 woaini520
    iloveyou iloveyou12 iloveyou123 password password1 password12 password123 password1234
    passw0rd p@ssw0rd p@ssword123 passw0rd123 qwerty qwerty123 qwerty1234 qwertyuiop
    qwertyuiop123 qwe123456 qweasdzxc qweasdzxc123 1qaz2wsx 1qaz2wsx3edc zaq12wsx asdfghjkl
    asdfghjkl123 zxcvbnm zxcvbnm123 abc123 abc123456 abcd1234 abcd123456 abcdefg123 a123456
    a123456789 a1234567890 aa123456 aa12345678 aaa123456 q1w2e3r4 q1w2e3r4t5 admin admin123
    admin12345 admin123456 administrator root123456 test123456 welcome welcome123 welcome1234
    letmein letmein123 changeme changeme123 monkey123 dragon123 sunshine123 princess123
    football123 baseball123 superman123 iloveyou1314 zhang123456 wang123456 li123456
    liu123456 chen123456 huang123456 zhao123456 12345678910 123456789a 123456789q 123456aa
    888888888 666666666 11223344 qq123456 qq123456789 wo123456 000000000 asd123456 zxc123456
"""
_COMMON_PASSWORDS = frozenset(_COMMON_PASSWORDS_TEXT.split())


_semaphore = threading.BoundedSemaphore(DEFAULT_POOL_SIZE)


def configure_pool(max_workers: int) -> None:
    """Allow at most ``max_workers`` bcrypt computations at once (SPEC §8: a login flood must
    not take every worker thread and CPU)."""
    global _semaphore
    if max_workers < 1:
        raise ValueError("max_workers must be at least 1")
    _semaphore = threading.BoundedSemaphore(max_workers)


@contextmanager
def _pool_slot() -> Iterator[None]:
    # Hold a local reference: if configure_pool swaps the semaphore meanwhile, this call still
    # releases the one it acquired.
    semaphore = _semaphore
    with semaphore:
        yield


def _prepare(password: str) -> bytes:
    # bcrypt uses only the first 72 bytes (bcrypt 5 raises beyond that) and stops at NUL bytes.
    # Every password, not only long ones, becomes base64(sha256(utf-8)): 44 NUL-free bytes, so
    # the whole password always counts and there is one scheme, whatever the length.
    return base64.b64encode(hashlib.sha256(password.encode("utf-8")).digest())


def hash_password(password: str, *, rounds: int) -> str:
    """bcrypt hash at cost ``rounds`` (tests use 4)."""
    prepared = _prepare(password)
    salt = bcrypt.gensalt(rounds)
    with _pool_slot():
        return bcrypt.hashpw(prepared, salt).decode("ascii")


def verify_password(password: str, hashed: str) -> bool:
    """True if ``password`` matches; False, never an exception, for a malformed hash."""
    try:
        prepared = _prepare(password)
        hashed_bytes = hashed.encode("ascii")
    except (AttributeError, UnicodeError):
        return False
    with _pool_slot():
        try:
            return bcrypt.checkpw(prepared, hashed_bytes)
        except ValueError:
            return False


def password_problems(password: str, *, username: str) -> list[str]:
    """i18n keys of every rule ``password`` breaks; empty when acceptable."""
    problems = []
    folded, name = password.casefold(), username.strip().casefold()
    if len(password) < MIN_LENGTH:
        problems.append("password.too_short")
    if name and (folded == name or (len(name) >= 4 and name in folded)):
        problems.append("password.is_username")
    if folded in _COMMON_PASSWORDS:
        problems.append("password.too_common")
    classes = (
        any(ch.isalpha() for ch in password),
        any(ch.isdigit() for ch in password),
        any(not ch.isalnum() for ch in password),
    )
    if sum(classes) < 2:
        problems.append("password.too_simple")
    return problems


def generate_temporary_password() -> str:
    """14 random letters and digits that pass password_problems."""
    while True:
        candidate = "".join(secrets.choice(_TEMP_ALPHABET) for _ in range(_TEMP_LENGTH))
        if not password_problems(candidate, username=""):
            return candidate


def generate_one_time_code() -> str:
    """8 random digits for a member's front-desk reset (SPEC §8 "Logins")."""
    return "".join(secrets.choice(string.digits) for _ in range(8))
