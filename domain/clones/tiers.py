"""Entitlement tiers and the one guardrail that every stage of a clone's life goes through.

An audition fee buys a clone a tier (starter, builder, pro); the tier bounds the strategy's
topology (nodes, assets, model nodes, the strongest model, the fastest cadence) and the
clone's backtest quota. One function, :func:`guard`, applies those bounds everywhere, so the
editor, the dry run, the backtest worker and the runtime can never disagree:

- ``save``: anyone may draft and version what they mean to pay for, so a save is checked
  against the largest tier only (:class:`TopologyBeyondEveryTier`).
- ``dry_run``: checked against the granted tier when there is one (the user sees what their
  tier allows), else against the largest tier.
- ``backtest`` and ``runtime``: spend money (provider calls, an audition), so they need a
  grant (:class:`NoEntitlement`) whose tier covers the topology (:class:`TopologyBeyondTier`,
  with the same reason in both stages).

The grant comes from the :class:`Entitlements` port (economy owns the purchase facts); the
table is configuration (:data:`DEFAULT_TIERS`, overridable by a JSON document whose keys are
the :class:`TierLimits` field names). A higher rank never allows less than a lower one, so
"the largest tier" is well defined and an upgrade never takes anything away.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import asdict, dataclass, fields
from enum import StrEnum
from itertools import pairwise
from typing import Any, Protocol
from uuid import UUID

from domain.market.intervals import INTERVALS, interval_length
from domain.trading.spec import MODEL_TIERS, Topology

_TIER_NAME = re.compile(r"[a-z][a-z0-9_]{0,31}")
_COUNTS = (
    "max_nodes",
    "max_assets",
    "max_model_nodes",
    "backtest_daily_runs",
    "backtest_max_decision_calls",
    "backtest_max_assets",
    "backtest_max_tokens",
    "backtest_max_replay_steps",
)


@dataclass(frozen=True)
class TierLimits:
    """What one tier allows: topology bounds and the backtest quota."""

    name: str
    rank: int
    max_nodes: int
    max_assets: int
    max_model_nodes: int
    strongest_model: str | None  # the strongest allowed MODEL_TIERS entry; None: no model
    min_cadence: str  # the shortest decision interval allowed
    backtest_daily_runs: int
    backtest_max_decision_calls: int
    backtest_max_assets: int
    backtest_max_tokens: int
    backtest_max_replay_steps: int

    def to_document(self) -> dict[str, Any]:
        """The configuration document (field names as keys)."""
        return asdict(self)


DEFAULT_TIERS = (
    TierLimits("starter", 1, 16, 3, 1, "basic", "5m", 3, 24, 3, 120_000, 288),
    TierLimits("builder", 2, 40, 6, 2, "standard", "5m", 10, 100, 6, 500_000, 2016),
    TierLimits("pro", 3, 100, 10, 4, "frontier", "1m", 25, 200, 10, 1_000_000, 8640),
)


class TierTableInvalid(ValueError):
    """Raised when a tier table (or its configuration document) breaks a rule."""


class UnknownTier(LookupError):
    """Raised when a tier name is not in the table."""

    def __init__(self, name: str, known: Iterable[str]) -> None:
        super().__init__(f"tier={name!r} known={','.join(known)}")
        self.name = name


class TierTable:
    """The tiers, ordered by rank; validated on construction."""

    def __init__(self, tiers: Iterable[TierLimits] = DEFAULT_TIERS) -> None:
        self.tiers = tuple(sorted(tiers, key=lambda tier: tier.rank))
        _validate(self.tiers)
        self._by_name = {tier.name: tier for tier in self.tiers}

    @property
    def names(self) -> tuple[str, ...]:
        """Tier names, weakest first."""
        return tuple(tier.name for tier in self.tiers)

    def get(self, name: str) -> TierLimits:
        """The tier ``name`` (raises UnknownTier)."""
        try:
            return self._by_name[name]
        except KeyError:
            raise UnknownTier(name, self.names) from None

    def largest(self) -> TierLimits:
        """The highest-ranked tier."""
        return self.tiers[-1]

    def to_document(self) -> list[dict[str, Any]]:
        """The configuration document: one object per tier, weakest first."""
        return [tier.to_document() for tier in self.tiers]

    @classmethod
    def from_document(cls, document: object) -> TierTable:
        """Build a table from a configuration document (raises TierTableInvalid)."""
        if not isinstance(document, list) or not document:
            raise TierTableInvalid("a tier table is a non-empty list of tier objects")
        return cls(_tier(entry, index) for index, entry in enumerate(document))


def _tier(entry: object, index: int) -> TierLimits:
    names = tuple(field.name for field in fields(TierLimits))
    if not isinstance(entry, dict) or set(entry) != set(names):
        raise TierTableInvalid(f"tier={index} needs exactly the keys {','.join(names)}")
    for name in ("rank", *_COUNTS):
        value = entry[name]
        if isinstance(value, bool) or not isinstance(value, int):
            raise TierTableInvalid(f"tier={index} field={name} must be an integer")
    if not isinstance(entry["name"], str) or not isinstance(entry["min_cadence"], str):
        raise TierTableInvalid(f"tier={index} name and min_cadence must be text")
    if entry["strongest_model"] is not None and not isinstance(entry["strongest_model"], str):
        raise TierTableInvalid(f"tier={index} strongest_model must be text or null")
    return TierLimits(**entry)


def _validate(tiers: tuple[TierLimits, ...]) -> None:
    if not tiers:
        raise TierTableInvalid("a tier table needs at least one tier")
    if len({tier.name for tier in tiers}) != len(tiers):
        raise TierTableInvalid("tier names must be unique")
    if len({tier.rank for tier in tiers}) != len(tiers):
        raise TierTableInvalid("tier ranks must be unique")
    for tier in tiers:
        _validate_tier(tier)
    for lower, higher in pairwise(tiers):
        if _allows_less(higher, lower):
            raise TierTableInvalid(f"tier={higher.name} allows less than tier={lower.name}")


def _validate_tier(tier: TierLimits) -> None:
    if not _TIER_NAME.fullmatch(tier.name):
        raise TierTableInvalid(f"tier={tier.name!r} name must be lowercase snake_case")
    if tier.strongest_model is not None and tier.strongest_model not in MODEL_TIERS:
        raise TierTableInvalid(f"tier={tier.name} strongest_model={tier.strongest_model!r}")
    if tier.min_cadence not in INTERVALS:
        raise TierTableInvalid(f"tier={tier.name} min_cadence={tier.min_cadence!r}")
    if tier.rank < 1 or any(getattr(tier, name) < 0 for name in _COUNTS):
        raise TierTableInvalid(f"tier={tier.name} rank must be >= 1 and limits >= 0")
    if tier.max_nodes < 1 or tier.max_assets < 1:
        raise TierTableInvalid(f"tier={tier.name} must allow at least one node and asset")


def _allows_less(higher: TierLimits, lower: TierLimits) -> bool:
    return any(getattr(higher, name) < getattr(lower, name) for name in _COUNTS) or (
        _model_rank(higher.strongest_model) < _model_rank(lower.strongest_model)
        or interval_length(higher.min_cadence) > interval_length(lower.min_cadence)
    )


def _model_rank(model: str | None) -> int:
    return -1 if model is None else MODEL_TIERS.index(model)


@dataclass(frozen=True)
class Grant:
    """What the entitlement port answers: the clone's tier and where it comes from."""

    tier: str
    source: str  # "purchase", "admin", "mock"...
    mock: bool = False
    reference: str | None = None  # the purchase or entitlement id, for audit


