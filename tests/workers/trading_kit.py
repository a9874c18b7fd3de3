"""A replay-fed world for trading tests: container, feed and trading worker on simulated time.

The market runs on the bundled candles at five market minutes per service second; two
drivers share one runtime: ``market`` steps only the feed (the trading worker is down),
``both`` steps the feed then the trading worker (so a tick sees the candle that closed at
it). ``publish`` and ``sandbox`` build a published clone version and a funded account.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID, uuid5

from adapters.bootstrap import Container, bootstrap
from adapters.database import open_database
from adapters.market_replay import ReplayMarketClock, ReplayStore
from domain.clock import SimulatedClock
from domain.clones.version import StrategyVersion
from domain.prop.rules import Purpose, RuleSet
from tests.api.conftest import api_settings
from tests.conftest import schema_of
from tests.domain.clones.graph_examples import document, edge, node
from workers.driver import DeterministicDriver
from workers.market_replay import BundledArchive, MarketReplay
from workers.runtime import Runtime, Worker
from workers.trading import TradingWorker

REAL = datetime(2026, 12, 1, 12, tzinfo=UTC)
DATA_START = datetime(2021, 7, 3, tzinfo=UTC)
FIVE = timedelta(minutes=5)
ARCHIVE = BundledArchive()
NS = UUID("7e1c2f5a-0000-4000-8000-0000000000aa")
ASSETS = frozenset({"BTC", "ETH", "SOL"})


@dataclass
class TradingWorld:
    """Everything a trading test drives."""

    container: Container
    service: SimulatedClock
    market: DeterministicDriver
    both: DeterministicDriver
    worker: TradingWorker

    def run(self, market_minutes: int, *, trading: bool = True) -> None:
        """Advance the market by ``market_minutes`` (multiples of 5), trading or not."""
        driver = self.both if trading else self.market
        until = self.service.now() + timedelta(seconds=market_minutes // 5)
        driver.run(until=until, step=timedelta(seconds=1))

    def publish(self, graph: dict[str, Any], name: str = "clone") -> StrategyVersion:
        """Create, draft and publish a clone owned by ``user-<name>``."""
        clones, tiers = self.container.clones, self.container.tiers
        clone_id = uuid5(NS, name)
        clones.create_clone(clone_id, f"user-{name}", name.title())
        clones.save_draft(clone_id, graph, known_assets=ASSETS, table=tiers)
        return clones.publish_version(clone_id, known_assets=ASSETS, table=tiers).value

    def sandbox(self, cause: str, owner: str = "user-clone") -> UUID:
        """A 10,000 USDC sandbox account."""
        return self.container.prop.open_account(
            cause=cause,
            owner=owner,
            purpose=Purpose.SANDBOX,
            rules=RuleSet(),
            collateral_micros=10_000_000_000,
        )

    def rows(self, account_id: UUID) -> list[dict[str, Any]]:
        """The account's decision rows, oldest tick first."""
        rows = self.container.decisions.page(account_id, before=None, limit=10_000)
        return sorted(rows, key=lambda r: r["tick_at"])

    def fills(self, account_id: UUID) -> list[Any]:
        """The account's fill events, in order."""
        events = self.container.prop.repository.event_store.get(account_id)
        return [e for e in events if type(e).__name__ == "OrderFilled"]


@contextmanager
def trading_world(
    database_url: str,
    *,
    extra: Sequence[Callable[[Container], Worker]] = (),
    start: datetime = REAL,
    **settings: Any,
) -> Iterator[TradingWorld]:
    """Build the world on ``database_url``; the feed has anchored at the data's start.

    ``extra`` builds more workers that step after the trading worker (marks, auditions);
    ``start`` is the service clock's first instant.
    """
    clock_database = open_database(
        database_url.split("?", maxsplit=1)[0], schema=schema_of(database_url)
    )
    market_clock = ReplayMarketClock(
        ReplayStore(clock_database), fallback=DATA_START, cache_seconds=0
    )
    service = SimulatedClock(start)
    container = bootstrap(
        api_settings(database_url, **settings), service_clock=service, market_clock=market_clock
    )
    feed = MarketReplay(
        store=container.replay,
        market=container.market,
        market_clock=market_clock,
        speed=300,
        on_published=container.features.on_candles,
        archive_factory=lambda: ARCHIVE,
    )
    runtime = Runtime(container.database, service, holder="driver", rng=random.Random(7))
    worker = TradingWorker(container)
    world = TradingWorld(
        container,
        service,
        DeterministicDriver(runtime, service, [feed]),
        DeterministicDriver(runtime, service, [feed, worker, *(make(container) for make in extra)]),
        worker,
    )
    world.market.tick()  # the feed anchors at the data's start
    try:
        yield world
    finally:
        container.close()
        clock_database.close()


def ema_graph(asset: str = "BTC", model_tier: str | None = None) -> dict[str, Any]:
    """Long ``asset`` on EMA 12 crossing above EMA 26, flat on crossing below; no stops.

    With ``model_tier`` the crossovers become hints to a model node of that tier.
    """
    nodes = [
        node("mkt", "market", asset=asset, interval="5m"),
        node("fast", "feature", channel="ema:12"),
        node("slow", "feature", channel="ema:26"),
        node("golden", "rule", op="crosses_above"),
        node("death", "rule", op="crosses_below"),
        node("risk", "risk", sizeFraction="0.2", leverage=2, maxOpenPositions=1),
        node("act", "action"),
    ]
    sink = "act"
    edges = [
        edge("mkt", "fast"),
        edge("mkt", "slow"),
        edge("fast", "golden", "left"),
        edge("slow", "golden", "right"),
        edge("fast", "death", "left"),
        edge("slow", "death", "right"),
        edge("risk", "act", "risk"),
    ]
    if model_tier is not None:
        nodes.append(node("llm", "model", promptTemplate="v1", modelTier=model_tier))
        edges.append(edge("llm", "act", "decide"))
        sink = "llm"
    edges += [edge("golden", sink, "open_long"), edge("death", sink, "close")]
    return document(nodes, edges)
