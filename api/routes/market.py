"""Market memory reads (``/v1/market``): registry, candles, predictions, TVL, the clock.

Every read is bounded by the market clock: nothing that closes after the market's now is
returned, so a client (or a strategy) sees what was knowable, never more.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Annotated

from fastapi import APIRouter, Query

from adapters.bootstrap import Container
from adapters.database import from_micros, to_micros
from adapters.feature_channels import BEGINNING
from adapters.feature_store import Channel
from adapters.market_replay import ReplayMarketClock
from api.deps import ContainerDep, CurrentUser
from api.pagination import Cursor, PageSize, decode_cursor, encode_cursor
from api.schemas.market import (
    AssetPublic,
    AssetsPublic,
    CandlePublic,
    CandlesPublic,
    ChannelCreate,
    ChannelPublic,
    FeaturePointPublic,
    FeaturesPublic,
    MarketClockPublic,
    PredictionMarketPublic,
    PredictionMarketsPublic,
    TvlPointPublic,
    TvlPublic,
)
from domain.market.errors import BadRange, UnknownAsset
from domain.market.intervals import interval_length

router = APIRouter(
    prefix="/v1/market", tags=["market"], responses={401: {"description": "Not signed in."}}
)
Asset = Annotated[str, Query(min_length=1, max_length=32, examples=["BTC"])]
Interval = Annotated[str, Query(examples=["5m"], description="1m 3m 5m 15m 30m 1h 2h 4h 8h 12h 1d")]
From = Annotated[
    datetime | None, Query(alias="from", description="Inclusive (default: a page back).")
]
To = Annotated[datetime | None, Query(description="Exclusive; capped at the market clock's now.")]


@router.get("/assets")
def list_assets(_: CurrentUser, container: ContainerDep) -> AssetsPublic:
    """Every perp in the registry, in the version in force at the market clock's now."""
    now = container.market_clock.now()
    return AssetsPublic(
        as_of=now, data=[AssetPublic.of(i) for i in container.assets.instruments(now)]
    )


@router.get("/candles")
def list_candles(
    _: CurrentUser,
    container: ContainerDep,
    asset: Asset,
    interval: Interval,
    start: From = None,
    end: To = None,
    limit: PageSize = 500,
    cursor: Cursor = None,
) -> CandlesPublic:
    """Candles of an asset, oldest first, that had closed by the market clock's now."""
    length = interval_length(interval)
    now = _known_asset(container, asset)
    stop = min(end or now, now)
    begin = start or stop - length * limit
    after = decode_cursor(cursor, int)
    if after is not None:
        begin = max(begin, from_micros(after) + length)
    if begin >= stop and cursor is None:
        raise BadRange(f"from={begin.isoformat()} to={stop.isoformat()}")
    candles = container.market.candles(
        asset, interval, start=begin, end=stop, known_at=now, limit=limit
    )
    next_cursor = encode_cursor(to_micros(candles[-1].open_time)) if len(candles) == limit else None
    return CandlesPublic(
        asset=asset,
        interval=interval,
        data=[CandlePublic.of(c) for c in candles],
        next_cursor=next_cursor,
    )


@router.post("/channels")
def subscribe_channel(
    body: ChannelCreate, _: CurrentUser, container: ContainerDep
) -> ChannelPublic:
    """Subscribe to a channel; it is created on demand and backfilled to the market's now."""
    now = container.market_clock.now()
    if body.interval is not None:
        _known_asset(container, body.asset)
    channel = container.features.subscribe(body.asset, body.interval, body.channel, now)
    return _channel_public(channel)


