"""Arena throughput: the promotion policy and the admission cycle.

- ``arena.policy``: ``passes`` passed auditions recorded through the lifecycle API
  (``tests/api/arena_kit.passed_audition``, untimed), then one promotion policy catches up
  with the lifecycle log (timed). One operation is one pass enqueued; latency = one page
  of the log (500 notifications). Verified: every pass has exactly one queue entry.
- ``arena.cycle``: the queue those passes made (each clone with a published profile),
  ``capacity`` slots; ``cycles`` admission cycles, each after the read model caught up
  (untimed). The first cycle judges every gate, admits ``capacity`` entries and opens and
  binds their accounts; later ones judge the gates of the rest (the Arena is full). One
  operation is one cycle; latency = one cycle. Verified: members = capacity, the audit ok.

On the run's store, with settings of its own (the competition and lifecycle tables are
new to it; other figures' rows do not interfere).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from adapters.bootstrap import Container, bootstrap
from adapters.promotion_policy import PromotionPolicy
from adapters.settings import Settings
from domain.clock import SimulatedClock
from projections.arena import queue
from projections.arena_audit import audit_arena
from tests.api.arena_kit import a_clone, passed_audition
from workers.arena import catch_up

Measurement = tuple[str, int, float, list[float], dict[str, Any]]
FULL = {"passes": 200, "capacity": 8, "cycles": 10}
QUICK = {"passes": 6, "capacity": 2, "cycles": 2}
REAL = datetime(2026, 12, 1, tzinfo=UTC)


def run(database_url: str, schema: str, *, quick: bool, workdir: Path) -> Iterator[Measurement]:
    """Run the Arena figures on the run's store."""
    sizes = QUICK if quick else FULL
    settings = Settings(
        database_url=database_url,
        postgres_schema=schema,
        artifact_dir=str(workdir / "arena-artifacts"),
        arena_capacity=sizes["capacity"],
        log_json=False,
    )
    container = bootstrap(settings, service_clock=SimulatedClock(REAL))
    try:
        yield policy(container, sizes)
        yield cycles(container, sizes)
    finally:
        container.close()


def policy(container: Container, sizes: dict[str, int]) -> Measurement:
    """Record the passes, then time one policy's catch-up over them."""
    for n in range(sizes["passes"]):
        passed_audition(container, a_clone(container, f"Bench {n}"), f"{n % 97}.{n}")
    latencies: list[float] = []
    runner = PromotionPolicy(
        container.database, container.lifecycle, container.competition, container.service_clock.now
    )
    enqueued = 0
    started = time.perf_counter()
    while True:
        page_started = time.perf_counter()
        done = runner.catch_up(limit=500)
        latencies.append(time.perf_counter() - page_started)
        enqueued += done
        if runner.position() >= (container.lifecycle.recorder.max_notification_id() or 0):
            break
    seconds = time.perf_counter() - started
    catch_up(container)
    entries = len(queue(container.database))
    if enqueued != sizes["passes"] or entries != sizes["passes"]:
        raise RuntimeError(f"arena.policy: enqueued={enqueued} queued={entries}")
    return ("arena.policy", enqueued, seconds, latencies, {"verified": True})


def cycles(container: Container, sizes: dict[str, int]) -> Measurement:
    """Time ``cycles`` admission cycles over the queue."""
    latencies: list[float] = []
    for _ in range(sizes["cycles"]):
        catch_up(container)
        started = time.perf_counter()
        container.arena.run()
        latencies.append(time.perf_counter() - started)
    members = len(container.competition.membership().members)
    ok = audit_arena(container.competition, container.lifecycle).ok
    if members != sizes["capacity"] or not ok:
        raise RuntimeError(f"arena.cycle: members={members} audit_ok={ok}")
    extra = {"queued": sizes["passes"], "capacity": sizes["capacity"], "verified": True}
    return ("arena.cycle", len(latencies), sum(latencies), latencies, extra)
