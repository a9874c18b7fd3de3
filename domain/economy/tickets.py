"""Race tickets: quotes, the pool book per race, and refunds of tickets that cannot be placed.

Every aggregate here is stamped by the service clock (economy facts); the ticket window is
judged against the **market time** the caller hands in and the close time recorded on the
book when it opened (the race's ``launch_at``), never against a possibly lagging race state.

- :class:`TicketQuote`: a stake on one clone of one race, at a price in wei, for a while.
- :class:`PoolBook`: one per race (id from the race): totals per clone and per user and a
  digest chained over every placed ticket (the tickets are its ``TicketPlaced`` events, read
  by ``Economy.book_tickets``; the state stays small and is snapshotted). Placing checks
  the window, the race's entrants and the per-user cap in the same aggregate, so racing
  submissions cannot overfill a cap or slip past the close.
  ``BookClosed`` freezes it with its totals and a digest; settlement reads only a closed
  book. ``BookCancelled`` marks a cancelled race (every stake is then refunded).
- :class:`TicketRefund`: a genuine receipt of the user's money that could not become a ticket
  (late, over the cap, wrong amount, race cancelled...), refunded in full by a payout
  authorization of kind ``refund`` (``payouts.py``).
"""

from __future__ import annotations

import hashlib
import json
from datetime import datetime
from typing import Any, ClassVar
from uuid import UUID, uuid5

from domain.aggregates import ClashAggregate
from domain.economy.errors import EconomyError
from domain.economy.purchases import PURCHASES_NAMESPACE


class TicketQuoteNotFound(EconomyError):
    """Raised when a ticket quote id names no quote of the caller for that race."""

    reason = "ticket_quote_not_found"


class TicketRefused(EconomyError):
    """Raised inside the economy when a paid ticket cannot be placed (``reason`` says why)."""

    reason = "ticket_refused"

    def __init__(self, why: str, detail: str = "") -> None:
        super().__init__(detail or why)
        self.why = why


class StakeOutOfBounds(EconomyError):
    """Raised at quote time for a stake below the minimum or above the maximum."""

    reason = "stake_out_of_bounds"


def book_id_for(race_id: UUID) -> UUID:
    """The id of a race's pool book."""
    return uuid5(PURCHASES_NAMESPACE, f"book:{race_id}")


def ticket_id_for(nonce_id: UUID) -> UUID:
    """The id of the ticket a receipt nonce paid for."""
    return uuid5(PURCHASES_NAMESPACE, f"ticket:{nonce_id}")


def ticket_refund_id_for(nonce_id: UUID) -> UUID:
    """The id of the refund of a ticket receipt that could not be placed."""
    return uuid5(PURCHASES_NAMESPACE, f"ticket-refund:{nonce_id}")


class TicketQuote(ClashAggregate):
    """A price for one ticket."""

    TOPIC: ClassVar[str] = "economy.TicketQuote"

    class Event(ClashAggregate.Event):
        TOPIC = "economy.TicketQuote.Event"

    class Created(Event, ClashAggregate.Created):
        TOPIC = "economy.TicketQuote.Created"

    class Issued(Created):
        TOPIC = "economy.TicketQuote.Issued"
        user_id: str
        payer: str
        race_id: UUID
        clone_id: UUID
        stake_wei: str
        expires_at: datetime

    class Used(Event):
        TOPIC = "economy.TicketQuote.Used"
        ticket_id: UUID

        def apply(self, aggregate: TicketQuote) -> None:
            aggregate.ticket_id = self.ticket_id

    def __init__(
        self,
        *,
        user_id: str,
        payer: str,
        race_id: UUID,
        clone_id: UUID,
        stake_wei: str,
        expires_at: datetime,
    ) -> None:
        self.user_id, self.payer, self.race_id, self.clone_id = user_id, payer, race_id, clone_id
        self.stake_wei, self.expires_at = int(stake_wei), expires_at
        self.ticket_id: UUID | None = None

    @classmethod
    def issue(cls, quote_id: UUID, **values: Any) -> TicketQuote:
        """Issue a ticket quote."""
        return cls._create(cls.Issued, id=quote_id, **values)


