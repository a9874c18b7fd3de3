"""Properties of the identity checks: hostile input only ever yields the domain's rejection.

The API maps ``SignInRejected`` and ``TokenRejected`` to 401; any other exception type
escaping these functions would be a 500 and a hint to an attacker. Example counts stay
moderate so the suite stays fast.
"""

from __future__ import annotations

import string
from datetime import timedelta

from eth_account import Account
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from domain.identity.access_tokens import decode_access_token
from domain.identity.errors import SignInRejected, TokenRejected
from domain.identity.sign_in import verify_sign_in
from tests.kit import (
    KEY_ID,
    a_signed_sign_in,
    a_wallet,
    access_claims,
    an_access_token,
    an_eddsa_key,
    an_hs256_key,
    b64url_json,
    sign_in_expectations,
    token_expectations,
)

FAST = settings(max_examples=60, deadline=None)
SECP256K1_ORDER = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141

WALLET = a_wallet()
MESSAGE, SIGNATURE = a_signed_sign_in(WALLET)
HEADER_LINE = MESSAGE.split("\n", 1)[0] + "\n"

TOKEN_KEYS = {KEY_ID: an_hs256_key(), "ed": an_eddsa_key()}
TOKEN = an_access_token()

any_text = st.text(
    alphabet=st.characters(codec=None, exclude_categories=()), max_size=1_200
)  # includes lone surrogates
latin1_text = st.binary(max_size=1_200).map(lambda raw: raw.decode("latin-1"))
edit_characters = st.one_of(
    st.characters(min_codepoint=0x20, max_codepoint=0x7E),
    st.sampled_from(["\n", "\r", "\t", "\x00", "é", "\u200b", "\uff10"]),
)


@st.composite
def single_character_edits(draw: st.DrawFn, text: str) -> str:
    position = draw(st.integers(min_value=0, max_value=len(text) - 1))
    kind = draw(st.sampled_from(["replace", "insert", "delete"]))
    if kind == "delete":
        return text[:position] + text[position + 1 :]
    character = draw(edit_characters)
    skip = 1 if kind == "replace" else 0
    return text[:position] + character + text[position + skip :]


def sign_in_rejected(message: object, signature: object) -> bool:
    try:
        verify_sign_in(message, signature, **sign_in_expectations())  # type: ignore[arg-type]
    except SignInRejected:
        return True
    return False


def token_rejected(token: object) -> bool:
    try:
        decode_access_token(token, **token_expectations(keys=TOKEN_KEYS))  # type: ignore[arg-type]
    except TokenRejected:
        return True
    return False


# --- sign-in ------------------------------------------------------------------------------


@FAST
@given(message=any_text)
def test_verify_sign_in_arbitrary_text_message_raises_only_sign_in_rejected(message: str) -> None:
    # Arrange: the valid signature of another message.

    # Act
    rejected = sign_in_rejected(message, SIGNATURE)

    # Assert
    assert rejected


@FAST
@given(tail=any_text)
def test_verify_sign_in_text_after_a_valid_header_raises_only_sign_in_rejected(tail: str) -> None:
    # Arrange: get past the first ABNF rule, deeper into the parser.
    message = HEADER_LINE + tail

    # Act
    rejected = sign_in_rejected(message, SIGNATURE)

    # Assert
    assert rejected


@FAST
@given(message=latin1_text)
def test_verify_sign_in_arbitrary_latin1_message_raises_only_sign_in_rejected(
    message: str,
) -> None:
    # Arrange: arbitrary bytes, decoded the way a lax proxy might.

    # Act
    rejected = sign_in_rejected(message, SIGNATURE)

    # Assert
    assert rejected


@FAST
@given(signature=st.one_of(any_text, latin1_text))
def test_verify_sign_in_arbitrary_text_signature_raises_only_sign_in_rejected(
    signature: str,
) -> None:
    # Arrange: a valid message, so the signature is what gets checked.

    # Act
    rejected = sign_in_rejected(MESSAGE, signature)

    # Assert
    assert rejected


