"""Race tickets (``/v1/races/{id}/tickets``, ``/pool``, ``/v1/me/tickets``).

- ``POST /v1/races/{id}/tickets/quote {cloneId, stakeWei}``: a ticket on an entrant of a race
  whose ticket window is open (market time before the close recorded on the race), within
  the stake bounds; answers the ``TicketReceipt`` the vault signs once the stake is paid.
- ``POST /v1/races/{id}/tickets/submit {quoteId, typedData, signature}`` with an
  ``Idempotency-Key``: ``201`` with the placed ticket, or ``202`` with the refund of money
  that could not become a ticket (late, over the per-user cap, wrong amount, race
  cancelled...: recorded and refunded in full, never placed in the pool). A receipt that is
  no proof this user paid is ``422 economy:receipt-rejected``.
- ``GET /v1/races/{id}/pool`` (public): staked per entrant, shares, win-equivalent implied
  odds, the book's state and digest once closed.
- ``GET /v1/me/tickets``: the caller's tickets and ticket refunds.
"""

from __future__ import annotations

from datetime import timedelta
from decimal import ROUND_DOWN, Decimal
from typing import Any
from uuid import UUID

from fastapi import APIRouter, Request, status

from adapters.bootstrap import Container
from adapters.idempotency import StoredResponse
from api.deps import ContainerDep, CurrentUser
from api.idempotent import IdempotencyKey, once
from api.schemas.tickets import (
    MyTickets,
    PoolEntry,
    PoolPublic,
    TicketPublic,
    TicketQuoteCreate,
    TicketQuotePublic,
    TicketRefundPublic,
    TicketSubmit,
)
from domain.economy.application import RaceFacts, TicketLimits
from domain.economy.receipts import ticket_receipt_document
from domain.lifecycle.race import Race, RaceNotFound, RaceState, RaceTransitionRefused

router = APIRouter(tags=["tickets"], responses={401: {"description": "Not signed in."}})
ODDS_STEP = Decimal("0.0001")


@router.post("/v1/races/{race_id}/tickets/quote", status_code=status.HTTP_201_CREATED)
def quote(
    race_id: str, body: TicketQuoteCreate, user: CurrentUser, container: ContainerDep
) -> TicketQuotePublic:
    """Price a ticket on one entrant of a race whose ticket window is open."""
    race = _open_race(container, race_id)
    clone_id = _uuid(body.clone_id, RaceTransitionRefused(clone="not an entrant"))
    payer = user.wallets[0].address
    quoted = container.economy.quote_ticket(
        user_id=user.id,
        payer=payer,
        race=_facts(race),
        clone_id=clone_id,
        stake_wei=int(body.stake_wei),
        limits=_limits(container),
    )
    typed_data = ticket_receipt_document(
        container.economy.vault.domain,
        payer=payer,
        amount_wei=quoted.stake_wei,
        race_id=str(race.id),
        clone_id=str(clone_id),
        nonce=0,
        deadline=quoted.expires_at,
    )
    return TicketQuotePublic.of(quoted, race.launch_at, typed_data)


@router.post(
    "/v1/races/{race_id}/tickets/submit",
    responses={
        201: {"model": TicketPublic, "description": "The ticket is in the pool."},
        202: {"model": TicketRefundPublic, "description": "Money received, refunded in full."},
    },
)
def submit(
    race_id: str,
    body: TicketSubmit,
    request: Request,
    user: CurrentUser,
    container: ContainerDep,
    idempotency_key: IdempotencyKey,
) -> Any:
    """Submit the vault's receipt for a ticket quote: a ticket (201) or a refund (202)."""
    race = container.lifecycle.race(_uuid(race_id, RaceNotFound(race=race_id[:64])))
    document = body.model_dump(mode="json", by_alias=True)
    return once(
        container,
        request,
        user.id,
        idempotency_key,
        document,
        lambda: _placed(container, user.id, race, body),
    )