class PoolBook(ClashAggregate):
    """A race's tickets: placed while the window is open, closed with its totals."""

    TOPIC: ClassVar[str] = "economy.PoolBook"

    class Event(ClashAggregate.Event):
        TOPIC = "economy.PoolBook.Event"

    class Created(Event, ClashAggregate.Created):
        TOPIC = "economy.PoolBook.Created"

    class Opened(Created):
        TOPIC = "economy.PoolBook.Opened"
        race_id: UUID
        close_at: datetime
        clones: list[str]
        user_cap_wei: str

    class TicketPlaced(Event):
        TOPIC = "economy.PoolBook.TicketPlaced"
        ticket_id: UUID
        user_id: str
        payer: str
        clone_id: str
        stake_wei: str
        nonce: str
        market_at: datetime

        def apply(self, aggregate: PoolBook) -> None:
            stake = int(self.stake_wei)
            aggregate.staked = {
                **aggregate.staked,
                self.clone_id: aggregate.staked.get(self.clone_id, 0) + stake,
            }
            aggregate.by_user = {
                **aggregate.by_user,
                self.user_id: aggregate.by_user.get(self.user_id, 0) + stake,
            }
            aggregate.count += 1
            aggregate.chain = chain_digest(aggregate.chain, ticket_row(self))

    class BookClosed(Event):
        TOPIC = "economy.PoolBook.BookClosed"
        totals: dict[str, str]
        tickets: int
        digest: str

        def apply(self, aggregate: PoolBook) -> None:
            aggregate.closed, aggregate.digest = True, self.digest

    class BookCancelled(Event):
        TOPIC = "economy.PoolBook.BookCancelled"
        reason: str

        def apply(self, aggregate: PoolBook) -> None:
            aggregate.cancelled = True

    def __init__(self, *, race_id: UUID, close_at: datetime, clones: list[str], user_cap_wei: str):
        self.race_id, self.close_at, self.clones = race_id, close_at, list(clones)
        self.user_cap_wei = int(user_cap_wei)
        self.staked: dict[str, int] = {}
        self.by_user: dict[str, int] = {}
        self.count = 0
        self.chain = GENESIS
        self.closed = False
        self.cancelled = False
        self.digest: str | None = None

    @classmethod
    def open(
        cls, race_id: UUID, *, close_at: datetime, clones: list[str], user_cap_wei: int
    ) -> PoolBook:
        """Open a race's book (its close time and entrants fixed from the race)."""
        return cls._create(
            cls.Opened,
            id=book_id_for(race_id),
            race_id=race_id,
            close_at=close_at,
            clones=sorted(clones),
            user_cap_wei=str(user_cap_wei),
        )

    def totals(self) -> dict[str, int]:
        """Wei staked per clone (every entrant, zero included)."""
        return {clone: self.staked.get(clone, 0) for clone in self.clones}

    def staked_by(self, user_id: str) -> int:
        """Wei the user staked on this race."""
        return self.by_user.get(user_id, 0)

    def place(
        self,
        ticket_id: UUID,
        *,
        user_id: str,
        payer: str,
        clone_id: str,
        stake_wei: int,
        nonce: int,
        market_at: datetime,
    ) -> None:
        """Place a paid ticket, or raise :class:`TicketRefused` with why it cannot be."""
        if self.cancelled:
            raise TicketRefused("race_cancelled")
        if self.closed or market_at >= self.close_at:
            raise TicketRefused("window_closed", f"market_at={market_at.isoformat()}")
        if clone_id not in self.clones:
            raise TicketRefused("not_an_entrant", f"clone={clone_id}")
        if self.staked_by(user_id) + stake_wei > self.user_cap_wei:
            raise TicketRefused("over_cap", f"cap_wei={self.user_cap_wei}")
        self.trigger_event(
            self.TicketPlaced,
            ticket_id=ticket_id,
            user_id=user_id,
            payer=payer,
            clone_id=clone_id,
            stake_wei=str(stake_wei),
            nonce=str(nonce),
            market_at=market_at,
        )

    def close(self) -> None:
        """Freeze the book with its totals and the digest chained over every ticket."""
        if self.closed:
            return
        totals = {clone: str(amount) for clone, amount in self.totals().items()}
        digest = "sha256:" + chain_digest(self.chain, {"race": str(self.race_id), **totals})
        self.trigger_event(self.BookClosed, totals=totals, tickets=self.count, digest=digest)

    def cancel(self, reason: str) -> None:
        """The race was cancelled: nothing more is placed; every stake is refunded."""
        if not self.cancelled:
            self.trigger_event(self.BookCancelled, reason=reason)


GENESIS = "0" * 64


def ticket_row(placed: PoolBook.TicketPlaced) -> dict[str, str]:
    """A placed ticket as settlement and the API read it."""
    return {
        "ticket_id": str(placed.ticket_id),
        "user_id": placed.user_id,
        "payer": placed.payer,
        "clone_id": placed.clone_id,
        "stake_wei": placed.stake_wei,
    }


def chain_digest(previous: str, row: dict[str, str]) -> str:
    """``sha256(previous | canonical row)``: a digest over every ticket in order, kept as
    the book grows (the book holds totals, not its tickets, so it stays small)."""
    canonical = json.dumps(row, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(f"{previous}|{canonical}".encode()).hexdigest()


class TicketRefund(ClashAggregate):
    """A ticket receipt's money, refunded in full, with why."""

    TOPIC: ClassVar[str] = "economy.TicketRefund"

    class Event(ClashAggregate.Event):
        TOPIC = "economy.TicketRefund.Event"

    class Created(Event, ClashAggregate.Created):
        TOPIC = "economy.TicketRefund.Created"

    class Opened(Created):
        TOPIC = "economy.TicketRefund.Opened"
        user_id: str
        quote_id: UUID
        race_id: str
        clone_id: str
        amount_wei: str
        payer: str
        receipt_nonce: str
        reason: str

    def __init__(
        self,
        *,
        user_id: str,
        quote_id: UUID,
        race_id: str,
        clone_id: str,
        amount_wei: str,
        payer: str,
        receipt_nonce: str,
        reason: str,
    ) -> None:
        self.user_id, self.quote_id, self.race_id = user_id, quote_id, race_id
        self.clone_id, self.amount_wei, self.payer = clone_id, int(amount_wei), payer
        self.receipt_nonce, self.reason = int(receipt_nonce), reason

    @classmethod
    def open(cls, refund_id: UUID, **values: Any) -> TicketRefund:
        """Record ticket money received that is refunded in full."""
        return cls._create(cls.Opened, id=refund_id, **values)
