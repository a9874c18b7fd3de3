"""The economy module's error tree, each class with a stable reason for the API."""

from __future__ import annotations


class EconomyError(Exception):
    """Root of every economy error."""

    reason = "economy_error"

    def __init__(self, detail: str = "") -> None:
        super().__init__(detail or self.reason)
        self.detail = detail


class TierNotInTable(EconomyError):
    """Raised when a grant names a tier the tier table does not have."""

    reason = "unknown_tier"


class InvalidGrant(EconomyError):
    """Raised when a grant's reason or reference breaks its bounds."""

    reason = "invalid_grant"


class GrantConflict(EconomyError):
    """Raised when a source's reference was already used to grant another tier."""

    reason = "grant_reference_conflict"
