"""The backtest worker on both stores: leases, concurrency, retries, cancels and the janitor.

Jobs are accepted through the module's Python API (``container.backtests``) for clones
published with ``tests/workers/trading_kit``; the market is the bundled replay played to
08:00 on 2021-07-03, so ``last_6h`` replays 02:00-08:00 of the BTC 5-minute candles. The
killed-worker test is in ``test_backtest_crash``.
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Iterator
from dataclasses import replace
from datetime import timedelta
from typing import Any
from uuid import UUID

import pytest

from adapters.backtest_service import WindowRequest
from adapters.bootstrap import Container, bootstrap
from adapters.dead_letters import DeadLetterStore
from domain.backtesting.jobs import Job, JobStatus
from tests.adapters.fake_chat_completions import (
    FakeChatCompletions,
    completion,
    serve_chat_completions,
)
from tests.api.conftest import api_settings
from tests.workers.trading_kit import DATA_START, TradingWorld, ema_graph, trading_world
from workers.backtests import BacktestWorker
from workers.runtime import Runtime, StepReport

MARKET_NOW = DATA_START + timedelta(hours=8)
LAST_6H = WindowRequest("last_6h")


@pytest.fixture
def world(database_url: str) -> Iterator[TradingWorld]:
    with trading_world(database_url) as built:
        built.run(8 * 60, trading=False)
        yield built


def runtime_of(container: Container, holder: str = "worker-a", **kwargs: Any) -> Runtime:
    clock = container.service_clock
    return Runtime(container.database, clock, holder=holder, rng=random.Random(7), **kwargs)


def accepted(container: Container, clone_id: UUID, window: WindowRequest = LAST_6H) -> UUID:
    clone = container.clones.clone(clone_id)
    return container.backtests.start(clone, None, window, reveal_costs=False).job_id


def job_of(container: Container, job_id: UUID) -> Job:
    found = container.backtests.store.get(job_id)
    assert found is not None
    return found


def usage(container: Container, job: Job) -> int:
    day = job.created_at.date().isoformat()
    return container.backtests.store.usage(job.user_id, job.clone_id, day)


def artifact_rows(container: Container, job_id: UUID) -> int:
    with container.database.transaction(write=False) as session:
        row = session.fetch_one(
            "SELECT COUNT(*) AS n FROM backtest_artifacts WHERE job_id = %s", (str(job_id),)
        )
    return 0 if row is None else int(row["n"])


# --- leases --------------------------------------------------------------------------------


def test_two_workers_racing_for_a_job_run_it_once(world: TradingWorld, database_url: str) -> None:
    clone_id = world.publish(ema_graph()).clone_id
    job_id = accepted(world.container, clone_id)
    rival = bootstrap(
        api_settings(database_url),
        service_clock=world.service,
        market_clock=world.container.market_clock,
    )
    try:
        holders = [
            (runtime_of(world.container, "worker-a"), BacktestWorker(world.container)),
            (runtime_of(rival, "worker-b"), BacktestWorker(rival)),
        ]
        barrier = threading.Barrier(2)
        reports: list[StepReport] = []

        def race(runtime: Runtime, worker: BacktestWorker) -> None:
            barrier.wait()
            reports.append(runtime.step(worker))

        threads = [threading.Thread(target=race, args=pair) for pair in holders]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=120)
    finally:
        rival.close()

    job = job_of(world.container, job_id)
    assert (job.status, job.attempts) == (JobStatus.SUCCEEDED, 1)
    assert usage(world.container, job) == 1
    assert artifact_rows(world.container, job_id) == 6
    assert all(report.failed == () for report in reports)


def test_the_worker_uses_its_own_lease_ttl(world: TradingWorld) -> None:
    worker = BacktestWorker(world.container)
    assert worker.lease_ttl == timedelta(
        seconds=world.container.settings.backtest_lease_ttl_seconds
    )


# --- concurrency ---------------------------------------------------------------------------


def test_one_user_runs_one_job_at_a_time_by_default(world: TradingWorld) -> None:
    clone_id = world.publish(ema_graph()).clone_id
    first = accepted(world.container, clone_id)
    world.service.advance(timedelta(seconds=1))  # oldest first: (created at, id)
    second = accepted(world.container, clone_id)
    worker = BacktestWorker(world.container)

    assert [item.key for item in worker.pending(world.service.now())] == [f"job:{first}"]
    runtime_of(world.container).step(worker)

    assert job_of(world.container, first).status is JobStatus.SUCCEEDED
    assert job_of(world.container, second).status is JobStatus.QUEUED
    runtime_of(world.container).step(worker)
    assert job_of(world.container, second).status is JobStatus.SUCCEEDED


def test_the_global_limit_bounds_the_jobs_of_all_users(database_url: str) -> None:
    with trading_world(database_url, backtest_max_concurrent=1) as world:
        world.run(8 * 60, trading=False)
        jobs = [
            accepted(world.container, world.publish(ema_graph(), name=n).clone_id)
            for n in ("alice", "bob")
        ]
        store = world.container.backtests.store
        store.begin(jobs[0], world.service.now(), BacktestWorker(world.container).limits)
        pending = BacktestWorker(world.container).pending(world.service.now())
    assert [item.key for item in pending] == [f"job:{jobs[0]}"]  # bob waits for the slot


# --- failures ------------------------------------------------------------------------------


def test_a_failing_job_is_retried_then_dead_lettered_and_marked_failed(
    world: TradingWorld,
) -> None:
    container = world.container
    job_id = accepted(container, world.publish(ema_graph()).clone_id)
    with container.database.transaction() as session:  # market memory loses its candles
        session.execute("ALTER TABLE market_candles RENAME TO market_candles_lost")
    runtime, worker = runtime_of(container, max_attempts=2), BacktestWorker(container)

    first = runtime.step(worker)
    retrying = job_of(container, job_id)
    world.service.advance(timedelta(minutes=5))
    second = runtime.step(worker)
    world.service.advance(timedelta(minutes=5))
    runtime.step(worker)

    assert (first.failed, second.dead) == ((f"job:{job_id}",), (f"job:{job_id}",))
    assert (retrying.status, retrying.attempts) == (JobStatus.RUNNING, 1)
    assert retrying.error is not None
    assert "market_candles" in retrying.error
    job = job_of(container, job_id)
    assert (job.status, job.attempts) == (JobStatus.FAILED, 2)
    assert job.error is not None
    assert "market_candles" in job.error
    [letter] = DeadLetterStore(container.database).list_open("backtests")
    assert letter.item_key == f"job:{job_id}"
    assert usage(container, job) == 1


def test_a_clone_retired_after_acceptance_fails_without_retries(world: TradingWorld) -> None:
    container = world.container
    clone_id = world.publish(ema_graph()).clone_id
    job_id = accepted(container, clone_id)
    container.clones.retire(clone_id, reason="spam", admin="admin")

    report = runtime_of(container).step(BacktestWorker(container))

    job = job_of(container, job_id)
    assert report.done == (f"job:{job_id}",)
    assert (job.status, job.attempts) == (JobStatus.FAILED, 1)
    assert job.error is not None
    assert job.error.startswith("clone_retired")


# --- the queue and the janitor -------------------------------------------------------------


def test_a_job_never_started_within_the_queue_ttl_expires(database_url: str) -> None:
    with trading_world(database_url, backtest_max_concurrent=1) as world:
        world.run(8 * 60, trading=False)
        container = world.container
        clone_id = world.publish(ema_graph()).clone_id
        blocker, waiting = accepted(container, clone_id), accepted(container, clone_id)
        container.backtests.store.begin(
            blocker, world.service.now(), BacktestWorker(container).limits
        )
        world.service.advance(timedelta(seconds=container.settings.backtest_queue_ttl_seconds + 1))
        BacktestWorker(container).pending(world.service.now())
        expired = job_of(container, waiting)
    assert (expired.status, expired.attempts) == (JobStatus.EXPIRED, 0)
    assert expired.finished_at == world.service.now()


def test_the_janitor_purges_decision_detail_and_keeps_the_results(world: TradingWorld) -> None:
    container = world.container
    job_id = accepted(container, world.publish(ema_graph()).clone_id)
    runtime, worker = runtime_of(container), BacktestWorker(container)
    runtime.step(worker)
    artifacts = container.backtests.artifacts
    assert artifacts.content(job_id, "decisions") is not None

    world.service.advance(timedelta(days=container.settings.backtest_artifact_retention_days))
    runtime.step(worker)

    assert artifacts.content(job_id, "decisions") is None
    kinds = [a.kind for a in artifacts.of_job(job_id)]
    assert kinds == ["chart", "equity", "metrics", "summary", "trades"]
    assert job_of(container, job_id).metrics is not None


# --- cancelling a running replay -----------------------------------------------------------


@pytest.fixture
def chat() -> Iterator[FakeChatCompletions]:
    with serve_chat_completions() as fake:
        yield fake


def test_a_model_strategy_calls_the_model_as_often_as_estimated(
    database_url: str, chat: FakeChatCompletions
) -> None:
    route = {"provider": "openai-compatible", "model": "gpt-4o-mini", "retries": 0}
    settings = {"openai_base_url": chat.base_url, "model_routes": {"basic": [route]}}
    with trading_world(database_url, **settings) as world:
        world.run(8 * 60, trading=False)
        container = world.container
        clone_id = world.publish(ema_graph(model_tier="basic")).clone_id
        two_hours = WindowRequest("custom", MARKET_NOW - timedelta(hours=2), MARKET_NOW)
        job_id = accepted(container, clone_id, two_hours)
        runtime_of(container).step(BacktestWorker(container))
        job = job_of(container, job_id)
    assert job.status is JobStatus.SUCCEEDED
    assert job.summary is not None
    assert job.summary["decisionCalls"] == job.estimate.decision_calls == len(chat.requests) == 24
    assert job.summary["tokensIn"] == 24 * 812  # what the fake server reports per call


def test_a_running_replay_stops_at_its_next_poll_after_a_cancel(
    database_url: str, chat: FakeChatCompletions
) -> None:
    route = {"provider": "openai-compatible", "model": "gpt-4o-mini", "retries": 0}
    chat.answer(replace(completion('{"actions": []}'), delay_seconds=0.05))
    settings = {
        "openai_base_url": chat.base_url,
        "model_routes": {"basic": [route]},
        "backtest_cancel_poll_seconds": 0,
    }
    with trading_world(database_url, **settings) as world:
        world.run(8 * 60, trading=False)
        container = world.container
        clone_id = world.publish(ema_graph(model_tier="basic")).clone_id
        two_hours = WindowRequest("custom", MARKET_NOW - timedelta(hours=2), MARKET_NOW)
        job_id = accepted(container, clone_id, two_hours)  # 24 model calls: the starter's cap
        owner = job_of(container, job_id).user_id
        runner = threading.Thread(
            target=runtime_of(container).step, args=(BacktestWorker(container),)
        )
        runner.start()
        deadline = time.monotonic() + 60
        while len(chat.requests) < 3 and time.monotonic() < deadline:
            time.sleep(0.01)
        container.backtests.cancel(owner, job_id)
        runner.join(timeout=60)
        job = job_of(container, job_id)
    assert (job.status, job.attempts, job.error) == (
        JobStatus.CANCELLED,
        1,
        "cancelled while running",
    )
    assert 3 <= len(chat.requests) < 24
    assert job.cancel_requested_at is not None
