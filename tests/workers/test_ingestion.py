"""Live ingestion against fake sources shaped like the real ones (httpx MockTransport)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from adapters.bootstrap import Container, bootstrap
from domain.clock import SimulatedClock
from tests.api.conftest import api_settings
from workers.ingestion import Ingestion
from workers.runtime import Runtime

FIXTURES = Path(__file__).parents[1] / "adapters" / "market_fixtures"
NOW = datetime(2026, 2, 6, 12, tzinfo=UTC)
HOUR_MS = 3_600_000


def _fixture(name: str) -> object:
    return json.loads((FIXTURES / name).read_text())


def _candles(interval: str, start_ms: int, end_ms: int) -> list[dict[str, object]]:
    step = {"5m": 300_000, "1h": HOUR_MS}[interval]
    first = start_ms // step * step
    return [
        {
            "t": t,
            "T": t + step - 1,
            "s": "BTC",
            "i": interval,
            "o": "70000.5",
            "h": "70010",
            "l": "69990",
            "c": "70001",
            "v": "3.25",
            "n": 17,
        }
        for t in range(first, min(end_ms, int(NOW.timestamp() * 1000)) - step + 1, step)
    ][:500]


def fake_sources(*, hyperliquid_status: int = 200, float_mark: bool = False) -> httpx.MockTransport:
    def hyperliquid(body: dict[str, object]) -> httpx.Response:
        if hyperliquid_status != 200:
            return httpx.Response(hyperliquid_status, text="upstream error")
        if body["type"] == "metaAndAssetCtxs":
            payload = _fixture("hyperliquid_metaAndAssetCtxs_2026-02-06.json")
            if float_mark:
                payload[1][0]["markPx"] = 66344.0  # type: ignore[index]
            return httpx.Response(200, json=payload)
        if body["type"] == "candleSnapshot":
            req = body["req"]
            return httpx.Response(
                200,
                json=_candles(
                    req["interval"],
                    req["startTime"],  # type: ignore[index]
                    req["endTime"],
                ),
            )  # type: ignore[index]
        return httpx.Response(200, json=_fixture("hyperliquid_fundingHistory_BTC_2023-07-17.json"))

    def handle(request: httpx.Request) -> httpx.Response:
        if request.url.host == "hyperliquid.test":
            return hyperliquid(json.loads(request.content))
        if request.url.path == "/protocol/aave-v3":
            return httpx.Response(200, json=_fixture("defillama_protocol_aave-v3.json"))
        if request.url.path == "/v2/historicalChainTvl/Ethereum":
            return httpx.Response(200, json=_fixture("defillama_historicalChainTvl_Ethereum.json"))
        return httpx.Response(404, text="not found")

    return httpx.MockTransport(handle)


@pytest.fixture
def container(database_url: str) -> Iterator[Container]:
    settings = api_settings(
        database_url,
        market_mode="live",
        market_assets=["BTC"],
        defillama_protocols=["aave-v3"],
        defillama_chains=["Ethereum"],
        hyperliquid_url="http://hyperliquid.test",
        defillama_url="http://llama.test",
        source_max_attempts=1,
    )
    built = bootstrap(settings, service_clock=SimulatedClock(NOW), market_clock=SimulatedClock(NOW))
    yield built
    built.close()


def _step(container: Container, transport: httpx.MockTransport) -> None:
    runtime = Runtime(container.database, container.service_clock, holder="test")
    report = runtime.step(Ingestion(container, transport=transport))
    assert report.failed == ()
    assert report.dead == ()


def _states(container: Container) -> dict[str, str]:
    return {f"{h.source}:{h.channel}": h.state.value for h in container.source_health.all()}


def test_one_step_stores_every_channel_and_marks_them_healthy(container: Container) -> None:
    _step(container, fake_sources())
    context = container.market.context_at("BTC", NOW)
    assert context is not None
    assert str(context.mark) == "66344.0"
    assert container.market.latest_candle("BTC", "5m", NOW) is not None
    assert container.market.funding("BTC", start=datetime(2023, 1, 1, tzinfo=UTC), end=NOW)
    assert container.market.tvl(
        "chain:Ethereum", start=datetime(2023, 1, 1, tzinfo=UTC), end=NOW, limit=100
    )
    states = _states(container)
    assert states["hyperliquid:contexts"] == "healthy"
    assert states["defillama:tvl:protocol:aave-v3"] in {"healthy", "degraded"}  # old data is stale


def test_source_outage_is_recorded_not_dead_lettered(container: Container) -> None:
    _step(container, fake_sources(hyperliquid_status=502))
    health = {h.channel: h for h in container.source_health.all() if h.source == "hyperliquid"}
    assert health["contexts"].state.value == "degraded"
    assert "502" in (health["contexts"].last_error or "")
    assert container.market.context_at("BTC", NOW) is None


def test_malformed_payload_names_the_field_and_stores_nothing(container: Container) -> None:
    _step(container, fake_sources(float_mark=True))
    health = {h.channel: h for h in container.source_health.all() if h.source == "hyperliquid"}
    assert "markPx" in (health["contexts"].last_error or "")
    assert container.market.context_at("BTC", NOW) is None
    assert container.assets.instrument("BTC", NOW + timedelta(seconds=1)).version == 1  # type: ignore[union-attr]


def test_channels_are_not_polled_again_before_their_cadence(container: Container) -> None:
    ingestion = Ingestion(container, transport=fake_sources())
    _step(container, fake_sources())
    assert "hyperliquid:contexts" not in [
        i.key for i in ingestion.pending(NOW + timedelta(seconds=30))
    ]
    assert "hyperliquid:contexts" in [i.key for i in ingestion.pending(NOW + timedelta(minutes=1))]
