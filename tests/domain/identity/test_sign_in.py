"""Sign-In with Ethereum: the pure checks behind ``POST /auth/verify``.

One test per rejection reason and boundary. The nonce's own state (unknown, used, expired)
belongs to the service and is tested there; here the nonce is only compared.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from eth_account.messages import encode_defunct

from domain.identity.errors import SignInRejected
from domain.identity.sign_in import (
    MAX_MESSAGE_BYTES,
    read_sign_in_message,
    sign_in_message,
    verify_sign_in,
)
from tests.kit import (
    CHAIN_ID,
    DOMAIN,
    EXPIRES_AT,
    ISSUED_AT,
    LOGIN_URI,
    NONCE,
    NOW,
    STATEMENT,
    a_sign_in_message,
    a_signed_sign_in,
    a_wallet,
    sign_in_expectations,
    signed,
)


def rejection_reason(message: object, signature: object, **overrides: object) -> str:
    with pytest.raises(SignInRejected) as caught:
        verify_sign_in(message, signature, **sign_in_expectations(**overrides))  # type: ignore[arg-type]
    return caught.value.reason


def padded_to_bytes(size: int) -> str:
    """A default message whose statement pads it to exactly ``size`` UTF-8 bytes."""
    base = a_sign_in_message(statement="x")
    return a_sign_in_message(statement="x" * (size - len(base.encode()) + 1))


# --- accepted ---------------------------------------------------------------------------


def test_verify_sign_in_valid_signed_message_returns_checksummed_address() -> None:
    # Arrange
    wallet = a_wallet()
    message, signature = a_signed_sign_in(wallet)

    # Act
    address = verify_sign_in(message, signature, **sign_in_expectations())

    # Assert
    assert address == wallet.address
    assert address != address.lower()


def test_verify_sign_in_message_without_statement_returns_address() -> None:
    # Arrange
    wallet = a_wallet()
    message, signature = a_signed_sign_in(wallet, statement=None)

    # Act
    address = verify_sign_in(message, signature, **sign_in_expectations())

    # Assert
    assert address == wallet.address


def test_verify_sign_in_signature_without_0x_prefix_returns_address() -> None:
    # Arrange
    wallet = a_wallet()
    message, signature = a_signed_sign_in(wallet)

    # Act
    address = verify_sign_in(message, signature.removeprefix("0x"), **sign_in_expectations())

    # Assert
    assert address == wallet.address


def test_verify_sign_in_second_allowed_chain_returns_address() -> None:
    # Arrange
    wallet = a_wallet()
    message, signature = a_signed_sign_in(wallet, chain_id=137)

    # Act
    address = verify_sign_in(
        message, signature, **sign_in_expectations(chain_ids=frozenset({1, 137}))
    )

    # Assert
    assert address == wallet.address


def test_verify_sign_in_message_of_exactly_max_bytes_returns_address() -> None:
    # Arrange
    wallet = a_wallet()
    message = padded_to_bytes(MAX_MESSAGE_BYTES)
    signature = signed(message, wallet)

    # Act
    address = verify_sign_in(message, signature, **sign_in_expectations())

    # Assert
    assert len(message.encode()) == MAX_MESSAGE_BYTES
    assert address == wallet.address


def test_verify_sign_in_naive_now_raises_value_error() -> None:
    # Arrange
    message, signature = a_signed_sign_in()

    # Act / Assert
    with pytest.raises(ValueError, match="timezone-aware"):
        verify_sign_in(message, signature, **sign_in_expectations(now=NOW.replace(tzinfo=None)))


# --- message_too_long -------------------------------------------------------------------


def test_verify_sign_in_message_one_byte_over_max_rejected_as_too_long() -> None:
    # Arrange
    wallet = a_wallet()
    message = padded_to_bytes(MAX_MESSAGE_BYTES + 1)
    signature = signed(message, wallet)

    # Act
    reason = rejection_reason(message, signature)

    # Assert
    assert reason == "message_too_long"


def test_verify_sign_in_huge_message_rejected_as_too_long_before_parsing() -> None:
    # Arrange: a 50 kB statement takes minutes in siwe's ABNF parser; the cap must come
    # first, so this test finishing at all is the evidence (no timing assertion).
    wallet = a_wallet()
    message = a_sign_in_message(statement="a" * 50_000)
    signature = signed(message, wallet)

    # Act
    reason = rejection_reason(message, signature)

    # Assert
    assert reason == "message_too_long"


def test_verify_sign_in_multibyte_text_over_max_bytes_rejected_as_too_long() -> None:
    # Arrange: fewer characters than the limit, but more UTF-8 bytes.
    message = a_sign_in_message(statement="é" * 600)
    assert len(message) < MAX_MESSAGE_BYTES < len(message.encode())

    # Act
    reason = rejection_reason(message, "0x")

    # Assert
    assert reason == "message_too_long"


# --- malformed_message ------------------------------------------------------------------


@pytest.mark.parametrize(
    "garbage",
    ["", "hello", "wants you to sign in with your Ethereum account:", "\x00" * 64],
    ids=["empty", "word", "header-only", "nul-bytes"],
)
def test_verify_sign_in_garbage_text_rejected_as_malformed(garbage: str) -> None:
    # Arrange
    signature = signed(garbage, a_wallet())

    # Act
    reason = rejection_reason(garbage, signature)

    # Assert
    assert reason == "malformed_message"


def test_verify_sign_in_lowercase_address_rejected_as_malformed() -> None:
    # Arrange: the wallet signs the text it was given, so the signature itself is good.
    wallet = a_wallet()
    message = a_sign_in_message(wallet=wallet).replace(wallet.address, wallet.address.lower())
    signature = signed(message, wallet)

    # Act
    reason = rejection_reason(message, signature)

    # Assert
    assert reason == "malformed_message"


def test_verify_sign_in_crlf_line_endings_rejected_as_malformed() -> None:
    # Arrange
    wallet = a_wallet()
    message = a_sign_in_message(wallet=wallet).replace("\n", "\r\n")
    signature = signed(message, wallet)

    # Act
    reason = rejection_reason(message, signature)

    # Assert
    assert reason == "malformed_message"


def test_verify_sign_in_trailing_newline_rejected_as_malformed() -> None:
    # Arrange
    wallet = a_wallet()
    message = a_sign_in_message(wallet=wallet) + "\n"
    signature = signed(message, wallet)

    # Act
    reason = rejection_reason(message, signature)

    # Assert
    assert reason == "malformed_message"


def test_verify_sign_in_unknown_version_rejected_as_malformed() -> None:
    # Arrange
    wallet = a_wallet()
    message = a_sign_in_message(wallet=wallet).replace("Version: 1", "Version: 2")
    signature = signed(message, wallet)

    # Act
    reason = rejection_reason(message, signature)

    # Assert
    assert reason == "malformed_message"


@pytest.mark.parametrize(
    "not_text",
    [None, 42, a_sign_in_message().encode()],
    ids=["none", "int", "bytes"],
)
def test_verify_sign_in_non_string_message_rejected_as_malformed(not_text: object) -> None:
    # Arrange
    signature = signed(a_sign_in_message(), a_wallet())

    # Act
    reason = rejection_reason(not_text, signature)

    # Assert
    assert reason == "malformed_message"


# --- expected values --------------------------------------------------------------------


def test_verify_sign_in_other_domain_rejected_as_domain_mismatch() -> None:
    # Arrange
    message, signature = a_signed_sign_in(domain="evil.example")

    # Act
    reason = rejection_reason(message, signature)

    # Assert
    assert reason == "domain_mismatch"


@pytest.mark.parametrize("lookalike", ["Clash.example", "clash.example:443"])
def test_verify_sign_in_domain_lookalike_rejected_as_domain_mismatch(lookalike: str) -> None:
    # Arrange
    message, signature = a_signed_sign_in(domain=lookalike)

    # Act
    reason = rejection_reason(message, signature)

    # Assert
    assert reason == "domain_mismatch"


def test_verify_sign_in_other_uri_rejected_as_uri_mismatch() -> None:
    # Arrange
    message, signature = a_signed_sign_in(uri="https://evil.example/login")

    # Act
    reason = rejection_reason(message, signature)

    # Assert
    assert reason == "uri_mismatch"


def test_verify_sign_in_uri_with_trailing_slash_rejected_as_uri_mismatch() -> None:
    # Arrange
    message, signature = a_signed_sign_in(uri=LOGIN_URI + "/")

    # Act
    reason = rejection_reason(message, signature)

    # Assert
    assert reason == "uri_mismatch"


def test_verify_sign_in_chain_outside_allow_list_rejected_as_chain_not_allowed() -> None:
    # Arrange
    message, signature = a_signed_sign_in(chain_id=137)

    # Act
    reason = rejection_reason(message, signature)

    # Assert
    assert reason == "chain_not_allowed"


def test_verify_sign_in_empty_allow_list_rejected_as_chain_not_allowed() -> None:
    # Arrange
    message, signature = a_signed_sign_in()

    # Act
    reason = rejection_reason(message, signature, chain_ids=frozenset())

    # Assert
    assert reason == "chain_not_allowed"


def test_verify_sign_in_chain_id_with_leading_zero_rejected() -> None:
    # Arrange: the wallet signed "Chain ID: 1"; the client sends "Chain ID: 01".
    message, signature = a_signed_sign_in()
    edited = message.replace(f"Chain ID: {CHAIN_ID}\n", f"Chain ID: 0{CHAIN_ID}\n")
    assert edited != message

    # Act
    try:
        verify_sign_in(edited, signature, **sign_in_expectations())
    except SignInRejected:
        return

    # Assert
    raise AssertionError("an edited message that the wallet never signed was accepted")


def test_verify_sign_in_other_nonce_rejected_as_nonce_mismatch() -> None:
    # Arrange
    message, signature = a_signed_sign_in()

    # Act
    reason = rejection_reason(message, signature, nonce="0" * len(NONCE))

    # Assert
    assert reason == "nonce_mismatch"


# --- time -------------------------------------------------------------------------------


def test_verify_sign_in_after_expiration_rejected_as_expired() -> None:
    # Arrange
    message, signature = a_signed_sign_in()

    # Act
    reason = rejection_reason(message, signature, now=EXPIRES_AT + timedelta(seconds=1))

    # Assert
    assert reason == "message_expired"


def test_verify_sign_in_at_expiration_instant_rejected_as_expired() -> None:
    # Arrange
    message, signature = a_signed_sign_in()

    # Act
    reason = rejection_reason(message, signature, now=EXPIRES_AT)

    # Assert
    assert reason == "message_expired"


def test_verify_sign_in_before_not_before_rejected_as_not_yet_valid() -> None:
    # Arrange
    message, signature = a_signed_sign_in(not_before=NOW + timedelta(minutes=1))

    # Act
    reason = rejection_reason(message, signature)

    # Assert
    assert reason == "message_not_yet_valid"


def test_verify_sign_in_after_not_before_returns_address() -> None:
    # Arrange
    wallet = a_wallet()
    message, signature = a_signed_sign_in(wallet, not_before=NOW - timedelta(minutes=1))

    # Act
    address = verify_sign_in(message, signature, **sign_in_expectations())

    # Assert
    assert address == wallet.address


def test_verify_sign_in_issued_beyond_clock_skew_rejected_as_issued_in_future() -> None:
    # Arrange
    issued_at = NOW + timedelta(seconds=61)
    message, signature = a_signed_sign_in(
        issued_at=issued_at, expires_at=issued_at + timedelta(minutes=10)
    )

    # Act
    reason = rejection_reason(message, signature, clock_skew=timedelta(seconds=60))

    # Assert
    assert reason == "issued_in_future"


def test_verify_sign_in_issued_inside_clock_skew_returns_address() -> None:
    # Arrange
    wallet = a_wallet()
    issued_at = NOW + timedelta(seconds=30)
    message, signature = a_signed_sign_in(
        wallet, issued_at=issued_at, expires_at=issued_at + timedelta(minutes=10)
    )

    # Act
    address = verify_sign_in(
        message, signature, **sign_in_expectations(clock_skew=timedelta(seconds=60))
    )

    # Assert
    assert address == wallet.address


def test_verify_sign_in_issued_exactly_at_clock_skew_returns_address() -> None:
    # Arrange
    wallet = a_wallet()
    issued_at = NOW + timedelta(seconds=60)
    message, signature = a_signed_sign_in(
        wallet, issued_at=issued_at, expires_at=issued_at + timedelta(minutes=10)
    )

    # Act
    address = verify_sign_in(
        message, signature, **sign_in_expectations(clock_skew=timedelta(seconds=60))
    )

    # Assert
    assert address == wallet.address


def test_verify_sign_in_zero_skew_and_issued_one_second_ahead_rejected() -> None:
    # Arrange
    issued_at = NOW + timedelta(seconds=1)
    message, signature = a_signed_sign_in(
        issued_at=issued_at, expires_at=issued_at + timedelta(minutes=10)
    )

    # Act
    reason = rejection_reason(message, signature, clock_skew=timedelta(0))

    # Assert
    assert reason == "issued_in_future"


# --- bad_signature ----------------------------------------------------------------------


def test_verify_sign_in_signed_by_another_key_rejected_as_bad_signature() -> None:
    # Arrange
    message = a_sign_in_message(wallet=a_wallet("alice"))
    signature = signed(message, a_wallet("mallory"))

    # Act
    reason = rejection_reason(message, signature)

    # Assert
    assert reason == "bad_signature"


def test_verify_sign_in_message_edited_after_signing_rejected_as_bad_signature() -> None:
    # Arrange
    message, signature = a_signed_sign_in()
    edited = message.replace(STATEMENT, "Log in to Clash of Clones.")

    # Act
    reason = rejection_reason(edited, signature)

    # Assert
    assert reason == "bad_signature"


@pytest.mark.parametrize(
    "signature",
    [
        "",
        "0x",
        "0xdeadbeef",
        "0x" + "00" * 65,
        "0x" + "00" * 64 + "1b",  # r = s = 0, v = 27: eth_keys raises its own BadSignature
        "0x" + "ff" * 65,
        "0x" + "zz" * 65,
        "test_invalid_signature",
        "0x" + "ab" * 1_000,
        "0x" + "a" * 100_000,
    ],
    ids=[
        "empty",
        "0x",
        "deadbeef",
        "65-zero-bytes",
        "zero-r-and-s",
        "65-ff-bytes",
        "non-hex",
        "words",
        "long-hex",
        "very-long",
    ],
)
def test_verify_sign_in_garbage_signature_rejected_as_bad_signature(signature: str) -> None:
    # Arrange
    message = a_sign_in_message()

    # Act
    reason = rejection_reason(message, signature)

    # Assert
    assert reason == "bad_signature"


def test_verify_sign_in_signature_as_bytes_rejected_as_bad_signature() -> None:
    # Arrange: siwe itself would accept bytes; the contract is a hex string.
    wallet = a_wallet()
    message = a_sign_in_message(wallet=wallet)
    raw_signature = wallet.sign_message(encode_defunct(text=message)).signature

    # Act
    reason = rejection_reason(message, bytes(raw_signature))

    # Assert
    assert reason == "bad_signature"


# --- read_sign_in_message ---------------------------------------------------------------


def test_read_sign_in_message_valid_text_returns_its_fields() -> None:
    # Arrange
    wallet = a_wallet()
    message = a_sign_in_message(wallet=wallet, chain_id=137)

    # Act
    read = read_sign_in_message(message)

    # Assert
    assert (read.address, read.chain_id, read.nonce, read.domain, read.uri) == (
        wallet.address,
        137,
        NONCE,
        DOMAIN,
        LOGIN_URI,
    )


def test_read_sign_in_message_canonical_text_equals_the_input() -> None:
    # Arrange
    message = a_sign_in_message()

    # Act
    read = read_sign_in_message(message)

    # Assert
    assert read.canonical_text == message


def test_read_sign_in_message_over_max_bytes_rejected_as_too_long() -> None:
    # Arrange
    message = a_sign_in_message(statement="a" * 50_000)

    # Act
    with pytest.raises(SignInRejected) as caught:
        read_sign_in_message(message)

    # Assert
    assert caught.value.reason == "message_too_long"


def test_read_sign_in_message_garbage_rejected_as_malformed() -> None:
    # Arrange
    message = "not a sign-in message"

    # Act
    with pytest.raises(SignInRejected) as caught:
        read_sign_in_message(message)

    # Assert
    assert caught.value.reason == "malformed_message"


# --- sign_in_message --------------------------------------------------------------------


def build_default_text(**overrides: object) -> str:
    fields: dict[str, object] = {
        "domain": DOMAIN,
        "address": a_wallet().address,
        "uri": LOGIN_URI,
        "chain_id": CHAIN_ID,
        "nonce": NONCE,
        "issued_at": ISSUED_AT,
        "expires_at": EXPIRES_AT,
        "statement": STATEMENT,
    }
    return sign_in_message(**(fields | overrides))  # type: ignore[arg-type]


def test_sign_in_message_matches_the_siwe_serialisation() -> None:
    # Arrange
    expected = a_sign_in_message()

    # Act
    text = build_default_text()

    # Assert
    assert text == expected


def test_sign_in_message_formats_instants_as_utc_milliseconds() -> None:
    # Arrange
    issued_at = datetime(2025, 3, 4, 5, 6, 7, 891_234, tzinfo=UTC)

    # Act
    text = build_default_text(issued_at=issued_at, expires_at=issued_at + timedelta(minutes=5))

    # Assert
    assert "\nIssued At: 2025-03-04T05:06:07.891Z\n" in text
    assert text.endswith("\nExpiration Time: 2025-03-04T05:11:07.891Z")


def test_sign_in_message_signed_by_the_wallet_verifies() -> None:
    # Arrange
    wallet = a_wallet()
    text = build_default_text(address=wallet.address)

    # Act
    address = verify_sign_in(text, signed(text, wallet), **sign_in_expectations())

    # Assert
    assert address == wallet.address


def test_sign_in_message_naive_instant_raises_value_error() -> None:
    # Arrange
    naive = ISSUED_AT.replace(tzinfo=None)

    # Act / Assert
    with pytest.raises(ValueError, match="timezone-aware"):
        build_default_text(issued_at=naive)


def test_sign_in_message_non_utc_offset_keeps_the_instant() -> None:
    # Arrange: 02:00 at +02:00 is 00:00 UTC.
    plus_two = timezone(timedelta(hours=2))
    issued_at = ISSUED_AT.astimezone(plus_two)

    # Act
    text = build_default_text(issued_at=issued_at, expires_at=EXPIRES_AT.astimezone(plus_two))

    # Assert
    assert "\nIssued At: 2025-01-01T00:00:00.000Z\n" in text
