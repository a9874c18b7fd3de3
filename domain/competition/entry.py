"""An Arena entry: one passed audition's way through the Promotion Queue into the Arena.

Why one aggregate per passed audition: the promotion policy enqueues each pass exactly once
because the entry's id derives from the audition (:func:`entry_id_for`); a second delivery
of the same ``AuditionPassed`` finds the entry and does nothing. The entry pins the clone
version that passed: that version, and no later one, trades in the Arena (a new version
needs a new audition, hence a new entry).

States, in order:

- ``queued``: waiting for a slot; ``gate`` names the admission gate it fails, if any (it
  stays queued and is checked again each cycle);
- ``admitted``: holds a slot (:class:`~domain.competition.slots.ArenaSlots` seated it in the
  same save); the steps ``account`` (open its arena-mode prop account) and ``bind`` (bind
  that account to the pinned version) follow, driven by the arena worker;
- ``active``: trading in the Arena;
- ``removed`` (an admin took it out; the clone may come back through a new audition),
  ``retired`` (Arena retirement: out for good, kept for careers and the Hall of Fame) or
  ``withdrawn`` (left the queue on a final gate failure, such as moderation retirement).
  A removed or retired entry that had an account has the step ``stop`` (unbind, close)
  until its trading is stopped.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any, ClassVar
from uuid import UUID, uuid5

from domain.aggregates import ClashAggregate

COMPETITION_NAMESPACE = UUID("4a7b1f0e-93c2-5d6e-a8f1-2b3c4d5e6f70")


class CompetitionError(Exception):
    """Root of every competition error; ``reason`` is stable."""

    reason = "competition_error"

    def __init__(self, detail: str = "") -> None:
        super().__init__(detail or self.reason)
        self.detail = detail


class EntryNotFound(CompetitionError):
    """Raised when an entry id names no Arena entry."""

    reason = "entry_not_found"


class EntryConflict(CompetitionError):
    """Raised when a command does not fit the entry's state (remove a queued entry...)."""

    reason = "entry_conflict"


class EntryState(StrEnum):
    """Where an entry stands."""

    QUEUED = "queued"
    ADMITTED = "admitted"
    ACTIVE = "active"
    REMOVED = "removed"
    RETIRED = "retired"
    WITHDRAWN = "withdrawn"


MEMBER_STATES = frozenset({EntryState.ADMITTED, EntryState.ACTIVE})
LEFT_STATES = frozenset({EntryState.REMOVED, EntryState.RETIRED})


class EntryStep(StrEnum):
    """The process steps of an admitted or departed entry."""

    ACCOUNT = "account"
    BIND = "bind"
    STOP = "stop"


def entry_id_for(audition_id: UUID) -> UUID:
    """The id of the Arena entry a passed audition makes."""
    return uuid5(COMPETITION_NAMESPACE, f"entry:{audition_id}")


def account_cause(entry_id: UUID) -> str:
    """The cause an entry's arena account is opened for (its id derives from it)."""
    return f"arena:{entry_id}"


