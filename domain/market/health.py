"""Source health: a small state machine per (source, channel).

- ``healthy``: the last poll succeeded and the data is fresh;
- ``degraded``: a poll failed (fewer than ``down_after`` times in a row) or the newest data
  is older than ``max_lag``;
- ``down``: ``down_after`` consecutive failures.

Every change of state is kept with its time and reason, so later questions such as "was
the BTC feed healthy during this audition's window?" are answered from history, not from
the current state.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from enum import StrEnum


class HealthState(StrEnum):
    """How usable a source's data is."""

    HEALTHY = "healthy"
    DEGRADED = "degraded"
    DOWN = "down"


@dataclass(frozen=True)
class HealthPolicy:
    """When a source counts as degraded or down."""

    down_after: int = 3
    max_lag: timedelta = timedelta(minutes=15)


@dataclass(frozen=True)
class SourceHealth:
    """The current health of one channel of one source."""

    source: str
    channel: str
    state: HealthState
    consecutive_failures: int = 0
    last_success_at: datetime | None = None
    last_error_at: datetime | None = None
    last_error: str | None = None
    last_data_at: datetime | None = None

    def lag(self, now: datetime) -> timedelta | None:
        """How old the newest data is at ``now`` (``None`` before any data)."""
        return None if self.last_data_at is None else now - self.last_data_at


@dataclass(frozen=True)
class HealthChange:
    """A transition, kept forever."""

    source: str
    channel: str
    at: datetime
    from_state: HealthState | None
    to_state: HealthState
    reason: str


def initial(source: str, channel: str) -> SourceHealth:
    """A channel never polled yet counts as degraded until its first success."""
    return SourceHealth(source, channel, HealthState.DEGRADED)


def after_success(
    health: SourceHealth, *, now: datetime, data_at: datetime | None, policy: HealthPolicy
) -> SourceHealth:
    """The health after a successful poll whose newest data is ``data_at``."""
    newest = max(filter(None, (health.last_data_at, data_at)), default=None)
    updated = replace(health, consecutive_failures=0, last_success_at=now, last_data_at=newest)
    stale = newest is not None and now - newest > policy.max_lag
    return replace(updated, state=HealthState.DEGRADED if stale else HealthState.HEALTHY)


def after_failure(
    health: SourceHealth, *, now: datetime, error: str, policy: HealthPolicy
) -> SourceHealth:
    """The health after a failed poll."""
    failures = health.consecutive_failures + 1
    state = HealthState.DOWN if failures >= policy.down_after else HealthState.DEGRADED
    return replace(
        health,
        state=state,
        consecutive_failures=failures,
        last_error_at=now,
        last_error=error[:500],
    )


def transition(
    before: SourceHealth | None, after: SourceHealth, now: datetime
) -> HealthChange | None:
    """The change to record, if the state moved."""
    previous = None if before is None else before.state
    if previous == after.state:
        return None
    reason = (
        after.last_error
        if after.state is not HealthState.HEALTHY and after.last_error
        else ("stale data" if after.state is HealthState.DEGRADED else "poll succeeded")
    )
    return HealthChange(after.source, after.channel, now, previous, after.state, reason or "")


def healthy_throughout(
    changes: list[HealthChange], state_at_start: HealthState | None, start: datetime, end: datetime
) -> bool:
    """Whether the channel was healthy for the whole of ``[start, end]``."""
    if state_at_start is not HealthState.HEALTHY:
        return False
    return all(c.to_state is HealthState.HEALTHY for c in changes if start < c.at <= end)
