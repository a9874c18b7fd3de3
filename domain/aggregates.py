"""The project's base aggregate: every event is stamped by the clock of its application.

The eventsourcing library stamps events through ``create_timestamp()``. We override it on
the base ``Event`` and ``Snapshot`` classes so that the timestamp comes from the clock
bound to the current context (see :func:`clock_in_use`). Applications bind their clock
around each command (``ClashApplication.clocked``), so an aggregate of the prop module
is stamped by the market clock, an identity or economy fact by the service clock, and a
backtest by its simulated clock. Creating an event with no clock bound is a programming
error and raises, rather than silently reading the wall clock.
"""

from __future__ import annotations

import contextvars
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from uuid import UUID

from eventsourcing.domain import Aggregate
from eventsourcing.domain import Snapshot as LibrarySnapshot

from domain.clock import Clock

_current_clock: contextvars.ContextVar[Clock | None] = contextvars.ContextVar(
    "clash_current_clock", default=None
)


class ClockNotBound(RuntimeError):
    """Raised when an event is created outside any ``clock_in_use`` block."""


@contextmanager
def clock_in_use(clock: Clock) -> Iterator[Clock]:
    """Bind ``clock`` as the source of event timestamps for the enclosed block."""
    token = _current_clock.set(clock)
    try:
        yield clock
    finally:
        _current_clock.reset(token)


def current_instant() -> datetime:
    """Return the instant of the bound clock, or raise :class:`ClockNotBound`."""
    clock = _current_clock.get()
    if clock is None:
        raise ClockNotBound("no clock is bound: wrap the command in clock_in_use(clock)")
    return clock.now()


class ClashAggregate(Aggregate):
    """Base of every aggregate in the project: events are stamped by the bound clock."""

    id: UUID

    class Event(Aggregate.Event):
        @staticmethod
        def create_timestamp() -> datetime:
            return current_instant()

    class Created(Event, Aggregate.Created):
        pass

    class Snapshot(LibrarySnapshot):
        @staticmethod
        def create_timestamp() -> datetime:
            return current_instant()
