"""The real-time clock: the only place that reads the wall clock.

Domain code receives a :class:`domain.clock.Clock`; in production both the service clock and
the live market clock are a :class:`SystemClock`. Tests and backtests hand in a
:class:`domain.clock.SimulatedClock` instead.
"""

from __future__ import annotations

from datetime import UTC, datetime


class SystemClock:
    """Real UTC time."""

    def now(self) -> datetime:
        """Return the current UTC instant."""
        return datetime.now(UTC)
