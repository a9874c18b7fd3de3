"""Identity value types: users, wallets, nonces, sessions and service tokens (frozen)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class Wallet:
    """A wallet a user signs in with (EIP-55 address)."""

    address: str
    chain_id: int
    kind: str  # "eoa" | "contract"
    created_at: datetime


@dataclass(frozen=True)
class User:
    """A signed-in person: an internal id, their wallets, and their roles."""

    id: str
    created_at: datetime
    wallets: tuple[Wallet, ...]
    roles: tuple[str, ...] = ("user",)

    @property
    def is_admin(self) -> bool:
        """Whether the user holds the admin role."""
        return "admin" in self.roles


@dataclass(frozen=True)
class NonceRecord:
    """A sign-in nonce issued for one address and chain, single-use, expiring."""

    nonce: str
    address: str
    chain_id: int
    issued_at: datetime
    expires_at: datetime
    status: str = "issued"


@dataclass(frozen=True)
class Challenge:
    """What a wallet is asked to sign."""

    message: str
    nonce: str
    issued_at: datetime
    expires_at: datetime


@dataclass(frozen=True)
class NewRefreshToken:
    """A refresh token about to be stored (only its hash is)."""

    token_hash: str
    family_id: str
    issued_at: datetime
    expires_at: datetime
    parent_hash: str | None = None


@dataclass(frozen=True)
class NewFamily:
    """A refresh family about to be started by a sign-in."""

    id: str
    created_at: datetime
    absolute_expires_at: datetime


@dataclass(frozen=True)
class IssuedSession:
    """The tokens a sign-in or a refresh hands back."""

    access_token: str
    refresh_token: str
    expires_in: int
    user: User


@dataclass(frozen=True)
class ServiceTokenRecord:
    """A machine-to-machine credential: a name, scopes, and whether it still works."""

    id: str
    name: str
    scopes: tuple[str, ...]
    created_at: datetime
    status: str


@dataclass(frozen=True)
class CreatedServiceToken:
    """A freshly created service token; ``secret`` is shown once and never stored."""

    record: ServiceTokenRecord
    secret: str
