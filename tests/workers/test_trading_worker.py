"""The trading worker on the replay feed: an EMA-crossover clone trades a sandbox account.

The market runs on the bundled 5-minute BTC candles, driven step by step on a simulated
service clock; the trading worker decides each 5-minute tick with the ``rules`` provider.
The test recomputes EMA(12) and EMA(26) of the closes on its own (plain floats, SMA-seeded
as the channel documents) and checks that the account opened a long exactly at every golden
cross while flat and closed it exactly at every death cross while long, nothing else; and
that every tick of the binding has exactly one decision row.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta

import pytest

from tests.workers.trading_kit import (
    ARCHIVE,
    DATA_START,
    FIVE,
    TradingWorld,
    ema_graph,
    trading_world,
)

HOURS = 12


@pytest.fixture
def world(database_url: str) -> Iterator[TradingWorld]:
    with trading_world(database_url) as built:
        yield built


def _ema(values: list[float], n: int) -> list[float | None]:
    found: list[float | None] = []
    average: float | None = None
    for index, value in enumerate(values):
        if index + 1 < n:
            found.append(None)
            continue
        if average is None:
            average = sum(values[index + 1 - n : index + 1]) / n
        else:
            average += 2 / (n + 1) * (value - average)
        found.append(average)
    return found


def expected_trades(start: datetime, end: datetime) -> list[tuple[datetime, str]]:
    """(tick, "open"|"close") by an independent EMA computation over the closes."""
    candles = [c for c in ARCHIVE.closing_by(end) if c.asset == "BTC" and c.interval == "5m"]
    candles.sort(key=lambda c: c.open_time)
    closes = [float(c.close) for c in candles]
    times = [c.open_time + FIVE for c in candles]
    fast, slow = _ema(closes, 12), _ema(closes, 26)
    trades, holding = [], False
    for i in range(1, len(candles)):
        f0, s0, f1, s1 = fast[i - 1], slow[i - 1], fast[i], slow[i]
        if None in (f0, s0, f1, s1) or times[i] < start:
            continue
        assert f1 is not None
        assert s1 is not None
        assert f0 is not None
        assert s0 is not None
        assert abs(f1 - s1) > 1e-6 * closes[i], "a near tie would make float and Decimal disagree"
        if not holding and f0 <= s0 and f1 > s1:
            trades.append((times[i], "open"))
            holding = True
        elif holding and f0 >= s0 and f1 < s1:
            trades.append((times[i], "close"))
            holding = False
    return trades


def test_ema_crossover_trades_exactly_at_the_crossovers(world: TradingWorld) -> None:
    version = world.publish(ema_graph())
    account_id = world.sandbox("ema-test")
    start = DATA_START + FIVE
    world.container.trading.bind(
        account_id, version, version.id, purpose="sandbox", starts_at=start
    )

    world.run(HOURS * 60)
    end = world.container.market_clock.now()
    assert end == DATA_START + timedelta(hours=HOURS)

    recorded = [(e.timestamp, "open" if e.size > 0 else "close") for e in world.fills(account_id)]
    expected = expected_trades(start, end)
    assert len(expected) >= 2, "the window should hold at least one round trip"
    assert recorded == expected

    rows = world.rows(account_id)
    assert [r["tick_at"] for r in rows] == [start + i * FIVE for i in range(len(rows))]
    assert rows[-1]["tick_at"] == end
    assert all(r["status"] in ("act", "hold") for r in rows)
    acts = [r for r in rows if r["status"] == "act"]
    assert [r["tick_at"] for r in acts] == [t for t, _ in expected]
    assert all(r["provider"] == "rules" and r["tokens_in"] == 0 for r in rows)
    assert all(r["phase"] == "executed" for r in rows)
