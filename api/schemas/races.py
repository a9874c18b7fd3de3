"""Race models of the HTTP contract: races, entrants, standings, results, careers, the Hall of Fame.

Amounts are decimal strings (USDC), returns and drawdowns fractions as strings, instants ISO
8601 in market time.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import Field

from api.schemas.auditions import camel_keys
from api.schemas.base import ApiModel
from projections.races import Career, RaceRow


class RaceSummary(ApiModel):
    """A race in the list."""

    id: str
    slot: int
    state: str
    launch_at: datetime
    live_at: datetime
    ends_at: datetime
    entrants: int
    settled_at: datetime | None
    reason: str | None

    @classmethod
    def of(cls, row: RaceRow) -> RaceSummary:
        """Build from the read model's row."""
        return cls(
            id=str(row.race_id),
            slot=row.slot,
            state=row.state,
            launch_at=row.launch_at,
            live_at=row.live_at,
            ends_at=row.ends_at,
            entrants=row.entrants,
            settled_at=row.settled_at,
            reason=row.reason,
        )


class RacesPage(ApiModel):
    """Races, newest first."""

    data: list[RaceSummary]
    next_cursor: str | None


class Entrant(ApiModel):
    """A race's entrant: the Arena entry, its clone and version, its race account."""

    entry_id: str
    clone_id: str
    clone_name: str | None
    version_id: str
    account_id: str | None


class Standing(ApiModel):
    """An entrant's race account valued at the latest marks (live) or as of the end."""

    entry_id: str
    clone_id: str
    position: int
    equity: str
    total_return: str


class RacePublic(ApiModel):
    """A race: state, configuration, instants, entrants, live standings, results."""

    id: str
    slot: int
    state: str
    reason: str | None
    config: dict[str, Any]
    launch_at: datetime
    live_at: datetime
    ends_at: datetime
    entrants: list[Entrant]
    standings: list[Standing] | None
    results: list[dict[str, Any]] | None
    struck_out: list[str]
    settlement: dict[str, Any] | None = None


def result_documents(results: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Settled results with camelCase keys."""
    return [camel_keys(r) for r in results]


class CareerPublic(ApiModel):
    """A clone's career in races."""

    clone_id: str
    races: int
    wins: int
    podiums: int
    dnfs: int
    strikes: int
    average_return: str | None
    best_return: str | None
    worst_drawdown: str | None
    best_races: list[dict[str, Any]]

    @classmethod
    def of(cls, career: Career) -> CareerPublic:
        """Build from the careers read model."""
        return cls(
            clone_id=career.clone_id,
            races=career.races,
            wins=career.wins,
            podiums=career.podiums,
            dnfs=career.dnfs,
            strikes=career.strikes,
            average_return=None if career.average_return is None else str(career.average_return),
            best_return=None if career.best_return is None else str(career.best_return),
            worst_drawdown=None if career.worst_drawdown is None else str(career.worst_drawdown),
            best_races=list(career.best_races),
        )


class HallOfFamer(ApiModel):
    """A clone retired from the Arena with a career worth keeping."""

    clone_id: str
    name: str
    career: CareerPublic


class HallOfFame(ApiModel):
    """The Hall of Fame and the bar it keeps."""

    min_races: int
    min_podiums: int
    members: list[HallOfFamer]


class RaceCancel(ApiModel):
    """Why an admin cancels a race."""

    reason: str = Field(min_length=3, max_length=500)
