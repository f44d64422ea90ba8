import base64

import pytest
from hypothesis import given
from hypothesis import strategies as st

from custapp.security.crypto import (
    DecryptionError,
    KeyRing,
    KeyRingError,
    blind_index,
    decrypt_bytes,
    decrypt_field,
    encrypt_bytes,
    encrypt_field,
    generate_data_key,
    keyed_hash,
    normalize_for_index,
    unwrap_data_key,
    wrap_data_key,
)

INDEX_KEY = b"i" * 32


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode("ascii")


# --- key ring -------------------------------------------------------------------------------


def test_ring_parse_accepts_separators_whitespace_and_unpadded_keys():
    k1, k2 = b"\x01" * 32, b"\x02" * 32
    text = f"  1:{_b64(k1)} ;\n 2 : {_b64(k2).rstrip('=')} , "
    ring = KeyRing.parse(text)
    assert ring.versions == {1: k1, 2: k2}
    assert ring.current_version == 2
    assert ring.key(1) == k1


def test_ring_serialize_round_trips():
    ring = KeyRing.generate().with_new_version().with_new_version()
    assert sorted(ring.versions) == [1, 2, 3]
    assert KeyRing.parse(ring.serialize()) == ring


def test_with_new_version_keeps_old_keys_and_adds_a_fresh_one():
    ring = KeyRing.generate(version=4)
    rotated = ring.with_new_version()
    assert rotated.current_version == 5
    assert rotated.key(4) == ring.key(4)
    assert rotated.key(5) != ring.key(4)
    assert ring.current_version == 4  # the original is unchanged


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "empty"),
        ("  ,; ", "no keys"),
        ("abc", "expected '<version>:<base64 key>'"),
        (f"x:{_b64(b'k' * 32)}", "expected '<version>:<base64 key>'"),
        (f"0:{_b64(b'k' * 32)}", "version must be 1 or more"),
        (f"1:{_b64(b'k' * 32)},1:{_b64(b'j' * 32)}", "duplicate version 1"),
        ("1:not base64!!", "not urlsafe base64"),
        (f"1:{_b64(b'k' * 31)}", "got 31"),
    ],
)
def test_ring_parse_rejects_malformed_text_with_a_clear_message(text, message):
    with pytest.raises(KeyRingError, match=message):
        KeyRing.parse(text)


def test_ring_errors_and_repr_never_show_key_material():
    secret = _b64(b"s" * 31)
    with pytest.raises(KeyRingError) as caught:
        KeyRing.parse(f"1:{secret}")
    assert secret not in str(caught.value)
    ring = KeyRing({1: b"s" * 32})
    assert "sss" not in repr(ring) and "c3Nz" not in repr(ring)


def test_ring_rejects_bad_keys_and_unknown_versions():
    with pytest.raises(KeyRingError):
        KeyRing({})
    with pytest.raises(KeyRingError):
        KeyRing({1: b"short"})
    with pytest.raises(KeyRingError):
        KeyRing({0: b"k" * 32})
    with pytest.raises(KeyRingError, match="version 7"):
        KeyRing.generate().key(7)


def test_ring_copies_the_callers_dict():
    versions = {1: b"k" * 32}
    ring = KeyRing(versions)
    versions[2] = b"j" * 32
    assert ring.current_version == 1


# --- data keys ------------------------------------------------------------------------------


def test_data_keys_are_random_32_bytes():
    first, second = generate_data_key(), generate_data_key()
    assert len(first) == 32 and first != second


def test_wrap_and_unwrap_round_trip():
    ring = KeyRing.generate()
    data_key = generate_data_key()
    version, wrapped = wrap_data_key(ring, data_key)
    assert version == 1
    assert data_key not in base64.urlsafe_b64decode(wrapped.split(".")[1] + "==")
    assert unwrap_data_key(ring, version, wrapped) == data_key


