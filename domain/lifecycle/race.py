"""The race aggregate: accumulating -> launched -> live -> settling -> settled -> archived.

Why these states (issue 9): tickets accumulate while the race waits for its ticket window to
close; at launch every entrant gets an equal race-mode prop account bound to its pinned
version for exactly the race window (its Arena binding paused for that window); the race
is live while the window is open; settling once the results are final (snapshots at the end
instant); settled when the results (and, next issue, the money) are recorded; archived after
the retention. ``cancelled`` is reachable from accumulating and launched only. Every
transition is a command that checks the state (``RaceTransitionRefused`` otherwise) and the
market time (``RaceNotDue`` before its instant); the events are stamped by the market clock.

The race's id derives from its cadence slot (:func:`race_id_for`), so two schedulers never
create two races for one slot. The configuration is frozen on ``Scheduled``.

Cross-module work (opening accounts, binding, pausing, unbinding, retiring) is done by the
races worker (``adapters/race_process.py``) *before* the event that records it, with ids
derived from the race and entry, so a repeat after a crash finds its earlier effect.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any, ClassVar
from uuid import UUID, uuid5

from domain.aggregates import ClashAggregate
from domain.lifecycle.audition_rules import AuditionError
from domain.lifecycle.race_config import RaceConfig

RACES_NAMESPACE = UUID("2f8d1c4b-6e7a-5b39-9c0d-1e2f3a4b5c6d")


class RaceState(StrEnum):
    """Where a race stands."""

    ACCUMULATING = "accumulating"
    LAUNCHED = "launched"
    LIVE = "live"
    SETTLING = "settling"
    SETTLED = "settled"
    ARCHIVED = "archived"
    CANCELLED = "cancelled"


class RaceNotFound(AuditionError):
    """Raised when a race id names no race."""

    reason = "race_not_found"


class RaceTransitionRefused(AuditionError):
    """Raised when a transition is not legal from the race's state."""

    reason = "race_transition_refused"


class RaceNotDue(AuditionError):
    """Raised when a transition is asked for before its instant."""

    reason = "race_not_due"


def race_id_for(slot: int) -> UUID:
    """The id of the race of cadence slot ``slot``."""
    return uuid5(RACES_NAMESPACE, f"race:{slot}")


def race_account_cause(race_id: UUID, entry_id: str) -> str:
    """The cause an entrant's race account is opened for (its id derives from it)."""
    return f"race:{race_id}:{entry_id}"


