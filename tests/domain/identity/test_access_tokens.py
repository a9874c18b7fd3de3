"""Access tokens: issue/decode round trips, every rejection reason and key rotation."""

from __future__ import annotations

from datetime import timedelta

import jwt
import pytest

from domain.identity.access_tokens import (
    REQUIRED_CLAIMS,
    TOKEN_TYPE,
    decode_access_token,
    issue_access_token,
)
from domain.identity.errors import TokenRejected
from tests.kit import (
    AUDIENCE,
    HS_KEY,
    ISSUER,
    KEY_ID,
    NOW,
    OTHER_HS_KEY,
    SUBJECT,
    TOKEN_ID,
    TOKEN_LIFETIME,
    a_crafted_token,
    a_hand_signed_token,
    access_claims,
    an_access_token,
    an_ed25519_key_pair,
    an_eddsa_key,
    an_hs256_key,
    b64url,
    b64url_json,
    token_expectations,
)

LEEWAY = timedelta(seconds=30)


def rejection_reason(token: object, **overrides: object) -> str:
    with pytest.raises(TokenRejected) as caught:
        decode_access_token(token, **token_expectations(**overrides))  # type: ignore[arg-type]
    return caught.value.reason


# --- round trips ------------------------------------------------------------------------


def test_decode_access_token_hs256_round_trip_returns_claims() -> None:
    # Arrange
    token = an_access_token(key=an_hs256_key())

    # Act
    claims = decode_access_token(token, **token_expectations())

    # Assert
    assert claims == access_claims()


def test_decode_access_token_eddsa_round_trip_returns_claims() -> None:
    # Arrange
    key = an_eddsa_key()
    token = an_access_token(key=key)

    # Act
    claims = decode_access_token(token, **token_expectations(keys={KEY_ID: key}))

    # Assert
    assert claims == access_claims()


def test_decode_access_token_eddsa_verify_only_key_returns_claims() -> None:
    # Arrange: verifiers hold only the public half.
    token = an_access_token(key=an_eddsa_key())
    verify_only = an_eddsa_key(can_sign=False)

    # Act
    claims = decode_access_token(token, **token_expectations(keys={KEY_ID: verify_only}))

    # Assert
    assert claims["sub"] == SUBJECT


def test_issue_access_token_header_names_key_algorithm_and_type() -> None:
    # Arrange
    token = an_access_token(key=an_eddsa_key(), key_id="ed-2025")

    # Act
    header = jwt.get_unverified_header(token)

    # Assert
    assert header == {"alg": "EdDSA", "kid": "ed-2025", "typ": TOKEN_TYPE}


def test_issue_access_token_expiry_is_issue_time_plus_lifetime() -> None:
    # Arrange
    token = an_access_token(lifetime=timedelta(minutes=15))

    # Act
    claims = decode_access_token(token, **token_expectations())

    # Assert
    assert claims["iat"] == claims["nbf"] == int(NOW.timestamp())
    assert claims["exp"] - claims["iat"] == 15 * 60


def test_issue_access_token_extra_claims_cannot_override_registered_claims() -> None:
    # Arrange
    extra = {"sub": "admin", "exp": 2**40, "aud": "other", "role": "player"}

    # Act
    claims = decode_access_token(an_access_token(extra_claims=extra), **token_expectations())

    # Assert
    assert (claims["sub"], claims["aud"], claims["role"]) == (SUBJECT, AUDIENCE, "player")
    assert claims["exp"] == int((NOW + TOKEN_LIFETIME).timestamp())


def test_issue_access_token_verify_only_key_raises_value_error() -> None:
    # Arrange
    key = an_eddsa_key(can_sign=False)

    # Act / Assert
    with pytest.raises(ValueError, match="cannot sign"):
        issue_access_token(
            key_id=KEY_ID,
            key=key,
            subject=SUBJECT,
            issuer=ISSUER,
            audience=AUDIENCE,
            token_id=TOKEN_ID,
            now=NOW,
            lifetime=TOKEN_LIFETIME,
        )


# --- algorithm and key ------------------------------------------------------------------


