"""From a valid graph to the :class:`StrategySpec` every runtime executes, deterministically.

Compilation is a pure function of the graph: the graph is canonical (sorted nodes and
edges, normalised decimals) and every collection the spec holds is sorted (assets by name,
channels and model context by :class:`ChannelRef` order, logical children by node id), so
equal graphs give byte-equal ``spec.canonical_json()`` and equal content hashes. Layout is
not an input: moving a node never changes a spec.

Channels: a feature on a candle kind reads ``ChannelRef(asset, interval, key)`` with the
interval of its market node; a point series (``funding``) has no interval of its own and
reads ``ChannelRef(asset, "-", "funding")`` ("-" is how market memory stores "no interval").
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TypeVar

from domain.clones.graph_model import (
    FeatureParams,
    MarketParams,
    ModelParams,
    Node,
    RiskParams,
    RuleParams,
    StrategyGraph,
)
from domain.market.channels import ChannelSpec
from domain.market.intervals import interval_length
from domain.market.model import Candle
from domain.trading.spec import (
    LOGICAL,
    MODEL_TIERS,
    SIGNALS,
    AssetPlan,
    ChannelRef,
    Condition,
    ModelPlan,
    StrategySpec,
    Topology,
)

NO_INTERVAL = "-"
P = TypeVar("P", MarketParams, FeatureParams, RuleParams, ModelParams, RiskParams)


def compile_graph(graph: StrategyGraph) -> StrategySpec:
    """Compile a graph into its strategy spec.

    The graph must be valid, as :func:`parse_graph` returns it; a hand-built graph that
    breaks the rules raises ``ValueError`` or ``TypeError``.
    """
    (action,) = graph.of_kind("action")
    (risk,) = graph.sources(action.id, "risk")
    models = graph.sources(action.id, "decide")
    model = _model_plan(graph, models[0]) if models else None
    owner = models[0] if models else action
    signals: dict[str, dict[str, Condition]] = {}
    for signal in SIGNALS:
        for rule in graph.sources(owner.id, signal):
            condition = condition_of(graph, rule)
            (asset,) = {ref.asset for ref in condition.channels()}
            signals.setdefault(asset, {})[signal] = condition
    cadences = _cadences(graph, action)
    plans = tuple(
        AssetPlan(asset, cadences[asset], signals.get(asset, {})) for asset in sorted(cadences)
    )
    read = {ref for plan in plans for c in plan.signals.values() for ref in c.channels()}
    read |= set(model.context if model else ())
    return StrategySpec(
        assets=plans,
        channels=tuple(sorted(read)),
        risk=_params(risk, RiskParams).limits,
        topology=topology(graph),
        model=model,
    )


def topology(graph: StrategyGraph) -> Topology:
    """The graph's size as entitlement tiers bound it."""
    markets = [node.params for node in graph.of_kind("market")]
    intervals = {params.interval for params in markets if isinstance(params, MarketParams)}
    tiers = [node.params for node in graph.of_kind("model")]
    ranks = [MODEL_TIERS.index(p.model_tier) for p in tiers if isinstance(p, ModelParams)]
    return Topology(
        nodes=len(graph.nodes),
        assets=len({params.asset for params in markets if isinstance(params, MarketParams)}),
        model_nodes=len(tiers),
        strongest_model=MODEL_TIERS[max(ranks)] if ranks else None,
        fastest_cadence=min(intervals, key=interval_length),
    )


def condition_of(graph: StrategyGraph, rule: Node) -> Condition:
    """The condition a rule node computes."""
    params = _params(rule, RuleParams)
    if params.op in LOGICAL:
        children = tuple(condition_of(graph, child) for child in graph.sources(rule.id, "in"))
        return Condition(params.op, children=children)
    (left,) = graph.sources(rule.id, "left")
    rights = graph.sources(rule.id, "right")
    right = channel_of(graph, rights[0]) if rights else None
    return Condition(params.op, channel_of(graph, left), right, params.threshold)


def channel_of(graph: StrategyGraph, feature: Node) -> ChannelRef:
    """The channel a feature node reads."""
    params = _params(feature, FeatureParams)
    (market,) = graph.sources(feature.id, "in")
    series = _params(market, MarketParams)
    reads_candles = ChannelSpec.parse(params.channel).reads is Candle
    interval = series.interval if reads_candles else NO_INTERVAL
    return ChannelRef(series.asset, interval, params.channel, params.component)


def _model_plan(graph: StrategyGraph, model: Node) -> ModelPlan:
    params = _params(model, ModelParams)
    context = {channel_of(graph, feature) for feature in graph.sources(model.id, "context")}
    return ModelPlan(
        params.prompt_template, params.model_tier, params.instructions, tuple(sorted(context))
    )


def _params(node: Node, kind: type[P]) -> P:
    # A graph from parse_graph always passes; a hand-built one may not.
    if not isinstance(node.params, kind):
        raise TypeError(f"node={node.id} kind={node.kind} expected={kind.__name__}")
    return node.params


def _cadences(graph: StrategyGraph, action: Node) -> Mapping[str, str]:
    cadences: dict[str, str] = {}
    frontier, seen = [action], {action.id}
    while frontier:
        node = frontier.pop()
        if isinstance(node.params, MarketParams):
            cadences[node.params.asset] = node.params.interval
        for edge in graph.inputs.get(node.id, ()):
            if edge.source not in seen:
                seen.add(edge.source)
                frontier.append(graph.by_id[edge.source])
    return cadences
