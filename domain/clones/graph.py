"""Strategy graphs: the user's document, validated in full, compiled to one deterministic spec.

A clone's strategy is drawn as a graph (``docs/strategy-graph.md`` has the format, its JSON
Schema and worked examples): market series feed feature channels, rules compare and
combine them, an optional model decides, a risk node sizes, and one action node says what
the strategy does. This module is the entry point; the work is split by role:

- ``graph_document``: the document's shape (schema, bounds, node and edge records);
- ``graph_nodes``: each kind's params (unknown keys are errors, decimals never floats);
- ``graph_ports`` and ``graph_flow``: wiring (ports, counts, cycles, dead ends, assets);
- ``graph_model``: the typed, canonical :class:`StrategyGraph`;
- ``graph_compiler``: :func:`compile_graph` and :func:`topology`;
- ``graph_layout``: :func:`parse_layout`, display metadata kept apart from the strategy.

Why validate everything at once: the editor marks every broken node in one round trip, so
:func:`parse_graph` collects all problems into one :class:`GraphInvalid`. Why a separate
compile step: the spec is what dry runs, backtests and live trading execute, so it must be
a pure, byte-stable function of the graph (its hash identifies a published version).
"""

from __future__ import annotations

from collections.abc import Collection

from domain.clones.graph_compiler import compile_graph, topology
from domain.clones.graph_document import MAX_EDGES, MAX_NODES, read_document
from domain.clones.graph_errors import (
    ErrorLog,
    GraphInvalid,
    LayoutInvalid,
    NodeError,
    StrategyDocumentInvalid,
)
from domain.clones.graph_flow import check_flow
from domain.clones.graph_layout import parse_layout
from domain.clones.graph_model import (
    SCHEMA,
    ActionParams,
    Edge,
    FeatureParams,
    MarketParams,
    ModelParams,
    Node,
    NodeParams,
    RiskParams,
    RuleParams,
    StrategyGraph,
)
from domain.clones.graph_ports import check_ports

__all__ = [
    "MAX_EDGES",
    "MAX_NODES",
    "SCHEMA",
    "ActionParams",
    "Edge",
    "FeatureParams",
    "GraphInvalid",
    "LayoutInvalid",
    "MarketParams",
    "ModelParams",
    "Node",
    "NodeError",
    "NodeParams",
    "RiskParams",
    "RuleParams",
    "StrategyDocumentInvalid",
    "StrategyGraph",
    "compile_graph",
    "parse_graph",
    "parse_layout",
    "topology",
]


def parse_graph(document: object, *, known_assets: Collection[str]) -> StrategyGraph:
    """Validate a strategy graph document against the asset registry; raise GraphInvalid.

    ``document`` is parsed JSON (decimals as strings, or ``Decimal`` from a parser run with
    ``parse_float=Decimal``); ``known_assets`` names the assets a market node may read.
    """
    log = ErrorLog()
    draft = read_document(document, known_assets, log)
    if draft is not None:
        inputs = check_ports(draft, log)
        check_flow(draft, inputs, log)
    if draft is None or log:
        raise GraphInvalid(tuple(log.errors))
    nodes = tuple(Node(node.id, node.params) for node in draft.nodes.values() if node.params)
    edges = tuple(Edge(edge.source, edge.target, edge.port) for edge in draft.edges)
    return StrategyGraph(nodes, edges)
