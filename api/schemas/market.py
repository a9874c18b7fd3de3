"""Market read models of the HTTP contract. Prices, sizes and rates travel as strings."""

from __future__ import annotations

from datetime import datetime

from pydantic import Field

from api.schemas.base import ApiModel
from domain.market.instruments import Instrument
from domain.market.model import Candle


class MarginTierPublic(ApiModel):
    """From ``lowerBound`` notional (USDC) up, at most ``maxLeverage``."""

    lower_bound: str
    max_leverage: int


class AssetPublic(ApiModel):
    """A perp of the registry, in the version in force at the market clock's now."""

    name: str
    version: int
    valid_from: datetime
    size_decimals: int
    max_price_decimals: int = Field(description="6 - sizeDecimals; prices also have <= 5 sig figs")
    max_leverage: int
    margin_tiers: list[MarginTierPublic]
    only_isolated: bool
    delisted: bool
    min_order_notional: str
    taker_fee_rate: str
    maker_fee_rate: str

    @classmethod
    def of(cls, instrument: Instrument) -> AssetPublic:
        """Build from the domain type."""
        spec = instrument.spec
        return cls(
            name=spec.name,
            version=instrument.version,
            valid_from=instrument.valid_from,
            size_decimals=spec.size_decimals,
            max_price_decimals=6 - spec.size_decimals,
            max_leverage=spec.max_leverage,
            margin_tiers=[
                MarginTierPublic(lower_bound=str(t.lower_bound), max_leverage=t.max_leverage)
                for t in spec.margin_tiers
            ],
            only_isolated=spec.only_isolated,
            delisted=spec.delisted,
            min_order_notional=str(instrument.min_notional),
            taker_fee_rate=str(instrument.taker_fee_rate),
            maker_fee_rate=str(instrument.maker_fee_rate),
        )


class AssetsPublic(ApiModel):
    """Every asset in force at ``asOf``."""

    as_of: datetime
    data: list[AssetPublic]


class CandlePublic(ApiModel):
    """One OHLCV candle; it was knowable from ``closeTime``."""

    open_time: datetime
    close_time: datetime
    open: str
    high: str
    low: str
    close: str
    volume: str

    @classmethod
    def of(cls, candle: Candle) -> CandlePublic:
        """Build from the domain type."""
        return cls(
            open_time=candle.open_time,
            close_time=candle.close_time,
            open=str(candle.open),
            high=str(candle.high),
            low=str(candle.low),
            close=str(candle.close),
            volume=str(candle.volume),
        )


class CandlesPublic(ApiModel):
    """A page of candles, oldest first; only candles closed by the market clock."""

    asset: str
    interval: str
    data: list[CandlePublic]
    next_cursor: str | None


class PredictionMarketPublic(ApiModel):
    """A Polymarket market and its outcome tokens (aligned by index)."""

    market_id: str
    question: str
    slug: str
    outcomes: list[str]
    token_ids: list[str]
    outcome_prices: list[str]
    status: str
    end_date: datetime | None


class PredictionMarketsPublic(ApiModel):
    """A page of prediction markets."""

    data: list[PredictionMarketPublic]
    next_cursor: str | None


class TvlPointPublic(ApiModel):
    """Total value locked (USD) at ``time``."""

    time: datetime
    tvl_usd: str


class TvlPublic(ApiModel):
    """A page of a TVL series, oldest first."""

    subject: str
    data: list[TvlPointPublic]
    next_cursor: str | None


class MarketClockPublic(ApiModel):
    """Where market time comes from, and where it is."""

    mode: str
    now: datetime
    status: str = Field(description="live | playing | ended | not_started")
    speed: float | None = None
    data_start: datetime | None = None
    data_end: datetime | None = None


class SourceHealthPublic(ApiModel):
    """Health of one channel of one market-data source."""

    source: str
    channel: str
    state: str
    consecutive_failures: int
    last_success_at: datetime | None
    last_error_at: datetime | None
    last_error: str | None
    last_data_at: datetime | None
    lag_seconds: float | None


class SourcesHealthPublic(ApiModel):
    """Every source channel's health at ``checkedAt`` (service clock)."""

    checked_at: datetime
    data: list[SourceHealthPublic]


class ChannelCreate(ApiModel):
    """Subscribe to a feature channel on a series (created on demand, then backfilled)."""

    asset: str = Field(
        min_length=1,
        max_length=128,
        examples=["BTC"],
        description="Asset, Polymarket token id, or TVL subject.",
    )
    interval: str | None = Field(
        default=None,
        examples=["5m"],
        description="Candle interval; none for funding/probability/tvl.",
    )
    channel: str = Field(min_length=1, max_length=64, examples=["ema:20", "macd:12,26,9"])


class ChannelPublic(ApiModel):
    """A subscribed channel and how far it has been computed."""

    channel_id: str
    asset: str
    interval: str | None
    channel: str
    last_open_time: datetime | None


class FeaturePointPublic(ApiModel):
    """One channel value; readable from ``knowableAt`` on (never earlier)."""

    open_time: datetime
    knowable_at: datetime
    value: str
    components: dict[str, str]


class FeaturesPublic(ApiModel):
    """A page of a channel's values, oldest first, knowable by the market clock's now."""

    channel: ChannelPublic
    data: list[FeaturePointPublic]
    next_cursor: str | None
