"""Historical feeds for replay tests, built the way market memory builds them.

Bars come from the bundled candle files; feature values are computed by market memory's own
channel runners (``domain.market.channels``) and stamped with their ``knowable_at``, exactly
as the feature store holds them. Instruments are the registry's seeded BTC/ETH/SOL specs.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from decimal import Decimal

from adapters.bundled_candles import bundled_path, read_candles
from domain.backtesting.feed import Bar, HistoricalFeed, Point
from domain.market.channels import ChannelRunner, ChannelSpec
from domain.market.instruments import Instrument
from domain.market.model import Candle, MarginTier, PerpSpec
from domain.trading.spec import ChannelRef, StrategySpec

T0 = datetime(2020, 12, 1, tzinfo=UTC)
SIZE_DECIMALS = {"BTC": 5, "ETH": 4, "SOL": 2}
MAX_LEVERAGE = {"BTC": 40, "ETH": 25, "SOL": 20}


def instrument(asset: str) -> Instrument:
    """A registry-like instrument of ``asset`` (taker 0.045 %, 10 USDC minimum)."""
    lev = MAX_LEVERAGE[asset]
    spec = PerpSpec(asset, 0, SIZE_DECIMALS[asset], lev, (MarginTier(Decimal(0), lev),))
    return Instrument(spec, 1, T0, Decimal("0.00045"), Decimal("0.00015"), Decimal("10"))


def bundled(asset: str, interval: str) -> list[Candle]:
    """The bundled candles of ``asset`` at ``interval``."""
    return read_candles(bundled_path(asset, interval), asset, interval)


def feed_of(spec: StrategySpec, candles: dict[str, Sequence[Candle]]) -> HistoricalFeed:
    """The feed of ``spec`` over ``candles`` (per asset, at the asset's cadence)."""
    bars = {
        a: [Bar(c.open_time, c.close_time, c.open, c.high, c.low, c.close) for c in rows]
        for a, rows in candles.items()
    }
    features = {ref: channel_points(ref, candles[ref.asset]) for ref in spec.channels}
    return HistoricalFeed(
        bars=bars, features=features, instruments={a: instrument(a) for a in candles}
    )


def channel_points(ref: ChannelRef, candles: Sequence[Candle]) -> list[Point]:
    """The channel's values over ``candles``, stamped when knowable."""
    runner = ChannelRunner(ChannelSpec.parse(ref.key), ref.asset, ref.interval)
    found: list[Point] = []
    for candle in candles:
        point = runner.feed(candle)
        if point is None:
            continue
        value = point.value if ref.component is None else point.component(ref.component)
        if value is not None:
            found.append((point.knowable_at, value))
    return found
