"""Clocks as a port: the domain asks an injected clock for the time, never the wall.

Two clocks exist and are never mixed (ARCHITECTURE.md section 4):

- the *service clock* is always real time; it stamps tokens, nonces, quotas and leases;
- the *market clock* drives trading, marks, funding, auditions and races; in tests and
  backtests it is a :class:`SimulatedClock` that the code steps.

Both satisfy :class:`Clock`. The real-time implementation lives in ``adapters.clocks``
because reading the wall clock is IO.
"""

from __future__ import annotations

import threading
from datetime import datetime, timedelta
from typing import Protocol, runtime_checkable


class ClockError(Exception):
    """Raised when a clock is given a time that breaks its rules."""


@runtime_checkable
class Clock(Protocol):
    """A source of timezone-aware UTC instants."""

    def now(self) -> datetime:
        """Return the current instant (timezone-aware)."""
        ...


class SimulatedClock:
    """A clock that only moves when told to; safe to share between threads."""

    def __init__(self, start: datetime) -> None:
        _require_aware(start)
        self._now = start
        self._lock = threading.Lock()

    def now(self) -> datetime:
        """Return the simulated instant."""
        with self._lock:
            return self._now

    def advance(self, delta: timedelta) -> datetime:
        """Move the clock forward by ``delta`` and return the new instant."""
        if delta < timedelta(0):
            raise ClockError(f"simulated time never runs backwards: delta={delta}")
        with self._lock:
            self._now += delta
            return self._now

    def set(self, instant: datetime) -> None:
        """Jump to ``instant``, which must not be earlier than the current instant."""
        _require_aware(instant)
        with self._lock:
            if instant < self._now:
                raise ClockError(
                    f"simulated time never runs backwards: now={self._now} to={instant}"
                )
            self._now = instant


def _require_aware(instant: datetime) -> None:
    if instant.tzinfo is None or instant.utcoffset() is None:
        raise ClockError(f"clock instants must be timezone-aware: instant={instant!r}")
