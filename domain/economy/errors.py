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


class ReceiptRejected(EconomyError):
    """Raised when a signed typed-data document (receipt or withdrawal) is not acceptable.

    ``reason`` is one of the stable strings listed in ``domain/economy/signed_documents.py``
    and ``domain/economy/receipts.py``; ``detail`` says which field and why, for logs.
    """

    reason = "receipt_rejected"

    def __init__(self, reason: str, detail: str = "") -> None:
        self.reason = reason
        super().__init__(detail)

    def __str__(self) -> str:
        return f"reason={self.reason}" + (f" detail={self.detail}" if self.detail else "")


class InvalidTypedData(EconomyError):
    """Raised when our own side builds typed data from a value its declared type cannot hold."""

    reason = "invalid_typed_data"


class VaultMisconfigured(EconomyError):
    """Raised when the vault domain, a configured signer address or a signing key is unusable."""

    reason = "vault_misconfigured"
