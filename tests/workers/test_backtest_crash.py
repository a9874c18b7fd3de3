"""A backtest worker SIGKILLed mid-run: another worker finishes the job exactly once.

The job is accepted in the test process; a worker process (the real ``backtests`` worker
on the real runtime, on the same store, with a 2-second lease) takes it and is killed at
one of two points:

- ``replay``: inside the replay, at its first cancel poll (the job is running, its lease
  was just renewed, nothing of its outcome is written);
- ``commit``: inside the transaction that marks the job succeeded, after the status update
  and while the artifacts are being inserted, before the commit.

A second worker in the test process then waits out the dead holder's lease and resumes the
job. Either way: one succeeded job, attempt 2, counted once on the usage day, its six
artifacts once, and no row in the production prop event table.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from uuid import UUID

import pytest

from adapters.backtest_service import WindowRequest
from adapters.backtest_store import BacktestStore
from adapters.bootstrap import bootstrap
from adapters.clocks import SystemClock
from domain.backtesting.jobs import JobStatus
from tests.api.conftest import api_settings
from tests.conftest import schema_of
from tests.workers.trading_kit import TradingWorld, ema_graph, trading_world
from workers.backtests import BacktestWorker
from workers.runtime import Runtime

pytestmark = pytest.mark.slow

LEASE_SECONDS = 2
QUEUE_TTL_SECONDS = 90 * 86_400  # jobs are stamped on the world's simulated service clock

# The worker process: the real bootstrap, worker and runtime, with one pause point patched
# in (printing "crash-test paused" and sleeping) so the kill lands where the test wants it.
WORKER = """
import sys, time
from adapters import backtest_runner, backtest_store
from adapters.bootstrap import bootstrap
from adapters.settings import load_settings
from workers.backtests import BacktestWorker
from workers.runtime import Runtime

def pause(where):
    print(f"crash-test paused at={where}", flush=True)
    time.sleep(600)

if sys.argv[1] == "replay":
    polled = backtest_runner.BacktestRunner.cancel_requested
    def paused_poll(self, job_id):
        pause("replay")
        return polled(self, job_id)
    backtest_runner.BacktestRunner.cancel_requested = paused_poll
else:
    inserted = backtest_store.artifact_params
    def paused_insert(job_id, artifact, now):
        pause("commit")
        return inserted(job_id, artifact, now)
    backtest_store.artifact_params = paused_insert

container = bootstrap(load_settings())
runtime = Runtime.from_settings(
    container.settings, container.database, container.service_clock, holder="doomed"
)
worker = BacktestWorker(container)
while True:
    runtime.step(worker)
    time.sleep(0.05)
"""


@pytest.fixture
def world(database_url: str) -> Iterator[TradingWorld]:
    with trading_world(database_url) as built:
        built.run(8 * 60, trading=False)
        yield built


def _environment(database_url: str, tmp_path: Path) -> dict[str, str]:
    return {
        **os.environ,
        "CLASH_ENV": "development",
        "CLASH_DATABASE_URL": database_url.split("?", maxsplit=1)[0],
        "CLASH_POSTGRES_SCHEMA": schema_of(database_url),
        "CLASH_MARKET_MODE": "replay",
        "CLASH_ARTIFACT_DIR": str(tmp_path / "artifacts"),
        "CLASH_BACKTEST_LEASE_TTL_SECONDS": str(LEASE_SECONDS),
        "CLASH_BACKTEST_QUEUE_TTL_SECONDS": str(QUEUE_TTL_SECONDS),
        "CLASH_DB_POOL_SIZE": "2",
        "CLASH_LOG_JSON": "false",
        "CLASH_LOG_LEVEL": "WARNING",
    }


def _paused(process: subprocess.Popen[bytes], output: Path) -> str:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        lines = [ln for ln in output.read_text().splitlines() if ln.startswith("crash-test")]
        if lines:
            return lines[0]
        if process.poll() is not None:
            pytest.fail(f"the worker exited first:\n{output.read_text()}")
        time.sleep(0.02)
    pytest.fail(f"the worker never paused:\n{output.read_text()}")


def _prop_events(world: TradingWorld) -> int:
    with world.container.database.transaction(write=False) as session:
        row = session.fetch_one("SELECT COUNT(*) AS n FROM prop_events")
    return 0 if row is None else int(row["n"])


@pytest.mark.parametrize("point", ["replay", "commit"])
def test_a_killed_workers_job_is_finished_once_by_another(
    world: TradingWorld, database_url: str, tmp_path: Path, point: str
) -> None:
    # Arrange: one accepted job
    container = world.container
    clone_id = world.publish(ema_graph()).clone_id
    clone = container.clones.clone(clone_id)
    job_id = container.backtests.start(
        clone, None, WindowRequest("last_6h"), reveal_costs=False
    ).job_id
    prop_events = _prop_events(world)
    output = tmp_path / "worker.out"

    # Act 1: a worker process takes the job and is SIGKILLed at the pause point
    with output.open("wb") as sink:
        process = subprocess.Popen(
            [sys.executable, "-c", WORKER, point],
            env=_environment(database_url, tmp_path),
            cwd=tmp_path,
            stdin=subprocess.DEVNULL,
            stdout=sink,
            stderr=subprocess.STDOUT,
        )
    try:
        assert _paused(process, output) == f"crash-test paused at={point}"
    finally:
        process.kill()
        assert process.wait(timeout=10) == -signal.SIGKILL
    killed = container.backtests.store.get(job_id)

    # Assert 1: it died running attempt 1, with nothing of its outcome written
    assert killed is not None
    assert (killed.status, killed.attempts, killed.summary) == (JobStatus.RUNNING, 1, None)
    assert container.backtests.artifacts.of_job(job_id) == []

    # Act 2: a second worker resumes the job once the dead holder's lease expired
    settings = api_settings(
        database_url,
        backtest_lease_ttl_seconds=LEASE_SECONDS,
        backtest_queue_ttl_seconds=QUEUE_TTL_SECONDS,
    )
    second = bootstrap(settings, market_clock=container.market_clock)
    try:
        runtime = Runtime(second.database, SystemClock(), holder="second")
        worker = BacktestWorker(second)
        deadline = time.monotonic() + 60
        while _status(second.backtests.store, job_id) is not JobStatus.SUCCEEDED:
            assert time.monotonic() < deadline, "the job was not resumed within 60 s"
            runtime.step(worker)
            time.sleep(0.1)
    finally:
        second.close()

    # Assert 2: succeeded once, by attempt 2; counted once; artifacts once; no prop rows
    job = container.backtests.store.get(job_id)
    assert job is not None
    assert (job.status, job.attempts, job.error) == (JobStatus.SUCCEEDED, 2, None)
    day = job.created_at.date().isoformat()
    assert container.backtests.store.usage(job.user_id, job.clone_id, day) == 1
    kinds = [a.kind for a in container.backtests.artifacts.of_job(job_id)]
    assert kinds == ["chart", "decisions", "equity", "metrics", "summary", "trades"]
    assert _prop_events(world) == prop_events


def _status(store: BacktestStore, job_id: UUID) -> JobStatus | None:
    job = store.get(job_id)
    return None if job is None else job.status
