"""The shared source HTTP machinery: sliding-window budgets, retries, Retry-After, errors."""

from __future__ import annotations

import random
from datetime import timedelta
from decimal import Decimal
from email.utils import format_datetime

import httpx
import pytest

from adapters.source_http import (
    Charge,
    PayloadError,
    Retries,
    SourceError,
    SourceHttp,
    SourceRejected,
    SourceUnavailable,
    WeightBudget,
    parse_retry_after,
    spend_when_free,
)
from tests.adapters.market_fixtures import FakeService, FakeTime, ok

pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def a_source(service: FakeService, time: FakeTime) -> SourceHttp:
    return SourceHttp(
        "example",
        "https://source.test",
        timeout_seconds=1.0,
        retries=Retries(max_attempts=3),
        transport=service.transport,
        pacing=time.pacing,
    )


async def fetch(service: FakeService, time: FakeTime, *charges: Charge) -> object:
    http = a_source(service, time)
    try:
        return await http.request("GET", "/thing", endpoint="/thing", charges=charges)
    finally:
        await http.aclose()


# --- the budget -------------------------------------------------------------------------


def test_budget_waits_until_the_oldest_spend_leaves_the_window() -> None:
    time = FakeTime()
    budget = WeightBudget("b", 40, 60.0, time.monotonic)
    budget.spend(20)
    time.now += 10
    budget.spend(20)
    assert budget.delay_for(20) == pytest.approx(50.0)
    time.now += 50
    assert budget.delay_for(20) == 0.0
    assert budget.used() == 20


def test_budget_refuses_a_weight_that_can_never_fit() -> None:
    budget = WeightBudget("b", 10, 1.0, FakeTime().monotonic)
    with pytest.raises(ValueError, match="exceeds"):
        budget.delay_for(11)


async def test_budget_never_lets_more_than_capacity_into_any_window() -> None:
    time, rng = FakeTime(), random.Random(7)
    budget = WeightBudget("b", 100, 60.0, time.monotonic)
    spent: list[tuple[float, int]] = []
    for _ in range(200):
        weight = rng.choice([2, 20, 20, 7])
        await spend_when_free([Charge(budget, weight)], time.sleep)
        spent.append((time.now, weight))
        time.now += rng.random()
    for at, _ in spent:
        window = sum(weight for stamp, weight in spent if at - 60.0 < stamp <= at)
        assert window <= 100
    assert time.sleeps, "a backfill this heavy must have waited"


async def test_spend_when_free_waits_for_every_budget_then_spends_from_all() -> None:
    time = FakeTime()
    wide = WeightBudget("wide", 100, 10.0, time.monotonic)
    narrow = WeightBudget("narrow", 1, 10.0, time.monotonic)
    narrow.spend(1)
    await spend_when_free([Charge(wide, 1), Charge(narrow, 1)], time.sleep)
    assert time.sleeps == [pytest.approx(10.0)]
    assert (wide.used(), narrow.used()) == (1, 1)


async def test_request_waits_once_the_window_is_spent() -> None:
    time = FakeTime()
    service = FakeService([ok(b"{}")], time)
    budget = WeightBudget("b", 40, 60.0, time.monotonic)
    for _ in range(3):
        await fetch(service, time, Charge(budget, 20))
    assert time.sleeps == [pytest.approx(60.0)]
    assert service.arrivals == [1000.0, 1000.0, pytest.approx(1060.0)]


async def test_every_attempt_spends_from_the_budget() -> None:
    time = FakeTime()
    service = FakeService([httpx.Response(502), httpx.Response(502), ok(b"{}")], time)
    budget = WeightBudget("b", 1000, 60.0, time.monotonic)
    await fetch(service, time, Charge(budget, 20))
    assert budget.used() == 60


# --- retries ----------------------------------------------------------------------------


def test_retry_after_reads_seconds_and_http_dates() -> None:
    now = FakeTime().wall_clock()
    assert parse_retry_after("7", now) == 7.0
    assert parse_retry_after(format_datetime(now + timedelta(seconds=30), usegmt=True), now) == 30
    assert parse_retry_after(format_datetime(now - timedelta(seconds=30), usegmt=True), now) == 0
    assert parse_retry_after("soon", now) is None
    assert parse_retry_after(None, now) is None


