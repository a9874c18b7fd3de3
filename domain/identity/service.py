"""Identity orchestration: challenge, sign-in, refresh, logout, service tokens.

Rules live in the pure modules beside this one (``sign_in``, ``access_tokens``, ``refresh``);
this service sequences them against the ports, reading time from the service clock.
Failures are :class:`IdentityError` subclasses whose ``reason`` the API turns into a
problem ``type``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from domain.clock import Clock
from domain.identity.access_tokens import decode_access_token, issue_access_token
from domain.identity.errors import (
    ChallengeRefused,
    RefreshRejected,
    SignInRejected,
    UserNotFound,
)
from domain.identity.keyring import ConfiguredKeys
from domain.identity.model import (
    Challenge,
    IssuedSession,
    NewFamily,
    NewRefreshToken,
    NonceRecord,
    User,
)
from domain.identity.policy import IdentityPolicy, checksum_address, new_id
from domain.identity.ports import (
    ContractWalletVerifier,
    Entropy,
    IdentityStore,
    KeySource,
    RefreshUnit,
)
from domain.identity.refresh import (
    REFRESH_TOKEN_PREFIX,
    RefreshOutcome,
    decide_refresh,
    derive_successor,
    successor_expiry,
    token_hash,
)
from domain.identity.service_tokens import ServiceTokens
from domain.identity.sign_in import (
    read_sign_in_message,
    sign_in_message,
    signed_message_hash,
    verify_sign_in,
)

_REFRESH_REJECTIONS = {
    RefreshOutcome.FAMILY_REVOKED: "family_revoked",
    RefreshOutcome.FAMILY_EXPIRED: "family_expired",
    RefreshOutcome.TOKEN_EXPIRED: "token_expired",
    RefreshOutcome.TOKEN_REVOKED: "token_revoked",
    RefreshOutcome.REUSE_DETECTED: "token_reused",
}


class IdentityService:
    """Wallet sign-in and sessions over an :class:`IdentityStore`."""

    def __init__(
        self,
        *,
        store: IdentityStore,
        clock: Clock,
        entropy: Entropy,
        policy: IdentityPolicy,
        contract_wallets: ContractWalletVerifier | None = None,
        keys: KeySource | None = None,
    ) -> None:
        self.store = store
        self.clock = clock
        self.entropy = entropy
        self.policy = policy
        self.contract_wallets = contract_wallets
        self.keys = keys or ConfiguredKeys(policy.keys, policy.signing_kid)
        self.service_tokens = ServiceTokens(
            store=store, clock=clock, entropy=entropy, pepper=policy.pepper
        )

    def challenge(self, address: str, chain_id: int) -> Challenge:
        """Issue a single-use nonce and the EIP-4361 message to sign with it."""
        try:
            checksummed = checksum_address(address)
        except SignInRejected as exc:
            raise ChallengeRefused(exc.reason, exc.detail) from None
        if chain_id not in self.policy.chain_ids:
            raise ChallengeRefused("chain_not_allowed", f"chain_id={chain_id}")
        now = self.clock.now()
        record = NonceRecord(
            nonce=self.entropy.hex(16),
            address=checksummed,
            chain_id=chain_id,
            issued_at=now,
            expires_at=now + self.policy.nonce_ttl,
        )
        self.store.save_nonce(record)
        message = sign_in_message(
            domain=self.policy.siwe_domain,
            address=checksummed,
            uri=self.policy.siwe_uri,
            chain_id=chain_id,
            nonce=record.nonce,
            issued_at=now,
            expires_at=record.expires_at,
            statement=self.policy.siwe_statement,
        )
        return Challenge(message, record.nonce, record.issued_at, record.expires_at)

    def sign_in(self, message: str, signature: str) -> IssuedSession:
        """Verify a signed challenge and start a session."""
        parsed = read_sign_in_message(message)
        now = self.clock.now()
        nonce = self._usable_nonce(parsed.nonce, parsed.address, now)
        kind = self._verified_wallet_kind(message, signature, nonce.nonce, now)
        return self._start_session(nonce.nonce, parsed.address, parsed.chain_id, kind, now)

    def dev_sign_in(self, address: str) -> IssuedSession:
        """Sign in without a signature (development only; the API decides availability)."""
        checksummed = checksum_address(address)
        chain_id = min(self.policy.chain_ids)
        return self._start_session(None, checksummed, chain_id, "eoa", self.clock.now())

    def _usable_nonce(self, nonce: str, address: str, now: datetime) -> NonceRecord:
        record = self.store.find_nonce(nonce)
        if record is None:
            raise SignInRejected("nonce_unknown")
        if record.status == "used":
            raise SignInRejected("nonce_used")
        if record.expires_at <= now:
            raise SignInRejected("nonce_expired")
        if record.address != address:
            raise SignInRejected("address_mismatch", "the nonce was issued to another address")
        return record

    def _verified_wallet_kind(self, message: str, signature: str, nonce: str, now: datetime) -> str:
        try:
            verify_sign_in(
                message,
                signature,
                domain=self.policy.siwe_domain,
                uri=self.policy.siwe_uri,
                nonce=nonce,
                chain_ids=self.policy.chain_ids,
                now=now,
                clock_skew=self.policy.clock_skew,
            )
        except SignInRejected as rejected:
            if rejected.reason != "bad_signature":
                raise
            return self._contract_wallet_kind(message, signature, rejected)
        return "eoa"

    def _contract_wallet_kind(self, message: str, signature: str, rejected: Exception) -> str:
        if self.contract_wallets is None:
            if _signature_length(signature) not in (None, 65):
                raise SignInRejected(
                    "contract_wallet_unsupported",
                    "contract-wallet (EIP-1271) sign-in needs CLASH_EIP1271_RPC_URL",
                ) from rejected
            raise rejected
        parsed = read_sign_in_message(message)
        accepted = self.contract_wallets.is_valid_signature(
            address=parsed.address,
            chain_id=parsed.chain_id,
            message_hash=signed_message_hash(parsed.canonical_text),
            signature=signature,
        )
        if not accepted:
            raise SignInRejected("bad_signature", "neither the key nor the contract accepts it")
        return "contract"

    def _start_session(
        self, nonce: str | None, address: str, chain_id: int, kind: str, now: datetime
    ) -> IssuedSession:
        family = NewFamily(self.entropy.hex(16), now, now + self.policy.refresh_absolute_ttl)
        refresh = REFRESH_TOKEN_PREFIX + self.entropy.token(32)
        first = NewRefreshToken(
            token_hash=token_hash(self.policy.pepper, refresh),
            family_id=family.id,
            issued_at=now,
            expires_at=successor_expiry(
                now=now,
                idle=self.policy.refresh_idle_ttl,
                family_expires_at=family.absolute_expires_at,
            ),
        )
        user_id = self.store.complete_sign_in(
            nonce=nonce,
            address=address,
            chain_id=chain_id,
            wallet_kind=kind,
            new_user_id=new_id(self.entropy),
            family=family,
            first_token=first,
            now=now,
        )
        return self._session(user_id, family.id, refresh, now)

    def refresh(self, presented: str) -> IssuedSession:
        """Rotate a refresh token; a reused one revokes its whole family."""
        if not isinstance(presented, str) or not presented.startswith(REFRESH_TOKEN_PREFIX):
            raise RefreshRejected("token_unknown")
        now = self.clock.now()
        presented_hash = token_hash(self.policy.pepper, presented)
        with self.store.refresh_unit(presented_hash) as unit:
            if unit.token is None or unit.family is None:
                raise RefreshRejected("token_unknown")
            outcome = decide_refresh(
                unit.token, unit.family, now=now, grace=self.policy.refresh_grace
            )
            successor = self._apply(outcome, unit, presented, presented_hash, now)
            family_id, user_id = unit.family_id, unit.user_id
        if successor is None:
            raise RefreshRejected(_REFRESH_REJECTIONS[outcome])
        return self._session(user_id, family_id, successor, now)

    def _apply(
        self,
        outcome: RefreshOutcome,
        unit: RefreshUnit,
        presented: str,
        presented_hash: str,
        now: datetime,
    ) -> str | None:
        if outcome is RefreshOutcome.ROTATE and unit.family is not None:
            salt = self.entropy.hex(16)
            successor = derive_successor(self.policy.pepper, salt, presented)
            expires = successor_expiry(
                now=now,
                idle=self.policy.refresh_idle_ttl,
                family_expires_at=unit.family.absolute_expires_at,
            )
            unit.rotate(
                salt=salt,
                now=now,
                successor=NewRefreshToken(
                    token_hash(self.policy.pepper, successor),
                    unit.family_id,
                    now,
                    expires,
                    parent_hash=presented_hash,
                ),
            )
            return successor
        if outcome is RefreshOutcome.REPLAY_SUCCESSOR and unit.successor_salt is not None:
            return derive_successor(self.policy.pepper, unit.successor_salt, presented)
        if outcome is RefreshOutcome.REUSE_DETECTED:
            unit.revoke_family(reason="reuse", now=now)
        return None

    def logout(self, *, refresh_token: str | None, family_id: str | None) -> bool:
        """Revoke the family of a refresh token or of an access token's session."""
        presented_hash = None
        if refresh_token:
            presented_hash = token_hash(self.policy.pepper, refresh_token)
        return self.store.revoke_family_of(
            token_hash=presented_hash, family_id=family_id, reason="logout", now=self.clock.now()
        )

    def _session(self, user_id: str, family_id: str, refresh: str, now: datetime) -> IssuedSession:
        user = self.user(user_id)
        keys = self.keys.active(now)
        access = issue_access_token(
            key_id=keys.signing_kid,
            key=keys.signing_key,
            subject=user.id,
            issuer=self.policy.issuer,
            audience=self.policy.audience,
            token_id=self.entropy.hex(16),
            now=now,
            lifetime=self.policy.access_ttl,
            extra_claims={"sid": family_id, "roles": list(user.roles), "typ": "access"},
        )
        return IssuedSession(access, refresh, int(self.policy.access_ttl.total_seconds()), user)

    def user(self, user_id: str) -> User:
        """Return a user with roles resolved from configuration."""
        stored = self.store.get_user(user_id)
        if stored is None:
            raise UserNotFound("user_not_found", f"user_id={user_id}")
        is_admin = any(w.address in self.policy.admin_addresses for w in stored.wallets)
        roles = ("user", "admin") if is_admin else ("user",)
        return User(stored.id, stored.created_at, stored.wallets, roles)

    def owner_of_wallet(self, address: str) -> str:
        """Return the id of the user who signed in with ``address``."""
        try:
            checksummed = checksum_address(address)
        except SignInRejected:
            raise UserNotFound("wallet_unknown", "not a hex address") from None
        user_id = self.store.user_id_for_wallet(checksummed)
        if user_id is None:
            raise UserNotFound("wallet_unknown", f"address={checksummed}")
        return user_id

    def authenticate(self, access_token: str) -> dict[str, Any]:
        """Decode an access token with the keys in force at the service clock's now."""
        now = self.clock.now()
        return decode_access_token(
            access_token,
            keys=self.keys.active(now).verifying,
            issuer=self.policy.issuer,
            audience=self.policy.audience,
            now=now,
            leeway=self.policy.token_leeway,
        )


def _signature_length(signature: str) -> int | None:
    text = signature[2:] if signature.startswith("0x") else signature
    try:
        return len(bytes.fromhex(text))
    except ValueError:
        return None