class ArenaEntry(ClashAggregate):
    """A passed audition in the Promotion Queue, then in the Arena."""

    TOPIC: ClassVar[str] = "competition.ArenaEntry"

    class Event(ClashAggregate.Event):
        TOPIC = "competition.ArenaEntry.Event"

    class Created(Event, ClashAggregate.Created):
        TOPIC = "competition.ArenaEntry.Created"

    class Enqueued(Created):
        TOPIC = "competition.ArenaEntry.Enqueued"
        audition_id: UUID
        run: int
        user_id: str
        clone_id: UUID
        version_id: UUID
        score: Decimal
        passed_at: datetime
        metrics: dict[str, Any]

    class GateChanged(Event):
        TOPIC = "competition.ArenaEntry.GateChanged"
        gate: str | None
        detail: str

        def apply(self, aggregate: ArenaEntry) -> None:
            aggregate.gate = self.gate

    class Withdrawn(Event):
        TOPIC = "competition.ArenaEntry.Withdrawn"
        gate: str
        detail: str

        def apply(self, aggregate: ArenaEntry) -> None:
            aggregate.state, aggregate.gate = EntryState.WITHDRAWN, self.gate
            aggregate.reason = self.detail

    class Admitted(Event):
        TOPIC = "competition.ArenaEntry.Admitted"
        capacity: int

        def apply(self, aggregate: ArenaEntry) -> None:
            aggregate.state, aggregate.gate = EntryState.ADMITTED, None
            aggregate.admitted_at = self.timestamp

    class AccountOpened(Event):
        TOPIC = "competition.ArenaEntry.AccountOpened"
        account_id: UUID

        def apply(self, aggregate: ArenaEntry) -> None:
            aggregate.account_id = self.account_id

    class Activated(Event):
        TOPIC = "competition.ArenaEntry.Activated"
        started_at: datetime

        def apply(self, aggregate: ArenaEntry) -> None:
            aggregate.state = EntryState.ACTIVE

    class Left(Event):
        TOPIC = "competition.ArenaEntry.Left"
        retired: bool
        reason: str
        by: str

        def apply(self, aggregate: ArenaEntry) -> None:
            aggregate.state = EntryState.RETIRED if self.retired else EntryState.REMOVED
            aggregate.reason, aggregate.left_at = self.reason, self.timestamp

    class TradingStopped(Event):
        TOPIC = "competition.ArenaEntry.TradingStopped"

        def apply(self, aggregate: ArenaEntry) -> None:
            aggregate.stopped = True

    def __init__(
        self,
        *,
        audition_id: UUID,
        run: int,
        user_id: str,
        clone_id: UUID,
        version_id: UUID,
        score: Decimal,
        passed_at: datetime,
        metrics: dict[str, Any],
    ) -> None:
        self.audition_id, self.run, self.user_id = audition_id, run, user_id
        self.clone_id, self.version_id = clone_id, version_id
        self.score, self.passed_at, self.metrics = score, passed_at, metrics
        self.state = EntryState.QUEUED
        self.gate: str | None = None
        self.reason: str | None = None
        self.account_id: UUID | None = None
        self.admitted_at: datetime | None = None
        self.left_at: datetime | None = None
        self.stopped = False

    @classmethod
    def enqueue(cls, audition_id: UUID, **values: Any) -> ArenaEntry:
        """Queue a passed audition (the entry id derives from it)."""
        return cls._create(
            cls.Enqueued, id=entry_id_for(audition_id), audition_id=audition_id, **values
        )

    @property
    def step(self) -> EntryStep | None:
        """The next process step, or ``None``."""
        if self.state is EntryState.ADMITTED:
            return EntryStep.ACCOUNT if self.account_id is None else EntryStep.BIND
        if self.state in LEFT_STATES and self.account_id is not None and not self.stopped:
            return EntryStep.STOP
        return None

    def gate_failed(self, gate: str | None, detail: str = "") -> None:
        """Record the gate a queued entry now fails (``None``: it passes them all)."""
        self._require(EntryState.QUEUED)
        if gate != self.gate:
            self.trigger_event(self.GateChanged, gate=gate, detail=detail[:500])

    def withdraw(self, gate: str, detail: str) -> None:
        """Leave the queue for good: a gate failure that cannot heal."""
        self._require(EntryState.QUEUED)
        self.trigger_event(self.Withdrawn, gate=gate, detail=detail[:500])

    def admit(self, capacity: int) -> None:
        """Take the slot the Arena seated this entry in (saved with the seating)."""
        self._require(EntryState.QUEUED)
        self.trigger_event(self.Admitted, capacity=capacity)

    def open_account(self, account_id: UUID) -> None:
        """Record the entry's arena account."""
        if self.step is not EntryStep.ACCOUNT:
            raise EntryConflict(f"entry={self.id} step={self.step}")
        self.trigger_event(self.AccountOpened, account_id=account_id)

    def activate(self, started_at: datetime) -> None:
        """Record that the arena account trades the pinned version."""
        if self.step is not EntryStep.BIND:
            raise EntryConflict(f"entry={self.id} step={self.step}")
        self.trigger_event(self.Activated, started_at=started_at)

    def leave(self, *, retired: bool, reason: str, by: str) -> None:
        """Leave the Arena: removed (may come back by a new audition) or retired (for good)."""
        if self.state not in MEMBER_STATES:
            raise EntryConflict(f"entry={self.id} state={self.state.value}")
        self.trigger_event(self.Left, retired=retired, reason=reason[:500], by=by)

    def stop_trading(self) -> None:
        """Record that the departed entry's account no longer trades."""
        if self.step is not EntryStep.STOP:
            raise EntryConflict(f"entry={self.id} step={self.step}")
        self.trigger_event(self.TradingStopped)

    def _require(self, state: EntryState) -> None:
        if self.state is not state:
            raise EntryConflict(f"entry={self.id} state={self.state.value}")
