"""Feature channels on both stores: backfill on subscribe, incremental updates, resume."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from adapters.bundled_candles import bundled_path, read_candles
from adapters.database import Database
from adapters.feature_channels import FeatureChannels
from adapters.feature_store import FeatureStore
from adapters.market_store import MarketStore
from domain.market.channels import ChannelSpec, compute_channel
from domain.market.errors import BadChannel, UnknownChannel

ETH_5M = read_candles(bundled_path("ETH", "5m"), "ETH", "5m")[:300]
START = ETH_5M[0].open_time
FAR = datetime(2030, 1, 1, tzinfo=UTC)


def _service(database: Database) -> FeatureChannels:
    return FeatureChannels(FeatureStore(database), MarketStore(database))


def _values(service: FeatureChannels, key: str, known_at: datetime = FAR) -> list[tuple]:
    channel = service.channel("ETH", "5m", key)
    points = service.store.points(channel, start=START, end=FAR, known_at=known_at, limit=10_000)
    return [(p.open_time, p.value, p.components) for p in points]


def _expected(key: str) -> list[tuple]:
    points = compute_channel(ChannelSpec.parse(key), ETH_5M)
    return [(p.open_time, p.value, p.components) for p in points]


def test_subscribe_backfills_from_stored_candles(database: Database) -> None:
    MarketStore(database).upsert_candles("bundled", ETH_5M)
    service = _service(database)
    service.subscribe("ETH", "5m", "macd:12,26,9", FAR)
    assert _values(service, "macd:12,26,9") == _expected("macd:12,26,9")


def test_incremental_updates_equal_one_full_computation(database: Database) -> None:
    market = MarketStore(database)
    market.upsert_candles("bundled", ETH_5M[:100])
    first = _service(database)
    first.subscribe("ETH", "5m", "rsi:14", ETH_5M[99].close_time)
    for start in range(100, 300, 37):  # a new service each batch: resumes from the checkpoint
        batch = ETH_5M[start : start + 37]
        market.upsert_candles("bundled", batch)
        _service(database).on_candles(batch)
    assert _values(first, "rsi:14") == _expected("rsi:14")


def test_replayed_candles_change_nothing(database: Database) -> None:
    market = MarketStore(database)
    market.upsert_candles("bundled", ETH_5M)
    service = _service(database)
    service.subscribe("ETH", "5m", "ema:20", FAR)
    before = _values(service, "ema:20")
    service.on_candles(ETH_5M[50:120])
    assert _values(service, "ema:20") == before


def test_reads_never_see_values_not_yet_knowable(database: Database) -> None:
    MarketStore(database).upsert_candles("bundled", ETH_5M)
    service = _service(database)
    service.subscribe("ETH", "5m", "ema:5", FAR)
    cut = START + timedelta(minutes=62)
    assert all(p[0] + timedelta(minutes=5) <= cut for p in _values(service, "ema:5", cut))


def test_subscribe_only_sees_candles_closed_by_now(database: Database) -> None:
    MarketStore(database).upsert_candles("bundled", ETH_5M)
    service = _service(database)
    now = START + timedelta(hours=2)
    channel = service.subscribe("ETH", "5m", "returns:1", now)
    assert channel.checkpoint.last_open_time == now - timedelta(minutes=5)


def test_bad_and_unknown_channels_are_clear_errors(database: Database) -> None:
    service = _service(database)
    with pytest.raises(BadChannel):
        service.subscribe("ETH", "5m", "ema:0", FAR)
    with pytest.raises(BadChannel):
        service.subscribe("ETH", None, "ema:5", FAR)
    with pytest.raises(UnknownChannel):
        service.channel("ETH", "5m", "ema:7")
