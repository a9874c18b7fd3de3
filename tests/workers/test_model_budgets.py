"""Model usage and budgets on the trading worker and the backtest worker (both stores).

The model is an external service: the fake OpenAI-compatible server on loopback answers
every request like ``POST /v1/chat/completions`` with 1,234 prompt and 567 completion
tokens, which at gpt-4o-mini's 0.15/0.60 USD per million is 525 micro-USD a call. The
``basic`` model tier is routed to it; a clone with no purchase holds the mock ``starter``
grant. One service second is five market minutes, so each second decides one tick; the
market is first played for three hours (36 service seconds) so that EMA 26 has a value
and no tick holds on stale data.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from typing import Any
from uuid import UUID

import pytest

from adapters.backtest_service import WindowRequest
from adapters.decision_store import DecisionRow
from adapters.model_usage import GroupBy, UsageEntry
from domain.backtesting.jobs import Job, JobStatus
from domain.trading.usage import ReportRange, UsageLine
from tests.adapters.fake_chat_completions import (
    FakeChatCompletions,
    completion,
    serve_chat_completions,
)
from tests.workers.test_backtest_worker import MARKET_NOW, accepted, job_of, runtime_of
from tests.workers.trading_kit import FIVE, REAL, TradingWorld, ema_graph, trading_world
from workers.backtests import BacktestWorker

ROUTE = {"provider": "openai-compatible", "model": "gpt-4o-mini", "retries": 0}
PRICES = {"gpt-4o-mini": {"input_per_million_usd": "0.15", "output_per_million_usd": "0.60"}}
TWO_CALLS = {"tiers": {"starter": {"daily_usd_per_clone": "0.001"}}}  # 1,050 >= 1,000
TODAY = REAL.date()
WARM_UP = 3 * 60  # market minutes


@pytest.fixture
def chat() -> Iterator[FakeChatCompletions]:
    with serve_chat_completions() as fake:
        fake.answer(completion('{"actions": []}', prompt_tokens=1_234, completion_tokens=567))
        yield fake


@contextmanager
def model_world(
    database_url: str, chat: FakeChatCompletions, budgets: Any = None, **extra: Any
) -> Iterator[TradingWorld]:
    """A warmed-up trading world whose ``basic`` tier calls the fake model, under ``budgets``."""
    settings: dict[str, Any] = {
        "openai_base_url": chat.base_url,
        "model_routes": {"basic": [ROUTE]},
        "model_prices": PRICES,
        **extra,
    }
    if budgets is not None:
        settings["model_budgets"] = budgets
    with trading_world(database_url, **settings) as world:
        world.run(WARM_UP, trading=False)
        yield world


def bind_model_clone(world: TradingWorld, name: str = "clone") -> UUID:
    """Publish an EMA strategy decided by a ``basic`` model; bind a sandbox from the next
    tick; return the account."""
    version = world.publish(ema_graph(model_tier="basic"), name)
    account_id = world.sandbox(f"budget:{name}", owner=f"user-{name}")
    starts = world.container.market_clock.now() + FIVE
    world.container.trading.bind(
        account_id, version, version.id, purpose="sandbox", starts_at=starts
    )
    return account_id


def usage_by_day(world: TradingWorld, first: date, last: date) -> dict[str, tuple[int, int]]:
    """``day -> (calls, cost micro-USD)`` from the read model."""
    rows = world.container.model_meter.store.report(ReportRange(first, last), GroupBy.DAY, 10)
    return {r.key["day"]: (r.totals.calls, r.totals.cost_micros) for r in rows}


def budget_holds(world: TradingWorld, account_id: UUID) -> list[dict[str, Any]]:
    """The account's rows that a spent budget held."""
    rows = world.rows(account_id)
    return [r for r in rows if any("budget_exhausted" in e for e in r["errors"] or [])]


# --- counting ------------------------------------------------------------------------------


def test_each_model_call_of_the_trading_worker_is_counted_once_with_its_cost(
    database_url: str, chat: FakeChatCompletions
) -> None:
    with model_world(database_url, chat) as world:
        account_id = bind_model_clone(world)

        world.run(30)

        store = world.container.model_meter.store
        [row] = store.report(ReportRange(TODAY, TODAY), GroupBy.MODEL, 10)
        modelled = [r for r in world.rows(account_id) if r["provider"] == "openai-compatible"]
    calls = len(chat.requests)
    assert calls == len(modelled) == 6  # 03:05 .. 03:30
    assert row.key == {"provider": "openai-compatible", "model": "gpt-4o-mini"}
    totals = row.totals
    assert (totals.calls, totals.errors, totals.unpriced_calls) == (calls, 0, 0)
    assert (totals.tokens_in, totals.tokens_out) == (calls * 1_234, calls * 567)
    assert totals.cost_micros == calls * 525


