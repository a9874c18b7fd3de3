"""Backfill from Hyperliquid (a fake shaped like candleSnapshot): chunked, resumable, idempotent."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import httpx
import pytest

from adapters.candle_backfill import BackfillJob, CandleBackfill
from adapters.database import Database
from adapters.hyperliquid_client import HyperliquidClient
from adapters.market_store import MarketStore
from adapters.source_http import Pacing

START = datetime(2026, 1, 1, tzinfo=UTC)
END = START + timedelta(hours=1300)  # three chunks of 500 hourly candles
NOW = datetime(2026, 12, 1, tzinfo=UTC)
HOUR_MS = 3_600_000
START_MS = int(START.timestamp() * 1000)


class Killed(Exception):
    """The process died mid-backfill."""


def _row(open_ms: int) -> dict[str, object]:
    price = Decimal(60000) + Decimal(open_ms // HOUR_MS % 1000) / 10
    return {
        "t": open_ms,
        "T": open_ms + HOUR_MS - 1,
        "s": "BTC",
        "i": "1h",
        "o": str(price),
        "h": str(price + 5),
        "l": str(price - 5),
        "c": str(price + 1),
        "v": "12.5",
        "n": 42,
    }


def fake_hyperliquid(die_after: int | None = None) -> tuple[httpx.MockTransport, list[int]]:
    """candleSnapshot: from the candle containing startTime to endTime, at most 500 rows."""
    calls: list[int] = []

    def handle(request: httpx.Request) -> httpx.Response:
        if die_after is not None and len(calls) >= die_after:
            raise Killed
        req = json.loads(request.content)["req"]
        first = req["startTime"] // HOUR_MS * HOUR_MS
        rows = [_row(t) for t in range(first, req["endTime"] + 1, HOUR_MS)][:500]
        calls.append(req["startTime"])
        return httpx.Response(200, json=rows)

    return httpx.MockTransport(handle), calls


def _no_sleep() -> Pacing:
    """Waiting advances a fake clock instead of the real one."""
    elapsed = [0.0]

    async def sleep(seconds: float) -> None:
        elapsed[0] += seconds

    return Pacing(monotonic=lambda: elapsed[0], sleep=sleep)


def _backfill(database: Database, transport: httpx.MockTransport) -> CandleBackfill:
    client = HyperliquidClient.create(
        "http://hyperliquid.test", transport=transport, pacing=_no_sleep()
    )

    async def fetch(asset: str, interval: str, start: datetime, end: datetime):
        return await client.candles(asset, interval, start, end, NOW)

    return CandleBackfill(database, MarketStore(database), fetch)


def _rows(database: Database) -> list[tuple]:
    with database.transaction(write=False) as session:
        rows = session.fetch_all(
            "SELECT open_time, open, close, volume FROM market_candles ORDER BY open_time"
        )
    return [tuple(r.values()) for r in rows]


def _job() -> BackfillJob:
    return BackfillJob("hyperliquid", "BTC", "1h", START, END)


def test_full_backfill_stores_every_candle_once(database: Database) -> None:
    transport, calls = fake_hyperliquid()
    result = asyncio.run(_backfill(database, transport).run(_job(), NOW))
    rows = _rows(database)
    assert result.done
    assert len(rows) == 1301
    assert len(calls) == 3
    assert rows[0][1] == _row(START_MS)["o"]


def test_killed_backfill_resumes_to_the_same_rows(database: Database) -> None:
    # Arrange: one run dies during its third request.
    dying, _ = fake_hyperliquid(die_after=2)
    with pytest.raises(Killed):
        asyncio.run(_backfill(database, dying).run(_job(), NOW))
    partial = len(_rows(database))
    # Act: the rerun resumes from the saved cursor.
    healthy, calls = fake_hyperliquid()
    result = asyncio.run(_backfill(database, healthy).run(_job(), NOW))
    # Assert
    assert partial == 1000
    assert result.resumed_from == START + timedelta(hours=1000)
    assert len(calls) == 1
    expected = [_row(START_MS + i * HOUR_MS) for i in range(1301)]
    assert [(r[0], r[1]) for r in _rows(database)] == [
        (row["t"] * 1000, row["o"]) for row in expected
    ]


def test_rerunning_a_finished_backfill_fetches_nothing(database: Database) -> None:
    transport, _ = fake_hyperliquid()
    asyncio.run(_backfill(database, transport).run(_job(), NOW))
    again, calls = fake_hyperliquid()
    asyncio.run(_backfill(database, again).run(_job(), NOW))
    assert calls == []
    assert len(_rows(database)) == 1301