async def test_429_with_an_http_date_waits_until_then() -> None:
    time = FakeTime()
    when = format_datetime(time.wall_clock() + timedelta(seconds=42), usegmt=True)
    service = FakeService([httpx.Response(429, headers={"Retry-After": when}), ok(b"[]")], time)
    assert await fetch(service, time) == []
    assert max(time.sleeps) >= 42


async def test_503_retry_after_seconds_is_a_floor() -> None:
    time = FakeTime()
    service = FakeService([httpx.Response(503, headers={"Retry-After": "9"}), ok(b"[]")], time)
    assert await fetch(service, time) == []
    assert time.sleeps[0] >= 9


async def test_retry_after_on_a_plain_500_is_not_a_promise() -> None:
    time = FakeTime()
    service = FakeService([httpx.Response(500, headers={"Retry-After": "90"}), ok(b"[]")], time)
    await fetch(service, time)
    assert time.sleeps[0] <= 0.5


async def test_retry_after_beyond_the_limit_fails_at_once_with_the_hint() -> None:
    time = FakeTime()
    service = FakeService([httpx.Response(429, headers={"Retry-After": "3600"})], time)
    with pytest.raises(SourceUnavailable) as caught:
        await fetch(service, time)
    assert (caught.value.status, caught.value.retry_after) == (429, 3600.0)
    assert len(service.requests) == 1
    assert time.sleeps == []


async def test_backoff_is_jittered_and_bounded() -> None:
    time = FakeTime()
    service = FakeService([httpx.Response(500)], time)
    with pytest.raises(SourceUnavailable, match="gave up after 3 attempts"):
        await fetch(service, time)
    assert len(time.sleeps) == 2
    assert 0 <= time.sleeps[0] <= 0.5
    assert 0 <= time.sleeps[1] <= 1.0


async def test_connection_failures_are_retried() -> None:
    time = FakeTime()
    service = FakeService([httpx.ConnectError("refused"), ok(b'{"a": 1}')], time)
    assert await fetch(service, time) == {"a": 1}


async def test_a_broken_request_is_not_retried() -> None:
    time = FakeTime()
    service = FakeService([httpx.UnsupportedProtocol("ftp")], time)
    with pytest.raises(SourceUnavailable, match="UnsupportedProtocol"):
        await fetch(service, time)
    assert len(service.requests) == 1


@pytest.mark.parametrize("status", [400, 404, 422])
async def test_client_errors_are_rejected_without_retry(status: int) -> None:
    time = FakeTime()
    text = b"Failed to deserialize the JSON body into the target type"
    service = FakeService([httpx.Response(status, content=text)], time)
    with pytest.raises(SourceRejected) as caught:
        await fetch(service, time)
    assert caught.value.status == status
    assert "deserialize" in str(caught.value)
    assert len(service.requests) == 1


# --- bodies and the error tree ----------------------------------------------------------


@pytest.mark.parametrize("content", [b"<html>502 Bad Gateway</html>", b"", b'{"x": NaN}'])
async def test_a_body_that_is_not_json_is_a_payload_error(content: bytes) -> None:
    time = FakeTime()
    with pytest.raises(PayloadError) as caught:
        await fetch(FakeService([ok(content)], time), time)
    assert (caught.value.source, caught.value.endpoint, caught.value.field) == (
        "example",
        "/thing",
        "<body>",
    )


async def test_json_fractions_arrive_exact() -> None:
    time = FakeTime()
    answer = await fetch(FakeService([ok(b'{"p": 0.1000000000000000055511}')], time), time)
    assert answer == {"p": Decimal("0.1000000000000000055511")}


def test_every_source_error_shares_one_root_and_names_its_fields() -> None:
    for kind in (SourceUnavailable, SourceRejected, PayloadError):
        assert issubclass(kind, SourceError)
    error = PayloadError("hyperliquid", "meta", "universe[3].szDecimals", "must be an integer")
    assert str(error) == (
        "source=hyperliquid endpoint=meta field=universe[3].szDecimals detail=must be an integer"
    )
