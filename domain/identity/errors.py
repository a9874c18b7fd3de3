"""The identity error tree: every rejection names its reason as a stable string.

The API maps each class to a status code and each ``reason`` to a problem ``type``
(``.../problems/sign-in/nonce-used``), so clients can branch on it.
"""

from __future__ import annotations


class IdentityError(Exception):
    """Root of every identity error."""

    reason: str = "identity_error"

    def __init__(self, reason: str, detail: str = "") -> None:
        super().__init__(f"reason={reason}" + (f" detail={detail}" if detail else ""))
        self.reason = reason
        self.detail = detail


class SignInRejected(IdentityError):
    """Raised when a SIWE message or its signature is not acceptable."""


class ChallengeRefused(IdentityError):
    """Raised when a sign-in challenge is asked for an address or chain we do not serve."""


class TokenRejected(IdentityError):
    """Raised when an access token fails decoding, signature or claim checks."""


class RefreshRejected(IdentityError):
    """Raised when a refresh token is unknown, expired, revoked or reused."""


class ServiceTokenRejected(IdentityError):
    """Raised when a service token is unknown, revoked or lacks a scope."""


class ServiceTokenConflict(IdentityError):
    """Raised when a service token name is already taken."""


class UserNotFound(IdentityError):
    """Raised when a user id names no user."""
