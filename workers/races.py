"""The races worker: schedules a race per cadence slot and moves every race through its states.

Each step catches the races read model up, then yields ``schedule:<slot>`` when the market
clock's slot has no race yet (the race id derives from the slot: two schedulers, or one
restarted mid-race, create it once) and ``race:<id>`` for every unfinished race with a
transition due at the market clock's now. Each step also lets Economy's settlement policy
catch up (payment facts of settled races, refunds of cancelled ones). Items are per race
so the runtime leases, retries and dead-letters each race on its own.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from uuid import UUID

from adapters.bootstrap import Container
from adapters.settlement_policy import SettlementPolicy
from domain.lifecycle.race import race_id_for
from projections.races import RacesProjection, unfinished_races
from projections.runner import ProjectionRunner
from workers.runtime import WorkItem


@dataclass
class RaceWorker:
    """The ``races`` worker."""

    container: Container
    name: str = "races"
    interval: timedelta = timedelta(seconds=1)
    critical: bool = False
    _scheduled: int | None = field(default=None, init=False)

    def pending(self, now: datetime) -> Sequence[WorkItem]:
        """The slot's scheduling (once), and each race with a transition due."""
        _runner(self.container).catch_up()
        settlement_policy(self.container).catch_up()
        desk = self.container.races
        market_now = self.container.market_clock.now()
        items = []
        slot = desk.slot(market_now)
        if slot != self._scheduled:
            items.append(WorkItem(f"schedule:{slot}"))
        for row in unfinished_races(self.container.database):
            race = self.container.lifecycle.find_race(row.race_id)
            if race is not None and desk.due(race, market_now):
                items.append(WorkItem(f"race:{row.race_id}"))
        return items

    def perform(self, item: WorkItem, now: datetime) -> None:
        """Schedule the slot's race, or advance one race."""
        desk = self.container.races
        market_now = self.container.market_clock.now()
        kind, _, value = item.key.partition(":")
        if kind == "schedule":
            slot = int(value)
            if desk.slot(market_now) == slot:
                desk.schedule_due(market_now)
            if self.container.lifecycle.find_race(race_id_for(slot)) is not None:
                self._scheduled = slot  # else: try again while the slot lasts (too few members)
            return
        desk.advance(UUID(value), market_now)


def settlement_policy(container: Container) -> SettlementPolicy:
    """Economy's follower of settled and cancelled races (payment facts, once)."""
    return SettlementPolicy(
        container.database, container.lifecycle, container.economy, container.service_clock.now
    )


def _runner(container: Container) -> ProjectionRunner:
    return ProjectionRunner(
        container.database, container.lifecycle, RacesProjection(), container.service_clock.now
    )