def test_decode_access_token_alg_none_rejected_as_algorithm_not_allowed() -> None:
    # Arrange
    header = {"alg": "none", "kid": KEY_ID, "typ": TOKEN_TYPE}
    token = a_hand_signed_token(header, access_claims(), hmac_secret=None)

    # Act
    reason = rejection_reason(token)

    # Assert
    assert reason == "algorithm_not_allowed"


def test_decode_access_token_hs256_header_on_eddsa_key_rejected_as_algorithm_not_allowed() -> None:
    # Arrange: the classic confusion attack, HMAC keyed with the verifier's public PEM.
    _, public_pem = an_ed25519_key_pair()
    header = {"alg": "HS256", "kid": KEY_ID, "typ": TOKEN_TYPE}
    token = a_hand_signed_token(header, access_claims(), hmac_secret=public_pem.encode())

    # Act
    reason = rejection_reason(token, keys={KEY_ID: an_eddsa_key()})

    # Assert
    assert reason == "algorithm_not_allowed"


def test_decode_access_token_eddsa_header_on_hs256_key_rejected_as_algorithm_not_allowed() -> None:
    # Arrange
    token = an_access_token(key=an_eddsa_key())

    # Act
    reason = rejection_reason(token, keys={KEY_ID: an_hs256_key()})

    # Assert
    assert reason == "algorithm_not_allowed"


def test_decode_access_token_hs512_header_on_hs256_key_rejected_as_algorithm_not_allowed() -> None:
    # Arrange
    token = a_crafted_token(access_claims(), secret=HS_KEY * 2, algorithm="HS512")

    # Act
    reason = rejection_reason(token)

    # Assert
    assert reason == "algorithm_not_allowed"


def test_decode_access_token_signed_with_other_secret_rejected_as_bad_signature() -> None:
    # Arrange
    token = a_crafted_token(access_claims(), secret=OTHER_HS_KEY)

    # Act
    reason = rejection_reason(token)

    # Assert
    assert reason == "bad_signature"


def test_decode_access_token_signed_with_other_ed25519_key_rejected_as_bad_signature() -> None:
    # Arrange
    token = an_access_token(key=an_eddsa_key(seed=b"\x08" * 32))

    # Act
    reason = rejection_reason(token, keys={KEY_ID: an_eddsa_key(seed=b"\x07" * 32)})

    # Assert
    assert reason == "bad_signature"


def test_decode_access_token_unknown_kid_rejected_as_unknown_key() -> None:
    # Arrange
    token = an_access_token(key_id="k-unknown")

    # Act
    reason = rejection_reason(token)

    # Assert
    assert reason == "unknown_key"


def test_decode_access_token_missing_kid_rejected_as_unknown_key() -> None:
    # Arrange
    token = a_crafted_token(access_claims(), headers={"typ": TOKEN_TYPE})

    # Act
    reason = rejection_reason(token)

    # Assert
    assert reason == "unknown_key"


def test_decode_access_token_non_string_kid_rejected_as_malformed() -> None:
    # Arrange: PyJWT refuses to encode (and to read) a non-string kid, so build it by hand.
    header = {"alg": "HS256", "kid": 1, "typ": TOKEN_TYPE}
    token = a_hand_signed_token(header, access_claims(), hmac_secret=HS_KEY.encode())

    # Act
    reason = rejection_reason(token, keys={"1": an_hs256_key()})

    # Assert
    assert reason == "malformed"


# --- key rotation -----------------------------------------------------------------------


def test_decode_access_token_old_kid_still_in_key_set_returns_claims() -> None:
    # Arrange
    old, new = an_hs256_key(HS_KEY), an_eddsa_key()
    token = an_access_token(key_id="k-old", key=old)

    # Act
    claims = decode_access_token(token, **token_expectations(keys={"k-old": old, "k-new": new}))

    # Assert
    assert claims["jti"] == TOKEN_ID


def test_decode_access_token_old_kid_removed_from_key_set_rejected_as_unknown_key() -> None:
    # Arrange
    old, new = an_hs256_key(HS_KEY), an_eddsa_key()
    token = an_access_token(key_id="k-old", key=old)

    # Act
    reason = rejection_reason(token, keys={"k-new": new})

    # Assert
    assert reason == "unknown_key"


