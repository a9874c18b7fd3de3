"""The mark and funding worker: stops on marks, funding once per period, snapshots, resume."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from adapters.bootstrap import Container, bootstrap
from domain.clock import SimulatedClock
from domain.market.model import AssetContext, FundingRate
from domain.prop.orders import MarketOrder
from domain.prop.positions import Side
from domain.prop.rules import Purpose, RuleSet
from tests.api.conftest import api_settings
from workers.marks import MarkWorker
from workers.runtime import Runtime

T0 = datetime(2021, 7, 3, 0, 0, tzinfo=UTC)
D = Decimal


@pytest.fixture
def market_clock() -> SimulatedClock:
    return SimulatedClock(T0)


@pytest.fixture
def container(database_url: str, market_clock: SimulatedClock) -> Iterator[Container]:
    built = bootstrap(
        api_settings(database_url),
        market_clock=market_clock,
        service_clock=SimulatedClock(datetime(2026, 12, 1, tzinfo=UTC)),
    )
    yield built
    built.close()


def _mark(container: Container, at: datetime, price: str) -> None:
    container.market.upsert_contexts("test", [AssetContext("BTC", at, D(price), D(price), D(0))])


def _account(container: Container, stop: str | None = None) -> object:
    _mark(container, T0, "100000")
    account_id = container.prop.open_account(
        cause="marks:1",
        owner="u1",
        purpose=Purpose.SANDBOX,
        rules=RuleSet(),
        collateral_micros=20_000_000_000,
    )
    container.prop.submit_order(
        account_id,
        MarketOrder("o1", "BTC", Side.BUY, D("0.1"), 5, stop_loss=D(stop) if stop else None),
    )
    from projections.catalog import runners

    for runner in runners(container):
        runner.catch_up()
    return account_id


def _step(container: Container) -> None:
    runtime = Runtime(container.database, container.service_clock, holder="test")
    report = runtime.step(MarkWorker(container))
    assert report.failed == ()


def test_stop_loss_fires_when_the_market_moves(
    container: Container, market_clock: SimulatedClock
) -> None:
    account_id = _account(container, stop="95000")
    market_clock.advance(timedelta(minutes=5))
    _mark(container, market_clock.now(), "94000")
    _step(container)
    assert container.prop.account(account_id).positions == {}  # type: ignore[arg-type]


def test_funding_applied_once_even_after_a_restart(
    container: Container, market_clock: SimulatedClock
) -> None:
    account_id = _account(container)
    _step(container)
    container.market.upsert_funding(
        "test", [FundingRate("BTC", T0 + timedelta(hours=1), D("0.0001"))]
    )
    market_clock.advance(timedelta(hours=1, minutes=1))
    _mark(container, market_clock.now(), "100000")
    _step(container)
    _step(container)  # nothing new: the cursor is at the market's now
    account = container.prop.account(account_id)  # type: ignore[arg-type]
    assert account.funding_micros == 1_000_000  # 0.1 BTC * 100,000 * 0.0001
    with container.database.transaction(write=False) as session:
        snapshots = session.fetch_all("SELECT at FROM prop_equity_snapshots ORDER BY at")
    hours = [T0, T0 + timedelta(hours=1)]
    assert [row["at"] for row in snapshots] == [int(h.timestamp() * 1_000_000) for h in hours]
