"""Valid strategy graphs: parsing, canonical documents and deterministic compilation."""

from __future__ import annotations

import json
import random
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest

from domain.clones.graph import (
    GraphInvalid,
    StrategyGraph,
    compile_graph,
    parse_graph,
    topology,
)
from domain.trading.spec import ChannelRef, Condition, ModelPlan, RiskLimits, StrategySpec, Topology
from tests.domain.clones.graph_examples import (
    ASSETS,
    document,
    edge,
    ema_crossover,
    find,
    llm_strategy,
    node,
)

Example = Callable[[], dict[str, Any]]
EMA12 = ChannelRef("BTC", "5m", "ema:12")
EMA26 = ChannelRef("BTC", "5m", "ema:26")


def compiled(doc: dict[str, Any]) -> StrategySpec:
    return compile_graph(parse_graph(doc, known_assets=ASSETS))


def test_ema_crossover_compiles_to_one_asset_with_crossover_signals() -> None:
    # Act
    spec = compiled(ema_crossover())

    # Assert
    (plan,) = spec.assets
    assert (plan.asset, plan.cadence) == ("BTC", "5m")
    assert plan.signals == {
        "open_long": Condition("crosses_above", EMA12, EMA26),
        "close": Condition("crosses_below", EMA12, EMA26),
    }
    assert spec.channels == (EMA12, EMA26)
    assert spec.model is None
    assert spec.risk == RiskLimits(Decimal("0.1"), 3, Decimal(2), Decimal(4), 1)
    assert spec.topology == Topology(7, 1, 0, None, "5m")


def test_llm_strategy_compiles_model_plan_hints_and_every_upstream_asset() -> None:
    # Act
    spec = compiled(llm_strategy())

    # Assert
    rsi = ChannelRef("BTC", "1h", "rsi:14")
    funding = ChannelRef("BTC", "-", "funding")
    macd_signal = ChannelRef("ETH", "15m", "macd:12,26,9", "signal")
    assert spec.asset_names == ("BTC", "ETH")
    assert spec.plan("BTC").cadence == "1h"
    assert spec.plan("BTC").signals == {"close": Condition("gt", rsi, threshold=Decimal(70))}
    assert spec.plan("ETH").cadence == "15m"
    assert spec.plan("ETH").signals == {}
    assert spec.model == ModelPlan(
        "v1",
        "standard",
        "Trade trend breaks; stay flat when funding is extreme.",
        tuple(sorted((rsi, funding, macd_signal))),
    )
    assert spec.channels == tuple(sorted((rsi, funding, macd_signal)))
    assert spec.topology == Topology(9, 2, 1, "standard", "15m")


@pytest.mark.parametrize("example", [ema_crossover, llm_strategy])
def test_compiled_spec_round_trips_through_its_document(example: Example) -> None:
    # Arrange
    spec = compiled(example())

    # Act
    again = StrategySpec.from_document(json.loads(spec.canonical_json()))

    # Assert
    assert again == spec
    assert again.canonical_json() == spec.canonical_json()


@pytest.mark.parametrize("example", [ema_crossover, llm_strategy])
def test_two_compilations_are_byte_equal_whatever_the_document_order(example: Example) -> None:
    # Arrange
    first = example()
    shuffled = example()
    random.Random(7).shuffle(shuffled["nodes"])
    random.Random(8).shuffle(shuffled["edges"])

    # Act
    one, two = compiled(first), compiled(shuffled)

    # Assert
    assert one.canonical_json() == two.canonical_json()
    assert one.content_hash == two.content_hash


@pytest.mark.parametrize("example", [ema_crossover, llm_strategy])
def test_canonical_document_reparses_to_an_equal_graph(example: Example) -> None:
    # Arrange
    graph = parse_graph(example(), known_assets=ASSETS)

    # Act
    again = parse_graph(json.loads(json.dumps(graph.to_document())), known_assets=ASSETS)

    # Assert
    assert again == graph
    assert again.to_document() == graph.to_document()


def test_equal_decimals_written_differently_give_the_same_spec() -> None:
    # Arrange
    plain, padded = ema_crossover(), ema_crossover()
    find(padded, "risk")["params"].update(sizeFraction="0.100", stopLossPct=Decimal("2.0"))

    # Act / Assert
    assert compiled(plain).canonical_json() == compiled(padded).canonical_json()


