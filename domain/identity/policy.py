"""Identity settings as the service sees them, and small shared value helpers."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from datetime import timedelta

from eth_utils.address import is_hex_address, to_checksum_address

from domain.identity.access_tokens import AccessKey
from domain.identity.errors import SignInRejected
from domain.identity.ports import Entropy


@dataclass(frozen=True)
class IdentityPolicy:
    """Every identity setting the service needs, already validated."""

    siwe_domain: str
    siwe_uri: str
    siwe_statement: str
    chain_ids: Collection[int]
    nonce_ttl: timedelta
    clock_skew: timedelta
    keys: Mapping[str, AccessKey]
    signing_kid: str
    issuer: str
    audience: str
    access_ttl: timedelta
    token_leeway: timedelta
    refresh_idle_ttl: timedelta
    refresh_absolute_ttl: timedelta
    refresh_grace: timedelta
    pepper: str
    admin_addresses: frozenset[str] = field(default_factory=frozenset)


def checksum_address(address: object) -> str:
    """Return the EIP-55 form of a hex address, or raise ``SignInRejected``."""
    if not isinstance(address, str) or not is_hex_address(address):
        raise SignInRejected("malformed_address", "expected 0x followed by 40 hex digits")
    return str(to_checksum_address(address))


def new_id(entropy: Entropy) -> str:
    """Return a random (version 4) UUID string drawn from ``entropy``."""
    raw = entropy.hex(16)
    return f"{raw[:8]}-{raw[8:12]}-4{raw[13:16]}-{_variant(raw[16])}{raw[17:20]}-{raw[20:32]}"


def _variant(nibble: str) -> str:
    return "89ab"[int(nibble, 16) % 4]
