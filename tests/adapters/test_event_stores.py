"""Module applications keep their events in their own table of the one shared database."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from uuid import UUID

import pytest
from eventsourcing.domain import event

from adapters.database import Database
from adapters.event_stores import factory_builder
from domain.aggregates import ClashAggregate, ClockNotBound
from domain.application import ClashApplication, ConcurrentModification
from domain.clock import SimulatedClock

T0 = datetime(2026, 1, 1, 9, 0, tzinfo=UTC)


class Counter(ClashAggregate):
    @event("Opened")
    def __init__(self, name: str) -> None:
        self.name = name
        self.count = 0

    @event("Incremented")
    def increment(self) -> None:
        self.count += 1


class Counters(ClashApplication):
    name = "counters"

    def open(self, name: str) -> UUID:
        def command() -> UUID:
            counter = Counter(name=name)
            self.save(counter)
            return counter.id

        return self.run_command(command)

    def increment(self, counter_id: UUID) -> int:
        def command() -> int:
            counter: Counter = self.repository.get(counter_id)
            counter.increment()
            return self.save(counter)[-1].notification.id

        return self.run_command(command)


class Tallies(Counters):
    name = "tallies"


def _table_names(database: Database) -> set[str]:
    with database.transaction(write=False) as session:
        if session.dialect == "sqlite":
            rows = session.fetch_all("SELECT name FROM sqlite_master WHERE type = 'table'")
        else:
            rows = session.fetch_all(
                "SELECT table_name AS name FROM information_schema.tables"
                " WHERE table_schema = current_schema()"
            )
    return {row["name"] for row in rows}


def test_each_application_gets_its_own_event_table(database: Database) -> None:
    # Arrange
    clock = SimulatedClock(T0)
    counters = Counters(clock=clock, factory_builder=factory_builder(database))
    tallies = Tallies(clock=clock, factory_builder=factory_builder(database))
    # Act
    counter_id = counters.open("a")
    tallies.open("b")
    # Assert
    assert {"counters_events", "tallies_events", "users"} <= _table_names(database)
    assert counters.recorder.max_notification_id() == 1
    assert tallies.recorder.max_notification_id() == 1
    assert counters.repository.get(counter_id).name == "a"


def test_event_timestamps_come_from_the_injected_clock(database: Database) -> None:
    clock = SimulatedClock(T0)
    counters = Counters(clock=clock, factory_builder=factory_builder(database))
    counter_id = counters.open("a")
    clock.advance(timedelta(minutes=5))
    counters.increment(counter_id)
    stamps = [e.timestamp for e in counters.events.get(counter_id)]
    assert stamps == [T0, T0 + timedelta(minutes=5)]


def test_events_survive_a_new_application_instance(database: Database) -> None:
    clock = SimulatedClock(T0)
    counter_id = Counters(clock=clock, factory_builder=factory_builder(database)).open("a")
    again = Counters(clock=clock, factory_builder=factory_builder(database))
    again.increment(counter_id)
    assert again.repository.get(counter_id).count == 1


def test_application_without_builder_is_isolated_in_memory(database: Database) -> None:
    clock = SimulatedClock(T0)
    stored = Counters(clock=clock, factory_builder=factory_builder(database))
    isolated = Counters(clock=clock)
    counter_id = isolated.open("backtest")
    assert counter_id not in stored.repository


def test_events_need_a_bound_clock() -> None:
    with pytest.raises(ClockNotBound):
        Counter(name="no clock")


def test_command_that_keeps_losing_races_raises_concurrent_modification() -> None:
    counters = Counters(clock=SimulatedClock(T0))
    counter_id = counters.open("a")

    def always_stale() -> None:
        stale: Counter = counters.repository.get(counter_id)
        fresh: Counter = counters.repository.get(counter_id)
        fresh.increment()
        counters.save(fresh)
        stale.increment()
        counters.save(stale)

    with pytest.raises(ConcurrentModification):
        counters.run_command(always_stale)
