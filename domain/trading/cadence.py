"""Decision cadence: which ticks are due for a bound account, and which were missed.

Each traded asset ticks at the close of every interval of its cadence (``5m``: :00, :05,
...), epoch-aligned on the market clock, inside the binding's window and outside its
pauses. A step decides only the *latest* due tick of each asset; ticks between the last
decided one and that latest one were missed (the worker was down or behind) and are
reported as missed, never replayed late: a decision made with stale timing would trade on
a market that has moved on. A new binding's first tick is the first cadence boundary at or
after the window's start.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from domain.market.intervals import floor_to_interval, interval_length
from domain.trading.binding import Window
from domain.trading.spec import AssetPlan

_EPSILON = timedelta(microseconds=1)


@dataclass(frozen=True)
class Missed:
    """Ticks of one asset that passed undecided: first, last, how many."""

    first: datetime
    last: datetime
    count: int


@dataclass(frozen=True)
class Due:
    """The assets due at one tick instant, and what was missed before it."""

    at: datetime
    assets: tuple[str, ...]
    missed: Mapping[str, Missed] = field(default_factory=dict)


def due_ticks(
    plans: Sequence[AssetPlan],
    *,
    window: Window,
    pauses: Sequence[Window],
    cursors: Mapping[str, datetime],
    now: datetime,
) -> list[Due]:
    """The due ticks at market time ``now``, grouped by instant (oldest first)."""
    by_instant: dict[datetime, list[str]] = {}
    missed: dict[datetime, dict[str, Missed]] = {}
    for plan in plans:
        found = _due(plan.cadence, window, pauses, cursors.get(plan.asset), now)
        if found is None:
            continue
        at, gap = found
        by_instant.setdefault(at, []).append(plan.asset)
        if gap is not None:
            missed.setdefault(at, {})[plan.asset] = gap
    return [
        Due(at, tuple(sorted(assets)), missed.get(at, {}))
        for at, assets in sorted(by_instant.items())
    ]


def _due(
    cadence: str,
    window: Window,
    pauses: Sequence[Window],
    cursor: datetime | None,
    now: datetime,
) -> tuple[datetime, Missed | None] | None:
    step = interval_length(cadence)
    latest = floor_to_interval(now, cadence)
    if window.end is not None and latest >= window.end:
        latest = floor_to_interval(window.end - _EPSILON, cadence)
    first = cursor + step if cursor is not None else _ceil(window.start, cadence)
    if latest < first or latest < window.start or _paused(latest, pauses):
        return None
    gaps = [t for t in _ticks(first, latest, step) if not _paused(t, pauses)]
    return latest, (Missed(gaps[0], gaps[-1], len(gaps)) if gaps else None)


def _ticks(first: datetime, end: datetime, step: timedelta) -> list[datetime]:
    found, tick = [], first
    while tick < end:
        found.append(tick)
        tick += step
    return found


def _ceil(instant: datetime, cadence: str) -> datetime:
    floored = floor_to_interval(instant, cadence)
    return floored if floored == instant else floored + interval_length(cadence)


def _paused(instant: datetime, pauses: Sequence[Window]) -> bool:
    return any(p.contains(instant) for p in pauses)


def invocation(window: Window, at: datetime, cadence: str) -> int:
    """How many ticks of ``cadence`` the binding has had up to and including ``at``."""
    return (at - _ceil(window.start, cadence)) // interval_length(cadence) + 1
