"""The Arena's slots: who holds one, as one aggregate, so capacity is a consistency rule.

Why one aggregate: "members never exceed capacity" and "one clone holds at most one slot"
are rules across entries. Seating an entry changes this aggregate and the entry in one
``save()``; two admissions racing for the last slot both load the same version of
:class:`ArenaSlots`, and the second save fails optimistic concurrency (the application
retries it against the new state, where the Arena is full). The capacity is configuration,
handed in per admission and recorded on the event; lowering it seats nobody until members
leave, it never evicts.
"""

from __future__ import annotations

from typing import ClassVar
from uuid import UUID, uuid5

from domain.aggregates import ClashAggregate
from domain.competition.entry import COMPETITION_NAMESPACE, CompetitionError

ARENA_ID = uuid5(COMPETITION_NAMESPACE, "arena")


class ArenaFull(CompetitionError):
    """Raised when every slot is taken."""

    reason = "arena_full"


class CloneInArena(CompetitionError):
    """Raised when the entry's clone already holds a slot."""

    reason = "clone_in_arena"


class ArenaRetired(CompetitionError):
    """Raised when the entry's clone was retired from the Arena (for good)."""

    reason = "arena_retired"


class ArenaSlots(ClashAggregate):
    """The members of the Arena: entry id -> clone id."""

    TOPIC: ClassVar[str] = "competition.ArenaSlots"

    class Event(ClashAggregate.Event):
        TOPIC = "competition.ArenaSlots.Event"

    class Created(Event, ClashAggregate.Created):
        TOPIC = "competition.ArenaSlots.Created"

    class Opened(Created):
        TOPIC = "competition.ArenaSlots.Opened"

    class Seated(Event):
        TOPIC = "competition.ArenaSlots.Seated"
        entry_id: UUID
        clone_id: UUID
        capacity: int

        def apply(self, aggregate: ArenaSlots) -> None:
            aggregate.members = {**aggregate.members, str(self.entry_id): str(self.clone_id)}

    class Vacated(Event):
        TOPIC = "competition.ArenaSlots.Vacated"
        entry_id: UUID
        clone_id: UUID
        retired: bool

        def apply(self, aggregate: ArenaSlots) -> None:
            aggregate.members = {
                e: c for e, c in aggregate.members.items() if e != str(self.entry_id)
            }
            if self.retired:
                aggregate.retired_clones = aggregate.retired_clones | {str(self.clone_id)}

    class CloneBarred(Event):
        TOPIC = "competition.ArenaSlots.CloneBarred"
        clone_id: UUID

        def apply(self, aggregate: ArenaSlots) -> None:
            aggregate.retired_clones = aggregate.retired_clones | {str(self.clone_id)}

    def __init__(self) -> None:
        self.members: dict[str, str] = {}
        self.retired_clones: frozenset[str] = frozenset()

    @classmethod
    def open(cls) -> ArenaSlots:
        """The Arena with no member yet (one per deployment)."""
        return cls._create(cls.Opened, id=ARENA_ID)

    def holds_clone(self, clone_id: UUID) -> bool:
        """Whether a member entry is of ``clone_id``."""
        return str(clone_id) in self.members.values()

    def seat(self, entry_id: UUID, clone_id: UUID, capacity: int) -> None:
        """Give ``entry_id`` a slot; raises ArenaFull or CloneInArena."""
        if str(entry_id) in self.members:
            return
        if self.arena_retired(clone_id):
            raise ArenaRetired(f"clone={clone_id}")
        if len(self.members) >= capacity:
            raise ArenaFull(f"members={len(self.members)} capacity={capacity}")
        if self.holds_clone(clone_id):
            raise CloneInArena(f"clone={clone_id}")
        self.trigger_event(self.Seated, entry_id=entry_id, clone_id=clone_id, capacity=capacity)

    def vacate(self, entry_id: UUID, *, retired: bool) -> None:
        """Free the entry's slot (nothing when it holds none); retired: its clone for good."""
        clone = self.members.get(str(entry_id))
        if clone is not None:
            self.trigger_event(
                self.Vacated, entry_id=entry_id, clone_id=UUID(clone), retired=retired
            )

    def bar(self, clone_id: UUID) -> None:
        """Retire a clone that holds no slot from the Arena for good (struck out meanwhile)."""
        if not self.arena_retired(clone_id):
            self.trigger_event(self.CloneBarred, clone_id=clone_id)

    def arena_retired(self, clone_id: UUID) -> bool:
        """Whether the clone was retired from the Arena (it never comes back)."""
        return str(clone_id) in self.retired_clones
