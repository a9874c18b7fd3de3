"""Hyperliquid's public info API as async calls returning market types (notes §1).

Why it looks like this:

- Every call is ``POST {base}/info`` with the JSON body the official SDK sends;
  ``candleSnapshot`` nests its query in ``req`` (a flat body is rejected with a 422).
- All REST traffic of an IP shares 1200 weight per minute. ``l2Book`` and ``allMids`` weigh
  2, the other info requests 20, and answers add weight per row returned (+1 per 60 candles,
  +1 per 20 funding rows), spent after the answer so the next request waits for it.
- Time-range answers hold at most 500 rows (one recorded answer held 1038), so history is
  walked page by page until a page is short; the next page starts just after the last row.
  A page that does not move past the cursor ends the walk, and rows are keyed by time, so a
  source that repeats rows can neither loop us forever nor duplicate a candle.
- Only the latest 5000 candles of a coin and interval are served
  (:func:`available_since`); a backfill reaching further back gets what exists and stops.
- Parsing is the domain's (:mod:`domain.market.payloads_hyperliquid`); this module only
  moves bytes and walks pages.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal

import httpx

from adapters.settings import Settings
from adapters.source_http import Charge, Pacing, SourceHttp, SourceOptions, WeightBudget
from domain.market.intervals import EPOCH, floor_to_interval, interval_length
from domain.market.model import AssetContext, Candle, FundingRate, OrderBook, PerpSpec
from domain.market.payloads_hyperliquid import (
    SOURCE,
    parse_all_mids,
    parse_candles,
    parse_funding_history,
    parse_l2_book,
    parse_meta,
    parse_meta_and_asset_ctxs,
)

WEIGHT_PER_MINUTE = 1200
LIGHT_WEIGHT = 2  # l2Book, allMids
HEAVY_WEIGHT = 20  # meta, metaAndAssetCtxs, candleSnapshot, fundingHistory
CANDLES_PER_EXTRA_WEIGHT = 60
FUNDING_ROWS_PER_EXTRA_WEIGHT = 20
PAGE_ROWS = 500
CANDLES_AVAILABLE = 5000


def available_since(interval: str, now: datetime) -> datetime:
    """Return the open time of the oldest candle of ``interval`` still served at ``now``."""
    return floor_to_interval(now, interval) - (CANDLES_AVAILABLE - 1) * interval_length(interval)


def _millis(instant: datetime) -> int:
    if instant.tzinfo is None:
        raise ValueError(f"instant={instant.isoformat()} must be timezone-aware")
    return (instant - EPOCH) // timedelta(milliseconds=1)


def _extra_weight(rows: int, per: int) -> int:
    return -(-rows // per)


class HyperliquidClient:
    """Perp registry, marks, candles, funding and books from Hyperliquid's info endpoint."""

    def __init__(self, http: SourceHttp, budget: WeightBudget) -> None:
        self._http = http
        self._budget = budget

    @classmethod
    def create(
        cls,
        base_url: str = "https://api.hyperliquid.xyz",
        *,
        timeout_seconds: float = 10.0,
        max_attempts: int = 4,
        transport: httpx.AsyncBaseTransport | None = None,
        pacing: Pacing | None = None,
    ) -> HyperliquidClient:
        """Build a client with its own 1200-weight-per-minute budget."""
        options = SourceOptions(
            SOURCE, timeout_seconds, max_attempts, transport, pacing or Pacing()
        )
        budget = WeightBudget("hyperliquid", WEIGHT_PER_MINUTE, 60.0, options.pacing.monotonic)
        return cls(options.http(base_url), budget)

    @classmethod
    def from_settings(
        cls,
        settings: Settings,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        pacing: Pacing | None = None,
    ) -> HyperliquidClient:
        """Build a client from ``CLASH_HYPERLIQUID_URL`` and the source timeouts."""
        return cls.create(
            settings.hyperliquid_url,
            timeout_seconds=settings.source_timeout_seconds,
            max_attempts=settings.source_max_attempts,
            transport=transport,
            pacing=pacing,
        )

    @property
    def budgets(self) -> tuple[WeightBudget, ...]:
        """The weight budgets this client spends from."""
        return (self._budget,)

    async def aclose(self) -> None:
        """Close the HTTP connections."""
        await self._http.aclose()

    async def meta(self, dex: str | None = None) -> list[PerpSpec]:
        """Return the perp registry, one spec per asset id (delisted included)."""
        body: dict[str, object] = {"type": "meta"}
        if dex is not None:
            body["dex"] = dex
        return parse_meta(await self._info(body, HEAVY_WEIGHT))

    async def meta_and_asset_ctxs(self, now: datetime) -> tuple[list[PerpSpec], list[AssetContext]]:
        """Return the registry and the live contexts of priced assets, stamped ``now``."""
        payload = await self._info({"type": "metaAndAssetCtxs"}, HEAVY_WEIGHT)
        return parse_meta_and_asset_ctxs(payload, now)

    async def all_mids(self) -> dict[str, Decimal]:
        """Return the mid price of every coin."""
        return parse_all_mids(await self._info({"type": "allMids"}, LIGHT_WEIGHT))

    async def l2_book(self, asset: str) -> OrderBook:
        """Return the top of ``asset``'s book (up to 20 levels a side, best first)."""
        payload = await self._info({"type": "l2Book", "coin": asset}, LIGHT_WEIGHT)
        return parse_l2_book(payload, asset)

    async def candles(
        self, asset: str, interval: str, start: datetime, end: datetime, now: datetime
    ) -> list[Candle]:
        """Return the closed candles from the one containing ``start`` to the one containing
        ``end``, oldest first; a candle still forming at ``now`` is left out."""
        step = interval_length(interval)
        found: dict[datetime, Candle] = {}
        cursor = start
        while cursor <= end:
            window = {"startTime": _millis(cursor), "endTime": _millis(end)}
            request = {"coin": asset, "interval": interval, **window}
            payload = await self._info({"type": "candleSnapshot", "req": request}, HEAVY_WEIGHT)
            page = parse_candles(payload, asset, interval, now)
            received = len(payload) if isinstance(payload, list) else 0
            self._budget.spend(_extra_weight(received, CANDLES_PER_EXTRA_WEIGHT))
            found.update((candle.open_time, candle) for candle in page)
            if not page or received < PAGE_ROWS or len(page) < received:
                break  # short page, or the forming candle: nothing newer exists yet
            following = max(candle.open_time for candle in page) + step
            if following <= cursor:
                break  # the page did not move forward
            cursor = following
        return [found[key] for key in sorted(found)]

    async def funding_history(
        self, asset: str, start: datetime, end: datetime | None = None
    ) -> list[FundingRate]:
        """Return ``asset``'s funding rates settled from ``start`` (to ``end``), oldest first."""
        found: dict[datetime, FundingRate] = {}
        cursor = start
        while end is None or cursor <= end:
            body: dict[str, object] = {"type": "fundingHistory", "coin": asset}
            body["startTime"] = _millis(cursor)
            if end is not None:
                body["endTime"] = _millis(end)
            page = parse_funding_history(await self._info(body, HEAVY_WEIGHT), asset)
            self._budget.spend(_extra_weight(len(page), FUNDING_ROWS_PER_EXTRA_WEIGHT))
            found.update((rate.time, rate) for rate in page)
            if len(page) < PAGE_ROWS:
                break
            following = max(rate.time for rate in page) + timedelta(milliseconds=1)
            if following <= cursor:
                break  # the page did not move forward
            cursor = following
        return [found[key] for key in sorted(found)]

    async def _info(self, body: dict[str, object], weight: int) -> object:
        endpoint = str(body["type"])
        charge = Charge(self._budget, weight)
        return await self._http.request(
            "POST", "/info", endpoint=endpoint, body=body, charges=(charge,)
        )
