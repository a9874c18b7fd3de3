"""The projection worker: keeps every read model caught up with its log.

One work item per projection; performing it catches that projection up a page at a time
(view rows and tracking in one transaction each). A failing event marks the projection
``failed`` in its tracking row and raises, so the runtime retries with backoff and, after
the last attempt, leaves a dead letter that ``/health/workers`` counts: loud, never skipped.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from projections.runner import ProjectionRunner
from workers.runtime import WorkItem


@dataclass
class Projector:
    """The ``projections`` worker."""

    runners: Sequence[ProjectionRunner]
    name: str = "projections"
    interval: timedelta = timedelta(seconds=1)
    critical: bool = False

    def pending(self, now: datetime) -> Sequence[WorkItem]:
        """Every projection that is behind its log."""
        behind = []
        for runner in self.runners:
            status = runner.status()  # two queries: read it once per runner
            if status.lag > 0 or status.version != runner.projection.version:
                behind.append(WorkItem(runner.projection.name))
        return behind

    def perform(self, item: WorkItem, now: datetime) -> None:
        """Catch one projection up."""
        runner = next(r for r in self.runners if r.projection.name == item.key)
        runner.catch_up()
