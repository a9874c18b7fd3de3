"""Every projection of this build, by name, with the application whose log it folds."""

from __future__ import annotations

from typing import Any

from eventsourcing.application import Application

from adapters.bootstrap import Container
from projections.arena import ArenaProjection
from projections.auditions import AuditionsProjection
from projections.clones import ClonesProjection
from projections.prop_ledger import PropLedgerProjection
from projections.races import RacesProjection
from projections.runner import Projection, ProjectionRunner
from projections.trading_bindings import TradingBindingsProjection


class UnknownProjection(LookupError):
    """Raised when a projection name is not in the catalog."""


# Each projection with the name of the application whose log it folds.
FOLDS: tuple[tuple[type[Projection], str], ...] = (
    (PropLedgerProjection, "prop"),
    (ClonesProjection, "clones"),
    (TradingBindingsProjection, "trading"),
    (AuditionsProjection, "lifecycle"),
    (ArenaProjection, "competition"),
    (RacesProjection, "lifecycle"),
)


def projections(application: str | None = None) -> dict[str, Projection]:
    """The projections, by name (only those folding ``application``'s log when named)."""
    return {cls.name: cls() for cls, source in FOLDS if application in (None, source)}


def logs(container: Container) -> dict[str, Application[Any]]:
    """The applications whose logs the projections fold, by application name."""
    found: list[Application[Any]] = [
        container.prop,
        container.clones,
        container.trading,
        container.lifecycle,
        container.competition,
    ]
    return {app.name: app for app in found}


def runners(container: Container, names: list[str] | None = None) -> list[ProjectionRunner]:
    """Runners for the named projections (all by default)."""
    known = projections()
    chosen = names or list(known)
    unknown = [n for n in chosen if n not in known]
    if unknown:
        raise UnknownProjection(
            f"unknown projection: names={','.join(unknown)} known={','.join(known)}"
        )
    source = {cls.name: name for cls, name in FOLDS}
    applications = logs(container)
    return [
        ProjectionRunner(
            container.database,
            applications[source[n]],
            known[n],
            container.service_clock.now,
        )
        for n in chosen
    ]
