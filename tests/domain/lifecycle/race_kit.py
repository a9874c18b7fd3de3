"""Builders for race tests: entrants, their accounts, end-instant snapshots, a Lifecycle.

Races open at ``T0`` (Monday 2025-03-03 08:00 UTC, a whole 30-minute slot); with the default
``RaceConfig`` they launch at 08:30, go live at 08:35 and end at 10:35. Entrants are
``entry-0`` .. ``entry-n`` with clone ids derived from the entry, so a test can name a clone
from its entry. Amounts are written as strings and become Decimals.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any
from uuid import UUID, uuid5

from domain.clock import SimulatedClock
from domain.lifecycle.application import Lifecycle
from domain.lifecycle.audition_rules import AuditionRuleBook
from domain.lifecycle.race import Race
from domain.lifecycle.race_results import EntrantSnapshot

T0 = datetime(2025, 3, 3, 8, tzinfo=UTC)
CADENCE = timedelta(minutes=30)
SLOT = int(T0.timestamp()) // int(CADENCE.total_seconds())
STARTING = Decimal(10_000)
NS = UUID("7c1e9a52-3b4d-4f6e-8a9b-0c1d2e3f4a5b")


def entry_id(n: int) -> str:
    """Return the entry id of entrant ``n``."""
    return f"entry-{n}"


def clone_of(entry: str) -> UUID:
    """Return the clone id of the entrant with ``entry`` as entry id."""
    return uuid5(NS, f"clone:{entry}")


def entrant(n: int) -> dict[str, Any]:
    """Return entrant ``n`` as the races worker records it on ``Scheduled``."""
    entry = entry_id(n)
    return {
        "entry_id": entry,
        "clone_id": str(clone_of(entry)),
        "version_id": str(uuid5(NS, f"version:{entry}")),
        "user_id": f"user-{n}",
        "arena_account_id": str(uuid5(NS, f"arena:{entry}")),
    }


def entrants(count: int = 4) -> list[dict[str, Any]]:
    """Return entrants ``0 .. count - 1``."""
    return [entrant(n) for n in range(count)]


def accounts_for(race: Race) -> dict[str, str]:
    """Return one race account id per current entrant of ``race``."""
    return {e["entry_id"]: str(uuid5(NS, f"race-account:{e['entry_id']}")) for e in race.entrants}


def snapshot(
    entry: str,
    equity: str,
    drawdown: str = "0.05",
    *,
    liquidated: bool = False,
    data_unhealthy: bool = False,
    starting: Decimal = STARTING,
) -> EntrantSnapshot:
    """Return ``entry``'s end-instant snapshot: ``equity`` USDC, ``drawdown`` a fraction."""
    return EntrantSnapshot(
        entry_id=entry,
        clone_id=str(clone_of(entry)),
        account_id=str(uuid5(NS, f"race-account:{entry}")),
        starting=starting,
        equity=Decimal(equity),
        max_drawdown_pct=Decimal(drawdown),
        trades=3,
        fees=Decimal("1.5"),
        liquidated=liquidated,
        data_unhealthy=data_unhealthy,
    )


def snapshot_document(s: EntrantSnapshot) -> dict[str, Any]:
    """Return ``s`` as recorded on ``SettlingStarted``."""
    return {
        "entry_id": s.entry_id,
        "clone_id": s.clone_id,
        "account_id": s.account_id,
        "starting": str(s.starting),
        "equity": str(s.equity),
        "max_drawdown_pct": str(s.max_drawdown_pct),
        "trades": s.trades,
        "fees": str(s.fees),
        "liquidated": s.liquidated,
        "data_unhealthy": s.data_unhealthy,
    }


def a_lifecycle(start: datetime = T0) -> tuple[Lifecycle, SimulatedClock]:
    """Return an in-memory Lifecycle and the market clock it stamps events with."""
    clock = SimulatedClock(start)
    return Lifecycle(clock=clock, rule_book=AuditionRuleBook()), clock


def changed(lifecycle: Lifecycle, race_id: UUID, command: Callable[[Race], None]) -> Race:
    """Apply ``command`` to the stored race through ``change_race``; return the race it saved."""

    def decide(race: Race) -> Race:
        command(race)
        return race

    return lifecycle.change_race(race_id, decide)
