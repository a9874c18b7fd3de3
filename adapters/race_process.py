"""Running races: scheduling per cadence slot, launch, live, settlement, strikes, archive.

The races worker calls :meth:`RaceDesk.schedule_due` and :meth:`RaceDesk.advance`; each
performs the cross-module work first, with ids derived from the race and the entry (a
race account's cause is ``race:<race>:<entry>``), then records the transition on the race,
so a worker that dies in between repeats harmless calls.

- **Scheduling**: the race of the market clock's cadence slot (``race_id_for(slot)``:
  concurrent schedulers create it once) among the Arena's active members, drawn by
  ``hashed_rotation``; no race when fewer than ``min_entrants`` are active.
- **Launch** (ticket window closed): Economy closes the race's pool book; entrants that
  left the Arena are dropped; too few left cancels the race (and Economy's book);
  otherwise each entrant's Arena binding is paused for the race window, an equal
  race-mode account is opened and bound to the pinned version for exactly
  ``[live_at, ends_at)``.
- **Live** at ``live_at``. **Settling** at ``ends_at``: the race accounts are unbound, and
  every entrant's snapshot is taken at ``ends_at``: the account as its events stood just
  before that instant (the window is ``[live_at, ends_at)``), valued at the marks of that
  instant, so a late worker, or the closing of positions afterwards, changes nothing; the
  results are ranked (``race_results.py``); the pool is settled from Economy's closed
  book (``domain/economy/parimutuel.py``, creators paid at their clone owner's wallet) and
  the conserved rows are saved with the race and the strikes in one save; the race
  accounts' positions are then closed (the results no longer depend on them).
- **Retirements**: clones that reached ``strikes_to_retire`` are retired from the Arena
  through ``Competition.retire_clone`` (the arena worker stops their trading and admits
  the next in line). **Archive** after the retention.
- A race cancelled after launch is **unwound**: race accounts unbound, Arena pauses lifted.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from uuid import UUID

from adapters.account_marks import value_at
from adapters.asset_registry import AssetRegistry
from adapters.database import to_micros
from adapters.market_store import MarketStore
from adapters.source_health_store import SourceHealthStore
from domain.backtesting.equity_curve import max_drawdown
from domain.clock import Clock
from domain.clones.application import CloneService
from domain.competition.application import Competition
from domain.competition.entry import MEMBER_STATES, EntryState
from domain.economy.application import Economy
from domain.economy.parimutuel import Finish, Settlement, Ticket, settle_pool
from domain.lifecycle.application import Lifecycle
from domain.lifecycle.race import (
    Race,
    RaceState,
    race_account_cause,
    race_id_for,
    slot_of,
    slot_start,
)
from domain.lifecycle.race_config import RaceConfig
from domain.lifecycle.race_results import EntrantResult, EntrantSnapshot, rank_results
from domain.lifecycle.race_selection import hashed_rotation
from domain.market.health import HealthState
from domain.prop.application import PropLedger
from domain.prop.money import micros_to_decimal
from domain.prop.rules import Purpose, RuleSet
from domain.trading.application import TradingDesk
from projections.prop_queries import PropQueries

RACES_ADMIN = "system:races"
SNAPSHOT_PAGE = 5000


@dataclass
class RaceDesk:
    """Schedules races and moves them through their states."""

    lifecycle: Lifecycle
    competition: Competition
    economy: Economy
    clones: CloneService
    prop: PropLedger
    trading: TradingDesk
    market: MarketStore
    assets: AssetRegistry
    health: SourceHealthStore
    queries: PropQueries
    market_clock: Clock
    config: RaceConfig
    cadence: timedelta
    live_mode: bool
    creator_wallet: Callable[[str], str | None]

    def slot(self, now: datetime) -> int:
        """The cadence slot of ``now``."""
        return slot_of(now, self.cadence)

    def schedule_due(self, now: datetime) -> Race | None:
        """Schedule the race of the current slot if it has none; the race, or ``None``."""
        slot = self.slot(now)
        race_id = race_id_for(slot)
        if self.lifecycle.find_race(race_id) is not None:
            return None
        members = {str(e.id): e for e in self.competition.members()}
        candidates = sorted(e for e, m in members.items() if m.state is EntryState.ACTIVE)
        if len(candidates) < self.config.min_entrants:
            return None
        chosen = hashed_rotation(race_id, candidates, self.config.entrants)
        entrants = [
            {
                "entry_id": entry,
                "clone_id": str(members[entry].clone_id),
                "version_id": str(members[entry].version_id),
                "user_id": members[entry].user_id,
                "arena_account_id": str(members[entry].account_id),
            }
            for entry in chosen
        ]
        opens_at = slot_start(slot, self.cadence)
        race, _ = self.lifecycle.schedule_race(
            slot, config=self.config, candidates=candidates, entrants=entrants, opens_at=opens_at
        )
        return race

    def advance(self, race_id: UUID, now: datetime) -> Race:
        """Perform every transition that is due; return the race as it then stands."""
        race = self.lifecycle.race(race_id)
        for _ in range(8):
            if not self._step(race, now):
                break
            race = self.lifecycle.race(race_id)
        return race

    def due(self, race: Race, now: datetime) -> bool:
        """Whether the race has a transition to perform at ``now``."""
        state = race.state
        if state is RaceState.ACCUMULATING:
            return now >= race.launch_at
        if state is RaceState.LAUNCHED:
            return now >= race.live_at
        if state is RaceState.LIVE:
            return now >= race.ends_at
        if state is RaceState.SETTLING:
            return True
        if state is RaceState.SETTLED:
            archive_at = race.archive_at
            return not race.retirements_done or (archive_at is not None and now >= archive_at)
        return state is RaceState.CANCELLED and not race.unwound

    def cancel(self, race_id: UUID, *, reason: str, by: str) -> Race:
        """Cancel a race before it goes live, and unwind a launched one; stakes refunded."""
        self.lifecycle.change_race(race_id, lambda r: r.cancel(reason, by))
        self.economy.cancel_book(race_id, reason)
        return self.advance(race_id, self.market_clock.now())

    def _step(self, race: Race, now: datetime) -> bool:
        if not self.due(race, now):
            return False
        match race.state:
            case RaceState.ACCUMULATING:
                self._launch(race, now)
            case RaceState.LAUNCHED:
                self.lifecycle.change_race(race.id, lambda r: r.go_live(now))
            case RaceState.LIVE:
                self._start_settling(race, now)
            case RaceState.SETTLING:
                self._settle(race)
            case RaceState.SETTLED:
                self._after_settlement(race, now)
            case RaceState.CANCELLED:
                self._unwind(race)
        return True

    # --- launch ------------------------------------------------------------------------

    def _launch(self, race: Race, now: datetime) -> None:
        self.economy.close_book(race.id)  # the ticket window closed at launch_at
        for entrant in race.entrants:
            entry = self.competition.find(UUID(entrant["entry_id"]))
            if entry is None or entry.state not in MEMBER_STATES:
                self._drop(race.id, entrant["entry_id"])
        race = self.lifecycle.race(race.id)
        if len(race.entrants) < race.config.min_entrants:
            reason = f"too few entrants: {len(race.entrants)} < {race.config.min_entrants}"
            self.lifecycle.change_race(race.id, lambda r: r.cancel(reason, RACES_ADMIN))
            self.economy.cancel_book(race.id, reason)
            return
        accounts = {e["entry_id"]: str(self._enter(race, e)) for e in race.entrants}
        self.lifecycle.change_race(race.id, lambda r: r.launch(accounts, now))

    def _drop(self, race_id: UUID, entry_id: str) -> None:
        self.lifecycle.change_race(race_id, lambda r: r.drop(entry_id, "left the Arena"))

    def _enter(self, race: Race, entrant: dict[str, str]) -> UUID:
        self.trading.pause(
            UUID(entrant["arena_account_id"]),
            start=race.live_at,
            end=race.ends_at,
            reason=f"race {race.id}",
        )
        account_id = self.prop.open_account(
            cause=race_account_cause(race.id, entrant["entry_id"]),
            owner=entrant["user_id"],
            purpose=Purpose.RACE,
            rules=RuleSet(),
            collateral_micros=race.config.collateral_micros,
        )
        version_id = UUID(entrant["version_id"])
        self.trading.bind(
            account_id,
            self.clones.version(version_id),
            version_id,
            purpose="race",
            starts_at=race.live_at,
            ends_at=race.ends_at,
        )
        return account_id

    # --- settlement --------------------------------------------------------------------

    def _start_settling(self, race: Race, now: datetime) -> None:
        snapshots = []
        for entrant in race.entrants:
            account_id = UUID(race.accounts[entrant["entry_id"]])
            self.trading.unbind(account_id, reason=f"race {race.id} ended")
            snapshots.append(self._snapshot(race, entrant, account_id))
        documents = [_document(s) for s in snapshots]
        self.lifecycle.change_race(race.id, lambda r: r.start_settling(documents, now))

    def _settle(self, race: Race) -> None:
        snapshots = [_snapshot_of(d) for d in race.snapshots]
        results = rank_results(snapshots, race.config)
        settlement = self._pool_settlement(race, results)
        if not settlement.conserved:  # never recorded: an operator must look
            raise RuntimeError(f"race={race.id} settlement does not conserve the pool")
        self.lifecycle.settle_race(race.id, results, settlement.to_document())
        for snapshot in snapshots:
            account_id = UUID(snapshot.account_id)
            account = self.prop.account(account_id)
            if any(p["size"] != 0 for p in account.positions.values()):
                self.prop.close_all(account_id, admin=RACES_ADMIN)

    def _pool_settlement(self, race: Race, results: list[EntrantResult]) -> Settlement:
        """The pool's rows from the closed book and the final results (``parimutuel``)."""
        self.economy.close_book(race.id)
        tickets = [
            Ticket(t["ticket_id"], t["payer"], t["clone_id"], int(t["stake_wei"]))
            for t in self.economy.book_tickets(race.id)
        ]
        owners = {e["clone_id"]: e["user_id"] for e in race.entrants}
        finishes = [
            Finish(
                r.snapshot.clone_id,
                r.rank,
                self.creator_wallet(owners.get(r.snapshot.clone_id, "")),
            )
            for r in results
        ]
        return settle_pool(tickets, finishes, race.config.pool_rules)

    def _snapshot(self, race: Race, entrant: dict[str, str], account_id: UUID) -> EntrantSnapshot:
        end = race.ends_at
        state = self.prop.account_before(account_id, end)
        equity = value_at(state, self.market, self.assets, end).account_value
        starting = micros_to_decimal(race.config.collateral_micros)
        fills = [f for f in self.prop.fills_since(account_id, 0) if f.at < end]
        curve = [*self._equities(account_id, race.live_at, end), equity]
        _, drawdown = max_drawdown(starting, curve)
        return EntrantSnapshot(
            entry_id=entrant["entry_id"],
            clone_id=entrant["clone_id"],
            account_id=str(account_id),
            starting=starting,
            equity=equity,
            max_drawdown_pct=drawdown.quantize(Decimal("0.000001")),
            trades=len(fills),
            fees=micros_to_decimal(sum(f.fee_micros for f in fills)),
            liquidated=self.prop.liquidated_between(account_id, race.live_at, end),
            data_unhealthy=self._unhealthy(entrant, race.live_at, end),
        )

    def _equities(self, account_id: UUID, start: datetime, end: datetime) -> list[Decimal]:
        after = to_micros(start) - 1
        values: list[Decimal] = []
        while rows := self.queries.snapshots(str(account_id), after=after, limit=SNAPSHOT_PAGE):
            values += [r.account_value for r in rows if r.at <= end]
            if rows[-1].at >= end:
                break
            after = to_micros(rows[-1].at)
        return values

    def _unhealthy(self, entrant: dict[str, str], start: datetime, end: datetime) -> bool:
        if not self.live_mode:
            return False
        spec = self.clones.version(UUID(entrant["version_id"])).spec
        channels = [("hyperliquid", "contexts")] + [
            ("hyperliquid", f"candles:{asset}:5m") for asset in spec.asset_names
        ]
        return any(
            change.to_state is HealthState.DOWN
            for source, channel in channels
            for change in self.health.changes(source, channel, start=start, end=end)
        )

    def _after_settlement(self, race: Race, now: datetime) -> None:
        if not race.retirements_done:
            retired = []
            for clone_id in race.struck_out:
                reason = f"{race.config.strikes_to_retire} retirement strikes (race {race.id})"
                entry = self.competition.retire_clone(UUID(clone_id), reason=reason, by=RACES_ADMIN)
                if entry is not None:
                    retired.append(clone_id)
            self.lifecycle.change_race(race.id, lambda r: r.apply_retirements(retired))
            return
        self.lifecycle.change_race(race.id, lambda r: r.archive(now))

    def _unwind(self, race: Race) -> None:
        for entrant in race.entrants:
            account = race.accounts.get(entrant["entry_id"])
            if account is not None:
                self.trading.unbind(UUID(account), reason=f"race {race.id} cancelled")
            self.trading.resume(
                UUID(entrant["arena_account_id"]),
                start=race.live_at,
                end=race.ends_at,
                reason=f"race {race.id} cancelled",
            )
        self.lifecycle.change_race(race.id, lambda r: r.unwind())


def _document(snapshot: EntrantSnapshot) -> dict[str, object]:
    return {
        "entry_id": snapshot.entry_id,
        "clone_id": snapshot.clone_id,
        "account_id": snapshot.account_id,
        "starting": str(snapshot.starting),
        "equity": str(snapshot.equity),
        "max_drawdown_pct": str(snapshot.max_drawdown_pct),
        "trades": snapshot.trades,
        "fees": str(snapshot.fees),
        "liquidated": snapshot.liquidated,
        "data_unhealthy": snapshot.data_unhealthy,
    }


def _snapshot_of(document: dict[str, object]) -> EntrantSnapshot:
    return EntrantSnapshot(
        entry_id=str(document["entry_id"]),
        clone_id=str(document["clone_id"]),
        account_id=str(document["account_id"]),
        starting=Decimal(str(document["starting"])),
        equity=Decimal(str(document["equity"])),
        max_drawdown_pct=Decimal(str(document["max_drawdown_pct"])),
        trades=int(str(document["trades"])),
        fees=Decimal(str(document["fees"])),
        liquidated=bool(document["liquidated"]),
        data_unhealthy=bool(document["data_unhealthy"]),
    )
