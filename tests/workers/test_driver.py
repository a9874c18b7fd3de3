"""The deterministic driver steps every worker in order on a simulated clock, repeatably."""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from itertools import pairwise

import pytest

from adapters.database import Database
from domain.clock import SimulatedClock
from workers.driver import DeterministicDriver, DriverClockMismatchError, DriverStepNotPositiveError
from workers.runtime import Runtime, WorkItem

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
SECOND = timedelta(seconds=1)


@dataclass
class JournalWorker:
    """A worker that writes each step and each perform into a shared journal."""

    name: str
    journal: list[tuple[str, str, datetime]]
    interval: timedelta = SECOND
    critical: bool = False
    keys: list[str] = field(default_factory=lambda: ["job"])
    fails: bool = False

    def pending(self, now: datetime) -> Sequence[WorkItem]:
        self.journal.append((self.name, "step", now))
        return [WorkItem(key) for key in self.keys]

    def perform(self, item: WorkItem, now: datetime) -> None:
        self.journal.append((self.name, f"perform {item.key}", now))
        if self.fails:
            raise RuntimeError("always fails")


def a_driver(
    database: Database, workers: Sequence[JournalWorker], *, seed: int = 1
) -> tuple[DeterministicDriver, SimulatedClock]:
    clock = SimulatedClock(T0)
    runtime = Runtime(
        database,
        clock,
        holder="driver",
        max_attempts=10,
        backoff_base=timedelta(seconds=2),
        backoff_max=timedelta(minutes=10),
        rng=random.Random(seed),
    )
    return DeterministicDriver(runtime, clock, workers), clock


def test_tick_runs_every_step_in_the_given_order_at_the_current_time(database: Database) -> None:
    journal: list[tuple[str, str, datetime]] = []
    workers = [JournalWorker("b-first", journal), JournalWorker("a-second", journal)]
    driver, clock = a_driver(database, workers)
    reports = driver.tick()
    assert [report.worker for report in reports] == ["b-first", "a-second"]
    assert journal == [
        ("b-first", "step", T0),
        ("b-first", "perform job", T0),
        ("a-second", "step", T0),
        ("a-second", "perform job", T0),
    ]
    assert clock.now() == T0


def test_run_advances_the_clock_and_keeps_the_order_at_every_tick(database: Database) -> None:
    journal: list[tuple[str, str, datetime]] = []
    workers = [JournalWorker("alpha", journal, keys=[]), JournalWorker("beta", journal, keys=[])]
    driver, clock = a_driver(database, workers)
    driver.run(until=T0 + 3 * SECOND, step=SECOND)
    assert journal == [
        (name, "step", T0 + n * SECOND) for n in (1, 2, 3) for name in ("alpha", "beta")
    ]
    assert clock.now() == T0 + 3 * SECOND


def test_run_shortens_the_last_step_to_land_on_until(database: Database) -> None:
    journal: list[tuple[str, str, datetime]] = []
    driver, clock = a_driver(database, [JournalWorker("only", journal, keys=[])])
    reports = driver.run(until=T0 + 2500 * timedelta(milliseconds=1), step=SECOND)
    assert [report.started_at for report in reports] == [
        T0 + SECOND,
        T0 + 2 * SECOND,
        T0 + timedelta(seconds=2.5),
    ]
    assert driver.run(until=clock.now(), step=SECOND) == []


def test_seeded_runs_retry_at_exactly_the_same_instants(database: Database) -> None:
    def failure_times(name: str) -> list[datetime]:
        journal: list[tuple[str, str, datetime]] = []
        driver, _ = a_driver(database, [JournalWorker(name, journal, fails=True)], seed=42)
        driver.run(until=T0 + timedelta(minutes=5), step=SECOND)
        return [at for _, what, at in journal if what.startswith("perform")]

    first, second = failure_times("flaky-1"), failure_times("flaky-2")
    assert first == second
    assert len(first) >= 4
    gaps = [later - earlier for earlier, later in pairwise(first)]
    assert gaps == sorted(gaps)


def test_driver_refuses_a_clock_its_runtime_does_not_read(database: Database) -> None:
    runtime = Runtime(database, SimulatedClock(T0), holder="driver")
    with pytest.raises(DriverClockMismatchError):
        DeterministicDriver(runtime, SimulatedClock(T0), [])


def test_driver_refuses_a_step_that_does_not_advance_time(database: Database) -> None:
    driver, _ = a_driver(database, [])
    with pytest.raises(DriverStepNotPositiveError, match="step=0:00:00"):
        driver.run(until=T0 + SECOND, step=timedelta(0))
