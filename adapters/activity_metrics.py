"""Prometheus gauges of activity: events per module, worker items, queues, leases, models.

The companion of ``adapters/metrics.py``'s state gauges, read the same way (from the store,
at each scrape), so a single-machine deployment's alert evaluator and an operator's
Prometheus see the same numbers. All prefixed ``clash_``:

- ``events_recorded`` (``module``): the head of each module's event log (its notification
  id), so ``rate()`` is events per second per module; commands arrive as the non-GET
  requests of ``http_request_seconds`` (by route) and as worker items (below);
- ``worker_items`` (``worker``, ``outcome`` done/failed/dead): items performed, summed over
  each running process's latest heartbeat (it restarts from 0 with a process);
- ``queue_depth`` (``queue``): backtests waiting to run, clones waiting in the Promotion Queue;
- ``leases_expired``: leases that ran out instead of being released (a holder died or
  overran its TTL) within the lease retention (a day);
- ``model_calls_today``, ``model_errors_today`` and ``model_tokens_today`` (``direction``
  in/out), per ``provider`` and ``model``, for the service clock's UTC day.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator

from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from adapters.bootstrap import Container
from adapters.database import Session, to_micros
from adapters.heartbeats import HeartbeatStore
from adapters.model_usage import GroupBy, ModelUsageStore
from domain.trading.usage import ReportRange

_QUEUES = {
    "backtests": ("backtest_jobs", "status = 'queued'"),
    "promotion": ("competition_entries_view", "state = 'queued'"),
}


class ActivityCollector(Collector):
    """Reads activity counts from the store at each collection."""

    def __init__(self, container: Container) -> None:
        self.container = container

    def collect(self) -> Iterator[GaugeMetricFamily]:
        """Every activity gauge, read now."""
        yield self._events()
        yield self._worker_items()
        yield from self._queues_and_leases()
        yield from self._models()

    def _events(self) -> GaugeMetricFamily:
        gauge = GaugeMetricFamily(
            "clash_events_recorded", "Head of the module's event log.", labels=["module"]
        )
        c = self.container
        for app in (c.prop, c.clones, c.trading, c.economy, c.lifecycle, c.competition):
            gauge.add_metric([app.name.lower()], app.recorder.max_notification_id() or 0)
        return gauge

    def _worker_items(self) -> GaugeMetricFamily:
        gauge = GaugeMetricFamily(
            "clash_worker_items",
            "Items performed by running processes.",
            labels=["worker", "outcome"],
        )
        totals: Counter[tuple[str, str]] = Counter()
        for beat in HeartbeatStore(self.container.database).beats():
            if beat.state == "stopped":
                continue
            for outcome in ("done", "failed", "dead"):
                totals[(beat.worker, outcome)] += int(beat.detail.get(outcome) or 0)
        for (worker, outcome), count in sorted(totals.items()):
            gauge.add_metric([worker, outcome], count)
        return gauge

    def _queues_and_leases(self) -> Iterator[GaugeMetricFamily]:
        depth = GaugeMetricFamily("clash_queue_depth", "Items waiting.", labels=["queue"])
        expired = GaugeMetricFamily(
            "clash_leases_expired", "Leases that ran out instead of being released."
        )
        now = to_micros(self.container.service_clock.now())
        with self.container.database.transaction(write=False) as session:
            for queue, (table, waiting) in _QUEUES.items():
                depth.add_metric([queue], _count(session, table, waiting))
            expired.add_metric(
                [],
                _count(
                    session, "worker_leases", f"expires_at <= {now} AND expires_at > acquired_at"
                ),
            )
        yield depth
        yield expired

    def _models(self) -> Iterator[GaugeMetricFamily]:
        labels = ["provider", "model"]
        calls = GaugeMetricFamily("clash_model_calls_today", "Model calls today.", labels=labels)
        errors = GaugeMetricFamily("clash_model_errors_today", "Failed calls today.", labels=labels)
        tokens = GaugeMetricFamily(
            "clash_model_tokens_today", "Tokens today.", labels=[*labels, "direction"]
        )
        today = self.container.service_clock.now().date()
        rows = ModelUsageStore(self.container.database).report(
            ReportRange.of(today, today), GroupBy.MODEL, 1000
        )
        for row in rows:
            key = [row.key["provider"], row.key["model"]]
            calls.add_metric(key, row.totals.calls)
            errors.add_metric(key, row.totals.errors)
            tokens.add_metric([*key, "in"], row.totals.tokens_in)
            tokens.add_metric([*key, "out"], row.totals.tokens_out)
        yield calls
        yield errors
        yield tokens


def _count(session: Session, table: str, where: str) -> int:
    if not session.table_exists(table):
        return 0
    row = session.fetch_one(f"SELECT COUNT(*) AS n FROM {table} WHERE {where}")
    return 0 if row is None else int(row["n"])