class Entitlements(Protocol):
    """The port through which economy tells which tier a clone holds (``None``: none)."""

    def effective_tier(self, clone_id: UUID) -> Grant | None:
        """The clone's current grant, or ``None`` when it holds no entitlement."""
        ...


class Stage(StrEnum):
    """Where the guardrail runs."""

    SAVE = "save"
    DRY_RUN = "dry_run"
    BACKTEST = "backtest"
    RUNTIME = "runtime"


@dataclass(frozen=True)
class TopologyViolation:
    """One bound a topology exceeds: ``limit`` (``assets``), what is allowed, what it has."""

    limit: str
    allowed: str
    actual: str

    def to_document(self) -> dict[str, str]:
        """The violation as JSON-ready data."""
        return {"limit": self.limit, "allowed": self.allowed, "actual": self.actual}


class EntitlementError(Exception):
    """Root of the guardrail's refusals; ``reason`` is stable, ``violations`` say what broke."""

    reason = "entitlement_error"

    def __init__(self, detail: str, violations: Iterable[TopologyViolation] = ()) -> None:
        self.violations = tuple(violations)
        broken = " ".join(f"{v.limit}={v.actual}>{v.allowed}" for v in self.violations)
        super().__init__(f"reason={self.reason} {detail} {broken}".strip())
        self.detail = detail


class TopologyBeyondEveryTier(EntitlementError):
    """Raised when a saved graph is larger than even the largest tier allows."""

    reason = "topology_beyond_every_tier"


class NoEntitlement(EntitlementError):
    """Raised when a backtest or a run is asked of a clone that holds no tier."""

    reason = "no_entitlement"


class TopologyBeyondTier(EntitlementError):
    """Raised when the graph exceeds the tier the clone holds."""

    reason = "topology_beyond_tier"

    def __init__(self, tier: str, violations: Iterable[TopologyViolation]) -> None:
        super().__init__(f"tier={tier}", violations)
        self.tier = tier


def check_topology(topology: Topology, tier: TierLimits) -> list[TopologyViolation]:
    """Every bound of ``tier`` that ``topology`` exceeds (empty when it fits)."""
    found = [
        TopologyViolation(limit, str(allowed), str(actual))
        for limit, allowed, actual in (
            ("nodes", tier.max_nodes, topology.nodes),
            ("assets", tier.max_assets, topology.assets),
            ("model_nodes", tier.max_model_nodes, topology.model_nodes),
        )
        if actual > allowed
    ]
    if _model_rank(topology.strongest_model) > _model_rank(tier.strongest_model):
        allowed_model = tier.strongest_model or "none"
        found.append(TopologyViolation("model", allowed_model, str(topology.strongest_model)))
    if interval_length(topology.fastest_cadence) < interval_length(tier.min_cadence):
        found.append(TopologyViolation("cadence", tier.min_cadence, topology.fastest_cadence))
    return found


def guard(topology: Topology, *, stage: Stage, grant: Grant | None, table: TierTable) -> TierLimits:
    """Check ``topology`` for ``stage``; return the tier checked against, or raise.

    Raises TopologyBeyondEveryTier (save, or a dry run without a grant), NoEntitlement
    (backtest or runtime without a grant), TopologyBeyondTier (the granted tier is too
    small), UnknownTier (the grant names a tier the table lacks).
    """
    if stage is Stage.SAVE or (stage is Stage.DRY_RUN and grant is None):
        largest = table.largest()
        violations = check_topology(topology, largest)
        if violations:
            raise TopologyBeyondEveryTier(f"largest={largest.name}", violations)
        return largest
    if grant is None:
        raise NoEntitlement(f"stage={stage} needs a tier; an audition purchase grants one")
    tier = table.get(grant.tier)
    violations = check_topology(topology, tier)
    if violations:
        raise TopologyBeyondTier(tier.name, violations)
    return tier