@router.get("/features")
def list_features(
    _: CurrentUser,
    container: ContainerDep,
    asset: Asset,
    channel: Annotated[str, Query(max_length=64, examples=["rsi:14"])],
    interval: Annotated[str | None, Query()] = None,
    start: From = None,
    end: To = None,
    limit: PageSize = 500,
    cursor: Cursor = None,
) -> FeaturesPublic:
    """Values of a subscribed channel, oldest first, knowable by the market clock's now."""
    now = container.market_clock.now()
    found = container.features.channel(asset, interval, channel)
    stop = min(end or now, now)
    begin = start or BEGINNING
    after = decode_cursor(cursor, int)
    if after is not None:
        begin = max(begin, from_micros(after + 1))
    points = container.features.store.points(
        found, start=begin, end=stop, known_at=now, limit=limit
    )
    next_cursor = encode_cursor(to_micros(points[-1].open_time)) if len(points) == limit else None
    data = [
        FeaturePointPublic(
            open_time=p.open_time,
            knowable_at=p.knowable_at,
            value=str(p.value),
            components={name: str(v) for name, v in p.components},
        )
        for p in points
    ]
    return FeaturesPublic(channel=_channel_public(found), data=data, next_cursor=next_cursor)


@router.get("/prediction-markets")
def list_prediction_markets(
    _: CurrentUser, container: ContainerDep, limit: PageSize = 100, cursor: Cursor = None
) -> PredictionMarketsPublic:
    """Tracked Polymarket markets, by id."""
    rows = container.market.prediction_markets(after=decode_cursor(cursor, str), limit=limit)
    data = [
        PredictionMarketPublic(
            market_id=r["market_id"],
            question=r["question"],
            slug=r["slug"],
            outcomes=json.loads(r["outcomes"]),
            token_ids=json.loads(r["token_ids"]),
            outcome_prices=json.loads(r["outcome_prices"]),
            status=r["status"],
            end_date=None if r["end_date"] is None else from_micros(r["end_date"]),
        )
        for r in rows
    ]
    next_cursor = encode_cursor(rows[-1]["market_id"]) if len(rows) == limit else None
    return PredictionMarketsPublic(data=data, next_cursor=next_cursor)


@router.get("/tvl")
def list_tvl(
    _: CurrentUser,
    container: ContainerDep,
    subject: Annotated[str, Query(max_length=128, examples=["protocol:aave", "chain:Ethereum"])],
    start: From = None,
    end: To = None,
    limit: PageSize = 500,
    cursor: Cursor = None,
) -> TvlPublic:
    """A TVL series (``protocol:<slug>``, ``chain:<name>`` or ``chain:*``), oldest first."""
    now = container.market_clock.now()
    stop = min(end or now, now)
    begin = start or stop - timedelta(days=365)
    after = decode_cursor(cursor, int)
    if after is not None:
        begin = max(begin, from_micros(after + 1))
    points = container.market.tvl(subject, start=begin, end=stop, limit=limit)
    next_cursor = encode_cursor(to_micros(points[-1].time)) if len(points) == limit else None
    return TvlPublic(
        subject=subject,
        next_cursor=next_cursor,
        data=[TvlPointPublic(time=p.time, tvl_usd=str(p.tvl_usd)) for p in points],
    )


@router.get("/clock")
def read_clock(_: CurrentUser, container: ContainerDep) -> MarketClockPublic:
    """The market clock: live (real time) or the offline replay's simulated time."""
    return market_clock_status(container)


def market_clock_status(container: Container) -> MarketClockPublic:
    """Where market time comes from and where it is (``ended`` when the replay data ran out)."""
    clock = container.market_clock
    if not isinstance(clock, ReplayMarketClock):
        return MarketClockPublic(mode="live", now=clock.now(), status="live")
    state = container.replay.state()
    return MarketClockPublic(
        mode="replay",
        now=clock.now(),
        status=state.status if state else "not_started",
        speed=container.settings.replay_speed,
        data_start=state.data_start if state else None,
        data_end=state.data_end if state else None,
    )


def _known_asset(container: Container, asset: str) -> datetime:
    now = container.market_clock.now()
    if container.assets.instrument(asset, now) is None:
        raise UnknownAsset(f"asset={asset} as_of={now.isoformat()}")
    return now


def _channel_public(channel: Channel) -> ChannelPublic:
    return ChannelPublic(
        channel_id=channel.channel_id,
        asset=channel.asset,
        interval=channel.interval,
        channel=channel.spec.key,
        last_open_time=channel.checkpoint.last_open_time,
    )
