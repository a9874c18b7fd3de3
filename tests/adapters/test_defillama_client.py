"""DefiLlamaClient against fake TVL and yields hosts (bodies built from the official spec)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import httpx
import pytest

from adapters.defillama_client import DefiLlamaClient
from adapters.source_http import PayloadError, SourceRejected, SourceUnavailable
from tests.adapters.market_fixtures import (
    FakeService,
    FakeTime,
    body,
    load,
    ok,
    reply,
    with_unknown_fields,
)

pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@dataclass(frozen=True)
class Endpoint:
    name: str
    fixture: str
    call: Callable[[DefiLlamaClient], Awaitable[object]]
    maps: frozenset[str] = frozenset()


ENDPOINTS = [
    Endpoint(
        "/protocols", "defillama_protocols.json", lambda c: c.protocols(), frozenset({"chainTvls"})
    ),
    Endpoint(
        "/protocol/aave-v3",
        "defillama_protocol_aave-v3.json",
        lambda c: c.protocol("aave-v3"),
        frozenset({"chainTvls", "currentChainTvls", "tokens"}),
    ),
    Endpoint("/v2/chains", "defillama_chains.json", lambda c: c.chains()),
    Endpoint(
        "/v2/historicalChainTvl/Ethereum",
        "defillama_historicalChainTvl_Ethereum.json",
        lambda c: c.historical_chain_tvl("Ethereum"),
    ),
    Endpoint("/pools", "defillama_pools.json", lambda c: c.pools()),
]
BY_NAME = {endpoint.name: endpoint for endpoint in ENDPOINTS}
each_endpoint = pytest.mark.parametrize("endpoint", ENDPOINTS, ids=lambda e: e.name)


async def run(
    call: Callable[[DefiLlamaClient], Awaitable[object]],
    service: FakeService,
    time: FakeTime,
    before: Callable[[DefiLlamaClient], None] | None = None,
) -> Any:
    client = DefiLlamaClient.create(
        "https://llama.test",
        "https://yields.test",
        transport=service.transport,
        pacing=time.pacing,
        max_attempts=3,
    )
    try:
        if before is not None:
            before(client)
        return await call(client)
    finally:
        await client.aclose()


async def served(endpoint: Endpoint, *replies: httpx.Response | Exception) -> Any:
    time = FakeTime()
    return await run(endpoint.call, FakeService(list(replies), time), time)


async def exchange(
    call: Callable[[DefiLlamaClient], Awaitable[object]], fixture: str
) -> tuple[Any, httpx.URL]:
    time = FakeTime()
    service = FakeService([ok(body(fixture))], time)
    answer = await run(call, service, time)
    return answer, service.requests[0].url


def at(seconds: int) -> datetime:
    return datetime.fromtimestamp(seconds, UTC)


# --- happy paths, exact values ----------------------------------------------------------


async def test_protocols_keep_printed_tvls_and_split_off_add_on_keys() -> None:
    (aave, lido, fresh), url = await exchange(lambda c: c.protocols(), "defillama_protocols.json")
    assert (aave.slug, aave.tvl_usd) == ("aave-v3", Decimal("25123456789.123"))
    assert aave.chain_tvls["Base"] == Decimal("2023456788.373")
    assert set(aave.core_chain_tvls) == {"Ethereum", "Arbitrum", "Base"}
    assert (aave.parent, aave.change_1d, aave.category) == (
        "parent#aave",
        Decimal("-1.53"),
        "Lending",
    )
    assert set(lido.core_chain_tvls) == {"Ethereum", "Solana"}
    assert (fresh.tvl_usd, fresh.change_1d, fresh.chains) == (Decimal(0), None, ("Base",))
    assert str(url) == "https://llama.test/protocols"


async def test_protocol_series_is_ordered_with_one_point_per_date() -> None:
    points, url = await exchange(lambda c: c.protocol("aave-v3"), "defillama_protocol_aave-v3.json")
    assert [point.time for point in points] == [
        at(1700006400),
        at(1700092800),
        at(1700179200),
        at(1700229600),
    ]
    assert points[2].tvl_usd == Decimal("6812345679.01")  # the later duplicate wins
    assert (points[3].tvl_usd, points[0].subject) == (Decimal("6823456789"), "protocol:aave-v3")
    assert url.path == "/protocol/aave-v3"


async def test_protocol_slug_is_percent_encoded_into_the_path() -> None:
    _, url = await exchange(lambda c: c.protocol("odd slug/x"), "defillama_protocol_aave-v3.json")
    assert url.raw_path == b"/protocol/odd%20slug%2Fx"


async def test_chains_with_missing_ids() -> None:
    (ethereum, solana, fresh), _ = await exchange(lambda c: c.chains(), "defillama_chains.json")
    assert (ethereum.tvl_usd, ethereum.chain_id, ethereum.cmc_id) == (
        Decimal("61234567890.12"),
        1,
        "1027",
    )
    assert (solana.chain_id, fresh.gecko_id, fresh.token_symbol) == (None, None, None)


async def test_historical_chain_tvl_dedupes_dates_and_keeps_the_hourly_last_point() -> None:
    call = BY_NAME["/v2/historicalChainTvl/Ethereum"].call
    points, url = await exchange(call, "defillama_historicalChainTvl_Ethereum.json")
    assert [point.tvl_usd for point in points] == [
        Decimal("50123456789.12"),
        Decimal("50234567890.23"),
        Decimal("50345678999.99"),
        Decimal("50456789012.45"),
    ]
    assert (points[-1].time, points[0].subject) == (at(1700229600), "chain:Ethereum")
    assert url.path == "/v2/historicalChainTvl/Ethereum"


async def test_historical_tvl_of_all_chains() -> None:
    fixture = "defillama_historicalChainTvl_Ethereum.json"
    points, url = await exchange(lambda c: c.historical_chain_tvl(), fixture)
    assert (points[0].subject, url.path) == ("chain:*", "/v2/historicalChainTvl")


async def test_pools_come_from_the_yields_host() -> None:
    (lido, aave, fresh), url = await exchange(lambda c: c.pools(), "defillama_pools.json")
    assert (lido.tvl_usd, lido.apy, lido.apy_reward) == (Decimal(30123456789), Decimal("2.9"), None)
    assert (aave.apy_reward, aave.stablecoin, aave.pool_meta) == (Decimal("0.5"), True, "Lending")
    assert (aave.tvl_usd, aave.chain) == (Decimal("412345678.9"), "Arbitrum")
    assert (fresh.apy, fresh.underlying_tokens, fresh.exposure) == (None, (), "multi")
    assert str(url) == "https://yields.test/pools"


# --- the same failure modes on every endpoint -------------------------------------------


@each_endpoint
async def test_429_waits_for_retry_after_then_succeeds(endpoint: Endpoint) -> None:
    time = FakeTime()
    limited = httpx.Response(429, headers={"Retry-After": "12"})
    service = FakeService([limited, ok(body(endpoint.fixture))], time)
    answer = await run(endpoint.call, service, time)
    assert answer == await served(endpoint, ok(body(endpoint.fixture)))
    assert max(time.sleeps) >= 12
    assert len(service.requests) == 2


@each_endpoint
async def test_5xx_is_retried_then_unavailable(endpoint: Endpoint) -> None:
    time = FakeTime()
    service = FakeService([httpx.Response(500)], time)
    with pytest.raises(SourceUnavailable) as caught:
        await run(endpoint.call, service, time)
    assert (caught.value.source, caught.value.endpoint) == ("defillama", endpoint.name)
    assert (caught.value.status, len(service.requests)) == (500, 3)


@each_endpoint
async def test_timeouts_are_retried_then_unavailable(endpoint: Endpoint) -> None:
    time = FakeTime()
    service = FakeService([httpx.ReadTimeout("slow")], time)
    with pytest.raises(SourceUnavailable, match="ReadTimeout"):
        await run(endpoint.call, service, time)
    assert len(service.requests) == 3


@each_endpoint
async def test_not_found_is_rejected_once(endpoint: Endpoint) -> None:
    time = FakeTime()
    service = FakeService([httpx.Response(404, text="Protocol not found")], time)
    with pytest.raises(SourceRejected) as caught:
        await run(endpoint.call, service, time)
    assert (caught.value.status, len(service.requests)) == (404, 1)


@each_endpoint
async def test_a_non_json_body_is_a_payload_error(endpoint: Endpoint) -> None:
    with pytest.raises(PayloadError) as caught:
        await served(endpoint, ok(b"error code: 1015"))
    assert (caught.value.endpoint, caught.value.field) == (endpoint.name, "<body>")


@each_endpoint
async def test_added_fields_are_ignored(endpoint: Endpoint) -> None:
    grown = with_unknown_fields(load(endpoint.fixture), endpoint.maps)
    assert await served(endpoint, reply(grown)) == await served(
        endpoint, ok(body(endpoint.fixture))
    )


@each_endpoint
async def test_a_spent_budget_delays_the_request(endpoint: Endpoint) -> None:
    time = FakeTime()
    service = FakeService([ok(body(endpoint.fixture))], time)

    def exhaust(client: DefiLlamaClient) -> None:
        for budget in client.budgets:
            budget.spend(budget.capacity)

    await run(endpoint.call, service, time, before=exhaust)
    assert time.sleeps[0] == pytest.approx(60.0)
    assert service.arrivals[0] == pytest.approx(1060.0)


MALFORMED = [
    ("/protocols", lambda p: p[0].update(tvl="25123456789.123"), "[0].tvl"),
    ("/protocols", lambda p: p[0].update(tvl=True), "[0].tvl"),
    ("/protocols", lambda p: p[1]["chainTvls"].update(Solana="x"), "[1].chainTvls.Solana"),
    ("/protocols", lambda p: p[2].pop("slug"), "[2].slug"),
    (
        "/protocol/aave-v3",
        lambda p: p["tvl"][2].update(totalLiquidityUSD=None),
        "tvl[2].totalLiquidityUSD",
    ),
    ("/protocol/aave-v3", lambda p: p["tvl"][0].update(date="1700006400"), "tvl[0].date"),
    ("/v2/chains", lambda p: p[0].update(tvl="61234567890.12"), "[0].tvl"),
    ("/v2/chains", lambda p: p[1].update(chainId="1"), "[1].chainId"),
    ("/v2/historicalChainTvl/Ethereum", lambda p: p[1].update(date=1700092800.5), "[1].date"),
    ("/pools", lambda p: p.update(status="error"), "status"),
    ("/pools", lambda p: p["data"][0].pop("tvlUsd"), "data[0].tvlUsd"),
    ("/pools", lambda p: p["data"][1].update(stablecoin="true"), "data[1].stablecoin"),
]


@pytest.mark.parametrize(("name", "change", "field"), MALFORMED)
async def test_a_malformed_body_names_the_field(
    name: str, change: Callable[[Any], object], field: str
) -> None:
    endpoint = BY_NAME[name]
    payload = load(endpoint.fixture)
    change(payload)
    with pytest.raises(PayloadError) as caught:
        await served(endpoint, reply(payload))
    assert (caught.value.endpoint, caught.value.field) == (name, field)
