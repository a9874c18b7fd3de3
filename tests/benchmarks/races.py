"""Race throughput: what the races worker spends moving races through their states.

``races.advance``: ``entrants`` EMA trend followers hold the Arena; the market is warmed up
for 12 hours (the bundled data's first hours hold decisions as stale), then ``races`` races
of an hour run back to back (cadence 2 hours) while every worker steps at each 5-minute
mark, as ``tests/workers/test_races.py`` runs them. One operation is one race transition
the races worker performed (``RaceWorker.perform`` on a race: launch with its accounts,
pauses and bindings; live; settling with the end-instant snapshots; settlement with the
ranking, strikes and position closes; retirements); scheduling items are not counted.
Figures per kind are in ``by_kind`` (mean milliseconds). Verified: every race settled with a
result per entrant.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any
from uuid import UUID

from tests.benchmarks.auditions import own_store
from tests.workers.audition_kit import audition_world
from tests.workers.race_kit import racer
from workers.arena import ArenaWorker
from workers.races import RaceWorker
from workers.runtime import WorkItem

Measurement = tuple[str, int, float, list[float], dict[str, Any]]
FULL = {"entrants": 8, "races": 3}
QUICK = {"entrants": 2, "races": 1}
VARIANTS = (("BTC", 12, 26), ("ETH", 12, 26), ("SOL", 5, 20), ("BTC", 5, 35))
WARM_UP = 720


@dataclass
class TimedRaceWorker(RaceWorker):
    """The races worker, timing each race transition it performs."""

    seconds: list[tuple[str, float]] = field(default_factory=list)

    def perform(self, item: WorkItem, now: datetime) -> None:
        """Perform as the races worker does; time race items, by the state they left."""
        if not item.key.startswith("race:"):
            super().perform(item, now)
            return
        race = self.container.lifecycle.race(UUID(item.key.removeprefix("race:")))
        started = time.perf_counter()
        super().perform(item, now)
        self.seconds.append((race.state.value, time.perf_counter() - started))


def run(database_url: str, *, quick: bool, workdir: Path) -> Iterator[Measurement]:
    """Run the race figure on a store of its own."""
    sizes = QUICK if quick else FULL
    settings = {
        "arena_capacity": sizes["entrants"],
        "race_entrants": sizes["entrants"],
        "race_cadence_seconds": 7200,
        "race_ticket_window_seconds": 600,
        "race_launch_gap_seconds": 300,
        "race_duration_seconds": 3600,
        "race_retention_seconds": 3600,
    }
    timed: list[TimedRaceWorker] = []

    def worker(container: Any) -> TimedRaceWorker:
        timed.append(TimedRaceWorker(container))
        return timed[-1]

    with (
        own_store(database_url, workdir, "races") as url,
        audition_world(url, extra=(ArenaWorker, worker), settings=settings) as world,
    ):
        world.run(WARM_UP)
        for n in range(sizes["entrants"]):
            asset, fast, slow = VARIANTS[n % len(VARIANTS)]
            racer(world, f"Bench {n}", (asset, fast + n, slow + n), f"1.{n}", revert=n % 2 == 1)
        world.run(sizes["races"] * 120)
        settled = [
            r
            for r in world.client.get("/v1/races?limit=100").json()["data"]
            if r["state"] in ("settled", "archived")
        ]
        if len(settled) < sizes["races"]:
            raise RuntimeError(f"races.advance: settled={len(settled)}")
        for race in settled:
            results = world.client.get(f"/v1/races/{race['id']}").json()["results"]
            if len(results) != sizes["entrants"]:
                raise RuntimeError(f"races.advance: race={race['id']} results={len(results)}")
    seconds = [s for _, s in timed[0].seconds]
    kinds: dict[str, list[float]] = {}
    for kind, spent in timed[0].seconds:
        kinds.setdefault(kind, []).append(spent)
    by_kind = {k: round(sum(v) / len(v) * 1000, 3) for k, v in kinds.items()}
    extra = {"entrants": sizes["entrants"], "races": len(settled), "by_kind": by_kind}
    yield ("races.advance", len(seconds), sum(seconds), seconds, {**extra, "verified": True})
