"""Shared test kit: deterministic builders for wallets, SIWE messages and access tokens.

Every builder has sensible defaults that fit together (the message's domain, URI, chain id
and nonce match :func:`sign_in_expectations`; a token from :func:`an_access_token` decodes
with :func:`token_expectations`), so a test overrides only the field it is about. Keys
come from fixed seeds, so failures reproduce byte for byte. Nothing here touches the
network, the wall clock or the database, so API and adapter tests can reuse it.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from eth_account import Account
from eth_account.messages import encode_defunct
from eth_account.signers.local import LocalAccount
from siwe import SiweMessage

from domain.identity.access_tokens import AccessKey, issue_access_token

# --- Sign-In with Ethereum ------------------------------------------------------------

DOMAIN = "clash.example"
LOGIN_URI = "https://clash.example/login"
CHAIN_ID = 1
NONCE = "8f14e45fceea167a5a36dedd4bea2543"  # the shape of secrets.token_hex(16)
STATEMENT = "Sign in to Clash of Clones."
ISSUED_AT = datetime(2025, 1, 1, 0, 0, tzinfo=UTC)
EXPIRES_AT = ISSUED_AT + timedelta(minutes=10)
NOW = ISSUED_AT + timedelta(minutes=5)


def a_wallet(name: str = "alice") -> LocalAccount:
    """Return an externally owned account whose private key is derived from ``name``."""
    seed = hashlib.sha256(f"clash-of-clones:test-wallet:{name}".encode()).digest()
    account: LocalAccount = Account.from_key(seed)
    return account


def rfc3339(instant: datetime) -> str:
    """Format a tz-aware instant the way wallets do: UTC, milliseconds, ``Z``."""
    return instant.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def a_sign_in_message(
    *,
    wallet: LocalAccount | None = None,
    address: str | None = None,
    domain: str = DOMAIN,
    uri: str = LOGIN_URI,
    chain_id: int = CHAIN_ID,
    nonce: str = NONCE,
    issued_at: datetime = ISSUED_AT,
    expires_at: datetime | None = EXPIRES_AT,
    not_before: datetime | None = None,
    statement: str | None = STATEMENT,
    request_id: str | None = None,
    resources: Iterable[str] | None = None,
) -> str:
    """Return EIP-4361 text built with siwe-py, so optional fields are reachable too.

    ``address`` wins over ``wallet``; without either, the message names :func:`a_wallet`.
    """
    fields: dict[str, Any] = {
        "domain": domain,
        "address": address or (wallet or a_wallet()).address,
        "statement": statement,
        "uri": uri,
        "version": "1",
        "chain_id": chain_id,
        "nonce": nonce,
        "issued_at": rfc3339(issued_at),
        "request_id": request_id,
        "resources": list(resources) if resources is not None else None,
    }
    if expires_at is not None:
        fields["expiration_time"] = rfc3339(expires_at)
    if not_before is not None:
        fields["not_before"] = rfc3339(not_before)
    text: str = SiweMessage(**fields).prepare_message()
    return text


def signed(message: str, wallet: LocalAccount) -> str:
    """Return the wallet's EIP-191 ``personal_sign`` signature of ``message`` as 0x-hex."""
    signature: str = wallet.sign_message(encode_defunct(text=message)).signature.to_0x_hex()
    return signature


def a_signed_sign_in(wallet: LocalAccount | None = None, **message_fields: Any) -> tuple[str, str]:
    """Return ``(message, signature)``: a message from the wallet, signed by it."""
    signer = wallet or a_wallet()
    message = a_sign_in_message(wallet=signer, **message_fields)
    return message, signed(message, signer)


def sign_in_expectations(**overrides: Any) -> dict[str, Any]:
    """Return the keyword arguments ``verify_sign_in`` needs to accept the default message."""
    expectations: dict[str, Any] = {
        "domain": DOMAIN,
        "uri": LOGIN_URI,
        "nonce": NONCE,
        "chain_ids": frozenset({CHAIN_ID}),
        "now": NOW,
    }
    return expectations | overrides


# --- Access tokens ----------------------------------------------------------------------

HS_KEY = "test-only-hs256-secret-of-at-least-32-bytes-0001"
OTHER_HS_KEY = "test-only-hs256-secret-of-at-least-32-bytes-0002"
KEY_ID = "k1"
ISSUER = "https://api.clash.example"
AUDIENCE = "clash-api"
SUBJECT = "user-0001"
TOKEN_ID = "3f2a3c2e-8d0b-4a57-9a7e-2f1d5f0c9b11"
TOKEN_LIFETIME = timedelta(minutes=10)
TOKEN_TYPE = "at+jwt"


