"""Race helpers: EMA trend followers (and mean-reverters) admitted to the Arena by a pass.

``racer`` publishes a clone trading ``trend(asset, fast, slow)``, publishes its profile and
records a passed audition (``tests/api/arena_kit.passed_audition``), so the arena worker
admits it at its next cycle.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

from tests.api.arena_kit import passed_audition, publish_profile
from tests.domain.clones.graph_examples import document, edge, node
from tests.workers.audition_kit import AuditionWorld

ASSETS = frozenset({"BTC", "ETH", "SOL"})


def trend(asset: str, fast: int, slow: int, *, revert: bool = False) -> dict[str, Any]:
    """Long while the fast EMA is above the slow one, flat once it is below (``revert``:
    the other way round, a mean-reverter)."""
    enter, leave = ("lt", "gt") if revert else ("gt", "lt")
    nodes = [
        node("mkt", "market", asset=asset, interval="5m"),
        node("fast", "feature", channel=f"ema:{fast}"),
        node("slow", "feature", channel=f"ema:{slow}"),
        node("golden", "rule", op=enter),
        node("death", "rule", op=leave),
        node("risk", "risk", sizeFraction="0.3", leverage=3, maxOpenPositions=1),
        node("act", "action"),
    ]
    edges = [
        edge("mkt", "fast"),
        edge("mkt", "slow"),
        edge("fast", "golden", "left"),
        edge("slow", "golden", "right"),
        edge("fast", "death", "left"),
        edge("slow", "death", "right"),
        edge("risk", "act", "risk"),
        edge("golden", "act", "open_long"),
        edge("death", "act", "close"),
    ]
    return document(nodes, edges)


def racer(
    world: AuditionWorld,
    name: str,
    variant: tuple[str, int, int],
    score: str,
    *,
    revert: bool = False,
    owner: str = "u",
) -> str:
    """A clone trading ``trend(*variant)`` with a public profile and a passed audition."""
    container = world.world.container
    asset, fast, slow = variant
    clone_id = UUID(world.published_version(name, asset)[0])
    graph = trend(asset, fast, slow, revert=revert)
    container.clones.save_draft(clone_id, graph, known_assets=ASSETS, table=container.tiers)
    version = container.clones.publish_version(
        clone_id, known_assets=ASSETS, table=container.tiers
    ).value
    publish_profile(container, clone_id, name)
    passed_audition(container, clone_id, score, version_id=version.id, owner=owner)
    return str(clone_id)
