"""Prometheus metrics: request latency by route, and the state of the system at each scrape.

Why a collector that reads at scrape time: projection lag, dead letters, heartbeats, source
health and the reconciliation's verdict already live in the database; reading them when
Prometheus (or the in-process alert evaluator, ``workers/alerts.py``) asks keeps one source
of truth and costs nothing between scrapes. Request latency is the one thing observed as it
happens (``observe_request``, called by the request middleware).

Metrics (all prefixed ``clash_``):

- ``http_request_seconds`` (histogram; ``method``, ``route`` template, ``status``);
- ``projection_lag_events`` (``projection``) and ``projection_failed`` (1 when stopped);
- ``dead_letters_open`` (``worker``);
- ``worker_heartbeat_age_seconds`` (``worker``): service time since the newest beat;
- ``source_healthy`` (``source``, ``channel``): 1 healthy, 0.5 degraded, 0 down;
- ``reconciliation_ok`` (1/0, absent before the first run) and
  ``reconciliation_breaches`` (of the newest run);
- ``auditions_stuck`` (auditions whose process recorded a failed step and has not moved).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from prometheus_client import CollectorRegistry, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from adapters.bootstrap import Container
from adapters.dead_letters import DeadLetterStore
from adapters.reconciliation import recent_runs
from projections.catalog import runners

HEALTH = {"healthy": 1.0, "degraded": 0.5, "down": 0.0}


class SystemCollector(Collector):
    """Reads the system's state from the store at each collection."""

    def __init__(self, container: Container) -> None:
        self.container = container

    def collect(self) -> Iterator[GaugeMetricFamily]:
        """Every gauge, read now."""
        yield from self._projections()
        yield self._dead_letters()
        yield self._heartbeats()
        yield self._sources()
        yield from self._reconciliation()
        yield self._stuck_auditions()

    def _projections(self) -> Iterator[GaugeMetricFamily]:
        lag = GaugeMetricFamily(
            "clash_projection_lag_events", "Events not yet projected.", labels=["projection"]
        )
        failed = GaugeMetricFamily(
            "clash_projection_failed", "1 when the projection stopped.", labels=["projection"]
        )
        for runner in runners(self.container):
            status = runner.status()
            lag.add_metric([status.projection], status.lag)
            failed.add_metric([status.projection], float(status.status == "failed"))
        yield lag
        yield failed

    def _dead_letters(self) -> GaugeMetricFamily:
        gauge = GaugeMetricFamily(
            "clash_dead_letters_open", "Open dead letters.", labels=["worker"]
        )
        for worker, count in DeadLetterStore(self.container.database).open_counts().items():
            gauge.add_metric([worker], count)
        return gauge

    def _heartbeats(self) -> GaugeMetricFamily:
        gauge = GaugeMetricFamily(
            "clash_worker_heartbeat_age_seconds", "Since the newest beat.", labels=["worker"]
        )
        now = self.container.service_clock.now()
        with self.container.database.transaction(write=False) as session:
            rows = session.fetch_all(
                "SELECT worker, MAX(beat_at) AS beat FROM worker_heartbeats GROUP BY worker"
            )
        for row in rows:
            age = now.timestamp() - int(row["beat"]) / 1_000_000
            gauge.add_metric([row["worker"]], max(0.0, age))
        return gauge

    def _sources(self) -> GaugeMetricFamily:
        gauge = GaugeMetricFamily(
            "clash_source_healthy", "1 healthy, 0.5 degraded, 0 down.", labels=["source", "channel"]
        )
        for health in self.container.source_health.all():
            gauge.add_metric([health.source, health.channel], HEALTH[health.state.value])
        return gauge

    def _reconciliation(self) -> Iterator[GaugeMetricFamily]:
        latest = recent_runs(self.container.database, 1)
        if not latest:
            return
        ok = GaugeMetricFamily("clash_reconciliation_ok", "The newest run's verdict.")
        ok.add_metric([], float(latest[0].ok))
        breaches = GaugeMetricFamily("clash_reconciliation_breaches", "Breaches of the newest run.")
        breaches.add_metric([], len(latest[0].breaches))
        yield ok
        yield breaches

    def _stuck_auditions(self) -> GaugeMetricFamily:
        gauge = GaugeMetricFamily(
            "clash_auditions_stuck", "Auditions whose process failed a step and waits."
        )
        with self.container.database.transaction(write=False) as session:
            if not session.table_exists("lifecycle_auditions_view"):
                gauge.add_metric([], 0)
                return gauge
            row = session.fetch_one(
                "SELECT COUNT(*) AS n FROM lifecycle_auditions_view"
                " WHERE open = 1 AND last_error IS NOT NULL"
            )
        gauge.add_metric([], int(row["n"]) if row else 0)
        return gauge


class Metrics:
    """The process's registry: the request histogram and the system collector."""

    def __init__(self, container: Container) -> None:
        self.registry = CollectorRegistry()
        self.requests = Histogram(
            "clash_http_request_seconds",
            "Request latency by route template and status.",
            ["method", "route", "status"],
            registry=self.registry,
        )
        self.registry.register(SystemCollector(container))

    def observe_request(self, method: str, route: str, status: int, seconds: float) -> None:
        """Record one request."""
        self.requests.labels(method, route, str(status)).observe(seconds)

    def exposition(self) -> bytes:
        """The Prometheus text format of every metric."""
        return bytes(generate_latest(self.registry))

    def sample(self) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
        """Every gauge sample now: ``(name, sorted labels) -> value`` (the alert evaluator)."""
        found: dict[tuple[str, tuple[tuple[str, str], ...]], float] = {}
        for family in self.registry.collect():
            for sample in family.samples:
                labels: Any = tuple(sorted(sample.labels.items()))
                found[(sample.name, labels)] = float(sample.value)
        return found
