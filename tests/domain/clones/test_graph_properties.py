"""Properties of graph parsing and compilation over generated documents.

- Any document, however broken, either parses or raises GraphInvalid: nothing else escapes
  (no TypeError from an unhashable id, no KeyError from a half-valid edge).
- A random DAG of valid nodes parses or is refused; when it parses it compiles, and the
  spec and the canonical document are stable (round trip, byte-equal recompilation).
- A strategy built valid by construction always parses, and its spec trades exactly the
  assets it was built with.
- Cycle detection finds exactly the strongly connected components that hold a loop.
"""

from __future__ import annotations

import json
from typing import Any

from hypothesis import event, given, settings
from hypothesis import strategies as st

from domain.clones.graph import GraphInvalid, StrategyGraph, compile_graph, parse_graph
from domain.clones.graph_document import DraftEdge
from domain.clones.graph_flow import cycles
from domain.trading.spec import MODEL_TIERS, StrategySpec
from tests.domain.clones.graph_examples import ASSETS, RISK, document, edge, node

FAST = settings(max_examples=150, deadline=None)
KINDS = ("market", "feature", "rule", "model", "risk", "action")
PORTS = ("in", "left", "right", "context", "open_long", "open_short", "close", "risk", "decide")
OPS = ("gt", "gte", "lt", "lte", "crosses_above", "crosses_below", "and", "or", "not")
CHANNELS = ("ema:12", "ema:26", "rsi:14", "macd:12,26,9", "funding")

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(allow_nan=True, allow_infinity=True),
    st.decimals(allow_nan=True, allow_infinity=True),
    st.text(max_size=12),
    st.sampled_from([*KINDS, *PORTS, *OPS, *CHANNELS, "BTC", "5m", "v1", "signal", "0.1"]),
)
json_values = st.recursive(
    scalars,
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.dictionaries(
            st.text(max_size=8) | st.sampled_from(["id", "kind", "params"]), inner, max_size=4
        )
    ),
    max_leaves=20,
)
garbage_nodes = st.lists(
    st.fixed_dictionaries(
        {},
        optional={
            "id": st.sampled_from(["a", "b", "c"]) | json_values,
            "kind": st.sampled_from(KINDS) | json_values,
            "params": json_values,
            "x": json_values,
        },
    )
    | json_values,
    max_size=6,
)
garbage_edges = st.lists(
    st.fixed_dictionaries(
        {},
        optional={
            "from": st.sampled_from(["a", "b", "c"]) | json_values,
            "to": st.sampled_from(["a", "b", "c"]) | json_values,
            "port": st.sampled_from(PORTS) | json_values,
        },
    )
    | json_values,
    max_size=6,
)
garbage_documents = json_values | st.fixed_dictionaries(
    {"schema": st.just("clash.strategy-graph/1") | json_values},
    optional={"nodes": garbage_nodes | json_values, "edges": garbage_edges | json_values},
)


def outcome(doc: object) -> StrategyGraph | GraphInvalid:
    try:
        return parse_graph(doc, known_assets=ASSETS)
    except GraphInvalid as refusal:
        return refusal


@FAST
@given(garbage_documents)
def test_garbage_documents_raise_nothing_but_graph_invalid(doc: object) -> None:
    result = outcome(doc)
    if isinstance(result, StrategyGraph):
        compile_graph(result)
    else:
        assert result.errors
        assert all(error.code.isidentifier() for error in result.errors)


@st.composite
def valid_params(draw: st.DrawFn, kind: str) -> dict[str, Any]:
    if kind == "market":
        return {
            "asset": draw(st.sampled_from(sorted(ASSETS))),
            "interval": draw(st.sampled_from(["5m", "1h"])),
        }
    if kind == "feature":
        channel = draw(st.sampled_from(CHANNELS))
        if channel.startswith("macd") and draw(st.booleans()):
            return {"channel": channel, "component": draw(st.sampled_from(["macd", "signal"]))}
        return {"channel": channel}
    if kind == "rule":
        op = draw(st.sampled_from(OPS))
        if op not in ("and", "or", "not") and draw(st.booleans()):
            return {"op": op, "threshold": draw(st.sampled_from(["70", "-0.5", "0"]))}
        return {"op": op}
    if kind == "model":
        return {"promptTemplate": "v1", "modelTier": draw(st.sampled_from(MODEL_TIERS))}
    if kind == "risk":
        return dict(RISK)
    return {}


