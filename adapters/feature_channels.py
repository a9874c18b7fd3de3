"""Feature channels as a service: subscribe (and backfill), then keep up as data arrives.

Subscribing to a (kind, parameters) pair on a series creates the channel on demand and
backfills it from stored history up to the market clock's now; after that, every newly
published candle (or funding, probability or TVL point) is folded in by ``on_*``. Both
paths resume the channel from its stored checkpoint, so a channel is computed once,
incrementally, however many readers it has.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

from adapters.feature_store import Channel, FeatureStore, channel_id
from adapters.market_store import MarketStore
from domain.market.channels import ChannelRunner, ChannelSpec
from domain.market.errors import BadChannel, UnknownChannel
from domain.market.indicators import FeatureError
from domain.market.model import Candle, FundingRate, PricePoint, TvlPoint

Observation = Candle | FundingRate | PricePoint | TvlPoint
BACKFILL_PAGE = 5000
BEGINNING = datetime(1970, 1, 1, tzinfo=UTC)


class FeatureChannels:
    """Subscriptions, backfill and incremental updates of feature channels."""

    def __init__(self, store: FeatureStore, market: MarketStore) -> None:
        self.store = store
        self.market = market

    def subscribe(self, asset: str, interval: str | None, key: str, now: datetime) -> Channel:
        """Create (or find) a channel and bring it up to ``now``."""
        spec = parse_spec(key)
        if (spec.reads is Candle) != (interval is not None):
            raise BadChannel(f"channel={key} candle kinds need an interval, point kinds none")
        self.store.subscribe(asset, interval, spec, now)
        channel = self.channel(asset, interval, key)
        self._advance(channel, self._history(channel, now))
        return self.channel(asset, interval, key)

    def channel(self, asset: str, interval: str | None, key: str) -> Channel:
        """A subscribed channel, or :class:`UnknownChannel`."""
        found = self.store.channel(channel_id(asset, interval, parse_spec(key)))
        if found is None:
            raise UnknownChannel(f"asset={asset} interval={interval} channel={key}")
        return found

    def on_candles(self, candles: Sequence[Candle]) -> int:
        """Fold newly published candles into every channel of their series."""
        return self._on(candles)

    def on_points(self, points: Sequence[FundingRate | PricePoint | TvlPoint]) -> int:
        """Fold newly published funding, probability or TVL points into their channels."""
        return self._on(points)

    def _on(self, observations: Sequence[Observation]) -> int:
        by_series: dict[tuple[str, str | None], list[Observation]] = defaultdict(list)
        for observation in observations:
            by_series[_series(observation)].append(observation)
        folded = 0
        for (asset, interval), batch in by_series.items():
            for channel in self.store.channels(asset, interval):
                if channel.interval == interval and isinstance(batch[0], channel.spec.reads):
                    folded += self._advance(channel, sorted(batch, key=_open_time))
        return folded

    def _advance(self, channel: Channel, observations: Sequence[Observation]) -> int:
        runner = _runner(channel)
        points = runner.feed_all(observations)
        if runner.last_open_time != channel.checkpoint.last_open_time:
            self.store.save(channel, points, runner.checkpoint())
        return len(points)

    def _history(self, channel: Channel, now: datetime) -> list[Observation]:
        start = channel.checkpoint.last_open_time or BEGINNING
        if channel.spec.reads is Candle and channel.interval is not None:
            return list(self._candles(channel.asset, channel.interval, start, now))
        if channel.spec.reads is FundingRate:
            return list(self.market.funding(channel.asset, start=start, end=now))
        if channel.spec.reads is PricePoint:
            return list(
                self.market.prediction_prices(channel.asset, start=start, end=now, limit=1_000_000)
            )
        return list(self.market.tvl(channel.asset, start=start, end=now, limit=1_000_000))

    def _candles(self, asset: str, interval: str, start: datetime, now: datetime) -> list[Candle]:
        candles: list[Candle] = []
        while True:
            page = self.market.candles(
                asset, interval, start=start, end=now, known_at=now, limit=BACKFILL_PAGE
            )
            candles.extend(page)
            if len(page) < BACKFILL_PAGE:
                return candles
            start = page[-1].open_time + timedelta(microseconds=1)


def parse_spec(key: str) -> ChannelSpec:
    """Parse a channel key, mapping its errors to :class:`BadChannel`."""
    try:
        return ChannelSpec.parse(key)
    except FeatureError as exc:
        raise BadChannel(str(exc)) from None


def _runner(channel: Channel) -> ChannelRunner:
    if channel.checkpoint.last_open_time is None:
        return ChannelRunner(channel.spec, channel.asset, channel.interval)
    return ChannelRunner.resume(channel.spec, channel.asset, channel.interval, channel.checkpoint)


def _series(observation: Observation) -> tuple[str, str | None]:
    if isinstance(observation, Candle):
        return observation.asset, observation.interval
    if isinstance(observation, FundingRate):
        return observation.asset, None
    if isinstance(observation, PricePoint):
        return observation.token_id, None
    return observation.subject, None


def _open_time(observation: Observation) -> datetime:
    return observation.open_time if isinstance(observation, Candle) else observation.time
