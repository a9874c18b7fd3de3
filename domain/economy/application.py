"""The economy module's eventsourcing application (minimal today: tier grants).

Economy facts are stamped by the **service clock** (purchases, receipts and grants happen
in real time whatever the market replay is doing). Grants are recorded per clone on a
:class:`~domain.economy.grants.CloneEntitlement`; the first grant opens it in the same save.
The effective tier is ranked by the tier table the application was built with (the
configured one), or by a table handed in.
"""

from __future__ import annotations

from uuid import UUID

from eventsourcing.application import AggregateNotFoundError

from domain.application import ClashApplication, FactoryBuilder
from domain.clock import Clock
from domain.clones.tiers import DEFAULT_TIERS, Grant, TierTable
from domain.economy.grants import CloneEntitlement, GrantSource, entitlement_id_for


class Economy(ClashApplication):
    """Payment facts and entitlements; today, the tier grants of clones."""

    name = "economy"

    def __init__(
        self,
        *,
        clock: Clock,
        factory_builder: FactoryBuilder | None = None,
        tiers: TierTable | None = None,
    ) -> None:
        super().__init__(clock=clock, factory_builder=factory_builder)
        self.tiers = tiers or TierTable(DEFAULT_TIERS)

    def grant_tier(
        self,
        clone_id: UUID,
        tier: str,
        *,
        source: GrantSource,
        reference: str | None,
        reason: str,
        granted_by: str,
        table: TierTable | None = None,
    ) -> Grant:
        """Grant ``tier`` to a clone (once per source reference); return the effective grant."""
        chosen = table or self.tiers

        def command() -> Grant:
            entitlement = self._entitlement(clone_id) or CloneEntitlement.open(clone_id)
            entitlement.grant(
                tier,
                source=source,
                reference=reference,
                reason=reason,
                granted_by=granted_by,
                table=chosen,
            )
            if entitlement.pending_events:
                self.save(entitlement)
            effective = entitlement.effective(chosen)
            if effective is None:  # the tier was just checked against this table
                raise RuntimeError(f"clone={clone_id} has no effective tier after a grant")
            return effective

        return self.run_command(command)

    def effective_tier(self, clone_id: UUID, table: TierTable | None = None) -> Grant | None:
        """The highest-ranked tier granted to the clone, or ``None``."""
        entitlement = self._entitlement(clone_id)
        return None if entitlement is None else entitlement.effective(table or self.tiers)

    def grants(self, clone_id: UUID) -> list[dict[str, object]]:
        """Every grant of the clone, oldest first (tier, source, reference, reason, by, at)."""
        entitlement = self._entitlement(clone_id)
        return [] if entitlement is None else [dict(g) for g in entitlement.grants]

    def _entitlement(self, clone_id: UUID) -> CloneEntitlement | None:
        try:
            found: CloneEntitlement = self.repository.get(entitlement_id_for(clone_id))
        except AggregateNotFoundError:
            return None
        return found
