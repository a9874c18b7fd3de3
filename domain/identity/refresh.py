"""Refresh-token rotation with reuse detection (RFC 9700 section 4.14.2), as pure rules.

A sign-in starts a *family*. Every refresh rotates: the presented token dies (``rotated``)
and exactly one successor is born. Presenting a rotated token again means two parties hold
the family (a thief and the owner): the whole family is revoked and the caller gets 401.

Concurrent refreshes with one token: the store serialises them, so exactly one rotation
happens. The loser arrives at a ``rotated`` token; if it arrives within the grace window
(``CLASH_REFRESH_GRACE_SECONDS``, default 10 s, 0 disables it) it receives *the same
successor* (never a second one), re-derived from the presented token and a per-rotation
salt, so the successor secret is never stored. After the window it is reuse.

Tokens are stored only as ``HMAC-SHA256(pepper, token)``.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

REFRESH_TOKEN_PREFIX = "rt_"
SERVICE_TOKEN_PREFIX = "st_"


class RefreshOutcome(StrEnum):
    """What a presented refresh token leads to."""

    ROTATE = "rotate"
    REPLAY_SUCCESSOR = "replay_successor"
    REUSE_DETECTED = "reuse_detected"
    FAMILY_REVOKED = "family_revoked"
    FAMILY_EXPIRED = "family_expired"
    TOKEN_EXPIRED = "token_expired"
    TOKEN_REVOKED = "token_revoked"


@dataclass(frozen=True)
class RefreshTokenState:
    """A stored refresh token as the rules see it."""

    status: str
    expires_at: datetime
    rotated_at: datetime | None
    successor_active: bool


@dataclass(frozen=True)
class FamilyState:
    """A stored refresh family as the rules see it."""

    status: str
    absolute_expires_at: datetime


def decide_refresh(
    token: RefreshTokenState, family: FamilyState, *, now: datetime, grace: timedelta
) -> RefreshOutcome:
    """Decide what presenting ``token`` at ``now`` does."""
    if family.status == "revoked":
        return RefreshOutcome.FAMILY_REVOKED
    if family.absolute_expires_at <= now:
        return RefreshOutcome.FAMILY_EXPIRED
    if token.status == "rotated":
        within_grace = token.rotated_at is not None and now - token.rotated_at <= grace
        if within_grace and token.successor_active and grace > timedelta(0):
            return RefreshOutcome.REPLAY_SUCCESSOR
        return RefreshOutcome.REUSE_DETECTED
    if token.status != "active":
        return RefreshOutcome.TOKEN_REVOKED
    if token.expires_at <= now:
        return RefreshOutcome.TOKEN_EXPIRED
    return RefreshOutcome.ROTATE


def successor_expiry(*, now: datetime, idle: timedelta, family_expires_at: datetime) -> datetime:
    """Return when a newly issued token of a family expires (idle, capped by the family)."""
    return min(now + idle, family_expires_at)


def token_hash(pepper: str, token: str) -> str:
    """Return the stored form of a secret token: hex HMAC-SHA256 under the pepper."""
    return hmac.new(
        pepper.encode(), token.encode("utf-8", "surrogatepass"), hashlib.sha256
    ).hexdigest()


def derive_successor(pepper: str, salt: str, parent: str) -> str:
    """Return the successor of ``parent``, re-derivable only with the pepper and the salt."""
    digest = hmac.new(pepper.encode(), f"successor:{salt}:{parent}".encode(), hashlib.sha256)
    return REFRESH_TOKEN_PREFIX + digest.hexdigest()
