"""Ticket models of the HTTP contract: quotes, submissions, tickets, refunds, the pool.

Wei amounts are decimal strings.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from pydantic import Field

from api.schemas.base import ApiModel
from domain.economy.tickets import TicketQuote, TicketRefund


class TicketQuoteCreate(ApiModel):
    """Which entrant, and how much."""

    clone_id: str = Field(min_length=1, max_length=64)
    stake_wei: str = Field(pattern=r"^[1-9][0-9]{0,30}$", examples=["10000000000000000"])


class TicketQuotePublic(ApiModel):
    """A ticket quote and the receipt the vault signs once the stake is paid."""

    id: str
    race_id: str
    clone_id: str
    stake_wei: str
    payer: str
    expires_at: datetime
    close_at: datetime
    typed_data: dict[str, Any]
    vault_fills: list[str] = ["nonce", "deadline"]

    @classmethod
    def of(
        cls, quote: TicketQuote, close_at: datetime, typed_data: dict[str, Any]
    ) -> TicketQuotePublic:
        """Build from the economy's quote."""
        return cls(
            id=str(quote.id),
            race_id=str(quote.race_id),
            clone_id=str(quote.clone_id),
            stake_wei=str(quote.stake_wei),
            payer=quote.payer,
            expires_at=quote.expires_at,
            close_at=close_at,
            typed_data=typed_data,
        )


class TicketSubmit(ApiModel):
    """The vault's signed receipt for a ticket quote."""

    quote_id: UUID
    typed_data: dict[str, Any]
    signature: str = Field(max_length=1000)


class TicketPublic(ApiModel):
    """A placed ticket."""

    kind: str = "ticket"
    ticket_id: str
    race_id: str
    clone_id: str
    stake_wei: str
    payer: str


class TicketRefundPublic(ApiModel):
    """Ticket money received that could not be placed, refunded in full."""

    kind: str = "ticket_refund"
    id: str
    race_id: str
    clone_id: str
    amount_wei: str
    payer: str
    reason: str

    @classmethod
    def of(cls, refund: TicketRefund) -> TicketRefundPublic:
        """Build from the economy's refund."""
        return cls(
            id=str(refund.id),
            race_id=refund.race_id,
            clone_id=refund.clone_id,
            amount_wei=str(refund.amount_wei),
            payer=refund.payer,
            reason=refund.reason,
        )


class MyTickets(ApiModel):
    """The caller's tickets and ticket refunds."""

    tickets: list[TicketPublic]
    refunds: list[TicketRefundPublic]


class PoolEntry(ApiModel):
    """One entrant's side of a race's pool."""

    clone_id: str
    staked_wei: str
    share: str | None
    implied_odds: str | None


class PoolPublic(ApiModel):
    """A race's pool: totals per entrant, shares and implied odds; closed with a digest."""

    race_id: str
    close_at: datetime
    closed: bool
    cancelled: bool
    tickets: int
    gross_wei: str
    entries: list[PoolEntry]
    digest: str | None
