"""Polymarket Gamma and CLOB payloads to market types (``notes/market-data-sources.md`` §2).

Why these rules:

- Gamma sends ``outcomes``, ``outcomePrices`` and ``clobTokenIds`` as JSON documents inside
  strings; they are decoded and must line up with ``outcomes`` by index, because the index is
  what ties a token to the outcome it pays on. Token ids are uint256 decimals, kept as
  strings (checked to be digits) so no precision or leading form is ever lost.
- Gamma market amounts (``volume``, ``liquidity``) are decimal strings, while event amounts
  are JSON numbers; each is read as exactly the type its endpoint sends.
- CLOB ``/book`` lists bids ascending and asks descending, so the best level of each side is
  the *last* entry. Both sides are returned best-first (bids by descending price, asks by
  ascending price), sorted rather than merely reversed so a reordering at the source cannot
  silently put the worst level first.
- ``/prices-history`` prices are JSON floats; they become ``Decimal`` through their printed
  form, and points are returned in time order, one per timestamp.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from decimal import Decimal
from typing import TypeVar

from domain.market.intervals import EPOCH
from domain.market.model import BookLevel, OrderBook, PredictionMarket, PricePoint
from domain.market.payloads import Field, maybe
from domain.market.sources import PredictionEvent

SOURCE = "polymarket"
T = TypeVar("T")


def parse_gamma_markets(payload: object) -> list[PredictionMarket]:
    """Parse a Gamma ``/markets`` page (a plain array of market objects)."""
    root = Field.root(payload, SOURCE, "/markets")
    return [_market(node) for node in root.items()]


def parse_gamma_events(payload: object) -> list[PredictionEvent]:
    """Parse a Gamma ``/events`` page (a plain array of events with their markets)."""
    root = Field.root(payload, SOURCE, "/events")
    return [_event(node) for node in root.items()]


def parse_prices_history(payload: object, token_id: str) -> list[PricePoint]:
    """Parse CLOB ``/prices-history`` of one outcome token into time-ordered points."""
    root = Field.root(payload, SOURCE, "/prices-history")
    points = [
        PricePoint(token_id=token_id, time=node.key("t").seconds(), price=node.key("p").number())
        for node in root.key("history").items()
    ]
    return sorted({point.time: point for point in points}.values(), key=lambda p: p.time)


def parse_book(payload: object, token_id: str) -> OrderBook:
    """Parse a CLOB ``/book`` of one outcome token into a best-first book."""
    root = Field.root(payload, SOURCE, "/book")
    root.key("asset_id").matching(token_id)
    bids = sorted((_level(node) for node in root.key("bids").items()), key=lambda x: -x.price)
    asks = sorted((_level(node) for node in root.key("asks").items()), key=lambda x: x.price)
    time = EPOCH + timedelta(milliseconds=root.key("timestamp").digits())
    return OrderBook(asset=token_id, time=time, bids=tuple(bids), asks=tuple(asks))


def parse_midpoint(payload: object) -> Decimal:
    """Parse CLOB ``/midpoint`` (``{"mid": "0.435"}``)."""
    return Field.root(payload, SOURCE, "/midpoint").key("mid").decimal()


def _market(node: Field) -> PredictionMarket:
    outcomes = tuple(item.text() for item in node.key("outcomes").decoded().items())
    token_ids = _aligned(node, "clobTokenIds", _token_id, len(outcomes))
    prices = _aligned(node, "outcomePrices", Field.decimal, len(outcomes))
    return PredictionMarket(
        market_id=node.key("id").text(),
        condition_id=node.key("conditionId").text(),
        question=node.key("question").text(),
        slug=node.key("slug").text(),
        outcomes=outcomes,
        token_ids=token_ids,
        outcome_prices=prices,
        active=node.key("active").flag(),
        closed=node.key("closed").flag(),
        end_date=maybe(node.optional("endDate"), Field.instant),
        volume=maybe(node.optional("volume"), Field.decimal),
        liquidity=maybe(node.optional("liquidity"), Field.decimal),
    )


def _aligned(node: Field, name: str, read: Callable[[Field], T], outcomes: int) -> tuple[T, ...]:
    encoded = node.optional(name)
    if encoded is None:
        return ()
    values = tuple(read(item) for item in encoded.decoded().items())
    if len(values) != outcomes:
        encoded.fail(f"has {len(values)} entries for {outcomes} outcomes")
    return values


def _token_id(node: Field) -> str:
    node.digits()
    return node.text()


def _event(node: Field) -> PredictionEvent:
    markets = node.optional("markets")
    return PredictionEvent(
        event_id=node.key("id").text(),
        slug=node.key("slug").text(),
        title=node.key("title").text(),
        active=node.key("active").flag(),
        closed=node.key("closed").flag(),
        markets=() if markets is None else tuple(_market(item) for item in markets.items()),
        end_date=maybe(node.optional("endDate"), Field.instant),
        volume=maybe(node.optional("volume"), Field.number),
        liquidity=maybe(node.optional("liquidity"), Field.number),
        open_interest=maybe(node.optional("openInterest"), Field.number),
    )


def _level(node: Field) -> BookLevel:
    return BookLevel(price=node.key("price").decimal(), size=node.key("size").decimal())
