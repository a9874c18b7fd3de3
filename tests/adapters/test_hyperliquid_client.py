"""HyperliquidClient against a fake ``/info`` shaped like the real service."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import httpx
import pytest

from adapters.hyperliquid_client import HyperliquidClient, available_since
from adapters.source_http import PayloadError, SourceRejected, SourceUnavailable
from domain.market.model import MarginTier
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

NOW = datetime(2026, 2, 6, 12, tzinfo=UTC)
HOUR_MS = 3_600_000
KPEPE_START = datetime.fromtimestamp(1684702007, UTC)
KPEPE_END = datetime.fromtimestamp(1684784807, UTC)


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@dataclass(frozen=True)
class Endpoint:
    name: str
    fixture: str
    call: Callable[[HyperliquidClient], Awaitable[object]]
    maps: frozenset[str] = frozenset()
    root_is_map: bool = False


ENDPOINTS = [
    Endpoint("meta", "hyperliquid_meta_2025-08-22.json", lambda c: c.meta()),
    Endpoint(
        "metaAndAssetCtxs",
        "hyperliquid_metaAndAssetCtxs_2026-02-06.json",
        lambda c: c.meta_and_asset_ctxs(NOW),
    ),
    Endpoint(
        "allMids", "hyperliquid_allMids_2023-07-17.json", lambda c: c.all_mids(), root_is_map=True
    ),
    Endpoint(
        "candleSnapshot",
        "hyperliquid_candleSnapshot_kPEPE_1h_2023-07-17.json",
        lambda c: c.candles("kPEPE", "1h", KPEPE_START, KPEPE_END, NOW),
    ),
    Endpoint(
        "fundingHistory",
        "hyperliquid_fundingHistory_BTC_2023-07-17.json",
        lambda c: c.funding_history("BTC", datetime(2023, 4, 19, tzinfo=UTC)),
    ),
    Endpoint("l2Book", "hyperliquid_l2Book_DYDX_2023-07-17.json", lambda c: c.l2_book("DYDX")),
]
BY_NAME = {endpoint.name: endpoint for endpoint in ENDPOINTS}
each_endpoint = pytest.mark.parametrize("endpoint", ENDPOINTS, ids=lambda e: e.name)


def a_client(service: FakeService, time: FakeTime) -> HyperliquidClient:
    transport = service.transport
    return HyperliquidClient.create(
        "https://hl.test", transport=transport, pacing=time.pacing, max_attempts=3
    )


async def run(
    call: Callable[[HyperliquidClient], Awaitable[object]],
    service: FakeService,
    time: FakeTime,
    before: Callable[[HyperliquidClient], None] | None = None,
) -> Any:
    client = a_client(service, time)
    try:
        if before is not None:
            before(client)
        return await call(client)
    finally:
        await client.aclose()


async def served(endpoint: Endpoint, *replies: httpx.Response | Exception) -> Any:
    time = FakeTime()
    return await run(endpoint.call, FakeService(list(replies), time), time)


# --- happy paths, exact values ----------------------------------------------------------


async def test_meta_maps_margin_tables_and_keeps_delisted_rows_in_place() -> None:
    time = FakeTime()
    service = FakeService([ok(body("hyperliquid_meta_2025-08-22.json"))], time)
    specs = await run(lambda c: c.meta(), service, time)
    assert [spec.name for spec in specs] == ["BTC", "ETH", "ATOM", "MATIC", "DYDX", "SOL", "HPOS"]
    assert [spec.index for spec in specs] == list(range(7))
    btc, matic, hpos = specs[0], specs[3], specs[6]
    assert btc.margin_tiers == (
        MarginTier(Decimal("0.0"), 40),
        MarginTier(Decimal("150000000.0"), 20),
    )
    assert (matic.delisted, matic.margin_tiers) == (True, (MarginTier(Decimal(0), 20),))
    assert (hpos.only_isolated, hpos.delisted, hpos.max_leverage) == (True, True, 3)
    assert service.requests[0].method == "POST"
    assert service.requests[0].url == "https://hl.test/info"
    assert service.bodies() == [{"type": "meta"}]


async def test_meta_of_2023_without_margin_tables_caps_every_size_at_max_leverage() -> None:
    specs = await served(BY_NAME["meta"], ok(body("hyperliquid_meta_2023-07-17.json")))
    assert [spec.margin_tiers for spec in specs][:2] == [(MarginTier(Decimal(0), 50),)] * 2


async def test_meta_and_asset_ctxs_aligns_contexts_by_index() -> None:
    endpoint = BY_NAME["metaAndAssetCtxs"]
    specs, contexts = await served(endpoint, ok(body(endpoint.fixture)))
    assert [context.asset for context in contexts] == ["BTC", "ETH", "MATIC", "SOL"]
    btc, matic = contexts[0], contexts[2]
    assert (btc.time, btc.mark, btc.oracle) == (NOW, Decimal("66344.0"), Decimal("66383.0"))
    assert btc.funding == Decimal("-0.000003688")
    assert btc.day_notional_volume == Decimal("12377419030.3486595154")
    assert (matic.mid, matic.premium, specs[2].delisted) == (None, None, True)
    assert specs[3].margin_mode == "strictIsolated"


async def test_all_mids_keeps_every_coin_exact() -> None:
    endpoint = BY_NAME["allMids"]
    mids = await served(endpoint, ok(body(endpoint.fixture)))
    assert len(mids) == 28
    assert (mids["BTC"], mids["kPEPE"]) == (Decimal("30135.0"), Decimal("0.001565"))


async def test_candles_sends_the_nested_request_and_parses_the_recorded_page() -> None:
    endpoint = BY_NAME["candleSnapshot"]
    time = FakeTime()
    service = FakeService([ok(body(endpoint.fixture))], time)
    candles = await run(endpoint.call, service, time)
    assert service.bodies() == [
        {
            "type": "candleSnapshot",
            "req": {
                "coin": "kPEPE",
                "interval": "1h",
                "startTime": 1684702007000,
                "endTime": 1684784807000,
            },
        }
    ]
    first = candles[0]
    assert (len(candles), first.open_time) == (24, datetime.fromtimestamp(1684699200, UTC))
    assert (first.open, first.close, first.volume) == (
        Decimal("0.001601"),
        Decimal("0.001604"),
        Decimal("520665683.0"),
    )
    assert first.trades == 709


async def test_funding_history_parses_rates_with_millisecond_times() -> None:
    endpoint = BY_NAME["fundingHistory"]
    time = FakeTime()
    service = FakeService([ok(body(endpoint.fixture))], time)
    rates = await run(endpoint.call, service, time)
    assert service.bodies() == [
        {"type": "fundingHistory", "coin": "BTC", "startTime": 1681862400000}
    ]
    assert (len(rates), rates[0].rate, rates[0].premium) == (
        34,
        Decimal("-0.00061334"),
        Decimal("-0.00091334"),
    )
    assert rates[0].time == datetime.fromtimestamp(1683849600, UTC) + timedelta(milliseconds=48)


async def test_l2_book_is_best_first_on_both_sides() -> None:
    endpoint = BY_NAME["l2Book"]
    book = await served(endpoint, ok(body(endpoint.fixture)))
    assert (book.bids[0].price, book.bids[0].size, book.bids[0].orders) == (
        Decimal("2.111"),
        Decimal("134.4"),
        1,
    )
    assert (book.asks[0].price, len(book.bids), len(book.asks)) == (Decimal("2.1124"), 20, 20)


def test_only_the_latest_5000_candles_are_available() -> None:
    assert available_since("1h", NOW) == NOW - timedelta(hours=4999)


# --- the same failure modes on every endpoint -------------------------------------------


@each_endpoint
async def test_429_waits_for_retry_after_then_succeeds(endpoint: Endpoint) -> None:
    time = FakeTime()
    limited = httpx.Response(429, headers={"Retry-After": "7"})
    service = FakeService([limited, ok(body(endpoint.fixture))], time)
    answer = await run(endpoint.call, service, time)
    assert answer == await served(endpoint, ok(body(endpoint.fixture)))
    assert max(time.sleeps) >= 7
    assert len(service.requests) == 2


@each_endpoint
async def test_5xx_is_retried_then_unavailable(endpoint: Endpoint) -> None:
    time = FakeTime()
    service = FakeService([httpx.Response(502)], time)
    with pytest.raises(SourceUnavailable) as caught:
        await run(endpoint.call, service, time)
    assert (caught.value.source, caught.value.endpoint) == ("hyperliquid", endpoint.name)
    assert (caught.value.status, len(service.requests)) == (502, 3)


@each_endpoint
async def test_timeouts_are_retried_then_unavailable(endpoint: Endpoint) -> None:
    time = FakeTime()
    service = FakeService([httpx.ReadTimeout("slow")], time)
    with pytest.raises(SourceUnavailable, match="ReadTimeout"):
        await run(endpoint.call, service, time)
    assert len(service.requests) == 3


@each_endpoint
async def test_a_timeout_then_an_answer_succeeds(endpoint: Endpoint) -> None:
    answer = await served(endpoint, httpx.ReadTimeout("slow"), ok(body(endpoint.fixture)))
    assert answer == await served(endpoint, ok(body(endpoint.fixture)))


@each_endpoint
async def test_a_wrong_request_shape_is_rejected_once(endpoint: Endpoint) -> None:
    time = FakeTime()
    text = b"Failed to deserialize the JSON body into the target type"
    service = FakeService([httpx.Response(422, content=text)], time)
    with pytest.raises(SourceRejected):
        await run(endpoint.call, service, time)
    assert len(service.requests) == 1


@each_endpoint
async def test_a_non_json_body_is_a_payload_error(endpoint: Endpoint) -> None:
    with pytest.raises(PayloadError) as caught:
        await served(endpoint, ok(b"<html>upstream error</html>"))
    assert (caught.value.endpoint, caught.value.field) == (endpoint.name, "<body>")


@each_endpoint
async def test_added_fields_are_ignored(endpoint: Endpoint) -> None:
    grown = with_unknown_fields(load(endpoint.fixture), endpoint.maps, is_map=endpoint.root_is_map)
    assert await served(endpoint, reply(grown)) == await served(
        endpoint, ok(body(endpoint.fixture))
    )


@each_endpoint
async def test_a_spent_budget_delays_the_request(endpoint: Endpoint) -> None:
    time = FakeTime()
    service = FakeService([ok(body(endpoint.fixture))], time)

    def exhaust(client: HyperliquidClient) -> None:
        for budget in client.budgets:
            budget.spend(budget.capacity)

    await run(endpoint.call, service, time, before=exhaust)
    assert time.sleeps[0] == pytest.approx(60.0)
    assert service.arrivals[0] == pytest.approx(1060.0)


MALFORMED = [
    ("meta", lambda p: p["universe"][1].update(szDecimals="4"), "universe[1].szDecimals"),
    ("meta", lambda p: p["universe"][2].pop("name"), "universe[2].name"),
    ("meta", lambda p: p["universe"][0].update(marginTableId=57), "universe[0].marginTableId"),
    (
        "meta",
        lambda p: p["marginTables"][0][1]["marginTiers"][0].update(lowerBound=0.0),
        "marginTables[0][1].marginTiers[0].lowerBound",
    ),
    ("metaAndAssetCtxs", lambda p: p[1][0].update(markPx=66344.0), "[1][0].markPx"),
    ("metaAndAssetCtxs", lambda p: p[1].pop(), "[1]"),
    ("allMids", lambda p: p.update(BTC=30135.0), "BTC"),
    ("candleSnapshot", lambda p: p[0].update(c=0.001604), "[0].c"),
    ("candleSnapshot", lambda p: p[3].pop("t"), "[3].t"),
    ("candleSnapshot", lambda p: p[5].update(s="PEPE"), "[5].s"),
    ("fundingHistory", lambda p: p[5].update(fundingRate=-0.00013803), "[5].fundingRate"),
    ("fundingHistory", lambda p: p[0].pop("time"), "[0].time"),
    ("l2Book", lambda p: p["levels"][1][0].update(px=2.1124), "levels[1][0].px"),
    ("l2Book", lambda p: p["levels"].pop(), "levels"),
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


# --- paging -----------------------------------------------------------------------------


def candle_row(open_ms: int) -> dict[str, object]:
    price = str(Decimal(open_ms // HOUR_MS % 1000) / 10)
    prices = {"o": price, "h": price, "l": price, "c": price}
    return {
        "t": open_ms,
        "T": open_ms + HOUR_MS - 1,
        "s": "BTC",
        "i": "1h",
        "n": 3,
        "v": "1.5",
        **prices,
    }


Answer = Callable[[httpx.Request], httpx.Response]


def candle_service(
    first: datetime, last: datetime, *, overlap: int = 0, fixed: bool = False
) -> Answer:
    first_ms, last_ms = int(first.timestamp() * 1000), int(last.timestamp() * 1000)

    def answer(request: httpx.Request) -> httpx.Response:
        req = json.loads(request.content)["req"]
        start = first_ms if fixed else (req["startTime"] // HOUR_MS - overlap) * HOUR_MS
        opens = range(max(start, first_ms), min(req["endTime"], last_ms) + 1, HOUR_MS)
        return reply([candle_row(open_ms) for open_ms in opens[:500]])

    return answer


START = datetime(2025, 1, 1, tzinfo=UTC)
START_MS = 1_735_689_600_000


async def candles_from(
    answer: Answer, end: datetime, now: datetime = NOW
) -> tuple[list[Any], FakeService, HyperliquidClient]:
    time = FakeTime()
    service = FakeService([answer], time)
    client = a_client(service, time)
    candles = await client.candles("BTC", "1h", START, end, now)
    await client.aclose()
    return candles, service, client


async def test_candles_walk_pages_until_a_short_one() -> None:
    end = START + timedelta(hours=1199)
    candles, service, client = await candles_from(candle_service(START, end), end)
    assert len(candles) == 1200
    assert [candle.open_time for candle in candles] == [
        START + timedelta(hours=h) for h in range(1200)
    ]
    starts = [sent["req"]["startTime"] for sent in service.bodies()]
    assert starts == [int((START + timedelta(hours=h)).timestamp() * 1000) for h in (0, 500, 1000)]
    assert client.budgets[0].used() == 3 * 20 + 9 + 9 + 4  # +1 weight per 60 candles


async def test_candles_overlapping_pages_do_not_duplicate() -> None:
    end = START + timedelta(hours=1199)
    candles, service, _ = await candles_from(candle_service(START, end, overlap=1), end)
    assert len(candles) == len({candle.open_time for candle in candles}) == 1200
    assert len(service.requests) == 3


async def test_candles_a_page_that_repeats_ends_the_walk() -> None:
    end = START + timedelta(hours=4000)
    candles, service, _ = await candles_from(candle_service(START, end, fixed=True), end)
    assert (len(candles), len(service.requests)) == (500, 2)


async def test_candles_leave_out_the_forming_candle() -> None:
    now = START + timedelta(hours=10, minutes=30)
    candles, service, _ = await candles_from(candle_service(START, now), now, now)
    assert candles[-1].open_time == START + timedelta(hours=9)
    assert (len(candles), len(service.requests)) == (10, 1)


async def test_candles_a_malformed_later_page_returns_nothing() -> None:
    end = START + timedelta(hours=999)
    bad_page = reply([{**candle_row(0), "o": 1.5}])
    pages: list[Answer] = [candle_service(START, end), lambda request: bad_page]

    def answer(request: httpx.Request) -> httpx.Response:
        return pages.pop(0)(request)

    with pytest.raises(PayloadError, match=r"field=\[0\]\.o"):
        await candles_from(answer, end)


def funding_service(count: int, *, fixed: bool = False) -> Answer:
    times = [START_MS + i * HOUR_MS + 37 for i in range(count)]

    def answer(request: httpx.Request) -> httpx.Response:
        start = 0 if fixed else json.loads(request.content)["startTime"]
        rows = [t for t in times if t >= start][:500]
        return reply(
            [
                {"coin": "BTC", "fundingRate": "0.0000125", "premium": "-0.0002", "time": t}
                for t in rows
            ]
        )

    return answer


async def test_funding_walks_pages_from_just_after_the_last_row() -> None:
    time = FakeTime()
    service = FakeService([funding_service(1034)], time)
    rates = await run(lambda c: c.funding_history("BTC", START), service, time)
    assert len(rates) == len({rate.time for rate in rates}) == 1034
    starts = [sent["startTime"] for sent in service.bodies()]
    assert starts[1] == START_MS + 499 * HOUR_MS + 37 + 1
    assert len(starts) == 3


async def test_funding_a_page_that_repeats_ends_the_walk() -> None:
    time = FakeTime()
    service = FakeService([funding_service(800, fixed=True)], time)
    rates = await run(lambda c: c.funding_history("BTC", START), service, time)
    assert (len(rates), len(service.requests)) == (500, 2)
