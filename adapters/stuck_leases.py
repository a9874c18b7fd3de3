"""Stuck leases: live leases whose holder has stopped beating, found and released.

A lease normally ends by itself: its holder releases it, or it expires after the TTL and
the next claimant takes it over. It is *stuck* when it is still live but its holder shows
no heartbeat for that worker within ``CLASH_WORKER_STALE_AFTER_SECONDS`` (a process that
died holding a long lease, or one hung without beating: ``keep_lease()`` beats as it
renews, so a long item that makes progress never looks stuck). Every runtime's
housekeeping releases stuck leases; the fencing token still refuses the old holder's late
writes. ``clash workers status`` and ``/health/workers`` show them.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from adapters.database import Database
from adapters.heartbeats import HeartbeatStore
from adapters.leases import Lease, LeaseStore


def worker_of(lease: Lease) -> str:
    """The worker a lease key belongs to (keys are ``"<worker>:<item key>"``)."""
    return lease.key.split(":", 1)[0]


def live_leases(database: Database, now: datetime) -> list[Lease]:
    """The leases that exclude other holders at ``now``."""
    return [lease for lease in LeaseStore(database).list_leases() if lease.is_live(now)]


def stuck_leases(database: Database, now: datetime, stale_after: timedelta) -> list[Lease]:
    """Live leases whose holder has not beaten for their worker within ``stale_after``."""
    beats: dict[tuple[str, str], datetime] = {}
    for beat in HeartbeatStore(database).beats():
        key = (beat.worker, beat.holder)
        beats[key] = max(beat.beat_at, beats.get(key, beat.beat_at))
    cutoff = now - stale_after
    return [
        lease
        for lease in live_leases(database, now)
        if lease.acquired_at < cutoff
        and beats.get((worker_of(lease), lease.holder), lease.acquired_at) < cutoff
    ]


def release_stuck_leases(database: Database, now: datetime, stale_after: timedelta) -> list[Lease]:
    """Release every stuck lease (unless its holder renewed it meanwhile); return them."""
    store = LeaseStore(database)
    return [lease for lease in stuck_leases(database, now, stale_after) if store.release(lease)]