def test_decode_access_token_new_kid_after_rotation_returns_claims() -> None:
    # Arrange
    old, new = an_hs256_key(HS_KEY), an_eddsa_key()
    token = an_access_token(key_id="k-new", key=new)

    # Act
    claims = decode_access_token(token, **token_expectations(keys={"k-old": old, "k-new": new}))

    # Assert
    assert claims["jti"] == TOKEN_ID


# --- time -------------------------------------------------------------------------------


def test_decode_access_token_past_expiry_and_leeway_rejected_as_expired() -> None:
    # Arrange
    token = an_access_token()
    later = NOW + TOKEN_LIFETIME + LEEWAY + timedelta(seconds=1)

    # Act
    reason = rejection_reason(token, now=later, leeway=LEEWAY)

    # Assert
    assert reason == "expired"


def test_decode_access_token_at_expiry_plus_leeway_rejected_as_expired() -> None:
    # Arrange
    token = an_access_token()

    # Act
    reason = rejection_reason(token, now=NOW + TOKEN_LIFETIME + LEEWAY, leeway=LEEWAY)

    # Assert
    assert reason == "expired"


def test_decode_access_token_past_expiry_inside_leeway_returns_claims() -> None:
    # Arrange
    token = an_access_token()
    later = NOW + TOKEN_LIFETIME + LEEWAY - timedelta(seconds=1)

    # Act
    claims = decode_access_token(token, **token_expectations(now=later, leeway=LEEWAY))

    # Assert
    assert claims["sub"] == SUBJECT


def test_decode_access_token_zero_leeway_at_expiry_rejected_as_expired() -> None:
    # Arrange
    token = an_access_token()

    # Act
    reason = rejection_reason(token, now=NOW + TOKEN_LIFETIME, leeway=timedelta(0))

    # Assert
    assert reason == "expired"


def test_decode_access_token_before_nbf_beyond_leeway_rejected_as_not_yet_valid() -> None:
    # Arrange
    token = an_access_token(now=NOW + LEEWAY + timedelta(seconds=1))

    # Act
    reason = rejection_reason(token, now=NOW, leeway=LEEWAY)

    # Assert
    assert reason == "not_yet_valid"


def test_decode_access_token_before_nbf_inside_leeway_returns_claims() -> None:
    # Arrange: the issuer's clock runs 20 s ahead of the verifier's.
    token = an_access_token(now=NOW + timedelta(seconds=20))

    # Act
    claims = decode_access_token(token, **token_expectations(now=NOW, leeway=LEEWAY))

    # Assert
    assert claims["sub"] == SUBJECT


def test_decode_access_token_iat_in_future_rejected_as_issued_in_future() -> None:
    # Arrange
    future = int((NOW + LEEWAY + timedelta(minutes=1)).timestamp())
    token = a_crafted_token(access_claims(iat=future))

    # Act
    reason = rejection_reason(token, leeway=LEEWAY)

    # Assert
    assert reason == "issued_in_future"


@pytest.mark.parametrize("claim", ["exp", "nbf", "iat"])
def test_decode_access_token_non_numeric_time_claim_rejected_as_malformed(claim: str) -> None:
    # Arrange
    token = a_crafted_token(access_claims() | {claim: "soon"})

    # Act
    reason = rejection_reason(token)

    # Assert
    assert reason == "malformed"


def test_decode_access_token_infinite_exp_rejected_as_malformed() -> None:
    # Arrange: json.dumps writes Infinity and PyJWT's json.loads reads it back.
    token = a_crafted_token(access_claims(exp=float("inf")))

    # Act
    reason = rejection_reason(token)

    # Assert
    assert reason == "malformed"


def test_decode_access_token_numeric_string_exp_rejected_as_malformed() -> None:
    # Arrange: RFC 7519 NumericDate is a JSON number, never a string.
    far_future = str(int((NOW + timedelta(days=3650)).timestamp()))
    token = a_crafted_token(access_claims(exp=far_future))

    # Act
    reason = rejection_reason(token)

    # Assert
    assert reason == "malformed"


# --- issuer, audience, required claims ----------------------------------------------------


def test_decode_access_token_other_audience_rejected_as_wrong_audience() -> None:
    # Arrange
    token = an_access_token(audience="admin-api")

    # Act
    reason = rejection_reason(token)

    # Assert
    assert reason == "wrong_audience"


