"""Race read models: the races list and every clone's career, folded from the lifecycle log.

- ``lifecycle_races_view``: one row per race (state, instants, entrant count) for
  ``GET /v1/races`` and for the races worker to find races with a transition due.
- ``lifecycle_careers_view`` and ``lifecycle_career_races_view``: per clone, its races,
  wins, podiums, DNFs, strikes, the sum and best of its returns, its worst drawdown; and one
  row per (clone, race) with its rank and return (a Hall of Fame entry shows the best).
  Folded from ``RaceSettled`` only, so results count once they are final. A win or a podium
  counts a shared (dead-heat) rank too.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any
from uuid import UUID

from adapters.database import Database, Session, from_micros, to_micros
from domain.lifecycle.race import Race, RaceState
from projections.runner import Projection

STEP = Decimal("0.000001")

_RACES = """CREATE TABLE IF NOT EXISTS lifecycle_races_view (
    race_id TEXT PRIMARY KEY, slot BIGINT NOT NULL, state TEXT NOT NULL,
    launch_at BIGINT NOT NULL, live_at BIGINT NOT NULL, ends_at BIGINT NOT NULL,
    entrants BIGINT NOT NULL, settled_at BIGINT, reason TEXT, done BIGINT NOT NULL,
    updated_at BIGINT NOT NULL)"""
_CAREERS = """CREATE TABLE IF NOT EXISTS lifecycle_careers_view (
    clone_id TEXT PRIMARY KEY, races BIGINT NOT NULL, wins BIGINT NOT NULL,
    podiums BIGINT NOT NULL, dnfs BIGINT NOT NULL, strikes BIGINT NOT NULL,
    return_sum TEXT NOT NULL, best_return TEXT, worst_drawdown TEXT,
    updated_at BIGINT NOT NULL)"""
_CAREER_RACES = """CREATE TABLE IF NOT EXISTS lifecycle_career_races_view (
    clone_id TEXT NOT NULL, race_id TEXT NOT NULL, rank BIGINT, total_return TEXT NOT NULL,
    dnf TEXT, ends_at BIGINT NOT NULL, PRIMARY KEY (clone_id, race_id))"""


class RacesProjection(Projection):
    """Folds the race events of the ``lifecycle`` log into the race and career views."""

    name = "races"
    version = 1
    tables = ("lifecycle_races_view", "lifecycle_careers_view", "lifecycle_career_races_view")

    def create(self, session: Session) -> None:
        """Create the view tables."""
        for statement in (_RACES, _CAREERS, _CAREER_RACES):
            session.execute(statement)

    def apply(self, session: Session, event: Any, position: int) -> None:
        """Write what one race event implies (other lifecycle events write nothing)."""
        if not isinstance(event, Race.Event):
            return
        race, at = str(event.originator_id), to_micros(event.timestamp)
        if isinstance(event, Race.Scheduled):
            session.execute(
                "INSERT INTO lifecycle_races_view (race_id, slot, state, launch_at, live_at,"
                " ends_at, entrants, done, updated_at) VALUES (%s, %s, %s, %s, %s, %s, %s, 0, %s)"
                " ON CONFLICT (race_id) DO NOTHING",
                (
                    race,
                    event.slot,
                    RaceState.ACCUMULATING.value,
                    to_micros(event.launch_at),
                    to_micros(event.live_at),
                    to_micros(event.ends_at),
                    len(event.entrants),
                    at,
                ),
            )
            return
        changes = _race_changes(event)
        if changes:
            changes["updated_at"] = at
            columns = ", ".join(f"{name} = %s" for name in changes)
            session.execute(
                f"UPDATE lifecycle_races_view SET {columns} WHERE race_id = %s",
                (*changes.values(), race),
            )
        if isinstance(event, Race.RaceSettled):
            ends = session.fetch_one(
                "SELECT ends_at FROM lifecycle_races_view WHERE race_id = %s", (race,)
            )
            for result in event.results:
                _career(session, race, int(ends["ends_at"]) if ends else at, result, at)


def _race_changes(event: Any) -> dict[str, Any]:
    match event:
        case Race.EntrantDropped():
            return {}
        case Race.Launched():
            return {"state": RaceState.LAUNCHED.value, "entrants": len(event.accounts)}
        case Race.WentLive():
            return {"state": RaceState.LIVE.value}
        case Race.SettlingStarted():
            return {"state": RaceState.SETTLING.value}
        case Race.RaceSettled():
            return {"state": RaceState.SETTLED.value, "settled_at": to_micros(event.timestamp)}
        case Race.Archived():
            return {"state": RaceState.ARCHIVED.value, "done": 1}
        case Race.RaceCancelled():
            done = int(event.was == RaceState.ACCUMULATING.value)
            return {"state": RaceState.CANCELLED.value, "reason": event.reason, "done": done}
        case Race.CancellationUnwound():
            return {"done": 1}
    return {}


def _career(session: Session, race: str, ends_at: int, result: dict[str, Any], at: int) -> None:
    clone = result["clone_id"]
    row = session.fetch_one("SELECT * FROM lifecycle_careers_view WHERE clone_id = %s", (clone,))
    if row is None:
        session.execute(
            "INSERT INTO lifecycle_careers_view (clone_id, races, wins, podiums, dnfs, strikes,"
            " return_sum, updated_at) VALUES (%s, 0, 0, 0, 0, 0, '0', %s)",
            (clone, at),
        )
        row = {"races": 0, "wins": 0, "podiums": 0, "dnfs": 0, "strikes": 0, "return_sum": "0"}
        row |= {"best_return": None, "worst_drawdown": None}
    rank, value = result["rank"], Decimal(result["total_return"])
    drawdown = Decimal(result["max_drawdown_pct"])
    best = row["best_return"]
    worst = row["worst_drawdown"]
    session.execute(
        "UPDATE lifecycle_careers_view SET races = %s, wins = %s, podiums = %s, dnfs = %s,"
        " strikes = %s, return_sum = %s, best_return = %s, worst_drawdown = %s,"
        " updated_at = %s WHERE clone_id = %s",
        (
            int(row["races"]) + 1,
            int(row["wins"]) + int(rank == 1),
            int(row["podiums"]) + int(rank is not None and rank <= 3),
            int(row["dnfs"]) + int(result["dnf"] is not None),
            int(row["strikes"]) + int(bool(result["strike"])),
            str(Decimal(row["return_sum"]) + value),
            str(value if best is None else max(Decimal(best), value)),
            str(drawdown if worst is None else max(Decimal(worst), drawdown)),
            at,
            clone,
        ),
    )
    session.execute(
        "INSERT INTO lifecycle_career_races_view (clone_id, race_id, rank, total_return, dnf,"
        " ends_at) VALUES (%s, %s, %s, %s, %s, %s) ON CONFLICT (clone_id, race_id) DO NOTHING",
        (clone, race, rank, str(value), result["dnf"], ends_at),
    )


@dataclass(frozen=True)
class RaceRow:
    """A race as the list route and the worker read it."""

    race_id: UUID
    slot: int
    state: str
    launch_at: datetime
    live_at: datetime
    ends_at: datetime
    entrants: int
    settled_at: datetime | None
    reason: str | None

    @classmethod
    def of(cls, row: dict[str, Any]) -> RaceRow:
        """Build from a view row."""
        return cls(
            race_id=UUID(row["race_id"]),
            slot=int(row["slot"]),
            state=row["state"],
            launch_at=from_micros(row["launch_at"]),
            live_at=from_micros(row["live_at"]),
            ends_at=from_micros(row["ends_at"]),
            entrants=int(row["entrants"]),
            settled_at=from_micros(row["settled_at"]) if row["settled_at"] else None,
            reason=row["reason"],
        )


@dataclass(frozen=True)
class Career:
    """A clone's career in races."""

    clone_id: str
    races: int
    wins: int
    podiums: int
    dnfs: int
    strikes: int
    average_return: Decimal | None
    best_return: Decimal | None
    worst_drawdown: Decimal | None
    best_races: tuple[dict[str, Any], ...]


