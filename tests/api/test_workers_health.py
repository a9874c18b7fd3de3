"""``/health/workers``: heartbeats and dead letters, 503 when a critical worker is down."""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from uuid import uuid4

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from adapters.bootstrap import Container, bootstrap
from adapters.clocks import SystemClock
from adapters.leases import LeaseStore
from api.app import create_app
from api.cli import app
from domain.clock import SimulatedClock
from tests.api.conftest import api_settings
from tests.conftest import cli_env
from workers.runtime import Runtime, WorkItem


@dataclass
class Pulse:
    """A critical worker with one item that fails when told to."""

    fail: bool = False
    name: str = "pulse"
    interval: timedelta = timedelta(seconds=5)
    critical: bool = True

    def pending(self, now: datetime) -> Sequence[WorkItem]:
        return [WorkItem("beat")]

    def perform(self, item: WorkItem, now: datetime) -> None:
        if self.fail:
            raise RuntimeError("pulse failed")


@pytest.fixture
def container(database_url: str, clock: SimulatedClock) -> Iterator[Container]:
    built = bootstrap(
        api_settings(database_url, worker_stale_after_seconds=60, worker_max_attempts=1),
        service_clock=clock,
    )
    yield built
    built.close()


def test_critical_worker_that_never_beat_makes_health_503(container: Container) -> None:
    client = TestClient(create_app(container, monitored=[Pulse()]))
    response = client.get("/health/workers")
    assert response.status_code == 503
    assert response.json()["workers"][0]["stale"] is True


def test_beating_worker_is_healthy_then_stale_after_silence(
    container: Container, clock: SimulatedClock
) -> None:
    pulse = Pulse()
    client = TestClient(create_app(container, monitored=[pulse]))
    Runtime(container.database, clock).step(pulse)
    healthy = client.get("/health/workers")
    clock.advance(timedelta(seconds=61))
    silent = client.get("/health/workers")
    assert healthy.status_code == 200
    assert healthy.json()["workers"][0]["state"] == "idle"
    assert silent.status_code == 503


def test_dead_letters_are_counted(container: Container, clock: SimulatedClock) -> None:
    pulse = Pulse(fail=True)
    client = TestClient(create_app(container, monitored=[pulse]))
    Runtime(container.database, clock, max_attempts=1).step(pulse)
    worker = client.get("/health/workers").json()["workers"][0]
    assert worker["openDeadLetters"] == 1


def test_default_catalog_in_replay_mode_monitors_the_feed(container: Container) -> None:
    client = TestClient(create_app(container))
    workers = client.get("/health/workers").json()["workers"]
    names = ["identity-janitor", "market-replay", "projections", "marks", "trading"]
    names += ["backtests", "auditions", "arena", "races", "reconciliation", "alerts", "backups"]
    assert [w["name"] for w in workers] == names
    assert [w["critical"] for w in workers] == [False, True] + [False] * 10


def test_health_shows_the_market_clock(container: Container) -> None:
    client = TestClient(create_app(container))
    market = client.get("/health/workers").json()["market"]
    assert market["mode"] == "replay"
    assert market["status"] == "not_started"


def test_health_shows_live_and_stuck_leases_processes_and_projection_lag(
    container: Container, clock: SimulatedClock
) -> None:
    # Arrange: a silent holder keeps a long lease; a clone drafted but not yet projected.
    client = TestClient(create_app(container, monitored=[Pulse()]))
    LeaseStore(container.database).claim("pulse:beat", "gone", timedelta(hours=1), clock.now())
    container.clones.create_clone(uuid4(), "someone", "Lagging")
    before = client.get("/health/workers").json()
    clock.advance(timedelta(seconds=61))  # past CLASH_WORKER_STALE_AFTER_SECONDS=60

    after = client.get("/health/workers").json()

    assert before["leases"] == {"live": 1, "stuck": []}
    assert after["leases"] == {"live": 1, "stuck": ["pulse:beat"]}
    assert after["processes"] == {
        "auditionsOpen": 0,
        "auditionsStuck": 0,
        "racesOpen": 0,
        "racesOverdue": 0,
    }
    assert after["projectionsLag"]["clones"] >= 1
    assert after["projectionsLag"]["prop_ledger"] == 0


def test_clash_workers_status_reports_and_fails_on_a_stuck_lease(
    container: Container, clock: SimulatedClock, monkeypatch: pytest.MonkeyPatch, database_url: str
) -> None:
    for name, value in cli_env(database_url).items():
        monkeypatch.setenv(name, value)
    runner = CliRunner()
    now = SystemClock().now()  # the CLI runs on the system clock
    Runtime(container.database, SystemClock(), holder="h1").step(Pulse(critical=False))
    healthy = runner.invoke(app, ["workers", "status", "--json"])
    gone = LeaseStore(container.database).claim(
        "pulse:other", "gone", timedelta(hours=2), now - timedelta(hours=1)
    )
    assert gone is not None

    stuck = runner.invoke(app, ["workers", "status", "--json"])
    table = runner.invoke(app, ["workers", "status"])

    report, later = json.loads(healthy.output), json.loads(stuck.output)
    replay = next(w for w in report["workers"] if w["name"] == "market-replay")
    assert (replay["critical"], replay["stale"], report["ok"]) == (True, True, False)
    assert (healthy.exit_code, report["stuckLeases"]) == (1, [])
    assert {p["projection"] for p in report["projections"]} >= {"prop_ledger", "clones"}
    assert later["stuckLeases"] == ["pulse:other"]
    assert [lease["stuck"] for lease in later["leases"]] == [True]
    assert "STUCK" in table.output
