"""The deterministic driver: every worker's step, in a fixed order, on a simulated clock.

Because a worker step is a plain function of the clock (see :mod:`workers.runtime`), the
same workers that run in threads in production can be run here with no threads and no
sleeps: each :meth:`DeterministicDriver.tick` runs every worker's step once, in the order
given, at the simulated instant; :meth:`DeterministicDriver.run` advances the clock and
ticks. With a runtime built on the same :class:`~domain.clock.SimulatedClock`, a fixed
holder id and a seeded ``random.Random`` (backoff jitter), a run repeats exactly. Tests and
``clash demo`` use it to play hours of worker activity in moments.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from domain.clock import SimulatedClock
from workers.runtime import Runtime, StepReport, Worker, WorkerRuntimeError


class DriverClockMismatchError(WorkerRuntimeError):
    """Raised when the driver's clock is not the clock its runtime reads."""

    def __str__(self) -> str:
        return "the driver must step the same SimulatedClock the runtime reads"


class DriverStepNotPositiveError(WorkerRuntimeError):
    """Raised when the driver is asked to advance time by a zero or negative step."""

    def __init__(self, step: timedelta) -> None:
        super().__init__(step)
        self.step = step

    def __str__(self) -> str:
        return f"the driver advances time by a positive step: step={self.step}"


class DeterministicDriver:
    """Runs worker steps in order on a simulated clock, with no threads and no sleeps."""

    def __init__(self, runtime: Runtime, clock: SimulatedClock, workers: Sequence[Worker]) -> None:
        if runtime.clock is not clock:
            raise DriverClockMismatchError
        self._runtime = runtime
        self._clock = clock
        self._workers = tuple(workers)

    def tick(self) -> list[StepReport]:
        """Run every worker's step once, in order, at the clock's current instant."""
        return [self._runtime.step(worker) for worker in self._workers]

    def run(self, until: datetime, step: timedelta) -> list[StepReport]:
        """Advance the clock by ``step`` and tick, until it reaches ``until``; return the reports.

        The last advance is shortened so the clock ends exactly at ``until``; nothing runs
        when the clock is already there.
        """
        if step <= timedelta(0):
            raise DriverStepNotPositiveError(step)
        reports: list[StepReport] = []
        while self._clock.now() < until:
            self._clock.advance(min(step, until - self._clock.now()))
            reports.extend(self.tick())
        return reports
