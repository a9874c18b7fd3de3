"""Retirement strikes: each clone's count, kept across races.

Why an aggregate per clone: a race's settlement adds the strikes its results carry and, in
the same save, learns who reached ``strikes_to_retire`` (struck out: Arena retirement
follows through the competition module). Counts never reset: Arena retirement is for good,
and a clone removed from the Arena that returns through a new audition keeps its record.
"""

from __future__ import annotations

from typing import ClassVar
from uuid import UUID, uuid5

from domain.aggregates import ClashAggregate
from domain.lifecycle.race import RACES_NAMESPACE


def strikes_id_for(clone_id: UUID) -> UUID:
    """The id of a clone's strike record."""
    return uuid5(RACES_NAMESPACE, f"strikes:{clone_id}")


class CloneStrikes(ClashAggregate):
    """A clone's retirement strikes, one per race at most."""

    TOPIC: ClassVar[str] = "lifecycle.CloneStrikes"

    class Event(ClashAggregate.Event):
        TOPIC = "lifecycle.CloneStrikes.Event"

    class Created(Event, ClashAggregate.Created):
        TOPIC = "lifecycle.CloneStrikes.Created"

    class Opened(Created):
        TOPIC = "lifecycle.CloneStrikes.Opened"
        clone_id: UUID

    class Struck(Event):
        TOPIC = "lifecycle.CloneStrikes.Struck"
        race_id: UUID
        reason: str

        def apply(self, aggregate: CloneStrikes) -> None:
            aggregate.races = [*aggregate.races, str(self.race_id)]

    def __init__(self, *, clone_id: UUID) -> None:
        self.clone_id = clone_id
        self.races: list[str] = []

    @classmethod
    def open(cls, clone_id: UUID) -> CloneStrikes:
        """Start a clone's strike record."""
        return cls._create(cls.Opened, id=strikes_id_for(clone_id), clone_id=clone_id)

    @property
    def count(self) -> int:
        """Strikes so far."""
        return len(self.races)

    def strike(self, race_id: UUID, reason: str) -> None:
        """Add the race's strike (once per race)."""
        if str(race_id) not in self.races:
            self.trigger_event(self.Struck, race_id=race_id, reason=reason)
