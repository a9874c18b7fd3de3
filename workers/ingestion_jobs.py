"""What polling one source channel does: fetch (fully parsed), then store, then fold.

Each job fetches everything it needs before it writes anything, so a malformed page or an
outage half-way leaves no partial batch behind. Candles and funding continue from the last
stored row (or a day back on the first poll); newly stored data is folded into the
feature channels at once.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from adapters.bootstrap import Container
from adapters.defillama_client import DefiLlamaClient
from adapters.hyperliquid_client import HyperliquidClient
from adapters.polymarket_client import PolymarketClient
from domain.market.intervals import interval_length

FIRST_LOOKBACK = timedelta(days=1)
SOURCE = "hyperliquid"


@dataclass(frozen=True)
class Fetched:
    """What a poll stored: how many rows, and the newest data instant (for lag)."""

    rows: int
    newest: datetime | None


class IngestionJobs:
    """One method per source; each takes the channel name after ``source:``."""

    def __init__(self, container: Container) -> None:
        self.container = container

    async def hyperliquid(self, client: HyperliquidClient, channel: str, now: datetime) -> Fetched:
        """``contexts``, ``candles:<asset>:<interval>`` or ``funding:<asset>``."""
        kind, *rest = channel.split(":")
        if kind == "contexts":
            return await self._contexts(client, now)
        if kind == "candles":
            return await self._candles(client, rest[0], rest[1], now)
        return await self._funding(client, rest[0], now)

    async def _contexts(self, client: HyperliquidClient, now: datetime) -> Fetched:
        specs, contexts = await client.meta_and_asset_ctxs(now)
        wanted = set(self.container.settings.market_assets)
        self.container.assets.record(
            [s for s in specs if s.name in wanted], valid_from=now, source=SOURCE, now=now
        )
        chosen = [c for c in contexts if c.asset in wanted]
        self.container.market.upsert_contexts(SOURCE, chosen)
        return Fetched(len(chosen), now if chosen else None)

    async def _candles(
        self, client: HyperliquidClient, asset: str, interval: str, now: datetime
    ) -> Fetched:
        market = self.container.market
        latest = market.latest_candle(asset, interval, now)
        start = latest.open_time + interval_length(interval) if latest else now - FIRST_LOOKBACK
        candles = await client.candles(asset, interval, start, now, now)
        market.upsert_candles(SOURCE, candles)
        self.container.features.on_candles(candles)
        newest = candles[-1].close_time if candles else (latest.close_time if latest else None)
        return Fetched(len(candles), newest)

    async def _funding(self, client: HyperliquidClient, asset: str, now: datetime) -> Fetched:
        market = self.container.market
        known = market.funding(asset, start=now - timedelta(days=30), end=now)
        start = known[-1].time + timedelta(milliseconds=1) if known else now - FIRST_LOOKBACK
        rates = await client.funding_history(asset, start, now)
        market.upsert_funding(SOURCE, rates)
        self.container.features.on_points(rates)
        newest = rates[-1].time if rates else (known[-1].time if known else None)
        return Fetched(len(rates), newest)

    async def polymarket(self, client: PolymarketClient, channel: str, now: datetime) -> Fetched:
        """``markets``: the configured markets and a day of their outcome prices."""
        slugs = self.container.settings.polymarket_market_slugs
        markets = await client.markets(slugs=slugs)
        points = []
        for market in markets:
            for token in market.token_ids:
                points += await client.prices_history(token, now - FIRST_LOOKBACK, now)
        self.container.market.upsert_prediction_markets(markets, now)
        self.container.market.upsert_prediction_prices(points)
        self.container.features.on_points(points)
        return Fetched(len(points), max((p.time for p in points), default=None))

    async def defillama(self, client: DefiLlamaClient, channel: str, now: datetime) -> Fetched:
        """``tvl:protocol:<slug>`` or ``tvl:chain:<name>``."""
        _, kind, name = channel.split(":", 2)
        if kind == "protocol":
            points = await client.protocol(name)
        else:
            points = await client.historical_chain_tvl(name)
        self.container.market.upsert_tvl(points)
        self.container.features.on_points(points)
        return Fetched(len(points), max((p.time for p in points), default=None))
