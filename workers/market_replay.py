"""The offline market: replays the bundled candles as a simulated feed.

Each step advances the simulated market time by the real time elapsed since the previous
step times the speed (``--speed 60``: a minute per second), then publishes every candle
that closed in between: the candle itself, the asset context it implies (offline, mark =
oracle = the 5m close and funding is zero) and, through ``on_published``, the feature
channels. On its first run the feed also publishes the 1h history that closed before the
5m data starts, for long backtests. The first step after a process starts only anchors the
real time, so downtime never fast-forwards the market; the position is persisted, so a
restart continues where it stopped. At the end of the data the feed's status is ``ended``
and it stops asking for work.
"""

from __future__ import annotations

import bisect
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal

import structlog

from adapters.bundled_candles import BUNDLED_ASSETS, BUNDLED_SOURCE, bundled_path, read_candles
from adapters.market_replay import ReplayMarketClock, ReplayStore
from adapters.market_store import MarketStore
from domain.market.model import AssetContext, Candle
from workers.runtime import WorkItem

log = structlog.get_logger("workers.market_replay")
REPLAY_INTERVAL = "5m"
HISTORY_INTERVAL = "1h"


class BundledArchive:
    """Every bundled candle in memory, sorted by close time, for range lookups."""

    def __init__(self, assets: Sequence[str] = BUNDLED_ASSETS) -> None:
        candles = [
            candle
            for asset in assets
            for interval in (REPLAY_INTERVAL, HISTORY_INTERVAL)
            for candle in read_candles(bundled_path(asset, interval), asset, interval)
        ]
        candles.sort(key=lambda c: (c.close_time, c.asset, c.interval))
        self.candles = candles
        self._closes = [c.close_time for c in candles]
        replay = [c for c in candles if c.interval == REPLAY_INTERVAL]
        self.data_start = min(c.open_time for c in replay)
        self.data_end = max(c.close_time for c in replay)

    def closing_in(self, after: datetime, until: datetime) -> list[Candle]:
        """Candles whose close time is in ``(after, until]``."""
        low = bisect.bisect_right(self._closes, after)
        high = bisect.bisect_right(self._closes, until)
        return self.candles[low:high]

    def closing_by(self, until: datetime) -> list[Candle]:
        """Candles closed at or before ``until``."""
        return self.candles[: bisect.bisect_right(self._closes, until)]


@dataclass
class MarketReplay:
    """The ``market-replay`` worker."""

    store: ReplayStore
    market: MarketStore
    market_clock: ReplayMarketClock | None
    speed: float
    archive_factory: Callable[[], BundledArchive] = BundledArchive
    on_published: Callable[[Sequence[Candle]], object] = field(default=lambda _: None)
    name: str = "market-replay"
    interval: timedelta = timedelta(seconds=1)
    critical: bool = True
    _archive: BundledArchive | None = field(default=None, init=False)
    _anchor: datetime | None = field(default=None, init=False)

    def pending(self, now: datetime) -> Sequence[WorkItem]:
        """One advance per step while the data lasts."""
        state = self.store.state()
        return [] if state is not None and state.status == "ended" else [WorkItem("advance")]

    def perform(self, item: WorkItem, now: datetime) -> None:
        """Advance the simulated market and publish what closed."""
        archive = self.archive()
        state = self.store.state()
        if state is None:
            state = self.store.start(archive.data_start, archive.data_end, now)
            self.publish(archive.closing_by(state.position))
        if self._anchor is None:
            self._anchor = now
            return
        elapsed, self._anchor = now - self._anchor, now
        target = min(state.position + elapsed * self.speed, state.data_end)
        if target > state.position:
            self.publish(archive.closing_in(state.position, target))
            self.store.advance(state.position, target, now)
            if self.market_clock is not None:
                self.market_clock.forget()

    def archive(self) -> BundledArchive:
        """The bundled candles, loaded once."""
        if self._archive is None:
            self._archive = self.archive_factory()
        return self._archive

    def publish(self, candles: Sequence[Candle]) -> None:
        """Store candles, their implied contexts, and update the feature channels."""
        if not candles:
            return
        self.market.upsert_candles(BUNDLED_SOURCE, candles)
        self.market.upsert_contexts(
            BUNDLED_SOURCE, [_offline_context(c) for c in candles if c.interval == REPLAY_INTERVAL]
        )
        self.on_published(candles)
        log.debug("replay_published", candles=len(candles), until=str(candles[-1].close_time))


def _offline_context(candle: Candle) -> AssetContext:
    return AssetContext(
        asset=candle.asset,
        time=candle.close_time,
        mark=candle.close,
        oracle=candle.close,
        funding=Decimal(0),
    )
