"""The offline replay feed on a simulated service clock: advance, continue, end visibly."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from adapters.database import Database
from adapters.market_replay import ReplayMarketClock, ReplayStore
from adapters.market_store import MarketStore
from domain.clock import SimulatedClock
from workers.driver import DeterministicDriver
from workers.market_replay import BundledArchive, MarketReplay
from workers.runtime import Runtime

REAL = datetime(2026, 12, 1, 12, tzinfo=UTC)
DATA_START = datetime(2021, 7, 3, tzinfo=UTC)
ARCHIVE = BundledArchive()


def _feed(database: Database, speed: float = 60) -> tuple[MarketReplay, ReplayMarketClock]:
    store = ReplayStore(database)
    clock = ReplayMarketClock(store, fallback=DATA_START, cache_seconds=0)
    feed = MarketReplay(
        store=store,
        market=MarketStore(database),
        market_clock=clock,
        speed=speed,
        archive_factory=lambda: ARCHIVE,
    )
    return feed, clock


def _driver(database: Database, service: SimulatedClock, feed: MarketReplay) -> DeterministicDriver:
    runtime = Runtime(database, service, holder="driver", rng=random.Random(1))
    return DeterministicDriver(runtime, service, [feed])


def test_first_run_imports_history_and_starts_at_data_start(database: Database) -> None:
    service = SimulatedClock(REAL)
    feed, clock = _feed(database)
    _driver(database, service, feed).tick()
    market = MarketStore(database)
    assert clock.now() == DATA_START
    history = market.candles(
        "BTC", "1h", start=datetime(2020, 12, 1, tzinfo=UTC), end=DATA_START, known_at=DATA_START
    )
    assert len(history) > 4000
    assert market.latest_candle("BTC", "5m", DATA_START) is None


def test_feed_advances_at_speed_and_publishes_marks(database: Database) -> None:
    service = SimulatedClock(REAL)
    feed, clock = _feed(database, speed=60)
    driver = _driver(database, service, feed)
    driver.run(until=REAL + timedelta(seconds=10), step=timedelta(seconds=1))
    # 10 real seconds at 60x after the anchoring step: 9 steps of a minute.
    assert clock.now() == DATA_START + timedelta(minutes=9)
    context = MarketStore(database).context_at("BTC", clock.now())
    first = ARCHIVE.closing_in(DATA_START, DATA_START + timedelta(minutes=5))
    btc = next(c for c in first if c.asset == "BTC")
    assert context is not None
    assert context.mark == context.oracle == btc.close
    assert context.funding == Decimal(0)


def test_restart_continues_from_persisted_position(database: Database) -> None:
    service = SimulatedClock(REAL)
    feed, clock = _feed(database)
    _driver(database, service, feed).run(
        until=REAL + timedelta(seconds=5), step=timedelta(seconds=1)
    )
    stopped_at = clock.now()
    service.advance(timedelta(hours=2))  # the process was down for two hours
    restarted, restarted_clock = _feed(database)
    _driver(database, service, restarted).tick()
    assert restarted_clock.now() == stopped_at


def test_feed_ends_visibly_at_end_of_data(database: Database) -> None:
    service = SimulatedClock(REAL)
    feed, clock = _feed(database, speed=2_000_000)
    driver = _driver(database, service, feed)
    driver.run(until=REAL + timedelta(seconds=3), step=timedelta(seconds=1))
    state = ReplayStore(database).state()
    assert state is not None
    assert state.status == "ended"
    assert clock.now() == ARCHIVE.data_end
    assert feed.pending(service.now()) == []
