"""Service tokens: scoped machine-to-machine credentials, shown once, stored as a hash."""

from __future__ import annotations

from collections.abc import Collection

from domain.clock import Clock
from domain.identity.errors import ServiceTokenRejected
from domain.identity.model import CreatedServiceToken, ServiceTokenRecord
from domain.identity.policy import new_id
from domain.identity.ports import Entropy, IdentityStore
from domain.identity.refresh import SERVICE_TOKEN_PREFIX, token_hash


class ServiceTokens:
    """Create, list, revoke and check service tokens."""

    def __init__(self, *, store: IdentityStore, clock: Clock, entropy: Entropy, pepper: str):
        self.store = store
        self.clock = clock
        self.entropy = entropy
        self.pepper = pepper

    def create(self, name: str, scopes: Collection[str]) -> CreatedServiceToken:
        """Create a scoped service token; its secret is returned once and stored as a hash."""
        secret = SERVICE_TOKEN_PREFIX + self.entropy.token(32)
        record = ServiceTokenRecord(
            id=new_id(self.entropy),
            name=name,
            scopes=tuple(sorted(set(scopes))),
            created_at=self.clock.now(),
            status="active",
        )
        self.store.add_service_token(record, token_hash(self.pepper, secret))
        return CreatedServiceToken(record, secret)

    def list(self) -> list[ServiceTokenRecord]:
        """Return every service token's metadata, newest first."""
        return self.store.list_service_tokens()

    def revoke(self, name: str) -> None:
        """Revoke an active service token by name."""
        if not self.store.revoke_service_token(name, self.clock.now()):
            raise ServiceTokenRejected("service_token_unknown", f"name={name}")

    def authenticate(self, secret: str, scope: str) -> ServiceTokenRecord:
        """Return the service token if it is active and holds ``scope``."""
        record = self.store.find_service_token(token_hash(self.pepper, secret))
        if record is None or record.status != "active":
            raise ServiceTokenRejected("service_token_unknown")
        if scope not in record.scopes:
            raise ServiceTokenRejected("scope_missing", f"scope={scope}")
        return record
