"""Sign-In with Ethereum (EIP-4361) checks that siwe-py does not do on its own.

siwe-py verifies the signature, domain, nonce, expiry and not-before, but not the chain id,
the URI or a future issued-at; it raises foreign exceptions on some bad signatures; and its
ABNF parser slows super-linearly on long input. So: the message is capped at
:data:`MAX_MESSAGE_BYTES` before parsing, every siwe (or other) exception is mapped to a
:class:`SignInRejected` reason, and the remaining fields are compared here.

Reasons: ``message_too_long``, ``malformed_message``, ``domain_mismatch``, ``uri_mismatch``,
``chain_not_allowed``, ``nonce_mismatch``, ``message_expired``, ``message_not_yet_valid``,
``issued_in_future``, ``bad_signature``. The nonce's own state (unknown, used, expired) is
the store's to judge, see ``IdentityService``.
"""

from __future__ import annotations

import warnings
from collections.abc import Collection
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from eth_account.messages import defunct_hash_message

from domain.identity.errors import SignInRejected

with warnings.catch_warnings():
    # siwe's grammar redefines RFC 5234 core rules; abnf warns about it once, at import.
    warnings.filterwarnings("ignore", message="rule .* redefines")
    import siwe
    from siwe import SiweMessage

MAX_MESSAGE_BYTES = 1024
DEFAULT_CLOCK_SKEW = timedelta(seconds=60)


@dataclass(frozen=True)
class SignInMessage:
    """The fields of a parsed SIWE message that the service needs before verifying."""

    address: str
    chain_id: int
    nonce: str
    domain: str
    uri: str
    canonical_text: str


def sign_in_message(
    *,
    domain: str,
    address: str,
    uri: str,
    chain_id: int,
    nonce: str,
    issued_at: datetime,
    expires_at: datetime,
    statement: str,
) -> str:
    """Return the EIP-4361 text a wallet is asked to sign."""
    siwe_message = SiweMessage(
        domain=domain,
        address=address,
        statement=statement,
        uri=uri,
        version="1",
        chain_id=chain_id,
        nonce=nonce,
        issued_at=_rfc3339(issued_at),
        expiration_time=_rfc3339(expires_at),
    )
    return str(siwe_message.prepare_message())


def read_sign_in_message(message: str) -> SignInMessage:
    """Parse a SIWE message, refusing oversized or malformed text."""
    parsed = _parse(message)
    return SignInMessage(
        address=parsed.address,
        chain_id=int(parsed.chain_id),
        nonce=parsed.nonce,
        domain=parsed.domain,
        uri=str(parsed.uri),
        canonical_text=parsed.prepare_message(),
    )


def verify_sign_in(
    message: str,
    signature: str,
    *,
    domain: str,
    uri: str,
    nonce: str,
    chain_ids: Collection[int],
    now: datetime,
    clock_skew: timedelta = DEFAULT_CLOCK_SKEW,
) -> str:
    """Verify a signed SIWE message and return the signer's EIP-55 address."""
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    parsed = _parse(message)
    if parsed.prepare_message() != message:
        # siwe verifies its own re-serialisation; only the exact canonical text is accepted,
        # so what the wallet signed is byte for byte what we were sent.
        raise SignInRejected("malformed_message", "the message is not in canonical EIP-4361 form")
    _check_fields(parsed, domain=domain, uri=uri, chain_ids=chain_ids, now=now, skew=clock_skew)
    _check_signature(parsed, signature, nonce=nonce, now=now)
    return str(parsed.address)


def signed_message_hash(canonical_text: str) -> bytes:
    """Return the EIP-191 digest a contract wallet's ``isValidSignature`` is asked about."""
    return bytes(defunct_hash_message(text=canonical_text))


def _parse(message: str) -> SiweMessage:
    if not isinstance(message, str):
        raise SignInRejected("malformed_message", "the message must be a string")
    if len(message.encode("utf-8", errors="surrogatepass")) > MAX_MESSAGE_BYTES:
        raise SignInRejected("message_too_long", f"limit={MAX_MESSAGE_BYTES} bytes")
    try:
        # The regex parser, not siwe's ABNF one: the ABNF parser costs ~60 ms per message here
        # and is super-linear. Strictness is not lost: verify_sign_in accepts only text equal
        # to the re-serialisation of the validated fields.
        return SiweMessage.from_message(message, abnf=False)
    except Exception as exc:  # siwe raises ValueError, pydantic and ABNF errors
        raise SignInRejected("malformed_message", type(exc).__name__) from None


def _check_fields(
    parsed: SiweMessage,
    *,
    domain: str,
    uri: str,
    chain_ids: Collection[int],
    now: datetime,
    skew: timedelta,
) -> None:
    if parsed.domain != domain:
        raise SignInRejected("domain_mismatch", f"expected={domain}")
    if str(parsed.uri) != uri:
        raise SignInRejected("uri_mismatch", f"expected={uri}")
    if int(parsed.chain_id) not in chain_ids:
        raise SignInRejected("chain_not_allowed", f"chain_id={parsed.chain_id}")
    if _instant(parsed.issued_at) > now + skew:
        raise SignInRejected("issued_in_future", f"skew={int(skew.total_seconds())}s")


def _check_signature(parsed: SiweMessage, signature: str, *, nonce: str, now: datetime) -> None:
    if not isinstance(signature, str) or len(signature) > 1024:
        raise SignInRejected("bad_signature", "the signature must be a hex string")
    try:
        parsed.verify(signature, nonce=nonce, timestamp=now)
    except siwe.NonceMismatch:
        raise SignInRejected("nonce_mismatch") from None
    except siwe.ExpiredMessage:
        raise SignInRejected("message_expired") from None
    except siwe.NotYetValidMessage:
        raise SignInRejected("message_not_yet_valid") from None
    except Exception:  # InvalidSignature, eth_keys BadSignature, odd encodings
        raise SignInRejected("bad_signature") from None


def _instant(value: object) -> datetime:
    instant = getattr(value, "_datetime", None)
    if not isinstance(instant, datetime):
        raise SignInRejected("malformed_message", "issued-at is not a timestamp")
    return instant


def _rfc3339(instant: datetime) -> str:
    if instant.tzinfo is None:
        raise ValueError("instants must be timezone-aware")
    instant = instant.astimezone(UTC)
    return instant.strftime("%Y-%m-%dT%H:%M:%S.") + f"{instant.microsecond // 1000:03d}Z"
