"""One admission cycle of the Arena: gates, admissions, and the members' trading steps.

A cycle (the arena worker runs one per cadence; ``POST /v1/internal/arena/sync`` runs one on
demand) does, in order:

1. judge every queued entry, best first (``domain/competition/admission.py``): a final gate
   failure withdraws it, another is named on it, and the first entries that pass every gate
   take the free slots (``Competition.admit``: the seating and the admission are one save,
   so racing cycles never overfill the Arena nor admit an entry twice);
2. drive each admitted entry's steps through the other modules' APIs: open its arena-mode
   prop account (id derived from the entry, so a repeat opens nothing new), bind it to the
   pinned version with no end (a repeat keeps the first window), then ``Activated``;
3. stop each departed member's trading: unbind, close its positions, ``TradingStopped``.

A failing step is logged and tried again next cycle; the member keeps its slot meanwhile
(an admin may remove it). The queue comes from the ``arena`` read model, caught up first.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from uuid import UUID

import structlog

from adapters.database import Database
from domain.clock import Clock
from domain.clones.application import CloneService
from domain.clones.errors import CloneNotFound
from domain.competition.admission import CloneStanding, Gate, failed_gate
from domain.competition.application import Competition, Membership
from domain.competition.entry import ArenaEntry, EntryState, EntryStep, account_cause
from domain.competition.slots import ArenaFull, ArenaRetired, CloneInArena
from domain.prop.application import PropLedger
from domain.prop.rules import Purpose, RuleSet
from domain.trading.application import TradingDesk
from projections.arena import open_entries, queued_entries

log = structlog.get_logger("adapters.arena_cycle")

MICROS = Decimal(1_000_000)
ARENA_ADMIN = "system:arena"


@dataclass
class CycleReport:
    """What one cycle did."""

    admitted: list[str] = field(default_factory=list)
    gated: dict[str, str] = field(default_factory=dict)
    withdrawn: list[str] = field(default_factory=list)
    activated: list[str] = field(default_factory=list)
    stopped: list[str] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)


@dataclass
class ArenaCycle:
    """Admits queued entries up to capacity and drives members' trading steps."""

    database: Database
    competition: Competition
    clones: CloneService
    prop: PropLedger
    trading: TradingDesk
    market_clock: Clock
    capacity: int
    collateral_usdc: Decimal

    def run(self) -> CycleReport:
        """One cycle: gates and admissions, then every pending step."""
        report = CycleReport()
        self._admit(report)
        admitted = [UUID(e) for e in report.admitted]  # not in the read model yet
        for entry_id in dict.fromkeys([*admitted, *open_entries(self.database)]):
            self._drive(entry_id, report)
        return report

    def drive(self, entry_id: UUID) -> CycleReport:
        """Perform one entry's pending steps now (a departure stops trading at once)."""
        report = CycleReport()
        self._drive(entry_id, report)
        return report

    def _admit(self, report: CycleReport) -> None:
        full = False
        membership = self.competition.membership()  # reloaded after each admission
        for entry_id in queued_entries(self.database):
            entry = self.competition.find(entry_id)
            if entry is None:
                continue
            gate = self._gate(entry, membership)
            judged = self.competition.judge(entry.id, gate, _detail(gate))
            if gate is not None:
                if judged.state is EntryState.WITHDRAWN:
                    report.withdrawn.append(str(entry.id))
                else:
                    report.gated[str(entry.id)] = gate.value
                continue
            if full:
                continue
            try:
                if self.competition.admit(entry.id, self.capacity):
                    report.admitted.append(str(entry.id))
                membership = self.competition.membership()
            except ArenaFull:
                full = True
            except ArenaRetired:
                self.competition.judge(entry.id, Gate.ARENA_RETIRED, _detail(Gate.ARENA_RETIRED))
                report.withdrawn.append(str(entry.id))
            except CloneInArena:
                self.competition.judge(entry.id, Gate.CLONE_IN_ARENA, _detail(Gate.CLONE_IN_ARENA))
                report.gated[str(entry.id)] = Gate.CLONE_IN_ARENA.value

    def _gate(self, entry: ArenaEntry, membership: Membership) -> Gate | None:
        try:
            clone = self.clones.clone(entry.clone_id)
        except CloneNotFound:
            return Gate.CLONE_RETIRED
        return failed_gate(
            CloneStanding(
                moderation_retired=clone.is_retired,
                arena_retired=str(entry.clone_id) in membership.retired_clones,
                profile_published=clone.profile is not None,
                holds_slot=membership.holds_clone(entry.clone_id),
            )
        )

    def _drive(self, entry_id: UUID, report: CycleReport) -> None:
        entry = self.competition.find(entry_id)
        while entry is not None and entry.step is not None:
            step = entry.step
            try:
                self._perform(entry, step)
            except Exception as exc:  # logged, and tried again next cycle
                error = f"{type(exc).__name__}: {exc}"
                log.warning("arena_step_failed", entry=str(entry_id), step=step, error=error)
                report.failed[str(entry_id)] = f"{step.value}: {error}"
                return
            if step is EntryStep.BIND:
                report.activated.append(str(entry_id))
            if step is EntryStep.STOP:
                report.stopped.append(str(entry_id))
            entry = self.competition.find(entry_id)

    def _perform(self, entry: ArenaEntry, step: EntryStep) -> None:
        if step is EntryStep.ACCOUNT:
            account_id = self.prop.open_account(
                cause=account_cause(entry.id),
                owner=entry.user_id,
                purpose=Purpose.ARENA,
                rules=RuleSet(),
                collateral_micros=int(self.collateral_usdc * MICROS),
            )
            self.competition.change(entry.id, lambda e: e.open_account(account_id))
        elif step is EntryStep.BIND:
            self._bind(entry)
        else:
            self._stop(entry)
            self.competition.change(entry.id, lambda e: e.stop_trading())

    def _bind(self, entry: ArenaEntry) -> None:
        account_id = _account(entry)
        binding = self.trading.binding(account_id)
        starts_at = (
            binding.window.start
            if binding is not None and binding.active
            else self.market_clock.now()
        )
        version = self.clones.version(entry.version_id)
        self.trading.bind(
            account_id, version, entry.version_id, purpose="arena", starts_at=starts_at
        )
        self.competition.change(entry.id, lambda e: e.activate(starts_at))

    def _stop(self, entry: ArenaEntry) -> None:
        account_id = _account(entry)
        binding = self.trading.binding(account_id)
        if binding is not None and binding.active:
            self.trading.unbind(account_id, reason=f"arena entry {entry.state.value}")
        account = self.prop.account(account_id)
        if any(p["size"] != 0 for p in account.positions.values()):
            self.prop.close_all(account_id, admin=ARENA_ADMIN)


def _account(entry: ArenaEntry) -> UUID:
    if entry.account_id is None:
        raise RuntimeError(f"entry={entry.id} has no account")
    return entry.account_id


def _detail(gate: Gate | None) -> str:
    return {
        None: "",
        Gate.CLONE_RETIRED: "the clone was retired by moderation",
        Gate.ARENA_RETIRED: "the clone was retired from the Arena",
        Gate.PROFILE_UNPUBLISHED: "publish the clone's public profile to be admitted",
        Gate.CLONE_IN_ARENA: "the clone already holds an Arena slot",
    }[gate]
