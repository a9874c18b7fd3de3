"""Source health rows and their history of state changes, on the project database."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import datetime
from typing import Any

from adapters.database import Database, Session, from_micros, to_micros
from domain.market.health import (
    HealthChange,
    HealthPolicy,
    HealthState,
    SourceHealth,
    after_failure,
    after_success,
    healthy_throughout,
    initial,
    transition,
)

_UPSERT = (
    "INSERT INTO market_source_health (source, channel, state, last_success_at, last_error_at,"
    " last_error, consecutive_failures, last_data_at, updated_at)"
    " VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s) ON CONFLICT (source, channel) DO UPDATE SET"
    " state = excluded.state, last_success_at = excluded.last_success_at,"
    " last_error_at = excluded.last_error_at, last_error = excluded.last_error,"
    " consecutive_failures = excluded.consecutive_failures,"
    " last_data_at = excluded.last_data_at, updated_at = excluded.updated_at"
)


def _at(value: int | None) -> datetime | None:
    return None if value is None else from_micros(value)


def _micros(value: datetime | None) -> int | None:
    return None if value is None else to_micros(value)


class SourceHealthStore:
    """Records poll outcomes and answers health questions, now and over windows."""

    def __init__(self, database: Database, policy: HealthPolicy | None = None) -> None:
        self.database = database
        self.policy = policy or HealthPolicy()

    def record_success(
        self, source: str, channel: str, *, now: datetime, data_at: datetime | None
    ) -> SourceHealth:
        """Record a successful poll."""
        return self._record(
            source,
            channel,
            now,
            lambda h: after_success(h, now=now, data_at=data_at, policy=self.policy),
        )

    def record_failure(
        self, source: str, channel: str, *, now: datetime, error: str
    ) -> SourceHealth:
        """Record a failed poll with its message."""
        return self._record(
            source,
            channel,
            now,
            lambda h: after_failure(h, now=now, error=error, policy=self.policy),
        )

    def _record(
        self,
        source: str,
        channel: str,
        now: datetime,
        step: Callable[[SourceHealth], SourceHealth],
    ) -> SourceHealth:
        with self.database.transaction() as session:
            before = _load(session, source, channel)
            after = step(before or initial(source, channel))
            session.execute(
                _UPSERT,
                (
                    source,
                    channel,
                    after.state.value,
                    _micros(after.last_success_at),
                    _micros(after.last_error_at),
                    after.last_error,
                    after.consecutive_failures,
                    _micros(after.last_data_at),
                    to_micros(now),
                ),
            )
            change = transition(before, after, now)
            if change is not None:
                _insert_change(session, change)
        return after

    def all(self) -> list[SourceHealth]:
        """Every channel's current health, by source and channel."""
        with self.database.transaction(write=False) as session:
            rows = session.fetch_all("SELECT * FROM market_source_health ORDER BY source, channel")
        return [_health(row) for row in rows]

    def changes(
        self,
        source: str,
        channel: str,
        *,
        start: datetime | None = None,
        end: datetime | None = None,
    ) -> list[HealthChange]:
        """State changes of a channel, oldest first, optionally within ``[start, end]``."""
        with self.database.transaction(write=False) as session:
            rows = session.fetch_all(
                "SELECT * FROM market_source_health_changes WHERE source = %s AND channel = %s"
                " AND changed_at >= %s AND changed_at <= %s ORDER BY changed_at, id",
                (
                    source,
                    channel,
                    to_micros(start) if start else 0,
                    to_micros(end) if end else 2**62,
                ),
            )
        return [_change(row) for row in rows]

    def healthy_throughout(self, source: str, channel: str, start: datetime, end: datetime) -> bool:
        """Whether the channel was healthy during the whole window."""
        history = self.changes(source, channel, end=end)
        before = [c for c in history if c.at <= start]
        state_at_start = before[-1].to_state if before else None
        return healthy_throughout(history, state_at_start, start, end)


def _load(session: Session, source: str, channel: str) -> SourceHealth | None:
    row = session.fetch_one(
        "SELECT * FROM market_source_health WHERE source = %s AND channel = %s", (source, channel)
    )
    return None if row is None else _health(row)


def _insert_change(session: Session, change: HealthChange) -> None:
    session.execute(
        "INSERT INTO market_source_health_changes (id, source, channel, changed_at, from_state,"
        " to_state, reason) VALUES (%s, %s, %s, %s, %s, %s, %s)",
        (
            str(uuid.uuid4()),
            change.source,
            change.channel,
            to_micros(change.at),
            None if change.from_state is None else change.from_state.value,
            change.to_state.value,
            change.reason,
        ),
    )


def _health(row: dict[str, Any]) -> SourceHealth:
    return SourceHealth(
        source=row["source"],
        channel=row["channel"],
        state=HealthState(row["state"]),
        consecutive_failures=int(row["consecutive_failures"]),
        last_success_at=_at(row["last_success_at"]),
        last_error_at=_at(row["last_error_at"]),
        last_error=row["last_error"],
        last_data_at=_at(row["last_data_at"]),
    )


def _change(row: dict[str, Any]) -> HealthChange:
    return HealthChange(
        source=row["source"],
        channel=row["channel"],
        at=from_micros(row["changed_at"]),
        from_state=None if row["from_state"] is None else HealthState(row["from_state"]),
        to_state=HealthState(row["to_state"]),
        reason=row["reason"],
    )
