"""A poison job lands in the dead letters after its attempts; operators retry or discard it
over HTTP or with ``clash dead-letters`` (both stores)."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from adapters.bootstrap import Container, bootstrap
from adapters.dead_letters import DeadLetterStore
from api.app import create_app
from api.cli import app
from domain.clock import SimulatedClock
from tests.api.clones_kit import admin, user
from tests.api.conftest import api_settings, assert_problem
from tests.conftest import cli_env
from workers.runtime import Runtime, WorkItem


@dataclass
class Poison:
    """A worker whose one item fails until it is cured."""

    cured: bool = False
    done: int = 0
    name: str = "poison"
    interval: timedelta = timedelta(seconds=1)
    critical: bool = False

    def pending(self, now: datetime) -> Sequence[WorkItem]:
        return [] if self.done else [WorkItem("job-1", {"n": 1})]

    def perform(self, item: WorkItem, now: datetime) -> None:
        if not self.cured:
            raise RuntimeError("poisoned payload")
        self.done += 1


@pytest.fixture
def container(database_url: str, clock: SimulatedClock) -> Iterator[Container]:
    built = bootstrap(api_settings(database_url, worker_max_attempts=3), service_clock=clock)
    yield built
    built.close()


def dead(container: Container, clock: SimulatedClock, poison: Poison) -> None:
    runtime = Runtime(container.database, clock, max_attempts=3)
    for _ in range(3):
        runtime.step(poison)
        clock.advance(timedelta(minutes=10))  # past every backoff


def test_a_poison_job_dies_after_its_attempts_and_is_retried(
    container: Container, clock: SimulatedClock
) -> None:
    client = TestClient(create_app(container), raise_server_exceptions=False)
    poison = Poison()
    dead(container, clock, poison)
    operator = admin(client)

    letters = client.get("/v1/admin/dead-letters", headers=operator).json()["data"]
    assert [(d["worker"], d["itemKey"], d["attempts"]) for d in letters] == [("poison", "job-1", 3)]
    assert "poisoned payload" in letters[0]["lastError"]
    poison.cured = True
    retried = client.post(f"/v1/admin/dead-letters/{letters[0]['id']}/retry", headers=operator)
    assert (retried.status_code, retried.json()["status"]) == (200, "retried")
    Runtime(container.database, clock, max_attempts=3).step(poison)
    assert poison.done == 1
    assert client.get("/v1/admin/dead-letters", headers=operator).json()["data"] == []
    again = client.post(f"/v1/admin/dead-letters/{letters[0]['id']}/retry", headers=operator)
    assert_problem(again, 404, "workers:dead-letter-not-found")
    assert client.get("/v1/admin/dead-letters", headers=user(client, "x")).status_code == 403


def test_the_cli_lists_and_discards_dead_letters(
    container: Container, clock: SimulatedClock, monkeypatch: pytest.MonkeyPatch, database_url: str
) -> None:
    dead(container, clock, Poison())
    for name, value in cli_env(database_url).items():
        monkeypatch.setenv(name, value)
    runner = CliRunner()

    listed = runner.invoke(app, ["dead-letters", "list"])
    letter_id = _only_letter(container)
    discarded = runner.invoke(app, ["dead-letters", "discard", letter_id])
    missing = runner.invoke(app, ["dead-letters", "retry", letter_id])

    assert listed.exit_code == 0, listed.output
    assert "1 open dead letters." in listed.output
    assert discarded.exit_code == 0, discarded.output
    assert missing.exit_code == 1


def _only_letter(container: Container) -> str:
    (letter,) = DeadLetterStore(container.database).list_open()
    return letter.id
