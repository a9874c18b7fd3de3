"""The project's base eventsourcing ``Application``.

Every module's application (prop, clones, economy, ...) subclasses :class:`ClashApplication`.
It adds three things to the library's class:

- an injected clock bound around each command, so events carry its timestamps;
- an injected infrastructure factory builder, so the composition root decides where
  events live (one shared SQLite file or PostgreSQL schema, with a table per application,
  or an isolated in-memory store for a backtest) instead of process-wide env variables;
- :meth:`run_command`, which retries a command a bounded number of times when a
  concurrent save wins the optimistic-concurrency race, then raises
  :class:`ConcurrentModification` for the API to answer 409.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any, ClassVar, TypeVar
from uuid import UUID

from eventsourcing.application import Application
from eventsourcing.persistence import InfrastructureFactory, IntegrityError
from eventsourcing.utils import Environment

from domain.aggregates import clock_in_use
from domain.clock import Clock

FactoryBuilder = Callable[[Environment], InfrastructureFactory[Any]]
T = TypeVar("T")


class ConcurrentModification(Exception):
    """Raised when a command kept losing the optimistic-concurrency race."""

    def __init__(self, application: str, attempts: int) -> None:
        super().__init__(f"application={application} attempts={attempts}")
        self.application = application
        self.attempts = attempts


class ClashApplication(Application[UUID]):
    """An eventsourcing application with an injected clock and event store."""

    command_attempts: ClassVar[int] = 5

    def __init__(
        self,
        *,
        clock: Clock,
        factory_builder: FactoryBuilder | None = None,
        env: Mapping[str, str] | None = None,
    ) -> None:
        self.clock = clock
        self._factory_builder = factory_builder
        prefixed = {f"{self.name.upper()}_PERSISTENCE_MODULE": "eventsourcing.popo"}
        super().__init__(env={**prefixed, **(env or {})})

    def construct_factory(self, env: Environment) -> InfrastructureFactory[Any]:
        if self._factory_builder is None:
            return super().construct_factory(env)
        return self._factory_builder(env)

    @contextmanager
    def clocked(self) -> Iterator[Clock]:
        """Bind this application's clock as the timestamp source for the block."""
        with clock_in_use(self.clock) as clock:
            yield clock

    def run_command(self, command: Callable[[], T]) -> T:
        """Run ``command`` under this clock, retrying lost concurrency races."""
        for _ in range(self.command_attempts):
            try:
                with self.clocked():
                    return command()
            except IntegrityError:
                continue
        raise ConcurrentModification(self.name, self.command_attempts)
