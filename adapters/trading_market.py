"""Market memory as the trading module reads it: series, marks, funding, instruments at t.

Implements ``domain.trading.context.MarketMemory`` over the market tables. Every read is
"as of" a market time: feature values by their ``knowable_at`` stamp, marks and funding by
the newest snapshot at or before t, so a decision (live, dry run or replayed) can never
see data from after its tick. Channels a strategy needs are subscribed on first use
(:meth:`MarketReader.ensure_channels`), which backfills them from stored history.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from decimal import Decimal

from adapters.asset_registry import AssetRegistry
from adapters.feature_channels import FeatureChannels
from adapters.market_quotes import NoMarketData, quote
from adapters.market_store import MarketStore
from domain.market.errors import UnknownChannel
from domain.market.instruments import Instrument
from domain.market.intervals import interval_length
from domain.trading.spec import ChannelRef

POINT_SERIES = "-"  # ChannelRef.interval of point series (funding) that have no interval


class MarketReader:
    """The trading module's view of market memory."""

    def __init__(self, features: FeatureChannels, market: MarketStore, assets: AssetRegistry):
        self.features = features
        self.market = market
        self.assets = assets

    def ensure_channels(self, refs: Iterable[ChannelRef], now: datetime) -> None:
        """Subscribe every channel not subscribed yet (backfilled up to ``now``)."""
        for ref in refs:
            interval = _interval(ref)
            try:
                self.features.channel(ref.asset, interval, ref.key)
            except UnknownChannel:
                self.features.subscribe(ref.asset, interval, ref.key, now)

    def caught_up(self, ref: ChannelRef, at: datetime) -> bool:
        """Whether the channel has folded every candle closing by ``at``.

        True during an indicator's warm-up too (the candle was folded, no value yet), so
        only data that is still on its way makes a tick wait.
        """
        interval = _interval(ref)
        if interval is None:
            return True
        try:
            channel = self.features.channel(ref.asset, interval, ref.key)
        except UnknownChannel:
            return False
        last = channel.checkpoint.last_open_time
        return last is not None and last + interval_length(interval) >= at

    def series(self, ref: ChannelRef, at: datetime, count: int) -> list[tuple[datetime, Decimal]]:
        """The last ``count`` values of ``ref`` knowable at ``at`` (oldest first)."""
        try:
            channel = self.features.channel(ref.asset, _interval(ref), ref.key)
        except UnknownChannel:
            return []
        points = self.features.store.latest(channel, known_at=at, count=count)
        found = []
        for point in points:
            value = point.value if ref.component is None else point.component(ref.component)
            if value is not None:
                found.append((point.knowable_at, value))
        return found

    def mark(self, asset: str, at: datetime) -> Decimal | None:
        """The mark in force at ``at``."""
        try:
            return quote(self.market, asset, at).mark
        except NoMarketData:
            return None

    def funding_rate(self, asset: str, at: datetime) -> Decimal | None:
        """The funding rate in force at ``at``."""
        try:
            return quote(self.market, asset, at).funding_rate
        except NoMarketData:
            return None

    def instrument(self, asset: str, at: datetime) -> Instrument | None:
        """The registry version in force at ``at``."""
        return self.assets.instrument(asset, at)


def _interval(ref: ChannelRef) -> str | None:
    return None if ref.interval == POINT_SERIES else ref.interval
