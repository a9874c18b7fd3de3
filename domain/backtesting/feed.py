"""The historical feed a backtest replays: bars, feature values, funding and instruments.

A backtest must read exactly what live trading would have read at each instant, and
nothing it could not have known. The feed is an in-memory snapshot of market memory for
the run's window (built by ``adapters.backtest_feed.load_feed``; tests build it by hand):

- bars per asset at the asset's cadence, stamped by their close (a bar is knowable when it
  closes);
- feature values per channel, each with its ``knowable_at`` stamp (market memory computed
  them; the backtest never computes an indicator);
- settled hourly funding rates per asset, and the instruments in force at the start.

It answers the trading module's ``MarketMemory`` port (series, mark, funding rate,
instrument) and the prop ledger's ``MarketView`` port (instrument, mark) as of any instant,
by binary search, so the same decision code and the same ledger run on it unchanged. The
mark at an instant is the close of the last bar closed by then. ``content_hash`` covers
every value, so the run's input hash changes whenever the data does.
"""

from __future__ import annotations

import hashlib
from bisect import bisect_right
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from domain.market.instruments import Instrument
from domain.trading.spec import ChannelRef

Point = tuple[datetime, Decimal]


@dataclass(frozen=True)
class Bar:
    """One OHLC bar of an asset at its cadence."""

    open_time: datetime
    close_time: datetime
    open: Decimal
    high: Decimal
    low: Decimal
    close: Decimal


@dataclass
class HistoricalFeed:
    """An in-memory slice of market memory, read as of any instant."""

    bars: Mapping[str, Sequence[Bar]]
    features: Mapping[ChannelRef, Sequence[Point]]
    funding: Mapping[str, Sequence[Point]] = field(default_factory=dict)
    instruments: Mapping[str, Instrument] = field(default_factory=dict)
    _closes: dict[str, list[datetime]] = field(default_factory=dict, init=False, repr=False)
    _known: dict[ChannelRef, list[datetime]] = field(default_factory=dict, init=False, repr=False)
    _funding_at: dict[str, list[datetime]] = field(default_factory=dict, init=False, repr=False)

    def __post_init__(self) -> None:
        self._closes = {a: [b.close_time for b in bars] for a, bars in self.bars.items()}
        self._known = {ref: [t for t, _ in points] for ref, points in self.features.items()}
        self._funding_at = {a: [t for t, _ in points] for a, points in self.funding.items()}

    def series(self, ref: ChannelRef, at: datetime, count: int) -> list[Point]:
        """The last ``count`` values of ``ref`` knowable at ``at``, oldest first."""
        times = self._known.get(ref)
        if times is None:
            return []
        end = bisect_right(times, at)
        return list(self.features[ref][max(0, end - count) : end])

    def mark(self, asset: str, at: datetime) -> Decimal | None:
        """The close of the last bar of ``asset`` closed by ``at``."""
        times = self._closes.get(asset)
        if not times:
            return None
        index = bisect_right(times, at)
        return self.bars[asset][index - 1].close if index else None

    def funding_rate(self, asset: str, at: datetime) -> Decimal | None:
        """The latest settled funding rate of ``asset`` at or before ``at``."""
        times = self._funding_at.get(asset)
        if not times:
            return None
        index = bisect_right(times, at)
        return self.funding[asset][index - 1][1] if index else None

    def funding_at(self, asset: str, period: datetime) -> Decimal | None:
        """The funding rate settled exactly at ``period``, if recorded."""
        times = self._funding_at.get(asset)
        if not times:
            return None
        index = bisect_right(times, period)
        if index and times[index - 1] == period:
            return self.funding[asset][index - 1][1]
        return None

    def instrument(self, asset: str, at: datetime) -> Instrument | None:
        """The instrument pinned for the run (the version in force at its start)."""
        return self.instruments.get(asset)

    def content_hash(self) -> str:
        """``sha256:<hex>`` over every bar, feature value, funding rate and instrument."""
        digest = hashlib.sha256()
        for asset in sorted(self.bars):
            for bar in self.bars[asset]:
                digest.update(
                    f"{asset}|{bar.open_time.isoformat()}|{bar.open}|{bar.high}|{bar.low}"
                    f"|{bar.close}\n".encode()
                )
        for ref in sorted(self.features):
            for at, value in self.features[ref]:
                digest.update(f"{ref.label}|{at.isoformat()}|{value}\n".encode())
        for asset in sorted(self.funding):
            for at, value in self.funding[asset]:
                digest.update(f"funding|{asset}|{at.isoformat()}|{value}\n".encode())
        for asset in sorted(self.instruments):
            instrument = self.instruments[asset]
            digest.update(f"instrument|{asset}|{instrument.version}|{instrument.spec}\n".encode())
        return f"sha256:{digest.hexdigest()}"
