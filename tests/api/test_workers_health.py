"""``/health/workers``: heartbeats and dead letters, 503 when a critical worker is down."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

import pytest
from fastapi.testclient import TestClient

from adapters.bootstrap import Container, bootstrap
from api.app import create_app
from domain.clock import SimulatedClock
from tests.api.conftest import api_settings
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