@FAST
@given(raw=st.binary(max_size=200), prefix=st.sampled_from(["0x", "0X", ""]))
def test_verify_sign_in_arbitrary_hex_signature_raises_only_sign_in_rejected(
    raw: bytes, prefix: str
) -> None:
    # Arrange: well-formed hex of any length, including 65 bytes of junk.
    signature = prefix + raw.hex()

    # Act
    rejected = sign_in_rejected(MESSAGE, signature)

    # Assert
    assert rejected


@settings(max_examples=100, deadline=None)
@given(edited=single_character_edits(MESSAGE))
def test_verify_sign_in_single_character_edit_of_signed_message_rejected(edited: str) -> None:
    # Arrange
    assume(edited != MESSAGE)

    # Act
    rejected = sign_in_rejected(edited, SIGNATURE)

    # Assert
    assert rejected


@settings(max_examples=25, deadline=None)
@given(
    secret=st.integers(min_value=1, max_value=SECP256K1_ORDER - 1),
    nonce=st.text(alphabet=string.ascii_letters + string.digits, min_size=8, max_size=64),
)
def test_verify_sign_in_any_wallet_and_nonce_returns_the_signers_address(
    secret: int, nonce: str
) -> None:
    # Arrange
    wallet = Account.from_key(secret.to_bytes(32, "big"))
    message, signature = a_signed_sign_in(wallet, nonce=nonce)

    # Act
    address = verify_sign_in(message, signature, **sign_in_expectations(nonce=nonce))

    # Assert
    assert address == wallet.address


# --- access tokens --------------------------------------------------------------------------


@FAST
@given(token=st.one_of(any_text, latin1_text))
def test_decode_access_token_arbitrary_text_raises_only_token_rejected(token: str) -> None:
    # Arrange: the token is the generated text.

    # Act
    rejected = token_rejected(token)

    # Assert
    assert rejected


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner),
    max_leaves=8,
)


@FAST
@given(
    header=st.fixed_dictionaries(
        {},
        optional={
            "alg": st.sampled_from(["HS256", "EdDSA", "none", "RS256", "hs256", ""]) | json_values,
            "kid": st.sampled_from([KEY_ID, "ed", "other"]) | json_values,
            "typ": st.just("at+jwt") | json_values,
            "crit": json_values,
            "jku": json_values,
        },
    ),
    claims=st.dictionaries(
        st.sampled_from(["iss", "aud", "sub", "iat", "nbf", "exp", "jti", "x"]), json_values
    ),
    signature=st.text(
        alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz-_", max_size=90
    ),
)
def test_decode_access_token_structured_junk_raises_only_token_rejected(
    header: dict[str, object], claims: dict[str, object], signature: str
) -> None:
    # Arrange: well-formed JOSE segments carrying hostile headers and claims.
    token = f"{b64url_json(header)}.{b64url_json(claims)}.{signature}"

    # Act
    rejected = token_rejected(token)

    # Assert
    assert rejected


@settings(max_examples=100, deadline=None)
@given(edited=single_character_edits(TOKEN))
def test_decode_access_token_single_character_edit_rejected(edited: str) -> None:
    # Arrange
    assume(edited != TOKEN)

    # Act
    rejected = token_rejected(edited)

    # Assert
    assert rejected


@settings(max_examples=25, deadline=None)
@given(
    subject=st.text(min_size=1, max_size=60),
    token_id=st.uuids().map(str),
    lifetime_seconds=st.integers(min_value=1, max_value=86_400),
    key_id=st.sampled_from([KEY_ID, "ed"]),
)
def test_decode_access_token_any_issued_token_round_trips(
    subject: str, token_id: str, lifetime_seconds: int, key_id: str
) -> None:
    # Arrange
    token = an_access_token(
        key_id=key_id,
        key=TOKEN_KEYS[key_id],
        subject=subject,
        token_id=token_id,
        lifetime=timedelta(seconds=lifetime_seconds),
    )

    # Act
    claims = decode_access_token(token, **token_expectations(keys=TOKEN_KEYS))

    # Assert
    expected = access_claims(sub=subject, jti=token_id)
    assert claims == expected | {"exp": claims["iat"] + lifetime_seconds}
