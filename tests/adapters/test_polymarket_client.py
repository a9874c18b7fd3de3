"""PolymarketClient against fake Gamma and CLOB hosts shaped like the real services."""

from __future__ import annotations

import copy
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import httpx
import pytest

from adapters.polymarket_client import PolymarketClient
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

TOKEN = "54533043819946592547517511176940999955633860128497669742211153063842200957669"
START = datetime.fromtimestamp(1781280000, UTC)
END = START + timedelta(hours=3)
EMPTY_ASK_TOKEN = "72610532355343625199299853218161700546393390326785971247545541945337255643692"
MARKETS = "polymarket_gamma_markets_2026-06.json"


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@dataclass(frozen=True)
class Endpoint:
    name: str
    fixture: str
    call: Callable[[PolymarketClient], Awaitable[object]]


ENDPOINTS = [
    Endpoint("/markets", MARKETS, lambda c: c.markets(active=True)),
    Endpoint(
        "/events",
        "polymarket_gamma_events_2026-06.json",
        lambda c: c.events(slugs=["democratic-presidential-nominee-2028"]),
    ),
    Endpoint(
        "/prices-history",
        "polymarket_clob_prices_history_2026-06.json",
        lambda c: c.prices_history(TOKEN, START, END, fidelity=1),
    ),
    Endpoint("/book", "polymarket_clob_book_2026-06.json", lambda c: c.book(TOKEN)),
    Endpoint("/midpoint", "polymarket_clob_midpoint.json", lambda c: c.midpoint(TOKEN)),
]
BY_NAME = {endpoint.name: endpoint for endpoint in ENDPOINTS}
each_endpoint = pytest.mark.parametrize("endpoint", ENDPOINTS, ids=lambda e: e.name)


