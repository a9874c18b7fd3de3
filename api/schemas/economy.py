"""Audition-fee models of the HTTP contract: quotes, submissions, purchases and refunds.

Wei amounts and uint256 values are decimal strings (a JSON number loses precision above
2^53 in JavaScript).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from pydantic import Field

from api.schemas.base import ApiModel
from domain.economy.payouts import SignedPayout
from domain.economy.purchases import Purchase, Quote, Refund
from domain.economy.race_payments import PayoutAuthorization
from domain.economy.withdrawals import SignedWithdrawal


class QuoteCreate(ApiModel):
    """Which clone version to audition, at which tier."""

    clone_id: str = Field(min_length=1, max_length=64)
    version_id: str = Field(min_length=1, max_length=64)
    tier: str = Field(min_length=1, max_length=32, examples=["starter"])


class QuotePublic(ApiModel):
    """A fee quote and the receipt the vault signer signs once the fee is paid.

    ``typedData`` is the ``AuditionFeeReceipt`` document with ``payer``, ``amountWei`` and
    the reserved ``auditionId`` set; the vault fills the members listed in ``vaultFills``
    (``nonce``: its next unused receipt nonce; ``deadline``: Unix seconds, at most
    ``expiresAt``) before signing. The placeholders sent are ``0`` and ``expiresAt``.
    """

    id: str
    audition_id: str
    clone_id: str
    version_id: str
    tier: str
    amount_wei: str
    chain_id: int
    vault: str
    payer: str
    expires_at: datetime
    typed_data: dict[str, Any]
    vault_fills: list[str] = ["nonce", "deadline"]

    @classmethod
    def of(cls, quote: Quote, typed_data: dict[str, Any]) -> QuotePublic:
        """Build from the economy's quote."""
        return cls(
            id=str(quote.id),
            audition_id=str(quote.audition_id),
            clone_id=str(quote.clone_id),
            version_id=str(quote.version_id),
            tier=quote.tier,
            amount_wei=str(quote.amount_wei),
            chain_id=quote.chain_id,
            vault=quote.vault,
            payer=quote.payer,
            expires_at=quote.expires_at,
            typed_data=typed_data,
        )


class FeeSubmit(ApiModel):
    """The vault's signed receipt for a quote."""

    quote_id: UUID
    typed_data: dict[str, Any]
    signature: str = Field(max_length=1000)


class PurchasePublic(ApiModel):
    """An honoured receipt: the clone holds the tier and the audition attempts."""

    kind: str = "purchase"
    id: str
    quote_id: str
    clone_id: str
    version_id: str
    tier: str
    audition_id: str
    amount_wei: str
    payer: str
    nonce: str
    attempts: int
    created_at: datetime

    @classmethod
    def of(cls, purchase: Purchase) -> PurchasePublic:
        """Build from the economy's purchase."""
        return cls(
            id=str(purchase.id),
            quote_id=str(purchase.quote_id),
            clone_id=str(purchase.clone_id),
            version_id=str(purchase.version_id),
            tier=purchase.tier,
            audition_id=purchase.audition_id,
            amount_wei=str(purchase.amount_wei),
            payer=purchase.payer,
            nonce=str(purchase.nonce),
            attempts=purchase.attempts,
            created_at=purchase.created_on,
        )


class WithdrawalPublic(ApiModel):
    """The refund key's signed ``Withdrawal`` the vault pays out once (nonce = refund id)."""

    typed_data: dict[str, Any]
    signature: str
    nonce: str
    deadline: datetime


class RefundPublic(ApiModel):
    """Money received that could not be honoured, refunded in full."""

    kind: str = "refund"
    id: str
    quote_id: str
    clone_id: str
    audition_id: str
    amount_wei: str
    payer: str
    reason: str
    receipt_nonce: str
    created_at: datetime
    withdrawal: WithdrawalPublic

    @classmethod
    def of(cls, refund: Refund, signed: SignedWithdrawal) -> RefundPublic:
        """Build from the economy's refund and its live withdrawal."""
        return cls(
            id=str(refund.id),
            quote_id=str(refund.quote_id),
            clone_id=str(refund.clone_id),
            audition_id=refund.audition_id,
            amount_wei=str(refund.amount_wei),
            payer=refund.payer,
            reason=refund.reason,
            receipt_nonce=str(refund.receipt_nonce),
            created_at=refund.created_on,
            withdrawal=WithdrawalPublic(
                typed_data=signed.typed_data,
                signature=signed.signature,
                nonce=str(signed.typed_data["message"]["nonce"]),
                deadline=datetime.fromtimestamp(refund.deadline, UTC),
            ),
        )


class PurchasesPage(ApiModel):
    """One page of the caller's purchases, oldest first."""

    data: list[PurchasePublic]
    next_cursor: str | None


class RefundsPage(ApiModel):
    """One page of the caller's refunds, oldest first."""

    data: list[RefundPublic]
    next_cursor: str | None


class AttemptsPublic(ApiModel):
    """A clone's audition attempts."""

    clone_id: str
    granted: int
    remaining: int


class PayoutPublic(ApiModel):
    """A payout authorization: the payout key's ``Payout`` the vault pays out once."""

    id: str
    race_id: str
    kind: str
    recipient: str
    amount_wei: str
    nonce: str
    deadline: datetime
    typed_data: dict[str, Any]
    signature: str

    @classmethod
    def of(cls, row: PayoutAuthorization, signed: SignedPayout) -> PayoutPublic:
        """Build from the economy's row and its live signature."""
        message = signed.typed_data["message"]
        return cls(
            id=str(row.id),
            race_id=str(row.race_id),
            kind=row.kind,
            recipient=row.recipient,
            amount_wei=str(row.amount_wei),
            nonce=str(message["nonce"]),
            deadline=datetime.fromtimestamp(int(message["deadline"]), tz=UTC),
            typed_data=signed.typed_data,
            signature=signed.signature,
        )


class PayoutsPage(ApiModel):
    """The caller's payout authorizations (every wallet), oldest first."""

    data: list[PayoutPublic]
