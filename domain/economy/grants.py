"""Tier grants: which entitlement tiers a clone holds, and why.

One :class:`CloneEntitlement` aggregate per clone (its id derives from the clone's id, so
two first grants for one clone cannot both be saved). Each ``TierGranted`` event records a
tier, its source (``admin`` today; ``audition_fee`` when purchases land), the reference of
the fact that caused it (a purchase id, an operator ticket), the reason and who granted it.
Grants never expire and are never revoked here; the effective tier is the highest-ranked
tier granted that the current tier table still knows. A reference is an idempotency key per
source: the same reference again records nothing, and with another tier it is refused.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any, ClassVar
from uuid import UUID, uuid5

from domain.aggregates import ClashAggregate
from domain.clones.tiers import Grant, TierTable, UnknownTier
from domain.economy.errors import GrantConflict, InvalidGrant, TierNotInTable

ENTITLEMENTS_NAMESPACE = UUID("4e1d7c52-8b0a-5f3e-a6d9-2c7b1f0e8a34")
REASON_MAX = 500
REFERENCE_MAX = 128


class GrantSource(StrEnum):
    """Where a grant comes from."""

    ADMIN = "admin"
    AUDITION_FEE = "audition_fee"


def entitlement_id_for(clone_id: UUID) -> UUID:
    """The id of ``clone_id``'s entitlement aggregate."""
    return uuid5(ENTITLEMENTS_NAMESPACE, str(clone_id))


class CloneEntitlement(ClashAggregate):
    """The tiers granted to one clone (state is assigned only by the events below)."""

    TOPIC: ClassVar[str] = "economy.CloneEntitlement"

    class Event(ClashAggregate.Event):
        TOPIC = "economy.CloneEntitlement.Event"

    class Created(Event, ClashAggregate.Created):
        TOPIC = "economy.CloneEntitlement.Created"

    class Opened(Created):
        TOPIC = "economy.CloneEntitlement.Opened"
        clone_id: UUID

    class TierGranted(Event):
        TOPIC = "economy.CloneEntitlement.TierGranted"
        tier: str
        source: str
        reference: str | None
        reason: str
        granted_by: str

        def apply(self, aggregate: CloneEntitlement) -> None:
            aggregate.grants.append(
                {
                    "tier": self.tier,
                    "source": self.source,
                    "reference": self.reference,
                    "reason": self.reason,
                    "granted_by": self.granted_by,
                    "at": self.timestamp,
                }
            )

    def __init__(self, *, clone_id: UUID) -> None:
        self.clone_id = clone_id
        self.grants: list[dict[str, Any]] = []

    @classmethod
    def open(cls, clone_id: UUID) -> CloneEntitlement:
        """Start the record of a clone's grants."""
        return cls._create(cls.Opened, id=entitlement_id_for(clone_id), clone_id=clone_id)

    def grant(
        self,
        tier: str,
        *,
        source: GrantSource,
        reference: str | None,
        reason: str,
        granted_by: str,
        table: TierTable,
    ) -> bool:
        """Grant ``tier``; ``False`` when this source's reference was already granted."""
        try:
            table.get(tier)
        except UnknownTier:
            raise TierNotInTable(f"tier={tier!r} known={','.join(table.names)}") from None
        if not reason.strip() or len(reason) > REASON_MAX:
            raise InvalidGrant(f"reason length={len(reason.strip())} must be 1..{REASON_MAX}")
        if reference is not None and not 1 <= len(reference) <= REFERENCE_MAX:
            raise InvalidGrant(f"reference length={len(reference)} must be 1..{REFERENCE_MAX}")
        earlier = self._granted(source, reference)
        if earlier is not None:
            if earlier["tier"] != tier:
                raise GrantConflict(f"reference={reference} granted tier={earlier['tier']}")
            return False
        self.trigger_event(
            self.TierGranted,
            tier=tier,
            source=source.value,
            reference=reference,
            reason=reason.strip(),
            granted_by=granted_by,
        )
        return True

    def effective(self, table: TierTable) -> Grant | None:
        """The highest-ranked granted tier the table knows, or ``None``."""
        best: tuple[int, dict[str, Any]] | None = None
        for granted in self.grants:
            if granted["tier"] not in table.names:
                continue  # a tier the configuration no longer has grants nothing
            rank = table.get(granted["tier"]).rank
            if best is None or rank > best[0]:
                best = (rank, granted)
        if best is None:
            return None
        chosen = best[1]
        return Grant(chosen["tier"], source=chosen["source"], reference=chosen["reference"])

    def _granted(self, source: GrantSource, reference: str | None) -> dict[str, Any] | None:
        if reference is None:
            return None
        return next(
            (g for g in self.grants if g["source"] == source.value and g["reference"] == reference),
            None,
        )
