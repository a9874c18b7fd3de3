"""The trading worker's runtime rules: missed ticks, crash recovery, guardrail, unbinding."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from decimal import Decimal

import pytest

from adapters.decision_store import DecisionRow
from domain.clones.tiers import EntitlementError, Stage, guard
from domain.prop.orders import MarketOrder
from domain.prop.positions import Side
from domain.trading.decisions import decision_id_for
from domain.trading.sizing import client_order_id
from tests.workers.trading_kit import DATA_START, FIVE, TradingWorld, ema_graph, trading_world

HOUR = timedelta(hours=1)


@pytest.fixture
def world(database_url: str) -> Iterator[TradingWorld]:
    with trading_world(database_url) as built:
        yield built


def _bind(world: TradingWorld, graph: dict | None = None, name: str = "clone"):
    version = world.publish(graph or ema_graph(), name)
    account_id = world.sandbox(f"runtime:{name}")
    world.container.trading.bind(
        account_id, version, version.id, purpose="sandbox", starts_at=DATA_START + FIVE
    )
    return version, account_id


def test_ticks_missed_while_the_worker_was_down_are_one_skipped_row(world) -> None:
    _, account_id = _bind(world)
    world.run(30)  # 00:05 .. 00:30 decided
    world.run(60, trading=False)  # the trading worker is down for an hour
    world.run(5)
    rows = world.rows(account_id)
    skipped = [r for r in rows if r["status"] == "skipped"]
    assert len(skipped) == 1
    gap = skipped[0]
    assert gap["tick_at"] == DATA_START + 35 * timedelta(minutes=1)
    assert gap["skipped_until"] == DATA_START + 90 * timedelta(minutes=1)
    assert gap["skipped_count"] == 12
    decided = [r["tick_at"] for r in rows if r["status"] != "skipped"]
    assert decided[-1] == DATA_START + 95 * timedelta(minutes=1)  # resumed at the latest tick
    assert DATA_START + HOUR not in decided  # never replayed late


def test_orders_planned_before_a_crash_are_sent_once_on_the_next_step(world) -> None:
    version, account_id = _bind(world)
    world.run(10)
    tick = DATA_START + 15 * timedelta(minutes=1)
    decision_id = decision_id_for(f"crashed:{account_id}", tick)
    order = MarketOrder(client_order_id(decision_id, "BTC"), "BTC", Side.BUY, Decimal("0.01"), 2)
    # The state a crash leaves between storing a decision and sending its orders:
    world.container.decisions.record(
        DecisionRow(
            decision_id=decision_id,
            account_id=account_id,
            clone_id=version.clone_id,
            version_id=version.id,
            tick_at=tick,
            status="act",
            assets=("BTC",),
            recorded_at=world.service.now(),
            orders=(order,),
        ),
        {"BTC": tick},
    )
    world.run(5)
    world.run(5)
    fills = [f for f in world.fills(account_id) if f.client_order_id == order.client_order_id]
    assert len(fills) == 1
    [row] = [r for r in world.rows(account_id) if r["decision_id"] == str(decision_id)]
    assert row["phase"] == "executed"
    assert row["outcomes"][0]["status"] == "filled"


def test_a_version_beyond_its_grant_is_refused_at_runtime_as_at_backtest(world) -> None:
    # the mock Starter grant allows "basic" models only; this version needs "standard"
    version, account_id = _bind(world, ema_graph(model_tier="standard"), "beyond")
    world.run(15)
    rows = world.rows(account_id)
    assert rows
    assert {r["status"] for r in rows} == {"refused"}
    assert world.fills(account_id) == []
    grant = world.container.entitlements.effective_tier(version.clone_id)
    assert grant is not None
    assert grant.mock
    with pytest.raises(EntitlementError) as backtest:
        guard(version.topology, stage=Stage.BACKTEST, grant=grant, table=world.container.tiers)
    assert rows[0]["errors"][0].startswith(f"{backtest.value.reason}: ")
    assert rows[0]["errors"][0] == f"{backtest.value.reason}: {backtest.value}"


def test_unbinding_stops_trading_and_pausing_skips_nothing(world) -> None:
    _, account_id = _bind(world)
    world.run(20)
    paused_from = world.container.market_clock.now() + FIVE
    world.container.trading.pause(
        account_id, start=paused_from, end=paused_from + 3 * FIVE, reason="race"
    )
    world.run(30)
    ticks = [r["tick_at"] for r in world.rows(account_id)]
    assert paused_from not in ticks
    assert all(r["status"] != "skipped" for r in world.rows(account_id))
    world.container.trading.unbind(account_id, reason="done")
    count = len(world.rows(account_id))
    world.run(30)
    assert len(world.rows(account_id)) == count


def test_an_action_that_sizes_to_nothing_records_why(world) -> None:
    graph = ema_graph()
    for node in graph["nodes"]:
        if node["kind"] == "risk":
            node["params"]["sizeFraction"] = "0.0000001"  # floors to zero BTC
    _, account_id = _bind(world, graph, "tiny")
    world.run(12 * 60)
    acts = [r for r in world.rows(account_id) if r["status"] == "act"]
    assert acts
    assert world.fills(account_id) == []
    for row in acts:
        assert row["phase"] == "executed"
        assert [o["reason"] for o in row["outcomes"]] == ["size_below_grid"]