def test_decode_access_token_audience_list_rejected_as_wrong_audience() -> None:
    # Arrange: strict_aud refuses a list, even one that contains the audience.
    token = a_crafted_token(access_claims(aud=[AUDIENCE, "admin-api"]))

    # Act
    reason = rejection_reason(token)

    # Assert
    assert reason == "wrong_audience"


def test_decode_access_token_other_issuer_rejected_as_wrong_issuer() -> None:
    # Arrange
    token = an_access_token(issuer="https://evil.example")

    # Act
    reason = rejection_reason(token)

    # Assert
    assert reason == "wrong_issuer"


def test_decode_access_token_issuer_prefix_rejected_as_wrong_issuer() -> None:
    # Arrange: PyJWT < 2.10.1 accepted a partial issuer match.
    token = an_access_token(issuer=ISSUER[:-1])

    # Act
    reason = rejection_reason(token)

    # Assert
    assert reason == "wrong_issuer"


@pytest.mark.parametrize("claim", REQUIRED_CLAIMS)
def test_decode_access_token_missing_required_claim_rejected_as_missing_claim(
    claim: str,
) -> None:
    # Arrange
    token = a_crafted_token(access_claims(without=[claim]))

    # Act
    with pytest.raises(TokenRejected) as caught:
        decode_access_token(token, **token_expectations())

    # Assert
    assert caught.value.reason == "missing_claim"
    assert caught.value.detail == f"claim={claim}"


@pytest.mark.parametrize("claim", ["sub", "jti"])
def test_decode_access_token_non_string_identifier_rejected_as_malformed(claim: str) -> None:
    # Arrange
    token = a_crafted_token(access_claims() | {claim: 12345})

    # Act
    reason = rejection_reason(token)

    # Assert
    assert reason == "malformed"


# --- malformed and tampered ---------------------------------------------------------------


@pytest.mark.parametrize(
    "token",
    ["", "abc", "a.b.c", "a.b", "....", "eyJhbGciOiJIUzI1NiJ9", "x" * 9000],
    ids=["empty", "word", "three-junk-segments", "two-segments", "dots", "header-only", "huge"],
)
def test_decode_access_token_garbage_rejected_as_malformed(token: str) -> None:
    # Arrange: the token is the parameter.

    # Act
    reason = rejection_reason(token)

    # Assert
    assert reason == "malformed"


@pytest.mark.parametrize("token", [None, 42, b"a.b.c"], ids=["none", "int", "bytes"])
def test_decode_access_token_non_string_rejected_as_malformed(token: object) -> None:
    # Arrange: the token is the parameter.

    # Act
    reason = rejection_reason(token)

    # Assert
    assert reason == "malformed"


def test_decode_access_token_header_not_an_object_rejected_as_malformed() -> None:
    # Arrange
    token = f"{b64url(b'[1]')}.{b64url_json(access_claims())}.c2ln"

    # Act
    reason = rejection_reason(token)

    # Assert
    assert reason == "malformed"


def test_decode_access_token_one_payload_character_changed_rejected() -> None:
    # Arrange
    header, payload, signature = an_access_token().split(".")
    middle = len(payload) // 2
    swapped = "A" if payload[middle] != "A" else "B"
    token = f"{header}.{payload[:middle]}{swapped}{payload[middle + 1 :]}.{signature}"

    # Act
    reason = rejection_reason(token)

    # Assert
    assert reason in {"bad_signature", "malformed"}


def test_decode_access_token_payload_replaced_with_forged_claims_rejected_as_bad_signature() -> (
    None
):
    # Arrange
    header, _, signature = an_access_token().split(".")
    forged = b64url_json(access_claims(sub="admin"))
    token = f"{header}.{forged}.{signature}"

    # Act
    reason = rejection_reason(token)

    # Assert
    assert reason == "bad_signature"


def test_decode_access_token_signature_stripped_rejected_as_bad_signature() -> None:
    # Arrange
    header, payload, _ = an_access_token().split(".")
    token = f"{header}.{payload}."

    # Act
    reason = rejection_reason(token)

    # Assert
    assert reason == "bad_signature"
