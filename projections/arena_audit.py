"""The Arena reconciliation: membership folded from the competition log, checked at every step.

Reads the competition and lifecycle logs from the start (never a read model) and checks:

- ``arena_capacity``: after every seating, the members number at most the capacity in
  force when it was made (recorded on ``ArenaSlots.Seated``);
- ``arena_clone_twice``: no seating gives a clone a second slot, and no entry is seated
  twice without leaving in between;
- ``arena_member_origin``: every seated entry was enqueued from an audition that Lifecycle
  recorded as passed, for the same clone and version the entry pins;
- ``arena_retired_returned``: no clone is seated after its Arena retirement.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

from domain.application import ClashApplication
from domain.competition.entry import ArenaEntry
from domain.competition.slots import ArenaSlots
from domain.lifecycle.audition import Audition

PAGE = 1000


@dataclass(frozen=True)
class ArenaBreach:
    """One broken invariant: its kind, the ids involved, what was found."""

    kind: str
    ids: tuple[str, ...]
    detail: str


@dataclass(frozen=True)
class ArenaAuditReport:
    """How many seatings and entries the audit read, and the breaches."""

    seatings: int
    entries: int
    breaches: tuple[ArenaBreach, ...]

    @property
    def ok(self) -> bool:
        """Whether every invariant holds."""
        return not self.breaches


@dataclass
class _Passes:
    submitted: dict[UUID, tuple[UUID, UUID]] = field(default_factory=dict)
    passed: set[UUID] = field(default_factory=set)


def audit_arena(competition: ClashApplication, lifecycle: ClashApplication) -> ArenaAuditReport:
    """Fold both logs and check the Arena's invariants at every seating."""
    passes = _Passes()
    for event in _events(lifecycle):
        if isinstance(event, Audition.Submitted):
            passes.submitted[event.originator_id] = (event.clone_id, event.version_id)
        elif isinstance(event, Audition.AuditionPassed):
            passes.passed.add(event.originator_id)
    entries: dict[UUID, ArenaEntry.Enqueued] = {}
    members: dict[UUID, UUID] = {}
    retired: set[UUID] = set()
    breaches: list[ArenaBreach] = []
    seatings = 0
    for event in _events(competition):
        if isinstance(event, ArenaEntry.Enqueued):
            entries[event.originator_id] = event
        elif isinstance(event, ArenaSlots.Seated):
            seatings += 1
            breaches += _seated(event, members, entries, passes)
            if event.clone_id in retired:
                detail = f"clone={event.clone_id} seated after its Arena retirement"
                ids = (str(event.entry_id),)
                breaches.append(ArenaBreach("arena_retired_returned", ids, detail))
            members[event.entry_id] = event.clone_id
        elif isinstance(event, ArenaSlots.Vacated):
            members.pop(event.entry_id, None)
            if event.retired:
                retired.add(event.clone_id)
        elif isinstance(event, ArenaSlots.CloneBarred):
            retired.add(event.clone_id)
    return ArenaAuditReport(seatings, len(entries), tuple(breaches))


def _seated(
    event: ArenaSlots.Seated,
    members: dict[UUID, UUID],
    entries: dict[UUID, ArenaEntry.Enqueued],
    passes: _Passes,
) -> list[ArenaBreach]:
    found: list[ArenaBreach] = []
    entry = str(event.entry_id)
    if event.entry_id in members or event.clone_id in members.values():
        detail = f"clone={event.clone_id} seated while it holds a slot"
        found.append(ArenaBreach("arena_clone_twice", (entry,), detail))
    if len(members) + 1 > event.capacity:
        detail = f"members={len(members) + 1} > capacity={event.capacity}"
        found.append(ArenaBreach("arena_capacity", (entry,), detail))
    enqueued = entries.get(event.entry_id)
    if enqueued is None:
        found.append(ArenaBreach("arena_member_origin", (entry,), "seated but never enqueued"))
        return found
    audition = enqueued.audition_id
    pinned = (enqueued.clone_id, enqueued.version_id)
    if audition not in passes.passed or passes.submitted.get(audition) != pinned:
        detail = f"audition={audition} is not a pass of clone={pinned[0]} version={pinned[1]}"
        found.append(ArenaBreach("arena_member_origin", (entry, str(audition)), detail))
    return found


def _events(application: ClashApplication) -> Iterator[Any]:
    position = 0
    while batch := application.recorder.select_notifications(
        start=position, limit=PAGE, inclusive_of_start=False
    ):
        for notification in batch:
            yield application.mapper.to_domain_event(notification)
        position = batch[-1].id