LAYER = {kind: layer for layer, kind in enumerate(KINDS)}
Edges = dict[tuple[int, int, str], dict[str, Any]]


@st.composite
def random_dags(draw: st.DrawFn) -> dict[str, Any]:
    # Kinds in data-flow order, edges only forward (acyclic). Each node draws inputs of the
    # right kinds and counts, a few arbitrary edges are thrown in, and half the time nodes
    # that do not reach an action are pruned: graphs are often valid, often slightly not.
    drawn = draw(st.lists(st.sampled_from(KINDS[:-1]), min_size=1, max_size=12))
    kinds = sorted(drawn, key=LAYER.__getitem__)
    kinds += ["action"] * draw(st.sampled_from([1, 1, 1, 1, 0, 2]))
    params = [draw(valid_params(kind)) for kind in kinds]
    edges: Edges = {}
    for j, kind in enumerate(kinds):
        for port, source_kind, count in _wanted_inputs(draw, kind, params[j]):
            sources = [i for i in range(j) if kinds[i] == source_kind]
            picked = draw(st.permutations(sources))[:count]
            edges.update({(i, j, port): edge(f"n{i}", f"n{j}", port) for i in picked})
    pairs = [(i, j) for i in range(len(kinds)) for j in range(i + 1, len(kinds))]
    if pairs and draw(st.integers(0, 3)) == 0:
        i, j = draw(st.sampled_from(pairs))
        port = draw(st.sampled_from(PORTS))
        edges[i, j, port] = edge(f"n{i}", f"n{j}", port)
    keep = _reaching_action(kinds, edges) if draw(st.booleans()) else set(range(len(kinds)))
    nodes = [node(f"n{i}", kinds[i], **params[i]) for i in sorted(keep)]
    wires = [wire for (i, j, _), wire in edges.items() if {i, j} <= keep]
    return document(nodes, wires)


def _wanted_inputs(
    draw: st.DrawFn, kind: str, params: dict[str, Any]
) -> list[tuple[str, str, int]]:
    signals = [
        ("open_long", "rule", draw(st.integers(0, 1))),
        ("close", "rule", draw(st.integers(0, 1))),
    ]
    if kind == "feature":
        return [("in", "market", 1)]
    if kind == "model":
        return [("context", "feature", draw(st.integers(0, 3))), *signals]
    if kind == "action" and draw(st.booleans()):
        return [("risk", "risk", 1), ("decide", "model", 1)]
    if kind == "action":
        return [("risk", "risk", 1), ("open_short", "rule", 1), *signals]
    if kind != "rule":
        return []
    if params["op"] in ("and", "or", "not"):
        return [("in", "rule", 1 if params["op"] == "not" else draw(st.integers(2, 3)))]
    return [("left", "feature", 1), ("right", "feature", 0 if "threshold" in params else 1)]


def _reaching_action(kinds: list[str], edges: Edges) -> set[int]:
    reached = {i for i, kind in enumerate(kinds) if kind == "action"}
    for j in range(len(kinds) - 1, -1, -1):
        if j in reached:
            reached |= {i for (i, target, _) in edges if target == j}
    return reached


def assert_stable(graph: StrategyGraph) -> StrategySpec:
    spec = compile_graph(graph)
    assert StrategySpec.from_document(json.loads(spec.canonical_json())) == spec
    again = parse_graph(json.loads(json.dumps(graph.to_document())), known_assets=ASSETS)
    assert again == graph
    assert compile_graph(again).canonical_json() == spec.canonical_json()
    return spec


@FAST
@given(random_dags())
def test_random_dags_of_valid_nodes_parse_and_compile_or_are_refused(doc: dict[str, Any]) -> None:
    result = outcome(doc)
    if isinstance(result, StrategyGraph):
        event("parsed")
        assert_stable(result)
    else:
        event(f"refused: {min(result.codes)}")
        assert "cycle" not in result.codes


