"""The compiled strategy: what a published clone version means, fixed once, used everywhere.

A strategy graph (``domain.clones.graph``) is the user's document; a :class:`StrategySpec`
is what dry runs, backtests and live trading execute, so all three read exactly the same
thing. It is immutable, has a canonical JSON document (decimals as strings, keys sorted)
and a content hash over that document, so two compilations of one graph are byte-equal.

Vocabulary:

- :class:`ChannelRef`: a market-memory feature channel of one series (asset, interval,
  channel key such as ``ema:12``), optionally one component of a multi-part channel
  (``macd``'s ``signal``). Strategies never compute indicators; they read these.
- :class:`Condition`: a rule tree. Comparisons (``gt``, ``gte``, ``lt``, ``lte``) and
  crossovers (``crosses_above``, ``crosses_below``) of a channel against another channel or
  a constant threshold; ``and``, ``or`` and ``not`` over conditions.
- :class:`AssetPlan`: one traded asset, its decision cadence (the interval of its market
  node) and its signals: ``open_long``, ``open_short`` and ``close`` conditions. For a
  rules strategy they decide; under a model node they are hints shown to the model (and
  what the deterministic ``rules`` provider answers).
- :class:`ModelPlan`: the model node: prompt template version, model tier (the route),
  the owner's instructions and extra context channels.
- :class:`RiskLimits`: sizing and caps; see ``domain.trading.sizing`` for how they become
  orders.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

SPEC_FORMAT = 1
COMPARISONS = frozenset({"gt", "gte", "lt", "lte"})
CROSSOVERS = frozenset({"crosses_above", "crosses_below"})
LOGICAL = frozenset({"and", "or", "not"})
SIGNALS = ("open_long", "open_short", "close")
MODEL_TIERS = ("basic", "standard", "frontier")  # weakest first: the order is the strength


@dataclass(frozen=True, order=True)
class ChannelRef:
    """One feature channel of one series, optionally one named component of it."""

    asset: str
    interval: str
    key: str
    component: str | None = None

    @property
    def label(self) -> str:
        """``BTC 5m ema:12`` (``.signal`` appended for a component)."""
        suffix = f".{self.component}" if self.component else ""
        return f"{self.asset} {self.interval} {self.key}{suffix}"

    def to_document(self) -> dict[str, Any]:
        """The canonical document."""
        return {
            "asset": self.asset,
            "interval": self.interval,
            "key": self.key,
            "component": self.component,
        }

    @classmethod
    def from_document(cls, document: Mapping[str, Any]) -> ChannelRef:
        """Rebuild from :meth:`to_document`."""
        return cls(
            document["asset"], document["interval"], document["key"], document.get("component")
        )


@dataclass(frozen=True)
class Condition:
    """A rule: a comparison or crossover of ``left``, or a logical node over ``children``.

    Exactly one of ``right`` and ``threshold`` is set for comparisons and crossovers;
    ``children`` is set (two or more for and/or, one for not) for logical nodes.
    """

    op: str
    left: ChannelRef | None = None
    right: ChannelRef | None = None
    threshold: Decimal | None = None
    children: tuple[Condition, ...] = ()

    def channels(self) -> set[ChannelRef]:
        """Every channel the condition reads."""
        found = {ref for ref in (self.left, self.right) if ref is not None}
        for child in self.children:
            found |= child.channels()
        return found

    def to_document(self) -> dict[str, Any]:
        """The canonical document."""
        return {
            "op": self.op,
            "left": None if self.left is None else self.left.to_document(),
            "right": None if self.right is None else self.right.to_document(),
            "threshold": None if self.threshold is None else str(self.threshold),
            "children": [child.to_document() for child in self.children],
        }

    @classmethod
    def from_document(cls, document: Mapping[str, Any]) -> Condition:
        """Rebuild from :meth:`to_document`."""
        left, right, threshold = document["left"], document["right"], document["threshold"]
        return cls(
            op=document["op"],
            left=None if left is None else ChannelRef.from_document(left),
            right=None if right is None else ChannelRef.from_document(right),
            threshold=None if threshold is None else Decimal(threshold),
            children=tuple(cls.from_document(child) for child in document["children"]),
        )


@dataclass(frozen=True)
class AssetPlan:
    """One traded asset: its cadence and its signal conditions (by signal name)."""

    asset: str
    cadence: str
    signals: Mapping[str, Condition] = field(default_factory=dict)

    def to_document(self) -> dict[str, Any]:
        """The canonical document."""
        return {
            "asset": self.asset,
            "cadence": self.cadence,
            "signals": {name: self.signals[name].to_document() for name in sorted(self.signals)},
        }

    @classmethod
    def from_document(cls, document: Mapping[str, Any]) -> AssetPlan:
        """Rebuild from :meth:`to_document`."""
        return cls(
            document["asset"],
            document["cadence"],
            {name: Condition.from_document(c) for name, c in document["signals"].items()},
        )


@dataclass(frozen=True)
class ModelPlan:
    """The model node: which prompt, which route, what the owner asks, extra context."""

    prompt_version: str
    model_tier: str
    instructions: str = ""
    context: tuple[ChannelRef, ...] = ()

    def to_document(self) -> dict[str, Any]:
        """The canonical document."""
        return {
            "prompt_version": self.prompt_version,
            "model_tier": self.model_tier,
            "instructions": self.instructions,
            "context": [ref.to_document() for ref in self.context],
        }

    @classmethod
    def from_document(cls, document: Mapping[str, Any]) -> ModelPlan:
        """Rebuild from :meth:`to_document`."""
        return cls(
            document["prompt_version"],
            document["model_tier"],
            document["instructions"],
            tuple(ChannelRef.from_document(ref) for ref in document["context"]),
        )


@dataclass(frozen=True)
class RiskLimits:
    """Sizing and caps: margin per entry as a fraction of equity, leverage, exits, positions.

    ``stop_loss_pct`` and ``take_profit_pct`` are percent distances from the entry (``2`` is
    2 %), turned into prices on the asset's grid when an order is sized.
    """

    size_fraction: Decimal
    leverage: int
    stop_loss_pct: Decimal | None = None
    take_profit_pct: Decimal | None = None
    max_open_positions: int = 1

    def to_document(self) -> dict[str, Any]:
        """The canonical document."""
        return {
            "size_fraction": str(self.size_fraction),
            "leverage": self.leverage,
            "stop_loss_pct": None if self.stop_loss_pct is None else str(self.stop_loss_pct),
            "take_profit_pct": None if self.take_profit_pct is None else str(self.take_profit_pct),
            "max_open_positions": self.max_open_positions,
        }

    @classmethod
    def from_document(cls, document: Mapping[str, Any]) -> RiskLimits:
        """Rebuild from :meth:`to_document`."""
        stop, take = document["stop_loss_pct"], document["take_profit_pct"]
        return cls(
            size_fraction=Decimal(document["size_fraction"]),
            leverage=int(document["leverage"]),
            stop_loss_pct=None if stop is None else Decimal(stop),
            take_profit_pct=None if take is None else Decimal(take),
            max_open_positions=int(document["max_open_positions"]),
        )


@dataclass(frozen=True)
class Topology:
    """The size of a graph, as entitlement tiers bound it."""

    nodes: int
    assets: int
    model_nodes: int
    strongest_model: str | None  # one of MODEL_TIERS, None without model nodes
    fastest_cadence: str  # the shortest market-node interval

    def to_document(self) -> dict[str, Any]:
        """The canonical document."""
        return {
            "nodes": self.nodes,
            "assets": self.assets,
            "model_nodes": self.model_nodes,
            "strongest_model": self.strongest_model,
            "fastest_cadence": self.fastest_cadence,
        }

    @classmethod
    def from_document(cls, document: Mapping[str, Any]) -> Topology:
        """Rebuild from :meth:`to_document`."""
        return cls(
            int(document["nodes"]),
            int(document["assets"]),
            int(document["model_nodes"]),
            document["strongest_model"],
            document["fastest_cadence"],
        )


@dataclass(frozen=True)
class StrategySpec:
    """A compiled strategy: assets with cadences and signals, channels, model, risk."""

    assets: tuple[AssetPlan, ...]
    channels: tuple[ChannelRef, ...]
    risk: RiskLimits
    topology: Topology
    model: ModelPlan | None = None
    format: int = SPEC_FORMAT

    def plan(self, asset: str) -> AssetPlan:
        """The plan of ``asset`` (KeyError when the strategy does not trade it)."""
        for plan in self.assets:
            if plan.asset == asset:
                return plan
        raise KeyError(asset)

    @property
    def asset_names(self) -> tuple[str, ...]:
        """The traded assets, in spec order."""
        return tuple(plan.asset for plan in self.assets)

    def to_document(self) -> dict[str, Any]:
        """The canonical document (what is stored and hashed)."""
        return {
            "format": self.format,
            "assets": [plan.to_document() for plan in self.assets],
            "channels": [ref.to_document() for ref in self.channels],
            "risk": self.risk.to_document(),
            "topology": self.topology.to_document(),
            "model": None if self.model is None else self.model.to_document(),
        }

    @classmethod
    def from_document(cls, document: Mapping[str, Any]) -> StrategySpec:
        """Rebuild from :meth:`to_document`."""
        model = document["model"]
        return cls(
            assets=tuple(AssetPlan.from_document(plan) for plan in document["assets"]),
            channels=tuple(ChannelRef.from_document(ref) for ref in document["channels"]),
            risk=RiskLimits.from_document(document["risk"]),
            topology=Topology.from_document(document["topology"]),
            model=None if model is None else ModelPlan.from_document(model),
            format=int(document["format"]),
        )

    def canonical_json(self) -> str:
        """The document as canonical JSON (sorted keys, no spaces)."""
        return canonical_json(self.to_document())

    @property
    def content_hash(self) -> str:
        """``sha256:<hex>`` of the canonical JSON."""
        return "sha256:" + hashlib.sha256(self.canonical_json().encode()).hexdigest()


def canonical_json(document: Any) -> str:
    """JSON with sorted keys and no whitespace: the form every hash in the module uses."""
    return json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
