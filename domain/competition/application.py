"""The competition module's eventsourcing application: Promotion Queue and Arena membership.

Competition facts are stamped by the **market clock** (admissions and departures happen in
market time, as the Arena trades). It owns queue and membership only: the arena accounts
are the ledger's and their bindings the trading module's, reached by the arena worker
(``adapters/arena_cycle.py``), which records each result here.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any, TypeVar
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError

from domain.application import ClashApplication
from domain.competition.admission import FINAL_GATES, Gate
from domain.competition.entry import (
    MEMBER_STATES,
    ArenaEntry,
    EntryNotFound,
    EntryState,
    entry_id_for,
)
from domain.competition.slots import ARENA_ID, ArenaSlots

T = TypeVar("T")


@dataclass(frozen=True)
class Membership:
    """Who holds a slot (entry id -> clone id) and which clones retired from the Arena."""

    members: dict[str, str]
    retired_clones: frozenset[str]

    def holds_clone(self, clone_id: UUID) -> bool:
        """Whether a member entry is of ``clone_id``."""
        return str(clone_id) in self.members.values()


class Competition(ClashApplication):
    """Promotion Queue entries and the Arena's slots."""

    name = "competition"

    def enqueue(
        self,
        audition_id: UUID,
        *,
        run: int,
        user_id: str,
        clone_id: UUID,
        version_id: UUID,
        score: Decimal,
        passed_at: datetime,
        metrics: dict[str, Any],
    ) -> tuple[ArenaEntry, bool]:
        """Queue a passed audition once: ``(entry, created)`` (a repeat returns the entry)."""

        def command() -> tuple[ArenaEntry, bool]:
            found = self.find(entry_id_for(audition_id))
            if found is not None:
                return found, False
            entry = ArenaEntry.enqueue(
                audition_id,
                run=run,
                user_id=user_id,
                clone_id=clone_id,
                version_id=version_id,
                score=score,
                passed_at=passed_at,
                metrics=metrics,
            )
            self.save(entry)
            return entry, True

        return self.run_command(command)

    def find(self, entry_id: UUID) -> ArenaEntry | None:
        """The entry, or ``None``."""
        try:
            found: object = self.repository.get(entry_id)
        except AggregateNotFoundError:
            return None
        return found if isinstance(found, ArenaEntry) else None

    def entry(self, entry_id: UUID) -> ArenaEntry:
        """The entry, or :class:`EntryNotFound`."""
        found = self.find(entry_id)
        if found is None:
            raise EntryNotFound(f"entry={entry_id}")
        return found

    def membership(self) -> Membership:
        """The Arena's members and retired clones as they stand."""
        try:
            found: ArenaSlots = self.repository.get(ARENA_ID)
        except AggregateNotFoundError:
            return Membership({}, frozenset())
        return Membership(dict(found.members), found.retired_clones)

    def change(self, entry_id: UUID, decide: Callable[[ArenaEntry], T]) -> T:
        """Load the entry, apply ``decide``, save what it triggered (retried on races)."""

        def command() -> T:
            entry = self.entry(entry_id)
            result = decide(entry)
            if entry.pending_events:
                self.save(entry)
            return result

        return self.run_command(command)

    def judge(self, entry_id: UUID, gate: Gate | None, detail: str = "") -> ArenaEntry:
        """Record the gate a queued entry fails now; a final one withdraws it."""

        def decide(entry: ArenaEntry) -> ArenaEntry:
            if entry.state is not EntryState.QUEUED:
                return entry
            if gate in FINAL_GATES:
                entry.withdraw(gate.value, detail)
            else:
                entry.gate_failed(None if gate is None else gate.value, detail)
            return entry

        return self.change(entry_id, decide)

    def admit(self, entry_id: UUID, capacity: int) -> bool:
        """Seat a queued entry; ``False`` when it is no longer queued (admitted meanwhile).

        Raises ``ArenaFull`` or ``CloneInArena``; the seating and the entry's admission are
        one save, so racing admissions never overfill the Arena nor seat an entry twice.
        """

        def command() -> bool:
            entry = self.entry(entry_id)
            if entry.state is not EntryState.QUEUED:
                return False
            slots = self._slots_for_update()
            slots.seat(entry.id, entry.clone_id, capacity)
            entry.admit(capacity)
            self.save(slots, entry)
            return True

        return self.run_command(command)

    def leave(self, entry_id: UUID, *, retired: bool, reason: str, by: str) -> ArenaEntry:
        """Take a member out of the Arena (removed, or retired for good); frees its slot."""

        def command() -> ArenaEntry:
            entry = self.entry(entry_id)
            entry.leave(retired=retired, reason=reason, by=by)
            slots = self._slots_for_update()
            slots.vacate(entry.id, retired=retired)
            self.save(entry, slots)
            return entry

        return self.run_command(command)

    def retire_clone(self, clone_id: UUID, *, reason: str, by: str) -> ArenaEntry | None:
        """Arena retirement of a clone, for good (the races' retirement strikes call this).

        Retires the clone's member entry and frees its slot; a clone holding no slot (removed
        meanwhile) is barred all the same. One command: a removal racing it is retried
        against, never lost. Returns the retired entry, or ``None`` when it held no slot.
        """

        def command() -> ArenaEntry | None:
            slots = self._slots_for_update()
            member = next((e for e, c in slots.members.items() if c == str(clone_id)), None)
            if member is None:
                slots.bar(clone_id)
                if slots.pending_events:
                    self.save(slots)
                return None
            entry = self.entry(UUID(member))
            entry.leave(retired=True, reason=reason, by=by)
            slots.vacate(entry.id, retired=True)
            self.save(entry, slots)
            return entry

        return self.run_command(command)

    def members(self) -> list[ArenaEntry]:
        """The entries holding a slot."""
        entries = (self.find(UUID(e)) for e in self.membership().members)
        return [e for e in entries if e is not None and e.state in MEMBER_STATES]

    def _slots_for_update(self) -> ArenaSlots:
        try:
            found: ArenaSlots = self.repository.get(ARENA_ID)
        except AggregateNotFoundError:
            return ArenaSlots.open()
        return found
