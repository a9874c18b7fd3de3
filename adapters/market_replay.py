"""The offline replay feed's persisted position, and the market clock it drives.

With no network, the market clock is the replay's simulated time: it starts where the
bundled 5-minute data starts, advances at the chosen speed while the feed worker runs,
is persisted (so a restart continues instead of rewinding) and stops at the end of the
data, where the feed's status turns ``ended``. The service clock stays real time.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from datetime import datetime

from adapters.database import Database, from_micros, to_micros

FEED = "bundled"


@dataclass(frozen=True)
class ReplayState:
    """Where the replay is: its simulated now, the data's bounds, playing or ended."""

    position: datetime
    data_start: datetime
    data_end: datetime
    status: str


class ReplayStore:
    """The one ``market_replay`` row of the bundled feed."""

    def __init__(self, database: Database) -> None:
        self.database = database

    def state(self) -> ReplayState | None:
        """The persisted state, or ``None`` before the first run."""
        with self.database.transaction(write=False) as session:
            row = session.fetch_one("SELECT * FROM market_replay WHERE feed = %s", (FEED,))
        if row is None:
            return None
        return ReplayState(
            from_micros(row["position"]),
            from_micros(row["data_start"]),
            from_micros(row["data_end"]),
            row["status"],
        )

    def start(self, data_start: datetime, data_end: datetime, now: datetime) -> ReplayState:
        """Create the row at the start of the data unless it exists; return the state."""
        with self.database.transaction() as session:
            session.execute(
                "INSERT INTO market_replay (feed, position, data_start, data_end, status,"
                " updated_at) VALUES (%s, %s, %s, %s, 'playing', %s) ON CONFLICT (feed) DO NOTHING",
                (
                    FEED,
                    to_micros(data_start),
                    to_micros(data_start),
                    to_micros(data_end),
                    to_micros(now),
                ),
            )
        state = self.state()
        if state is None:
            raise RuntimeError("the replay row vanished right after its creation")
        return state

    def advance(self, previous: datetime, position: datetime, now: datetime) -> bool:
        """Move from ``previous`` to ``position`` (compare-and-set); ``ended`` at the end."""
        with self.database.transaction() as session:
            changed = session.execute(
                "UPDATE market_replay SET position = %s, updated_at = %s,"
                " status = CASE WHEN %s >= data_end THEN 'ended' ELSE 'playing' END"
                " WHERE feed = %s AND position = %s",
                (
                    to_micros(position),
                    to_micros(now),
                    to_micros(position),
                    FEED,
                    to_micros(previous),
                ),
            )
        return changed == 1


class ReplayMarketClock:
    """The market clock of replay mode: the feed's persisted position.

    Reads are cached for a fraction of a second so hot paths do not query per call.
    Before the feed's first step the clock stands at ``fallback`` (the data start).
    """

    def __init__(self, store: ReplayStore, fallback: datetime, *, cache_seconds: float = 0.2):
        self.store = store
        self.fallback = fallback
        self.cache_seconds = cache_seconds
        self._cached: tuple[float, datetime] | None = None
        self._lock = threading.Lock()

    def now(self) -> datetime:
        """The simulated market time."""
        with self._lock:
            if self._cached is not None and time.monotonic() - self._cached[0] < self.cache_seconds:
                return self._cached[1]
            state = self.store.state()
            instant = self.fallback if state is None else state.position
            self._cached = (time.monotonic(), instant)
            return instant

    def forget(self) -> None:
        """Drop the cached instant (after the feed advanced in this process)."""
        with self._lock:
            self._cached = None
