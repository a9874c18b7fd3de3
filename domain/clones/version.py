"""A published strategy version: what a clone runs, recorded once and never changed.

A version holds the canonical graph it was compiled from, the compiled
:class:`~domain.trading.spec.StrategySpec` document, its content hash and its topology.
Dry runs, backtests, auditions and races name a version, so what they executed can always
be read back byte for byte. Its id derives from the clone and the version number
(:func:`version_id_for`), which makes "version 3 of this clone" unique the event-sourced
way: a second aggregate with that id cannot be saved. It is saved in the same ``save()`` as
the clone's ``VersionPublished`` event, so neither exists without the other.
"""

from __future__ import annotations

from typing import Any, ClassVar
from uuid import UUID, uuid5

from domain.aggregates import ClashAggregate
from domain.trading.spec import StrategySpec, Topology

VERSIONS_NAMESPACE = UUID("0b6c8f4e-2d1a-5e57-9c3b-7a4f1e2d9c60")


def version_id_for(clone_id: UUID, number: int) -> UUID:
    """The id of version ``number`` of ``clone_id``."""
    return uuid5(VERSIONS_NAMESPACE, f"{clone_id}:{number}")


class StrategyVersion(ClashAggregate):
    """An immutable compiled version of a clone's strategy (one event, ever)."""

    TOPIC: ClassVar[str] = "clones.StrategyVersion"

    class Event(ClashAggregate.Event):
        TOPIC = "clones.StrategyVersion.Event"

    class Created(Event, ClashAggregate.Created):
        TOPIC = "clones.StrategyVersion.Created"

    class Published(Created):
        TOPIC = "clones.StrategyVersion.Published"
        clone_id: UUID
        owner: str
        number: int
        graph: dict[str, Any]
        spec: dict[str, Any]
        content_hash: str
        topology: dict[str, Any]

    def __init__(
        self,
        *,
        clone_id: UUID,
        owner: str,
        number: int,
        graph: dict[str, Any],
        spec: dict[str, Any],
        content_hash: str,
        topology: dict[str, Any],
    ) -> None:
        self.clone_id, self.owner, self.number = clone_id, owner, number
        self.graph, self.spec_document, self.content_hash = graph, spec, content_hash
        self.topology_document = topology

    @classmethod
    def publish(
        cls, clone_id: UUID, *, owner: str, number: int, graph: dict[str, Any], spec: StrategySpec
    ) -> StrategyVersion:
        """Record version ``number`` of a clone: its canonical graph and compiled spec."""
        return cls._create(
            cls.Published,
            id=version_id_for(clone_id, number),
            clone_id=clone_id,
            owner=owner,
            number=number,
            graph=graph,
            spec=spec.to_document(),
            content_hash=spec.content_hash,
            topology=spec.topology.to_document(),
        )

    @property
    def spec(self) -> StrategySpec:
        """The compiled strategy."""
        return StrategySpec.from_document(self.spec_document)

    @property
    def topology(self) -> Topology:
        """The graph's size, as entitlement tiers bound it."""
        return Topology.from_document(self.topology_document)
