"""Invalid strategy graphs: every error code is reported, where it happens, all at once."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest

from domain.clones.graph import MAX_EDGES, MAX_NODES, GraphInvalid, NodeError, parse_graph
from tests.domain.clones.graph_examples import (
    ASSETS,
    RISK,
    edge,
    ema_crossover,
    find,
    llm_strategy,
    node,
)

Doc = dict[str, Any]


def errors_of(doc: object) -> tuple[NodeError, ...]:
    with pytest.raises(GraphInvalid) as caught:
        parse_graph(doc, known_assets=ASSETS)
    return caught.value.errors


def params(doc: Doc, node_id: str, **changes: Any) -> Doc:
    find(doc, node_id)["params"].update(changes)
    return doc


def without_edge(doc: Doc, source: str, target: str) -> Doc:
    doc["edges"] = [e for e in doc["edges"] if (e["from"], e["to"]) != (source, target)]
    return doc


def plus(doc: Doc, nodes: list[Doc], edges: list[Doc]) -> Doc:
    doc["nodes"] += nodes
    doc["edges"] += edges
    return doc


def top(doc: Doc, **changes: Any) -> Doc:
    doc.update(changes)
    return doc


CASES: dict[str, tuple[Callable[[Doc], object], str | None]] = {
    "bad_document": (lambda d: [d], None),
    "unsupported_schema": (lambda d: top(d, schema="clash.strategy-graph/2"), None),
    "unknown_field": (lambda d: top(d, owner="me"), None),
    "missing_field": (lambda d: {"schema": d["schema"], "nodes": d["nodes"]}, None),
    "too_large": (lambda d: top(d, nodes=[node(f"n{i}", "action") for i in range(201)]), None),
    "bad_id": (lambda d: plus(d, [node("bad id!", "action")], []), None),
    "duplicate_id": (lambda d: plus(d, [node("act", "action")], []), "act"),
    "unknown_kind": (lambda d: plus(d, [node("x", "oracle")], [edge("x", "act")]), "x"),
    "unknown_param": (lambda d: params(d, "risk", stoploss="2"), "risk"),
    "missing_param": (lambda d: top(d, nodes=[*d["nodes"], node("m", "market")]), "m"),
    "bad_param": (lambda d: params(d, "risk", sizeFraction=0.1), "risk"),
    "unknown_asset": (lambda d: params(d, "btc", asset="DOGE"), "btc"),
    "unknown_interval": (lambda d: params(d, "btc", interval="7m"), "btc"),
    "bad_channel": (lambda d: params(d, "fast", channel="ema:0"), "fast"),
    "unsupported_channel": (lambda d: params(d, "fast", channel="probability"), "fast"),
    "bad_component": (lambda d: params(d, "fast", component="signal"), "fast"),
    "bad_edge": (lambda d: plus(d, [], [edge("fast", "golden", 3)]), "golden"),  # type: ignore[arg-type]
    "dangling_edge": (lambda d: plus(d, [], [edge("ghost", "act", "open_short")]), "act"),
    "duplicate_edge": (lambda d: plus(d, [], [edge("btc", "fast", "in")]), "fast"),
    "unknown_port": (lambda d: plus(d, [], [edge("golden", "act", "open_long2")]), "act"),
    "wrong_input_kind": (lambda d: plus(d, [], [edge("btc", "act", "open_short")]), "act"),
    "missing_input": (lambda d: without_edge(d, "fast", "golden"), "golden"),
    "too_many_inputs": (lambda d: plus(d, [], [edge("fast", "golden", "right")]), "golden"),
    "conflicting_inputs": (lambda d: params(d, "golden", threshold="1"), "golden"),
    "mixed_decision": (
        lambda d: plus(
            d,
            [node("llm", "model", promptTemplate="v1", modelTier="basic")],
            [edge("fast", "llm", "context"), edge("llm", "act", "decide")],
        ),
        "act",
    ),
    "missing_open_signal": (lambda d: without_edge(d, "golden", "act"), "act"),
    "cycle": (
        lambda d: plus(
            d,
            [node("a", "rule", op="not"), node("b", "rule", op="not")],
            [edge("a", "b"), edge("b", "a"), edge("a", "act", "open_short")],
        ),
        "a",
    ),
    "missing_action": (lambda d: top(d, nodes=[n for n in d["nodes"] if n["id"] != "act"]), None),
    "too_many_actions": (lambda d: plus(d, [node("zz", "action")], []), "zz"),
    "unreachable": (lambda d: plus(d, [node("spare", "risk", **RISK)], []), "spare"),
    "interval_conflict": (
        lambda d: plus(
            without_edge(d, "slow", "death"),
            [
                node("btc_1h", "market", asset="BTC", interval="1h"),
                node("f", "feature", channel="rsi:14"),
            ],
            [edge("btc_1h", "f"), edge("f", "death", "right")],
        ),
        "btc_1h",
    ),
    "mixed_assets": (
        lambda d: plus(
            without_edge(d, "slow", "golden"),
            [
                node("eth", "market", asset="ETH", interval="5m"),
                node("e", "feature", channel="ema:12"),
            ],
            [edge("eth", "e"), edge("e", "golden", "right")],
        ),
        "golden",
    ),
    "duplicate_signal": (lambda d: plus(d, [], [edge("death", "act", "open_long")]), "act"),
    "no_market": (
        lambda d: top(
            d,
            nodes=[
                node("llm", "model", promptTemplate="v1", modelTier="basic"),
                node("risk", "risk", **RISK),
                node("act", "action"),
            ],
            edges=[edge("llm", "act", "decide"), edge("risk", "act", "risk")],
        ),
        "llm",
    ),
}


@pytest.mark.parametrize(("code", "case"), CASES.items(), ids=list(CASES))
def test_each_broken_rule_is_reported_with_its_code_and_node(
    code: str, case: tuple[Callable[[Doc], object], str | None]
) -> None:
    # Arrange
    mutate, expected_node = case

    # Act
    found = errors_of(mutate(ema_crossover()))

    # Assert
    matching = [error for error in found if error.code == code]
    assert matching, found
    assert expected_node in {error.node for error in matching}


def test_several_problems_are_all_listed_in_one_refusal() -> None:
    # Arrange
    doc = ema_crossover()
    params(doc, "btc", asset="DOGE")
    params(doc, "risk", leverage=99, extra=True)
    params(doc, "slow", channel="ema:x")
    doc["edges"].append(edge("golden", "golden", "in"))

    # Act
    found = {(error.node, error.code) for error in errors_of(doc)}

    # Assert
    assert {
        ("btc", "unknown_asset"),
        ("risk", "bad_param"),
        ("risk", "unknown_param"),
        ("slow", "bad_channel"),
        ("golden", "unknown_port"),
        ("golden", "cycle"),
    } <= found


def test_cycle_names_every_node_on_it() -> None:
    # Arrange
    doc = plus(
        ema_crossover(),
        [node(n, "rule", op="or") for n in ("r1", "r2", "r3")],
        [
            edge("r1", "r2"),
            edge("r2", "r3"),
            edge("r3", "r1"),
            edge("golden", "r1"),
            edge("r3", "act", "open_short"),
        ],
    )

    # Act
    cycles = [error for error in errors_of(doc) if error.code == "cycle"]

    # Assert
    assert len(cycles) == 1
    assert cycles[0].node == "r1"
    assert "r1, r2, r3" in cycles[0].message


def test_self_loop_is_a_cycle() -> None:
    # Arrange
    doc = plus(ema_crossover(), [], [edge("golden", "golden", "left")])

    # Act
    codes = {error.code for error in errors_of(doc)}

    # Assert
    assert "cycle" in codes


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"sizeFraction": "0"}, "params.sizeFraction"),
        ({"sizeFraction": "1.01"}, "params.sizeFraction"),
        ({"leverage": 0}, "params.leverage"),
        ({"leverage": 51}, "params.leverage"),
        ({"leverage": True}, "params.leverage"),
        ({"leverage": "3"}, "params.leverage"),
        ({"stopLossPct": "50.01"}, "params.stopLossPct"),
        ({"takeProfitPct": "1000.5"}, "params.takeProfitPct"),
        ({"maxOpenPositions": 11}, "params.maxOpenPositions"),
        ({"sizeFraction": "1e-1"}, "params.sizeFraction"),
        ({"sizeFraction": Decimal("NaN")}, "params.sizeFraction"),
    ],
)
def test_risk_params_out_of_range_are_bad_params(changes: dict[str, Any], field: str) -> None:
    # Act
    found = errors_of(params(ema_crossover(), "risk", **changes))

    # Assert
    assert [(e.node, e.field, e.code) for e in found] == [("risk", field, "bad_param")]


@pytest.mark.parametrize(
    "threshold", [70.0, "seventy", "1E+5", True, "", [], Decimal("Infinity"), "0." + "1" * 19]
)
def test_threshold_must_be_a_plain_decimal_never_a_float(threshold: object) -> None:
    # Arrange
    doc = llm_strategy()
    params(doc, "hot", threshold=threshold)

    # Act
    found = errors_of(doc)

    # Assert
    assert [(e.node, e.field, e.code) for e in found] == [("hot", "params.threshold", "bad_param")]


def test_model_params_are_validated() -> None:
    # Arrange
    doc = params(
        llm_strategy(), "llm", promptTemplate="v2", modelTier="ultra", instructions="x" * 2001
    )

    # Act
    found = {(e.field, e.code) for e in errors_of(doc)}

    # Assert
    assert found == {
        ("params.promptTemplate", "bad_param"),
        ("params.modelTier", "bad_param"),
        ("params.instructions", "bad_param"),
    }


def test_threshold_on_a_logical_rule_is_refused() -> None:
    # Arrange
    doc = plus(
        ema_crossover(),
        [node("both", "rule", op="and", threshold="1")],
        [edge("golden", "both"), edge("death", "both"), edge("both", "act", "open_short")],
    )

    # Act
    found = {(e.node, e.field, e.code) for e in errors_of(doc)}

    # Assert
    assert ("both", "params.threshold", "bad_param") in found


def test_size_bounds_stop_before_any_node_is_read() -> None:
    # Arrange
    nodes = [node("bad id", "nope")] * (MAX_NODES + 1)
    edges = [edge("a", "b")] * (MAX_EDGES + 1)

    # Act
    found = errors_of({"schema": "clash.strategy-graph/1", "nodes": nodes, "edges": edges})

    # Assert
    assert [(e.field, e.code) for e in found] == [("nodes", "too_large"), ("edges", "too_large")]


def test_errors_serialise_for_an_api_problem_document() -> None:
    # Arrange
    (error,) = errors_of(params(ema_crossover(), "btc", asset="DOGE"))

    # Act
    document = error.to_document()

    # Assert
    assert document == {
        "node": "btc",
        "field": "params.asset",
        "code": "unknown_asset",
        "message": "asset 'DOGE' is not in the registry",
    }


def test_shared_rules_that_would_compile_to_a_huge_condition_are_too_complex() -> None:
    # Arrange: each level ands and ors the two rules of the level below, doubling the tree
    doc = ema_crossover()
    below = ("golden", "death")
    for level in range(30):
        both, either = f"and{level}", f"or{level}"
        plus(
            doc,
            [node(both, "rule", op="and"), node(either, "rule", op="or")],
            [
                edge(below[0], both),
                edge(below[1], both),
                edge(below[0], either),
                edge(below[1], either),
            ],
        )
        below = (both, either)
    plus(doc, [], [edge(below[0], "act", "open_short"), edge(below[1], "act", "open_short")])

    # Act
    found = [error for error in errors_of(doc) if error.code == "too_complex"]

    # Assert: reported where the bound is first crossed, not on every level above it
    assert {error.node for error in found} == {"and8", "or8"}
