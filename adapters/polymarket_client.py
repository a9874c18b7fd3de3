"""Polymarket's public Gamma (listings) and CLOB (books, prices) APIs as async calls (notes §2).

Why it looks like this:

- Two hosts, two :class:`SourceHttp` clients, but one set of budgets: Polymarket limits
  requests per 10-second sliding window globally, per service and per endpoint (``/markets``
  300, ``/events`` 500, both listings together 900, ``/book`` 1500...), and a request counts
  against every limit that covers it, so each call names all the budgets it draws on.
- Gamma listings page by ``limit``/``offset`` until a page is short. Offsets over a list
  that changes while we walk it can shift rows between pages, so rows are keyed by id: a
  repeated row is kept once, and a page that adds nothing new ends the walk.
- ``/prices-history`` takes the CLOB *token* id as ``market`` and an explicit
  ``startTs``/``endTs`` window in Unix seconds (the ``interval`` form answers empty for
  closed markets); ``fidelity`` is the resolution in minutes.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from decimal import Decimal
from typing import TypeVar

import httpx

from adapters.settings import Settings
from adapters.source_http import Charge, Pacing, SourceHttp, SourceOptions, WeightBudget
from domain.market.intervals import EPOCH
from domain.market.model import OrderBook, PredictionMarket, PricePoint
from domain.market.payloads_polymarket import (
    SOURCE,
    parse_book,
    parse_gamma_events,
    parse_gamma_markets,
    parse_midpoint,
    parse_prices_history,
)
from domain.market.sources import PredictionEvent

T = TypeVar("T")
WINDOW_SECONDS = 10.0
LIMITS = {  # requests per 10 s, docs.polymarket.com/api-reference/rate-limits
    "global": 15_000,
    "gamma": 4_000,
    "gamma /events": 500,
    "gamma /markets": 300,
    "gamma listings": 900,
    "clob": 9_000,
    "clob /book": 1_500,
    "clob /midpoint": 1_500,
    "clob /prices-history": 1_000,
}
COSTS = {  # endpoint -> every budget one request to it draws on
    "/markets": ("global", "gamma", "gamma /markets", "gamma listings"),
    "/events": ("global", "gamma", "gamma /events", "gamma listings"),
    "/book": ("global", "clob", "clob /book"),
    "/midpoint": ("global", "clob", "clob /midpoint"),
    "/prices-history": ("global", "clob", "clob /prices-history"),
}
Params = Sequence[tuple[str, str]]


def _flag(value: bool) -> str:
    return "true" if value else "false"


def _unix_seconds(instant: datetime) -> str:
    if instant.tzinfo is None:
        raise ValueError(f"instant={instant.isoformat()} must be timezone-aware")
    return str((instant - EPOCH) // timedelta(seconds=1))


def _listing_filters(
    *,
    active: bool | None = None,
    closed: bool | None = None,
    slugs: Sequence[str] = (),
    order: str | None = None,
    ascending: bool | None = None,
) -> Params:
    params = [("slug", slug) for slug in slugs]
    if active is not None:
        params.append(("active", _flag(active)))
    if closed is not None:
        params.append(("closed", _flag(closed)))
    if order is not None:
        params.append(("order", order))
    if ascending is not None:
        params.append(("ascending", _flag(ascending)))
    return params


def _market_key(market: PredictionMarket) -> str:
    return market.market_id


def _event_key(event: PredictionEvent) -> str:
    return event.event_id


class PolymarketClient:
    """Prediction markets, their books and price histories from Polymarket."""

    def __init__(
        self, gamma: SourceHttp, clob: SourceHttp, budgets: dict[str, WeightBudget]
    ) -> None:
        self._gamma = gamma
        self._clob = clob
        self._budgets = budgets

    @classmethod
    def create(
        cls,
        gamma_url: str = "https://gamma-api.polymarket.com",
        clob_url: str = "https://clob.polymarket.com",
        *,
        timeout_seconds: float = 10.0,
        max_attempts: int = 4,
        transport: httpx.AsyncBaseTransport | None = None,
        pacing: Pacing | None = None,
    ) -> PolymarketClient:
        """Build a client whose budgets follow Polymarket's documented limits."""
        options = SourceOptions(
            SOURCE, timeout_seconds, max_attempts, transport, pacing or Pacing()
        )
        budgets = {
            name: WeightBudget(
                f"polymarket {name}", limit, WINDOW_SECONDS, options.pacing.monotonic
            )
            for name, limit in LIMITS.items()
        }
        return cls(options.http(gamma_url), options.http(clob_url), budgets)

    @classmethod
    def from_settings(
        cls,
        settings: Settings,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        pacing: Pacing | None = None,
    ) -> PolymarketClient:
        """Build a client from ``CLASH_POLYMARKET_*_URL`` and the source timeouts."""
        return cls.create(
            settings.polymarket_gamma_url,
            settings.polymarket_clob_url,
            timeout_seconds=settings.source_timeout_seconds,
            max_attempts=settings.source_max_attempts,
            transport=transport,
            pacing=pacing,
        )

    @property
    def budgets(self) -> tuple[WeightBudget, ...]:
        """The request budgets this client spends from."""
        return tuple(self._budgets.values())

    async def aclose(self) -> None:
        """Close the HTTP connections of both hosts."""
        await self._gamma.aclose()
        await self._clob.aclose()

    async def markets(
        self,
        *,
        active: bool | None = None,
        closed: bool | None = None,
        slugs: Sequence[str] = (),
        order: str | None = None,
        ascending: bool | None = None,
        page_size: int = 100,
        max_items: int | None = None,
    ) -> list[PredictionMarket]:
        """Return Gamma markets matching the filters, walking every page."""
        filters = _listing_filters(
            active=active, closed=closed, slugs=slugs, order=order, ascending=ascending
        )
        return await self._listing(
            "/markets", filters, parse_gamma_markets, _market_key, page_size, max_items
        )

    async def events(
        self,
        *,
        active: bool | None = None,
        closed: bool | None = None,
        slugs: Sequence[str] = (),
        order: str | None = None,
        ascending: bool | None = None,
        page_size: int = 100,
        max_items: int | None = None,
    ) -> list[PredictionEvent]:
        """Return Gamma events, with their markets, matching the filters."""
        filters = _listing_filters(
            active=active, closed=closed, slugs=slugs, order=order, ascending=ascending
        )
        key = _event_key
        return await self._listing(
            "/events", filters, parse_gamma_events, key, page_size, max_items
        )

    async def prices_history(
        self, token_id: str, start: datetime, end: datetime, fidelity: int = 60
    ) -> list[PricePoint]:
        """Return the outcome token's price between ``start`` and ``end``, every
        ``fidelity`` minutes (points are not aligned to that grid)."""
        window = [("startTs", _unix_seconds(start)), ("endTs", _unix_seconds(end))]
        params = [("market", token_id), *window, ("fidelity", str(fidelity))]
        payload = await self._get(self._clob, "/prices-history", params)
        return parse_prices_history(payload, token_id)

    async def book(self, token_id: str) -> OrderBook:
        """Return the outcome token's order book, best levels first."""
        payload = await self._get(self._clob, "/book", [("token_id", token_id)])
        return parse_book(payload, token_id)

    async def midpoint(self, token_id: str) -> Decimal:
        """Return the midpoint of the outcome token's best bid and ask."""
        payload = await self._get(self._clob, "/midpoint", [("token_id", token_id)])
        return parse_midpoint(payload)

    async def _listing(
        self,
        path: str,
        filters: Params,
        parse: Callable[[object], list[T]],
        key: Callable[[T], str],
        page_size: int,
        max_items: int | None,
    ) -> list[T]:
        found: dict[str, T] = {}
        offset = 0
        while max_items is None or len(found) < max_items:
            paging = [("limit", str(page_size)), ("offset", str(offset))]
            page = parse(await self._get(self._gamma, path, [*filters, *paging]))
            before = len(found)
            found.update((key(item), item) for item in page if key(item) not in found)
            if len(page) < page_size or len(found) == before:
                break  # a short page, or one that repeats rows already seen
            offset += len(page)
        rows = list(found.values())
        return rows if max_items is None else rows[:max_items]

    async def _get(self, http: SourceHttp, path: str, params: Params) -> object:
        charges = tuple(Charge(self._budgets[name]) for name in COSTS[path])
        return await http.request("GET", path, params=params, charges=charges)
