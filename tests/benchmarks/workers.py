"""Worker runtime throughput: what the per-item bookkeeping of ``Runtime.step`` costs.

Every item a worker performs pays a fixed toll before and after its own work: a due check
against the dead letters, a lease claim (one upsert), a second due check under the lease,
clearing the item's dead letter and releasing the lease, each in its own transaction. A
worker with many small items is bounded by that toll, not by its ``perform``, so it is
measured here with a ``perform`` that does nothing.

Two figures per backend:

- ``workers.step_items``: items per second through ``Runtime.step`` of a worker whose
  ``pending`` returns K items; the latency of one item is the gap between two consecutive
  ``perform`` calls (the whole toll of the item that follows). A warm-up step runs first,
  so the lease rows exist and every timed claim is the steady-state update, not an insert.
- ``workers.lease_claim``: ``LeaseStore.claim`` alone, sequentially, one fresh key per call
  (the insert path), the cheapest write the runtime makes.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from adapters.clocks import SystemClock
from adapters.database import Database, open_database
from adapters.leases import LeaseStore
from adapters.migrations import migrate
from workers.runtime import Runtime, WorkItem

# (name, operations, seconds, latencies in seconds): __main__ turns these into figures.
Measurement = tuple[str, int, float, list[float]]
LEASE_TTL = timedelta(seconds=30)


@dataclass(frozen=True)
class Sizes:
    """How much work each worker figure measures."""

    items_per_step: int
    steps: int
    lease_claims: int


FULL = Sizes(items_per_step=200, steps=5, lease_claims=1000)
QUICK = Sizes(items_per_step=10, steps=2, lease_claims=20)


@dataclass
class NullWorker:
    """A worker with ``count`` pending items whose ``perform`` only notes when it ran."""

    count: int
    name: str = "bench-null"
    interval: timedelta = timedelta(minutes=1)
    critical: bool = False
    performed_at: list[float] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._items = [WorkItem(key=f"item-{i}") for i in range(self.count)]

    def pending(self, now: datetime) -> Sequence[WorkItem]:
        """Return the same ``count`` items every step."""
        return self._items

    def perform(self, item: WorkItem, now: datetime) -> None:
        """Do nothing but record the instant (the gap between two is one item's toll)."""
        self.performed_at.append(time.perf_counter())


def run(database_url: str, schema: str, *, quick: bool) -> list[Measurement]:
    """Run both worker figures against one migrated database."""
    sizes = QUICK if quick else FULL
    database = open_database(database_url, schema=schema)
    try:
        migrate(database)
        return [step_items(database, sizes), lease_claims(database, sizes)]
    finally:
        database.close()


def step_items(database: Database, sizes: Sizes) -> Measurement:
    """Items per second through ``Runtime.step`` (after one untimed warm-up step)."""
    runtime = Runtime(database, SystemClock(), holder=f"bench-{uuid.uuid4().hex[:8]}")
    worker = NullWorker(sizes.items_per_step)
    _checked_step(runtime, worker)
    seconds, gaps = 0.0, []
    for _ in range(sizes.steps):
        worker.performed_at.clear()
        started = time.perf_counter()
        _checked_step(runtime, worker)
        seconds += time.perf_counter() - started
        gaps += [b - a for a, b in zip(worker.performed_at, worker.performed_at[1:], strict=False)]
    return ("workers.step_items", sizes.items_per_step * sizes.steps, seconds, gaps)


def _checked_step(runtime: Runtime, worker: NullWorker) -> None:
    report = runtime.step(worker)
    if len(report.done) != worker.count:
        raise RuntimeError(f"step did {len(report.done)} of {worker.count} items: {report}")


def lease_claims(database: Database, sizes: Sizes) -> Measurement:
    """Sequential ``LeaseStore.claim`` calls, each for a key never claimed before."""
    leases, clock, run_id = LeaseStore(database), SystemClock(), uuid.uuid4().hex[:8]
    latencies = []
    for i in range(sizes.lease_claims):
        started = time.perf_counter()
        lease = leases.claim(f"bench:{run_id}:{i}", "bench", LEASE_TTL, clock.now())
        latencies.append(time.perf_counter() - started)
        if lease is None:
            raise RuntimeError(f"a fresh key was refused: bench:{run_id}:{i}")
    return ("workers.lease_claim", sizes.lease_claims, sum(latencies), latencies)
