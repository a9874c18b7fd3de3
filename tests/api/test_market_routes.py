"""Market reads through the API: bounded by the market clock, paged, clear errors."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from fastapi.testclient import TestClient

from adapters.bootstrap import Container, bootstrap
from api.app import create_app
from domain.clock import SimulatedClock
from domain.market.model import Candle, TvlPoint
from tests.api.conftest import ADMIN, api_settings, assert_problem, bearer, sign_in
from tests.kit import a_wallet

MARKET_NOW = datetime(2021, 7, 3, 1, 0, tzinfo=UTC)


@pytest.fixture
def market_clock() -> SimulatedClock:
    return SimulatedClock(MARKET_NOW)


@pytest.fixture
def container(
    database_url: str, clock: SimulatedClock, market_clock: SimulatedClock
) -> Iterator[Container]:
    built = bootstrap(api_settings(database_url), service_clock=clock, market_clock=market_clock)
    yield built
    built.close()


@pytest.fixture
def client(container: Container) -> TestClient:
    return TestClient(create_app(container), raise_server_exceptions=False)


@pytest.fixture
def token(client: TestClient) -> dict[str, str]:
    return bearer(sign_in(client, a_wallet("reader"))["accessToken"])


def _candles(count: int) -> list[Candle]:
    start = MARKET_NOW - timedelta(minutes=5 * (count - 2))
    return [
        Candle(
            "BTC",
            "5m",
            start + timedelta(minutes=5 * i),
            Decimal(100 + i),
            Decimal(101 + i),
            Decimal(99 + i),
            Decimal("100.5") + i,
            Decimal(1),
        )
        for i in range(count)
    ]


def test_assets_lists_seeded_registry(client: TestClient, token: dict[str, str]) -> None:
    body = client.get("/v1/market/assets", headers=token).json()
    btc = next(a for a in body["data"] if a["name"] == "BTC")
    assert [a["name"] for a in body["data"]] == ["BTC", "ETH", "SOL"]
    assert (btc["sizeDecimals"], btc["maxLeverage"], btc["takerFeeRate"]) == (5, 40, "0.00045")
    assert btc["minOrderNotional"] == "10"


def test_candles_stop_at_the_market_clock(
    client: TestClient, container: Container, token: dict[str, str]
) -> None:
    container.market.upsert_candles("bundled", _candles(4))  # the last two close after now
    body = client.get(
        "/v1/market/candles", headers=token, params={"asset": "BTC", "interval": "5m"}
    ).json()
    assert [c["closeTime"] for c in body["data"]] == [
        "2021-07-03T00:55:00Z",
        "2021-07-03T01:00:00Z",
    ]
    assert body["data"][0]["close"] == "100.5"


def test_candles_page_with_cursor(
    client: TestClient, container: Container, token: dict[str, str]
) -> None:
    container.market.upsert_candles("bundled", _candles(12))
    params = {"asset": "BTC", "interval": "5m", "from": "2021-07-03T00:00:00Z", "limit": 4}
    first = client.get("/v1/market/candles", headers=token, params=params).json()
    second = client.get(
        "/v1/market/candles", headers=token, params={**params, "cursor": first["nextCursor"]}
    ).json()
    assert len(first["data"]) == 4
    assert second["data"][0]["openTime"] > first["data"][-1]["openTime"]


def test_unknown_asset_is_404(client: TestClient, token: dict[str, str]) -> None:
    response = client.get(
        "/v1/market/candles", headers=token, params={"asset": "DOGE", "interval": "5m"}
    )
    assert_problem(response, 404, "market:unknown-asset")


def test_unknown_interval_is_422(client: TestClient, token: dict[str, str]) -> None:
    response = client.get(
        "/v1/market/candles", headers=token, params={"asset": "BTC", "interval": "7m"}
    )
    assert_problem(response, 422, "market:unknown-interval")


def test_garbage_cursor_is_422(client: TestClient, token: dict[str, str]) -> None:
    response = client.get(
        "/v1/market/candles",
        headers=token,
        params={"asset": "BTC", "interval": "5m", "cursor": "!!"},
    )
    assert_problem(response, 422, "request:bad-cursor")


def test_market_reads_need_a_user(client: TestClient) -> None:
    assert_problem(client.get("/v1/market/assets"), 401, "auth:missing-credentials")


def test_tvl_series_reads_back(
    client: TestClient, container: Container, token: dict[str, str]
) -> None:
    day = datetime(2021, 7, 1, tzinfo=UTC)
    container.market.upsert_tvl([TvlPoint("protocol:aave", day, Decimal("10000000000.5"))])
    body = client.get("/v1/market/tvl", headers=token, params={"subject": "protocol:aave"}).json()
    assert body["data"] == [{"time": "2021-07-01T00:00:00Z", "tvlUsd": "10000000000.5"}]


def test_clock_reports_live_for_a_plain_clock(client: TestClient, token: dict[str, str]) -> None:
    body = client.get("/v1/market/clock", headers=token).json()
    assert body["now"] == "2021-07-03T01:00:00Z"


def test_admin_sees_source_health(
    client: TestClient, container: Container, clock: SimulatedClock
) -> None:
    container.source_health.record_failure(
        "hyperliquid", "contexts", now=clock.now(), error="SourceUnavailable: 503"
    )
    admin = bearer(sign_in(client, ADMIN)["accessToken"])
    body = client.get("/v1/admin/ingestion/sources", headers=admin).json()
    assert body["data"][0]["state"] == "degraded"
    assert body["data"][0]["lastError"] == "SourceUnavailable: 503"


def test_subscribe_then_read_features(
    client: TestClient, container: Container, token: dict[str, str]
) -> None:
    container.market.upsert_candles("bundled", _candles(12))
    created = client.post(
        "/v1/market/channels",
        headers=token,
        json={"asset": "BTC", "interval": "5m", "channel": "ema:3"},
    )
    body = client.get(
        "/v1/market/features",
        headers=token,
        params={"asset": "BTC", "interval": "5m", "channel": "ema:3"},
    ).json()
    assert created.status_code == 200
    assert created.json()["channelId"] == "BTC|5m|ema:3"
    assert body["data"]
    assert all(p["knowableAt"] <= "2021-07-03T01:00:00Z" for p in body["data"])


def test_features_of_unsubscribed_channel_is_404(client: TestClient, token: dict[str, str]) -> None:
    response = client.get(
        "/v1/market/features",
        headers=token,
        params={"asset": "BTC", "interval": "5m", "channel": "rsi:14"},
    )
    assert_problem(response, 404, "market:channel-not-subscribed")


def test_bad_channel_key_is_422(client: TestClient, token: dict[str, str]) -> None:
    response = client.post(
        "/v1/market/channels",
        headers=token,
        json={"asset": "BTC", "interval": "5m", "channel": "ema:zero"},
    )
    assert_problem(response, 422, "market:bad-channel")