@st.composite
def valid_strategies(draw: st.DrawFn) -> tuple[dict[str, Any], set[str], bool]:
    assets = draw(st.sets(st.sampled_from(sorted(ASSETS)), min_size=1))
    with_model = draw(st.booleans())
    owner = "llm" if with_model else "act"
    nodes = [node("risk", "risk", **RISK), node("act", "action")]
    edges = [edge("risk", "act", "risk")]
    if with_model:
        tier = draw(st.sampled_from(MODEL_TIERS))
        nodes.append(node("llm", "model", promptTemplate="v1", modelTier=tier))
        edges.append(edge("llm", "act", "decide"))
    for asset in sorted(assets):
        a = asset.lower()
        threshold = str(draw(st.decimals(-100, 100, places=2)))
        nodes += [
            node(a, "market", asset=asset, interval=draw(st.sampled_from(["1m", "5m", "4h"]))),
            node(f"{a}_f1", "feature", channel=draw(st.sampled_from(CHANNELS))),
            node(f"{a}_f2", "feature", channel=draw(st.sampled_from(CHANNELS))),
            node(f"{a}_r1", "rule", op=draw(st.sampled_from(OPS[:6]))),
            node(f"{a}_r2", "rule", op=draw(st.sampled_from(OPS[:6])), threshold=threshold),
            node(f"{a}_both", "rule", op=draw(st.sampled_from(["and", "or"]))),
        ]
        edges += [
            edge(a, f"{a}_f1"),
            edge(a, f"{a}_f2"),
            edge(f"{a}_f1", f"{a}_r1", "left"),
            edge(f"{a}_f2", f"{a}_r1", "right"),
            edge(f"{a}_f2", f"{a}_r2", "left"),
            edge(f"{a}_r1", f"{a}_both"),
            edge(f"{a}_r2", f"{a}_both"),
            edge(f"{a}_both", owner, draw(st.sampled_from(["open_long", "open_short"]))),
            edge(f"{a}_r2", owner, "close"),
        ]
        if with_model:
            edges.append(edge(f"{a}_f1", "llm", "context"))
    return document(nodes, edges), assets, with_model


@FAST
@given(valid_strategies())
def test_strategies_valid_by_construction_always_compile(
    built: tuple[dict[str, Any], set[str], bool],
) -> None:
    doc, assets, with_model = built
    spec = assert_stable(parse_graph(doc, known_assets=ASSETS))
    assert set(spec.asset_names) == assets
    assert all(ref.asset in assets for ref in spec.channels)
    assert all(len(plan.signals) == 2 and "close" in plan.signals for plan in spec.assets)
    assert (spec.model is not None) == with_model
    assert spec.topology.model_nodes == int(with_model)


def _cycles_by_closure(nodes: list[str], pairs: set[tuple[str, str]]) -> list[list[str]]:
    reach = {a: {b for (x, b) in pairs if x == a} for a in nodes}
    for middle in nodes:  # Warshall: reach[a] gains what middle reaches when a reaches middle
        for a in nodes:
            if middle in reach[a]:
                reach[a] |= reach[middle]
    components = {
        tuple(sorted(b for b in nodes if b in reach[a] and a in reach[b]))
        for a in nodes
        if a in reach[a]
    }
    return sorted(list(component) for component in components)


def _links(count: int) -> st.SearchStrategy[tuple[int, set[tuple[int, int]]]]:
    index = st.integers(0, count - 1)
    return st.tuples(st.just(count), st.sets(st.tuples(index, index), max_size=15))


@FAST
@given(st.integers(1, 9).flatmap(_links))
def test_cycles_are_the_strongly_connected_components_with_a_loop(
    drawn: tuple[int, set[tuple[int, int]]],
) -> None:
    count, links = drawn
    nodes = [f"n{i}" for i in range(count)]
    pairs = {(f"n{a}", f"n{b}") for a, b in links}
    edges = [DraftEdge(index, a, b, "in") for index, (a, b) in enumerate(sorted(pairs))]
    assert cycles(nodes, edges) == _cycles_by_closure(nodes, pairs)