def races(
    database: Database, *, state: str | None, before: int | None, limit: int
) -> list[RaceRow]:
    """Races newest slot first (only ``state`` when given), before a slot cursor."""
    with database.transaction(write=False) as session:
        if not session.table_exists("lifecycle_races_view"):
            return []
        cursor = before if before is not None else 2**62
        if state is None:
            rows = session.fetch_all(
                "SELECT * FROM lifecycle_races_view WHERE slot < %s ORDER BY slot DESC LIMIT %s",
                (cursor, limit),
            )
        else:
            rows = session.fetch_all(
                "SELECT * FROM lifecycle_races_view WHERE slot < %s AND state = %s"
                " ORDER BY slot DESC LIMIT %s",
                (cursor, state, limit),
            )
    return [RaceRow.of(row) for row in rows]


def unfinished_races(database: Database) -> list[RaceRow]:
    """Races the worker may still have to move (not archived, not unwound)."""
    with database.transaction(write=False) as session:
        if not session.table_exists("lifecycle_races_view"):
            return []
        rows = session.fetch_all("SELECT * FROM lifecycle_races_view WHERE done = 0 ORDER BY slot")
    return [RaceRow.of(row) for row in rows]


def career(database: Database, clone_id: str, best: int = 3) -> Career | None:
    """The clone's career, or ``None`` before its first settled race."""
    with database.transaction(write=False) as session:
        if not session.table_exists("lifecycle_careers_view"):
            return None
        row = session.fetch_one(
            "SELECT * FROM lifecycle_careers_view WHERE clone_id = %s", (clone_id,)
        )
        if row is None:
            return None
        runs = session.fetch_all(
            "SELECT * FROM lifecycle_career_races_view WHERE clone_id = %s", (clone_id,)
        )
    ranked = sorted(runs, key=lambda r: (-Decimal(r["total_return"]), r["race_id"]))[:best]
    count = int(row["races"])
    return Career(
        clone_id=clone_id,
        races=count,
        wins=int(row["wins"]),
        podiums=int(row["podiums"]),
        dnfs=int(row["dnfs"]),
        strikes=int(row["strikes"]),
        average_return=(Decimal(row["return_sum"]) / count).quantize(STEP) if count else None,
        best_return=Decimal(row["best_return"]) if row["best_return"] else None,
        worst_drawdown=Decimal(row["worst_drawdown"]) if row["worst_drawdown"] else None,
        best_races=tuple(
            {
                "raceId": r["race_id"],
                "rank": r["rank"],
                "totalReturn": r["total_return"],
                "dnf": r["dnf"],
                "endsAt": from_micros(r["ends_at"]).isoformat(),
            }
            for r in ranked
        ),
    )


def careers(database: Database) -> list[str]:
    """Every clone with a career, by clone id."""
    with database.transaction(write=False) as session:
        if not session.table_exists("lifecycle_careers_view"):
            return []
        rows = session.fetch_all("SELECT clone_id FROM lifecycle_careers_view ORDER BY clone_id")
    return [row["clone_id"] for row in rows]