def test_rotation_old_wraps_still_unwrap_and_rewrap_uses_new_version():
    ring_v1 = KeyRing.generate()
    data_key = generate_data_key()
    version, wrapped = wrap_data_key(ring_v1, data_key)

    ring_v2 = ring_v1.with_new_version()
    assert unwrap_data_key(ring_v2, version, wrapped) == data_key

    new_version, rewrapped = wrap_data_key(ring_v2, unwrap_data_key(ring_v2, version, wrapped))
    assert new_version == 2
    assert unwrap_data_key(ring_v2, new_version, rewrapped) == data_key
    # The new wrap needs v2: a ring holding only v1 cannot open it.
    with pytest.raises(KeyRingError):
        unwrap_data_key(ring_v1, new_version, rewrapped)


def test_unwrap_with_wrong_master_key_or_tampering_fails():
    ring = KeyRing.generate()
    version, wrapped = wrap_data_key(ring, generate_data_key())
    with pytest.raises(DecryptionError):
        unwrap_data_key(KeyRing.generate(), version, wrapped)
    nonce, ciphertext = wrapped.split(".")
    flipped = ciphertext[:-2] + ("A" if ciphertext[-2] != "A" else "B") + ciphertext[-1]
    with pytest.raises(DecryptionError):
        unwrap_data_key(ring, version, f"{nonce}.{flipped}")
    for garbage in ["", "no-dot", "a.b.c", "!!.!!", "AAAA.AAAA"]:
        with pytest.raises(DecryptionError):
            unwrap_data_key(ring, version, garbage)


def test_a_wrapped_data_key_is_not_a_field_token():
    ring = KeyRing.generate()
    _, wrapped = wrap_data_key(ring, generate_data_key())
    nonce, ciphertext = wrapped.split(".")
    with pytest.raises(DecryptionError):
        decrypt_field(ring.key(1), f"1:{nonce}:{ciphertext}")


# --- fields and files -----------------------------------------------------------------------


@given(plaintext=st.text(), context=st.text(max_size=30))
def test_field_round_trip(plaintext, context):
    data_key = b"d" * 32
    token = encrypt_field(data_key, plaintext, context=context)
    assert decrypt_field(data_key, token, context=context) == plaintext


def test_field_token_format_and_fresh_nonces():
    data_key = generate_data_key()
    first = encrypt_field(data_key, "13812345678", context="customer.phone")
    second = encrypt_field(data_key, "13812345678", context="customer.phone")
    scheme, nonce, ciphertext = first.split(":")
    assert scheme == "1"
    assert len(base64.urlsafe_b64decode(nonce + "==")) == 12
    assert "13812345678" not in first
    assert first != second  # random nonce: equal plaintexts do not show as equal ciphertexts


def test_field_wrong_key_context_or_tampering_raise_decryption_error():
    data_key = generate_data_key()
    token = encrypt_field(data_key, "北京市朝阳区建国路88号", context="customer.address")
    with pytest.raises(DecryptionError):
        decrypt_field(generate_data_key(), token, context="customer.address")
    with pytest.raises(DecryptionError):
        decrypt_field(data_key, token, context="customer.phone")
    with pytest.raises(DecryptionError):
        decrypt_field(data_key, token)
    scheme, nonce, ciphertext = token.split(":")
    tampered = ciphertext[:5] + ("A" if ciphertext[5] != "A" else "B") + ciphertext[6:]
    with pytest.raises(DecryptionError):
        decrypt_field(data_key, f"{scheme}:{nonce}:{tampered}", context="customer.address")
    with pytest.raises(DecryptionError):
        decrypt_field(data_key, f"2:{nonce}:{ciphertext}", context="customer.address")


def test_decryption_error_message_holds_no_secret():
    data_key = generate_data_key()
    token = encrypt_field(data_key, "secret-plaintext", context="c")
    with pytest.raises(DecryptionError) as caught:
        decrypt_field(data_key, token, context="other")
    message = str(caught.value)
    assert "secret" not in message and token not in message
    assert caught.value.__cause__ is None and caught.value.__suppress_context__


@given(token=st.text())
def test_decrypt_field_rejects_arbitrary_text_with_decryption_error(token):
    with pytest.raises(DecryptionError):
        decrypt_field(b"d" * 32, token)