def test_a_tick_recorded_twice_counts_its_calls_once(
    database_url: str, chat: FakeChatCompletions
) -> None:
    with model_world(database_url, chat) as world:
        account_id = bind_model_clone(world)
        world.run(5)
        [decided] = [r for r in world.rows(account_id) if r["status"] != "skipped"]
        retried = DecisionRow(
            decision_id=UUID(decided["decision_id"]),
            account_id=account_id,
            clone_id=UUID(decided["clone_id"]),
            version_id=UUID(decided["version_id"]),
            tick_at=decided["tick_at"],
            status="hold",
            assets=("BTC",),
            recorded_at=world.service.now(),
        )
        line = UsageLine("openai-compatible", "gpt-4o-mini", 1, 0, 1_234, 567, 525, 0)
        usage = UsageEntry(TODAY, "user-clone", retried.clone_id, "starter", (line,))

        recorded = world.container.decisions.record(retried, {"BTC": retried.tick_at}, usage)

        assert recorded is False
        assert usage_by_day(world, TODAY, TODAY) == {TODAY.isoformat(): (1, 525)}


# --- hard stops ----------------------------------------------------------------------------


def test_a_spent_clone_budget_makes_no_provider_call_and_holds(
    database_url: str, chat: FakeChatCompletions
) -> None:
    with model_world(database_url, chat, TWO_CALLS) as world:
        account_id = bind_model_clone(world)

        world.run(30)

        holds = budget_holds(world, account_id)
        spent = usage_by_day(world, TODAY, TODAY)
    assert len(chat.requests) == 2
    assert spent == {TODAY.isoformat(): (2, 1_050)}
    assert len(holds) == 4
    assert {(h["status"], h["provider"], h["model"]) for h in holds} == {("hold", "none", "none")}
    assert holds[0]["errors"] == [
        "budget_exhausted: scope=clone tier=starter used_usd=0.001050 limit_usd=0.001000"
    ]


def test_a_spent_global_budget_stops_every_clone(
    database_url: str, chat: FakeChatCompletions
) -> None:
    budgets = {"global": {"daily_usd": "0.001"}}
    with model_world(database_url, chat, budgets) as world:
        first, second = bind_model_clone(world, "first"), bind_model_clone(world, "second")

        world.run(15)

        held = budget_holds(world, first) + budget_holds(world, second)
    assert len(chat.requests) == 2  # the first tick: one call per clone, then nothing
    assert len(held) == 4
    assert all(h["errors"][0].startswith("budget_exhausted: scope=global ") for h in held)


def test_a_stopped_clone_calls_again_on_the_next_utc_day(
    database_url: str, chat: FakeChatCompletions
) -> None:
    before_midnight = datetime(2026, 12, 1, 23, 59, 50, tzinfo=UTC)
    start = before_midnight - timedelta(minutes=WARM_UP) / 300  # warmed up at 23:59:50
    with model_world(database_url, chat, TWO_CALLS, start=start) as world:
        account_id = bind_model_clone(world)
        world.run(45)  # 23:59:51 .. 23:59:59: two calls, then holds
        calls_before_midnight = len(chat.requests)

        world.run(30)  # 00:00:00 .. 00:00:05: a new day, a fresh budget

        spent = usage_by_day(world, before_midnight.date(), date(2026, 12, 2))
        holds = budget_holds(world, account_id)
    assert calls_before_midnight == 2
    assert len(chat.requests) == 4
    assert spent == {"2026-12-01": (2, 1_050), "2026-12-02": (2, 1_050)}
    assert len(holds) == 7 + 4  # nine ticks on day 1, six on day 2, two calls each


# --- backtests -----------------------------------------------------------------------------


def two_hour_backtest(world: TradingWorld) -> Job:
    """Publish a ``basic``-tier model clone after warm-up; backtest its last two hours."""
    world.run(8 * 60 - WARM_UP, trading=False)
    clone_id = world.publish(ema_graph(model_tier="basic")).clone_id
    two_hours = WindowRequest("custom", MARKET_NOW - timedelta(hours=2), MARKET_NOW)
    job_id = accepted(world.container, clone_id, two_hours)
    runtime_of(world.container).step(BacktestWorker(world.container))
    return job_of(world.container, job_id)


def test_a_model_backtests_calls_are_counted_when_it_ends(
    database_url: str, chat: FakeChatCompletions
) -> None:
    with model_world(database_url, chat) as world:
        job = two_hour_backtest(world)
        spent = usage_by_day(world, TODAY, TODAY)
    assert job.status is JobStatus.SUCCEEDED
    assert len(chat.requests) == 24
    assert spent == {TODAY.isoformat(): (24, 24 * 525)}


def test_a_backtest_under_a_spent_budget_fails_before_any_call(
    database_url: str, chat: FakeChatCompletions
) -> None:
    no_model_calls = {"tiers": {"starter": {"daily_usd_per_clone": "0"}}}
    with model_world(database_url, chat, no_model_calls) as world:
        job = two_hour_backtest(world)
    assert job.status is JobStatus.FAILED
    assert job.error is not None
    assert job.error.startswith("budget_exhausted: BudgetExhausted: scope=clone tier=starter")
    assert chat.requests == []
