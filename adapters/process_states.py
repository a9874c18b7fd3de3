"""Processes stuck in a step: auditions whose step keeps failing, races past their next step.

Workers can be alive and beating while a process they drive makes no progress: an
audition whose evaluation step fails and waits for a retry, or a race whose launch, start,
end or settlement is overdue on the market clock. ``/health/workers``, ``clash workers
status`` and the metrics (``clash_auditions_stuck``, ``clash_races_overdue``) read them
here from the read models.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from adapters.database import Database, Session, to_micros

# The market time a race's next step is due at, by state.
_RACE_DUE = {
    "accumulating": "launch_at",
    "launched": "live_at",
    "live": "ends_at",
    "settling": "ends_at",
}


@dataclass(frozen=True)
class ProcessStates:
    """Open processes and how many of them are stuck."""

    auditions_open: int
    auditions_stuck: int
    races_open: int
    races_overdue: int


def process_states(database: Database, market_now: datetime, grace: timedelta) -> ProcessStates:
    """Count open and stuck auditions and races; a race is overdue past its step + ``grace``."""
    with database.transaction(write=False) as session:
        auditions = _auditions(session)
        races = _races(session, to_micros(market_now - grace))
    return ProcessStates(*auditions, *races)


def _auditions(session: Session) -> tuple[int, int]:
    if not session.table_exists("lifecycle_auditions_view"):
        return 0, 0
    row = session.fetch_one(
        "SELECT COUNT(*) AS open, COALESCE(SUM(CASE WHEN last_error IS NOT NULL"
        " THEN 1 ELSE 0 END), 0) AS stuck FROM lifecycle_auditions_view WHERE open = 1"
    )
    return (0, 0) if row is None else (int(row["open"]), int(row["stuck"]))


def _races(session: Session, late: int) -> tuple[int, int]:
    if not session.table_exists("lifecycle_races_view"):
        return 0, 0
    overdue = " OR ".join(f"(state = '{s}' AND {column} < %s)" for s, column in _RACE_DUE.items())
    states = ", ".join(f"'{state}'" for state in _RACE_DUE)
    row = session.fetch_one(
        f"SELECT COUNT(*) AS open, COALESCE(SUM(CASE WHEN {overdue} THEN 1 ELSE 0 END), 0)"
        f" AS overdue FROM lifecycle_races_view WHERE state IN ({states})",
        (late,) * len(_RACE_DUE),
    )
    return (0, 0) if row is None else (int(row["open"]), int(row["overdue"]))
