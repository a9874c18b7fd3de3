"""The trading worker on the replay feed: an EMA-crossover clone trades a sandbox account.

The market runs on the bundled 5-minute BTC candles, driven step by step on a simulated
service clock; the trading worker decides each 5-minute tick with the ``rules`` provider.
The test recomputes EMA(12) and EMA(26) of the closes on its own (plain floats, SMA-seeded
as the channel documents) and checks that the account opened a long exactly at every golden
cross while flat and closed it exactly at every death cross while long, nothing else; and
that every tick of the binding has exactly one decision row.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID, uuid5

import pytest

from adapters.bootstrap import Container, bootstrap
from adapters.database import open_database
from adapters.market_replay import ReplayMarketClock, ReplayStore
from domain.clock import SimulatedClock
from domain.prop.rules import Purpose, RuleSet
from tests.api.conftest import api_settings
from tests.conftest import schema_of
from tests.domain.clones.graph_examples import document, edge, node
from workers.driver import DeterministicDriver
from workers.market_replay import BundledArchive, MarketReplay
from workers.runtime import Runtime
from workers.trading import TradingWorker

REAL = datetime(2026, 12, 1, 12, tzinfo=UTC)
DATA_START = datetime(2021, 7, 3, tzinfo=UTC)
HOURS = 12
FIVE = timedelta(minutes=5)
ARCHIVE = BundledArchive()
NS = UUID("7e1c2f5a-0000-4000-8000-0000000000aa")


def ema_graph() -> dict[str, Any]:
    """Long BTC on EMA 12 crossing above EMA 26, flat on crossing below; no stops."""
    return document(
        [
            node("btc", "market", asset="BTC", interval="5m"),
            node("fast", "feature", channel="ema:12"),
            node("slow", "feature", channel="ema:26"),
            node("golden", "rule", op="crosses_above"),
            node("death", "rule", op="crosses_below"),
            node("risk", "risk", sizeFraction="0.2", leverage=2, maxOpenPositions=1),
            node("act", "action"),
        ],
        [
            edge("btc", "fast"),
            edge("btc", "slow"),
            edge("fast", "golden", "left"),
            edge("slow", "golden", "right"),
            edge("fast", "death", "left"),
            edge("slow", "death", "right"),
            edge("golden", "act", "open_long"),
            edge("death", "act", "close"),
            edge("risk", "act", "risk"),
        ],
    )


@pytest.fixture
def world(database_url: str) -> Iterator[tuple[Container, DeterministicDriver]]:
    url = database_url.split("?", maxsplit=1)[0]
    clock_database = open_database(url, schema=schema_of(database_url))
    market_clock = ReplayMarketClock(
        ReplayStore(clock_database), fallback=DATA_START, cache_seconds=0
    )
    service = SimulatedClock(REAL)
    container = bootstrap(
        api_settings(database_url), service_clock=service, market_clock=market_clock
    )
    feed = MarketReplay(
        store=container.replay,
        market=container.market,
        market_clock=market_clock,
        speed=300,  # five market minutes per service second
        on_published=container.features.on_candles,
        archive_factory=lambda: ARCHIVE,
    )
    runtime = Runtime(container.database, service, holder="driver", rng=random.Random(7))
    driver = DeterministicDriver(runtime, service, [feed, TradingWorker(container)])
    driver.tick()  # the feed anchors at the data's start
    yield container, driver
    container.close()
    clock_database.close()


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


def test_ema_crossover_trades_exactly_at_the_crossovers(world) -> None:
    container, driver = world
    owner, clone_id = "user-ema", uuid5(NS, "clone")
    assets = {"BTC", "ETH", "SOL"}
    container.clones.create_clone(clone_id, owner, "Crossy")
    container.clones.save_draft(clone_id, ema_graph(), known_assets=assets, table=container.tiers)
    version = container.clones.publish_version(
        clone_id, known_assets=assets, table=container.tiers
    ).value
    account_id = container.prop.open_account(
        cause="ema-test",
        owner=owner,
        purpose=Purpose.SANDBOX,
        rules=RuleSet(),
        collateral_micros=10_000_000_000,
    )
    start = DATA_START + FIVE
    container.trading.bind(account_id, version, version.id, purpose="sandbox", starts_at=start)

    driver.run(until=REAL + timedelta(seconds=HOURS * 12 + 1), step=timedelta(seconds=1))
    end = container.market_clock.now()
    assert end >= DATA_START + timedelta(hours=HOURS)

    recorded = [
        (e.timestamp, "open" if e.size > 0 else "close")
        for e in container.prop.repository.event_store.get(account_id)
        if type(e).__name__ == "OrderFilled"
    ]
    expected = expected_trades(start, end)
    assert len(expected) >= 2, "the window should hold at least one round trip"
    assert recorded == expected

    rows = container.decisions.page(account_id, before=None, limit=1000)
    decided = sorted(r["tick_at"] for r in rows if r["status"] != "skipped")
    missed = sum(r["skipped_count"] for r in rows if r["status"] == "skipped")
    ticks = int((end - start) / FIVE) + 1
    assert len(decided) + missed == ticks
    assert len(set(decided)) == len(decided)
    acts = [r for r in rows if r["status"] == "act"]
    assert len(acts) == len(expected)
    assert all(r["provider"] == "rules" and r["tokens_in"] == 0 for r in rows if r["provider"])
