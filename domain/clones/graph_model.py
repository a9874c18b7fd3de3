"""The strategy graph as values: typed nodes, ported edges, and its canonical document.

A :class:`StrategyGraph` is what :func:`domain.clones.graph.parse_graph` returns, so holding
one means the document passed every rule; build one by hand only in tests of the compiler.
It is canonical by construction: nodes are sorted by id, edges by (from, to, port), every
edge names its port (``in`` where the document left it out) and decimals are normalised
(``"70.0"`` is ``70``), so two documents that mean the same strategy give equal graphs,
equal :meth:`StrategyGraph.to_document` output and byte-equal compiled specs.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from functools import cached_property
from typing import Any, ClassVar

from domain.trading.spec import RiskLimits

SCHEMA = "clash.strategy-graph/1"
DEFAULT_PORT = "in"


@dataclass(frozen=True)
class MarketParams:
    """A market series: the asset and the interval that is its decision cadence."""

    kind: ClassVar[str] = "market"
    asset: str
    interval: str

    def to_document(self) -> dict[str, Any]:
        """The camelCase params document."""
        return {"asset": self.asset, "interval": self.interval}


@dataclass(frozen=True)
class FeatureParams:
    """A market-memory channel (canonical key) of the upstream market, maybe one component."""

    kind: ClassVar[str] = "feature"
    channel: str
    component: str | None = None

    def to_document(self) -> dict[str, Any]:
        """The camelCase params document."""
        document: dict[str, Any] = {"channel": self.channel}
        if self.component is not None:
            document["component"] = self.component
        return document


@dataclass(frozen=True)
class RuleParams:
    """A comparison, crossover or logical operator; a threshold replaces a right input."""

    kind: ClassVar[str] = "rule"
    op: str
    threshold: Decimal | None = None

    def to_document(self) -> dict[str, Any]:
        """The camelCase params document."""
        document: dict[str, Any] = {"op": self.op}
        if self.threshold is not None:
            document["threshold"] = plain(self.threshold)
        return document


@dataclass(frozen=True)
class ModelParams:
    """The model that decides: prompt template version, model tier, owner's instructions."""

    kind: ClassVar[str] = "model"
    prompt_template: str
    model_tier: str
    instructions: str = ""

    def to_document(self) -> dict[str, Any]:
        """The camelCase params document."""
        return {
            "promptTemplate": self.prompt_template,
            "modelTier": self.model_tier,
            "instructions": self.instructions,
        }


@dataclass(frozen=True)
class RiskParams:
    """Sizing and caps, as the compiled spec carries them."""

    kind: ClassVar[str] = "risk"
    limits: RiskLimits

    def to_document(self) -> dict[str, Any]:
        """The camelCase params document."""
        limits = self.limits
        document: dict[str, Any] = {
            "sizeFraction": plain(limits.size_fraction),
            "leverage": limits.leverage,
            "maxOpenPositions": limits.max_open_positions,
        }
        if limits.stop_loss_pct is not None:
            document["stopLossPct"] = plain(limits.stop_loss_pct)
        if limits.take_profit_pct is not None:
            document["takeProfitPct"] = plain(limits.take_profit_pct)
        return document


@dataclass(frozen=True)
class ActionParams:
    """The action node has no params: its inputs say everything."""

    kind: ClassVar[str] = "action"

    def to_document(self) -> dict[str, Any]:
        """The (empty) params document."""
        return {}


NodeParams = MarketParams | FeatureParams | RuleParams | ModelParams | RiskParams | ActionParams
KINDS = ("market", "feature", "rule", "model", "risk", "action")


@dataclass(frozen=True)
class Node:
    """A node: its id and its typed params (which also say its kind)."""

    id: str
    params: NodeParams

    @property
    def kind(self) -> str:
        """``market``, ``feature``, ``rule``, ``model``, ``risk`` or ``action``."""
        return self.params.kind

    def to_document(self) -> dict[str, Any]:
        """The node document."""
        return {"id": self.id, "kind": self.kind, "params": self.params.to_document()}


@dataclass(frozen=True, order=True)
class Edge:
    """A wire from ``source``'s output into ``target``'s input ``port``."""

    source: str
    target: str
    port: str = DEFAULT_PORT

    def to_document(self) -> dict[str, Any]:
        """The edge document (the port is always written)."""
        return {"from": self.source, "to": self.target, "port": self.port}


@dataclass(frozen=True)
class StrategyGraph:
    """A valid strategy graph, canonical: nodes sorted by id, edges sorted."""

    nodes: tuple[Node, ...]
    edges: tuple[Edge, ...] = field(default=())

    def __post_init__(self) -> None:
        object.__setattr__(self, "nodes", tuple(sorted(self.nodes, key=lambda node: node.id)))
        object.__setattr__(self, "edges", tuple(sorted(set(self.edges))))

    @cached_property
    def by_id(self) -> Mapping[str, Node]:
        """Nodes by id."""
        return {node.id: node for node in self.nodes}

    @cached_property
    def inputs(self) -> Mapping[str, tuple[Edge, ...]]:
        """Incoming edges by target id (in edge order)."""
        found: dict[str, list[Edge]] = {}
        for edge in self.edges:
            found.setdefault(edge.target, []).append(edge)
        return {target: tuple(edges) for target, edges in found.items()}

    def sources(self, target: str, port: str) -> tuple[Node, ...]:
        """The nodes wired into ``target``'s ``port``, in id order."""
        edges = self.inputs.get(target, ())
        return tuple(self.by_id[edge.source] for edge in edges if edge.port == port)

    def of_kind(self, kind: str) -> tuple[Node, ...]:
        """The nodes of ``kind``, in id order."""
        return tuple(node for node in self.nodes if node.kind == kind)

    def to_document(self) -> dict[str, Any]:
        """The canonical document; :func:`parse_graph` of it gives an equal graph."""
        return {
            "schema": SCHEMA,
            "nodes": [node.to_document() for node in self.nodes],
            "edges": [edge.to_document() for edge in self.edges],
        }


def plain(value: Decimal) -> str:
    """A decimal as the document writes it: plain digits, never exponent notation."""
    return format(value, "f")