@router.get("/v1/races/{race_id}/pool", tags=["public"])
def pool(race_id: str, container: ContainerDep) -> PoolPublic:
    """A race's pool: staked per entrant, shares, implied odds."""
    race = container.lifecycle.race(_uuid(race_id, RaceNotFound(race=race_id[:64])))
    book = container.economy.book(race.id)
    totals = book.totals() if book is not None else {e["clone_id"]: 0 for e in race.entrants}
    gross = sum(totals.values())
    rules = race.config.pool_rules
    net = Decimal(gross) * (1 - rules.rake_rate - rules.creator_rate)
    return PoolPublic(
        race_id=str(race.id),
        close_at=race.launch_at,
        closed=book is not None and book.closed,
        cancelled=book is not None and book.cancelled,
        tickets=0 if book is None else book.count,
        gross_wei=str(gross),
        entries=[_entry(clone, staked, gross, net) for clone, staked in sorted(totals.items())],
        digest=None if book is None else book.digest,
    )


@router.get("/v1/me/tickets")
def my_tickets(user: CurrentUser, container: ContainerDep) -> MyTickets:
    """The caller's placed tickets and ticket refunds."""
    tickets, refunds = container.economy.ticket_records(user.id)
    return MyTickets(
        tickets=[_ticket(t) for t in tickets],
        refunds=[TicketRefundPublic.of(r) for r in refunds],
    )


def _placed(container: Container, user_id: str, race: Race, body: TicketSubmit) -> StoredResponse:
    placed = container.economy.submit_ticket(
        user_id=user_id,
        race_id=race.id,
        quote_id=body.quote_id,
        typed_data=body.typed_data,
        signature=body.signature,
        market_at=container.market_clock.now(),
    )
    if placed.ticket is not None:
        ticket = _ticket(placed.ticket).model_dump(mode="json", by_alias=True)
        return StoredResponse(status.HTTP_201_CREATED, ticket)
    if placed.refund is None:  # the economy answers one or the other
        raise RuntimeError("a ticket submission recorded nothing")
    refund = TicketRefundPublic.of(placed.refund).model_dump(mode="json", by_alias=True)
    return StoredResponse(status.HTTP_202_ACCEPTED, refund)


def _open_race(container: Container, race_id: str) -> Race:
    race = container.lifecycle.race(_uuid(race_id, RaceNotFound(race=race_id[:64])))
    if race.state is not RaceState.ACCUMULATING or container.market_clock.now() >= race.launch_at:
        raise RaceTransitionRefused(race=str(race.id), tickets="the ticket window is closed")
    return race


def _facts(race: Race) -> RaceFacts:
    return RaceFacts(race.id, race.launch_at, frozenset(e["clone_id"] for e in race.entrants))


def _limits(container: Container) -> TicketLimits:
    settings = container.settings
    return TicketLimits(
        min_stake_wei=settings.ticket_min_stake_wei,
        max_stake_wei=settings.ticket_max_stake_wei,
        user_cap_wei=settings.ticket_user_cap_wei,
        quote_ttl=timedelta(seconds=settings.ticket_quote_ttl_seconds),
    )


def _entry(clone: str, staked: int, gross: int, net: Decimal) -> PoolEntry:
    share = None if gross == 0 else (Decimal(staked) / gross).quantize(ODDS_STEP, ROUND_DOWN)
    odds = None if staked == 0 else (net / staked).quantize(ODDS_STEP, ROUND_DOWN)
    return PoolEntry(
        clone_id=clone,
        staked_wei=str(staked),
        share=None if share is None else str(share),
        implied_odds=None if odds is None else str(odds),
    )


def _ticket(row: dict[str, str]) -> TicketPublic:
    return TicketPublic(
        ticket_id=row["ticket_id"],
        race_id=row["race_id"],
        clone_id=row["clone_id"],
        stake_wei=row["stake_wei"],
        payer=row["payer"],
    )


def _uuid(value: str, error: Exception) -> UUID:
    try:
        return UUID(value)
    except ValueError:
        raise error from None
