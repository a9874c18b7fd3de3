"""Audition throughput: how many running auditions one auditions worker keeps judged.

Running auditions cost one *check* per audition per worker pass: load the audition, read
the run's checkpoint, load the prop account and its new fills, value it at each mark instant
since the last check, fold, write the checkpoint (and, rarely, a verdict). The figure is
measured end to end on the real stores, on the replay feed of the bundled candles, as
``tests/workers/test_auditions.py`` runs it (the same world: ``tests/workers/audition_kit``):

- ``auditions.checks``: ``auditions`` paid auditions of EMA-crossover clones (one clone
  each, starter rules with a 30-day window, so none ends), submitted over HTTP and started
  by the worker; then, for ``hours`` of market time, each driver step advances the market
  5 minutes and steps the feed, the trading worker, the mark worker and the auditions worker.
  One operation is one audition's ``perform`` in a step (process check + evaluation of the
  new mark); seconds = the sum of those performs; latency = one perform. Verified
  afterwards: every audition is still running and its checkpoint reached the last mark.

The benchmark builds its own store (a SQLite file in the scratch directory, or a PostgreSQL
schema of its own, dropped at the end), so the replay feed starts at the data's start.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql

from tests.workers.audition_kit import AuditionWorld, audition_world
from workers.auditions import AuditionWorker
from workers.runtime import WorkItem

Measurement = tuple[str, int, float, list[float], dict[str, Any]]
FULL = {"auditions": 20, "hours": 6}
QUICK = {"auditions": 2, "hours": 1}
RULES = {"starter": {"deadline_seconds": 30 * 86400}}


@dataclass
class TimedAuditionWorker(AuditionWorker):
    """The auditions worker, noting how long each audition's ``perform`` took."""

    seconds: list[float] = field(default_factory=list)

    def perform(self, item: WorkItem, now: datetime) -> None:
        """Perform as the auditions worker does; record the wall time."""
        started = time.perf_counter()
        super().perform(item, now)
        self.seconds.append(time.perf_counter() - started)


def run(database_url: str, *, quick: bool, workdir: Path) -> Iterator[Measurement]:
    """Run the audition figure on a store of its own."""
    sizes = QUICK if quick else FULL
    with own_store(database_url, workdir) as url, audition_world(url, **RULES) as world:
        yield checks(world, sizes)


def checks(world: AuditionWorld, sizes: dict[str, int]) -> Measurement:
    """Submit the auditions, start them, then time the checks over ``hours``."""
    ids = [world.paid_audition(nonce=n + 1)["audition_id"] for n in range(sizes["auditions"])]
    timed = _timed_worker(world)
    world.run(5)  # untimed: every process steps to running
    timed.seconds.clear()
    world.run(sizes["hours"] * 60)
    states = {world.audition(i).json()["state"] for i in ids}
    checkpoints = [
        world.world.container.audition_evaluation.checks.get(uuid.UUID(i), 1) for i in ids
    ]
    last = world.world.container.market_clock.now()
    verified = states == {"running"} and all(
        c is not None and c.checked_at == last for c in checkpoints
    )
    if not verified:
        raise RuntimeError(f"auditions.checks: states={states} last={last}")
    extra = {"auditions": sizes["auditions"], "market_hours": sizes["hours"], "verified": True}
    return ("auditions.checks", len(timed.seconds), sum(timed.seconds), timed.seconds, extra)


def _timed_worker(world: AuditionWorld) -> TimedAuditionWorker:
    """Swap the world's auditions worker for a timed one (the last worker of the driver)."""
    driver = world.world.both
    timed = TimedAuditionWorker(world.world.container)
    workers = list(driver._workers)
    workers[-1] = timed
    driver._workers = tuple(workers)
    return timed


@contextmanager
def own_store(database_url: str, workdir: Path, name: str = "auditions") -> Iterator[str]:
    """A fresh store beside the run's: a SQLite file, or a PostgreSQL schema of its own."""
    if not database_url.startswith("postgresql"):
        yield f"sqlite:///{workdir}/{name}-{uuid.uuid4().hex[:8]}.db"
        return
    schema = f"bench_{name[:6]}_{uuid.uuid4().hex[:10]}"
    _postgres(database_url, sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(schema)))
    try:
        yield f"{database_url}?schema={schema}"
    finally:
        drop = sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(schema))
        _postgres(database_url, drop)


def _postgres(url: str, statement: sql.Composed) -> None:
    with psycopg.connect(url, autocommit=True, connect_timeout=5) as conn:
        conn.execute(statement)
