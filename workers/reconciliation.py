"""The reconciliation worker: every audit once per ``CLASH_RECONCILIATION_INTERVAL_SECONDS``.

One item per period of the service clock (``run:<period>``), so the runtime's lease lets one
process run it while others skip it; each run is recorded (``adapters/reconciliation.py``)
and shows on ``GET /v1/admin/reconciliation``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from adapters.bootstrap import Container
from adapters.reconciliation import reconcile
from workers.runtime import WorkItem


@dataclass
class ReconciliationWorker:
    """The ``reconciliation`` worker."""

    container: Container
    name: str = "reconciliation"
    interval: timedelta = timedelta(seconds=30)
    critical: bool = False
    _done: str | None = field(default=None, init=False)

    def pending(self, now: datetime) -> Sequence[WorkItem]:
        """This period's run, if it has not happened here."""
        every = self.container.settings.reconciliation_interval_seconds
        key = f"run:{int(now.timestamp()) // every}"
        return [] if key == self._done else [WorkItem(key)]

    def perform(self, item: WorkItem, now: datetime) -> None:
        """Run every audit and record the run."""
        reconcile(self.container)
        self._done = item.key
