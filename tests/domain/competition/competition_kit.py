"""Builders for competition tests: named ids, an entry's enqueue values, a racing clock.

Ids derive from names (``an_id("clone-a")``), so failures reproduce byte for byte. Every
enqueue value has a default that fits the others; a test overrides only what it is about.
:class:`RendezvousClock` lets a test force two commands to load the same state before
either saves, with no hook into our code: the first event a racer triggers asks the clock
for the time, and the clock holds it there until every racer has arrived.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any
from uuid import UUID, uuid5

from domain.clock import SimulatedClock

T0 = datetime(2025, 6, 2, 9, tzinfo=UTC)
MINUTE = timedelta(minutes=1)
NS = UUID("8c1f3a52-7d4e-4b9a-9e0f-3a2b1c4d5e6f")
CAPACITY = 3
USER = "user-1"
SCORE = Decimal("2.75")
METRICS: dict[str, Any] = {"score": "2.75", "total_return": "0.11", "trading_days": 4}


def an_id(name: str) -> UUID:
    """Return a stable id for ``name``."""
    return uuid5(NS, name)


def enqueue_values(**overrides: Any) -> dict[str, Any]:
    """Return the keyword values of an enqueue (one passed audition of ``clone-a``)."""
    values: dict[str, Any] = {
        "run": 1,
        "user_id": USER,
        "clone_id": an_id("clone-a"),
        "version_id": an_id("version-a1"),
        "score": SCORE,
        "passed_at": T0 - timedelta(days=1),
        "metrics": dict(METRICS),
    }
    return {**values, **overrides}


class RendezvousClock:
    """A simulated clock whose first reading in each racing thread waits for all racers.

    An application command loads its aggregates, then triggers events (each reads the
    clock), then saves. Holding every racer at its first reading therefore guarantees that
    all of them loaded the same state before any of them saved. A racer that never triggers
    an event breaks the rendezvous, which fails the test rather than passing it vacuously.
    """

    def __init__(self, start: datetime) -> None:
        self._clock = SimulatedClock(start)
        self._barrier: threading.Barrier | None = None
        self._local = threading.local()

    def now(self) -> datetime:
        """Return the simulated instant, after the rendezvous when racing."""
        barrier = self._barrier
        if barrier is not None and not getattr(self._local, "arrived", False):
            self._local.arrived = True
            barrier.wait()
        return self._clock.now()

    def advance(self, delta: timedelta) -> datetime:
        """Move the clock forward by ``delta``."""
        return self._clock.advance(delta)

    def race(self, *commands: Callable[[], object]) -> list[object]:
        """Run each command in its own thread, all loading before any saves.

        Returns each command's result, or the exception it raised, in argument order.
        """
        self._barrier = threading.Barrier(len(commands), timeout=10)
        outcomes: list[object] = [None] * len(commands)

        def run(index: int, command: Callable[[], object]) -> None:
            try:
                outcomes[index] = command()
            except Exception as exc:  # the outcome under test
                outcomes[index] = exc

        threads = [
            threading.Thread(target=run, args=(i, c), name=f"racer-{i}")
            for i, c in enumerate(commands)
        ]
        try:
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join(timeout=30)
        finally:
            self._barrier = None
        if any(thread.is_alive() for thread in threads):
            raise AssertionError("a racer never finished")
        return outcomes
