"""The alerts worker: the project's alert rules evaluated in process, once a minute.

It samples the metrics (``adapters/metrics.py``, read from the store), judges them against
``adapters/alert_rules.json`` (``adapters/alerts.py``) and posts each firing or resolved
alert to ``CLASH_ALERT_WEBHOOK_URL`` (logged in any case; a webhook that fails is logged and
the alert is not resent, the next change is). Firing state lives in the process: a
restarted worker re-announces what still fires.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import httpx
import structlog

from adapters.alerts import AlertEvaluator, Notification, load_rules
from adapters.bootstrap import Container
from adapters.metrics import Metrics
from workers.runtime import WorkItem

log = structlog.get_logger("workers.alerts")


@dataclass
class AlertWorker:
    """The ``alerts`` worker."""

    container: Container
    transport: httpx.BaseTransport | None = None
    name: str = "alerts"
    interval: timedelta = timedelta(seconds=15)
    critical: bool = False
    announced: list[Notification] = field(default_factory=list, init=False)
    _done: str | None = field(default=None, init=False)
    _evaluator: AlertEvaluator = field(init=False)
    _metrics: Metrics = field(init=False)

    def __post_init__(self) -> None:
        self._evaluator = AlertEvaluator(load_rules())
        self._metrics = Metrics(self.container)

    def pending(self, now: datetime) -> Sequence[WorkItem]:
        """One evaluation per minute of service time."""
        key = f"minute:{int(now.timestamp()) // 60}"
        return [] if key == self._done else [WorkItem(key)]

    def perform(self, item: WorkItem, now: datetime) -> None:
        """Judge the metrics now; announce every change."""
        for notification in self._evaluator.evaluate(self._metrics.sample(), now):
            self._announce(notification)
            self.announced.append(notification)
        self._done = item.key

    def _announce(self, notification: Notification) -> None:
        document = notification.to_document()
        log.warning("alert", **document)
        url = self.container.settings.alert_webhook_url
        if not url:
            return
        try:
            with httpx.Client(timeout=5.0, transport=self.transport) as client:
                client.post(url, json=document).raise_for_status()
        except httpx.HTTPError as exc:
            log.error("alert_webhook_failed", alert=document["alert"], error=str(exc))
