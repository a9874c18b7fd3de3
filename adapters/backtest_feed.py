"""Loading a backtest's historical feed from market memory, once, before the replay.

The replay engine reads only its in-memory feed (``domain.backtesting.feed``), so a run is
pure after this point and its input hash covers exactly what it saw. Loaded here:

- each traded asset's bars at its cadence, closing in the window;
- every channel the spec reads, subscribed first if needed (market memory backfills it from
  stored candles), with enough values before the window for the first decision's series;
- the settled funding rates in the window, and each instrument as in force at its start.

Everything is read "as known at" the window's end, never later.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from adapters.bootstrap import Container
from adapters.trading_market import MarketReader
from domain.backtesting.feed import Bar, HistoricalFeed, Point
from domain.market.instruments import Instrument
from domain.market.intervals import interval_length
from domain.trading.context import SERIES_LENGTH
from domain.trading.spec import ChannelRef, StrategySpec

POINT_LOOKBACK = timedelta(hours=SERIES_LENGTH + 2)
PAGE = 5_000


class MissingMarketData(LookupError):
    """An asset has no bars in the window, or no instrument in force at its start."""

    reason = "missing_market_data"


def load_feed(
    container: Container, spec: StrategySpec, *, start: datetime, end: datetime
) -> HistoricalFeed:
    """The feed of ``spec`` over bars closing in ``(start, end]``."""
    reader = MarketReader(container.features, container.market, container.assets)
    reader.ensure_channels(spec.channels, end)
    bars = {
        plan.asset: _bars(container, plan.asset, plan.cadence, start, end) for plan in spec.assets
    }
    features = {ref: _points(reader, ref, start, end) for ref in spec.channels}
    funding = {
        plan.asset: [
            (r.time, r.rate) for r in container.market.funding(plan.asset, start=start, end=end)
        ]
        for plan in spec.assets
    }
    return HistoricalFeed(
        bars=bars,
        features=features,
        funding={a: points for a, points in funding.items() if points},
        instruments=_instruments(container, spec, start),
    )


def _bars(
    container: Container, asset: str, cadence: str, start: datetime, end: datetime
) -> list[Bar]:
    length = interval_length(cadence)
    found: list[Bar] = []
    cursor = start - length
    while True:
        page = container.market.candles(
            asset, cadence, start=cursor, end=end, known_at=end, limit=PAGE
        )
        found += [
            Bar(c.open_time, c.close_time, c.open, c.high, c.low, c.close)
            for c in page
            if start < c.close_time <= end
        ]
        if len(page) < PAGE:
            break
        cursor = page[-1].open_time + length
    if not found:
        raise MissingMarketData(f"asset={asset} interval={cadence} has no bars in the window")
    return found


def _points(reader: MarketReader, ref: ChannelRef, start: datetime, end: datetime) -> list[Point]:
    lookback = (
        POINT_LOOKBACK
        if ref.interval == "-"
        else interval_length(ref.interval) * (SERIES_LENGTH + 2)
    )
    return reader.window(ref, start - lookback, end)


def _instruments(
    container: Container, spec: StrategySpec, start: datetime
) -> dict[str, Instrument]:
    found = {}
    for asset in spec.asset_names:
        instrument = container.assets.instrument(asset, start)
        if instrument is None:
            raise MissingMarketData(f"asset={asset} has no instrument in force at {start}")
        found[asset] = instrument
    return found
