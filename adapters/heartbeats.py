"""Heartbeats: how an operator (and ``/health/workers``) knows each worker is alive.

Every step of every worker upserts one row per ``(worker, holder)`` in
``worker_heartbeats``: when it last beat, its state (``running``, ``idle``, ``failing``,
``stopped``) and a small JSON detail (counts and the last error). A worker is *stale* when
no holder has beaten recently enough, or when the only recent beat says it stopped.

Several holders of one worker kind can run at once (scale-out over PostgreSQL), so the
"latest" beat of a worker prefers holders that have not stopped: one instance shutting
down must not hide a sibling that is still working. Instants come from the caller's clock.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal, Protocol, cast

from adapters.database import Database, from_micros, to_micros
from adapters.dead_letters import DeadLetterStore

HeartbeatState = Literal["running", "idle", "failing", "stopped"]
HEARTBEAT_STATES: tuple[HeartbeatState, ...] = ("running", "idle", "failing", "stopped")

_BEAT = """
INSERT INTO worker_heartbeats (worker, holder, beat_at, state, detail)
VALUES (%s, %s, %s, %s, %s)
ON CONFLICT (worker, holder) DO UPDATE SET
    beat_at = excluded.beat_at, state = excluded.state, detail = excluded.detail
"""

_ALL = "SELECT worker, holder, beat_at, state, detail FROM worker_heartbeats"

_PRUNE = "DELETE FROM worker_heartbeats WHERE beat_at < %s"


@dataclass(frozen=True)
class Heartbeat:
    """The last sign of life of one holder running one worker."""

    worker: str
    holder: str
    beat_at: datetime
    state: HeartbeatState
    detail: Mapping[str, Any]


def is_stale(beat: Heartbeat | None, now: datetime, max_age: timedelta) -> bool:
    """Return whether ``beat`` fails to show a live worker at ``now``."""
    if beat is None or beat.state == "stopped":
        return True
    return now - beat.beat_at > max_age


class HeartbeatStore:
    """Records and reads ``worker_heartbeats``."""

    def __init__(self, database: Database) -> None:
        self._database = database

    def beat(
        self,
        worker: str,
        holder: str,
        now: datetime,
        state: HeartbeatState,
        detail: Mapping[str, Any],
    ) -> None:
        """Record that ``holder`` runs ``worker`` at ``now`` in ``state``."""
        document = json.dumps(dict(detail), sort_keys=True, default=str)
        with self._database.transaction() as session:
            session.execute(_BEAT, (worker, holder, to_micros(now), state, document))

    def beats(self) -> list[Heartbeat]:
        """Return every recorded beat, by worker then holder."""
        with self._database.transaction(write=False) as session:
            rows = session.fetch_all(_ALL)
        return sorted((_heartbeat(row) for row in rows), key=lambda b: (b.worker, b.holder))

    def latest(self) -> dict[str, Heartbeat]:
        """Return each worker's most telling beat: the newest of a holder not stopped, if any."""
        best: dict[str, Heartbeat] = {}
        for beat in self.beats():
            current = best.get(beat.worker)
            if current is None or _rank(beat) > _rank(current):
                best[beat.worker] = beat
        return best

    def stale_workers(self, names: Sequence[str], now: datetime, max_age: timedelta) -> list[str]:
        """Return those of ``names`` with no live beat within ``max_age`` of ``now``."""
        latest = self.latest()
        return [name for name in names if is_stale(latest.get(name), now, max_age)]

    def prune(self, beaten_before: datetime) -> int:
        """Delete beats older than ``beaten_before`` (holders long gone); return how many."""
        with self._database.transaction() as session:
            return session.execute(_PRUNE, (to_micros(beaten_before),))


def _rank(beat: Heartbeat) -> tuple[bool, datetime]:
    return (beat.state != "stopped", beat.beat_at)


def _heartbeat(row: dict[str, Any]) -> Heartbeat:
    return Heartbeat(
        worker=str(row["worker"]),
        holder=str(row["holder"]),
        beat_at=from_micros(int(row["beat_at"])),
        state=cast("HeartbeatState", row["state"]),
        detail=json.loads(str(row["detail"])),
    )


class MonitoredWorker(Protocol):
    """What health needs to know about a worker: its name and whether it is critical."""

    @property
    def name(self) -> str: ...

    @property
    def critical(self) -> bool: ...


@dataclass(frozen=True)
class WorkerHealth:
    """One worker's health as ``/health/workers`` reports it."""

    name: str
    critical: bool
    holder: str | None
    last_beat_at: datetime | None
    state: HeartbeatState | None
    stale: bool
    open_dead_letters: int
    detail: Mapping[str, Any]


@dataclass(frozen=True)
class WorkersHealth:
    """Every worker's health; ``ok`` unless a critical worker is stale or missing."""

    ok: bool
    checked_at: datetime
    workers: tuple[WorkerHealth, ...]


def worker_health(
    database: Database,
    now: datetime,
    workers: Sequence[MonitoredWorker],
    stale_after: timedelta,
) -> WorkersHealth:
    """Report each worker's last beat, staleness and open dead letters at ``now``."""
    latest = HeartbeatStore(database).latest()
    dead = DeadLetterStore(database).open_counts()
    reports = tuple(
        _worker_health(worker, latest.get(worker.name), now, stale_after, dead)
        for worker in workers
    )
    ok = not any(report.critical and report.stale for report in reports)
    return WorkersHealth(ok=ok, checked_at=now, workers=reports)


def _worker_health(
    worker: MonitoredWorker,
    beat: Heartbeat | None,
    now: datetime,
    stale_after: timedelta,
    dead: Mapping[str, int],
) -> WorkerHealth:
    return WorkerHealth(
        name=worker.name,
        critical=worker.critical,
        holder=None if beat is None else beat.holder,
        last_beat_at=None if beat is None else beat.beat_at,
        state=None if beat is None else beat.state,
        stale=is_stale(beat, now, stale_after),
        open_dead_letters=dead.get(worker.name, 0),
        detail={} if beat is None else beat.detail,
    )
