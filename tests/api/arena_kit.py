"""Helpers of the Arena tests: clones with published versions, and passed auditions.

``passed_audition`` records a pass through the lifecycle application's own API (submit,
then each process step and the verdict), without the economy or a market run: the Arena
only reads the lifecycle log. The full paid flow runs in ``tests/workers/test_arena.py``.
"""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any
from uuid import UUID, uuid4

from adapters.bootstrap import Container
from domain.clones.version import StrategyVersion
from domain.lifecycle.audition import Audition
from tests.domain.clones.graph_examples import ema_crossover
from tests.workers.trading_kit import ema_graph

ASSETS = frozenset({"BTC", "ETH", "SOL"})


def a_clone(
    container: Container, name: str, *, owner: str = "user-owner", profile: bool = True
) -> UUID:
    """A clone with one published version (and a public profile unless ``profile=False``)."""
    clone_id = uuid4()
    container.clones.create_clone(clone_id, owner, name)
    a_version(container, clone_id)
    if profile:
        publish_profile(container, clone_id, name)
    return clone_id


def a_version(container: Container, clone_id: UUID, asset: str | None = None) -> StrategyVersion:
    """Draft and publish the EMA crossover (on ``asset`` if given) as the next version."""
    clones, tiers = container.clones, container.tiers
    graph = ema_crossover() if asset is None else ema_graph(asset)
    clones.save_draft(clone_id, graph, known_assets=ASSETS, table=tiers)
    version: StrategyVersion = clones.publish_version(
        clone_id, known_assets=ASSETS, table=tiers
    ).value
    return version


def publish_profile(container: Container, clone_id: UUID, name: str) -> None:
    """Publish the clone's public profile."""
    container.clones.publish_profile(clone_id, name=name, bio="An EMA trader.", avatar_url=None)


def passed_audition(
    container: Container,
    clone_id: UUID,
    score: str,
    *,
    version_id: UUID | None = None,
    owner: str = "user-owner",
) -> UUID:
    """Record a passed audition of the clone's latest (or given) version; its id."""
    clone = container.clones.clone(clone_id)
    version = version_id or UUID(str(clone.latest_version["version_id"]))  # type: ignore[index]
    audition_id = uuid4()
    lifecycle = container.lifecycle
    lifecycle.submit(
        audition_id,
        user_id=owner,
        clone_id=clone_id,
        version_id=version,
        purchase_id=uuid4(),
        tier="starter",
    )
    at = container.market_clock.now()

    def steps(audition: Audition) -> None:
        audition.take_attempt(1, 0)
        audition.open_account(1, uuid4())
        audition.bind(1)
        audition.start(1, at - timedelta(days=1), None)

    lifecycle.change(audition_id, steps)
    metrics: dict[str, Any] = {"score": str(Decimal(score)), "total_return": "0.01"}
    lifecycle.record_outcome(audition_id, 1, passed=True, at=at, metrics=metrics)
    return audition_id
