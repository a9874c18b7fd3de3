"""The ports identity needs; ``adapters/`` implements them (SQL store, RPC, entropy)."""

from __future__ import annotations

from abc import ABC, abstractmethod
from contextlib import AbstractContextManager
from datetime import datetime
from typing import Protocol

from domain.identity.keyring import ActiveKeys
from domain.identity.model import (
    NewFamily,
    NewRefreshToken,
    NonceRecord,
    ServiceTokenRecord,
    User,
)
from domain.identity.refresh import FamilyState, RefreshTokenState


class Entropy(Protocol):
    """A source of unguessable values (``secrets`` in production)."""

    def token(self, nbytes: int) -> str:
        """Return a URL-safe random string carrying ``nbytes`` of entropy."""
        ...

    def hex(self, nbytes: int) -> str:
        """Return ``nbytes`` random bytes as lowercase hex."""
        ...


class KeySource(Protocol):
    """The access-token keys in force at an instant (configured, or rotated and stored)."""

    def active(self, now: datetime) -> ActiveKeys:
        """Return the signing key and the verifying keys at ``now``."""
        ...


class ContractWalletVerifier(Protocol):
    """Asks a chain whether a contract wallet accepts a signature (EIP-1271)."""

    def is_valid_signature(
        self, *, address: str, chain_id: int, message_hash: bytes, signature: str
    ) -> bool:
        """Return whether ``address`` answers the EIP-1271 magic value."""
        ...


class RefreshUnit(ABC):
    """One locked refresh: the presented token and its family, changed atomically."""

    token: RefreshTokenState | None
    family: FamilyState | None
    family_id: str
    user_id: str
    successor_hash: str | None
    successor_salt: str | None
    successor_expires_at: datetime | None

    @abstractmethod
    def rotate(self, *, salt: str, successor: NewRefreshToken, now: datetime) -> None:
        """Mark the presented token rotated and store its one successor."""

    @abstractmethod
    def revoke_family(self, *, reason: str, now: datetime) -> None:
        """Revoke the family and every token in it."""


class IdentityStore(ABC):
    """Persistence of users, wallets, nonces, refresh families and service tokens."""

    @abstractmethod
    def save_nonce(self, record: NonceRecord) -> None:
        """Store a freshly issued nonce."""

    @abstractmethod
    def find_nonce(self, nonce: str) -> NonceRecord | None:
        """Return a nonce record, or ``None``."""

    @abstractmethod
    def complete_sign_in(
        self,
        *,
        nonce: str | None,
        address: str,
        chain_id: int,
        wallet_kind: str,
        new_user_id: str,
        family: NewFamily,
        first_token: NewRefreshToken,
        now: datetime,
    ) -> str:
        """Consume the nonce, find or create the wallet's user, start a family; return user id.

        Raises ``SignInRejected("nonce_used")`` when another request consumed the nonce first.
        """

    @abstractmethod
    def get_user(self, user_id: str) -> User | None:
        """Return a user with their wallets (roles are the service's to add)."""

    @abstractmethod
    def user_id_for_wallet(self, address: str) -> str | None:
        """Return the id of the user a wallet belongs to, or ``None``."""

    @abstractmethod
    def refresh_unit(self, token_hash: str) -> AbstractContextManager[RefreshUnit]:
        """Lock the presented token and its family for one refresh decision."""

    @abstractmethod
    def revoke_family_of(
        self, *, token_hash: str | None, family_id: str | None, reason: str, now: datetime
    ) -> bool:
        """Revoke the family a token or id names; return whether one was found."""

    @abstractmethod
    def family_is_active(self, family_id: str, now: datetime) -> bool:
        """Return whether a family is neither revoked nor expired."""

    @abstractmethod
    def add_service_token(self, record: ServiceTokenRecord, token_hash: str) -> None:
        """Store a service token; raises ``ServiceTokenConflict`` on a taken name."""

    @abstractmethod
    def find_service_token(self, token_hash: str) -> ServiceTokenRecord | None:
        """Return the service token with this hash, or ``None``."""

    @abstractmethod
    def list_service_tokens(self) -> list[ServiceTokenRecord]:
        """Return every service token, newest first."""

    @abstractmethod
    def revoke_service_token(self, name: str, now: datetime) -> bool:
        """Revoke a service token by name; return whether an active one was found."""

    @abstractmethod
    def purge_expired(self, now: datetime) -> int:
        """Delete expired nonces and fully expired families; return rows removed."""
