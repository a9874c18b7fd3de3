"""Market memory as the trading module reads it: series, marks, funding, instruments at t.

Implements ``domain.trading.context.MarketMemory`` over the market tables. Every read is
"as of" a market time: feature values by their ``knowable_at`` stamp, marks and funding by
the newest snapshot at or before t, so a decision (live, dry run or replayed) can never
see data from after its tick. Channels a strategy needs are subscribed on first use
(:meth:`MarketReader.ensure_channels`), which backfills them from stored history.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta
from decimal import Decimal

from adapters.asset_registry import AssetRegistry
from adapters.feature_channels import FeatureChannels
from adapters.feature_store import Channel
from adapters.market_quotes import MarketQuote, NoMarketData, quote
from adapters.market_store import MarketStore
from domain.market.errors import UnknownChannel
from domain.market.instruments import Instrument
from domain.market.intervals import interval_length
from domain.trading.spec import ChannelRef

WINDOW_PAGE = 5_000
POINT_SERIES = "-"  # ChannelRef.interval of point series (funding) that have no interval


class MarketReader:
    """The trading module's view of market memory.

    A reader memoizes what it has read (channel rows, quotes, instruments), so one tick or
    one dry run reads each once: build one per tick with :meth:`for_tick`, never share a
    long-lived one across ticks (checkpoints and quotes move on).
    """

    def __init__(self, features: FeatureChannels, market: MarketStore, assets: AssetRegistry):
        self.features = features
        self.market = market
        self.assets = assets
        self._channels: dict[ChannelRef, Channel | None] = {}
        self._quotes: dict[tuple[str, datetime], MarketQuote | None] = {}
        self._instruments: dict[tuple[str, datetime], Instrument | None] = {}

    def for_tick(self) -> MarketReader:
        """A fresh reader over the same stores, with empty memos."""
        return MarketReader(self.features, self.market, self.assets)

    def ensure_channels(self, refs: Iterable[ChannelRef], now: datetime) -> None:
        """Subscribe every channel not subscribed yet (backfilled up to ``now``)."""
        for ref in refs:
            if self._channel(ref) is None:
                self._channels[ref] = self.features.subscribe(
                    ref.asset, _interval(ref), ref.key, now
                )

    def caught_up(self, ref: ChannelRef, at: datetime) -> bool:
        """Whether the channel has folded every candle closing by ``at``.

        True during an indicator's warm-up too (the candle was folded, no value yet), so
        only data that is still on its way makes a tick wait.
        """
        interval = _interval(ref)
        if interval is None:
            return True
        channel = self._channel(ref, fresh=True)
        last = None if channel is None else channel.checkpoint.last_open_time
        return last is not None and last + interval_length(interval) >= at

    def series(self, ref: ChannelRef, at: datetime, count: int) -> list[tuple[datetime, Decimal]]:
        """The last ``count`` values of ``ref`` knowable at ``at`` (oldest first)."""
        channel = self._channel(ref)
        if channel is None:
            return []
        points = self.features.store.latest(channel, known_at=at, count=count)
        found = []
        for point in points:
            value = point.value if ref.component is None else point.component(ref.component)
            if value is not None:
                found.append((point.knowable_at, value))
        return found

    def window(
        self, ref: ChannelRef, start: datetime, end: datetime
    ) -> list[tuple[datetime, Decimal]]:
        """Every value of ``ref`` opening in ``[start, end)`` knowable by ``end``, oldest first."""
        channel = self._channel(ref)
        found: list[tuple[datetime, Decimal]] = []
        cursor = start
        while channel is not None:
            points = self.features.store.points(
                channel, start=cursor, end=end, known_at=end, limit=WINDOW_PAGE
            )
            for point in points:
                value = point.value if ref.component is None else point.component(ref.component)
                if value is not None:
                    found.append((point.knowable_at, value))
            if len(points) < WINDOW_PAGE:
                break
            cursor = points[-1].open_time + timedelta(microseconds=1)
        return found

    def mark(self, asset: str, at: datetime) -> Decimal | None:
        """The mark in force at ``at``."""
        found = self._quote(asset, at)
        return None if found is None else found.mark

    def funding_rate(self, asset: str, at: datetime) -> Decimal | None:
        """The funding rate in force at ``at``."""
        found = self._quote(asset, at)
        return None if found is None else found.funding_rate

    def instrument(self, asset: str, at: datetime) -> Instrument | None:
        """The registry version in force at ``at``."""
        key = (asset, at)
        if key not in self._instruments:
            self._instruments[key] = self.assets.instrument(asset, at)
        return self._instruments[key]

    def _channel(self, ref: ChannelRef, *, fresh: bool = False) -> Channel | None:
        if fresh or ref not in self._channels:
            try:
                self._channels[ref] = self.features.channel(ref.asset, _interval(ref), ref.key)
            except UnknownChannel:
                self._channels[ref] = None
        return self._channels[ref]

    def _quote(self, asset: str, at: datetime) -> MarketQuote | None:
        key = (asset, at)
        if key not in self._quotes:
            try:
                self._quotes[key] = quote(self.market, asset, at)
            except NoMarketData:
                self._quotes[key] = None
        return self._quotes[key]


def _interval(ref: ChannelRef) -> str | None:
    return None if ref.interval == POINT_SERIES else ref.interval
