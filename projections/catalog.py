"""Every projection of this build, by name, with the application whose log it folds."""

from __future__ import annotations

from adapters.bootstrap import Container
from projections.prop_ledger import PropLedgerProjection
from projections.runner import Projection, ProjectionRunner


class UnknownProjection(LookupError):
    """Raised when a projection name is not in the catalog."""


def projections() -> dict[str, Projection]:
    """The projections, by name."""
    found: list[Projection] = [PropLedgerProjection()]
    return {p.name: p for p in found}


def runners(container: Container, names: list[str] | None = None) -> list[ProjectionRunner]:
    """Runners for the named projections (all by default)."""
    known = projections()
    chosen = names or list(known)
    unknown = [n for n in chosen if n not in known]
    if unknown:
        raise UnknownProjection(
            f"unknown projection: names={','.join(unknown)} known={','.join(known)}"
        )
    return [
        ProjectionRunner(container.database, container.prop, known[n], container.service_clock.now)
        for n in chosen
    ]
