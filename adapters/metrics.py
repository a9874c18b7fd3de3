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
- ``auditions_stuck`` (auditions whose process recorded a failed step and has not moved);
- ``model_budget_used_ratio`` and ``model_budget_state`` (0 ok, 1 soft, 2 exhausted) per
  ``scope`` (``global``; ``clone`` with its ``tier``: the fullest clone of that tier), for
  today's configured model budgets (``docs/model-usage.md``).

Activity (events per module, worker items, queue depths, expired leases, model calls,
errors and tokens) comes from ``adapters/activity_metrics.py``.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

from prometheus_client import CollectorRegistry, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from adapters.activity_metrics import ActivityCollector
from adapters.bootstrap import Container
from adapters.dead_letters import DeadLetterStore
from adapters.process_states import process_states
from adapters.reconciliation import recent_runs
from adapters.stuck_leases import live_leases, stuck_leases, worker_of
from domain.trading.budgets import BudgetState
from projections.catalog import runners

HEALTH = {"healthy": 1.0, "degraded": 0.5, "down": 0.0}
BUDGET_LEVEL = {BudgetState.OK: 0.0, BudgetState.SOFT: 1.0, BudgetState.EXHAUSTED: 2.0}


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
        yield from self._processes()
        yield from self._leases()
        yield from self._model_budgets()

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

    def _processes(self) -> Iterator[GaugeMetricFamily]:
        overdue = timedelta(seconds=self.container.settings.race_overdue_after_seconds)
        states = process_states(self.container.database, self.container.market_clock.now(), overdue)
        auditions = GaugeMetricFamily(
            "clash_auditions_stuck", "Auditions whose process failed a step and waits."
        )
        auditions.add_metric([], states.auditions_stuck)
        races = GaugeMetricFamily(
            "clash_races_overdue", "Races past their next step's market time plus the grace."
        )
        races.add_metric([], states.races_overdue)
        yield auditions
        yield races

    def _leases(self) -> Iterator[GaugeMetricFamily]:
        now = self.container.service_clock.now()
        stale_after = timedelta(seconds=self.container.settings.worker_stale_after_seconds)
        live = GaugeMetricFamily("clash_leases_live", "Leases live now.")
        live.add_metric([], len(live_leases(self.container.database, now)))
        stuck = GaugeMetricFamily(
            "clash_leases_stuck", "Live leases whose holder stopped beating.", labels=["worker"]
        )
        for lease in stuck_leases(self.container.database, now, stale_after):
            stuck.add_metric([worker_of(lease)], 1)
        yield live
        yield stuck

    def _model_budgets(self) -> Iterator[GaugeMetricFamily]:
        labels = ["scope", "tier"]
        ratio = GaugeMetricFamily(
            "clash_model_budget_used_ratio", "Today's model spend / daily budget.", labels=labels
        )
        state = GaugeMetricFamily(
            "clash_model_budget_state", "0 ok, 1 soft, 2 exhausted.", labels=labels
        )
        for scope, tier, status in self.container.model_meter.budget_report().series():
            ratio.add_metric([scope, tier], float(status.ratio))
            state.add_metric([scope, tier], BUDGET_LEVEL[status.state])
        yield ratio
        yield state


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
        self.registry.register(ActivityCollector(container))

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