def an_ed25519_key_pair(seed: bytes = b"\x07" * 32) -> tuple[str, str]:
    """Return ``(private_pem, public_pem)`` of the Ed25519 key with the 32-byte ``seed``."""
    private = Ed25519PrivateKey.from_private_bytes(seed)
    private_pem = private.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode("ascii")
    public_pem = (
        private.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode("ascii")
    )
    return private_pem, public_pem


def an_hs256_key(secret: str = HS_KEY, *, can_sign: bool = True) -> AccessKey:
    """Return an HS256 key of the key set."""
    return AccessKey("HS256", secret, secret if can_sign else None)


def an_eddsa_key(seed: bytes = b"\x07" * 32, *, can_sign: bool = True) -> AccessKey:
    """Return an EdDSA (Ed25519) key of the key set; without signing it only verifies."""
    private_pem, public_pem = an_ed25519_key_pair(seed)
    return AccessKey("EdDSA", public_pem, private_pem if can_sign else None)


def access_claims(
    *, now: datetime = NOW, without: Iterable[str] = (), **overrides: Any
) -> dict[str, Any]:
    """Return a full, valid claim set at ``now``, minus ``without``, plus ``overrides``."""
    issued = int(now.timestamp())
    claims: dict[str, Any] = {
        "iss": ISSUER,
        "aud": AUDIENCE,
        "sub": SUBJECT,
        "iat": issued,
        "nbf": issued,
        "exp": issued + int(TOKEN_LIFETIME.total_seconds()),
        "jti": TOKEN_ID,
    }
    claims |= overrides
    for name in without:
        claims.pop(name, None)
    return claims


def a_crafted_token(
    claims: Mapping[str, Any],
    *,
    secret: str = HS_KEY,
    algorithm: str = "HS256",
    headers: Mapping[str, Any] | None = None,
) -> str:
    """Sign arbitrary ``claims`` with PyJWT directly, bypassing ``issue_access_token``."""
    header = {"kid": KEY_ID, "typ": TOKEN_TYPE} if headers is None else dict(headers)
    return jwt.encode(dict(claims), secret, algorithm=algorithm, headers=header)


def b64url(data: bytes) -> str:
    """Encode ``data`` as unpadded base64url, the JOSE way."""
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64url_json(value: Mapping[str, Any]) -> str:
    """Encode a JSON object as an unpadded base64url segment."""
    return b64url(json.dumps(dict(value), separators=(",", ":")).encode("utf-8"))


def a_hand_signed_token(
    header: Mapping[str, Any], claims: Mapping[str, Any], *, hmac_secret: bytes | None
) -> str:
    """Return a JWS built by hand: HMAC-SHA256 over it when given a secret, else unsigned.

    PyJWT refuses to produce the hostile shapes attack tests need (``alg: none`` with a
    key id, HS256 keyed with a PEM public key), so they are assembled here.
    """
    signing_input = f"{b64url_json(header)}.{b64url_json(claims)}"
    if hmac_secret is None:
        return f"{signing_input}."
    mac = hmac.new(hmac_secret, signing_input.encode("ascii"), hashlib.sha256).digest()
    return f"{signing_input}.{b64url(mac)}"


def token_expectations(**overrides: Any) -> dict[str, Any]:
    """Return the keyword arguments ``decode_access_token`` needs for a default token."""
    expectations: dict[str, Any] = {
        "keys": {KEY_ID: an_hs256_key()},
        "issuer": ISSUER,
        "audience": AUDIENCE,
        "now": NOW,
    }
    return expectations | overrides


def an_access_token(
    *,
    key_id: str = KEY_ID,
    key: AccessKey | None = None,
    subject: str = SUBJECT,
    issuer: str = ISSUER,
    audience: str = AUDIENCE,
    token_id: str = TOKEN_ID,
    now: datetime = NOW,
    lifetime: timedelta = TOKEN_LIFETIME,
    extra_claims: Mapping[str, Any] | None = None,
) -> str:
    """Return a token issued the production way (``issue_access_token``) with defaults."""
    return issue_access_token(
        key_id=key_id,
        key=key or an_hs256_key(),
        subject=subject,
        issuer=issuer,
        audience=audience,
        token_id=token_id,
        now=now,
        lifetime=lifetime,
        extra_claims=extra_claims,
    )
