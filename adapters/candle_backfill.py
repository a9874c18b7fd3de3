"""Resumable, idempotent candle backfill from a source, chunked by its page limit.

A backfill is keyed by (source, asset, interval, range). Its cursor (the open time of the
next chunk) is saved after each chunk's idempotent upsert commits. Killed half-way, a
rerun resumes from the cursor; a chunk that was stored but whose cursor was not saved is
fetched and upserted again, which changes nothing. So one interrupted run plus its
resumption ends with exactly the rows of one uninterrupted run.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime

from adapters.database import Database, from_micros, to_micros
from adapters.market_store import MarketStore
from domain.market.intervals import floor_to_interval, interval_length
from domain.market.model import Candle

CANDLES_PER_CHUNK = 500  # Hyperliquid's page size for time-range answers
FetchCandles = Callable[[str, str, datetime, datetime], Awaitable[list[Candle]]]
Progress = Callable[[int, int], None]


@dataclass(frozen=True)
class BackfillJob:
    """What to backfill."""

    source: str
    asset: str
    interval: str
    start: datetime
    end: datetime

    @property
    def key(self) -> str:
        """The job's identity: the same request resumes the same job."""
        return (
            f"{self.source}|{self.asset}|{self.interval}|"
            f"{to_micros(self.start)}|{to_micros(self.end)}"
        )


@dataclass(frozen=True)
class BackfillResult:
    """How a run ended."""

    rows_written: int
    resumed_from: datetime | None
    done: bool


class CandleBackfill:
    """Runs backfill jobs through a fetch function (a source client's ``candles``)."""

    def __init__(
        self,
        database: Database,
        market: MarketStore,
        fetch: FetchCandles,
        on_candles: Callable[[list[Candle]], object] = lambda _: None,
    ) -> None:
        self.database = database
        self.market = market
        self.fetch = fetch
        self.on_candles = on_candles

    async def run(
        self, job: BackfillJob, now: datetime, progress: Progress | None = None
    ) -> BackfillResult:
        """Fetch and store every chunk from the saved cursor to the end of the range."""
        length = interval_length(job.interval)
        chunk = length * CANDLES_PER_CHUNK
        start = floor_to_interval(job.start, job.interval)
        cursor, written = self._resume_point(job, start, now)
        resumed_from = cursor if cursor > start else None
        total_chunks = max(1, -(-(job.end - start) // chunk))
        while cursor < job.end:
            chunk_end = min(cursor + chunk - length, job.end)
            candles = await self.fetch(job.asset, job.interval, cursor, chunk_end)
            candles = [c for c in candles if cursor <= c.open_time <= chunk_end]
            self.market.upsert_candles(job.source, candles)
            self.on_candles(candles)
            cursor, written = chunk_end + length, written + len(candles)
            self._save(job, cursor, written, now)
            if progress is not None:
                progress(min(total_chunks, -(-(cursor - start) // chunk)), total_chunks)
        return BackfillResult(written, resumed_from, True)

    def _resume_point(
        self, job: BackfillJob, start: datetime, now: datetime
    ) -> tuple[datetime, int]:
        with self.database.transaction() as session:
            row = session.fetch_one(
                "SELECT cursor, rows_written FROM market_backfills WHERE job_key = %s", (job.key,)
            )
            if row is not None:
                return from_micros(row["cursor"]), int(row["rows_written"])
            session.execute(
                "INSERT INTO market_backfills (job_key, source, asset, interval, range_start,"
                " range_end, cursor, rows_written, status, updated_at)"
                " VALUES (%s, %s, %s, %s, %s, %s, %s, 0, 'running', %s)",
                (
                    job.key,
                    job.source,
                    job.asset,
                    job.interval,
                    to_micros(job.start),
                    to_micros(job.end),
                    to_micros(start),
                    to_micros(now),
                ),
            )
        return start, 0

    def _save(self, job: BackfillJob, cursor: datetime, written: int, now: datetime) -> None:
        with self.database.transaction() as session:
            session.execute(
                "UPDATE market_backfills SET cursor = %s, rows_written = %s, updated_at = %s,"
                " status = CASE WHEN %s >= range_end THEN 'done' ELSE 'running' END"
                " WHERE job_key = %s",
                (to_micros(cursor), written, to_micros(now), to_micros(cursor), job.key),
            )