def test_threshold_accepts_decimal_from_a_decimal_preserving_json_parser() -> None:
    # Arrange
    text = json.dumps(llm_strategy()).replace('"threshold": "70"', '"threshold": 70.5')
    doc = json.loads(text, parse_float=Decimal)

    # Act
    spec = compiled(doc)

    # Assert
    assert spec.plan("BTC").signals["close"].threshold == Decimal("70.5")


def test_logical_rules_compile_to_nested_conditions() -> None:
    # Arrange
    doc = ema_crossover()
    doc["nodes"] += [
        node("rsi", "feature", channel="rsi:14"),
        node("calm", "rule", op="lt", threshold="70"),
        node("not_hot", "rule", op="not"),
        node("calm_cross", "rule", op="and"),
    ]
    doc["edges"] = [e for e in doc["edges"] if e["from"] != "golden"]
    doc["edges"] += [
        edge("btc", "rsi"),
        edge("rsi", "calm", "left"),
        edge("calm", "not_hot"),
        edge("golden", "calm_cross"),
        edge("not_hot", "calm_cross", "in"),
        edge("calm_cross", "act", "open_long"),
    ]

    # Act
    spec = compiled(doc)

    # Assert
    rsi = ChannelRef("BTC", "5m", "rsi:14")
    assert spec.plan("BTC").signals["open_long"] == Condition(
        "and",
        children=(
            Condition("crosses_above", EMA12, EMA26),
            Condition("not", children=(Condition("lt", rsi, threshold=Decimal(70)),)),
        ),
    )
    assert spec.channels == (EMA12, EMA26, rsi)


def test_two_market_nodes_of_one_asset_and_interval_are_one_asset() -> None:
    # Arrange
    doc = ema_crossover()
    doc["nodes"].append(node("btc_again", "market", asset="BTC", interval="5m"))
    doc["edges"] = [e for e in doc["edges"] if e != edge("btc", "slow")]
    doc["edges"].append(edge("btc_again", "slow"))

    # Act
    spec = compiled(doc)

    # Assert
    assert spec.asset_names == ("BTC",)
    assert spec.topology.assets == 1


def test_topology_counts_nodes_assets_models_and_fastest_cadence() -> None:
    # Arrange
    graph = parse_graph(llm_strategy(), known_assets=ASSETS)

    # Act
    shape = topology(graph)

    # Assert
    assert shape == Topology(
        nodes=9, assets=2, model_nodes=1, strongest_model="standard", fastest_cadence="15m"
    )


def test_unknown_asset_of_another_registry_is_refused() -> None:
    # Act
    with pytest.raises(GraphInvalid) as caught:
        parse_graph(ema_crossover(), known_assets={"ETH"})

    # Assert
    assert caught.value.codes == {"unknown_asset"}


def test_hand_built_graph_without_action_is_not_compiled() -> None:
    # Arrange
    graph = StrategyGraph(())

    # Act / Assert
    with pytest.raises(ValueError, match="not enough values"):
        compile_graph(graph)


def test_empty_graph_reports_its_missing_action() -> None:
    # Act
    with pytest.raises(GraphInvalid) as caught:
        parse_graph(document([], []), known_assets=ASSETS)

    # Assert
    assert caught.value.codes == {"missing_action"}


def test_optional_params_set_to_null_are_absent() -> None:
    # Arrange
    doc = ema_crossover()
    find(doc, "risk")["params"].update(stopLossPct=None, takeProfitPct=None)
    find(doc, "fast")["params"]["component"] = None

    # Act
    graph = parse_graph(doc, known_assets=ASSETS)

    # Assert
    risk = find(graph.to_document(), "risk")["params"]
    assert "stopLossPct" not in risk
    assert "takeProfitPct" not in risk
    assert compile_graph(graph).risk.stop_loss_pct is None


def test_small_decimals_survive_the_canonical_document() -> None:
    doc = ema_crossover()
    for record in doc["nodes"]:
        if record["kind"] == "risk":
            record["params"]["sizeFraction"] = "0.0000001"
            record["params"]["stopLossPct"] = "0.00005"
    canonical = parse_graph(doc, known_assets=ASSETS).to_document()
    risk = next(n for n in canonical["nodes"] if n["kind"] == "risk")
    assert risk["params"]["sizeFraction"] == "0.0000001"
    assert risk["params"]["stopLossPct"] == "0.00005"
    assert parse_graph(canonical, known_assets=ASSETS).to_document() == canonical