class Race(ClashAggregate):
    """One race between Arena members."""

    TOPIC: ClassVar[str] = "lifecycle.Race"

    class Event(ClashAggregate.Event):
        TOPIC = "lifecycle.Race.Event"

    class Created(Event, ClashAggregate.Created):
        TOPIC = "lifecycle.Race.Created"

    class Scheduled(Created):
        TOPIC = "lifecycle.Race.Scheduled"
        slot: int
        config: dict[str, Any]
        candidates: list[str]
        entrants: list[dict[str, Any]]
        launch_at: datetime
        live_at: datetime
        ends_at: datetime

    class EntrantDropped(Event):
        TOPIC = "lifecycle.Race.EntrantDropped"
        entry_id: str
        reason: str

        def apply(self, aggregate: Race) -> None:
            aggregate.entrants = [e for e in aggregate.entrants if e["entry_id"] != self.entry_id]

    class Launched(Event):
        TOPIC = "lifecycle.Race.Launched"
        accounts: dict[str, str]

        def apply(self, aggregate: Race) -> None:
            aggregate.state = RaceState.LAUNCHED
            aggregate.accounts = dict(self.accounts)

    class WentLive(Event):
        TOPIC = "lifecycle.Race.WentLive"

        def apply(self, aggregate: Race) -> None:
            aggregate.state = RaceState.LIVE

    class SettlingStarted(Event):
        TOPIC = "lifecycle.Race.SettlingStarted"
        snapshots: list[dict[str, Any]]

        def apply(self, aggregate: Race) -> None:
            aggregate.state = RaceState.SETTLING
            aggregate.snapshots = list(self.snapshots)

    class RaceSettled(Event):
        TOPIC = "lifecycle.Race.RaceSettled"
        results: list[dict[str, Any]]
        struck_out: list[str]
        settlement: dict[str, Any]

        def apply(self, aggregate: Race) -> None:
            aggregate.state = RaceState.SETTLED
            aggregate.results = list(self.results)
            aggregate.struck_out = list(self.struck_out)
            aggregate.settlement = dict(self.settlement)
            aggregate.settled_at = self.timestamp

    class RetirementsApplied(Event):
        TOPIC = "lifecycle.Race.RetirementsApplied"
        retired: list[str]

        def apply(self, aggregate: Race) -> None:
            aggregate.retirements_done = True

    class Archived(Event):
        TOPIC = "lifecycle.Race.Archived"

        def apply(self, aggregate: Race) -> None:
            aggregate.state = RaceState.ARCHIVED

    class RaceCancelled(Event):
        TOPIC = "lifecycle.Race.RaceCancelled"
        reason: str
        by: str
        was: str

        def apply(self, aggregate: Race) -> None:
            aggregate.state = RaceState.CANCELLED
            aggregate.reason = self.reason
            aggregate.unwound = self.was == RaceState.ACCUMULATING.value

    class CancellationUnwound(Event):
        TOPIC = "lifecycle.Race.CancellationUnwound"

        def apply(self, aggregate: Race) -> None:
            aggregate.unwound = True

    def __init__(
        self,
        *,
        slot: int,
        config: dict[str, Any],
        candidates: list[str],
        entrants: list[dict[str, Any]],
        launch_at: datetime,
        live_at: datetime,
        ends_at: datetime,
    ) -> None:
        self.slot, self.config_document, self.candidates = slot, config, candidates
        self.entrants = list(entrants)
        self.launch_at, self.live_at, self.ends_at = launch_at, live_at, ends_at
        self.state = RaceState.ACCUMULATING
        self.accounts: dict[str, str] = {}
        self.snapshots: list[dict[str, Any]] = []
        self.results: list[dict[str, Any]] = []
        self.struck_out: list[str] = []
        self.settlement: dict[str, Any] = {}
        self.retirements_done = False
        self.settled_at: datetime | None = None
        self.reason: str | None = None
        self.unwound = False

    @classmethod
    def schedule(
        cls,
        slot: int,
        *,
        config: RaceConfig,
        candidates: list[str],
        entrants: list[dict[str, Any]],
        opens_at: datetime,
    ) -> Race:
        """Schedule the race of ``slot``; its instants follow from ``opens_at`` and config."""
        launch_at = opens_at + config.ticket_window
        live_at = launch_at + config.launch_gap
        return cls._create(
            cls.Scheduled,
            id=race_id_for(slot),
            slot=slot,
            config=config.to_document(),
            candidates=list(candidates),
            entrants=[dict(e) for e in entrants],
            launch_at=launch_at,
            live_at=live_at,
            ends_at=live_at + config.duration,
        )

    @property
    def config(self) -> RaceConfig:
        """The configuration frozen at scheduling."""
        return RaceConfig.from_document(self.config_document)

    @property
    def archive_at(self) -> datetime | None:
        """When a settled race is archived."""
        return None if self.settled_at is None else self.settled_at + self.config.retention

    def drop(self, entry_id: str, reason: str) -> None:
        """Drop an entrant before launch (it left the Arena)."""
        self._require(RaceState.ACCUMULATING)
        if any(e["entry_id"] == entry_id for e in self.entrants):
            self.trigger_event(self.EntrantDropped, entry_id=entry_id, reason=reason)

    def launch(self, accounts: dict[str, str], now: datetime) -> None:
        """Record every entrant's race account, bound for the window."""
        self._require(RaceState.ACCUMULATING)
        self._due(self.launch_at, now)
        if set(accounts) != {e["entry_id"] for e in self.entrants}:
            raise RaceTransitionRefused(race=self.id, accounts="one per entrant")
        if len(self.entrants) < self.config.min_entrants:
            raise RaceTransitionRefused(race=self.id, entrants=len(self.entrants))
        self.trigger_event(self.Launched, accounts=accounts)

    def go_live(self, now: datetime) -> None:
        """The race window opened."""
        self._require(RaceState.LAUNCHED)
        self._due(self.live_at, now)
        self.trigger_event(self.WentLive)

    def start_settling(self, snapshots: list[dict[str, Any]], now: datetime) -> None:
        """The window closed: record the end-instant snapshots (results are final)."""
        self._require(RaceState.LIVE)
        self._due(self.ends_at, now)
        self.trigger_event(self.SettlingStarted, snapshots=snapshots)

    def settle(
        self,
        results: list[dict[str, Any]],
        struck_out: list[str],
        settlement: dict[str, Any] | None = None,
    ) -> None:
        """Record the results and the pool's settlement rows (immutable from here on)."""
        self._require(RaceState.SETTLING)
        self.trigger_event(
            self.RaceSettled, results=results, struck_out=struck_out, settlement=settlement or {}
        )

    def apply_retirements(self, retired: list[str]) -> None:
        """Record that the struck-out clones were retired from the Arena."""
        self._require(RaceState.SETTLED)
        if not self.retirements_done:
            self.trigger_event(self.RetirementsApplied, retired=retired)

    def archive(self, now: datetime) -> None:
        """Archive a settled race after its retention (and after its retirements)."""
        self._require(RaceState.SETTLED)
        if not self.retirements_done:
            raise RaceTransitionRefused(race=self.id, retirements="not applied yet")
        archive_at = self.archive_at
        if archive_at is not None:
            self._due(archive_at, now)
        self.trigger_event(self.Archived)

    def cancel(self, reason: str, by: str) -> None:
        """Cancel before the race goes live."""
        if self.state not in (RaceState.ACCUMULATING, RaceState.LAUNCHED):
            raise RaceTransitionRefused(race=self.id, state=self.state.value, to="cancelled")
        self.trigger_event(self.RaceCancelled, reason=reason[:500], by=by, was=self.state.value)

    def unwind(self) -> None:
        """Record that a cancelled launch's accounts were unbound and Arena bindings resumed."""
        self._require(RaceState.CANCELLED)
        if not self.unwound:
            self.trigger_event(self.CancellationUnwound)

    def _require(self, state: RaceState) -> None:
        if self.state is not state:
            raise RaceTransitionRefused(race=self.id, state=self.state.value, needs=state.value)

    def _due(self, at: datetime, now: datetime) -> None:
        if now < at:
            raise RaceNotDue(race=self.id, at=at.isoformat(), now=now.isoformat())


EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def slot_of(instant: datetime, cadence: timedelta) -> int:
    """The cadence slot ``instant`` falls in (slot n covers ``[n * cadence, (n+1) * cadence)``)."""
    if cadence <= timedelta(0):
        raise RaceTransitionRefused(cadence=cadence)
    return (instant - EPOCH) // cadence


def slot_start(slot: int, cadence: timedelta) -> datetime:
    """The first instant of ``slot``."""
    return EPOCH + slot * cadence