async def run(
    call: Callable[[PolymarketClient], Awaitable[object]],
    service: FakeService,
    time: FakeTime,
    before: Callable[[PolymarketClient], None] | None = None,
) -> Any:
    client = PolymarketClient.create(
        "https://gamma.test",
        "https://clob.test",
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


async def exchange(endpoint: Endpoint, fixture: str | None = None) -> tuple[Any, FakeService]:
    time = FakeTime()
    service = FakeService([ok(body(fixture or endpoint.fixture))], time)
    return await run(endpoint.call, service, time), service


# --- happy paths, exact values ----------------------------------------------------------


async def test_markets_decode_the_json_strings_and_keep_token_ids_as_text() -> None:
    markets, service = await exchange(BY_NAME["/markets"])
    newsom, closed = markets
    assert (newsom.market_id, newsom.outcomes) == ("559652", ("Yes", "No"))
    assert newsom.token_ids[0] == TOKEN
    assert newsom.outcome_prices == (Decimal("0.2325"), Decimal("0.7675"))
    assert (newsom.volume, newsom.liquidity) == (
        Decimal("25814545.294374414"),
        Decimal("230438.22824"),
    )
    assert newsom.end_date == datetime(2028, 11, 7, tzinfo=UTC)
    assert (closed.closed, closed.outcome_prices) == (True, (Decimal(0), Decimal(1)))
    assert service.requests[0].url.host == "gamma.test"
    assert service.queries() == [[("active", "true"), ("limit", "100"), ("offset", "0")]]


async def test_events_carry_their_markets_and_exact_numbers() -> None:
    (event,), service = await exchange(BY_NAME["/events"])
    assert (event.event_id, event.slug, event.active) == (
        "30829",
        "democratic-presidential-nominee-2028",
        True,
    )
    assert event.volume == Decimal("1196404731.1335425")
    assert event.open_interest == Decimal("11875807.111694995")
    assert event.markets[0].token_ids[0] == TOKEN
    assert service.queries()[0][0] == ("slug", "democratic-presidential-nominee-2028")


async def test_prices_history_asks_by_token_and_window_and_keeps_printed_prices() -> None:
    points, service = await exchange(BY_NAME["/prices-history"])
    assert [point.price for point in points] == [
        Decimal("0.151"),
        Decimal("0.152"),
        Decimal("0.1515"),
        Decimal("0.15"),
        Decimal("0.00001"),
    ]
    assert points[0].time == datetime.fromtimestamp(1781282044, UTC)
    assert service.requests[0].url.host == "clob.test"
    assert service.queries() == [
        [("market", TOKEN), ("startTs", "1781280000"), ("endTs", "1781290800"), ("fidelity", "1")]
    ]


async def test_book_turns_the_last_entries_into_the_best_levels() -> None:
    book, service = await exchange(BY_NAME["/book"])
    assert [level.price for level in book.bids][:2] == [Decimal("0.232"), Decimal("0.231")]
    assert [level.price for level in book.asks][:2] == [Decimal("0.233"), Decimal("0.234")]
    assert (book.asks[0].size, book.asset) == (Decimal("222222"), TOKEN)
    assert book.time == datetime.fromtimestamp(1781289337, UTC) + timedelta(milliseconds=944)
    assert service.queries() == [[("token_id", TOKEN)]]


async def test_book_with_an_empty_side() -> None:
    endpoint = Endpoint("/book", "", lambda c: c.book(EMPTY_ASK_TOKEN))
    book, _ = await exchange(endpoint, "polymarket_clob_book_empty_ask_2026-08-03.json")
    assert (book.asks, book.bids[0].price) == ((), Decimal("0.002"))


async def test_midpoint_is_exact() -> None:
    mid, service = await exchange(BY_NAME["/midpoint"])
    assert mid == Decimal("0.435")
    assert service.queries() == [[("token_id", TOKEN)]]


# --- paging -----------------------------------------------------------------------------


def market_pages(total: int, *, fixed: bool = False) -> Callable[[httpx.Request], httpx.Response]:
    template = load(MARKETS)[1]

    def answer(request: httpx.Request) -> httpx.Response:
        offset = 0 if fixed else int(request.url.params["offset"])
        limit = int(request.url.params["limit"])
        rows = [{**copy.deepcopy(template), "id": str(700_000 + i)} for i in range(total)]
        return reply(rows[offset : offset + limit])

    return answer


async def walk(
    answer: Callable[[httpx.Request], httpx.Response], max_items: int | None = None
) -> Any:
    time = FakeTime()
    service = FakeService([answer], time)
    markets = await run(lambda c: c.markets(page_size=2, max_items=max_items), service, time)
    return markets, [dict(query)["offset"] for query in service.queries()]


async def test_markets_walk_offsets_until_a_short_page() -> None:
    markets, offsets = await walk(market_pages(5))
    assert [market.market_id for market in markets] == [str(700_000 + i) for i in range(5)]
    assert offsets == ["0", "2", "4"]


async def test_markets_a_page_that_repeats_ends_the_walk() -> None:
    markets, offsets = await walk(market_pages(5, fixed=True))
    assert (len(markets), offsets) == (2, ["0", "2"])


async def test_markets_stop_at_max_items() -> None:
    markets, offsets = await walk(market_pages(9), max_items=3)
    assert (len(markets), offsets) == (3, ["0", "2"])


# --- the same failure modes on every endpoint -------------------------------------------


@each_endpoint
async def test_429_waits_for_retry_after_then_succeeds(endpoint: Endpoint) -> None:
    time = FakeTime()
    limited = httpx.Response(429, headers={"Retry-After": "4"})
    service = FakeService([limited, ok(body(endpoint.fixture))], time)
    answer = await run(endpoint.call, service, time)
    assert answer == await served(endpoint, ok(body(endpoint.fixture)))
    assert max(time.sleeps) >= 4
    assert len(service.requests) == 2


@each_endpoint
async def test_5xx_is_retried_then_unavailable(endpoint: Endpoint) -> None:
    time = FakeTime()
    service = FakeService([httpx.Response(503)], time)
    with pytest.raises(SourceUnavailable) as caught:
        await run(endpoint.call, service, time)
    assert (caught.value.source, caught.value.endpoint) == ("polymarket", endpoint.name)
    assert (caught.value.status, len(service.requests)) == (503, 3)


@each_endpoint
async def test_timeouts_are_retried_then_unavailable(endpoint: Endpoint) -> None:
    time = FakeTime()
    service = FakeService([httpx.ReadTimeout("slow")], time)
    with pytest.raises(SourceUnavailable, match="ReadTimeout"):
        await run(endpoint.call, service, time)
    assert len(service.requests) == 3


@each_endpoint
async def test_a_bad_request_is_rejected_once(endpoint: Endpoint) -> None:
    time = FakeTime()
    service = FakeService([httpx.Response(400, json={"error": "invalid token id"})], time)
    with pytest.raises(SourceRejected, match="invalid token id"):
        await run(endpoint.call, service, time)
    assert len(service.requests) == 1


@each_endpoint
async def test_a_non_json_body_is_a_payload_error(endpoint: Endpoint) -> None:
    with pytest.raises(PayloadError) as caught:
        await served(endpoint, ok(b"<!DOCTYPE html><title>Just a moment...</title>"))
    assert (caught.value.endpoint, caught.value.field) == (endpoint.name, "<body>")


@each_endpoint
async def test_added_fields_are_ignored(endpoint: Endpoint) -> None:
    grown = with_unknown_fields(load(endpoint.fixture))
    assert await served(endpoint, reply(grown)) == await served(
        endpoint, ok(body(endpoint.fixture))
    )


@each_endpoint
async def test_a_spent_budget_delays_the_request(endpoint: Endpoint) -> None:
    time = FakeTime()
    service = FakeService([ok(body(endpoint.fixture))], time)

    def exhaust(client: PolymarketClient) -> None:
        for budget in client.budgets:
            budget.spend(budget.capacity)

    await run(endpoint.call, service, time, before=exhaust)
    assert time.sleeps[0] == pytest.approx(10.0)
    assert service.arrivals[0] == pytest.approx(1010.0)


MALFORMED = [
    ("/markets", lambda p: p[0].update(outcomePrices='["0.2325"]'), "[0].outcomePrices"),
    ("/markets", lambda p: p[0].update(volume=25814545.29), "[0].volume"),
    ("/markets", lambda p: p[0].pop("conditionId"), "[0].conditionId"),
    ("/markets", lambda p: p[1].update(clobTokenIds="[123, 456]"), "[1].clobTokenIds[0]"),
    ("/markets", lambda p: p[0].update(outcomes="Yes, No"), "[0].outcomes"),
    ("/events", lambda p: p[0].update(liquidity="64486079.62132"), "[0].liquidity"),
    ("/events", lambda p: p[0]["markets"][0].update(active="true"), "[0].markets[0].active"),
    ("/prices-history", lambda p: p["history"][1].update(p="0.152"), "history[1].p"),
    ("/prices-history", lambda p: p["history"][0].update(t=1781282044.5), "history[0].t"),
    ("/prices-history", lambda p: p.pop("history"), "history"),
    ("/book", lambda p: p["bids"][0].update(price=0.001), "bids[0].price"),
    ("/book", lambda p: p.update(timestamp=1781289337944), "timestamp"),
    ("/book", lambda p: p.update(asset_id="1"), "asset_id"),
    ("/midpoint", lambda p: p.update(mid=0.435), "mid"),
    ("/midpoint", lambda p: p.pop("mid"), "mid"),
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
