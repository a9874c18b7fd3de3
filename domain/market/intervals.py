"""Candle intervals: names as the sources spell them, lengths as exact durations.

A candle is identified by its *open* time; it becomes knowable at its *close* time
(open + length). Values derived from a candle are stamped with that close time.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

INTERVALS: dict[str, timedelta] = {
    "1m": timedelta(minutes=1),
    "3m": timedelta(minutes=3),
    "5m": timedelta(minutes=5),
    "15m": timedelta(minutes=15),
    "30m": timedelta(minutes=30),
    "1h": timedelta(hours=1),
    "2h": timedelta(hours=2),
    "4h": timedelta(hours=4),
    "8h": timedelta(hours=8),
    "12h": timedelta(hours=12),
    "1d": timedelta(days=1),
}
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


class UnknownInterval(ValueError):
    """Raised when an interval name is not one of :data:`INTERVALS`."""


def interval_length(name: str) -> timedelta:
    """Return the duration of the interval ``name`` (``"5m"``, ``"1h"``...)."""
    try:
        return INTERVALS[name]
    except KeyError:
        raise UnknownInterval(f"interval={name!r} known={','.join(INTERVALS)}") from None


def floor_to_interval(instant: datetime, name: str) -> datetime:
    """Return the open time of the candle of ``name`` that contains ``instant``."""
    length = interval_length(name)
    return EPOCH + ((instant - EPOCH) // length) * length
