"""A race's pool settlement rows, recorded by Lifecycle beside the race.

Why a separate aggregate: a race's settlement may hold a row for each of 100,000 tickets;
kept on the race, every read of the race would load them. They are saved in the same
``save()`` as the race's ``RaceSettled`` (which keeps the totals and the digest), so the
race is settled exactly when its rows exist. Economy's settlement policy follows these
events and turns the rows into payment facts.
"""

from __future__ import annotations

from typing import Any, ClassVar
from uuid import UUID, uuid5

from domain.aggregates import ClashAggregate
from domain.lifecycle.race import RACES_NAMESPACE


def pool_settlement_id_for(race_id: UUID) -> UUID:
    """The id of a race's settlement rows."""
    return uuid5(RACES_NAMESPACE, f"pool:{race_id}")


class PoolSettlement(ClashAggregate):
    """Every payout, refund and creator share of one race's pool."""

    TOPIC: ClassVar[str] = "lifecycle.PoolSettlement"

    class Event(ClashAggregate.Event):
        TOPIC = "lifecycle.PoolSettlement.Event"

    class Created(Event, ClashAggregate.Created):
        TOPIC = "lifecycle.PoolSettlement.Created"

    class Recorded(Created):
        TOPIC = "lifecycle.PoolSettlement.Recorded"
        race_id: UUID
        rows: dict[str, Any]

    def __init__(self, *, race_id: UUID, rows: dict[str, Any]) -> None:
        self.race_id, self.rows = race_id, rows

    @classmethod
    def record(cls, race_id: UUID, rows: dict[str, Any]) -> PoolSettlement:
        """Record the rows (once: the id derives from the race)."""
        return cls._create(
            cls.Recorded, id=pool_settlement_id_for(race_id), race_id=race_id, rows=rows
        )


def summary_of(rows: dict[str, Any]) -> dict[str, Any]:
    """The rows without the payments: what the race itself keeps."""
    summary = {key: value for key, value in rows.items() if key != "payments"}
    summary["payments"] = len(rows.get("payments", []))
    return summary