@given(data=st.binary(max_size=2000), context=st.text(max_size=20))
def test_bytes_round_trip(data, context):
    data_key = b"f" * 32
    blob = encrypt_bytes(data_key, data, context=context)
    assert blob[0] == 1 and len(blob) == 1 + 12 + len(data) + 16
    assert decrypt_bytes(data_key, blob, context=context) == data


def test_bytes_wrong_key_context_tampering_or_truncation_fail():
    data_key = generate_data_key()
    blob = encrypt_bytes(data_key, b"%PDF-1.7 contract scan", context="attachment.7")
    with pytest.raises(DecryptionError):
        decrypt_bytes(generate_data_key(), blob, context="attachment.7")
    with pytest.raises(DecryptionError):
        decrypt_bytes(data_key, blob, context="attachment.8")
    tampered = bytearray(blob)
    tampered[20] ^= 1
    with pytest.raises(DecryptionError):
        decrypt_bytes(data_key, bytes(tampered), context="attachment.7")
    for broken in [b"", blob[:10], b"\x02" + blob[1:]]:
        with pytest.raises(DecryptionError):
            decrypt_bytes(data_key, broken, context="attachment.7")


def test_file_blob_and_field_token_are_not_interchangeable():
    data_key = generate_data_key()
    blob = encrypt_bytes(data_key, b"13812345678")
    nonce, ciphertext = blob[1:13], blob[13:]
    token = f"1:{base64.urlsafe_b64encode(nonce).decode()}:{base64.urlsafe_b64encode(ciphertext).decode()}"
    with pytest.raises(DecryptionError):
        decrypt_field(data_key, token)


def test_keys_must_be_32_bytes():
    with pytest.raises(ValueError):
        encrypt_field(b"short", "x")
    with pytest.raises(ValueError):
        wrap_data_key(KeyRing.generate(), b"short")


# --- blind index and keyed hash -------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "raw", "normalized"),
    [
        ("phone", "+86 138-1234-5678", "13812345678"),
        ("phone", "8613812345678", "13812345678"),
        ("phone", "0086 13812345678", "13812345678"),
        ("phone", "１３８１２３４５６７８", "13812345678"),
        ("phone", "010-6512 3456", "01065123456"),
        ("id_number", " 110105 19491231 002x ", "11010519491231002X"),
        ("email", "  Zhang.San@Example.COM ", "zhang.san@example.com"),
        ("card_number", "  Ｍember-ß  ", "member-ss"),
    ],
)
def test_normalize_for_index(kind, raw, normalized):
    assert normalize_for_index(kind, raw) == normalized


def test_blind_index_matches_equal_values_however_typed():
    assert blind_index(INDEX_KEY, "phone", "+86 138 1234 5678") == blind_index(
        INDEX_KEY, "phone", "13812345678"
    )
    assert blind_index(INDEX_KEY, "id_number", "11010519491231002x") == blind_index(
        INDEX_KEY, "id_number", "11010519491231002X"
    )


def test_blind_index_depends_on_key_kind_and_value():
    base = blind_index(INDEX_KEY, "phone", "13812345678")
    assert len(base) == 64 and int(base, 16) >= 0
    assert blind_index(b"j" * 32, "phone", "13812345678") != base
    assert blind_index(INDEX_KEY, "generic", "13812345678") != base
    assert blind_index(INDEX_KEY, "phone", "13812345679") != base


def test_keyed_hash_is_deterministic_and_keyed():
    assert keyed_hash(INDEX_KEY, "张三") == keyed_hash(INDEX_KEY, "张三")
    assert keyed_hash(INDEX_KEY, "张三") != keyed_hash(b"j" * 32, "张三")
    assert keyed_hash(INDEX_KEY, "张三") != keyed_hash(INDEX_KEY, "张四")


def test_hmac_functions_refuse_empty_keys():
    with pytest.raises(ValueError):
        keyed_hash(b"", "x")
    with pytest.raises(ValueError):
        blind_index(b"", "phone", "13812345678")
