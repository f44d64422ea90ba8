import threading
import time

import pytest

from custapp.security import passwords
from custapp.security.passwords import (
    configure_pool,
    generate_one_time_code,
    generate_temporary_password,
    hash_password,
    password_problems,
    verify_password,
)


@pytest.fixture(autouse=True)
def _default_pool():
    yield
    configure_pool(passwords.DEFAULT_POOL_SIZE)


def test_hash_and_verify():
    hashed = hash_password("correct horse 9", rounds=4)
    assert hashed.startswith("$2b$04$")
    assert verify_password("correct horse 9", hashed)
    assert not verify_password("correct horse 8", hashed)
    assert hash_password("correct horse 9", rounds=4) != hashed  # salted


def test_long_passwords_are_hashed_whole():
    base = "長" * 40  # 120 UTF-8 bytes: past bcrypt's 72-byte limit
    hashed = hash_password(base + "a", rounds=4)
    assert verify_password(base + "a", hashed)
    assert not verify_password(base + "b", hashed)


def test_password_with_nul_byte_is_hashed_whole():
    hashed = hash_password("abc\x00def123", rounds=4)
    assert verify_password("abc\x00def123", hashed)
    assert not verify_password("abc\x00xyz123", hashed)


@pytest.mark.parametrize(
    "hashed", ["", "plain", "$2b$04$short", "$2b$99$" + "a" * 53, "$2b$04$" + "é" * 53, None, 42]
)
def test_verify_never_raises_on_malformed_hash(hashed):
    assert verify_password("whatever123", hashed) is False


def test_configure_pool_rejects_zero():
    with pytest.raises(ValueError):
        configure_pool(0)


def test_pool_bounds_concurrent_bcrypt_calls(monkeypatch):
    running = 0
    peak = 0
    lock = threading.Lock()
    real_hashpw = passwords.bcrypt.hashpw

    def slow_hashpw(password, salt):
        nonlocal running, peak
        with lock:
            running += 1
            peak = max(peak, running)
        time.sleep(0.02)
        with lock:
            running -= 1
        return real_hashpw(password, salt)

    monkeypatch.setattr(passwords.bcrypt, "hashpw", slow_hashpw)
    configure_pool(2)
    threads = [
        threading.Thread(target=hash_password, args=("pw-123456789",), kwargs={"rounds": 4})
        for _ in range(8)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert peak == 2


@pytest.mark.parametrize(
    ("password", "username", "problems"),
    [
        ("Tr0ub4dor&3x", "zhangsan", []),
        ("长城长城长城长城长城1", "zhangsan", []),
        ("short1", "zhangsan", ["password.too_short"]),
        (
            "ZhangSan",
            "zhangsan",
            ["password.too_short", "password.is_username", "password.too_simple"],
        ),
        ("zhangsan2024!", "ZhangSan", ["password.is_username"]),
        ("xyz1234567890", "xyz", []),
        ("PassWord123", "li", ["password.too_common"]),
        ("qwertyuiop", "li", ["password.too_common", "password.too_simple"]),
        ("woaini1314", "li", ["password.too_common"]),
        ("zhang123456", "li", ["password.too_common"]),
        ("abcdefghijkl", "li", ["password.too_simple"]),
        ("12345678901234", "li", ["password.too_simple"]),
        ("!!!!!!!!!!!!", "li", ["password.too_simple"]),
        ("hello-world-", "li", []),
    ],
)
def test_password_problems(password, username, problems):
    assert password_problems(password, username=username) == problems


def test_temporary_passwords_pass_the_rules_and_differ():
    generated = {generate_temporary_password() for _ in range(50)}
    assert len(generated) == 50
    for password in generated:
        assert len(password) == 14 and password.isalnum() and password.isascii()
        assert password_problems(password, username="frontdesk") == []


def test_one_time_codes_are_eight_digits():
    codes = {generate_one_time_code() for _ in range(50)}
    assert len(codes) > 45
    assert all(len(code) == 8 and code.isdigit() for code in codes)
