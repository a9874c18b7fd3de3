"""Short-lived JWT access tokens: issued with a key id, decoded against a pinned algorithm.

Each key carries exactly one algorithm (HS256 or EdDSA), so a token's header cannot pick a
weaker one, and ``none`` is never accepted. The key id (``kid``) lets keys rotate: the
newest key signs, every listed key verifies until it is removed. Time claims are checked
against the injected ``now`` (PyJWT would read the wall clock), with a small leeway.
Required claims: ``exp``, ``iat``, ``nbf``, ``iss``, ``aud``, ``sub``, ``jti``.

Reasons: ``malformed``, ``unknown_key``, ``algorithm_not_allowed``, ``bad_signature``,
``missing_claim``, ``wrong_issuer``, ``wrong_audience``, ``expired``, ``not_yet_valid``,
``issued_in_future``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any, Literal

import jwt

from domain.identity.errors import TokenRejected

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
REQUIRED_CLAIMS = ("exp", "iat", "nbf", "iss", "aud", "sub", "jti")
TOKEN_TYPE = "at+jwt"


@dataclass(frozen=True)
class AccessKey:
    """One key of the key set: its algorithm, what verifies, and (optionally) what signs."""

    algorithm: Literal["HS256", "EdDSA"]
    verification_key: str
    signing_key: str | None = None


def issue_access_token(
    *,
    key_id: str,
    key: AccessKey,
    subject: str,
    issuer: str,
    audience: str,
    token_id: str,
    now: datetime,
    lifetime: timedelta,
    extra_claims: Mapping[str, Any] | None = None,
) -> str:
    """Sign an access token for ``subject`` valid from ``now`` for ``lifetime``."""
    if key.signing_key is None:
        raise ValueError(f"key cannot sign: kid={key_id}")
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    issued = int(now.timestamp())
    claims: dict[str, Any] = {
        **(extra_claims or {}),
        "iss": issuer,
        "aud": audience,
        "sub": subject,
        "iat": issued,
        "nbf": issued,
        "exp": issued + int(lifetime.total_seconds()),
        "jti": token_id,
    }
    return jwt.encode(
        claims, key.signing_key, algorithm=key.algorithm, headers={"kid": key_id, "typ": TOKEN_TYPE}
    )


def decode_access_token(
    token: str,
    *,
    keys: Mapping[str, AccessKey],
    issuer: str,
    audience: str,
    now: datetime,
    leeway: timedelta = timedelta(seconds=30),
) -> dict[str, Any]:
    """Verify ``token`` and return its claims, or raise :class:`TokenRejected`."""
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    key_id, key = _select_key(token, keys)
    try:
        claims: dict[str, Any] = jwt.decode(
            token,
            key.verification_key,
            algorithms=[key.algorithm],
            audience=audience,
            issuer=issuer,
            options={
                "require": list(REQUIRED_CLAIMS),
                "verify_exp": False,
                "verify_nbf": False,
                "verify_iat": False,
                "strict_aud": True,
            },
        )
    except jwt.InvalidAlgorithmError:
        raise TokenRejected("algorithm_not_allowed", f"kid={key_id}") from None
    except jwt.InvalidSignatureError:
        raise TokenRejected("bad_signature") from None
    except jwt.MissingRequiredClaimError as exc:
        raise TokenRejected("missing_claim", f"claim={exc.claim}") from None
    except jwt.InvalidIssuerError:
        raise TokenRejected("wrong_issuer") from None
    except jwt.InvalidAudienceError:
        raise TokenRejected("wrong_audience") from None
    except (jwt.InvalidTokenError, ValueError, TypeError):
        raise TokenRejected("malformed") from None
    _check_times(claims, now=now, leeway=leeway)
    if not isinstance(claims["sub"], str) or not isinstance(claims["jti"], str):
        raise TokenRejected("malformed", "sub and jti must be strings")
    return claims


def _select_key(token: str, keys: Mapping[str, AccessKey]) -> tuple[str, AccessKey]:
    if not isinstance(token, str) or len(token) > 8192:
        raise TokenRejected("malformed")
    try:
        header = jwt.get_unverified_header(token)
    except (jwt.InvalidTokenError, ValueError, TypeError):
        raise TokenRejected("malformed") from None
    key_id = header.get("kid")
    if not isinstance(key_id, str) or key_id not in keys:
        raise TokenRejected("unknown_key")
    key = keys[key_id]
    if header.get("alg") != key.algorithm:
        raise TokenRejected("algorithm_not_allowed", f"alg={header.get('alg')!s:.20}")
    return key_id, key


def _check_times(claims: Mapping[str, Any], *, now: datetime, leeway: timedelta) -> None:
    exp, nbf, iat = (_numeric_date(claims[name]) for name in ("exp", "nbf", "iat"))
    moment = Decimal((now - _EPOCH) // timedelta(microseconds=1)).scaleb(-6)
    slack = Decimal(leeway // timedelta(microseconds=1)).scaleb(-6)
    if moment >= exp + slack:
        raise TokenRejected("expired")
    if moment + slack < nbf:
        raise TokenRejected("not_yet_valid")
    if moment + slack < iat:
        raise TokenRejected("issued_in_future")


def _numeric_date(value: object) -> Decimal:
    # RFC 7519 NumericDate: a JSON number (not a string, not a boolean), finite; compared as
    # an exact Decimal (a JSON float's binary value, exactly).
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise TokenRejected("malformed", "time claims must be finite numbers")
    return Decimal(value)
