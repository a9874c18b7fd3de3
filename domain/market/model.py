"""Market value types. Prices, sizes and rates are ``Decimal``; instants are aware UTC.

These are what parsers produce and stores keep; the API has its own models.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from domain.market.intervals import interval_length


@dataclass(frozen=True)
class Candle:
    """One OHLCV candle of an asset on an interval, identified by its open time."""

    asset: str
    interval: str
    open_time: datetime
    open: Decimal
    high: Decimal
    low: Decimal
    close: Decimal
    volume: Decimal
    trades: int | None = None

    @property
    def close_time(self) -> datetime:
        """When the candle closes, and so when its values become knowable."""
        return self.open_time + interval_length(self.interval)

    @property
    def length(self) -> timedelta:
        """The candle's duration."""
        return interval_length(self.interval)


@dataclass(frozen=True)
class FundingRate:
    """The hourly funding rate of a perp settled at ``time`` (longs pay when positive)."""

    asset: str
    time: datetime
    rate: Decimal
    premium: Decimal | None = None


@dataclass(frozen=True)
class AssetContext:
    """A perp's live context at ``time``: mark, oracle, current funding, open interest."""

    asset: str
    time: datetime
    mark: Decimal
    oracle: Decimal
    funding: Decimal
    open_interest: Decimal | None = None
    mid: Decimal | None = None
    premium: Decimal | None = None
    day_notional_volume: Decimal | None = None
    previous_day_price: Decimal | None = None


@dataclass(frozen=True)
class MarginTier:
    """From ``lower_bound`` notional (USDC) up, at most ``max_leverage``."""

    lower_bound: Decimal
    max_leverage: int


@dataclass(frozen=True)
class PerpSpec:
    """A perpetual as the registry knows it (one version of it)."""

    name: str
    index: int
    size_decimals: int
    max_leverage: int
    margin_tiers: tuple[MarginTier, ...]
    only_isolated: bool = False
    delisted: bool = False
    margin_mode: str | None = None


@dataclass(frozen=True)
class BookLevel:
    """One price level of an order book."""

    price: Decimal
    size: Decimal
    orders: int | None = None


@dataclass(frozen=True)
class OrderBook:
    """An order book snapshot; both sides best-first."""

    asset: str
    time: datetime
    bids: tuple[BookLevel, ...]
    asks: tuple[BookLevel, ...]


@dataclass(frozen=True)
class PredictionMarket:
    """A Polymarket market: a question and its outcome tokens (aligned by index)."""

    market_id: str
    condition_id: str
    question: str
    slug: str
    outcomes: tuple[str, ...]
    token_ids: tuple[str, ...]
    outcome_prices: tuple[Decimal, ...]
    active: bool
    closed: bool
    end_date: datetime | None = None
    volume: Decimal | None = None
    liquidity: Decimal | None = None


@dataclass(frozen=True)
class PricePoint:
    """A prediction-market outcome token's price (probability) at ``time``."""

    token_id: str
    time: datetime
    price: Decimal


@dataclass(frozen=True)
class TvlPoint:
    """Total value locked (USD) of a protocol or chain at ``time``."""

    subject: str  # "protocol:<slug>" | "chain:<name>" | "chain:*"
    time: datetime
    tvl_usd: Decimal
